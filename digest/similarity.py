"""Cheap lexical similarity between claims: content-word sets, Jaccard, and an inverted index."""
from __future__ import annotations

import re
from functools import lru_cache
from collections import Counter, defaultdict
from collections.abc import Iterable

_WORD = re.compile(r"[a-z0-9]+(?:[.,][0-9]+)?")
STOPWORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further had
    has have having he her here hers him his how i if in into is it its itself just me more most my
    no nor not now of off on once only or other our ours out over own same she should so some such
    than that the their theirs them then there these they this those through to too under until up
    very was we were what when where which while who whom why will with would you your yours also
    may might must much many one new like get got make makes made even still way well""".split()
)

#: Jaccard at or above which two claims say the same thing.
NEAR_DUPLICATE = 0.6
#: Jaccard at or above which another source's claim counts as corroborating.
CORROBORATES = 0.35


@lru_cache(maxsize=200_000)
def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def terms(text: str) -> frozenset[str]:
    """The claim's content words, lower-cased and crudely stemmed."""
    return frozenset(_stem(w) for w in _WORD.findall(text.lower()) if w not in STOPWORDS and len(w) > 1)


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    """|a & b| / |a | b| (0 for two empty sets)."""
    if not a or not b:
        return 0.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter)


class TermIndex:
    """Inverted index over many term sets: find the ones similar to a query without comparing all."""

    def __init__(self, items: Iterable[tuple[int, frozenset[str]]], *, max_df: float = 0.05) -> None:
        self.terms: dict[int, frozenset[str]] = {}
        postings: dict[str, list[int]] = defaultdict(list)
        for key, ts in items:
            self.terms[key] = ts
            for t in ts:
                postings[t].append(key)
        cap = max(20, int(max_df * max(1, len(self.terms))))
        self.postings = {t: ids for t, ids in postings.items() if len(ids) <= cap}

    def similar(self, query: frozenset[str], threshold: float, *, exclude: int | None = None) -> list[tuple[int, float]]:
        """(key, jaccard) of indexed sets with jaccard >= threshold, best first."""
        counts: Counter[int] = Counter()
        for t in query:
            ids = self.postings.get(t)
            if ids:
                counts.update(ids)
        need = 1 if len(query) < 4 else 2
        out = []
        for key, shared in counts.items():
            if shared < need or key == exclude:
                continue
            sim = jaccard(query, self.terms[key])
            if sim >= threshold:
                out.append((key, sim))
        out.sort(key=lambda kv: (-kv[1], kv[0]))
        return out


class OverlapIndex:
    """Exact Jaccard of a query against a fixed list of term sets, computed only where they share a term.

    Unlike `TermIndex` nothing is capped: every set sharing a word with the query is found, and
    its Jaccard is the same number `jaccard` gives.
    """

    def __init__(self, sets: Iterable[frozenset[str]]) -> None:
        self.sizes: list[int] = []
        postings: dict[str, list[int]] = defaultdict(list)
        for position, ts in enumerate(sets):
            self.sizes.append(len(ts))
            for t in ts:
                postings[t].append(position)
        self.postings = dict(postings)

    def jaccards(self, query: frozenset[str]) -> dict[int, float]:
        """Position -> Jaccard for every indexed set sharing at least one term with `query`."""
        counts: Counter[int] = Counter()
        for t in query:
            positions = self.postings.get(t)
            if positions:
                counts.update(positions)
        n, sizes = len(query), self.sizes
        return {p: shared / (n + sizes[p] - shared) for p, shared in counts.items()}
