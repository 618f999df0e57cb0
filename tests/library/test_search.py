"""Search: insensitive to diacritics and case, số hiệu typed loosely, sensible ranking."""

from __future__ import annotations

import pytest

from bench.search_bench import catalog
from bot.deps import Deps
from bot.library.search import COMPACT_BOOST, STOPWORDS, SearchIndex, tokens
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


def _reference_order(index: SearchIndex, query: str) -> list[str]:
    """The ranking rule written out plainly: entries with every content word first (else
    any), by words matched, summed field weights (+50 for a spelled-out số hiệu), newest,
    title."""
    words = list(dict.fromkeys(tokens(query)))
    required = [w for w in words if w not in STOPWORDS] or words
    scores: dict[str, float] = {}
    hits: dict[str, int] = {}
    for n, word in enumerate(words):
        prefix = n == len(words) - 1 and word.isalpha() and len(word) >= 2
        found = dict(index._postings.get(word, {}))
        for token in (t for t in index._vocab if prefix and t.startswith(word) and t != word):
            for entry_id, weight in index._postings[token].items():
                found[entry_id] = max(found.get(entry_id, 0.0), weight / 2)
        for entry_id, weight in found.items():
            scores[entry_id] = scores.get(entry_id, 0.0) + weight
            hits[entry_id] = hits.get(entry_id, 0) + (word in required)
    for form in index._compact_forms(query):
        for entry_id in index._compact.get(form, ()):
            scores[entry_id] = scores.get(entry_id, 0.0) + COMPACT_BOOST
            hits[entry_id] = len(required)
    ranked = sorted((i for i in scores if hits[i] > 0), reverse=True,
                    key=lambda i: (hits[i], scores[i], index._order[i]))
    return [i for i in ranked if hits[i] >= len(required)] or ranked


QUERIES = ["nghi quyet 25", "25nq", "dân vận khéo", "quy chế dân chủ ở cơ sở", "43-KL/TW",
           "chuan muc dao duc can bo", "ket luan 12", "xyzzy khong co", "dan van chinh quy",
           "05-CT/TW", "tôn giáo", "o", "so"]


@pytest.mark.parametrize("query", QUERIES)
def test_top_is_the_first_page_of_the_full_ranking(query: str) -> None:
    """`top` ranks only a page over thousands of matches; it must be exactly the first page
    of the plain ranking, and leave out what the reader may not see."""
    entries = catalog(3000, seed=11)
    index = SearchIndex(entries)
    expected = _reference_order(index, query)
    assert index.search(query) == expected
    assert index.top(query, 8) == (len(expected), expected[:8])
    hidden = frozenset(expected[::3])
    shown = [i for i in expected if i not in hidden]
    assert index.top(query, 8, hidden) == (len(shown), shown[:8])
