"""`insightkb train`: fit the learned heads on the labelled corpus plus every editor decision in
the KB, score old and new on held-out splits, and promote the new model only when it is not worse
(worse: lower in at least 95% of paired bootstrap resamples of a split's documents, extract.compare).

Labels are the stand-off files extract/labels/{train,dev,test}.jsonl (text read from the corpus);
the KB's promoted model lives beside the KB (`KB.model.npz`, the previous one kept as
`KB.model.previous.npz`), and its hash joins the extractor version, so `extract --reextract`
re-reads every document with it.
"""
from __future__ import annotations

import copy
import hashlib
import logging
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import sqlite_utils

from kb.claims import topics as kb_topics
from kb.curation import editor_decisions

from extract.compare import Difference, paired_bootstrap, significantly_worse
from extract.evaluate import EvalResult, analyse, evaluate, load_labels
from extract.learned import STANCES, LearnedModel, logit
from extract.nlp import RULES_ONLY, build_nlp, shipped_model
from extract.runner import extractor_setup, kb_model, kb_model_path
from extract.training import (Example, Settings, ece, editor_examples, fit, labelled_examples, platt,
                               topic_example_docs, topic_words)

log = logging.getLogger(__name__)
LABELS_DIR = Path(__file__).resolve().parent / "labels"
TOLERANCE = 0.0005  # "not worse": equal up to rounding
COMPARED = ("claims", "topics", "stance")


class TrainError(Exception):
    "Nothing to train on, or the labelled files cannot be read"


@dataclass
class Row:
    """One model's scores on one split."""

    split: str
    model: str
    result: EvalResult
    calibration: dict[str, float] = field(default_factory=dict)

    def figures(self) -> dict[str, float]:
        return {k: round(v, 4) for k, v in self.result.headline().items()}


@dataclass
class TrainReport:
    """What `train` did: the scores of each model on each split and the promotion decision."""

    rows: list[Row] = field(default_factory=list)
    oof: dict[str, Any] = field(default_factory=dict)
    trained_on: dict[str, Any] = field(default_factory=dict)
    promoted: bool = False
    #: split -> figure -> new - old with its 90% interval (paired bootstrap over the split's documents)
    differences: dict[str, dict[str, str]] = field(default_factory=dict)
    decision: str = ""
    path: Path | None = None
    new_hash: str = ""
    old_name: str = ""

    def table(self) -> str:
        head = f"{'split':<8}{'model':<22}{'units':>6}{'claims':>8}{'topics':>8}{'stance':>8}{'stance2':>8}" \
               f"{'quant':>7}{'speak':>7}{'ECE':>7}"
        lines = [head, "-" * len(head)]
        for r in self.rows:
            f = r.figures()
            cal = r.calibration.get("ece_confidence")
            lines.append(f"{r.split:<8}{r.model:<22}{r.result.units:>6}{f['claims']:>8.3f}{f['topics']:>8.3f}"
                         f"{f['stance']:>8.3f}{f['stance_2']:>8.3f}{f['quantities']:>7.3f}{f['speakers']:>7.3f}"
                         f"{'' if cal is None else format(cal, '.3f'):>7}")
        for split, figures in self.differences.items():
            lines.append(f"new - current on {split}: " + "; ".join(f"{k} {v}" for k, v in figures.items()))
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        return {"rows": [{"split": r.split, "model": r.model, "units": r.result.units, **r.figures(),
                          "calibration": r.calibration} for r in self.rows],
                "oof": self.oof, "trained_on": self.trained_on, "promoted": self.promoted,
                "differences": self.differences,
                "decision": self.decision, "path": str(self.path) if self.path else None,
                "new_hash": self.new_hash, "old": self.old_name}


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def split_file(labels: Path, split: str) -> Path:
    return labels / f"{split}.jsonl"


def calibration_report(nlp: Any, docs: list[dict[str, Any]]) -> dict[str, float]:
    """Expected calibration errors of the stored probabilities on labelled documents: claim
    confidence (the whole reading right), topic probability (the tagged topic is labelled) and
    stance probability (on topics both sides tagged)."""
    conf: list[tuple[float, int]] = []
    topic: list[tuple[float, int]] = []
    stance: list[tuple[float, int]] = []
    for c, unit in _claims_with_units(nlp, docs):
        gold = _gold_topics(unit)
        pred = {slug: t["stance"] for slug, t in c["topics"].items()}
        conf.append((c["confidence"], int(bool(unit.get("claim")) and pred == gold)))
        for slug, t in c["topics"].items():
            if t.get("probability") is None:
                continue
            topic.append((t["probability"], int(slug in gold)))
            if slug in gold:
                stance.append((t["stance_probability"], int(gold[slug] == t["stance"])))
    out = {}
    for name, pairs in (("confidence", conf), ("topic", topic), ("stance", stance)):
        if pairs:
            out[f"ece_{name}"] = round(ece([p for p, _y in pairs], [y for _p, y in pairs]), 4)
            out[f"n_{name}"] = len(pairs)
            out[f"mean_{name}"] = round(sum(p for p, _y in pairs) / len(pairs), 4)
            out[f"accuracy_{name}"] = round(sum(y for _p, y in pairs) / len(pairs), 4)
    return out


