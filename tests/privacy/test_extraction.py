"""Everything a copy of the store and the logs holds, after a realistic anonymous survey run by
two real `dvbot run` processes in webhook mode on a real Valkey with its append-only file on.

12 members (chi bộ of 6, 3 and 2, and the cadre at their đảng bộ), seven answers, one
abandoned half-way, one reminder, a result view before and after one answer, then closing.
Then everything is extracted: every key of every type, the AOF files on disk (mid-run, with
their history, and after closing), a `dvbot backup` file taken mid-answer, the DEBUG logs of
both processes (one text, one JSON). None of it may hold a member id, chat id or name beside
anything of the survey, nor any answer in progress; and what is stored cannot single anyone
out.

The member directory itself (member records, account identities, unit member sets) names
people by design and existed before the survey; account bookkeeping (an account's lock,
dialog and inbox keys, the index of waiting inboxes) names the account by design but holds no
answer: its values are sealed or random. Those keys may name people; nothing else may.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import shutil
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from redis.asyncio import Redis

from bot.app import make_deps
from bot.channels.webhook import SECRET_HEADER, telegram_path
from bot.deps import Deps
from bot.org.models import Role, Unit, UnitKind
from bot.settings import Settings
from bot.storage.connection import connect
from tests.channels.conftest import button_data
from tests.conftest import free_port, make_member, start_valkey
from tests.standin.botapi import BotApiStandin, SentMessage
from tests.surveys.test_anonymity import dump

DVBOT = str(Path(sys.executable).with_name("dvbot"))
K = 5
SEQ = 7_340_512_000  # member ids become long distinctive numbers
CADRE = 918_273_645_500
UNITS = [
    Unit(id="khoi", name="Đảng bộ Khối Kiểm tra", kind=UnitKind.KHOI),
    Unit(id="dbx", name="Đảng bộ cơ sở Xuân", kind=UnitKind.DANG_BO_CO_SO, parent="khoi"),
    Unit(id="cb-6", name="Chi bộ Sáu", kind=UnitKind.CHI_BO, parent="dbx"),
    Unit(id="cb-3", name="Chi bộ Ba", kind=UnitKind.CHI_BO, parent="dbx"),
    Unit(id="cb-2", name="Chi bộ Hai", kind=UnitKind.CHI_BO, parent="dbx"),
]
HOMES = ["cb-6"] * 6 + ["cb-3"] * 3 + ["cb-2"] * 2
ANSWERING = [0, 1, 2, 3, 6, 7]  # six answer first: four of Chi bộ Sáu, two of Chi bộ Ba
LAST = 4  # the seventh (Chi bộ Sáu's fifth), between the two result views
ABANDONS = 9  # a member of Chi bộ Hai who stops after two questions
PAYLOADS = ["sv.a|", "sv.t|", "sv.n|", "sv.ok|", "sv.b|", '"answers"', "☑",
            "Xác nhận câu trả lời"]


@dataclass
class Run:
    """The two bot processes, the stand-in, the store and what we collect."""

    standin: BotApiStandin
    deps: Deps
    redis: Redis
    http: aiohttp.ClientSession
    secret: str
    ports: list[int]
    env: dict[str, str]
    aof_dir: Path
    processes: list[asyncio.subprocess.Process] = field(default_factory=list)
    turn: int = 0

    async def post(self, update: dict[str, Any]) -> None:
        """Deliver an update to the processes in turn (a load balancer)."""
        self.turn += 1
        port = self.ports[self.turn % len(self.ports)]
        async with self.http.post(f"http://127.0.0.1:{port}{telegram_path(self.secret)}",
                                  json=update, headers={SECRET_HEADER: self.secret}) as resp:
            assert resp.status == 200, await resp.text()

    async def say(self, user: int, text: str) -> SentMessage:
        await self.post(self.standin.make_message_update(user, text))
        return (await self.standin.wait_sent(user, 1, timeout=15))[-1]

    async def press(self, user: int, message: SentMessage, label: str) -> SentMessage:
        return await self.press_data(user, message, button_data(message, label))

    async def press_data(self, user: int, message: SentMessage, data: str) -> SentMessage:
        await self.post(self.standin.make_callback_update(user, message, data))
        return (await self.standin.wait_sent(user, 1, timeout=15))[-1]


@pytest.fixture
async def run(tmp_path: Path) -> AsyncIterator[Run]:
    store_dir = tmp_path / "valkey"
    store_dir.mkdir()
    port = free_port()
    # The whole history as plain commands: no RDB preamble (whose compact encodings could
    # hide an id from a byte search), every write synced at once.
    valkey = start_valkey(store_dir, port, "--appendonly", "yes", "--appendfsync", "always",
                          "--aof-use-rdb-preamble", "no")
    url = f"redis://127.0.0.1:{port}/0"
    secret = secrets.token_hex(32)
    redis = connect(url)
    try:
        async with BotApiStandin() as standin, aiohttp.ClientSession() as http:
            settings = Settings(_env_file=None, redis_url=url,  # type: ignore[call-arg]
                                data_dir=tmp_path / "d", survey_secret=secret,
                                survey_min_group=K)
            deps = make_deps(settings, redis)
            await deps.units.import_units(UNITS)
            env = {k: v for k, v in os.environ.items() if not k.startswith("DVBOT_")}
            env.update(DVBOT_REDIS_URL=url, DVBOT_SURVEY_SECRET=secret,
                       DVBOT_TELEGRAM_TOKEN=standin.token, DVBOT_TELEGRAM_API_URL=standin.url,
                       DVBOT_DATA_DIR=str(tmp_path / "d"), DVBOT_LOG_LEVEL="DEBUG",
                       DVBOT_WEBHOOK_URL="https://bot.example.org",
                       DVBOT_WEBHOOK_SECRET=secrets.token_urlsafe(24),
                       DVBOT_HTTP_HOST="127.0.0.1", DVBOT_SURVEY_MIN_GROUP=str(K))
            ports = [free_port(), free_port()]
            it = Run(standin, deps, redis, http, env["DVBOT_WEBHOOK_SECRET"], ports, env,
                     store_dir / "appendonlydir")
            yield it
            for process in it.processes:
                if process.returncode is None:
                    process.terminate()
                    try:
                        await asyncio.wait_for(process.wait(), 30)
                    except TimeoutError:  # never leave a bot running after the test
                        process.kill()
                        await process.wait()
    finally:
        await redis.aclose()
        valkey.terminate()
        valkey.wait(10)


async def start(run: Run) -> None:
    for port, fmt in zip(run.ports, ("text", "json"), strict=True):
        env = {**run.env, "DVBOT_HTTP_PORT": str(port), "DVBOT_LOG_FORMAT": fmt}
        run.processes.append(await asyncio.create_subprocess_exec(
            DVBOT, "run", env=env, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE))
    for port, process in zip(run.ports, run.processes, strict=True):
        for _ in range(400):
            assert process.returncode is None, "a process died at start-up"
            try:
                async with run.http.get(f"http://127.0.0.1:{port}/healthz") as resp:
                    if resp.status == 200:
                        break
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)


async def answer(run: Run, user: int, start: SentMessage, i: int, *, upto: int = 8) -> None:
    """Press through the "tâm tư" template from the message carrying «Trả lời khảo sát»."""
    message = await run.press(user, start, "Trả lời khảo sát")
    steps: list[tuple[str, str]] = [("press", str(1 + i % 5)), ("press", "3"),
                                    ("press", "Việc làm, thu nhập"), ("press", "Xong"),
                                    ("press", "Đầy đủ nhưng chậm"), ("press", "Có"),
                                    ("press", "4"), ("say", typed(i))]
    for kind, what in steps[:upto]:
        message = (await run.press(user, message, what) if kind == "press"
                   else await run.say(user, what))
    if upto == len(steps):
        assert "Xác nhận câu trả lời" in (message.text or "")
        done = await run.press(user, message, "Gửi câu trả lời")
        assert "Đã ghi nhận" in (done.text or "")


def typed(i: int) -> str:
    return f"Ý kiến kín của người số {i} xin giữ riêng"


def aof_commands(folder: Path) -> list[list[str]]:
    """Every command in every AOF file (RESP arrays), decoded leniently."""
    out: list[list[str]] = []
    for path in sorted(folder.glob("*.aof")):
        data, i = path.read_bytes(), 0
        while i < len(data):
            assert data[i:i + 1] == b"*", (path.name, data[i:i + 40])
            j = data.index(b"\r\n", i)
            count, i, args = int(data[i + 1:j]), j + 2, []
            for _ in range(count):
                j = data.index(b"\r\n", i)
                size, i = int(data[i + 1:j]), j + 2
                args.append(data[i:i + size].decode("utf-8", "replace"))
                i += size + 2
            out.append(args)
    return out


def bookkeeping(key: str) -> bool:
    """An account's own state or the index of waiting inboxes: may name the account."""
    return key.startswith("dv:{u:") or key.startswith("dv:inboxes:")


