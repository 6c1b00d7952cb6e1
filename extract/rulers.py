"""`insightkb_span_ruler`: SpanRuler-style patterns from a JSONL file into a span group.

Entries have the SpanRuler format ({"label", "id", "pattern"}); overlapping spans are kept.
Matching goes through `FastMatcher` (spaCy's Matcher plus a hash index for one-word
patterns), which is what keeps the topic and model rulers cheap on long texts. Topic
patterns carry the topic slug as `id`; editors add more through the KB's `topic_patterns`
table, which `build_nlp(topic_patterns=...)` loads instead of the shipped file.
"""
from __future__ import annotations

import re
from typing import Any

from spacy.attrs import ORTH
from spacy.language import Language
from spacy.tokens import Doc, Span

from extract.lexicon import _ATTR_IDS, FastMatcher, _exact, _hash, _INDEXABLE, expand_first_token, read_jsonl


@Language.factory(
    "insightkb_span_ruler",
    default_config={"spans_key": "insightkb_topics", "patterns": "topic_patterns.jsonl"},
)
def make_span_ruler(nlp: Language, name: str, spans_key: str, patterns: str) -> "PatternRuler":
    ruler = PatternRuler(nlp, spans_key)
    ruler.add_patterns(read_jsonl(patterns))
    return ruler


class PatternRuler:
    """Label every match of the patterns as a span in `doc.spans[spans_key]` (span id = entry id)."""

    def __init__(self, nlp: Language, spans_key: str) -> None:
        self.nlp = nlp
        self.spans_key = spans_key
        self.clear()

    def clear(self) -> None:
        self.matcher = FastMatcher(self.nlp.vocab, validate=True)
        self.matcher.matcher = WindowedMatcher(self.matcher.matcher)
        self.matcher.anchored = AnchoredMatcher(self.nlp.vocab)
        self.patterns: list[dict[str, Any]] = []
        self._labels: dict[int, tuple[str, str]] = {}

    def add_patterns(self, entries: list[dict[str, Any]]) -> None:
        for entry in entries:
            pattern = entry["pattern"]
            if isinstance(pattern, str):
                pattern = [{"LOWER": t.lower_} for t in self.nlp.make_doc(pattern) if not t.is_space]
            key = repr((entry["label"], entry.get("id", "")))
            self._labels[self.nlp.vocab.strings.add(key)] = (entry["label"], entry.get("id", ""))
            self.matcher.add(key, expand_first_token(pattern))
            self.patterns.append(entry)

    def __call__(self, doc: Doc) -> Doc:
        spans = []
        seen = set()
        for match_id, start, end in self._matches(doc):
            if (match_id, start, end) in seen:
                continue
            seen.add((match_id, start, end))
            label, span_id = self._labels[match_id]
            spans.append(Span(doc, start, end, label=label, span_id=span_id))
        doc.spans[self.spans_key] = spans
        return doc

    def _matches(self, doc: Doc) -> list[tuple[int, int, int]]:
        """What `self.matcher(doc)` gives, in one pass over the document: the anchored patterns
        and the one-word index looked up position by position instead of window by window."""
        fm = self.matcher
        found: list[tuple[int, int, int]] = list(fm.matcher(doc)) if fm._has_matcher else []
        if len(doc):
            found += fm.anchored.scan(doc, fm.index)
        return sorted(set(found), key=lambda m: (m[1], m[2], m[0]))


