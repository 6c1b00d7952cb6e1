"""Score the extractor against a hand-labelled gold file (`insightkb eval GOLD.jsonl`).

Gold format, one document per line:
    {"id": "...", "text": "the document text",
     "units": [{"text": "a sentence or passage of the text", "claim": true,
                "topics": {"latency": "supports"}, "quantities": [{"value": 1e10, "unit": "tokens"}],
                "speaker": "Misha Laskin"}]}
Units are found in the text in order (no offsets to count). Predicted claims are aligned to
the units they overlap: a unit is predicted a claim when claims cover at least half of it;
its predicted topics are those of the claims overlapping it. Stance is scored on the
topics both sides agree on (macro-F1 over supports/opposes); quantities by exact value and
unit among those inside the unit.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spacy.language import Language

from extract.claims import CLAIMS, REJECTED
from extract.screen import screen


class GoldError(Exception):
    "The gold file is missing, not JSONL, or a unit is not in its document's text"


@dataclass
class Score:
    """Counts and precision / recall / F1 of one task."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass
class EvalResult:
    """Scores per task plus the disagreements, for an editor to read."""

    claims: Score = field(default_factory=Score)
    topics: Score = field(default_factory=Score)
    stance: dict[str, Score] = field(default_factory=lambda: {"supports": Score(), "opposes": Score()})
    quantities: Score = field(default_factory=Score)
    speakers: Score = field(default_factory=Score)
    units: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def stance_macro_f1(self) -> float:
        return sum(s.f1 for s in self.stance.values()) / len(self.stance)

    def as_dict(self) -> dict[str, Any]:
        def row(s: Score) -> dict[str, float]:
            return {"precision": round(s.precision, 4), "recall": round(s.recall, 4), "f1": round(s.f1, 4),
                    "tp": s.tp, "fp": s.fp, "fn": s.fn}

        return {
            "units": self.units,
            "claims": row(self.claims),
            "topics": row(self.topics),
            "stance": {**{k: row(v) for k, v in self.stance.items()}, "macro_f1": round(self.stance_macro_f1, 4)},
            "quantities": row(self.quantities),
            "speakers": row(self.speakers),
        }

    def table(self) -> str:
        lines = [f"{'task':<28}{'precision':>10}{'recall':>10}{'F1':>8}", "-" * 56]
        for name, s in (("claim detection", self.claims), ("topics (micro)", self.topics),
                        ("stance: supports", self.stance["supports"]), ("stance: opposes", self.stance["opposes"]),
                        ("quantities (value+unit)", self.quantities), ("speakers", self.speakers)):
            lines.append(f"{name:<28}{s.precision:>10.3f}{s.recall:>10.3f}{s.f1:>8.3f}")
        lines.append(f"{'stance (macro-F1)':<28}{'':>20}{self.stance_macro_f1:>8.3f}")
        lines.append(f"{self.units} gold units")
        return "\n".join(lines)


def load_gold(path: str | Path) -> list[dict[str, Any]]:
    """The gold documents, each unit given its character offsets."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise GoldError(f"cannot read gold file {path}: {exc.strerror or exc}") from None
    docs = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
        except json.JSONDecodeError as exc:
            raise GoldError(f"{path}:{n}: not JSON ({exc.msg})") from None
        if not isinstance(doc, dict) or "text" not in doc or "units" not in doc:
            raise GoldError(f"{path}:{n}: a gold line needs \"text\" and \"units\"")
        pos = 0
        for unit in doc["units"]:
            at = doc["text"].find(unit["text"], pos)
            if at < 0:
                raise GoldError(f"{path}:{n}: unit not found in the text (in order): {unit['text'][:60]!r}")
            unit["start"], unit["end"] = at, at + len(unit["text"])
            pos = unit["end"]
        docs.append(doc)
    return docs


def predict(nlp: Language, text: str) -> list[dict[str, Any]]:
    """The pipeline's claims for one text, with document offsets."""
    return analyse(nlp, text)[0]


def analyse(nlp: Language, text: str) -> tuple[list[dict[str, Any]], list[list[Any]]]:
    """The pipeline's claims and non-claims ([start_char, end_char, reason]) for one text, with
    document offsets."""
    result = screen(text)
    if result.skip:
        return [], [[0, len(text), result.skip]]
    out = []
    rejected = []
    for start, end in result.chunks():
        doc = nlp(result.text[start:end])
        rejected += [[a + start, b + start, why] for a, b, why in doc.user_data.get(REJECTED, [])]
        for c in doc.user_data.get(CLAIMS, []):
            c = dict(c)
            c["start_char"] += start
            c["end_char"] += start
            c["quantities"] = [{**q, "start_char": q["start_char"] + start, "end_char": q["end_char"] + start}
                               for q in c["quantities"]]
            out.append(c)
    return out, rejected