def _score(records: list[dict[str, Any]], model: LearnedModel | str, docs: list[dict[str, Any]],
           split: str, name: str) -> Row:
    nlp = build_nlp(topics=records, model=model)
    row = Row(split, name, evaluate(nlp, docs))
    if model != RULES_ONLY:
        row.calibration = calibration_report(nlp, docs)
    return row


def not_worse(new: Row, old: Row, differences: dict[str, Difference]) -> list[str]:
    """The compared figures on which `new` is worse than `old` (empty: not worse): lower in at
    least 95% of the paired resamples in `differences` (`paired_bootstrap` of the two rows), so
    that a difference the luck of the draw could make does not decide."""
    n, o = new.result.headline(), old.result.headline()
    return [f"{k} {n[k]:.3f} < {o[k]:.3f} ({differences[k]})"
            for k in significantly_worse(differences, tolerance=TOLERANCE)]


SHIFT_STRENGTHS = (0.0, 3.0, 6.0, 12.0)
SHIFT_THRESHOLDS = (0.2, 0.25, 0.3, 0.4, 0.5)


def fit_document_shift(current: LearnedModel, examples: list[Example], dev_docs: list[dict[str, Any]],
                       records: list[dict[str, Any]], provenance: dict[str, Any]) -> tuple[LearnedModel, dict[str, Any]]:
    """The current heads with a re-fitted decision rule: topic priors (the mean topic probability
    over the train labels' claims), and the document-shift strength and topic threshold with the
    best topic F1 on `dev_docs` among those whose claims, topics and stance are not significantly
    worse there than the current model's (the dev split mixes text as it comes with text picked
    for its topics). The probability shown on a kept tag is recalibrated on dev for the chosen
    rule. Returns the new model and what was chosen."""
    rows = [current.topic_probabilities(ex.view, ex.claim) for ex in examples if ex.origin == "labels"]
    if not rows:
        raise TrainError("no labelled claims to estimate the topic priors from")
    model = copy.deepcopy(current)
    model.meta.pop("hash", None)
    model.meta["topic_priors"] = [round(float(v), 6) for v in np.mean(rows, axis=0)]
    nlp = build_nlp(topics=records, model=current)
    heads = nlp.get_pipe("insightkb_learned")
    baseline = evaluate(nlp, dev_docs)
    curve: dict[str, float] = {}
    best: tuple[float, float, float] = (baseline.topics.f1, 0.0, current.threshold)
    for strength in SHIFT_STRENGTHS:
        for threshold in SHIFT_THRESHOLDS:
            model.meta.update({"prior_strength": strength, "threshold": threshold})
            heads.use(model)
            result = evaluate(nlp, dev_docs)
            curve[f"{strength:g}/{threshold:g}"] = round(result.topics.f1, 4)
            if result.topics.f1 > best[0] + 1e-9 and not significantly_worse(
                    paired_bootstrap(baseline, result, COMPARED), tolerance=TOLERANCE):
                best = (result.topics.f1, strength, threshold)
    model.meta.update({"prior_strength": best[1], "threshold": best[2]})
    calibration = dict(model.meta.get("calibration", {}))
    model.meta["calibration"] = {**calibration, "topic_tag": [1.0, 0.0]}
    heads.use(model)
    kept = emitted_topic_pairs(nlp, dev_docs)
    calibration["topic_tag"] = platt(np.asarray([logit(p) for p, _y in kept]), np.asarray([y for _p, y in kept]))
    model.meta["calibration"] = calibration
    model.meta["document_shift"] = {**provenance, "claims": len(rows), "chosen_on": "dev", "dev_topic_f1": curve,
                                    "dev_topic_f1_current": round(baseline.topics.f1, 4)}
    return model, {"shift_strength": best[1], "threshold": best[2], "dev_topic_f1": round(best[0], 4)}


