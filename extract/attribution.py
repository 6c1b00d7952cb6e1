"""`insightkb_attribution`: entities named in each claim and who the text says made it.

Speakers come from the dependency parse of a sentence whose verb is a speech verb
("Misha Laskin, CEO of Reflection AI, states that ...", "An OpenAI employee warned that
...") or from "According to X, ...". Entities are the document's entities (NER on the
sentences that name something, plus the model-name ruler) inside the claim.
"""
from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from typing import Any

from spacy.attrs import ORTH
from spacy.language import Language
from spacy.strings import get_string_id
from spacy.tokens import Doc, Span, Token

from extract.claims import claims_of
from extract.focus import PARSES, SPEAKER_PARSES, speaker_parse_of
from extract.cues import CUES, cues_of
from extract.lexicon import read_jsonl

NUMERIC_LABELS = {"CARDINAL", "ORDINAL", "PERCENT", "MONEY", "QUANTITY", "DATE", "TIME"}
# a transcript turn printed in running text: "Jane Doe (00:12:31): ..." opening a paragraph or a sentence
_PAREN_COLON, _PAREN, _COLON = (get_string_id(t) for t in ("):", ")", ":"))
_TURN_HEADER = re.compile(r"(?:^|\n|(?<=[.!?\"”] ))[ \t]*([A-Z][\w.'’-]*(?: [A-Z][\w.'’-]*){0,3}) \((?:\d{1,2}:)?\d{1,2}:\d{2}\):\s")


@Language.factory("insightkb_attribution", default_config={"lexicon": "attribution.jsonl"})
def make_attribution(nlp: Language, name: str, lexicon: str) -> "Attribution":
    return Attribution(lexicon)


class Attribution:
    """Fill `entities` and `speaker` of every claim, then drop the per-sentence parses."""

    def __init__(self, lexicon: str) -> None:
        # `word_set` rows of the lexicon: subjects that name nobody ("we", "people"), and the
        # quantifiers cut off the front of a speaker ("several analysts" -> "analysts")
        sets = {row["name"]: frozenset(w.lower() for w in row["words"])
                for row in read_jsonl(lexicon) if row.get("kind") == "word_set"}
        self.not_speakers = sets["not_speakers"]
        self.quantifiers = sets["speaker_quantifiers"]
        self.not_turn_names = sets["not_turn_names"]

    def __call__(self, doc: Doc) -> Doc:
        claims = claims_of(doc)
        speech, roles = [], set()
        for kind, _topic, _polarity, s, e in cues_of(doc):
            if kind == "speech":
                speech.append((s, e))
            elif kind == "role":
                roles.update(range(s, e))
        self.roles = roles
        ents = [e for e in doc.ents if e.label_ not in NUMERIC_LABELS]
        ent_starts = [e.start for e in ents]
        # doc.text is rebuilt from the tokens on every access: built once, and only when a token
        # sequence of a turn header ("):" or ")" ":") is there
        text = doc.text if _may_have_turns(doc) else ""
        turns = turn_headers(text) if text else []
        for claim in claims:
            first = bisect_left(ent_starts, claim["start"])
            claim["entities"] = []
            for e in ents[first:]:
                if e.start >= claim["end"]:
                    break
                if e.end <= claim["end"]:
                    claim["entities"].append(
                        {"text": e.text, "label": e.label_, "start_char": e.start_char, "end_char": e.end_char})
            claim["speaker"] = self.speaker(doc, claim, speech) or (
                turn_speaker(text, turns, claim["start_char"], self.not_turn_names) if turns else None)
        doc.user_data.pop(PARSES, None)
        doc.user_data.pop(SPEAKER_PARSES, None)
        doc.user_data.pop(CUES, None)  # used up; not worth sending back from worker processes
        return doc

    def speaker(self, doc: Doc, claim: dict[str, Any], speech: list[tuple[int, int]]) -> str | None:
        for sent_start, sent_end in claim["sents"]:
            parsed = speaker_parse_of(doc, sent_start)
            if parsed is None:
                continue
            for start, end in speech[bisect_left(speech, (sent_start, 0)):]:
                if start >= sent_end:
                    break
                if start - sent_start >= len(parsed):
                    continue
                tok = parsed[start - sent_start]
                if tok.lower_ == "according":
                    head = _according_to(tok)
                else:
                    head = _subject_of(tok)
                if head is not None and self._names_someone(head, sent_start - parsed.start):
                    name = _clean(head, self.not_speakers, self.quantifiers)
                    if name:
                        return name
        return None

    def _names_someone(self, head: Token, offset: int) -> bool:
        """A named subject (capitalised words, an entity) or a role ("employee", "CEO", "guest")."""
        words = [t for t in head.subtree if t.dep_ not in ("appos", "punct")]
        if any(offset + t.i in self.roles for t in head.subtree):
            return True
        return head.is_title and not head.is_sent_start or any(
            t.is_title and not t.is_sent_start for t in words if t.head is head and t.dep_ == "compound"
        ) or (head.is_title and head.text.lower() not in self.not_speakers and head.is_sent_start
              and len(words) > 1 and words[1].is_title)


