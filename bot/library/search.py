"""In-process search over the catalog: diacritic- and case-insensitive, số hiệu typed loosely.

"nghi quyet 25" finds Nghị quyết 25-NQ/TW because both fold to the same tokens; "25nq" finds
it because letters and digits are split into tokens ("25", "nq") and because the compact
spellings of every số hiệu are indexed as well. Each worker builds the index from its catalog
snapshot, so a query never touches Redis.

Ranking works on arrays over every entry (numpy): a query adds up its words' weights and
counts them per entry in a few vector operations, and only the page shown is sorted, so a
catalog of 20,000 documents where one common word matches nearly all of them stays cheap.
"""

from __future__ import annotations

import bisect
import re
from collections import defaultdict
from collections.abc import Iterable
from itertools import takewhile

import numpy as np
from numpy.typing import NDArray

from bot.formatting import fold
from bot.library.models import Entry
from bot.library.sohieu import BadSoHieu, loose_forms, parse

_TOKEN = re.compile(r"[a-z]+|\d+")
# Words that glue Vietnamese titles together: matched when present, never required.
STOPWORDS = frozenset((
    "ve", "va", "cua", "cac", "cho", "voi", "trong", "tren", "duoi", "la", "thi", "ma",
    "nhung", "mot", "so", "ngay", "nam", "doi", "den", "tu", "theo", "o", "tai", "khi",
    "da", "se",
))
WEIGHTS = {"so_hieu": 8.0, "title": 4.0, "kind": 3.0, "topic": 3.0, "issuer": 2.0,
           "year": 2.0, "summary": 1.0}
COMPACT_BOOST = 50.0


def tokens(text: str) -> list[str]:
    """Folded word and number tokens; '25-NQ/TW' -> ['25', 'nq', 'tw'], '25nq' -> ['25', 'nq']."""
    return _TOKEN.findall(fold(text))


def compact(text: str) -> str:
    """Letters and digits only, folded: '25-NQ/TW' -> '25nqtw'."""
    return "".join(tokens(text))


def _fields(entry: Entry) -> Iterable[tuple[str, str]]:
    yield "title", entry.title
    yield "summary", entry.summary
    for name, value in (("so_hieu", entry.so_hieu), ("kind", entry.kind),
                        ("topic", entry.topic), ("issuer", entry.issuer)):
        if value:
            yield name, value
    if entry.issued is not None:
        yield "year", str(entry.issued.year)


class SearchIndex:
    """Inverted index: token -> {entry id: best field weight}, and the same as arrays."""

    def __init__(self, entries: Iterable[Entry]) -> None:
        self._postings: dict[str, dict[str, float]] = defaultdict(dict)
        self._compact: dict[str, set[str]] = defaultdict(set)
        self._order: dict[str, tuple[str, str]] = {}
        self._current: dict[str, bool] = {}
        for entry in entries:
            self._add(entry)
        self._vocab = sorted(self._postings)
        self._ids = list(self._order)
        self._index = {entry_id: n for n, entry_id in enumerate(self._ids)}
        # Tie-break rank of every entry: newest first, then by title (larger ranks first).
        ranked = sorted(self._ids, key=self._order.__getitem__)
        self._rank = np.empty(len(self._ids), dtype=np.int64)
        self._rank[[self._index[i] for i in ranked]] = np.arange(len(ranked))
        self._in_force = np.array([self._current[i] for i in self._ids], dtype=bool)
        self._arrays = {token: (np.array([self._index[i] for i in posting], dtype=np.int64),
                                np.array(list(posting.values()), dtype=np.float64))
                        for token, posting in self._postings.items()}

    def _add(self, entry: Entry) -> None:
        # Ties are broken newest first, then by title.
        self._order[entry.id] = (entry.issued.isoformat() if entry.issued else "", entry.title)
        self._current[entry.id] = entry.current
        for name, text in _fields(entry):
            weight = WEIGHTS[name]
            for token in tokens(text):
                posting = self._postings[token]
                posting[entry.id] = max(posting.get(entry.id, 0.0), weight)
        if entry.so_hieu:
            try:
                parsed = parse(entry.so_hieu)
            except BadSoHieu:
                return
            for form in {*loose_forms(parsed), compact(parsed.text)}:
                self._compact[form].add(entry.id)

    def search(self, query: str) -> list[str]:
        """Entry ids, best match first; documents matching every content word rank first,
        documents no longer in force last."""
        return self._rank_page(query, frozenset(), None)[1]

    def top(self, query: str, limit: int,
            hidden: frozenset[str] = frozenset()) -> tuple[int, list[str]]:
        """How many entries match (leaving out `hidden`), and the best `limit` of them in
        `search`'s order; only those are sorted."""
        return self._rank_page(query, hidden, limit)

    def _rank_page(self, query: str, hidden: frozenset[str],
                   limit: int | None) -> tuple[int, list[str]]:
        words = list(dict.fromkeys(tokens(query)))
        if not words or not self._ids:
            return 0, []
        required = [w for w in words if w not in STOPWORDS] or words
        scores = np.zeros(len(self._ids))
        hits = np.zeros(len(self._ids), dtype=np.int64)
        for index, word in enumerate(words):
            weight = self._weights(word, index == len(words) - 1 and word.isalpha()
                                   and len(word) >= 2)
            scores += weight
            if word in required:
                hits += weight > 0
        compact = [self._index[i] for f in self._compact_forms(query)
                   for i in self._compact.get(f, ())]
        scores[compact] += COMPACT_BOOST
        hits[compact] = len(required)
        shown = hits >= len(required)
        if not shown.any():
            shown = hits > 0
        shown[[self._index[i] for i in hidden if i in self._index]] = False
        found = np.flatnonzero(shown)
        # Documents no longer in force come after every current one, unless the query is their
        # own số hiệu; then hits, then score (multiples of 0.5), then the tie-break rank — one
        # sortable key (below 2**53, so exact in float64).
        first = self._in_force.copy()
        first[compact] = True
        key = ((first[found] * 1_000_000_000 + hits[found] * 1_000_000 + scores[found] * 2)
               * len(self._ids) + self._rank[found])
        if limit is not None and limit < len(found):
            best = np.argpartition(-key, limit)[:limit]
            found, key = found[best], key[best]
        page = found[np.argsort(-key, kind="stable")]
        return int(shown.sum()), [self._ids[n] for n in page.tolist()]

    def _weights(self, word: str, prefix: bool) -> NDArray[np.float64]:
        """The word's weight in every entry; with `prefix`, longer words count half ("dan
        va" also finds "dân vận")."""
        weight = np.zeros(len(self._ids))
        if word in self._arrays:
            where, values = self._arrays[word]
            weight[where] = values
        if prefix:
            start = bisect.bisect_left(self._vocab, word)
            for token in takewhile(lambda c: c.startswith(word), self._vocab[start:start + 200]):
                if token != word:
                    where, values = self._arrays[token]
                    weight[where] = np.maximum(weight[where], values / 2)
        return weight

    @staticmethod
    def _compact_forms(query: str) -> set[str]:
        """The whole query and each typed word squeezed together ('25 nq' -> '25nq')."""
        forms = {compact(query)}
        forms.update(compact(word) for word in query.split())
        return {f for f in forms if any(c.isdigit() for c in f) and len(f) >= 3}

