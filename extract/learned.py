"""`insightkb_learned`: trained heads beside the rules, deciding where the rules abstain or disagree.

Three linear heads over the features of extract.features, read from one model artifact:

- claim: the probability that a sentence the rules took as a claim is one (confidence; below
  the model's `claim_threshold`, when it has one, the sentence is left out as "learned: not a claim");
- topics: one probability per topic; a topic is tagged at or above the model's threshold, so the
  head adds topics the patterns miss and drops ones they over-tag (the rule hits are features);
  a topic an editor's own pattern found is always kept;
- stance: supports / opposes / neutral per tagged topic; with the `abstain` policy it decides
  only where the rules say neutral or found no cue (a topic they did not tag), otherwise everywhere.

Every probability is calibrated (Platt scaling or a temperature fitted on held-out folds by
`insightkb train`). Each claim gets `confidence`: the calibrated probability that its whole
reading (claim, topic set, stances) is what a labeller would give; each topic `probability`
and `stance_probability`. The curation queue orders by that confidence.

The artifact is an .npz of plain arrays (never pickles) plus a JSON `meta` record: what it
was trained on, its scores, calibration and its content hash, which the extractor version
includes.
"""
from __future__ import annotations

import bisect
import hashlib
import json
import logging
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from spacy.language import Language
from spacy.tokens import Doc

from extract.claims import REJECTED, claims_of
from extract.features import ClaimView, Features, claim_features, pair_features, stance_features, topic_features

log = logging.getLogger(__name__)
MODELS_DIR = Path(__file__).resolve().parent / "models"
SHIPPED_MODEL = MODELS_DIR / "learned.npz"
STANCES = ("supports", "opposes", "neutral")
_ARRAYS = ("vocab", "topics", "topic_W", "topic_b", "stance_W", "stance_b", "claim_W", "claim_b")


class ModelError(Exception):
    "A model file that cannot be read, or whose content does not match its recorded hash"


def _sigmoid(z: np.ndarray | float) -> Any:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))


def logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


