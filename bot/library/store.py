"""The library in Redis: documents, the catalog snapshot, acknowledgements and quiz scores."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Literal

from redis.asyncio import Redis

from bot.formatting import fold
from bot.library.files import FileStore
from bot.library.identity import Ref, fits_with_year, matching, parse_ref
from bot.library.models import DOCUMENT, Directive, Entry, Material, Record
from bot.library.rollup import CoverageCounts
from bot.library.search import SearchIndex
from bot.library.sohieu import BadSoHieu
from bot.storage.keys import Keys

# Count an acknowledgement once: the unit counter moves only when the member is new in the set,
# and both keys share the document's hash slot.
_ACK = """
if redis.call('SADD', KEYS[1], ARGV[1]) == 1 then
  redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
  return 1
end
return 0
"""
Saved = Literal["added", "updated", "unchanged"]


def topic_slug(topic: str) -> str:
    """Short button-safe id of a topic name: 'Dân vận khéo' -> 'dan-van-kheo'."""
    return "-".join(fold(topic).replace("/", " ").split())[:24].strip("-") or "khac"


def same_document(entry: Entry, doc: Directive) -> bool:
    """The catalog line is this directive: same số hiệu, issued the same year."""
    return (entry.type == "directive" and entry.so_hieu == doc.so_hieu
            and entry.issued is not None and entry.issued.year == doc.issued.year)


def digest_of(doc: Directive | Material) -> str:
    """Hash of a document's content (not of where or when it was saved)."""
    return hashlib.sha256(DOCUMENT.dump_json(doc)).hexdigest()


@dataclass(frozen=True)
class Library:
    """An immutable snapshot of the catalog, with its search index."""

    entries: dict[str, Entry]
    index: SearchIndex = field(repr=False)

    @classmethod
    def of(cls, entries: list[Entry]) -> Library:
        """Snapshot and index."""
        return cls({e.id: e for e in entries}, SearchIndex(entries))

    def directives(self) -> list[Entry]:
        """Directives in force, newest first (what lists, coverage and progress count)."""
        return [e for e in self._all_directives() if e.current]

    def superseded(self) -> list[Entry]:
        """Directives no longer in force, newest first (still readable, under a banner)."""
        return [e for e in self._all_directives() if not e.current]

    def _all_directives(self) -> list[Entry]:
        found = [e for e in self.entries.values() if e.type == "directive"]
        return sorted(found, key=lambda e: (e.issued.isoformat() if e.issued else "", e.id),
                      reverse=True)

    def materials(self) -> list[Entry]:
        """Materials ordered by topic, then title."""
        found = [e for e in self.entries.values() if e.type == "material"]
        return sorted(found, key=lambda e: (fold(e.topic or ""), fold(e.title)))

    def numbered(self, ref: str) -> list[Entry]:
        """Directives a số hiệu names, newest first: one, or several of different terms when
        the year is not given ([] for a malformed số hiệu)."""
        try:
            parsed = parse_ref(ref)
        except BadSoHieu:
            return []
        return matching(parsed, self.by_number.get(parsed.so_hieu.doc_id, []))

    def shared(self, entry: Entry) -> bool:
        """True when another directive has the same số hiệu (of another term)."""
        if entry.so_hieu is None:
            return False
        return len(self.numbered(Ref(parse_ref(entry.so_hieu).so_hieu).text)) > 1

    @cached_property
    def by_number(self) -> dict[str, list[Entry]]:
        """Directives per bare số hiệu id."""
        found: dict[str, list[Entry]] = {}
        for entry in self.entries.values():
            if entry.type == "directive" and entry.so_hieu:
                try:
                    found.setdefault(parse_ref(entry.so_hieu).so_hieu.doc_id, []).append(entry)
                except BadSoHieu:
                    continue
        return found

    def search(self, query: str) -> list[Entry]:
        """Entries matching the query, best first."""
        return [self.entries[i] for i in self.index.search(query)]

    def top(self, query: str, limit: int,
            readable: Callable[[str], bool]) -> tuple[int, list[Entry]]:
        """How many entries whose audience is `readable` match the query, and the best
        `limit` of them: a page is ranked, not every match."""
        hidden = frozenset(entry_id for audience, ids in self.audiences.items()
                           if not readable(audience) for entry_id in ids)
        count, page = self.index.top(query, limit, hidden)
        return count, [self.entries[i] for i in page]

    @cached_property
    def audiences(self) -> dict[str, list[str]]:
        """Entry ids per audience unit (entries for everyone are in none)."""
        found: dict[str, list[str]] = {}
        for entry in self.entries.values():
            if entry.audience is not None:
                found.setdefault(entry.audience, []).append(entry.id)
        return found


