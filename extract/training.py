"""Fit the learned heads (extract/learned.py) on labelled text and editor decisions.

    examples = labelled_examples(nlp, docs)      # the rules run once; features of each claim
    model, report = fit(examples)                # heads, calibration and policy from grouped folds

Each claim the rules find in a labelled document becomes one example: its features, the unit
it covers (claim or not, topics and stances), its source document (folds never split one). The
heads are L2 logistic regressions (scikit-learn, training only; inference is numpy in
extract/learned.py). Probabilities are calibrated on out-of-fold predictions: Platt scaling for
claim and topic heads, a temperature for the stance head, Platt scaling of the whole reading's
product for the claim confidence. The topic threshold and the stance policy are chosen on the
same out-of-fold predictions, never on dev or test.
"""
from __future__ import annotations

import copy
import logging
import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable, Iterator

import numpy as np
from spacy.language import Language

from extract.claims import claims_of
from extract.features import ClaimView, Features, claim_features, pair_features, stance_features, topic_features
from extract.learned import STANCES, LearnedModel, decide, logit
from extract.screen import screen

log = logging.getLogger(__name__)
LEARNED = "insightkb_learned"
FOLDS = 5


@dataclass
class Example:
    """One claim the rules found, with the labels of the unit it covers."""

    view: ClaimView
    claim: dict[str, Any]  # the rules' claim (token offsets, rule topics), never modified
    is_claim: bool
    gold_topics: dict[str, str]  # slug -> stance
    group: str  # source document: folds keep a document's examples together
    weight: float = 1.0
    origin: str = "labels"
    unit_doc: str = ""  # the labelled document (paragraph) it comes from
    _cache: dict[str, Any] = field(default_factory=dict, repr=False)

    def topic_x(self) -> Features:
        if "topic" not in self._cache:
            self._cache["topic"] = topic_features(self.view, self.claim)
        return self._cache["topic"]

    def pair_x(self, topic: str, words: set[str]) -> Features:
        key = f"pair:{topic}"
        if key not in self._cache:
            if "words" not in self._cache:
                lo, hi = self.claim["start"], self.claim["end"]
                self._cache["words"] = (self.view.topic_hits(lo, hi), *self.view.words(lo, hi))
            hits, content, every = self._cache["words"]
            self._cache[key] = pair_features(self.view, self.claim, topic, words, hits, content, every)
        return self._cache[key]

    def claim_x(self) -> Features:
        if "claim" not in self._cache:
            self._cache["claim"] = claim_features(self.view, self.claim)
        return self._cache["claim"]

    def stance_x(self, topic: str) -> Features:
        key = f"stance:{topic}"
        if key not in self._cache:
            if "polarity" not in self._cache:
                self._cache["polarity"] = self.view.polarity(self.claim["start"], self.claim["end"])
            self._cache[key] = stance_features(self.view, self.claim, topic, self.claim["topics"].get(topic),
                                               self._cache["polarity"])
        return self._cache[key]


def _overlap(a0: int, a1: int, b0: int, b1: int) -> int:
    return max(0, min(a1, b1) - max(a0, b0))


def _pieces(nlp: Language, text: str) -> Iterator[tuple[int, Any]]:
    """(offset, doc) for each piece of `text` the extractor would run, rules only."""
    result = screen(text)
    if result.skip:
        return
    with nlp.select_pipes(disable=[LEARNED]):
        for start, end in result.chunks():
            yield start, nlp(result.text[start:end])


def labelled_examples(nlp: Language, docs: Iterable[dict[str, Any]], *, weight: float = 1.0,
                      progress: bool = False, origin: str = "labels") -> list[Example]:
    """Run the rules over labelled documents (text + units with offsets) and align each claim
    to the unit it overlaps most."""
    docs = list(docs)
    out: list[Example] = []
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(docs), unit="doc", desc="rules", leave=False)
    for doc in docs:
        group = doc.get("group") or doc.get("id") or "?"
        for offset, sdoc in _pieces(nlp, doc["text"]):
            view = ClaimView(sdoc)
            for claim in claims_of(sdoc):
                s, e = claim["start_char"] + offset, claim["end_char"] + offset
                units = [(u, _overlap(s, e, u["start"], u["end"])) for u in doc["units"]]
                units = [(u, o) for u, o in units if o > 0]
                if not units:
                    continue
                best = max(units, key=lambda pair: pair[1])[0]
                topics: dict[str, str] = {}
                for unit, _o in sorted(units, key=lambda pair: pair[1]):  # the largest overlap wins a stance
                    if unit.get("claim"):
                        topics.update(unit.get("topics") or {})
                out.append(Example(view, copy.deepcopy(claim), bool(best.get("claim")), topics, group, weight,
                                   origin=origin, unit_doc=str(doc.get("id", group))))
        if bar:
            bar.update(1)
    if bar:
        bar.close()
    return out


