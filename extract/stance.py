"""`insightkb_stance`: stance of each claim toward the proposition of each topic it is tagged with.

Cues come from data/stance_lexicon.jsonl: topic-specific cues (this word supports or
opposes that topic's proposition), trends ("growing", "stalled") read through the direction
the topic's proposition claims (`rising` on its record), evaluative words (good/bad, applied through the topic's
`pro` direction: for `finetuning-obsolescence` praising fine-tuning opposes the proposition),
endorsing and rejecting verbs ("adopt", "favor" / "avoid", "resist") that act on the topic
words in their scope, negators that flip what they scope over, concessions ("Despite ...",
"Contrary to ...") whose clause counts little, turns ("but", "however") after which the
sentence counts more, hedges ("may", "often") that lower the score, and recommendations
("should") that raise it. Scopes come from the dependency parse where the sentence was
parsed (see `insightkb_focus`), else from the words up to the next clause break.
Every stance keeps the cue words that decided it.

Each cue kind has its rule in extract/stance_rules.py (`RULES`, each returning a vote) and every
vote passes the same modifiers (`MODIFIERS`); this module gathers the cues of a claim's sentences
and sums the votes. A topic's direction flags (`pro`, `evaluative`, `valence`, `rising`) come from
its topic record (kb/data/topics.jsonl, or the KB's topics through `use_topics`).
"""
from __future__ import annotations

from bisect import bisect_left
from typing import Any

from spacy.language import Language
from spacy.tokens import Doc

from kb.topics import shipped_topics

from extract.claims import claims_of
from extract.cues import cues_of
from extract.focus import parse_of
from extract.lexicon import read_jsonl
from extract.scopes import Cue, Scopes, superlative
from extract.stance_rules import MODIFIERS, RULES, Ballot, Sentence, TopicView

TOPICS = "insightkb_topics"
SIGN = {"supports": 1, "opposes": -1}
# the order cues vote in within a sentence: a cue's words count once, for the first that uses them
_PRIORITY = {"cue": 0, "reject": 1, "alternative": 1, "divert": 1, "move": 2, "endorse": 2, "recommend": 3,
             "evaluative": 4, "trend": 5}


@Language.factory("insightkb_stance", default_config={"lexicon": "stance_lexicon.jsonl", "threshold": 0.5})
def make_stance(nlp: Language, name: str, lexicon: str, threshold: float) -> "StanceDetector":
    return StanceDetector(nlp, lexicon, threshold)