def emitted_topic_pairs(nlp: Any, docs: list[dict[str, Any]]) -> list[tuple[float, int]]:
    """(shown probability, whether the unit is labelled with the topic) of every topic tag `nlp` emits."""
    return [(t["probability"], int(slug in _gold_topics(unit))) for c, unit in _claims_with_units(nlp, docs)
            for slug, t in c["topics"].items() if t.get("probability") is not None]


def _claims_with_units(nlp: Any, docs: list[dict[str, Any]]) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """Each claim `nlp` finds in labelled documents with the labelled unit it overlaps most
    (claims overlapping no unit are left out)."""
    for doc in docs:
        claims, _rejected = analyse(nlp, doc["text"])
        for c in claims:
            units = [(u, min(c["end_char"], u["end"]) - max(c["start_char"], u["start"])) for u in doc["units"]]
            units = [(u, o) for u, o in units if o > 0]
            if units:
                yield c, max(units, key=lambda pair: pair[1])[0]


def _gold_topics(unit: dict[str, Any]) -> dict[str, str]:
    """A unit's labelled topics (none for a non-claim unit)."""
    return (unit.get("topics") or {}) if unit.get("claim") else {}


def train(db: sqlite_utils.Database, *, labels: Path = LABELS_DIR, splits: tuple[str, ...] = ("dev", "test"),
          train_files: list[Path] | None = None, corpus: Path | None = None, output: Path | None = None,
          force: bool = False, editor_weight: float = 2.0, settings: Settings | None = None,
          also: list[Path] | None = None, also_weight: float = 0.3, progress: bool = False,
          keep_heads: bool = False) -> TrainReport:
    """Fit a new model on the train labels plus the KB's editor decisions (and `also` labelled
    files at `also_weight`), score it and the current one on `splits`, and promote it (write
    `output`, default beside the KB) when it is not worse on claims, topics and stance on every
    split (or `force`). With `keep_heads`, the current heads stay and only their document shift
    (topic priors, shift strength, threshold) is fitted (`fit_document_shift`)."""
    records, _version = extractor_setup(db)
    rules = build_nlp(topics=records, model=RULES_ONLY)
    files = train_files or [split_file(labels, "train")]
    train_docs = []
    for path in files:
        if not path.exists():
            raise TrainError(f"no labelled training file {path}")
        train_docs += load_labels(path, corpus)
    examples = labelled_examples(rules, train_docs, progress=progress)
    if keep_heads:
        return _refit_shift(db, records, examples, files, labels, splits, corpus, output, force)
    also_docs = [doc for path in also or [] for doc in load_labels(path, corpus)]
    examples += labelled_examples(rules, also_docs, weight=also_weight)
    decisions = editor_decisions(db)
    examples += editor_examples(rules, decisions, weight=editor_weight)
    examples += labelled_examples(rules, topic_example_docs(records), weight=editor_weight, origin="topic")
    if not examples:
        raise TrainError("nothing to train on: no labelled claims and no editor decisions")
    taxonomy = kb_topics(db)
    topics = [t["slug"] for t in taxonomy]
    provenance = {"labels": {p.name: _sha(p) for p in files}, "editor_decisions": len(decisions),
                  "paragraphs": len(train_docs),
                  "also": {p.name: _sha(p) for p in also or []}, "also_weight": also_weight if also else None}
    new, oof = fit(examples, topics, settings=settings, provenance=provenance, topic_words=topic_words(rules, taxonomy))
    report = TrainReport(oof=oof, trained_on=new.meta["trained_on"])
    return _score_and_promote(db, records, new, kb_model(db) or shipped_model(), report, labels, splits, corpus,
                              output, force)


def _refit_shift(db: sqlite_utils.Database, records: list[dict[str, Any]], examples: list[Example],
                 files: list[Path], labels: Path, splits: tuple[str, ...], corpus: Path | None,
                 output: Path | None, force: bool) -> TrainReport:
    current = kb_model(db) or shipped_model()
    if current is None:
        raise TrainError("--keep-heads needs a current model to keep the heads of")
    dev = split_file(labels, "dev")
    if not dev.exists():
        raise TrainError(f"--keep-heads chooses the document shift on the dev split: no labels at {dev}")
    new, chosen = fit_document_shift(current, examples, load_labels(dev, corpus), records,
                                     {"labels": {p.name: _sha(p) for p in files}, "dev": _sha(dev)})
    report = TrainReport(oof=chosen, trained_on=new.meta.get("trained_on", {}))
    return _score_and_promote(db, records, new, current, report, labels, splits, corpus, output, force)


