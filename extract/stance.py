"""`insightkb_stance`: stance of each claim toward the proposition of each topic it is tagged with.

Cues come from data/stance_lexicon.jsonl: topic-specific cues (this word supports or
opposes that topic's proposition), evaluative words (good/bad, applied through the topic's
anchor: for `finetuning-obsolescence` praising fine-tuning opposes the proposition),
endorsing and rejecting verbs ("adopt", "favor" / "avoid", "resist") that act on the topic
words in their scope, negators that flip what they scope over, concessions ("Despite ...",
"Contrary to ...") whose clause counts little, turns ("but", "however") after which the
sentence counts more, hedges ("may", "often") that lower the score, and recommendations
("should") that raise it. Scopes come from the dependency parse where the sentence was
parsed (see `insightkb_focus`), else from the words up to the next clause break.
Every stance keeps the cue words that decided it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from spacy.language import Language
from spacy.matcher import Matcher
from spacy.tokens import Doc, Token

from extract.claims import claims_of
from extract.focus import parse_of
from extract.lexicon import read_jsonl

TOPICS = "insightkb_topics"
_SUBJECTS = {"nsubj", "nsubjpass", "csubj", "csubjpass", "expl"}
_BREAKS = {",", ";", ":", "—", "–", "(", ")", "but", "which", "while", "whereas", "because", "although", "though", "unlike"}
SIGN = {"supports": 1, "opposes": -1}
_ANAPHORS = {"it", "this", "that", "them", "these", "those"}


@dataclass
class Cue:
    kind: str
    start: int
    end: int
    topic: str | None = None
    polarity: int = 0


@Language.factory("insightkb_stance", default_config={"lexicon": "stance_lexicon.jsonl", "threshold": 0.5})
def make_stance(nlp: Language, name: str, lexicon: str, threshold: float) -> "StanceDetector":
    return StanceDetector(nlp, lexicon, threshold)


class StanceDetector:
    """Score supports/opposes/neutral per (claim, topic) from scoped cues."""

    def __init__(self, nlp: Language, lexicon: str, threshold: float) -> None:
        self.strings = nlp.vocab.strings
        self.matcher = Matcher(nlp.vocab, validate=True)
        self.meta: dict[str, dict[str, Any]] = {}
        self.anchor: dict[str, int] = {}
        self.threshold = threshold
        for i, row in enumerate(read_jsonl(lexicon)):
            kind = row["kind"]
            if kind == "anchor":
                self.anchor[row["topic"]] = SIGN[row["pro"]]
                continue
            key = f"{kind}:{i}"
            polarity = SIGN.get(row.get("stance", ""), 0)
            if kind == "evaluative":
                polarity = 1 if row.get("valence") == "positive" else -1
            self.meta[key] = {"kind": kind, "topic": row.get("topic"), "polarity": polarity}
            self.matcher.add(key, [row["pattern"]])

    def __call__(self, doc: Doc) -> Doc:
        claims = claims_of(doc)
        if not claims:
            return doc
        cues: list[Cue] = []
        for match_id, start, end in self.matcher(doc):
            meta = self.meta[self.strings[match_id]]
            cues.append(Cue(meta["kind"], start, end, meta["topic"], meta["polarity"]))
        hits: dict[str, list[tuple[int, int]]] = {}
        for span in doc.spans.get(TOPICS, []):
            hits.setdefault(span.id_, []).append((span.start, span.end))
        for claim in claims:
            in_claim = [c for c in cues if claim["start"] <= c.start < claim["end"]]
            for topic, spans in hits.items():
                topic_hits = [s for s in spans if claim["start"] <= s[0] < claim["end"]]
                if topic_hits:
                    claim["topics"][topic] = self.stance(doc, claim, topic, topic_hits, in_claim)
        return doc

    def stance(self, doc: Doc, claim: dict[str, Any], topic: str, topic_hits: list[tuple[int, int]],
               cues: list[Cue]) -> dict[str, Any]:
        anchor = self.anchor.get(topic, 1)
        total = 0.0
        hedges = 0
        reasons: list[str] = []
        topic_tokens = {i for s, e in topic_hits for i in range(s, e)}
        for sent_start, sent_end in claim["sents"]:
            scope = Scopes(doc, sent_start, sent_end, parse_of(doc, sent_start))
            in_sent = [c for c in cues if sent_start <= c.start < sent_end]
            negators = [c for c in in_sent if c.kind in ("negator", "reject")]
            concessions = [c for c in in_sent if c.kind == "contrast"]
            turns = [c for c in in_sent if c.kind == "turn" and c.start > sent_start + 1]
            recommend = any(c.kind == "recommend" for c in in_sent)
            hedges += sum(1 for c in in_sent if c.kind == "hedge")
            sent_topic = {i for i in topic_tokens if sent_start <= i < sent_end}
            earlier_topic = any(i < sent_start for i in topic_tokens)
            anaphors = {i for i in range(sent_start, sent_end) if doc[i].lower_ in _ANAPHORS}
            if (not sent_topic and earlier_topic and recommend and negators
                    and not any(c.kind == "cue" and c.topic == topic for c in in_sent)):
                # "Most of them shouldn't be.": a negated recommendation about the topic before
                total -= anchor * 1.2
                reasons.append(("+" if -anchor > 0 else "-") + doc[negators[0].start:negators[0].end].text + " (elided)")
            for cue in in_sent:
                if cue.kind == "cue" and cue.topic == topic:
                    polarity, weight = cue.polarity, 1.0
                elif cue.kind == "evaluative" and sent_topic:
                    polarity, weight = cue.polarity * anchor, 0.5
                elif cue.kind in ("endorse", "reject"):
                    reach = scope.of(cue, cue.kind)
                    if not (reach & sent_topic) and not (reach & anaphors and earlier_topic):
                        continue
                    polarity, weight = (anchor if cue.kind == "endorse" else -anchor), 1.0
                else:
                    continue
                text = doc[cue.start:cue.end].text
                negated_by = [n for n in negators if n is not cue and cue.start in scope.of(n, n.kind)]
                if negated_by:
                    polarity = -polarity
                    text = f"{doc[negated_by[0].start:negated_by[0].end].text} … {text}"
                if any(cue.start in scope.clause(c) for c in concessions):
                    weight *= 0.3
                    text = f"({text})"
                if turns and cue.start < turns[0].start:
                    weight *= 0.5
                elif turns:
                    weight *= 1.25
                if recommend:
                    weight *= 1.2
                total += polarity * weight
                reasons.append(("+" if polarity > 0 else "-") + text)
        if total >= self.threshold:
            stance = "supports"
        elif total <= -self.threshold:
            stance = "opposes"
        else:
            stance = "neutral"
        factor = 0.85 ** min(hedges, 2)
        score = 0.5 if stance == "neutral" else min(0.99, 0.55 + 0.15 * abs(total)) * factor
        if hedges:
            reasons.append(f"hedged x{hedges}")
        return {"stance": stance, "score": round(score, 3), "cues": reasons}


class Scopes:
    """Scopes of cue words in one sentence: from its parse when there is one, else a window."""

    def __init__(self, doc: Doc, start: int, end: int, parsed: Doc | None) -> None:
        self.doc = doc
        self.start = start
        self.end = end
        self.parsed = parsed

    def _tok(self, i: int) -> Token:
        assert self.parsed is not None
        return self.parsed[i - self.start]

    def of(self, cue: Cue, kind: str) -> set[int]:
        """Doc token indices that a negator, rejecting or endorsing cue acts on."""
        if self.parsed is None:
            return self._window(cue.end)
        tok = self._tok(cue.start)
        if kind in ("negator",) and tok.dep_ in ("neg", "advmod", "det", "preconj", "cc") or tok.lower_ in ("increasingly",):
            head = tok.head
        else:
            head = tok
        if tok.dep_ == "det":
            head = tok.head
        covered = {t.i for t in head.subtree}
        for child in head.children:
            if child.dep_ in _SUBJECTS:
                covered -= {t.i for t in child.subtree}
        for child in head.children:  # "not X but Y": Y is not negated
            if child.dep_ == "conj" and any(c.lower_ in ("but", "rather") for c in head.children if c.dep_ == "cc"):
                covered -= {t.i for t in child.subtree}
            if child.dep_ == "attr":
                for grand in child.children:
                    if grand.dep_ == "conj" and any(c.lower_ in ("but", "rather") for c in child.children):
                        covered -= {t.i for t in grand.subtree}
        covered.discard(tok.i)
        return {self.start + i for i in covered}

    def clause(self, cue: Cue) -> set[int]:
        """The concessive clause a contrast cue opens ("Despite ...", "Although ...")."""
        if self.parsed is None:
            return self._window(cue.end, stop_at_comma=True) | set(range(cue.start, cue.end))
        tok = self._tok(cue.start)
        root = tok.head if tok.dep_ == "mark" else tok
        return {self.start + t.i for t in root.subtree}

    def _window(self, after: int, stop_at_comma: bool = True) -> set[int]:
        out: set[int] = set()
        for i in range(after, self.end):
            if self.doc[i].lower_ in _BREAKS and i > after:
                break
            out.add(i)
        return out
