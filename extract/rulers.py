"""`insightkb_span_ruler`: a SpanRuler whose patterns come from a JSONL file (plus extra ones).

Topic patterns carry the topic slug as `id`; editors add more through the KB's
`topic_patterns` table, which `build_nlp(extra_topic_patterns=...)` appends.
"""
from __future__ import annotations

from spacy.language import Language
from spacy.pipeline import SpanRuler

from extract.lexicon import read_jsonl


@Language.factory(
    "insightkb_span_ruler",
    default_config={"spans_key": "insightkb_topics", "patterns": "topic_patterns.jsonl", "phrase_matcher_attr": "LOWER"},
)
def make_span_ruler(nlp: Language, name: str, spans_key: str, patterns: str, phrase_matcher_attr: str) -> SpanRuler:
    ruler = SpanRuler(
        nlp, name, spans_key=spans_key, annotate_ents=False, overwrite=True,
        phrase_matcher_attr=phrase_matcher_attr, validate=True,
    )
    ruler.add_patterns(read_jsonl(patterns))
    return ruler