def topic_example_docs(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The example sentences of each topic record (shipped, or written by an editor with the topic)
    as labelled documents: one claim unit each, tagged with its topic and stance."""
    docs = []
    for record in records:
        for number, example in enumerate(record.get("examples") or []):
            text = (example.get("text") or "").strip()
            if text:
                unit = {"start": 0, "end": len(text), "claim": True,
                        "topics": {record["slug"]: example.get("stance") or "neutral"}}
                docs.append({"id": f"topic:{record['slug']}:{number}", "group": f"topic:{record['slug']}",
                             "text": text, "units": [unit]})
    return docs


def editor_examples(nlp: Language, decisions: list[dict[str, Any]], *, weight: float = 2.0) -> list[Example]:
    """Examples from editors' decisions (kb.curation.editor_decisions): a rejected claim is not a
    claim; any other decided claim is one, with the topics and stances it has now."""
    by_doc: dict[int, list[dict[str, Any]]] = {}
    for d in decisions:
        by_doc.setdefault(d["document_id"], []).append(d)
    out: list[Example] = []
    for doc_id, rows in by_doc.items():
        text = rows[0]["document_text"]
        found: list[tuple[ClaimView, dict[str, Any], int]] = []
        for offset, sdoc in _pieces(nlp, text):
            view = ClaimView(sdoc)
            found += [(view, c, offset) for c in claims_of(sdoc)]
        for row in rows:
            best, best_overlap = None, 0
            for view, claim, offset in found:
                o = _overlap(row["start_char"], row["end_char"], claim["start_char"] + offset, claim["end_char"] + offset)
                if o > best_overlap:
                    best, best_overlap = (view, claim), o
            if best is None or best_overlap * 2 < row["end_char"] - row["start_char"]:
                continue  # the rules no longer find this sentence as a claim
            rejected = row["status"] == "rejected"
            out.append(Example(best[0], copy.deepcopy(best[1]), not rejected, {} if rejected else dict(row["topics"]),
                               f"kb:{doc_id}", weight, origin="editor"))
    return out


# -- fitting ---------------------------------------------------------------------------------

def _vocab(examples: list[Example], topics: list[str], min_count: int, words: dict[str, set[str]] | None) -> list[str]:
    counts: dict[str, int] = {}
    for ex in examples:
        names = {n for n, _v in ex.claim_x()}
        if words is None:
            names |= {n for n, _v in ex.topic_x()}
        else:
            for slug in topics:
                names |= {n for n, _v in ex.pair_x(slug, words.get(slug, set()))}
        if ex.is_claim:
            for slug in ex.gold_topics:
                names |= {n for n, _v in ex.stance_x(slug)}
        for n in names:
            counts[n] = counts.get(n, 0) + 1
    return sorted(n for n, c in counts.items() if c >= min_count or n == "bias")


def _matrix(rows: list[Features], index: dict[str, int]) -> Any:
    from scipy.sparse import csr_matrix

    data, cols, ptr = [], [], [0]
    for feats in rows:
        seen: dict[int, float] = {}
        for name, value in feats:
            i = index.get(name)
            if i is not None:
                seen[i] = seen.get(i, 0.0) + value
        cols += list(seen)
        data += list(seen.values())
        ptr.append(len(cols))
    return csr_matrix((np.asarray(data, dtype=np.float64), np.asarray(cols, dtype=np.int64), np.asarray(ptr)),
                      shape=(len(rows), len(index)))


def _binary(X: Any, y: np.ndarray, w: np.ndarray, C: float, balanced: bool = False) -> tuple[np.ndarray, float]:
    """Weights and bias of an L2 logistic regression (the bias alone when y has one class)."""
    from sklearn.linear_model import LogisticRegression

    if y.min() == y.max():
        rate = (y.sum() + 0.5) / (len(y) + 1.0)
        return np.zeros(X.shape[1]), math.log(rate / (1 - rate))
    lr = LogisticRegression(C=C, solver="liblinear", max_iter=200, class_weight="balanced" if balanced else None)
    lr.fit(X, y, sample_weight=w)
    return lr.coef_[0], float(lr.intercept_[0])


def _multiclass(X: Any, y: np.ndarray, w: np.ndarray, C: float) -> tuple[np.ndarray, np.ndarray]:
    """(V, 3) weights and (3,) biases over STANCES; classes never seen get a very low bias."""
    from sklearn.linear_model import LogisticRegression

    W = np.zeros((X.shape[1], len(STANCES)))
    b = np.full(len(STANCES), -8.0)
    present = sorted(set(y.tolist()))
    if not present:
        return W, b
    if len(present) == 1:
        b[present[0]] = 0.0
        return W, b
    lr = LogisticRegression(C=C, max_iter=500)
    lr.fit(X, y, sample_weight=w)
    coef, intercept = lr.coef_, lr.intercept_
    if len(present) == 2:  # sklearn gives one column for two classes
        coef = np.vstack([-coef[0] / 2, coef[0] / 2])
        intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
    for k, cls in enumerate(lr.classes_):
        W[:, cls] = coef[k]
        b[cls] = intercept[k]
    return W, b


@dataclass
class Settings:
    """Hyper-parameters of one fit."""

    C_topic: float = 0.3
    C_stance: float = 0.5  # out-of-fold stance F1 on 2,654 train paragraphs: 0.558 at 1.0, 0.584 at 0.5, 0.582 at 0.3
    C_claim: float = 1.0
    min_count: int = 2
    balanced: bool = False  # class-weighted topic heads
    folds: int = FOLDS
    seed: int = 13
    policies: tuple[str, ...] = ("abstain", "all")
    topic_mode: str = "pairwise"  # one head over (claim, topic) pairs, or "per-topic" one-vs-rest
    claim_filter: bool = True  # may learn a cut below which a rule claim is left out
    threshold_slack: float = 0.01  # topic threshold: nearest 0.5 within this much of the best out-of-fold F1


def _fit_raw(examples: list[Example], topics: list[str], settings: Settings,
             words: dict[str, set[str]]) -> LearnedModel:
    """Heads fitted on `examples`, uncalibrated."""
    pairwise = settings.topic_mode == "pairwise"
    vocab = _vocab(examples, topics, settings.min_count, words if pairwise else None)
    index = {n: i for i, n in enumerate(vocab)}
    w = np.asarray([ex.weight for ex in examples])
    if pairwise:
        X = _matrix([ex.pair_x(slug, words.get(slug, set())) for ex in examples for slug in topics], index)
        y = np.asarray([int(ex.is_claim and slug in ex.gold_topics) for ex in examples for slug in topics])
        column, bias = _binary(X, y, np.repeat(w, len(topics)), settings.C_topic, settings.balanced)
        topic_W, topic_b = column.reshape(-1, 1), np.asarray([bias])
    else:
        X = _matrix([ex.topic_x() for ex in examples], index)
        topic_W = np.zeros((len(vocab), len(topics)))
        topic_b = np.zeros(len(topics))
        for j, slug in enumerate(topics):
            y = np.asarray([1 if ex.is_claim and slug in ex.gold_topics else 0 for ex in examples])
            topic_W[:, j], topic_b[j] = _binary(X, y, w, settings.C_topic, settings.balanced)
    Xc = _matrix([ex.claim_x() for ex in examples], index)
    claim_W, claim_b = _binary(Xc, np.asarray([int(ex.is_claim) for ex in examples]), w, settings.C_claim)
    pairs = [(ex, slug, stance) for ex in examples if ex.is_claim for slug, stance in ex.gold_topics.items()
             if slug in topics]
    Xs = _matrix([ex.stance_x(slug) for ex, slug, _s in pairs], index)
    ys = np.asarray([STANCES.index(stance) for _ex, _slug, stance in pairs], dtype=int)
    stance_W, stance_b = _multiclass(Xs, ys, np.asarray([ex.weight for ex, _s, _t in pairs]), settings.C_stance)
    return LearnedModel(vocab=vocab, topics=list(topics), topic_W=topic_W.astype(np.float32),
                        topic_b=topic_b.astype(np.float32), stance_W=stance_W.astype(np.float32),
                        stance_b=stance_b.astype(np.float32), claim_W=claim_W.astype(np.float32),
                        claim_b=np.asarray([claim_b], dtype=np.float32),
                        meta={"topic_mode": settings.topic_mode,
                              "topic_words": {k: sorted(v) for k, v in words.items()}})


def pick_threshold(curve: dict[float, float], slack: float) -> float:
    """The threshold nearest 0.5 among those within `slack` of the best out-of-fold F1 of `curve`
    (threshold -> F1). The curve is flat near its top, and a low threshold picked by noise floods
    real text with tags."""
    top = max(curve.values())
    return min((t for t, f in curve.items() if f >= top - slack), key=lambda t: (round(abs(t - 0.5), 6), t))


def _folds(examples: list[Example], k: int, seed: int) -> list[list[int]]:
    groups = sorted({ex.group for ex in examples})
    random.Random(seed).shuffle(groups)
    fold_of = {g: i % k for i, g in enumerate(groups)}
    out: list[list[int]] = [[] for _ in range(k)]
    for i, ex in enumerate(examples):
        out[fold_of[ex.group]].append(i)
    return [f for f in out if f]


def platt(z: np.ndarray, y: np.ndarray) -> list[float]:
    """[a, b] of sigmoid(a z + b) fitted by logistic regression on held-out logits."""
    from sklearn.linear_model import LogisticRegression

    if len(z) < 4 or y.min() == y.max():
        return [1.0, 0.0]
    lr = LogisticRegression(C=100.0)
    lr.fit(z.reshape(-1, 1), y)
    return [float(lr.coef_[0][0]), float(lr.intercept_[0])]


def _temperature(logits: np.ndarray, y: np.ndarray) -> float:
    """The temperature that minimises held-out log loss (grid search)."""
    if not len(y):
        return 1.0
    best, best_t = math.inf, 1.0
    for t in np.exp(np.linspace(math.log(0.25), math.log(8), 60)):
        z = logits / t
        z = z - z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        loss = -logp[np.arange(len(y)), y].mean()
        if loss < best:
            best, best_t = loss, float(t)
    return best_t


def ece(probabilities: Iterable[float], outcomes: Iterable[int], bins: int = 10) -> float:
    """Expected calibration error: the count-weighted mean |accuracy - mean probability| over
    equal-width probability bins."""
    p = np.asarray(list(probabilities), dtype=float)
    y = np.asarray(list(outcomes), dtype=float)
    if not len(p):
        return 0.0
    which = np.minimum((p * bins).astype(int), bins - 1)
    total = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            total += mask.sum() * abs(y[mask].mean() - p[mask].mean())
    return float(total / len(p))


def _reading_right(ex: Example, claim: dict[str, Any]) -> int:
    if not ex.is_claim:
        return 0
    predicted = {slug: t["stance"] for slug, t in claim["topics"].items()}
    return int(predicted == ex.gold_topics)


def _oof_scores(examples: list[Example], decided: list[dict[str, Any]]) -> dict[str, float]:
    """Topic micro-F1 and 3-class stance macro-F1 of decided claims against their examples."""
    tp = fp = fn = 0
    conf = {s: [0, 0, 0] for s in STANCES}  # tp, fp, fn
    for ex, claim in zip(examples, decided):
        gold = ex.gold_topics if ex.is_claim else {}
        pred = {slug: t["stance"] for slug, t in claim["topics"].items()}
        tp += len(set(gold) & set(pred))
        fp += len(set(pred) - set(gold))
        fn += len(set(gold) - set(pred))
        for slug in set(gold) & set(pred):
            g, p = gold[slug], pred[slug]
            for s in STANCES:
                conf[s][0] += g == s and p == s
                conf[s][1] += p == s and g != s
                conf[s][2] += g == s and p != s
    f1 = lambda t, f, n: 2 * t / (2 * t + f + n) if t else 0.0  # noqa: E731
    return {"topics": f1(tp, fp, fn), "stance": sum(f1(*conf[s]) for s in STANCES) / 3}


def _primary(ex: Example) -> bool:
    """Labels and editor decisions: what calibration, threshold and policy are fitted on."""
    return ex.weight >= 1 and ex.origin != "topic"


def fit(examples: list[Example], topics: list[str], *, settings: Settings | None = None,
        provenance: dict[str, Any] | None = None,
        topic_words: dict[str, set[str]] | None = None) -> tuple[LearnedModel, dict[str, Any]]:
    """Fit the heads on all examples; calibration, threshold and stance policy from grouped folds.

    Returns the model and a report of the out-of-fold figures (topic / stance F1 per policy,
    calibration errors)."""
    settings = settings or Settings()
    words = topic_words or {}
    if not examples:
        raise ValueError("no training examples: the rules found no claims in the labelled text")
    folds = _folds(examples, settings.folds, settings.seed)
    # 1. out-of-fold logits of every head
    z_topic = np.zeros((len(examples), len(topics)))
    z_claim = np.zeros(len(examples))
    fold_models: list[tuple[list[int], LearnedModel]] = []
    stance_logits: list[np.ndarray] = []
    stance_y: list[int] = []
    rule_right: dict[str, list[int]] = {s: [] for s in STANCES}
    for held in folds if len(folds) > 1 else []:
        held_set = set(held)
        model = _fit_raw([ex for i, ex in enumerate(examples) if i not in held_set], topics, settings, words)
        fold_models.append((held, model))
        for i in held:
            ex = examples[i]
            z_topic[i] = model.topic_logits(ex.view, ex.claim)
            idx, val = model._encode(ex.claim_x())
            z_claim[i] = float(val @ model.claim_W[idx] + model.claim_b[0])
            if ex.is_claim and _primary(ex):
                for slug, stance in ex.gold_topics.items():
                    if slug not in topics:
                        continue
                    idx, val = model._encode(ex.stance_x(slug))
                    stance_logits.append(val @ model.stance_W[idx] + model.stance_b)
                    stance_y.append(STANCES.index(stance))
                    rule = ex.claim["topics"].get(slug)
                    if rule and rule["stance"] != "neutral":
                        rule_right[rule["stance"]].append(int(rule["stance"] == stance))
    # calibration, threshold and policy are fitted on the primary examples only (labels and editors,
    # not --also files or the topics' example sentences, whose own distribution would shift them)
    primary = np.asarray([_primary(ex) for ex in examples])
    z_claim, z_topic = z_claim[primary], z_topic[primary]
    y_claim = np.asarray([int(ex.is_claim) for ex in examples])[primary]
    y_topic = np.asarray([[int(ex.is_claim and s in ex.gold_topics) for s in topics] for ex in examples])[primary]
    calibration = {
        "claim": platt(z_claim, y_claim),
        "topic": platt(z_topic.ravel(), y_topic.ravel()),
        "stance_temperature": _temperature(np.asarray(stance_logits).reshape(-1, 3), np.asarray(stance_y, dtype=int)),
        "reading": [1.0, 0.0],
    }
    rule_precision = {s: (sum(v) + 1) / (len(v) + 2) for s, v in rule_right.items() if s != "neutral"}
    # 2. threshold and stance policy on calibrated out-of-fold decisions
    a, b = calibration["topic"]
    p_topic = 1 / (1 + np.exp(-(a * z_topic + b)))
    curve: dict[float, float] = {}
    for t in (0.05, 0.08, 0.1, 0.12, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7):
        pred = p_topic >= t
        tp = float((pred & (y_topic == 1)).sum())
        curve[t] = 2 * tp / (pred.sum() + y_topic.sum()) if tp else 0.0
    best_t = pick_threshold(curve, settings.threshold_slack)
    best_f = curve[best_t]
    # a learned cut on the rules' claims, when it raises claim F1 on held-out folds
    ca, cb = calibration["claim"]
    p_claim = 1 / (1 + np.exp(-(ca * z_claim + cb)))
    positives = int(y_claim.sum())
    best_cut, best_claim_f = 0.0, -1.0
    for cut in ((0.0, 0.2, 0.3, 0.4, 0.5) if settings.claim_filter and fold_models else (0.0,)):
        kept = p_claim >= cut
        tp = int((kept & (y_claim == 1)).sum())
        f = 2 * tp / (int(kept.sum()) + positives) if tp else 0.0
        if f > best_claim_f + 0.002:  # a cut must earn its keep
            best_cut, best_claim_f = cut, f
    report: dict[str, Any] = {"examples": len(examples), "folds": len(folds), "threshold": best_t,
                              "threshold_curve": {str(t): round(f, 4) for t, f in curve.items()},
                              "oof_topic_f1": round(best_f, 4), "claim_threshold": best_cut,
                              "oof_claim_f1": round(best_claim_f, 4), "policies": {}}
    policy = settings.policies[0]
    reading_raw: list[float] = []
    reading_y: list[int] = []
    if fold_models:
        best_stance = -1.0
        best_shown: dict[str, tuple[list[float], list[int]]] = {"topic_tag": ([], []), "stance_tag": ([], [])}
        for candidate in settings.policies:
            decided: list[dict[str, Any]] = [{}] * len(examples)
            raws: list[float] = []
            ys: list[int] = []
            shown: dict[str, tuple[list[float], list[int]]] = {"topic_tag": ([], []), "stance_tag": ([], [])}
            for held, model in fold_models:
                model.meta.update({"calibration": calibration, "threshold": best_t, "stance_policy": candidate,
                                   "rule_stance_precision": rule_precision})
                for i in held:
                    if not primary[i]:
                        continue
                    claim = copy.deepcopy(examples[i].claim)
                    decide(model, examples[i].view, claim)
                    decided[i] = claim
                    raws.append(claim["confidence"])
                    ys.append(_reading_right(examples[i], claim))
                    _collect_shown(shown, examples[i], claim)
            scores = _oof_scores([ex for ex, keep in zip(examples, primary) if keep],
                                 [c for c, keep in zip(decided, primary) if keep])
            report["policies"][candidate] = {k: round(v, 4) for k, v in scores.items()}
            if scores["stance"] > best_stance + 1e-9:
                best_stance, policy, reading_raw, reading_y = scores["stance"], candidate, raws, ys
                best_shown = shown
        calibration["reading"] = platt(np.asarray([math.log(max(r, 1e-6) / max(1 - r, 1e-6)) for r in reading_raw]),
                                        np.asarray(reading_y))
        ra, rb = calibration["reading"]
        calibrated = [1 / (1 + math.exp(-(ra * math.log(max(r, 1e-6) / max(1 - r, 1e-6)) + rb))) for r in reading_raw]
        report["oof_ece_reading"] = round(ece(calibrated, reading_y), 4)
        for key, (probs, right) in best_shown.items():  # the probabilities shown on emitted tags
            calibration[key] = platt(np.asarray([logit(p) for p in probs]), np.asarray(right))
            a, b = calibration[key]
            report[f"oof_ece_{key}"] = round(ece([1 / (1 + math.exp(-(a * logit(p) + b))) for p in probs], right), 4)
        ca, cb = calibration["claim"]
        report["oof_ece_claim"] = round(ece(1 / (1 + np.exp(-(ca * z_claim + cb))), y_claim), 4)
    report["stance_policy"] = policy
    # 3. the final heads on everything
    model = _fit_raw(examples, topics, settings, words)
    counts = {"examples": len(examples), "claims": sum(ex.is_claim for ex in examples),
              "topic_tags": sum(len(ex.gold_topics) for ex in examples if ex.is_claim), "editor_examples": sum(ex.origin == "editor" for ex in examples),
              "topic_examples": sum(ex.origin == "topic" for ex in examples),
              "documents": len({ex.group for ex in examples})}
    model.meta.update({
        "calibration": calibration, "threshold": best_t, "stance_policy": policy, "claim_threshold": best_cut,
        "rule_stance_precision": rule_precision,
        "trained_on": {**(provenance or {}), **counts},
        "settings": {k: v for k, v in settings.__dict__.items() if k != "policies"},
        "created": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "oof": report,
    })
    return model, report


def _collect_shown(shown: dict[str, tuple[list[float], list[int]]], example: Example, claim: dict[str, Any]) -> None:
    """(probability, right) of each topic tag the model emitted on a held-out claim, and of its
    stance where the topic is labelled: what the shown probabilities are recalibrated on."""
    gold = example.gold_topics if example.is_claim else {}
    for slug, tag in claim["topics"].items():
        if tag.get("probability") is None:
            continue
        shown["topic_tag"][0].append(tag["probability"])
        shown["topic_tag"][1].append(int(slug in gold))
        if slug in gold:
            shown["stance_tag"][0].append(tag["stance_probability"])
            shown["stance_tag"][1].append(int(gold[slug] == tag["stance"]))


def topic_words(nlp: Language, taxonomy: list[dict[str, Any]]) -> dict[str, set[str]]:
    """Content lemmas of each topic's label, description and proposition (the pairwise head's
    `desc` feature: evidence that transfers to topics with few labels)."""
    out = {}
    with nlp.select_pipes(enable=["insightkb_segmenter", "insightkb_lemmatizer"]):
        for row in taxonomy:
            text = " ".join(row.get(k) or "" for k in ("label", "description", "proposition"))
            doc = nlp(text)
            out[row["slug"]] = {t.lemma_ for t in doc if t.is_alpha and not t.is_stop and len(t) > 2}
    return out