def _may_have_turns(doc: Doc) -> bool:
    """Whether the tokens hold the close of a timestamped header: "):" (one token or two)."""
    orths = doc.to_array(ORTH)
    return bool(len(orths)) and bool((orths == _PAREN_COLON).any() or (
        (orths[:-1] == _PAREN) & (orths[1:] == _COLON)).any())


def turn_headers(text: str) -> list[tuple[int, str]]:
    """(offset, name) of every timestamped turn header ("Jane Doe (00:12:31): ") in the text."""
    return [(m.start(1), m.group(1)) for m in _TURN_HEADER.finditer(text)]


def turn_speaker(text: str, turns: list[tuple[int, str]], at: int, not_names: frozenset[str]) -> str | None:
    """The speaker of the turn a claim starting at `at` belongs to: the last header before it in
    the same paragraph (a blank line ends a turn), unless it is a heading word ("Update (12:30):")."""
    i = bisect_right(turns, (at, "\uffff")) - 1
    if i < 0 or "\n\n" in text[turns[i][0]:at] or turns[i][1].lower() in not_names:
        return None
    return turns[i][1]


def _according_to(tok: Token) -> Token | None:
    for child in tok.subtree:
        if child.dep_ == "pobj":
            return child
    return None


def _subject_of(verb: Token) -> Token | None:
    if verb.dep_ not in ("ROOT", "conj", "ccomp", "parataxis") and verb.head.dep_ != "ROOT":
        return None
    for child in verb.children:
        if child.dep_ in ("nsubj", "nsubjpass"):
            return child
    return None


def _clean(head: Token, not_speakers: frozenset[str], quantifiers: frozenset[str]) -> str | None:
    """The name part of a subject: "An OpenAI employee" -> "OpenAI employee"; appositions dropped."""
    if head.lower_ in not_speakers or head.pos_ == "PRON":
        return None
    cut = {t.i for child in head.children if child.dep_ in ("appos", "relcl", "acl", "punct")
           for t in child.subtree}
    words = [t for t in head.subtree if t.i not in cut]
    while words and words[0].i != head.i and (words[0].dep_ in ("det", "poss", "nummod", "predet")
                                               or words[0].dep_ == "amod" and words[0].lower_ in quantifiers):
        words = words[1:]
    comma = next((t.i for t in head.subtree if t.i > head.i and t.text == ","), None)
    if comma is not None and (head.is_title or head.pos_ == "PROPN"):
        words = [t for t in words if t.i < comma]  # "Priya Natarajan, head of ML at Ledgerly": the name only
    if not words:
        return None
    span: Span = head.doc[words[0].i: words[-1].i + 1]
    text = span.text.strip(" ,")
    return text or None
