"""The stance rules: one small function per cue kind, each returning a vote, and the modifiers
that reweigh or reverse a vote (negation, leaving, concession, turn, recommendation).

`RULES` maps a cue kind to its rule; `MODIFIERS` are applied in order to every vote. A rule sees
one cue in one sentence of a claim (`Sentence`) and answers with (polarity, weight) toward the
topic's proposition, or None when the cue says nothing about that topic. `insightkb_stance`
(extract/stance.py) runs them and sums the votes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional

from spacy.tokens import Doc

from extract.scopes import ANAPHORS, Cue, Scopes, in_relative, negations

Vote = Optional[tuple[float, float]]  # (polarity, weight), None: the cue does not count here


@dataclass
class TopicView:
    """The topic being judged in one claim: its direction flags and where the claim names it."""

    slug: str
    anchor: int  # +1: praising the topic's subject supports the proposition, -1: opposes it
    evaluative: bool  # good/bad words and comparisons judge it
    valence: bool  # the general valence lexicon may judge it
    rising: int  # what growth of its subject says (+1 / -1), 0: nothing
    tokens: set[int]  # every token of its mentions in the claim
    contrary: set[int]  # tokens of mentions that name its contrary pole ("closed APIs" for open-weights)
    pole_starts: set[int]  # topic cues inside a stance-less pole mention: they say nothing


@dataclass
class Sentence:
    """One sentence of a claim, read for one topic: its cues, scopes and where the topic is."""

    doc: Doc
    scope: Scopes
    topic: TopicView
    cues: list[Cue]  # the cues that may vote, by priority
    negators: list[Cue]
    distancing: list[Cue]
    concessions: list[Cue]
    turns: list[Cue]
    leaves: list[Cue]
    recommend: bool
    sent_topic: set[int]  # topic tokens in this sentence
    sent_pro: set[int]  # ... naming the topic itself
    sent_con: set[int]  # ... naming its contrary pole
    after_turn: bool  # the topic is named only before the sentence's "but"
    pole: int  # +1, or -1 when only the contrary pole is named
    earlier_topic: bool  # the topic was named in an earlier sentence of the claim
    compared: set[int]  # tokens after a comparison of the topic ("beats"): its cues do not count
    counted: set[int] = field(default_factory=set)  # tokens of cues that have voted

    def consequence(self, cue: Cue) -> bool:
        """Whether a good or bad word follows the turn of a sentence that named the topic before it."""
        return self.after_turn and cue.start > self.turns[0].start \
            and not in_relative(self.scope, cue, self.turns[0].end)

    def reach(self, cue: Cue, kind: str) -> int:
        """+1 when the cue's scope holds the topic itself, -1 when it holds only its contrary pole, else 0."""
        covered = self.scope.of(cue, kind)
        return 1 if covered & self.sent_pro else -1 if covered & self.sent_con else 0


Rule = Callable[[Sentence, Cue], Vote]


def topic_cue(s: Sentence, cue: Cue) -> Vote:
    """A cue of this topic ("obsolete" supports finetuning-obsolescence) votes its own polarity."""
    if cue.topic != s.topic.slug or cue.start in s.counted or cue.start in s.topic.pole_starts \
            or cue.start in s.compared:
        return None
    return cue.polarity, 1.0


def evaluative(s: Sentence, cue: Cue) -> Vote:
    """A good/bad word said of the topic, through its anchor; of its contrary pole, reversed."""
    if not (s.sent_topic and s.topic.evaluative):
        return None
    judged = s.sent_pro or s.sent_con
    if cue.start in s.counted or not (s.scope.evaluates(cue, judged) or s.scope.predicates(cue, judged)
                                      or s.consequence(cue)):
        return None
    side = s.pole
    if s.sent_pro and s.sent_con:  # both poles named: the word judges the one it is said of,
        if s.scope.predicates(cue, s.sent_con) and not s.scope.predicates(cue, s.sent_pro):
            side = -1  # "..., but the closed APIs are still more reliable"
        elif s.scope.predicates(cue, s.sent_pro) and not s.scope.predicates(cue, s.sent_con):
            side = 1
    weight = 1.0 if s.consequence(cue) else 0.5  # the cost after the turn is the point of the sentence
    return cue.polarity * s.topic.anchor * side, weight


