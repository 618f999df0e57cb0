"""Search: insensitive to diacritics and case, số hiệu typed loosely, sensible ranking."""

from __future__ import annotations

import pytest

from bot.deps import Deps
from bot.library.store import Library
from tests.library.helpers import import_shipped


@pytest.fixture
async def library(deps: Deps) -> Library:
    """The shipped library, imported and snapshotted."""
    await import_shipped(deps)
    return await deps.library.snapshot()


@pytest.mark.parametrize("query", [
    "nghi quyet 25", "Nghị quyết 25", "NGHỊ QUYẾT 25-NQ/TW", "25nq", "25-NQ", "25 nq",
    "nq25", "25NQTW",
])
async def test_nghi_quyet_25_first(library: Library, query: str) -> None:
    assert library.search(query)[0].id == "25-nq-tw", [e.id for e in library.search(query)]


@pytest.mark.parametrize(("query", "first"), [
    ("43-KL/TW", "43-kl-tw"), ("ket luan 43", "43-kl-tw"), ("144qd", "144-qd-tw"),
    ("quy dinh 144", "144-qd-tw"), ("chuan muc dao duc", None), ("5ct", "05-ct-tw"),
    ("dân vận khéo", "dan-van-kheo"), ("DAN VAN KHEO", "dan-van-kheo"),
    ("luat thuc hien dan chu o co so", None), ("10/2022/QH15", "10-2022-qh15"),
    ("bai bao dan van 1949", "tac-pham-dan-van"),
])
async def test_common_queries(library: Library, query: str, first: str | None) -> None:
    found = [e.id for e in library.search(query)]
    assert found, query
    if first is not None:
        assert found[0] == first, found


async def test_whole_words_rank_above_partial_matches(library: Library) -> None:
    found = [e.id for e in library.search("quy chế dân chủ ở cơ sở")]
    assert "30-ct-tw" in found[:3] and "dan-chu-co-so" in found[:3]


async def test_nonsense_finds_nothing(library: Library) -> None:
    assert library.search("xyzzy qwerty") == []
    assert library.search("   ") == []
    assert library.search("!!!") == []


async def test_last_word_may_be_unfinished(library: Library) -> None:
    assert library.search("dan van khe")[0].id == "dan-van-kheo"
