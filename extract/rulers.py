"""`insightkb_span_ruler`: SpanRuler-style patterns from a JSONL file into a span group;
`insightkb_topic_ruler`: the same, fed with the patterns of the topic records.

Entries have the SpanRuler format ({"label", "id", "pattern"}); overlapping spans are kept.
Matching goes through `FastMatcher` (spaCy's Matcher plus a hash index for one-word
patterns), which is what keeps the topic and model rulers cheap on long texts. Topic
patterns come from the topic records (kb/data/topics.jsonl as shipped; the KB's topics, editors'
patterns included, through `build_nlp(topics=...)`) and carry the topic slug as `id`.
"""
from __future__ import annotations

import re
from typing import Any

from spacy.attrs import ORTH
from spacy.language import Language
from spacy.tokens import Doc, Span

from kb.topics import shipped_topics

from extract.lexicon import FastMatcher, expand_first_token, read_jsonl

TOPIC_LABEL = "TOPIC"
EDITOR_TOPIC_LABEL = "TOPIC_EDITOR"  # an editor's own pattern: the learned heads never drop its tag


@Language.factory(
    "insightkb_span_ruler",
    default_config={"spans_key": "insightkb_models", "patterns": "model_patterns.jsonl"},
)
def make_span_ruler(nlp: Language, name: str, spans_key: str, patterns: str) -> "PatternRuler":
    ruler = PatternRuler(nlp, spans_key)
    ruler.add_patterns(read_jsonl(patterns))
    return ruler


@Language.factory("insightkb_topic_ruler", default_config={"spans_key": "insightkb_topics"})
def make_topic_ruler(nlp: Language, name: str, spans_key: str) -> "PatternRuler":
    ruler = PatternRuler(nlp, spans_key)
    ruler.add_patterns(topic_entries(shipped_topics()))
    return ruler


def topic_entries(topics: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The patterns of topic records as SpanRuler entries (id = topic slug), shipped ones first."""
    return [{"label": label, "id": topic["slug"], "pattern": pattern}
            for topic in topics
            for label, key in ((TOPIC_LABEL, "patterns"), (EDITOR_TOPIC_LABEL, "editor_patterns"))
            for pattern in topic.get(key) or []]


class PatternRuler:
    """Label every match of the patterns as a span in `doc.spans[spans_key]` (span id = entry id)."""

    def __init__(self, nlp: Language, spans_key: str) -> None:
        self.nlp = nlp
        self.spans_key = spans_key
        self.clear()

    def clear(self) -> None:
        self.matcher = FastMatcher(self.nlp.vocab, validate=True)
        self.matcher.matcher = WindowedMatcher(self.matcher.matcher)
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
        for match_id, start, end in self.matcher(doc):  # each match once
            label, span_id = self._labels[match_id]
            spans.append(Span(doc, start, end, label=label, span_id=span_id))
        doc.spans[self.spans_key] = spans
        return doc

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


def _regex_of(spec: dict[str, Any]) -> str | None:
    text = spec.get("TEXT")
    return text["REGEX"] if isinstance(text, dict) and set(text) == {"REGEX"} else None
