"""`insightkb_focus`: run the statistical components only where a claim needs them.

The parser (negation scope, contrast, speaker) runs on claim sentences that hold a
negation, rejection, concession or speech cue; NER runs on claim sentences that name
something (a capitalised word that is not the sentence's first common word, not a model
name already found, not a common acronym). Each selected sentence is analysed as its own
small Doc, in batches; entities go back onto the document, parses are kept for the steps
after this one and dropped at the end of the pipeline.
"""
from __future__ import annotations

from typing import Any, Iterable

from spacy.lang.en.stop_words import STOP_WORDS
from spacy.language import Language
from spacy.matcher import Matcher
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from extract.claims import claims_of
from extract.lexicon import read_jsonl

PARSES = "insightkb_parses"
MODELS = "insightkb_models"
TOPICS = "insightkb_topics"


@Language.factory(
    "insightkb_focus",
    default_config={
        "parse_with": ["tok2vec", "parser"],
        "ner_with": ["ner"],
        "lexicons": ["stance_lexicon.jsonl", "attribution.jsonl"],
        "parse_kinds": ["negator", "reject", "contrast", "speech"],
        "common_caps": ["AI", "I"],
        "batch_size": 64,
    },
)
def make_focus(
    nlp: Language, name: str, parse_with: list[str], ner_with: list[str], lexicons: list[str],
    parse_kinds: list[str], common_caps: list[str], batch_size: int,
) -> "Focus":
    return Focus(nlp, parse_with, ner_with, lexicons, parse_kinds, common_caps, batch_size)


def parse_of(doc: Doc, sent_start: int) -> Doc | None:
    """The parsed copy of the claim sentence starting at token `sent_start`, if it was parsed."""
    return doc.user_data.get(PARSES, {}).get(sent_start)


class Focus:
    """Select claim sentences, analyse them with the disabled statistical components."""

    def __init__(self, nlp: Language, parse_with: list[str], ner_with: list[str], lexicons: list[str],
                 parse_kinds: list[str], common_caps: list[str], batch_size: int) -> None:
        self.nlp = nlp
        self.parse_with = parse_with
        self.ner_with = ner_with
        self.batch_size = batch_size
        self.common_caps = set(common_caps)
        self.triggers = Matcher(nlp.vocab, validate=True)
        for path in lexicons:
            for row in read_jsonl(path):
                if row.get("kind") in parse_kinds and "pattern" in row:
                    self.triggers.add(row["kind"], [row["pattern"]])
        self.parse_all = False  # the benchmark's quality check turns these on
        self.ner_all = False
        self._known: set[str] | None = None

    def _known_words(self) -> set[str]:
        """Common English words (lemma table forms and lemmas): a capitalised one opening a
        sentence is not taken for a name."""
        if self._known is None:
            table = self.nlp.get_pipe("insightkb_lemmatizer").table
            self._known = {str(v).lower() for v in table.values()}
        return self._known

    def _components(self, names: list[str]) -> list[Any]:
        return [self.nlp.get_pipe(n) for n in names]

    def __call__(self, doc: Doc) -> Doc:
        return next(iter(self.pipe([doc])))

    def pipe(self, docs: Iterable[Doc], batch_size: int | None = None) -> Iterable[Doc]:
        batch: list[Doc] = []
        for doc in docs:
            batch.append(doc)
            if len(batch) >= (batch_size or self.batch_size):
                yield from self._process(batch)
                batch = []
        if batch:
            yield from self._process(batch)

    def _process(self, docs: list[Doc]) -> list[Doc]:
        to_parse: list[tuple[Doc, int, Doc]] = []
        to_ner: list[tuple[Doc, int, Doc]] = []
        for doc in docs:
            doc.user_data[PARSES] = {}
            claims = claims_of(doc)
            if not claims:
                continue
            trigger_starts = {doc[s].sent.start for _m, s, _e in self.triggers(doc)} if not self.parse_all else None
            model_tokens = {t for span in doc.spans.get(MODELS, []) for t in range(span.start, span.end)}
            for claim in claims:
                for start, end in claim["sents"]:
                    sent = doc[start:end]
                    sub = None
                    if self.parse_all or start in trigger_starts:
                        sub = sent.as_doc()
                        to_parse.append((doc, start, sub))
                    if self.ner_all or self._names_something(sent, model_tokens):
                        to_ner.append((doc, start, sub if sub is not None else sent.as_doc()))
        if to_parse:
            subs = [s for _d, _st, s in to_parse]
            for proc in self._components(self.parse_with):
                subs = list(proc.pipe(subs, batch_size=self.batch_size))
            for (doc, start, _old), sub in zip(to_parse, subs):
                doc.user_data[PARSES][start] = sub
        if to_ner:
            subs = [doc.user_data[PARSES].get(start, s) for doc, start, s in to_ner]
            for proc in self._components(self.ner_with):
                subs = list(proc.pipe(subs, batch_size=self.batch_size))
            found: dict[int, list[Span]] = {}
            for (doc, start, _s), sub in zip(to_ner, subs):
                spans = found.setdefault(id(doc), [])
                for ent in sub.ents:
                    spans.append(Span(doc, start + ent.start, start + ent.end, label=ent.label_))
            for doc in docs:
                self._set_ents(doc, found.get(id(doc), []))
        else:
            for doc in docs:
                self._set_ents(doc, [])
        return docs

    @staticmethod
    def _set_ents(doc: Doc, ner_spans: list[Span]) -> None:
        models = [Span(doc, s.start, s.end, label=s.label_) for s in doc.spans.get(MODELS, [])]
        doc.set_ents(filter_spans(models + ner_spans), default="outside")

    def _names_something(self, sent: Span, model_tokens: set[int]) -> bool:
        first = True
        for token in sent:
            if token.is_space or token.is_punct:
                continue
            if first:
                first = False
                if token.lower_ in STOP_WORDS or not (token.is_title or token.is_upper):
                    continue
                if token.lower_ in self._known_words() and not token.is_upper:
                    continue
                if token.i in model_tokens or token.text in self.common_caps:
                    continue
                return True
            if token.i in model_tokens or token.text in self.common_caps:
                continue
            if token.is_title or (token.is_upper and len(token) > 1) or (token.like_num and not token.is_digit):
                return True
        return False
