"""Features of a claim for the learned heads (`insightkb_learned`), computed from what the rule
steps left on the Doc: lemmas, topic spans, stance cues and the rules' own verdicts.

Three views of one claim, each a list of (feature name, value):

- `topic_features`: lemma unigrams and bigrams, the rule topic hits and the words they matched;
- `stance_features` (per topic): the rules' stance and cue words, cue kinds in the claim, words
  crossed with the topic, and the claim's VADER polarity (plain and crossed with the topic);
- `claim_features`: how the sentence opens, its length, digits, pronouns, topic hits, words.

The same functions serve training (extract.training) and inference, so the two cannot drift.
"""
from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import Any

from spacy.attrs import IS_ALPHA, IS_DIGIT, IS_STOP, LEMMA, LOWER
from spacy.tokens import Doc

from extract.cues import cues_of
from extract.lexicon import read_jsonl
from extract.rulers import EDITOR_TOPIC_LABEL as EDITOR_LABEL  # spans of an editor's own topic pattern
from extract.valence import _read as read_valence_file

Features = list[tuple[str, float]]
TOPICS = "insightkb_topics"
_CUE_WORD = re.compile(r"[a-z][a-z'-]*")
_NEGATORS = {"not", "n't", "no", "never", "nobody", "nothing", "neither", "nor", "hardly", "rarely", "without"}
_PRONOUNS = {"i", "we", "you", "our", "my", "your", "us"}


@lru_cache(maxsize=1)
def vader_lexicon() -> dict[str, float]:
    """Every word of the VADER lexicon (the package named by the stance lexicon's `valence_source` row)
    with its mean valence (-4..4); empty when the package is missing."""
    row = next((r for r in read_jsonl("stance_lexicon.jsonl") if r.get("kind") == "valence_source"), None)
    if row is None:
        return {}
    try:
        return {word: value for word, value in read_valence_file(row["package"], row["file"]) if " " not in word}
    except (ModuleNotFoundError, FileNotFoundError):
        return {}


class ClaimView:
    """The token arrays of one doc, read once and shared by every claim of it."""

    def __init__(self, doc: Doc) -> None:
        self.doc = doc
        if len(doc):
            arrays = doc.to_array([LEMMA, LOWER, IS_ALPHA, IS_STOP, IS_DIGIT]).T.tolist()
            self.lemma, self.lower, self.alpha, self.stop, self.digit = arrays
        else:
            self.lemma = self.lower = self.alpha = self.stop = self.digit = []
        self.strings = doc.vocab.strings
        topic_spans = doc.spans.get(TOPICS, [])
        self.spans = sorted((s.start, s.end, s.id_) for s in topic_spans)
        self.editor_spans = sorted((s.start, s.id_) for s in topic_spans if s.label_ == EDITOR_LABEL)
        self.cues = cues_of(doc)

    def words(self, lo: int, hi: int) -> tuple[list[str], list[str]]:
        """(content lemmas, all alphabetic lemmas) of tokens lo..hi."""
        s = self.strings
        content, every = [], []
        for i in range(lo, hi):
            if self.alpha[i]:
                lemma = s[self.lemma[i]]
                every.append(lemma)
                if not self.stop[i] and len(lemma) > 1:
                    content.append(lemma)
            elif self.lower[i] == self.strings["n't"]:
                every.append("not")
        return content, every

    def topic_hits(self, lo: int, hi: int) -> list[tuple[str, str]]:
        """(topic slug, matched lemmas) for the rule topic spans inside lo..hi."""
        s = self.strings
        return [(slug, "_".join(s[self.lemma[i]] for i in range(a, b)))
                for a, b, slug in self.spans if lo <= a < hi]

    def editor_topics(self, lo: int, hi: int) -> set[str]:
        """Topics an editor's own pattern tagged inside lo..hi."""
        return {slug for start, slug in self.editor_spans if lo <= start < hi}

    def polarity(self, lo: int, hi: int) -> float:
        """VADER-style polarity of tokens lo..hi: summed valence, a negator flipping the next three
        words, squashed to -1..1."""
        lexicon = vader_lexicon()
        total, flip_until = 0.0, -1
        s = self.strings
        for i in range(lo, hi):
            low = s[self.lower[i]]
            if low in _NEGATORS:
                flip_until = i + 3
                continue
            value = lexicon.get(low)
            if value:
                total += -value if i <= flip_until else value
        return total / math.sqrt(total * total + 15)


