"""`insightkb_span_ruler`: SpanRuler-style patterns from a JSONL file into a span group.

Entries have the SpanRuler format ({"label", "id", "pattern"}); overlapping spans are kept.
Matching goes through `FastMatcher` (spaCy's Matcher plus a hash index for one-word
patterns), which is what keeps the topic and model rulers cheap on long texts. Topic
patterns carry the topic slug as `id`; editors add more through the KB's `topic_patterns`
table, which `build_nlp(topic_patterns=...)` loads instead of the shipped file.
"""
from __future__ import annotations

from typing import Any

from spacy.language import Language
from spacy.tokens import Doc, Span

from extract.lexicon import FastMatcher, expand_first_token, read_jsonl


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
        for match_id, start, end in self.matcher(doc):
            if (match_id, start, end) in seen:
                continue
            seen.add((match_id, start, end))
            label, span_id = self._labels[match_id]
            spans.append(Span(doc, start, end, label=label, span_id=span_id))
        doc.spans[self.spans_key] = spans
        return doc
