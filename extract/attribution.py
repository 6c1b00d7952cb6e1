"""`insightkb_attribution`: entities named in each claim and who the text says made it.

Speakers come from the dependency parse of a sentence whose verb is a speech verb
("Misha Laskin, CEO of Reflection AI, states that ...", "An OpenAI employee warned that
...") or from "According to X, ...". Entities are the document's entities (NER on the
sentences that name something, plus the model-name ruler) inside the claim.
"""
from __future__ import annotations

from typing import Any

from spacy.language import Language
from spacy.matcher import Matcher
from spacy.tokens import Doc, Span, Token

from extract.claims import claims_of
from extract.focus import PARSES, parse_of
from extract.lexicon import read_jsonl

NUMERIC_LABELS = {"CARDINAL", "ORDINAL", "PERCENT", "MONEY", "QUANTITY", "DATE", "TIME"}
_NOT_SPEAKERS = {"i", "we", "you", "he", "she", "they", "it", "this", "that", "some", "many", "most",
                 "others", "people", "everyone", "nobody", "who", "which", "what"}


@Language.factory("insightkb_attribution", default_config={"lexicon": "attribution.jsonl"})
def make_attribution(nlp: Language, name: str, lexicon: str) -> "Attribution":
    return Attribution(nlp, lexicon)


class Attribution:
    """Fill `entities` and `speaker` of every claim, then drop the per-sentence parses."""

    def __init__(self, nlp: Language, lexicon: str) -> None:
        self.matcher = Matcher(nlp.vocab, validate=True)
        for row in read_jsonl(lexicon):
            if row.get("kind") == "speech":
                self.matcher.add("speech", [row["pattern"]])

    def __call__(self, doc: Doc) -> Doc:
        claims = claims_of(doc)
        speech = [(s, e) for _m, s, e in self.matcher(doc)]
        for claim in claims:
            claim["entities"] = [
                {"text": e.text, "label": e.label_, "start_char": e.start_char, "end_char": e.end_char}
                for e in doc.ents
                if claim["start"] <= e.start and e.end <= claim["end"] and e.label_ not in NUMERIC_LABELS
            ]
            claim["speaker"] = self.speaker(doc, claim, speech)
        doc.user_data.pop(PARSES, None)
        return doc

    def speaker(self, doc: Doc, claim: dict[str, Any], speech: list[tuple[int, int]]) -> str | None:
        for sent_start, sent_end in claim["sents"]:
            parsed = parse_of(doc, sent_start)
            if parsed is None:
                continue
            for start, end in speech:
                if not (sent_start <= start < sent_end):
                    continue
                tok = parsed[start - sent_start]
                if tok.lower_ == "according":
                    name = _according_to(tok)
                else:
                    name = _subject_of(tok)
                if name:
                    return name
        return None


def _according_to(tok: Token) -> str | None:
    for child in tok.subtree:
        if child.dep_ == "pobj":
            return _clean(child)
    return None


def _subject_of(verb: Token) -> str | None:
    if verb.dep_ not in ("ROOT", "conj", "ccomp", "parataxis") and verb.head.dep_ != "ROOT":
        return None
    for child in verb.children:
        if child.dep_ in ("nsubj", "nsubjpass"):
            return _clean(child)
    return None


def _clean(head: Token) -> str | None:
    """The name part of a subject: "An OpenAI employee" -> "OpenAI employee"; appositions dropped."""
    if head.lower_ in _NOT_SPEAKERS or head.pos_ == "PRON":
        return None
    cut = {t.i for child in head.children if child.dep_ in ("appos", "relcl", "acl", "prep", "punct")
           for t in child.subtree}
    words = [t for t in head.subtree if t.i not in cut and t.dep_ not in ("det", "poss", "punct") or t.i == head.i]
    words = [t for t in words if not (t.dep_ == "det")]
    if not words:
        return None
    span: Span = head.doc[words[0].i: words[-1].i + 1]
    text = span.text.strip(" ,")
    return text or None
