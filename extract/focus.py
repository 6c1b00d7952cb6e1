"""`insightkb_focus`: run the statistical components only where a claim needs them.

The parser (negation scope, contrast) runs on the claim sentences that carry a topic and a
negation, rejection or concession cue with another cue after it (scopes run rightward). For
the speaker alone it runs on the sentence's beginning, up to a few words past a reporting verb
that may name someone ("Misha Laskin, CEO of Reflection AI, states that"). NER runs on windows of
a few tokens around name-like words (capitalised, not a common word opening the sentence,
not a model name already found, not a common acronym such as AI), wider than the NER
model's receptive field. The selected pieces of one document go through the components as
one Doc with preset sentence starts; entities go back onto the document, parses are kept
for the steps after this one and dropped at the end of the pipeline.
"""
from __future__ import annotations

from bisect import bisect_right
from typing import Any, Iterable

import numpy
from spacy.attrs import IS_PUNCT, IS_SPACE, IS_TITLE, IS_UPPER, LOWER, ORTH, SENT_START, SPACY
from spacy.lang.en.stop_words import STOP_WORDS
from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from extract.claims import claims_of
from extract.cues import cues_of

PARSES = "insightkb_parses"
SPEAKER_PARSES = "insightkb_speaker_parses"
MODELS = "insightkb_models"
TOPICS = "insightkb_topics"
_SCOPED = {"cue", "evaluative", "endorse", "reject", "recommend"}


@Language.factory(
    "insightkb_focus",
    default_config={
        "parse_with": ["tok2vec", "parser"],
        "ner_with": ["ner"],
        "parse_kinds": ["negator", "reject", "contrast", "ends", "distance"],
        "common_caps": ["AI", "I"],
        "batch_size": 64,
        "margin": 6,
    },
)
def make_focus(
    nlp: Language, name: str, parse_with: list[str], ner_with: list[str],
    parse_kinds: list[str], common_caps: list[str], batch_size: int, margin: int,
) -> "Focus":
    return Focus(nlp, parse_with, ner_with, parse_kinds, common_caps, batch_size, margin)


def parse_of(doc: Doc, sent_start: int) -> Span | None:
    """The parsed copy of the claim sentence starting at token `sent_start`, if it was parsed."""
    return doc.user_data.get(PARSES, {}).get(sent_start)


def speaker_parse_of(doc: Doc, sent_start: int) -> Span | None:
    """The parsed copy of the sentence, or of its beginning up to a little past its reporting
    verb when only the speaker needed a parse ("Misha Laskin, CEO of ..., states that ...")."""
    return parse_of(doc, sent_start) or doc.user_data.get(SPEAKER_PARSES, {}).get(sent_start)


