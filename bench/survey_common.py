"""Shared set-up of the survey benchmarks: a Khối of 83 đảng bộ cơ sở and 315 chi bộ, N
members with Telegram accounts, and a 5-question survey (scale, single, multi, single, text)."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from redis.asyncio import Redis

from bench.coverage_bench import CHI_BO, units
from bot.org.models import Member
from bot.org.tree import UnitStore
from bot.storage.keys import Keys
from bot.surveys.models import Kind, Question, Spec

SPEC = Spec(title="Nắm bắt tâm tư tháng 11", days=7, questions=[
    Question(text="Tâm trạng chung của đồng chí?", kind=Kind.SCALE),
    Question(text="Được thông tin kịp thời?", kind=Kind.SINGLE,
             options=["Đầy đủ", "Chậm", "Chưa được"]),
    Question(text="Quan tâm nhất?", kind=Kind.MULTI, max_choices=2,
             options=["Việc làm", "Chính sách", "Bộ máy", "Đời sống"]),
    Question(text="Sinh hoạt chi bộ?", kind=Kind.SINGLE, options=["Tốt", "Khá", "Chưa tốt"]),
    Question(text="Kiến nghị", kind=Kind.TEXT)])
CHAT_BASE = 900_000_000


async def populate(redis: Redis, keys: Keys, members: int) -> None:
    """Units and `members` members (telegram ids CHAT_BASE + n) spread over the chi bộ."""
    await UnitStore(redis, keys).import_units(units())
    rng = random.Random(4)  # noqa: S311 - reproducible test data
    now = datetime.now(UTC)
    for start in range(1, members + 1, 5000):
        async with redis.pipeline(transaction=False) as pipe:
            for n in range(start, min(start + 5000, members + 1)):
                unit = f"cb{rng.randrange(CHI_BO):03d}"
                member = Member(id=str(n), name=f"Đảng viên {n:06d}", unit=unit, joined_at=now,
                                identities={"telegram": str(CHAT_BASE + n)})
                pipe.set(keys.member(member.id), member.model_dump_json())
                pipe.set(keys.identity("telegram", str(CHAT_BASE + n)), member.id)
                pipe.sadd(keys.unit_members(unit), member.id)
                pipe.zadd(keys.members_all(), {member.id: n})
            await pipe.execute()


def answers_of(n: int) -> list[object]:
    """The deterministic answers of member n (so the expected counts are known)."""
    return [n % 5, n % 3, sorted({n % 4, (n // 4) % 4}), (n // 3) % 3, f"Kiến nghị {n}"]