def valence(s: Sentence, cue: Cue) -> Vote:
    """A general good/bad word counts only where it is said of the topic itself."""
    if not (s.sent_topic and s.topic.valence) or cue.start in s.counted or cue.start in s.topic.tokens:
        return None
    if s.scope.predicates(cue, s.sent_pro):
        side = 1
    elif s.scope.predicates(cue, s.sent_con):
        side = -1
    elif s.consequence(cue):
        side = s.pole
    else:
        return None
    return cue.polarity * s.topic.anchor * side, 1.0 if s.consequence(cue) else 0.5


def trend(s: Sentence, cue: Cue) -> Vote:
    """ "adoption is growing": growth of what the proposition claims grows; "closed models are
    losing ground": the trend of the pole named before it."""
    if not (s.sent_topic and s.topic.rising) or cue.start in s.counted or cue.start in s.topic.tokens:
        return None
    before = [i for i in s.sent_topic if i < cue.start]
    side = (-1 if max(before) in s.topic.contrary else 1) if before else s.pole
    return cue.polarity * s.topic.rising * side, 0.75


def leave(s: Sentence, cue: Cue) -> Vote:
    """ "moving away from open models": leaving the topic rejects it, unless a cue of the topic in
    what is left carries the direction ("never leave the pilot stage")."""
    reach = s.scope.of(cue, "leave")
    if cue.start in s.counted or any(c.kind == "cue" and c.topic == s.topic.slug and c.start in reach
                                     and c.start not in s.topic.pole_starts for c in s.cues):
        return None
    side = s.reach(cue, "leave")
    if not side:
        return None
    return -s.topic.anchor * side, 1.0


def verb(s: Sentence, cue: Cue) -> Vote:
    """Endorsing, rejecting, recommending verbs and alternatives ("adopt", "avoid", "should",
    "instead of") acting on the topic words in their scope."""
    if cue.start in s.topic.tokens or cue.start in s.counted:
        return None
    if cue.topic == "use" and (not s.topic.evaluative or s.scope.in_relative_clause(cue)):
        return None  # running or building on something judges approaches, not GPU supply;
        # "the model we built" only says which model
    if cue.kind == "recommend" and any(c.kind in ("endorse", "reject") and c.start > cue.start for c in s.cues):
        return None  # "should avoid", "should adopt": the verb decides
    reach = s.scope.of(cue, cue.kind)
    side = 1 if reach & s.sent_pro else -1 if reach & s.sent_con else 0
    if not side and cue.kind == "reject" and s.earlier_topic and any(
            s.doc[i].lower_ in ANAPHORS for i in reach if s.scope.start <= i < s.scope.end):
        side = 1  # "Most teams should avoid it.": the topic of the sentence before
    if not side:
        return None
    direction = cue.polarity if cue.kind == "alternative" else -1 if cue.kind == "reject" else 1
    return direction * s.topic.anchor * side, 1.0


def move(s: Sentence, cue: Cue) -> Vote:
    """ "moved every workload off closed APIs and onto open models": where things go is endorsed,
    where they come from is left; "put the fine-tuning budget into evaluation": its owner is left."""
    if not (s.sent_topic and s.topic.evaluative) or cue.start in s.counted or cue.start in s.topic.tokens:
        return None
    toward, away = s.scope.destinations(cue.end)
    if cue.kind == "divert":  # what is diverted is all up to where it goes
        away |= set(range(cue.start + 1, min(toward, default=cue.end)))
    side = (1 if toward & s.sent_pro else -1 if toward & s.sent_con else 0) \
        + (1 if away & s.sent_con else -1 if away & s.sent_pro else 0)
    if not side:
        return None
    return (1 if side > 0 else -1) * s.topic.anchor, 1.0