def found(text: str, needles: list[str]) -> list[str]:
    return [n for n in needles if n in text]


async def test_nothing_extracted_links_anyone_to_an_answer(run: Run) -> None:
    deps, standin = run.deps, run.standin
    await run.redis.set(deps.keys.member_seq(), SEQ)
    cadre = await make_member(deps, user_id=str(CADRE), unit="dbx", name="Trần Bảomật Cánbộ",
                              grants=((Role.CADRE, "dbx"),))
    chats = [CADRE + 1 + i for i in range(len(HOMES))]
    people = [await make_member(deps, user_id=str(chat), unit=home, name=f"Lê Riêngtư {i}")
              for i, (chat, home) in enumerate(zip(chats, HOMES, strict=True))]
    ids = [m.id for m in [cadre, *people]]
    people_needles = ids + [str(c) for c in [CADRE, *chats]] + [m.name for m in [cadre, *people]]
    directory = set(await dump(run.redis))
    await start(run)

    # The cadre opens the anonymous "tâm tư" survey for the đảng bộ.
    menu = await run.say(CADRE, "/menu")
    message = await run.press(CADRE, menu, "Tạo khảo sát")
    message = await run.press(CADRE, message, "tâm tư")
    message = await run.press(CADRE, message, "Chọn Đảng bộ cơ sở Xuân")
    await run.post(standin.make_callback_update(CADRE, message,
                                                button_data(message, "Mở khảo sát")))
    # Only "Đã mở": the author is not in the audience of what they send.
    sent = await standin.wait_sent(CADRE, 1, timeout=15)
    opened = next(m for m in sent if "Đã mở khảo sát" in (m.text or ""))
    sid = button_data(opened, "Xem kết quả").split("|")[1]
    notices = {chat: (await standin.wait_sent(chat, 1, timeout=15))[0] for chat in chats}
    assert all("Khảo sát mới" in (m.text or "") for m in notices.values())

    for i in ANSWERING:
        await answer(run, chats[i], notices[chats[i]], i)
    await answer(run, chats[ABANDONS], notices[chats[ABANDONS]], ABANDONS, upto=2)

    # Mid-answer: a backup and a copy of the AOF, with its whole history.
    backup = run.aof_dir.parent.parent / "mid.backup"
    process = await asyncio.create_subprocess_exec(
        DVBOT, "backup", "--no-pause", str(backup), env=run.env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    _out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    mid_aof = aof_commands(run.aof_dir)
    # A 5-minute scrub window may have ended during the run: then that history is gone.
    mid_rewritten = (await run.redis.info("persistence"))["aof_rewrites"] > 0

    # One reminder (not to the cadre, who sent the survey); the cadre sees only a count.
    await run.post(standin.make_callback_update(CADRE, opened, f"sv.rm|{sid}"))
    sent = await standin.wait_sent(CADRE, 1, timeout=15)
    reminded = next(m for m in sent if "Đang gửi nhắc nhở tới" in (m.text or ""))
    waiting = [c for i, c in enumerate(chats) if i not in ANSWERING]
    reminders = {c: (await standin.wait_sent(c, 1, timeout=15))[0] for c in waiting}
    assert all("Nhắc nhở" in (m.text or "") for m in reminders.values())
    # No button: Zalo would remember it per account as numbered options, a trace of whom.
    assert all(not BotApiStandin.buttons(m) for m in reminders.values())
    assert not [c for i, c in enumerate(chats) if i in ANSWERING
                and any("Nhắc nhở" in (m.text or "") for m in standin.messages_to(c))]

    # A result view before and after one more answer: nothing but the count moves.
    before = (await run.press_data(CADRE, reminded, f"sv.r|{sid}")).text or ""
    await answer(run, chats[LAST], notices[chats[LAST]], LAST)
    after = (await run.press_data(CADRE, reminded, f"sv.r|{sid}")).text or ""
    assert "Đã trả lời: <b>6/11</b>" in before and "Đã trả lời: <b>7/11</b>" in after
    assert before.replace("6/11", "7/11") == after
    assert "Câu 1" not in after and "Việc làm" not in after and "%" not in after

    # Closing: the results, then the AOF rewritten by the scheduler.
    rewrites = (await run.redis.info("persistence"))["aof_rewrites"]
    ask = await run.press_data(CADRE, reminded, f"sv.cl|{sid}")
    final = (await run.press(CADRE, ask, "Đóng khảo sát")).text or ""
    assert "Đã trả lời: <b>7/11</b>" in final and "Việc làm, thu nhập: 7 (100%)" in final
    for _ in range(300):
        info = await run.redis.info("persistence")
        if info["aof_rewrites"] > rewrites and not info["aof_rewrite_in_progress"]:
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError("the AOF was not rewritten after closing")
    await asyncio.sleep(0.5)
    for process in run.processes:
        process.terminate()
    logs = [(await asyncio.wait_for(p.communicate(), 30))[1].decode() for p in run.processes]
    store = await dump(run.redis)
    end_aof = aof_commands(run.aof_dir)

    # The survey, its closing notice and the audit log name the cadre as the one who opened
    # and closed it (not as one who answered, or not).
    authoring = {deps.keys.survey(sid), deps.keys.survey_author(sid), deps.keys.audit()}
    cadre_needles = [cadre.id, str(CADRE), cadre.name]

    def named(key: str) -> list[str]:
        """Whom `key` must not name."""
        return [n for n in people_needles if key not in authoring or n not in cadre_needles]

    answer_needles = PAYLOADS + [typed(i) for i in range(len(HOMES))]
    everyone = people_needles + answer_needles

    # 1. Logs at DEBUG, text and JSON: nobody and nothing answered.
    assert "DEBUG" in logs[0] and '"level": "DEBUG"' in logs[1]  # really at DEBUG
    for log in logs:
        assert found(log, everyone) == [], found(log, everyone)

    # 2. Every key of every type after closing.
    for key, value in store.items():
        if key in directory:
            continue
        assert found(key, everyone) == [] or bookkeeping(key), key
        assert found(value, named(key) + PAYLOADS) == [], (key, value[:300])
        texts_key = key == deps.keys.survey_texts(sid)
        assert texts_key or found(value, answer_needles) == [], (key, value[:300])
    survey_keys = {k for k in store if f"{{sv:{sid}}}" in k}
    rolled = {deps.keys.survey_shape(sid), deps.keys.survey_row(sid, "cb-6"),
              deps.keys.survey_row(sid, "dbx"),  # the units snapshot, counters rolled up,
              deps.keys.survey_kids(sid, "dbx")}  # and the children's sizes at a glance
    assert survey_keys == {deps.keys.survey(sid), deps.keys.survey_tally(sid),
                           deps.keys.survey_texts(sid), deps.keys.survey_reminder(sid), *rolled}
    assert not [k for k in store if re.search(rf"\{{job:sv-{sid}[^}}]*\}}:(rcpt|sent|failed)", k)]

    # 3. The tallies cannot single anyone out: per recording unit, 0 or at least k answers
    #    (what was left at closing is counted under the survey's unit), audiences of k+.
    tally = await deps.surveys.tally(sid)
    # The author (the cadre, of dbx) is not in the audience.
    assert {f: v for f, v in tally.items() if f.startswith("a|")} == {"a|cb-6": 6, "a|dbx": 5}
    answered = {f[2:]: v for f, v in tally.items() if f.startswith("n|")}
    assert sum(answered.values()) == 7
    assert all(v >= K for u, v in answered.items() if u != "dbx"), answered
    # The children's sizes move with the rows: k at a time, the same counts.
    kids = await run.redis.hgetall(deps.keys.survey_kids(sid, "dbx"))
    assert {f: int(v) for f, v in kids.items() if f[:2] in ("n|", "a|")} == {
        "a|cb-6": 6, "n|cb-6": answered["cb-6"]}

    # What the checks below read really went through the webhook inbox and the dialogs: the
    # abandoned answer is still there, sealed, until its dialog expires.
    assert deps.keys.dialog("telegram", str(chats[ABANDONS])) in store
    if not mid_rewritten:
        assert any(c[0].upper() == "ZADD" and c[1].endswith(":inbox") for c in mid_aof)
        assert any(c[0].upper() == "SET" and c[1].endswith(":dialog") for c in mid_aof)
        assert any(":pending:" in c[1] for c in mid_aof if len(c) > 1)

    # 4. The AOF mid-answer, history included: no answer in progress, nobody beside the
    #    survey's writes, and counters that only ever moved k answers at a time.
    survey_tag = f"{{sv:{sid}}}"
    for command in mid_aof:
        key = command[1] if len(command) > 1 else ""
        args = " ".join(command[2:])
        assert found(" ".join(command), PAYLOADS) == [], command[:4]
        if key in directory or bookkeeping(key):
            continue
        assert found(args, named(key)) == [], command[:6]
        if survey_tag in key and command[0].upper() == "HINCRBY" and (
                command[2].startswith("n|") or (":row:" in key and command[2] == "n")):
            assert int(command[3]) >= K, command
        if key != deps.keys.survey_texts(sid):
            assert found(args, answer_needles) == [], command[:6]
    # 5. After closing the AOF holds the present only: no mark, no salt, nothing waiting.
    assert not [c for c in end_aof if len(c) > 1 and survey_tag in c[1]
                and re.search(r":(salt|aud|done|pending:.*)$", c[1])]
    for command in end_aof:
        key = command[1] if len(command) > 1 else ""
        if key in directory or bookkeeping(key):
            continue
        assert found(" ".join(command), named(key) + PAYLOADS) == [], command[:6]

    # 6. The backup taken mid-answer.
    for line in backup.read_text(encoding="utf-8").splitlines()[1:]:
        record = json.loads(line)
        key = str(record.get("key", ""))
        if not key or key in directory or bookkeeping(key):
            continue
        text = json.dumps(record, ensure_ascii=False)
        assert found(text, named(key) + PAYLOADS) == [], text[:300]
        if key != deps.keys.survey_texts(sid):
            assert found(text, answer_needles) == [], text[:300]
    shutil.rmtree(run.aof_dir.parent, ignore_errors=True)