def topic_features(view: ClaimView, claim: dict[str, Any]) -> Features:
    lo, hi = claim["start"], claim["end"]
    content, every = view.words(lo, hi)
    out: Features = [("bias", 1.0)]
    out += [(f"w:{w}", 1.0) for w in set(content)]
    out += [(f"b:{a}_{b}", 1.0) for a, b in set(zip(every, every[1:]))]
    for slug, matched in set(view.topic_hits(lo, hi)):
        out.append((f"hit:{slug}", 1.0))
        out.append((f"span:{slug}:{matched}", 1.0))
    return out


def pair_features(view: ClaimView, claim: dict[str, Any], topic: str, topic_words: set[str],
                  hits: list[tuple[str, str]], content: list[str], every: list[str]) -> Features:
    """Features of (claim, topic) for the pairwise topic head: shared weights learn when a rule hit
    or a word of the topic's own description is evidence, crossed ones what each topic's words are."""
    out: Features = [("bias", 1.0), (f"topic={topic}", 1.0)]
    mine = [m for slug, m in hits if slug == topic]
    if mine:
        out.append(("hit", 1.0))
        out.append((f"hit|{topic}", 1.0))
        rule = claim["topics"].get(topic)
        out.append((f"hitstance:{rule['stance'] if rule else 'none'}", 1.0))  # a cue of the topic backs the hit
        out.append((f"hits:{min(len(mine), 3)}", 1.0))
        for matched in set(mine):
            out.append((f"span|{topic}|{matched}", 1.0))
            out.append((f"spanlen:{min(matched.count('_') + 1, 3)}", 1.0))
        out += [(f"hw:{w}", 1.0) for w in set(content)]
    others = len({slug for slug, _m in hits if slug != topic})
    out.append((f"others:{min(others, 3)}", 1.0))
    shared = len(topic_words.intersection(content))
    if shared:
        out.append(("desc", min(shared, 3) / 3))
        out.append((f"desc|{topic}", 1.0))
    out += [(f"t|{topic}|{w}", 1.0) for w in set(content)]
    return out


def stance_features(view: ClaimView, claim: dict[str, Any], topic: str, rule: dict[str, Any] | None,
                    polarity: float) -> Features:
    lo, hi = claim["start"], claim["end"]
    stance = rule["stance"] if rule else "none"
    out: Features = [("bias", 1.0), (f"r:{stance}", 1.0), (f"r:{stance}|{topic}", 1.0)]
    for cue in (rule or {}).get("cues", []):
        sign = "+" if cue.startswith("+") else "-" if cue.startswith("-") else "."
        for word in _CUE_WORD.findall(cue.lower()):
            out.append((f"c{sign}:{word}", 1.0))
            out.append((f"c{sign}|{topic}", 1.0))
    for kind, cue_topic, pol, start, _end in view.cues:
        if lo <= start < hi and (cue_topic is None or cue_topic == topic):
            out.append((f"k:{kind}:{pol}", 1.0))
            out.append((f"k:{kind}:{pol}|{topic}", 1.0))
    content, every = view.words(lo, hi)
    out += [(f"w:{w}", 1.0) for w in set(content)]
    out += [(f"t|{topic}|{w}", 1.0) for w in set(content)]
    out += [(f"b:{a}_{b}", 1.0) for a, b in set(zip(every, every[1:]))]
    if polarity:
        out.append(("vader", polarity))
        out.append((f"vader|{topic}", polarity))
    return out


def claim_features(view: ClaimView, claim: dict[str, Any]) -> Features:
    lo, hi = claim["start"], claim["end"]
    content, every = view.words(lo, hi)
    out: Features = [("bias", 1.0)]
    out += [(f"first:{w}", 1.0) for w in every[:2]]
    out.append((f"len:{min(len(every) // 5, 8)}", 1.0))
    out.append((f"sents:{min(len(claim.get('sents', [])), 3)}", 1.0))
    if any(view.digit[lo:hi]):
        out.append(("digit", 1.0))
    if any(w in _PRONOUNS for w in every):
        out.append(("pronoun", 1.0))
    hits = view.topic_hits(lo, hi)
    out.append((f"hits:{min(len(hits), 2)}", 1.0))
    out += [(f"w:{w}", 1.0) for w in set(content)]
    return out