@dataclass
class LearnedModel:
    """Weights of the three heads over one feature vocabulary, with calibration and provenance."""

    vocab: list[str]
    topics: list[str]
    topic_W: np.ndarray  # (V, T); (V, 1) for the pairwise head
    topic_b: np.ndarray  # (T,); (1,) for the pairwise head
    stance_W: np.ndarray  # (V, 3), columns in STANCES order
    stance_b: np.ndarray  # (3,)
    claim_W: np.ndarray  # (V,)
    claim_b: np.ndarray  # (1,)
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.index = {name: i for i, name in enumerate(self.vocab)}
        self.topic_set = set(self.topics)
        self._words: tuple[int, dict[str, set[str]]] = (0, {})
        self._pairs: PairwiseTopics | None = None

    def topic_words(self) -> dict[str, set[str]]:
        """Content lemmas of each topic's label, description and proposition (from meta)."""
        if self._words[0] != id(self.meta):
            self._words = (id(self.meta), {k: set(v) for k, v in self.meta.get("topic_words", {}).items()})
        return self._words[1]

    # -- artifact --------------------------------------------------------------------------
    def content_hash(self) -> str:
        """sha256 over the arrays and the meta record (without its own `hash`), 12 hex digits."""
        h = hashlib.sha256()
        for name in _ARRAYS:
            value = getattr(self, name)
            array = np.asarray(value, dtype=str if name in ("vocab", "topics") else np.float32)
            h.update(name.encode())
            h.update(array.tobytes())
        h.update(json.dumps({k: v for k, v in self.meta.items() if k != "hash"}, sort_keys=True).encode())
        return h.hexdigest()[:12]

    @property
    def hash(self) -> str:
        return self.meta.get("hash") or self.content_hash()

    def save(self, path: str | Path) -> Path:
        """Write the artifact (arrays as float32 / unicode, meta as a JSON string); returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.meta["hash"] = self.content_hash()
        arrays = {name: np.asarray(getattr(self, name), dtype=str if name in ("vocab", "topics") else np.float32)
                  for name in _ARRAYS}
        tmp = path.with_name(path.name + ".tmp.npz")
        np.savez_compressed(tmp, meta=np.asarray(json.dumps(self.meta, sort_keys=True)), **arrays)
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> "LearnedModel":
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as data:
                meta = json.loads(str(data["meta"]))
                arrays = {name: data[name] for name in _ARRAYS}
        except (OSError, KeyError, ValueError) as exc:
            raise ModelError(f"cannot read model {path}: {exc}") from None
        model = cls(vocab=[str(v) for v in arrays["vocab"]], topics=[str(t) for t in arrays["topics"]],
                    topic_W=arrays["topic_W"], topic_b=arrays["topic_b"], stance_W=arrays["stance_W"],
                    stance_b=arrays["stance_b"], claim_W=arrays["claim_W"], claim_b=arrays["claim_b"], meta=meta)
        if meta.get("hash") != model.content_hash():
            raise ModelError(f"model {path} does not match its recorded hash (changed or damaged)")
        return model

    # -- scoring -----------------------------------------------------------------------------
    def _encode(self, features: Features) -> tuple[np.ndarray, np.ndarray]:
        index = self.index
        idx, val = [], []
        for name, value in features:
            i = index.get(name)
            if i is not None:
                idx.append(i)
                val.append(value)
        return np.asarray(idx, dtype=np.int64), np.asarray(val, dtype=np.float32)

    def topic_logits(self, view: ClaimView, claim: dict[str, Any]) -> np.ndarray:
        """Uncalibrated topic scores of a claim, one per topic of `topics`."""
        if self.meta.get("topic_mode") != "pairwise":
            idx, val = self._encode(topic_features(view, claim))
            return val @ self.topic_W[idx] + self.topic_b
        lo, hi = claim["start"], claim["end"]
        return self._pairwise().logits(view.topic_hits(lo, hi), view.words(lo, hi)[0], self.topic_words(),
                                       claim["topics"])

    def pair_logits_slow(self, view: ClaimView, claim: dict[str, Any]) -> np.ndarray:
        """The pairwise topic scores feature by feature (what `_pairwise` computes at once; for tests)."""
        lo, hi = claim["start"], claim["end"]
        hits = view.topic_hits(lo, hi)
        content, every = view.words(lo, hi)
        words = self.topic_words()
        rows = [self._encode(pair_features(view, claim, slug, words.get(slug, set()), hits, content, every))
                for slug in self.topics]
        column = self.topic_W[:, 0]
        return np.asarray([float(val @ column[idx]) for idx, val in rows]) + self.topic_b[0]

    def _pairwise(self) -> "PairwiseTopics":
        if getattr(self, "_pairs", None) is None:
            self._pairs = PairwiseTopics(self)
        return self._pairs

    def topic_probabilities(self, view: ClaimView, claim: dict[str, Any]) -> np.ndarray:
        z = self.topic_logits(view, claim)
        a, b = self.meta.get("calibration", {}).get("topic", [1.0, 0.0])
        return _sigmoid(a * z + b)

    def stance_probabilities(self, features: Features) -> np.ndarray:
        idx, val = self._encode(features)
        z = (val @ self.stance_W[idx] + self.stance_b) / self.meta.get("calibration", {}).get("stance_temperature", 1.0)
        z = np.exp(z - z.max())
        return z / z.sum()

    def claim_probability(self, features: Features) -> float:
        idx, val = self._encode(features)
        z = float(val @ self.claim_W[idx] + self.claim_b[0])
        a, b = self.meta.get("calibration", {}).get("claim", [1.0, 0.0])
        return float(_sigmoid(a * z + b))

    def reading_confidence(self, raw: float) -> float:
        """The calibrated probability that a claim's whole reading is right, from the product of
        its heads' probabilities."""
        a, b = self.meta.get("calibration", {}).get("reading", [1.0, 0.0])
        return float(_sigmoid(a * logit(raw) + b))

    @property
    def prior_strength(self) -> float:
        """Pseudo-claims of the training prior in a document's topic mix (0: no document shift)."""
        return float(self.meta.get("prior_strength", 0.0))

    def document_topic_probabilities(self, rows: np.ndarray) -> np.ndarray:
        """The topic probabilities of one document's claims (rows: claims x topics) moved to the
        document's own topic mix (see `shift_to_document`), when the model has priors."""
        priors = self.meta.get("topic_priors")
        if not priors or not self.prior_strength or not len(rows):
            return rows
        return shift_to_document(rows, np.asarray(priors, dtype=np.float64), self.prior_strength)

    @property
    def threshold(self) -> float:
        return float(self.meta.get("threshold", 0.5))

    @property
    def stance_policy(self) -> str:
        return self.meta.get("stance_policy", "abstain")

    def shown_probability(self, key: str, p: float) -> float:
        """A tagged topic's (`key` "topic_tag") or its stance's ("stance_tag") probability, recalibrated
        on the tags the model emits: the head's own calibration is fitted on every (claim, topic)
        pair, most of them far below the threshold, and runs high on the ones it keeps."""
        a, b = self.meta.get("calibration", {}).get(key, [1.0, 0.0])
        return float(_sigmoid(a * logit(p) + b))

    def rule_stance_probability(self, stance: str) -> float:
        """How often the rules' non-neutral stance was right on held-out folds."""
        return float(self.meta.get("rule_stance_precision", {}).get(stance, 0.7))


