"""`dvbot content import`: validated files into Redis, all or nothing, idempotently."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from bot.library.loader import LoadResult
from bot.library.store import LibraryStore
from bot.org.tree import OrgTree


class ContentError(ValueError):
    """The library has problems; nothing was written. `problems` lists them all."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class ImportSummary:
    """How many documents were added, updated or left as they were."""

    added: int
    updated: int
    unchanged: int


def check_audiences(result: LoadResult, tree: OrgTree) -> list[str]:
    """Audience units that do not exist in the organization."""
    return [f"{loaded.origin}: audience: không có đơn vị {loaded.doc.audience!r}"
            for loaded in result.docs
            if loaded.doc.audience is not None and tree.get(loaded.doc.audience) is None]


async def import_library(library: LibraryStore, result: LoadResult, tree: OrgTree,
                         now: datetime) -> ImportSummary:
    """Write every document; refuse the whole import if any file has a problem."""
    problems = result.problems + check_audiences(result, tree)
    if problems:
        raise ContentError(problems)
    counts: Counter[str] = Counter()
    for loaded in result.docs:
        if loaded.attachment is not None:
            stored = await library.files.put_file(loaded.attachment)
            if stored != loaded.doc.attachment:
                raise ContentError([f"{loaded.origin}: attachment: tệp thay đổi trong lúc nhập"])
        outcome = await library.save(loaded.doc, origin=f"file:{loaded.origin}", now=now)
        counts[outcome] += 1
    return ImportSummary(counts["added"], counts["updated"], counts["unchanged"])