def defeat(s: Sentence, cue: Cue) -> Vote:
    """ "X beats Y" praises X, faults Y; "slower than" faults."""
    if not (s.sent_topic and s.topic.evaluative) or cue.start in s.counted:
        return None
    side = s.scope.defeat_side(cue, s.sent_pro) or -s.scope.defeat_side(cue, s.sent_con)
    if not side:
        return None
    return side * s.topic.anchor * (cue.polarity or 1), 0.75


RULES: dict[str, Rule] = {
    "cue": topic_cue,
    "evaluative": evaluative,
    "valence": valence,
    "trend": trend,
    "leave": leave,
    "endorse": verb,
    "reject": verb,
    "recommend": verb,
    "alternative": verb,
    "move": move,
    "divert": move,
    "defeat": defeat,
}


@dataclass
class Ballot:
    """A vote on its way through the modifiers, with the words that explain it."""

    polarity: float
    weight: float
    text: str
    negated_by: list[Cue]


Modifier = Callable[[Sentence, Cue, Ballot], Optional[Ballot]]  # None: the vote is dropped


def left(s: Sentence, cue: Cue, b: Ballot) -> Ballot:
    """ "moving money from pilots to production", "never leave the pilot stage": what is left is
    judged reversed ("leaving is expensive" leaves nothing)."""
    left_by = next((c for c in s.leaves if cue.start in s.scope.of(c, "leave")
                    and not s.scope.clausal_subject(c)), None)
    if left_by is not None or s.scope.left_behind(cue):
        b.polarity = -b.polarity
        b.text = f"{s.doc[left_by.start:left_by.end].text if left_by else 'from'} … {b.text}"
    return b


def negated(s: Sentence, cue: Cue, b: Ballot) -> Ballot:
    """Negators flip what they scope over, by parity ("Nobody doubts that ...": two cancel)."""
    if negations(b.negated_by) % 2:
        b.polarity = -b.polarity
        b.text = f"{s.doc[b.negated_by[0].start:b.negated_by[0].end].text} … {b.text}"
    return b


def who_not_what(s: Sentence, cue: Cue, b: Ballot) -> Ballot:
    """ "Teams that switched ... came back": a relative clause on the subject says who, not what."""
    if s.scope.describes_subject(cue):
        b.weight *= 0.5
    return b


def act_judged(s: Sentence, cue: Cue, b: Ballot) -> Ballot | None:
    """ "Changing the model means rewriting every prompt": the act is judged, not done."""
    if cue.kind == "cue" and cue.start in s.topic.contrary and s.scope.clausal_subject(cue):
        return None
    return b


def subject_of_negated(s: Sentence, cue: Cue, b: Ballot) -> Ballot:
    """ "Shrinking the model did not lower costs": the negated predicate is the claim."""
    if cue.kind == "cue" and not b.negated_by and s.scope.subject_of_negated(
            cue, [n for n in s.negators if n.kind in ("negator", "quantifier")]):
        b.weight *= 0.5
    return b


def distanced(s: Sentence, cue: Cue, b: Ballot) -> Ballot:
    """ "Many claim that X, but ...": a claim the writer then contradicts counts for nothing."""
    if any(cue.start in s.scope.of(d, "endorse") for d in s.distancing):
        b.weight *= 0.0 if any(t.start > cue.start for t in s.turns) else 0.5
    return b


def conceded(s: Sentence, cue: Cue, b: Ballot) -> Ballot:
    """ "Despite ...", "Contrary to ...": what a concession's clause says counts little."""
    if any(cue.start in s.scope.clause(c) for c in s.concessions):
        b.weight *= 0.3
        b.text = f"({b.text})"
    return b


def turned(s: Sentence, cue: Cue, b: Ballot) -> Ballot:
    """ "but", "however": what comes before the turn counts less, what comes after more."""
    if s.turns and cue.start < s.turns[0].start:
        b.weight *= 0.5
    elif s.turns:
        b.weight *= 1.25
    return b


def recommended(s: Sentence, cue: Cue, b: Ballot) -> Ballot:
    """ "should": a recommendation raises what the sentence says."""
    if s.recommend:
        b.weight *= 1.2
    return b


MODIFIERS: list[Modifier] = [left, negated, who_not_what, act_judged, subject_of_negated, distanced, conceded,
                             turned, recommended]