def shift_to_document(rows: np.ndarray, priors: np.ndarray, strength: float, rounds: int = 5) -> np.ndarray:
    """Topic probabilities re-weighted for the document's own share of each topic (EM under label
    shift, Saerens et al. 2002): the heads' probabilities assume the training text's mix, where one
    claim in six bears on any topic; a post about GPU supply bears on it throughout. The document's
    share starts at the prior and is re-estimated from the shifted probabilities, smoothed by
    `strength` pseudo-claims at the prior, so one weak mention moves little and many move much."""
    p0 = np.clip(rows, 1e-6, 1 - 1e-6)
    pi = np.clip(priors, 1e-6, 1 - 1e-6)
    share = pi.copy()
    p = p0
    for _ in range(rounds):
        up = p0 * (share / pi)
        down = (1 - p0) * ((1 - share) / (1 - pi))
        p = up / (up + down)
        share = (strength * pi + p.sum(axis=0)) / (strength + len(p))
    return p


class PairwiseTopics:
    """The pairwise topic head's weights regrouped by what they test, so a claim's 13 topic scores
    cost one lookup per word instead of one feature string per word and topic (same sums as
    `pair_features` feature by feature)."""

    def __init__(self, model: LearnedModel) -> None:
        T = len(model.topics)
        at = {slug: j for j, slug in enumerate(model.topics)}
        column = model.topic_W[:, 0].astype(np.float64)
        self.at = at
        self.base = float(model.topic_b[0])
        self.prior = np.zeros(T)
        self.hit_topic = np.zeros(T)
        self.desc_topic = np.zeros(T)
        self.cross: dict[str, np.ndarray] = {}
        self.scalar: dict[str, float] = {}
        self.span: dict[tuple[str, str], float] = {}
        for name, weight in zip(model.vocab, column):
            if not weight:
                continue
            if name.startswith("t|"):
                _t, slug, word = name.split("|", 2)
                if slug in at:
                    self.cross.setdefault(word, np.zeros(T))[at[slug]] += weight
            elif name.startswith("topic=") and name[6:] in at:
                self.prior[at[name[6:]]] += weight
            elif name.startswith("hit|") and name[4:] in at:
                self.hit_topic[at[name[4:]]] += weight
            elif name.startswith("desc|") and name[5:] in at:
                self.desc_topic[at[name[5:]]] += weight
            elif name.startswith("span|"):
                _s, slug, matched = name.split("|", 2)
                self.span[(slug, matched)] = float(weight)
            else:
                self.scalar[name] = float(weight)

    def logits(self, hits: list[tuple[str, str]], content: list[str], words: dict[str, set[str]],
               rules: dict[str, dict[str, Any]]) -> np.ndarray:
        w = self.scalar.get
        z = self.prior + (self.base + w("bias", 0.0))
        unique = set(content)
        for word in unique:
            row = self.cross.get(word)
            if row is not None:
                z = z + row
        hit_words = sum(w(f"hw:{word}", 0.0) for word in unique) if hits else 0.0
        by_topic: dict[str, list[str]] = {}
        for slug, matched in hits:
            by_topic.setdefault(slug, []).append(matched)
        hit_slugs = set(by_topic)
        out = z.copy()
        for slug, j in self.at.items():
            others = len(hit_slugs - {slug})
            extra = w(f"others:{min(others, 3)}", 0.0)
            shared = len(words.get(slug, set()).intersection(unique))
            if shared:
                extra += w("desc", 0.0) * min(shared, 3) / 3 + self.desc_topic[j]
            mine = by_topic.get(slug)
            if mine:
                extra += w("hit", 0.0) + self.hit_topic[j] + w(f"hits:{min(len(mine), 3)}", 0.0) + hit_words
                rule = rules.get(slug)
                extra += w(f"hitstance:{rule['stance'] if rule else 'none'}", 0.0)
                for matched in set(mine):
                    extra += self.span.get((slug, matched), 0.0) + w(f"spanlen:{min(matched.count('_') + 1, 3)}", 0.0)
            out[j] += extra
        return out