def _score_and_promote(db: sqlite_utils.Database, records: list[dict[str, Any]], new: LearnedModel,
                       old: LearnedModel | None, report: TrainReport, labels: Path, splits: tuple[str, ...],
                       corpus: Path | None, output: Path | None, force: bool) -> TrainReport:
    """Score `new` and `old` on `splits` and promote `new` unless it is significantly worse (or `force`)."""
    report.old_name = f"old {old.hash[:8]}" if old else "old: rules only"
    worse: list[str] = []
    scores: dict[str, Any] = {}
    for split in splits:
        path = split_file(labels, split)
        if not path.exists():
            log.warning("no %s labels at %s: not scored", split, path)
            continue
        docs = load_labels(path, corpus)
        rows = [_score(records, RULES_ONLY, docs, split, "rules only")]
        if old is not None:
            rows.append(_score(records, old, docs, split, f"current {old.hash[:8]}"))
        rows.append(_score(records, new, docs, split, "new"))
        report.rows += rows
        baseline = rows[-2]
        differences = paired_bootstrap(baseline.result, rows[-1].result, COMPARED)
        report.differences[split] = {k: str(d) for k, d in differences.items()}
        worse += [f"{split}: {w}" for w in not_worse(rows[-1], baseline, differences)]
        scores[split] = {**rows[-1].figures(), **rows[-1].calibration, "units": rows[-1].result.units,
                         "labels": _sha(path)}
    new.meta["scores"] = scores
    if not scores and not force:
        report.decision = "kept the current model: no labelled split was scored (--force promotes unscored)"
    elif worse and not force:
        report.decision = "kept the current model: the new one is worse on " + "; ".join(worse)
    else:
        target = output or kb_model_path(db)
        if target is None:
            raise TrainError("an in-memory KB has no place for its model: pass an output path")
        if target.exists():
            target.replace(target.with_name(target.name.replace(".npz", ".previous.npz")))
        new.save(target)
        report.promoted, report.path = True, target
        report.decision = ("promoted (forced) despite: " + "; ".join(worse)) if worse else \
            ("promoted: not significantly worse on " + ", ".join(COMPARED) + " on " + ", ".join(scores) if scores else
             "promoted (forced): no split scored")
    report.new_hash = new.hash
    return report


def learning_curve(db: sqlite_utils.Database, *, labels: Path = LABELS_DIR, splits: tuple[str, ...] = ("dev",),
                   fractions: tuple[float, ...] = (0.25, 0.5, 1.0), corpus: Path | None = None,
                   settings: Settings | None = None, seed: int = 7, also: list[Path] | None = None,
                   also_weight: float = 0.3, progress: bool = False) -> TrainReport:
    """Scores on `splits` of models fitted on nested random fractions of the train paragraphs
    (plus all of `also` at `also_weight`; no editor decisions, nothing promoted), with rules alone
    for reference."""
    records, _version = extractor_setup(db)
    rules = build_nlp(topics=records, model=RULES_ONLY)
    train_path = split_file(labels, "train")
    if not train_path.exists():
        raise TrainError(f"no labelled training file {train_path}")
    train_docs = load_labels(train_path, corpus)
    examples = labelled_examples(rules, train_docs, progress=progress)
    extra = labelled_examples(rules, [doc for path in also or [] for doc in load_labels(path, corpus)],
                              weight=also_weight)
    order = sorted({ex.unit_doc for ex in examples})
    random.Random(seed).shuffle(order)
    taxonomy = kb_topics(db)
    topics = [t["slug"] for t in taxonomy]
    words = topic_words(rules, taxonomy)
    report = TrainReport()
    eval_docs = {s: load_labels(split_file(labels, s), corpus) for s in splits if split_file(labels, s).exists()}
    for split, docs in eval_docs.items():
        report.rows.append(_score(records, RULES_ONLY, docs, split, "rules only"))
    for fraction in fractions:
        chosen = set(order[: max(1, round(fraction * len(order)))])
        subset: list[Example] = [ex for ex in examples if ex.unit_doc in chosen] + extra
        model, _oof = fit(subset, topics, settings=settings, topic_words=words)
        for split, docs in eval_docs.items():
            report.rows.append(_score(records, model, docs, split,
                                      f"{fraction:.0%} ({len(chosen)} par.)"))
    report.decision = "learning curve: nothing promoted"
    return report


__all__ = ["train", "learning_curve", "TrainReport", "TrainError", "calibration_report", "STANCES"]
