"""A reviewer's bot process for the kill test: claims the next proposal with the real
ProposalService against the given Valkey, prints its code, then waits to be killed (it never
decides). Run as `python -m tests.proposals.killed_reviewer URL MEMBER_JSON`."""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime

from bot.deps import build_proposals
from bot.org.models import Member
from bot.settings import Settings
from bot.storage.connection import connect
from bot.storage.keys import Keys


async def claim_and_hang(url: str, member: Member) -> None:
    """Claim, report, hang (the parent SIGKILLs this process mid-review)."""
    redis = connect(url)
    settings = Settings(_env_file=None, redis_url=url)  # type: ignore[call-arg]
    service = build_proposals(settings, redis, Keys("dv"))
    claimed = await service.next_for(member, ["dbcs-a"], datetime.now(UTC))
    print(claimed.proposal.code if claimed else "-", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(claim_and_hang(sys.argv[1], Member.model_validate_json(sys.argv[2])))
