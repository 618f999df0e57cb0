"""Anonymity that holds, checked where an attacker would look: every key and value, the AOF
files on disk, a `dvbot backup` file and the DEBUG logs, after anonymous threads went through
their whole life (photo, answers delivered by the outbox workers, an addition, a rating, a
lock). Nothing that mentions an anonymous thread names a member or a chat, and nothing that
names a member or a chat mentions an anonymous thread. A cadre pressing every tâm tư button
and command never sees the sender."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
from PIL import Image
from redis.asyncio import Redis

from bot.delivery.schedule import Scheduler, by_kind
from bot.deps import Deps, Links, build_deps
from bot.engine.dispatcher import Dispatcher
from bot.engine.messages import FileRef, Incoming
from bot.ops.backup import export, signing_key
from bot.org.models import Role
from bot.privacy.seal import SealBroken, Sealer
from bot.settings import Settings
from bot.storage.connection import connect
from bot.storage.history import WINDOW
from bot.storage.keys import Keys
from handlers import build_router
from tests.conftest import UNITS, Clock, free_port, make_member, start_valkey
from tests.delivery.conftest import RecordingSender, make_worker
from tests.handlers.chat import Chat
from tests.surveys.test_anonymity import dump

SEQ = 7_340_512_000  # member ids become long distinctive numbers
CHAT = 918_273_645_500
NAME = "Người Gửi Ẩn Danh Thử"
SECRETS = ("Ở bếp ăn tập thể có người thu tiền không rõ ràng, mong cấp ủy xem xét.",
           "Có người dùng lời lẽ xúc phạm trong cuộc họp chi bộ hôm trước.")
ADDED = "Bổ sung: khoản thu này đã kéo dài ba tháng nay."


def gps_jpeg() -> bytes:
    """A JPEG whose EXIF names a camera and a place."""
    image = Image.new("RGB", (80, 60), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "CameraMakerXYZ"  # Make
    exif[0x0110] = "SerialPhone-918273"  # Model
    exif[0x8825] = {1: "N", 2: (21.0, 1.0, 30.0), 3: "E", 4: (105.0, 51.0, 0.0)}  # GPS
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


@pytest.fixture
async def aof(tmp_path: Path, clock: Clock) -> AsyncIterator[tuple[Deps, Path]]:
    """Deps on a private Valkey with AOF on (fsync always), and its data directory."""
    data = tmp_path / "valkey"
    data.mkdir()
    port = free_port()
    server = start_valkey(data, port, "--appendonly", "yes", "--appendfsync", "always")
    url = f"redis://127.0.0.1:{port}/0"
    redis: Redis = connect(url)
    settings = Settings(_env_file=None, redis_url=url,  # type: ignore[call-arg]
                        data_dir=tmp_path / "data")
    deps = replace(build_deps(settings, redis, Keys("dv"), Links()), clock=clock)
    await deps.units.import_units(UNITS)
    yield deps, data
    await redis.aclose()
    server.terminate()
    server.wait(10)


def aof_commands(directory: Path) -> list[list[str]]:
    """Every command in the AOF files, as lists of arguments (RESP arrays of bulk strings)."""
    commands: list[list[str]] = []
    for path in sorted((directory / "appendonlydir").glob("*.aof")):
        data, i = path.read_bytes(), 0
        if data.startswith(b"REDIS"):
            continue  # a rewritten base: an RDB snapshot of the data, in hash order
        while i < len(data):
            assert data[i:i + 1] == b"*", f"{path.name}: not RESP at {i}"
            end = data.index(b"\r\n", i)
            count, i = int(data[i + 1:end]), end + 2
            args = []
            for _ in range(count):
                end = data.index(b"\r\n", i)
                size = int(data[i + 1:end])
                args.append(data[end + 2:end + 2 + size].decode("utf-8", "replace"))
                i = end + 2 + size + 2
            commands.append(args)
    return commands


def bracketed(commands: list[list[str]], account: str, thread_keys: set[str]) -> bool:
    """True if a thread was written while `account`'s lock was held (between its SET and its
    release): the write order alone then ties the account to the thread."""
    held = False
    for command in commands:
        key = command[1] if len(command) > 1 else ""
        if key.endswith(f"{{u:{account}}}:lock"):
            held = command[0].upper() == "SET"
        elif command[0].upper() == "EVAL" and f"{{u:{account}}}:lock" in command:
            held = False
        elif held and key in thread_keys:
            return True
    return False


def linked(records: list[str], about: list[str], people: list[str]) -> list[str]:
    """Records that mention an anonymous thread and a member or chat together."""
    return [r for r in records if any(a in r for a in about) and any(p in r for p in people)]


async def test_nothing_on_disk_in_redis_or_in_logs_links_a_member_to_an_anonymous_thread(
        aof: tuple[Deps, Path], caplog: pytest.LogCaptureFixture, clock: Clock) -> None:
    deps, directory = aof
    caplog.set_level(logging.DEBUG)
    await deps.redis.set(deps.keys.member_seq(), SEQ)
    members = [await make_member(deps, user_id=str(CHAT + i), unit="cb-a1",
                                 name=NAME if i == 0 else f"Đảng viên {i}") for i in range(6)]
    cadre = await make_member(deps, user_id=str(CHAT + 50), unit="khoi", name="Cán bộ Khối",
                              grants=((Role.ADMIN, "khoi"),))
    dispatcher = Dispatcher(build_router(), deps)
    # Without buttons: the numbered options on screen are stored under the account too.
    sender = Chat(dispatcher, str(CHAT), buttons=False)
    codes = []
    for text in SECRETS:
        await sender.say("/tamtu")
        await sender.press("Cấp ủy Chi bộ")
        await sender.press("Đời sống")
        await sender.say(text)
        if not codes:  # the first one with a photo carrying GPS and a camera serial
            async def fetch() -> bytes:
                return gps_jpeg()

            await sender.send(Incoming(channel="telegram", user_id=str(CHAT), chat_id=str(CHAT),
                                       file=FileRef("ph-1", "photo", size=len(gps_jpeg()),
                                                    fetch=fetch)))
        else:
            await sender.press("Không gửi ảnh")
        await sender.press("Ẩn danh")
        await sender.press("Gửi")
        codes.append(sender.text.split("Mã: ")[1].split(".")[0])

    boss = Chat(dispatcher, str(CHAT + 50))
    await boss.press_raw(f"tt.r|{codes[0]}")
    await boss.say("Cấp ủy đã giao Ban kiểm tra xác minh, sẽ trả lời trong tuần.")
    await sender.press_raw("tt.mine")
    await sender.press("Xem tâm tư số 1")
    await sender.press("Bổ sung")
    await sender.say(ADDED)
    await boss.press_raw(f"tt.r|{codes[0]}")
    await boss.say("Đã xác minh và yêu cầu công khai các khoản thu.")
    await sender.press_raw("tt.v|1")
    await sender.press("Hài lòng")
    await boss.press_raw(f"tt.b|{codes[1]}")
    await boss.press("Xác nhận khóa")

    # The notices go out through the real outbox workers, then leave no trace of whom.
    worker_sender = RecordingSender()
    worker = make_worker(deps.redis, worker_sender,
                         on_done=deps.tamtu.notifier.after(deps.broadcasts.notify_author))
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop))
    for _ in range(200):
        if worker_sender.count(str(CHAT)) == 3 and not await deps.redis.keys("dv:{job:tt-*"):
            break
        await asyncio.sleep(0.05)
    stop.set()
    await task
    assert worker_sender.count(str(CHAT)) == 3
    assert await deps.redis.keys("dv:{job:tt-*") == []

    # What a thread holds: no name, no member id; the seal does not open without the secret.
    stored = await deps.tamtu.store.get(codes[0])
    assert stored is not None and stored.author_id == "" and stored.author_name == ""
    with pytest.raises(SealBroken):
        Sealer(b"x" * 32).open_text("tamtu-sender", stored.sender, bound=deps.keys.tamtu(codes[0]))
    photo_post = stored.posts[0].photo
    assert photo_post is not None
    kept = deps.library.files.path(photo_post).read_bytes()
    assert b"CameraMakerXYZ" not in kept and b"SerialPhone" not in kept
    with Image.open(io.BytesIO(kept)) as image:
        assert not image.getexif() and image.size == (80, 60)

    people = ([m.id for m in members] + [str(CHAT + i) for i in range(6)] + [NAME])
    about = [*codes, *SECRETS, ADDED, stored.sender]
    assert all(len(p) >= 10 for p in people)

    # 1. Every key and value now in the store.
    snapshot = await dump(deps.redis)
    records = [f"{k} {v}" for k, v in snapshot.items()]
    assert linked(records, about, people) == []
    assert {k for k, v in snapshot.items() if any(s in v or s in k for s in SECRETS)} == {
        deps.keys.tamtu(c) for c in codes}

    # 2. The AOF on disk: every write ever made, including the dialog steps and deliveries.
    await deps.redis.execute_command("CONFIG", "SET", "appendfsync", "always")
    commands = aof_commands(directory)
    assert len(commands) > 100
    lines = [" ".join(c) for c in commands]
    assert linked(lines, about, people) == []
    for command in commands:  # the texts were only ever written to the thread's own key
        if any(s in " ".join(command) for s in (*SECRETS, ADDED)):
            assert command[1] in {deps.keys.tamtu(c) for c in codes}, command[:2]
    assert not [c for c in commands if c[0].upper() == "SET" and ":dialog" in c[1]
                and any(word in c[2] for word in ("bếp ăn", "xúc phạm", '"anonymous"'))]

    # The order of writes still ties the account to its thread (the README says so) until the
    # AOF is rewritten, which activity on anonymous threads asks the scheduler to do soon.
    thread_keys = {deps.keys.tamtu(c) for c in codes}
    assert bracketed(commands, f"telegram:{CHAT}", thread_keys)
    assert await deps.redis.zscore(deps.keys.jobs_due(), "aof-0") is not None
    fire = by_kind(deps.rewrites.jobs(deps.clock))
    scheduler = Scheduler(deps.redis, deps.keys, fire, deps.clock)
    assert await scheduler.tick() == ["aof-0"]  # the rewrite at the end of this window
    clock.advance(seconds=WINDOW)
    [done] = await scheduler.tick()
    assert done.startswith("aof-") and done != "aof-0"
    for _ in range(200):
        info = await deps.redis.info("persistence")
        if not int(info["aof_rewrite_in_progress"]) and not int(info["aof_rewrite_scheduled"]):
            break
        await asyncio.sleep(0.05)
    after = aof_commands(directory)
    assert not bracketed(after, f"telegram:{CHAT}", thread_keys)
    assert linked([" ".join(c) for c in after], about, people) == []

    # 3. A backup file.
    backup = [line async for line in export([deps.redis], "dv", signing_key(b"test secret"))]
    assert len(backup) > 10 and linked(backup, about, people) == []

    # 4. The DEBUG logs of the whole run.
    logged = [r.getMessage() for r in caplog.records]
    assert logged and linked(logged, about, people) == []
    assert not [m for m in logged if any(s in m for s in (*SECRETS, ADDED))]
    assert cadre.id not in people


async def test_no_button_or_command_shows_a_cadre_the_sender(deps: Deps,
                                                              dispatcher: Dispatcher) -> None:
    await deps.redis.set(deps.keys.member_seq(), SEQ)
    # Four in the sender's chi bộ (< k = 5): the thread is attributed to the đảng bộ above.
    people = [await make_member(deps, user_id=str(CHAT + i), unit="cb-a1" if i < 4 else "cb-a2",
                                name=NAME if i == 0 else f"Đảng viên {i}") for i in range(6)]
    await make_member(deps, user_id=str(CHAT + 50), unit="khoi", name="Cán bộ Khối",
                      grants=((Role.ADMIN, "khoi"),))
    sender = Chat(dispatcher, str(CHAT))
    await sender.say("/tamtu")
    await sender.press("Cấp ủy Đảng bộ cơ sở")
    await sender.press("Khác")
    await sender.say(SECRETS[0])
    await sender.press("Không gửi ảnh")
    await sender.press("Ẩn danh")
    await sender.press("Gửi")
    code = sender.text.split("Mã: ")[1].split(".")[0]
    needles = [p.id for p in people] + [str(CHAT), NAME]

    boss = Chat(dispatcher, str(CHAT + 50))
    seen: list[str] = []
    routes = sorted(r for r in dispatcher.router.actions if r.startswith("tt."))
    assert len(routes) >= 15
    for route in routes:
        for payload in (route, f"{route}|{code}", f"{route}|{code}|1", f"{route}|khoi"):
            await boss.press_raw(payload)
            seen += [r.text for r in boss.replies] + boss.labels()
            if "nhập" in boss.text.lower():
                await boss.say("Nhãn thử nghiệm")  # answer a prompt so every step is seen
                seen += [r.text for r in boss.replies] + boss.labels()
    for command in ("/tamtu", "/tamtucanbo", "/menu"):
        await boss.say(command)
        seen += [r.text for r in boss.replies] + boss.labels()
    assert any(code in s for s in seen) and any("ẩn danh" in s for s in seen)
    assert [s for s in seen if any(n in s for n in needles)] == []
    await boss.press_raw(f"tt.c|{code}")
    assert "thuộc Đảng bộ cơ sở A" in boss.text and "Chi bộ A1" not in boss.text
    assert ":" not in boss.text.split("Ngày gửi: ")[1].split("\n")[0]  # a day, no time
