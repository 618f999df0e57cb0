"""In-process search over the catalog: diacritic- and case-insensitive, số hiệu typed loosely.

"nghi quyet 25" finds Nghị quyết 25-NQ/TW because both fold to the same tokens; "25nq" finds
it because letters and digits are split into tokens ("25", "nq") and because the compact
spellings of every số hiệu are indexed as well. Each worker builds the index from its catalog
snapshot, so a query never touches Redis.
"""

from __future__ import annotations

import bisect
import re
from collections import defaultdict
from collections.abc import Iterable

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
    """Inverted index: token -> {entry id: best field weight}."""

    def __init__(self, entries: Iterable[Entry]) -> None:
        self._postings: dict[str, dict[str, float]] = defaultdict(dict)
        self._compact: dict[str, set[str]] = defaultdict(set)
        self._order: dict[str, tuple[str, str]] = {}
        self._current: dict[str, bool] = {}
        for entry in entries:
            self._add(entry)
        self._vocab = sorted(self._postings)

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
        words = list(dict.fromkeys(tokens(query)))
        if not words:
            return []
        required = [w for w in words if w not in STOPWORDS] or words
        scores: dict[str, float] = defaultdict(float)
        hits: dict[str, int] = defaultdict(int)
        for index, word in enumerate(words):
            prefix = index == len(words) - 1 and word.isalpha() and len(word) >= 2
            for entry_id, weight in self._match(word, prefix).items():
                scores[entry_id] += weight
                hits[entry_id] += word in required
        exact: set[str] = set()
        for form in self._compact_forms(query):
            for entry_id in self._compact.get(form, ()):
                exact.add(entry_id)
                scores[entry_id] += COMPACT_BOOST
                hits[entry_id] = max(hits[entry_id], len(required))
        ranked = [i for i in scores if hits[i] > 0]
        ranked.sort(key=lambda i: (hits[i], scores[i], self._order[i]), reverse=True)
        complete = [i for i in ranked if hits[i] >= len(required)] or ranked
        # Documents no longer in force come after every current one, in the same order,
        # unless the query is their own số hiệu.
        return sorted(complete, key=lambda i: not (self._current[i] or i in exact))

    def _match(self, word: str, prefix: bool) -> dict[str, float]:
        found = dict(self._postings.get(word, {}))
        if prefix:
            # The last word may still be being typed: "dan va" also finds "dân vận".
            start = bisect.bisect_left(self._vocab, word)
            for candidate in self._vocab[start:start + 200]:
                if not candidate.startswith(word):
                    break
                if candidate != word:
                    for entry_id, weight in self._postings[candidate].items():
                        found[entry_id] = max(found.get(entry_id, 0.0), weight / 2)
        return found

    @staticmethod
    def _compact_forms(query: str) -> set[str]:
        """The whole query and each typed word squeezed together ('25 nq' -> '25nq')."""
        forms = {compact(query)}
        forms.update(compact(word) for word in query.split())
        return {f for f in forms if any(c.isdigit() for c in f) and len(f) >= 3}
