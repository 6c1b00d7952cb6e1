"""Find and read the pattern and lexicon files shipped in extract/data/."""
from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import numpy
import srsly
from spacy.attrs import LEMMA, LOWER, ORTH


def data_path(name: str | Path) -> Path:
    """`name` as given when absolute or existing, else the file of that name in extract/data/."""
    path = Path(name)
    if path.is_absolute() or path.exists():
        return path
    return Path(str(resources.files("extract.data").joinpath(str(name))))


def read_jsonl(name: str | Path) -> list[dict[str, Any]]:
    """Every record of a JSONL pattern/lexicon file, in order."""
    return list(srsly.read_jsonl(data_path(name)))


def entries(name: str | Path, kind: str) -> list[dict[str, Any]]:
    """The records of one `kind` in a lexicon file."""
    return [row for row in read_jsonl(name) if row.get("kind") == kind]


def expand_first_token(pattern: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The same pattern as several whose first token tests one exact value instead of a set.

    spaCy's Matcher tries every pattern's first token at every position; an exact value is a
    C comparison, an `IN` set a Python call. Same matches, several times faster on long texts.
    """
    if not pattern:
        return [pattern]
    first = pattern[0]
    sets = [k for k, v in first.items() if isinstance(v, dict) and set(v) == {"IN"}]
    if len(sets) != 1 or "OP" in first:
        return [pattern]
    key = sets[0]
    return [[{**first, key: value}] + pattern[1:] for value in first[key]["IN"]]


_INDEXABLE = {"LEMMA": "lemma", "LOWER": "lower", "ORTH": "orth", "TEXT": "orth"}
_ATTR_IDS = {"lemma": LEMMA, "lower": LOWER, "orth": ORTH}


class FastMatcher:
    """spaCy's Matcher, made cheap on long texts by indexing first tokens.

    The Matcher tries every pattern at every token. Here one-word patterns on a single
    LEMMA/LOWER/ORTH value are answered from a hash index, and longer patterns whose first
    token is such a value run only on short windows that start where that value occurs.
    Patterns of any other shape go to a plain Matcher over the whole text. Same matches.
    """

    def __init__(self, vocab: Any, validate: bool = True) -> None:
        from spacy.matcher import Matcher

        self.vocab = vocab
        self.matcher = Matcher(vocab, validate=validate)  # patterns that need a full scan
        self.anchored = Matcher(vocab, validate=validate)  # patterns that start with an exact value
        self.index: dict[str, dict[int, list[int]]] = {}
        self.starts: dict[str, set[int]] = {}
        self.longest = 1
        self._has_matcher = self._has_anchored = False
        self._keys: dict[tuple[str, str], Any] = {}

    def add(self, key: str, patterns: list[list[dict[str, Any]]]) -> None:
        key_id = self.vocab.strings.add(key)
        full, anchored = [], []
        for pattern in patterns:
            for p in expand_first_token(pattern):
                exact = _exact(p[0]) if p else None
                if exact and len(p) == 1 and len(p[0]) == 1:
                    attr, value = exact
                    self.index.setdefault(attr, {}).setdefault(value, []).append(key_id)
                elif exact and all(t.get("OP") in (None, "?", "!") for t in p):
                    self.starts.setdefault(exact[0], set()).add(exact[1])
                    self.longest = max(self.longest, len(p))
                    anchored.append(p)
                else:
                    full.append(p)
        self._keys.clear()
        if full:
            self.matcher.add(key, full)
            self._has_matcher = True
        if anchored:
            self.anchored.add(key, anchored)
            self._has_anchored = True

    def _exact(self, attr: str, which: str, table: Any) -> Any:
        keys = self._keys.get((attr, which))
        if keys is None:
            keys = self._keys[(attr, which)] = numpy.fromiter(table, dtype="uint64")
        return keys

    def __call__(self, doclike: Any) -> list[tuple[int, int, int]]:
        found: list[tuple[int, int, int]] = list(self.matcher(doclike)) if self._has_matcher else []
        if (self.index or self._has_anchored) and len(doclike):
            is_doc = hasattr(doclike, "vocab")
            doc = doclike if is_doc else doclike.doc
            lo = 0 if is_doc else doclike.start
            hi = len(doc) if is_doc else doclike.end
            attrs = sorted(set(self.index) | set(self.starts))
            array = doc.to_array([_ATTR_IDS[a] for a in attrs]).reshape(len(doc), len(attrs))[lo:hi]
            candidates: set[int] = set()
            for col, attr in enumerate(attrs):
                column = array[:, col]
                table = self.index.get(attr)
                if table:
                    for i in numpy.nonzero(numpy.isin(column, self._exact(attr, "index", table)))[0].tolist():
                        found.extend((k, lo + i, lo + i + 1) for k in table[int(column[i])])
                if attr in self.starts:
                    candidates.update(
                        numpy.nonzero(numpy.isin(column, self._exact(attr, "starts", self.starts[attr])))[0].tolist())
            windows: list[list[int]] = []
            for i in sorted(candidates):  # merge [i, i + longest) windows that overlap
                if windows and lo + i < windows[-1][1]:
                    windows[-1][1] = min(hi, max(windows[-1][1], lo + i + self.longest))
                else:
                    windows.append([lo + i, min(hi, lo + i + self.longest)])
            for start, end in windows:
                for match_id, a, b in self.anchored(doc[start:end]):
                    found.append((match_id, start + a, start + b))
        found = sorted(set(found), key=lambda m: (m[1], m[2], m[0]))
        return found


def _exact(spec: dict[str, Any]) -> tuple[str, int] | None:
    """(attribute, hashed value) when a token spec tests one LEMMA/LOWER/ORTH value (and at most
    IS_SENT_START, which the anchored Matcher still checks)."""
    rest = {k: v for k, v in spec.items() if k.upper() != "IS_SENT_START"}
    if len(rest) != 1:
        return None
    (attr, value), = rest.items()
    if attr.upper() not in _INDEXABLE or not isinstance(value, str):
        return None
    if attr.upper() in ("LEMMA", "LOWER"):
        value = value.lower()
    return _INDEXABLE[attr.upper()], _hash(value)


def _hash(value: str) -> int:
    from spacy.strings import get_string_id

    return get_string_id(value)