def read_model(path: str | Path | None) -> LearnedModel | None:
    """The model at `path`, or None when there is no file there."""
    if path is None or not Path(path).exists():
        return None
    return LearnedModel.load(path)


@Language.factory("insightkb_learned", default_config={"model": "learned.npz"})
def make_learned(nlp: Language, name: str, model: str) -> "LearnedHeads":
    path = Path(model) if Path(model).is_absolute() else MODELS_DIR / model
    return LearnedHeads(read_model(path))


class LearnedHeads:
    """Apply a LearnedModel to every claim of a doc (a pass-through without a model)."""

    def __init__(self, model: LearnedModel | None) -> None:
        self.model = model

    def use(self, model: LearnedModel | None) -> None:
        self.model = model

    def __call__(self, doc: Doc) -> Doc:
        model = self.model
        claims = claims_of(doc)
        if model is None or not claims:
            return doc
        view = ClaimView(doc)
        kept = []
        cut = float(model.meta.get("claim_threshold", 0.0))
        topics = np.asarray([model.topic_probabilities(view, claim) for claim in claims])
        if model.prior_strength:
            for rows in _paragraphs(doc.text, claims):
                topics[rows] = model.document_topic_probabilities(topics[rows])
        for claim, p_topics in zip(claims, topics):
            decide(model, view, claim, p_topics)
            if cut and claim["claim_probability"] < cut:
                doc.user_data.setdefault(REJECTED, []).append(
                    [claim["start_char"], claim["end_char"], "learned: not a claim"])
                continue
            kept.append(claim)
        claims[:] = kept
        return doc


_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n")


def _paragraphs(text: str, claims: list[dict[str, Any]]) -> list[list[int]]:
    """The claims' indices grouped by the paragraph (text between blank lines) they start in: a
    paragraph is one passage's topic mix, where a newsletter issue covers many."""
    breaks = [m.end() for m in _PARAGRAPH_BREAK.finditer(text)]
    groups: dict[int, list[int]] = {}
    for i, claim in enumerate(claims):
        groups.setdefault(bisect.bisect_right(breaks, claim["start_char"]), []).append(i)
    return list(groups.values())


def decide(model: LearnedModel, view: ClaimView, claim: dict[str, Any], p_topics: np.ndarray | None = None) -> None:
    """Set the claim's topics, stances and calibrated probabilities from the model and the rules
    (`p_topics`: the claim's topic probabilities already shifted to its document, if they are)."""
    p_claim = model.claim_probability(claim_features(view, claim))
    if p_topics is None:
        p_topics = model.topic_probabilities(view, claim)
    rules: dict[str, dict[str, Any]] = claim["topics"]
    polarity = view.polarity(claim["start"], claim["end"])
    out: dict[str, dict[str, Any]] = {}
    raw = p_claim
    editors = view.editor_topics(claim["start"], claim["end"]) if view.editor_spans else set()
    for j, slug in enumerate(model.topics):
        p = float(p_topics[j])
        if p < model.threshold and slug not in editors:  # an editor's own pattern always tags
            raw *= 1.0 - p
            continue
        raw *= p
        rule = rules.get(slug)
        if rule is not None and rule["stance"] != "neutral" and model.stance_policy == "abstain":
            tag = dict(rule)
            sp = model.rule_stance_probability(rule["stance"])
        else:
            probs = model.stance_probabilities(stance_features(view, claim, slug, rule, polarity))
            k = int(np.argmax(probs))
            sp = float(probs[k])
            cues = list(rule["cues"]) if rule else []
            cues.append(f"learned: {STANCES[k]} {sp:.2f}" + ("" if rule else f", topic {p:.2f}"))
            tag = {"stance": STANCES[k], "score": round(sp, 3), "cues": cues}
        raw *= sp
        tag["probability"] = round(model.shown_probability("topic_tag", p), 3)
        tag["stance_probability"] = round(model.shown_probability("stance_tag", sp), 3)
        out[slug] = tag
    for slug, rule in rules.items():  # topics the model was not trained on (an editor's new topic)
        if slug not in model.topic_set:
            out[slug] = rule
    claim["topics"] = out
    claim["claim_probability"] = round(p_claim, 3)
    claim["confidence"] = round(model.reading_confidence(raw), 3)