class Focus:
    """Select claim sentences, analyse them with the disabled statistical components."""

    def __init__(self, nlp: Language, parse_with: list[str], ner_with: list[str],
                 parse_kinds: list[str], common_caps: list[str], batch_size: int, margin: int = 6) -> None:
        self.nlp = nlp
        self.parse_with = parse_with
        self.ner_with = ner_with
        self.batch_size = batch_size
        self.common_caps = set(common_caps)
        self.margin = margin
        self.strings = nlp.vocab.strings
        self.parse_kinds = set(parse_kinds)
        self.parse_all = False  # the benchmark's quality check turns these on
        self.ner_all = False
        self._known: set[str] | None = None
        self._known_ids: set[int] | None = None
        self._stop_ids = {self.strings.add(w) for w in STOP_WORDS}
        self._common_ids = {self.strings.add(w) for w in common_caps}

    def _known_words(self) -> set[str]:
        """Common English words (lemma table forms and lemmas): a capitalised one opening a
        sentence is not taken for a name."""
        if self._known is None:
            # From the table's own text, never from the StringStore: that grows with every text
            # a process reads, which made the answer depend on what the process had seen before.
            lemmatizer = self.nlp.get_pipe("insightkb_lemmatizer")
            self._known = {str(v).lower() for v in lemmatizer.table.values()} | {f.lower() for f in lemmatizer.forms}
        return self._known

    def _known_word_ids(self) -> set[int]:
        if self._known_ids is None:
            from spacy.strings import get_string_id

            self._known_ids = {get_string_id(w) for w in self._known_words()}
        return self._known_ids

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
        # One combined Doc per document and purpose (sentence boundaries preset), so the
        # statistical components see a few long docs instead of many one-sentence ones.
        to_parse: list[tuple[Doc, list[tuple[int, bool]], Doc]] = []
        to_ner: list[tuple[Doc, list[int], Doc]] = []
        for doc in docs:
            doc.user_data[PARSES] = {}
            doc.user_data[SPEAKER_PARSES] = {}
            claims = claims_of(doc)
            if not claims:
                continue
            sent_of = _sentence_index(doc)
            topic_sents = {sent_of[span.start] for span in doc.spans.get(TOPICS, [])}
            trigger_starts: set[int] = set()
            speech_until: dict[int, int] = {}  # sentence start -> end of the part the speaker needs
            if not self.parse_all:
                triggers: dict[int, set[int]] = {}
                relevant: dict[int, set[int]] = {}
                cues = cues_of(doc)
                roles = {t for kind, _tp, _p, s, e in cues if kind == "role" for t in range(s, e)}
                for kind, _topic, _polarity, s, e in cues:
                    sent = sent_of[s]
                    reach = _speaker_reach(doc, sent, s, e, roles, self.common_caps) if kind == "speech" else None
                    if reach is not None:
                        speech_until[sent] = max(speech_until.get(sent, 0), reach)
                    if kind in self.parse_kinds and sent in topic_sents:
                        triggers.setdefault(sent, set()).add(s)
                    if kind in _SCOPED:
                        relevant.setdefault(sent, set()).add(s)
                for sent, where in triggers.items():
                    # a scope matters only if another cue of the sentence could fall in it: one after
                    # the negator, rejecting verb or turn (scopes run rightward)
                    if {r for r in relevant.get(sent, set()) - where if r > min(where)} or len(where) > 1:
                        trigger_starts.add(sent)
            model_tokens = {t for span in doc.spans.get(MODELS, []) for t in range(span.start, span.end)}
            columns = None if self.ner_all else doc.to_array([IS_SPACE, IS_PUNCT, IS_TITLE, IS_UPPER, LOWER, ORTH]).T.tolist()
            parse_spans: list[Span] = []
            whole: list[bool] = []
            ner_spans: list[Span] = []
            for claim in claims:
                for start, end in claim["sents"]:
                    sent = doc[start:end]
                    if self.parse_all or start in trigger_starts:
                        parse_spans.append(sent)
                        whole.append(True)
                    elif start in speech_until:
                        parse_spans.append(doc[start:min(end, speech_until[start])])
                        whole.append(False)
                    if self.ner_all:
                        ner_spans.append(sent)
                    else:
                        ner_spans += self._name_windows(sent, model_tokens, columns)
            if parse_spans:
                to_parse.append((doc, list(zip([sp.start for sp in parse_spans], whole)), _combine(parse_spans)))
            if ner_spans:
                to_ner.append((doc, [sp.start for sp in ner_spans], _combine(ner_spans)))
        if to_parse:
            subs = [c for _d, _st, c in to_parse]
            for proc in self._components(self.parse_with):
                subs = list(proc.pipe(subs, batch_size=self.batch_size))
            for (doc, starts, _old), combined in zip(to_parse, subs):
                for (start, is_whole), sent in zip(starts, _pieces(combined)):
                    doc.user_data[PARSES if is_whole else SPEAKER_PARSES][start] = sent
        found: dict[int, list[Span]] = {}
        if to_ner:
            subs = [c for _d, _st, c in to_ner]
            for proc in self._components(self.ner_with):
                subs = list(proc.pipe(subs, batch_size=self.batch_size))
            for (doc, starts, _old), combined in zip(to_ner, subs):
                spans = found.setdefault(id(doc), [])
                pieces = _pieces(combined)
                piece_starts = [p.start for p in pieces]
                for ent in combined.ents:
                    k = bisect_right(piece_starts, ent.start) - 1
                    piece = pieces[k]
                    if ent.end > piece.end:
                        continue
                    base = starts[k] - piece.start
                    spans.append(Span(doc, base + ent.start, base + ent.end, label=ent.label_))
        for doc in docs:
            self._set_ents(doc, found.get(id(doc), []))
        return docs

    @staticmethod
    def _set_ents(doc: Doc, ner_spans: list[Span]) -> None:
        models = [Span(doc, s.start, s.end, label=s.label_) for s in doc.spans.get(MODELS, [])]
        doc.set_ents(filter_spans(models + ner_spans), default="outside")

    def _name_windows(self, sent: Span, model_tokens: set[int], columns: list[list[int]]) -> list[Span]:
        """Pieces of the sentence around words that look like names, `margin` tokens either side
        (more than the NER model's receptive field), merged where they overlap."""
        margin = self.margin
        windows: list[list[int]] = []
        for i in self._name_like(sent.start, sent.end, model_tokens, columns):
            lo, hi = max(sent.start, i - margin), min(sent.end, i + margin + 1)
            if windows and lo <= windows[-1][1]:
                windows[-1][1] = max(windows[-1][1], hi)
            else:
                windows.append([lo, hi])
        return [sent.doc[lo:hi] for lo, hi in windows]

    def _name_like(self, lo: int, hi: int, model_tokens: set[int], columns: list[list[int]]) -> Iterable[int]:
        """Tokens lo..hi that look like names: capitalised (a sentence's first word only when it is
        not a common word), not a model name already found, not a common acronym such as AI.
        `columns` are the doc's IS_SPACE, IS_PUNCT, IS_TITLE, IS_UPPER, LOWER, ORTH arrays."""
        space, punct, title, upper, lower, orth = columns
        first = True
        for i in range(lo, hi):
            if space[i] or punct[i]:
                continue
            if first:
                first = False
                if lower[i] in self._stop_ids or not (title[i] or upper[i]):
                    continue
                if lower[i] in self._known_word_ids() and not upper[i]:
                    continue
                if i in model_tokens or orth[i] in self._common_ids:
                    continue
                yield i
                continue
            if i in model_tokens or orth[i] in self._common_ids:
                continue
            if orth[i] != lower[i]:
                yield i


