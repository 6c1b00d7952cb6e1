"""Find and read the pattern and lexicon files shipped in extract/data/."""
from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import numpy
import srsly
from spacy.attrs import LEMMA, LOWER, ORTH
from spacy.tokens import Doc


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
    token is such a value run only where that value occurs, grouped by it (AnchoredMatcher).
    Patterns of any other shape go to a plain Matcher over the whole text. Same matches, for
    a whole Doc.
    """

    def __init__(self, vocab: Any, validate: bool = True) -> None:
        from spacy.matcher import Matcher

        self.vocab = vocab
        self.matcher = Matcher(vocab, validate=validate)  # patterns that need a full scan
        self.anchored = AnchoredMatcher(vocab)  # patterns that start with an exact value, by that value
        self.index: dict[str, dict[int, list[int]]] = {}
        self._has_matcher = False

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
                    anchored.append(p)
                else:
                    full.append(p)
        if full:
            self.matcher.add(key, full)
            self._has_matcher = True
        if anchored:
            self.anchored.add(key, anchored)

    def __call__(self, doc: Doc) -> list[tuple[int, int, int]]:
        """(match id, start, end) of every pattern in `doc`, by start, end, id, without duplicates."""
        found: list[tuple[int, int, int]] = list(self.matcher(doc)) if self._has_matcher else []
        if len(doc):
            found += self.anchored.scan(doc, self.index)
        return sorted(set(found), key=lambda m: (m[1], m[2], m[0]))


class AnchoredMatcher:
    """FastMatcher's patterns whose first token tests one exact value, one Matcher per value.

    spaCy's Matcher tries every pattern at every position of what it is given, so one Matcher
    holding all anchored patterns spends most of its time on patterns that cannot start
    there. Here each position whose value starts some pattern runs only those patterns, on
    [position, position + their longest). Same matches (a match found further on starts at
    another such position and is found there too; FastMatcher drops the duplicates).
    """

    def __init__(self, vocab: Any) -> None:
        self.vocab = vocab
        self.groups: dict[tuple[str, int], tuple[Any, int]] = {}  # (attr, value) -> (Matcher, longest)
        # (attr, value) -> the values the next token must have for any of the group's patterns to
        # match ({attr: values}), or None when that cannot be told (a wildcard, NOT_IN, a one-token pattern)
        self.follow: dict[tuple[str, int], dict[str, set[int]] | None] = {}
        self._prepared: tuple[list[str], dict[tuple[str, int], Any]] | None = None  # groups for scan's columns
        self._attrs_for: tuple[Any, list[str]] | None = None

    def add(self, key: str, patterns: list[list[dict[str, Any]]]) -> None:
        from spacy.matcher import Matcher

        for pattern in patterns:
            exact = _exact(pattern[0])
            assert exact is not None  # FastMatcher gives only anchored patterns here
            matcher, longest = self.groups.get(exact) or (Matcher(self.vocab, validate=True), 0)
            matcher.add(key, [pattern])
            self.groups[exact] = (matcher, max(longest, len(pattern)))
            self._prepared = None
            follow, nexts = self.follow.get(exact, {}), _next_values(pattern)
            if follow is None or nexts is None:
                self.follow[exact] = None
            else:
                for attr, values in nexts.items():
                    follow.setdefault(attr, set()).update(values)
                self.follow[exact] = follow

    def _attrs(self, index: dict[str, dict[int, list[int]]]) -> tuple[list[str], list[frozenset[int]]]:
        """The attributes the scan reads, and per attribute the values that start a match (a one-word
        index entry or a group), computed once per set of groups and index entries."""
        key = (len(self.groups), tuple((a, len(t)) for a, t in sorted(index.items())))
        if self._attrs_for is None or self._attrs_for[0] != key:
            attrs = sorted({attr for attr, _value in self.groups} | set(index))
            starts = [frozenset(index.get(a, {})) | {v for g, v in self.groups if g == a} for a in attrs]
            self._attrs_for = (key, (attrs, starts))
        return self._attrs_for[1]

    def scan(self, doc: Doc, index: dict[str, dict[int, list[int]]]) -> list[tuple[int, int, int]]:
        """The anchored matches in `doc`, plus (key, i, i + 1) for every one-word `index` entry."""
        attrs, starts = self._attrs(index)
        if not attrs:
            return []
        array = doc.to_array([_ATTR_IDS[a] for a in attrs]).reshape(len(doc), len(attrs))
        # only the positions whose value starts something are visited (set operations find them)
        hit: set[int] = set()
        for column, values in zip(array.T.tolist(), starts):
            wanted = values.intersection(column)
            if wanted:
                hit.update(i for i, v in enumerate(column) if v in wanted)
        if not hit:
            return []
        positions = sorted(hit)
        tables = [index.get(attr, {}) for attr in attrs]
        if self._prepared is None or self._prepared[0] != attrs:
            col = {a: k for k, a in enumerate(attrs)}
            self._prepared = (attrs, {key: (m, longest, _columns(self.follow.get(key), col))
                                      for key, (m, longest) in self.groups.items()})
        groups = self._prepared[1]
        n = len(doc)
        rows = array[positions].tolist()
        found: list[tuple[int, int, int]] = []
        for i, row in zip(positions, rows):
            following = None
            for attr, table, value in zip(attrs, tables, row):
                keys = table.get(value)
                if keys:
                    found.extend((k, i, i + 1) for k in keys)
                group = groups.get((attr, value))
                if group is not None:
                    matcher, longest, nexts = group
                    if nexts is not None:
                        if i + 1 == n:
                            continue
                        if following is None:
                            following = array[i + 1].tolist()
                        if not any(following[c] in v for c, v in nexts):
                            continue  # no pattern of the group can match: the next token is none they allow
                    found.extend((m, i + a, i + b) for m, a, b in matcher(doc[i:min(n, i + longest)]))
        return found


def _next_values(pattern: list[dict[str, Any]]) -> dict[str, set[int]] | None:
    """What the token after the first must be for `pattern` to match ({attr: hashed values}), or
    None when any token could do: optional tokens are skipped over (their values and the next
    required token's count), and a token tested otherwise than on one attribute's values gives up."""
    allowed: dict[str, set[int]] = {}
    for spec in pattern[1:]:
        op = spec.get("OP")
        rest = {k: v for k, v in spec.items() if k != "OP"}
        if op not in (None, "?") or len(rest) != 1:
            return None
        (attr, value), = rest.items()
        values = [value] if isinstance(value, str) else value.get("IN") if isinstance(value, dict) and set(value) == {"IN"} else None
        if attr.upper() not in _INDEXABLE or not values:
            return None
        # an exact ORTH implies that LOWER: checked on the lower-case column, which the scan reads anyway
        name = "lemma" if attr.upper() == "LEMMA" else "lower"
        allowed.setdefault(name, set()).update(_hash(v.lower()) for v in values)
        if op is None:
            return allowed
    return None  # every later token optional: the first token alone can match


def _columns(follow: dict[str, set[int]] | None, col: dict[str, int]) -> list[tuple[int, set[int]]] | None:
    """`follow` keyed by the scan's column numbers; None when it needs a column the scan lacks."""
    if not follow or any(attr not in col for attr in follow):
        return None
    return [(col[attr], values) for attr, values in follow.items()]


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
