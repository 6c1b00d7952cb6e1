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
    """spaCy's Matcher, with one-token patterns on a single LEMMA/LOWER/ORTH value served from a
    hash index instead (most lexicon entries are single words; the Matcher tries every pattern
    at every token, the index costs one lookup per token and attribute). Same matches."""

    def __init__(self, vocab: Any, validate: bool = True) -> None:
        from spacy.matcher import Matcher

        self.vocab = vocab
        self.matcher = Matcher(vocab, validate=validate)
        self.index: dict[str, dict[int, list[int]]] = {}
        self._has_matcher = False
        self._keys: dict[str, Any] = {}

    def add(self, key: str, patterns: list[list[dict[str, Any]]]) -> None:
        key_id = self.vocab.strings.add(key)
        rest = []
        for pattern in patterns:
            for p in expand_first_token(pattern):
                spec = p[0] if len(p) == 1 else None
                if spec and len(spec) == 1:
                    (attr, value), = spec.items()
                    if attr.upper() in _INDEXABLE and isinstance(value, str):
                        value = value.lower() if attr.upper() in ("LEMMA", "LOWER") else value
                        table = self.index.setdefault(_INDEXABLE[attr.upper()], {})
                        table.setdefault(self.vocab.strings.add(value), []).append(key_id)
                        self._keys.pop(_INDEXABLE[attr.upper()], None)
                        continue
                rest.append(p)
        if rest:
            self.matcher.add(key, rest)
            self._has_matcher = True

    def __call__(self, doclike: Any) -> list[tuple[int, int, int]]:
        found: list[tuple[int, int, int]] = list(self.matcher(doclike)) if self._has_matcher else []
        if self.index and len(doclike):
            is_doc = hasattr(doclike, "vocab")
            doc = doclike if is_doc else doclike.doc
            offset = 0 if is_doc else doclike.start
            attrs = list(self.index)
            array = doc.to_array([_ATTR_IDS[a] for a in attrs])
            if not is_doc:
                array = array[doclike.start:doclike.end]
            if array.ndim == 1:
                array = array.reshape(-1, 1)
            for col, attr in enumerate(attrs):
                table = self.index[attr]
                keys = self._keys.get(attr)
                if keys is None:
                    keys = self._keys[attr] = numpy.fromiter(table, dtype="uint64")
                for i in numpy.nonzero(numpy.isin(array[:, col], keys))[0].tolist():
                    found.extend((k, offset + i, offset + i + 1) for k in table[int(array[i, col])])
        found.sort(key=lambda m: (m[1], m[2]))
        return found