def _speaker_reach(doc: Doc, sent_start: int, cue_start: int, cue_end: int, roles: set[int],
                   common_caps: set[str]) -> int | None:
    """Where the part of the sentence a speech cue's speaker needs ends (a parse of the sentence up
    to there finds it), or None when the cue names nobody worth a parse. Someone is named by a
    role word ("CEO", "analysts") or a capitalised word (not just the sentence's first one, not a
    common acronym such as AI) before the verb, right after it ("..., says Jonas Berg, a partner
    at ..."), or after "according to". "We think ...", "Note that ...", "Some argue ..." and "AI
    vendors say ..." name nobody the attribution step would keep."""
    if doc[cue_start].lower_ == "according":
        ranges, reach = [range(cue_end, min(len(doc), cue_end + 8))], cue_end + 8
    else:
        ranges, reach = [range(sent_start, cue_start), range(cue_end, min(len(doc), cue_end + 1))], cue_end + 3
    for i in (i for r in ranges for i in r):
        if i in roles:
            return reach
        token = doc[i]
        if token.text in common_caps:
            continue
        if token.is_title and (i > sent_start or (i + 1 < len(doc) and doc[i + 1].is_title)):
            return reach
    return None


def _sentence_index(doc: Doc) -> list[int]:
    """For every token, the index of the first token of its sentence."""
    if not len(doc):
        return []
    starts = doc.to_array([SENT_START]).reshape(-1).astype("int64")  # 1 starts a sentence
    first = numpy.where(starts == 1, numpy.arange(len(doc)), 0)
    return numpy.maximum.accumulate(first).tolist()


def _combine(spans: list[Span]) -> Doc:
    """Sentences of one document as one new Doc, each starting a sentence (O(total length))."""
    doc = spans[0].doc
    orth, spacy = doc.to_array([ORTH, SPACY]).T.tolist()
    strings = doc.vocab.strings
    words: list[str] = []
    spaces: list[bool] = []
    starts: list[bool] = []
    for span in spans:
        lo, hi = span.start, span.end
        words += [strings[o] for o in orth[lo:hi]]
        spaces += [bool(x) for x in spacy[lo:hi]]
        starts += [True] + [False] * (hi - lo - 1)
        spaces[-1] = True
    return Doc(doc.vocab, words=words, spaces=spaces, sent_starts=starts)


def _pieces(combined: Doc) -> list[Span]:
    """The sentences `_combine` put together, as spans of the combined Doc."""
    starts = combined.to_array([SENT_START]).reshape(-1).tolist()
    bounds = [i for i, x in enumerate(starts) if x == 1] + [len(combined)]
    return [combined[a:b] for a, b in zip(bounds, bounds[1:])]