class WindowedMatcher:
    """A spaCy Matcher run only on windows that can hold a match.

    When every pattern's first token tests TEXT against a regex (no OP) and only its last token
    may repeat (`*`/`+`, TEXT regex only), just the tokens whose text matches one of those first
    regexes can start a match: the Matcher runs on merged windows [start, start + longest),
    stretched over a run of tokens the repeated token accepts, instead of on every token.
    Same matches; otherwise (or for a Span) it scans as the plain Matcher does. This is what
    keeps the model ruler's regex patterns (a Python call per token and pattern) cheap.
    """

    def __init__(self, matcher: Any) -> None:
        self.matcher = matcher
        self.firsts: list[re.Pattern[str]] = []
        self.longest = 0
        self.windowed = True
        self.tails: list[re.Pattern[str]] = []  # regexes of a repeated last token
        self._starts: dict[int, bool] = {}
        self._tail: dict[int, bool] = {}

    def __len__(self) -> int:
        return len(self.matcher)

    def add(self, key: str, patterns: list[list[dict[str, Any]]]) -> None:
        self.matcher.add(key, patterns)
        self._starts.clear()
        self._tail.clear()
        for pattern in patterns:
            first = pattern[0] if pattern else {}
            last = pattern[-1] if pattern else {}
            body = pattern[:-1] if last.get("OP") in ("*", "+") else pattern
            if (len(pattern) < 2 and last.get("OP")) or not _regex_of(first) or "OP" in first \
                    or any(t.get("OP") not in (None, "?") for t in body[1:]):
                self.windowed = False
                continue
            self.firsts.append(re.compile(_regex_of(first) or ""))
            self.longest = max(self.longest, len(body))
            if body is not pattern:
                tail = _regex_of(last)
                if tail is None or set(last) != {"TEXT", "OP"}:
                    self.windowed = False
                    continue
                self.tails.append(re.compile(tail))

    def __call__(self, doclike: Any) -> list[tuple[int, int, int]]:
        if not self.windowed or not hasattr(doclike, "vocab"):
            return list(self.matcher(doclike))
        doc = doclike
        strings = doc.vocab.strings
        orths = doc.to_array(ORTH).tolist()
        n = len(orths)
        starts, tail = self._starts, self._tail
        windows: list[list[int]] = []
        for i, orth in enumerate(orths):
            may = starts.get(orth)
            if may is None:
                may = starts[orth] = any(r.search(strings[orth]) for r in self.firsts)
            if not may:
                continue
            end = i + self.longest
            if self.tails:  # a repeated last token: the window takes the whole run
                j = i + 1
                while j < n:
                    more = tail.get(orths[j])
                    if more is None:
                        more = tail[orths[j]] = any(r.search(strings[orths[j]]) for r in self.tails)
                    if not more:
                        break
                    j += 1
                end = max(end, j)
            end = min(n, end)
            if windows and i < windows[-1][1]:
                windows[-1][1] = max(windows[-1][1], end)
            else:
                windows.append([i, end])
        found: list[tuple[int, int, int]] = []
        for start, end in windows:
            found.extend((m, start + a, start + b) for m, a, b in self.matcher(doc[start:end]))
        return found


class AnchoredMatcher:
    """FastMatcher's Matcher for patterns whose first token tests one exact value, split by that value.

    spaCy's Matcher tries every pattern at every position of what it is given, so one Matcher
    holding all anchored topic patterns spends most of its time on patterns that cannot start
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

    def __len__(self) -> int:
        return sum(len(m) for m, _n in self.groups.values())

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

    def scan(self, doc: Doc, index: dict[str, dict[int, list[int]]]) -> list[tuple[int, int, int]]:
        """The anchored matches in `doc`, plus (key, i, i + 1) for every one-word `index` entry."""
        attrs = sorted({attr for attr, _value in self.groups} | set(index))
        if not attrs:
            return []
        array = doc.to_array([_ATTR_IDS[a] for a in attrs]).reshape(len(doc), len(attrs)).tolist()
        tables = [index.get(attr, {}) for attr in attrs]
        if self._prepared is None or self._prepared[0] != attrs:
            col = {a: k for k, a in enumerate(attrs)}
            self._prepared = (attrs, {key: (m, longest, _columns(self.follow.get(key), col))
                                      for key, (m, longest) in self.groups.items()})
        groups = self._prepared[1]
        n = len(doc)
        found: list[tuple[int, int, int]] = []
        for i, row in enumerate(array):
            for attr, table, value in zip(attrs, tables, row):
                keys = table.get(value)
                if keys:
                    found.extend((k, i, i + 1) for k in keys)
                group = groups.get((attr, value))
                if group is not None:
                    matcher, longest, nexts = group
                    if nexts is not None and (i + 1 == n or not any(array[i + 1][c] in v for c, v in nexts)):
                        continue  # no pattern of the group can match: the next token is none they allow
                    found.extend((m, i + a, i + b) for m, a, b in matcher(doc[i:min(n, i + longest)]))
        return found

    def __call__(self, doclike: Any) -> list[tuple[int, int, int]]:
        """(match id, start, end) relative to `doclike` (a Span or a Doc), as the Matcher gives them."""
        is_doc = hasattr(doclike, "vocab")
        doc = doclike if is_doc else doclike.doc
        lo, hi = (0, len(doc)) if is_doc else (doclike.start, doclike.end)
        if not self.groups or hi <= lo:
            return []
        attrs = sorted({attr for attr, _value in self.groups})
        array = doc.to_array([_ATTR_IDS[a] for a in attrs]).reshape(len(doc), len(attrs))[lo:hi].tolist()
        found: list[tuple[int, int, int]] = []
        groups = self.groups
        for k, row in enumerate(array):
            for attr, value in zip(attrs, row):
                group = groups.get((attr, value))
                if group is None:
                    continue
                matcher, longest = group
                start = lo + k
                found.extend((m, k + a, k + b) for m, a, b in matcher(doc[start:min(hi, start + longest)]))
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


def _regex_of(spec: dict[str, Any]) -> str | None:
    text = spec.get("TEXT")
    return text["REGEX"] if isinstance(text, dict) and set(text) == {"REGEX"} else None
