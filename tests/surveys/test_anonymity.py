"""Anonymity that holds: every key and value an anonymous survey writes is inspected, and no
member id or chat id appears; the answered-marks need a secret that is not in Redis; closing
drops every mark. Concurrent answers are counted exactly once."""

from __future__ import annotations

import asyncio
from typing import Any

from redis.asyncio import Redis

from bot.deps import Deps
from bot.engine.dispatcher import Dispatcher
from bot.org.models import Role
from bot.surveys.models import Kind, Question, Spec
from bot.surveys.store import ALREADY, RECORDED
from tests.conftest import make_member
from tests.handlers.chat import Chat

SEQ = 7_340_512_000  # member ids become long distinctive numbers
CHAT = 918_273_645_500


async def dump(redis: Redis) -> dict[str, str]:
    """Every key with its whole value, whatever the type."""
    out: dict[str, str] = {}
    async for raw in redis.scan_iter(count=500):
        key = str(raw)
        kind = str(await redis.type(key))
        value: Any
        if kind == "string":
            value = await redis.get(key)
        elif kind == "hash":
            value = await redis.hgetall(key)
        elif kind == "set":
            value = sorted(await redis.smembers(key))
        elif kind == "zset":
            value = await redis.zrange(key, 0, -1, withscores=True)
        elif kind == "list":
            value = await redis.lrange(key, 0, -1)
        elif kind == "stream":
            value = await redis.xrange(key)
        elif kind == "none":  # gone since the scan (an expiry, a lock given back)
            continue
        else:
            raise AssertionError(f"unexpected type {kind} of {key}")
        out[key] = repr(value)
    return out


def leaks(snapshot: dict[str, str], needles: list[str]) -> list[str]:
    """Keys whose name or value contains any needle."""
    return [k for k, v in snapshot.items() if any(n in k or n in v for n in needles)]


async def test_no_key_written_by_an_anonymous_survey_names_a_member(
        deps: Deps, dispatcher: Dispatcher) -> None:
    await deps.redis.set(deps.keys.member_seq(), SEQ)
    cadre = await make_member(deps, user_id=str(CHAT), unit="khoi", grants=((Role.CADRE, "khoi"),))
    people = [await make_member(deps, user_id=str(CHAT + i + 1), unit=unit)
              for i, unit in enumerate(["cb-a1"] * 6 + ["cb-a2"] * 2 + ["cb-b1"] * 5)]
    needles = [m.id for m in [cadre, *people]] + [str(CHAT + i) for i in range(len(people) + 1)]
    assert all(len(n) >= 10 for n in needles)

    boss = Chat(dispatcher, str(CHAT))
    await boss.say("/menu")
    await boss.press("Tạo khảo sát")
    await boss.press("tâm tư")
    await boss.press("Chọn Đảng bộ Khối")
    await boss.press("Mở khảo sát")
    sid = boss.button("Xem kết quả").action.split("|")[1]
    await deps.conversations.settle()  # locks go back in batches: look at the store at rest
    before = await dump(deps.redis)

    for i, person in enumerate(people):
        chat = Chat(dispatcher, person.identities["telegram"])
        await chat.press_raw(f"sv.go|{sid}")
        await chat.press(str(1 + i % 5))
        await chat.press("3")
        await chat.press("Việc làm, thu nhập")
        await chat.press("Xong")
        await chat.press("Đầy đủ nhưng chậm")
        await chat.press("Có")
        await chat.press("4")
        await chat.say(f"Kiến nghị của người thứ {i}")
        await chat.press("Gửi câu trả lời")
        assert "Đã ghi nhận" in chat.text
    await deps.conversations.settle()
    after = await dump(deps.redis)

    written = {k: v for k, v in after.items() if before.get(k) != v}
    survey_keys = {k: v for k, v in after.items() if f"{{sv:{sid}}}" in k}
    assert f"dv:{{sv:{sid}}}:tally" in written and f"dv:{{sv:{sid}}}:texts" in written
    assert f"dv:{{sv:{sid}}}:done" in written
    assert leaks(written, needles) == [] and leaks(survey_keys, needles) == []
    # Nothing written while answering is outside the survey's keys (dialogs were discarded,
    # no audit entry, no per-member index) but the AOF rewrite's schedule entry and the
    # Telegram accounts' last interactions, which name nobody (keyed pseudonyms, checked by
    # `leaks` above) and say only the hour.
    seen = deps.keys.last_interaction("telegram")
    assert {k for k in written if f"{{sv:{sid}}}" not in k} == {deps.keys.jobs_due(), seen}
    hours = [score for _member, score in await deps.redis.zrange(seen, 0, -1, withscores=True)]
    assert len(hours) == len(people) + 1 and all(h % 3600 == 0 for h in hours)  # + the cadre
    due = set(await deps.redis.zrange(deps.keys.jobs_due(), 0, -1)) - {f"svx-{sid}"}
    assert due and all(str(j).startswith("aof-") for j in due)
    # Counted k (5) at a time per recording unit (cb-a2 has 2 members < k, so it records
    # under dbcs-a): 5 of cb-a1's 6, none of dbcs-a's 2, all 5 of cb-b1; the rest wait sealed.
    tally = await deps.surveys.tally(sid)
    assert tally["n|cb-a1"] == 5 and "n|dbcs-a" not in tally and tally["n|cb-b1"] == 5
    assert len(await deps.surveys.texts(sid, 6)) == 10

    survey = await deps.surveys.get(sid)
    assert survey is not None
    await boss.press_raw(f"sv.cl|{sid}")
    await boss.press("Đóng khảo sát")
    await deps.conversations.settle()
    left = await dump(deps.redis)
    for gone in ("salt", "aud", "done"):
        assert f"dv:{{sv:{sid}}}:{gone}" not in left
    assert "Đã trả lời: <b>13/13</b>" in boss.replies[0].text  # the author is not in it
    # At closing cb-a1's sixth joins its 5; dbcs-a's 2 are counted under the survey's unit.
    tally = await deps.surveys.tally(sid)
    assert (tally["n|cb-a1"], tally["n|cb-b1"], tally["n|khoi"]) == (6, 5, 2)
    assert not [k for k in left if ":pending:" in k]
    # Free texts carry no order of arrival: scores are random within the question's band.
    texts = await deps.surveys.texts(sid, 6)
    assert sorted(t.text for t in texts) == sorted(f"Kiến nghị của người thứ {i}"
                                                   for i in range(13))