def evaluate(nlp: Language, gold: list[dict[str, Any]]) -> EvalResult:
    """Score `nlp` on the gold documents."""
    result = EvalResult()
    for doc in gold:
        claims, rejected = analyse(nlp, doc["text"])
        for unit in doc["units"]:
            result.units += 1
            _score_unit(result, doc, unit, claims, rejected)
    return result


def _overlap(a0: int, a1: int, b0: int, b1: int) -> int:
    return max(0, min(a1, b1) - max(a0, b0))


def _score_unit(result: EvalResult, doc: dict[str, Any], unit: dict[str, Any], claims: list[dict[str, Any]],
                rejected: list[list[Any]]) -> None:
    s, e = unit["start"], unit["end"]
    where = f"[{doc.get('id', '?')}] {unit['text'][:70]!r}"
    touching = [(c, _overlap(s, e, c["start_char"], c["end_char"])) for c in claims]
    touching = [(c, o) for c, o in touching if o > 0]
    covered = sum(o for _c, o in touching)
    predicted = covered * 2 >= (e - s)
    gold_claim = bool(unit.get("claim"))
    if gold_claim and predicted:
        result.claims.tp += 1
    elif predicted:
        result.claims.fp += 1
        result.errors.append(f"claim FP {where}")
    elif gold_claim:
        result.claims.fn += 1
        why = sorted({r for a, b, r in rejected if _overlap(s, e, a, b)})
        result.errors.append(f"claim FN {where}" + (f" (not a claim: {', '.join(why)})" if why else ""))
    gold_topics: dict[str, str] = unit.get("topics") or {}
    pred_topics: dict[str, tuple[str, int]] = {}
    for c, o in touching:
        for slug, t in c["topics"].items():
            if slug not in pred_topics or pred_topics[slug][1] < o:
                pred_topics[slug] = (t["stance"], o)
    for slug in set(gold_topics) | set(pred_topics):
        if slug in gold_topics and slug in pred_topics:
            result.topics.tp += 1
            g, p = gold_topics[slug], pred_topics[slug][0]
            for label, score in result.stance.items():
                if g == label and p == label:
                    score.tp += 1
                elif p == label:
                    score.fp += 1
                elif g == label:
                    score.fn += 1
            if g != p:
                result.errors.append(f"stance {slug} gold={g} predicted={p} {where}")
        elif slug in pred_topics:
            result.topics.fp += 1
            result.errors.append(f"topic FP {slug} {where}")
        else:
            result.topics.fn += 1
            result.errors.append(f"topic FN {slug} {where}")
    gold_q = [(float(q["value"]), q.get("unit")) for q in unit.get("quantities") or []]
    pred_q = [(q["value"], q["unit"]) for c, _o in touching for q in c["quantities"]
              if s <= q["start_char"] and q["end_char"] <= e]
    for value, qunit in pred_q:
        match = next((g for g in gold_q if g[1] == qunit and math.isclose(g[0], value, rel_tol=1e-6)), None)
        if match:
            gold_q.remove(match)
            result.quantities.tp += 1
        else:
            result.quantities.fp += 1
            result.errors.append(f"quantity FP {value} {qunit} {where}")
    for value, qunit in gold_q:
        result.quantities.fn += 1
        result.errors.append(f"quantity FN {value} {qunit} {where}")
    gold_speaker = (unit.get("speaker") or "").lower() or None
    pred_speakers = {(c.get("speaker") or "").lower() for c, _o in touching if s <= c["start_char"] < e} - {""}
    if gold_speaker and gold_speaker in pred_speakers:
        result.speakers.tp += 1
    else:
        if gold_speaker:
            result.speakers.fn += 1
            result.errors.append(f"speaker FN {gold_speaker} {where}")
        for sp in pred_speakers - {gold_speaker}:
            result.speakers.fp += 1
            result.errors.append(f"speaker FP {sp} {where}")


def evaluate_files(paths: list[str], *, db: Any = None) -> EvalResult:
    """Load the gold files and score the pipeline built with the KB's topic patterns (shipped ones without a KB)."""
    from extract.nlp import build_nlp
    from extract.runner import extractor_setup

    gold = [doc for path in paths for doc in load_gold(path)]
    patterns = extractor_setup(db)[0] if db is not None else None
    return evaluate(build_nlp(topic_patterns=patterns), gold)