class StanceDetector:
    """Score supports/opposes/neutral per (claim, topic) from scoped cues."""

    def __init__(self, nlp: Language, lexicon: str, threshold: float) -> None:
        self.threshold = threshold
        # word sets the scope rules read: concessive words ("despite", "although") and the quantifiers
        # that negate as an object ("few", "nothing"); `word_set` rows of the lexicon
        self.word_sets: dict[str, frozenset[str]] = {
            row["name"]: frozenset(w.lower() for w in row["words"])
            for row in read_jsonl(lexicon) if row["kind"] == "word_set"}
        self.use_topics(shipped_topics())

    def use_topics(self, topics: list[dict[str, Any]]) -> None:
        """Judge by the direction flags of these topic records (`kb.topics`); a topic without a
        record reads as pro "supports", not evaluative, no valence, no trend."""
        self.anchor = {t["slug"]: SIGN[t["pro"]] for t in topics if t.get("pro")}
        self.evaluative = {t["slug"] for t in topics if t.get("evaluative")}
        self.valence = {t["slug"] for t in topics if t.get("valence")}  # the general valence lexicon may judge them
        self.rising = {t["slug"]: SIGN[t["rising"]] for t in topics if t.get("rising")}

    def __call__(self, doc: Doc) -> Doc:
        claims = claims_of(doc)
        if not claims:
            return doc
        cues = [Cue(kind, start, end, topic, polarity) for kind, topic, polarity, start, end in cues_of(doc)
                if kind not in ("speech", "role")]
        cues.sort(key=lambda c: c.start)
        cue_starts = [c.start for c in cues]
        hits = sorted((span.start, span.end, span.id_) for span in doc.spans.get(TOPICS, []))
        hit_starts = [h[0] for h in hits]
        for claim in claims:
            lo, hi = claim["start"], claim["end"]
            in_claim = cues[bisect_left(cue_starts, lo):bisect_left(cue_starts, hi)]
            by_topic: dict[str, list[tuple[int, int]]] = {}
            for start, end, topic in hits[bisect_left(hit_starts, lo):bisect_left(hit_starts, hi)]:
                by_topic.setdefault(topic, []).append((start, end))
            for topic, topic_hits in by_topic.items():
                claim["topics"][topic] = self.stance(doc, claim, topic, topic_hits, in_claim)
        return doc

    def topic_view(self, topic: str, topic_hits: list[tuple[int, int]], cues: list[Cue]) -> TopicView:
        """The topic's flags and mentions in one claim.

        A mention that holds a `pole` pattern of the topic ("closed APIs" for open-weights) names the
        contrary pole: judging it counts reversed; its mention alone says nothing unless the pole row
        has a stance ("switch" asserts that switching happens)."""
        tokens = {i for s, e in topic_hits for i in range(s, e)}
        poles = [c for c in cues if c.kind == "pole" and c.topic == topic]
        contrary = {i for s, e in topic_hits if any(s <= c.start < e for c in poles) for i in range(s, e)}
        pole_starts = {c.start for c in cues if c.kind == "cue" and c.topic == topic and c.start in contrary
                       and any(c.start >= p.start and c.end <= p.end and p.polarity == 0 for p in poles)}
        return TopicView(topic, self.anchor.get(topic, 1), topic in self.evaluative, topic in self.valence,
                         self.rising.get(topic, 0), tokens, contrary, pole_starts)

    def sentence(self, doc: Doc, topic: TopicView, sent_start: int, sent_end: int, cues: list[Cue]) -> Sentence:
        """One sentence of the claim read for the topic: which cues vote, which negate, turn, concede."""
        scope = Scopes(doc, sent_start, sent_end, parse_of(doc, sent_start), self.word_sets)
        in_sent = [c for c in cues if sent_start <= c.start < sent_end]
        negators = [c for c in in_sent if c.kind in ("negator", "quantifier", "reject", "ends")
                    or (c.kind == "alternative" and c.polarity < 0)]  # "rather than X" turns X down
        negator_starts = {c.start for c in negators}
        turns = [c for c in in_sent if c.kind == "turn" and c.start > sent_start + 1
                 and c.start not in negator_starts]  # "has yet to" negates, it does not turn
        scope.cuts = sorted(c.start for c in in_sent if c.kind == "alternative")
        inside_alternative = {i for c in in_sent if c.kind == "alternative" for i in range(c.start + 1, c.end)}
        voting = [c for c in in_sent if c.start not in inside_alternative]  # "favor" of "in favor of"
        voting = [c for c in voting if not superlative(doc, c)]
        idioms = {i for c in voting if c.kind == "idiom" for i in range(c.start, c.end)}
        if idioms:  # "for what it is worth", "worth noting": set phrases, not judgements
            voting = [c for c in voting if c.start not in idioms]
        sent_topic = {i for i in topic.tokens if sent_start <= i < sent_end}
        sent_pro, sent_con = sent_topic - topic.contrary, sent_topic & topic.contrary
        # "fine-tuning rarely beats good prompting": the comparison decides; the loser's own cue does not
        compared = {i for c in voting if c.kind == "defeat" and topic.evaluative
                    and (scope.defeat_side(c, sent_pro) or scope.defeat_side(c, sent_con))
                    for i in scope._window(c.end, stop_at_comma=True)}
        voting.sort(key=lambda c: _PRIORITY.get(c.kind, 9))
        return Sentence(
            doc=doc, scope=scope, topic=topic, cues=voting, negators=negators,
            distancing=[c for c in in_sent if c.kind == "distance"],
            concessions=[c for c in in_sent if c.kind == "contrast"],
            turns=turns, leaves=[c for c in in_sent if c.kind == "leave"],
            recommend=any(c.kind == "recommend" for c in voting),
            sent_topic=sent_topic, sent_pro=sent_pro, sent_con=sent_con,
            # "X saved memory, but our summaries started dropping negations": when the topic is named only
            # before the turn, the good or bad said after it (outside a relative clause) is said of the topic
            after_turn=bool(turns) and bool(sent_topic) and max(sent_topic) < turns[0].start,
            pole=1 if sent_pro else -1,  # when only the contrary pole is named, judging it counts reversed
            earlier_topic=any(i < sent_start for i in topic.tokens),
            compared=compared,
        )

    def stance(self, doc: Doc, claim: dict[str, Any], topic: str, topic_hits: list[tuple[int, int]],
               cues: list[Cue]) -> dict[str, Any]:
        """The claim's stance toward the topic's proposition: every cue's vote through `RULES`,
        reweighed by `MODIFIERS`, summed over the claim's sentences."""
        view = self.topic_view(topic, topic_hits, cues)
        total = 0.0
        hedges = 0
        reasons: list[str] = []
        for sent_start, sent_end in claim["sents"]:
            s = self.sentence(doc, view, sent_start, sent_end, cues)
            hedges += sum(1 for c in s.cues if c.kind == "hedge")
            elided = _elided(s, sent_start)
            if elided is not None:
                total += elided.polarity * elided.weight
                reasons.append(("+" if elided.polarity > 0 else "-") + elided.text)
            for cue in s.cues:
                ballot = _ballot(s, cue)
                if ballot is None:
                    continue
                total += ballot.polarity * ballot.weight
                s.counted.update(range(cue.start, cue.end))
                reasons.append(("+" if ballot.polarity > 0 else "-") + ballot.text)
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


def _ballot(s: Sentence, cue: Cue) -> Ballot | None:
    """The cue's vote from the rule of its kind, through every modifier; None when it does not count."""
    rule = RULES.get(cue.kind)
    vote = rule(s, cue) if rule is not None else None
    if vote is None:
        return None
    negated_by = [n for n in s.negators if n is not cue and cue.start in s.scope.of(n, n.kind)]
    ballot: Ballot | None = Ballot(vote[0], vote[1], s.doc[cue.start:cue.end].text, negated_by)
    for modifier in MODIFIERS:
        ballot = modifier(s, cue, ballot)
        if ballot is None:
            return None
    return ballot


def _elided(s: Sentence, sent_start: int) -> Ballot | None:
    """ "Most of them shouldn't be.": a negated recommendation about the topic of the sentence before."""
    if s.sent_topic or not s.earlier_topic or not s.recommend or not s.negators \
            or any(c.kind == "cue" and c.topic == s.topic.slug for c in s.cues):
        return None
    first = s.negators[0]
    return Ballot(-s.topic.anchor, 1.2, s.doc[first.start:first.end].text + " (elided)", [])