async def test_marks_need_the_deployment_secret(deps: Deps) -> None:
    member = await make_member(deps, user_id="m", unit="cb-a1")
    spec = Spec(title="Thử nghiệm", questions=[Question(text="Câu hỏi?", kind=Kind.SCALE)])
    survey = await deps.surveys.open(spec, unit="cb-a1", author_name="X",
                                     tree=await deps.units.tree(), now=deps.clock(),
                                     closes_at=deps.clock().replace(year=2027))
    salt = str(await deps.redis.get(deps.keys.survey_salt(survey.id)))
    marks = await deps.redis.hkeys(deps.keys.survey_audience(survey.id))
    assert marks == [deps.surveys.who(survey, salt, member.id)]
    from bot.privacy.secret import mark
    assert mark(b"", salt, member.id) not in marks and member.id not in marks


async def test_concurrent_answers_are_counted_exactly_once(deps: Deps) -> None:
    members = [await make_member(deps, user_id=f"u{i}", unit="cb-a1") for i in range(40)]
    spec = Spec(title="Đồng thời", questions=[
        Question(text="Chọn nhiều?", kind=Kind.MULTI, options=["A", "B", "C"], max_choices=2),
        Question(text="Ý kiến?", kind=Kind.TEXT)])
    survey = await deps.surveys.open(spec, unit="khoi", author_name="X",
                                     tree=await deps.units.tree(), now=deps.clock(),
                                     closes_at=deps.clock().replace(year=2027))
    # Every member submits three times at once: exactly one of each counts.
    gate = asyncio.Semaphore(16)  # within the client's connection pool

    async def submit(member_id: str) -> int:
        async with gate:
            return await deps.surveys.record(survey, member_id, [[0, 2], "ý kiến"])

    results = await asyncio.gather(*(submit(m.id) for m in members for _ in range(3)))
    assert results.count(RECORDED) == 40 and results.count(ALREADY) == 80
    tally = await deps.surveys.tally(survey.id)
    # Counted k (5) or more at a time: fewer than k may still wait, sealed.
    assert 36 <= tally["n|cb-a1"] <= 40 and tally["cb-a1|0|0"] == tally["n|cb-a1"]
    await deps.surveys.close(survey, deps.clock())
    tally = await deps.surveys.tally(survey.id)
    assert tally["n|cb-a1"] + tally.get("n|khoi", 0) == 40
    assert tally["cb-a1|0|2"] + tally.get("khoi|0|2", 0) == 40
    assert "cb-a1|0|1" not in tally and await deps.surveys.text_count(survey.id, 1) == 40
