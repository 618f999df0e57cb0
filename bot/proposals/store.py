"""Proposals in Redis: one JSON value per proposal plus its append-only history, changed only
by Lua scripts on those two keys (one hash tag, so cluster-safe) that check the version the
caller saw: the same decision pressed twice, or two reviewers racing, is one transition."""

from __future__ import annotations

from datetime import datetime

from redis.asyncio import Redis

from bot.proposals.models import Draft, Event, Proposal, make_code
from bot.storage.keys import Keys

DRAFT_TTL = 30 * 86_400  # an unsent form is kept a month, well beyond a dialog's life

# KEYS: proposal, history. ARGV: proposal JSON, event JSON. 1 created, 0 the code exists.
_CREATE = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX') then
  redis.call('RPUSH', KEYS[2], ARGV[2])
  return 1
end
return 0
"""

# KEYS: proposal, history. ARGV: expected version, new JSON, event JSON.
# Returns 1 when applied, 0 when the stored version is not the expected one, -1 when missing.
_TRANSITION = """
local raw = redis.call('GET', KEYS[1])
if not raw then return -1 end
if tonumber(cjson.decode(raw)['version']) ~= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('RPUSH', KEYS[2], ARGV[3])
return 1
"""


class Conflict(Exception):
    """The proposal changed since the caller read it (someone else acted first)."""


class ProposalStore:
    """Proposals, their history, the per-member and gallery indexes, and drafts."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self._redis = redis
        self._keys = keys
        self._create = redis.register_script(_CREATE)
        self._transition = redis.register_script(_TRANSITION)

    def key(self, code: str) -> str:
        """The proposal's key (its history shares the hash tag, hence the server)."""
        return self._keys.proposal(code)

    async def new_code(self, year: int) -> str:
        """A fresh reference code from the year's atomic counter."""
        return make_code(year, int(await self._redis.incr(self._keys.proposal_seq(year))))

    async def sent_code(self, member_id: str, draft_id: str) -> str | None:
        """The code a draft was sent as, if it was."""
        raw = await self._redis.get(self._keys.proposal_sent(member_id, draft_id))
        return str(raw) if raw else None

    async def bind_sent(self, member_id: str, draft_id: str, code: str) -> str:
        """Bind a draft to a code unless it is bound already; the code that holds."""
        key = self._keys.proposal_sent(member_id, draft_id)
        before = await self._redis.set(key, code, nx=True, get=True, ex=DRAFT_TTL)
        return str(before) if before else code

    async def index(self, proposal: Proposal) -> None:
        """List the code for its author and for exports (before it exists: a reader skips
        codes without a proposal, so a crash in between leaves nothing visible)."""
        score = proposal.submitted_at.timestamp()
        await self._redis.zadd(self._keys.proposals_by(proposal.author),
                               {proposal.code: score}, nx=True)
        await self._redis.zadd(self._keys.proposals_all(), {proposal.code: score}, nx=True)

    async def create(self, proposal: Proposal, event: Event, conn: Redis | None = None) -> bool:
        """Store a new proposal with its first history event; False if the code is taken."""
        keys = [self._keys.proposal(proposal.code), self._keys.proposal_history(proposal.code)]
        done = await self._create(keys=keys, args=[proposal.model_dump_json(),
                                                   event.model_dump_json()], client=conn)
        return bool(done)

    async def apply(self, before: Proposal, after: Proposal, event: Event,
                    conn: Redis | None = None) -> Proposal:
        """Replace `before` by `after` (version + 1) if nobody changed it meanwhile."""
        assert after.version == before.version + 1
        keys = [self._keys.proposal(before.code), self._keys.proposal_history(before.code)]
        done = int(await self._transition(
            keys=keys, args=[before.version, after.model_dump_json(), event.model_dump_json()],
            client=conn))
        if done != 1:
            raise Conflict(before.code)
        return after

    async def get(self, code: str) -> Proposal | None:
        """The proposal, or None."""
        raw = await self._redis.get(self._keys.proposal(code))
        return Proposal.model_validate_json(raw) if raw else None

    async def many(self, codes: list[str]) -> list[Proposal]:
        """Proposals of these codes (missing ones skipped), in order."""
        if not codes:
            return []
        # One GET per code in a plain pipeline, not MGET: each proposal has its own hash tag,
        # so on a cluster the pipeline is split per node where an MGET would be refused.
        async with self._redis.pipeline(transaction=False) as pipe:
            for code in codes:
                pipe.get(self._keys.proposal(code))
            raws = await pipe.execute()
        return [Proposal.model_validate_json(r) for r in raws if r]

    async def history(self, code: str) -> list[Event]:
        """Every transition, oldest first."""
        raws = await self._redis.lrange(self._keys.proposal_history(code), 0, -1)
        return [Event.model_validate_json(r) for r in raws]

    async def mine(self, member_id: str, limit: int = 20, offset: int = 0) -> list[Proposal]:
        """A member's proposals, newest first, `limit` of them from `offset`."""
        codes = await self._redis.zrevrange(self._keys.proposals_by(member_id), offset,
                                            offset + limit - 1)
        return await self.many([c.decode() if isinstance(c, bytes) else str(c) for c in codes])

    async def count_mine(self, member_id: str) -> int:
        """How many codes a member's list holds (for paging)."""
        return int(await self._redis.zcard(self._keys.proposals_by(member_id)))

    async def all_codes(self) -> list[str]:
        """Every code, oldest first (exports)."""
        codes = await self._redis.zrange(self._keys.proposals_all(), 0, -1)
        return [c.decode() if isinstance(c, bytes) else str(c) for c in codes]

    async def recognise(self, proposal: Proposal, at: datetime) -> None:
        """Put a recognised proposal in the gallery (idempotent)."""
        await self._redis.zadd(self._keys.proposals_gallery(), {proposal.code: at.timestamp()})

    async def gallery(self) -> list[Proposal]:
        """Recognised proposals, newest first."""
        codes = await self._redis.zrevrange(self._keys.proposals_gallery(), 0, -1)
        return await self.many([c.decode() if isinstance(c, bytes) else str(c) for c in codes])

    # ---------------------------------------------------------------------- drafts
    async def draft(self, member_id: str) -> Draft | None:
        """The member's unsent form, or None."""
        raw = await self._redis.get(self._keys.proposal_draft(member_id))
        return Draft.model_validate_json(raw) if raw else None

    async def save_draft(self, member_id: str, draft: Draft | None) -> None:
        """Keep the form (fresh TTL); None deletes it."""
        key = self._keys.proposal_draft(member_id)
        if draft is None:
            await self._redis.delete(key)
        else:
            await self._redis.set(key, draft.model_dump_json(), ex=DRAFT_TTL)
