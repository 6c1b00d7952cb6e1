"""`insightkb_cues`: find every stance and attribution cue once, for the steps after it.

Negators, concessions, endorsing/rejecting verbs, topic cues, hedges (data/stance_lexicon.jsonl)
and speech verbs and roles (data/attribution.jsonl) are matched in one pass. `insightkb_focus`
uses them to decide which sentences need a parse, `insightkb_stance` and
`insightkb_attribution` read them instead of matching again.
"""
from __future__ import annotations

from typing import Any

from spacy.language import Language
from spacy.tokens import Doc

from extract.lexicon import FastMatcher, read_jsonl

CUES = "insightkb_cues"
SIGN = {"supports": 1, "opposes": -1}


@Language.factory("insightkb_cues", default_config={"lexicons": ["stance_lexicon.jsonl", "attribution.jsonl"]})
def make_cues(nlp: Language, name: str, lexicons: list[str]) -> "CueFinder":
    return CueFinder(nlp, lexicons)


def cues_of(doc: Doc) -> list[list[Any]]:
    """[kind, topic or None, polarity, start, end] for every cue in `doc`, by start."""
    return doc.user_data.get(CUES, [])


class CueFinder:
    """Match every lexicon entry that has a pattern; store the matches on the doc."""

    def __init__(self, nlp: Language, lexicons: list[str]) -> None:
        self.strings = nlp.vocab.strings
        self.matcher = FastMatcher(nlp.vocab, validate=True)
        self.meta: dict[str, list[Any]] = {}
        for path in lexicons:
            for i, row in enumerate(read_jsonl(path)):
                if "pattern" not in row:
                    continue
                polarity = SIGN.get(row.get("stance", ""), 0)
                if row["kind"] in ("evaluative", "trend"):
                    polarity = 1 if row.get("valence") == "positive" else -1
                key = f"{path}:{i}"
                self.meta[key] = [row["kind"], row.get("topic"), polarity]
                self.matcher.add(key, [row["pattern"]])

    def __call__(self, doc: Doc) -> Doc:
        if not doc.user_data.get("insightkb_claims"):
            doc.user_data[CUES] = []
            return doc
        doc.user_data[CUES] = [
            [*self.meta[self.strings[match_id]], start, end] for match_id, start, end in self.matcher(doc)
        ]
        return doc
