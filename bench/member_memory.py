"""Redis memory per registered member (target <= 1 KB, measured with 100,000 members).

    python -m bench.member_memory [--members 100000] [--units 315]

Registers members through the real `MemberStore.register` (member JSON, account identity,
unit set, join-time index) into a private Valkey, spread over a Khối-like tree of chi bộ,
with Vietnamese names; prints used_memory growth per member and the share of each key kind.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from bot.app import make_deps
from bot.org.models import Unit
from bot.settings import Settings
from bot.storage.connection import connect
from tests.conftest import free_port, start_valkey

SURNAMES = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Ngô")
GIVEN = ("Văn An", "Thị Bình", "Minh Châu", "Quốc Dũng", "Thị Hạnh", "Đức Long", "Thu Trang")


def tree(chi_bo: int) -> list[Unit]:
    """A Khối with đảng bộ cơ sở of four chi bộ each."""
    units = [Unit(id="khoi", name="Đảng bộ Khối các cơ quan tỉnh", kind="dang_bo_khoi")]
    for n in range(0, chi_bo, 4):
        base = f"dbcs-{n // 4}"
        units.append(Unit(id=base, name=f"Đảng bộ cơ sở số {n // 4}", kind="dang_bo_co_so",
                          parent="khoi"))
        units += [Unit(id=f"cb-{m}", name=f"Chi bộ số {m}", kind="chi_bo", parent=base)
                  for m in range(n, min(n + 4, chi_bo))]
    return units


async def run(members: int, chi_bo: int, url: str) -> None:
    """Register and measure."""
    redis = connect(url)
    deps = make_deps(Settings(_env_file=None, redis_url=url), redis)  # type: ignore[call-arg]
    await deps.units.import_units(tree(chi_bo))
    before = int((await redis.info("memory"))["used_memory"])
    started = time.monotonic()
    now = datetime(2026, 11, 21, tzinfo=UTC)
    batch = 50  # concurrent registrations (the client pool allows ~100 connections)
    for start in range(0, members, batch):
        await asyncio.gather(*(deps.members.register(
            channel="telegram", user_id=str(1_000_000_000 + n),
            name=f"{SURNAMES[n % 10]} {GIVEN[n % 7]}", unit=f"cb-{n % chi_bo}", grants=[],
            now=now) for n in range(start, min(start + batch, members))))
    seconds = time.monotonic() - started
    after = int((await redis.info("memory"))["used_memory"])
    sample = await redis.get(deps.keys.member("1"))
    per = (after - before) / members
    print(f"{members} members in {chi_bo} chi bộ registered in {seconds:.0f} s")
    print(f"used_memory grew {(after - before) / 1e6:.1f} MB: {per:.0f} bytes per member "
          f"(target <= 1024)")
    print(f"member JSON ({len(sample or '')} bytes): {sample}")
    for key in (deps.keys.member("1"), deps.keys.identity("telegram", "1000000000")):
        print(f"  MEMORY USAGE {key}: {await redis.memory_usage(key)} bytes")
    print(f"  MEMORY USAGE {deps.keys.members_all()} (all members): "
          f"{await redis.memory_usage(deps.keys.members_all(), samples=0)} bytes")
    await redis.aclose()


def main() -> None:
    """Start a private Valkey, measure, stop it."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--units", type=int, default=315)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        valkey = start_valkey(Path(tmp), port)
        try:
            asyncio.run(run(args.members, args.units, f"redis://127.0.0.1:{port}/0"))
        finally:
            valkey.terminate()
            valkey.wait(10)


if __name__ == "__main__":
    main()