class LibraryStore:
    """Documents as JSON records, a catalog hash, and per-process snapshots of the catalog."""

    def __init__(self, redis: Redis, keys: Keys, files: FileStore) -> None:
        self._redis = redis
        self._keys = keys
        self.files = files
        self._ack = redis.register_script(_ACK)
        self._cached: tuple[int, Library] | None = None
        self.sizes = CoverageCounts(redis, keys)  # unit sizes and sums for coverage, per process

    async def snapshot(self) -> Library:
        """Current catalog: one GET per call, a reload only after something changed."""
        version = int(await self._redis.get(self._keys.library_version()) or 0)
        if self._cached is None or self._cached[0] != version:
            raw = await self._redis.hgetall(self._keys.library_catalog())
            entries = [Entry.model_validate_json(value) for value in raw.values()]
            self._cached = (version, Library.of(entries))
        return self._cached[1]

    async def get(self, doc_id: str) -> Record | None:
        """The stored document, or None."""
        raw = await self._redis.get(self._keys.document(doc_id))
        return Record.model_validate_json(raw) if raw else None

    async def save(self, doc: Directive | Material, *, origin: str, now: datetime) -> Saved:
        """Store a document; the same document (same số hiệu and year / file name) updates,
        never duplicates; a document of another term with the same số hiệu gets its own id."""
        if isinstance(doc, Directive):
            doc = await self.place(doc)
        digest = digest_of(doc)
        current = await self._redis.hget(self._keys.library_catalog(), doc.id)
        previous = Entry.model_validate_json(current) if current is not None else None
        if previous is not None and previous.digest == digest:
            return "unchanged"
        version = previous.version + 1 if previous is not None else 1
        record = Record(doc=doc, origin=origin, digest=digest, updated_at=now, version=version)
        # The body first, then the catalog line: a reader that sees the line finds the body.
        await self._redis.set(self._keys.document(doc.id), record.model_dump_json())
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._keys.library_catalog(), doc.id,
                      Entry.of(doc, digest, version).model_dump_json())
            pipe.incr(self._keys.library_version())
            await pipe.execute()
        return "added" if current is None else "updated"

    async def place(self, doc: Directive) -> Directive:
        """The directive with the id it has (or will have) in the store: where the same
        document already is, else the bare số hiệu if free, else the số hiệu with the year."""
        bare = doc.model_copy(update={"id_year": False})
        dated = doc.model_copy(update={"id_year": True})
        held = await self._redis.hmget(self._keys.library_catalog(), [bare.id, dated.id])
        entries = [Entry.model_validate_json(raw) if raw else None for raw in held]
        for candidate, entry in zip((bare, dated), entries, strict=True):
            if entry is not None and same_document(entry, doc):
                return candidate
        if doc.id_year or entries[0] is not None:
            if not fits_with_year(bare.id):
                raise BadSoHieu(f"Số hiệu {doc.so_hieu} đã có ở văn bản năm khác nhưng quá dài "
                                "để phân biệt theo năm ban hành.")
            return dated
        return bare

    async def ack(self, doc_id: str, member_id: str, unit_id: str) -> bool:
        """Record "Đã nghiên cứu"; True the first time. Safe to repeat."""
        added = await self._ack(keys=[self._keys.document_acks(doc_id),
                                      self._keys.document_ack_units(doc_id)],
                                args=[member_id, unit_id])
        # The member's own list lives in their slot; SADD is idempotent, so a retry after a
        # crash between the two writes repairs it.
        await self._redis.sadd(self._keys.member_acks(member_id), doc_id)
        return bool(added)

    async def has_acked(self, doc_id: str, member_id: str) -> bool:
        """True if the member acknowledged the document."""
        return bool(await self._redis.sismember(self._keys.document_acks(doc_id), member_id))

    async def acked(self, member_id: str) -> set[str]:
        """Ids of every document the member acknowledged."""
        return {str(i) for i in await self._redis.smembers(self._keys.member_acks(member_id))}

    async def record_quiz(self, member_id: str, doc_id: str, score: int) -> int:
        """Keep the best score (ZADD GT never lowers it); return the best so far."""
        key = self._keys.member_quiz(member_id)
        await self._redis.zadd(key, {doc_id: score}, gt=True)
        best = await self._redis.zscore(key, doc_id)
        return int(best or 0)

    async def quiz_scores(self, member_id: str) -> dict[str, int]:
        """Best score per material."""
        pairs = await self._redis.zrange(self._keys.member_quiz(member_id), 0, -1,
                                         withscores=True)
        return {str(pair[0]): int(pair[1]) for pair in pairs}
