"""Score the extractor against hand-labelled files (`insightkb eval FILE.jsonl ...`).

Two formats, one document per line:

- gold files (tests/fixtures/gold/) carry their text and find each unit in it in order:
    {"id": "...", "text": "the document text",
     "units": [{"text": "a sentence or passage of the text", "claim": true,
                "topics": {"latency": "supports"}, "quantities": [{"value": 1e10, "unit": "tokens"}],
                "speaker": "Misha Laskin"}]}
- stand-off label files (extract/labels/*.jsonl) name a paragraph of the real corpus
  (../shared/corpus/paragraphs.jsonl) and give character offsets into its text, which is read
  from the corpus (never copied into the project); each paragraph is extracted as a document
  (a transcript paragraph's speaker is its passage speaker, as ingest gives it):
    {"id": "b71c80527861", "labeler": "A",
     "units": [{"start": 0, "end": 57, "claim": true, "topics": {...},
                "quantities": [{"start": 12, "end": 17, "value": 0.15, "unit": "s", "upper": null}],
                "speaker": ""}]}

Predicted claims are aligned to the units they overlap: a unit is predicted a claim when
claims cover at least half of it; its predicted topics are those of the claims overlapping it.
Stance is scored on the topics both sides agree on: macro-F1 over supports / opposes / neutral,
and the two-class figure over supports / opposes; quantities by value and unit (unit names and
scales normalised on both sides: 150 ms = 0.15 s, GPUs = GPU) among those inside the unit.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from spacy.language import Language

from extract.claims import CLAIMS, REJECTED
from extract.lexicon import read_jsonl
from extract.screen import screen

STANCES = ("supports", "opposes", "neutral")
DEFAULT_CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus" / "paragraphs.jsonl"


class GoldError(Exception):
    "The gold file is missing, not JSONL, or a unit is not in its document's text"


class CorpusMissing(GoldError):
    "Stand-off labels need the corpus text, and the corpus file is absent"


def corpus_path(explicit: str | Path | None = None) -> Path:
    """The real corpus: `explicit`, else $INSIGHTKB_CORPUS, else ../shared/corpus/paragraphs.jsonl."""
    return Path(explicit or os.environ.get("INSIGHTKB_CORPUS") or DEFAULT_CORPUS)


def read_corpus(path: str | Path, ids: set[str] | None = None) -> dict[str, dict[str, Any]]:
    """Corpus rows by paragraph id (only `ids` when given)."""
    path = Path(path)
    if not path.exists():
        raise CorpusMissing(f"the corpus {path} is absent")
    out = {}
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            if ids is None or row["id"] in ids:
                out[row["id"]] = row
    return out


@lru_cache(maxsize=1)
def _unit_aliases() -> dict[str, tuple[str, float]]:
    return {row["alias"]: (row["unit"], float(row["factor"])) for row in read_jsonl("units.jsonl")}


@lru_cache(maxsize=1)
def _per_aliases() -> dict[str, str]:
    """Unit names after a "/": a time keeps its own unit ("usd/hr" -> "usd/hour"), other aliases apply."""
    rows = read_jsonl("units.jsonl")
    return {row["alias"]: row.get("per_unit") or row["unit"] for row in rows
            if row.get("per_unit") or float(row["factor"]) == 1}


def _singular(word: str) -> str:
    """"entries" -> "entry", "GPUs" -> "gpu", "class" stays."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def normalise_quantity(value: float, unit: str | None) -> tuple[float, str]:
    """(value, unit) with unit names and scales made comparable: lower case, singular, aliases
    and scales from data/units.jsonl ("150", "ms" -> 0.15, "s"; "GPUs" -> "gpu"; "$" -> "usd")."""
    name = " ".join((unit or "").lower().split())
    parts = [_singular(p) for p in name.split("/")]
    name = "/".join(parts)
    aliases = _unit_aliases()
    factor = 1.0
    if name in aliases:
        name, factor = aliases[name]
    elif "/" in name:
        per = _per_aliases()
        parts = [per.get(p, p) for p in parts]
        name = "/".join(parts)
        name = aliases.get(name, (name, 1.0))[0]
    return float(value) * factor, name


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
    stance: dict[str, Score] = field(default_factory=lambda: {label: Score() for label in STANCES})
    quantities: Score = field(default_factory=Score)
    speakers: Score = field(default_factory=Score)
    units: int = 0
    errors: list[str] = field(default_factory=list)

    documents: int = 0
    #: each document's `counts()`, in order: what a paired bootstrap resamples (extract.compare)
    document_counts: list[list[int]] = field(default_factory=list, repr=False)

    def scores(self) -> list[Score]:
        """Every Score in a fixed order: claims, topics, the three stances, quantities, speakers."""
        return [self.claims, self.topics, *(self.stance[label] for label in STANCES), self.quantities, self.speakers]

    def counts(self) -> list[int]:
        """tp, fp, fn of every Score of `scores()`, flattened."""
        return [n for s in self.scores() for n in (s.tp, s.fp, s.fn)]

    @property
    def stance_macro_f1(self) -> float:
        """Macro-F1 over supports / opposes / neutral, on the topics both sides tagged."""
        return sum(self.stance[label].f1 for label in STANCES) / len(STANCES)

    @property
    def stance_two_class_f1(self) -> float:
        """Macro-F1 over supports / opposes only (neutral counts as a miss or a false alarm)."""
        return (self.stance["supports"].f1 + self.stance["opposes"].f1) / 2

    def headline(self) -> dict[str, float]:
        """The five figures the issue asks for (F1)."""
        return {"claims": self.claims.f1, "topics": self.topics.f1, "stance": self.stance_macro_f1,
                "stance_2": self.stance_two_class_f1, "quantities": self.quantities.f1,
                "speakers": self.speakers.f1}

    def as_dict(self) -> dict[str, Any]:
        def row(s: Score) -> dict[str, float]:
            return {"precision": round(s.precision, 4), "recall": round(s.recall, 4), "f1": round(s.f1, 4),
                    "tp": s.tp, "fp": s.fp, "fn": s.fn}

        return {
            "units": self.units,
            "documents": self.documents,
            "claims": row(self.claims),
            "topics": row(self.topics),
            "stance": {**{k: row(v) for k, v in self.stance.items()}, "macro_f1": round(self.stance_macro_f1, 4),
                       "macro_f1_two_class": round(self.stance_two_class_f1, 4)},
            "quantities": row(self.quantities),
            "speakers": row(self.speakers),
        }

    def table(self) -> str:
        lines = [f"{'task':<28}{'precision':>10}{'recall':>10}{'F1':>8}", "-" * 56]
        for name, s in (("claim detection", self.claims), ("topics (micro)", self.topics),
                        ("stance: supports", self.stance["supports"]), ("stance: opposes", self.stance["opposes"]),
                        ("stance: neutral", self.stance["neutral"]),
                        ("quantities (value+unit)", self.quantities), ("speakers", self.speakers)):
            lines.append(f"{name:<28}{s.precision:>10.3f}{s.recall:>10.3f}{s.f1:>8.3f}")
        lines.append(f"{'stance (macro-F1)':<28}{'':>20}{self.stance_macro_f1:>8.3f}")
        lines.append(f"{'stance (supports/opposes)':<28}{'':>20}{self.stance_two_class_f1:>8.3f}")
        lines.append(f"{self.units} labelled units in {self.documents} documents")
        return "\n".join(lines)


def _read_lines(path: Path) -> list[tuple[int, dict[str, Any]]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise GoldError(f"cannot read gold file {path}: {exc.strerror or exc}") from None
    out = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
        except json.JSONDecodeError as exc:
            raise GoldError(f"{path}:{n}: not JSON ({exc.msg})") from None
        if not isinstance(doc, dict) or "units" not in doc or not isinstance(doc["units"], list):
            raise GoldError(f"{path}:{n}: a labelled line needs \"units\" (and \"text\", or an \"id\" of the corpus)")
        out.append((n, doc))
    return out


def is_standoff(path: str | Path) -> bool:
    """Whether the file holds stand-off labels (ids and offsets, no text)."""
    lines = _read_lines(Path(path))
    return bool(lines) and "text" not in lines[0][1]


def load_labels(path: str | Path, corpus: str | Path | None = None) -> list[dict[str, Any]]:
    """Labelled documents of either format, each with "text" and units with "start"/"end".

    Stand-off files read their paragraphs' text from the corpus (`CorpusMissing` when absent).
    """
    path = Path(path)
    lines = _read_lines(path)
    if not lines or "text" in lines[0][1]:
        return load_gold(path)
    texts = read_corpus(corpus_path(corpus), {doc.get("id") for _n, doc in lines})
    docs = []
    for n, doc in lines:
        row = texts.get(doc.get("id"))
        if row is None:
            raise GoldError(f"{path}:{n}: paragraph {doc.get('id')!r} is not in the corpus")
        text = row["text"]
        for unit in doc["units"]:
            s, e = unit.get("start"), unit.get("end")
            if not (isinstance(s, int) and isinstance(e, int) and 0 <= s < e <= len(text)):
                raise GoldError(f"{path}:{n}: unit offsets {s}..{e} outside the paragraph ({len(text)} characters)")
            unit["text"] = text[s:e]
        docs.append({**doc, "text": text, "group": f"{row.get('source_repo')}:{row.get('path')}",
                     "speaker": row.get("speaker")})
    return docs


def load_gold(path: str | Path) -> list[dict[str, Any]]:
    """The gold documents (text inline), each unit given its character offsets."""
    path = Path(path)
    docs = []
    for n, doc in _read_lines(path):
        if "text" not in doc:
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
        result.documents += 1
        before = result.counts()
        claims, rejected = analyse(nlp, doc["text"])
        if doc.get("speaker"):  # a transcript paragraph: its speaker is the passage's, as ingest gives it
            claims = [c if c.get("speaker") else {**c, "speaker": doc["speaker"]} for c in claims]
        for unit in doc["units"]:
            result.units += 1
            _score_unit(result, doc, unit, claims, rejected)
        result.document_counts.append([a - b for a, b in zip(result.counts(), before)])
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
    gold_q = [normalise_quantity(q["value"], q.get("unit")) for q in unit.get("quantities") or []]
    pred_q = [normalise_quantity(q["value"], q["unit"]) for c, _o in touching for q in c["quantities"]
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
    gold_speaker = " ".join((unit.get("speaker") or "").lower().split()) or None
    # the claims that speak for this unit: one starting in it, or one covering most of it (a sentence
    # the extractor joined to the claim before it is attributed with that claim)
    pred_speakers = {" ".join((c.get("speaker") or "").lower().split()) for c, o in touching
                     if s <= c["start_char"] < e or o * 2 >= e - s} - {""}
    if gold_speaker and gold_speaker in pred_speakers:
        result.speakers.tp += 1
    else:
        if gold_speaker:
            result.speakers.fn += 1
            result.errors.append(f"speaker FN {gold_speaker} {where}")
        for sp in pred_speakers - {gold_speaker}:
            result.speakers.fp += 1
            result.errors.append(f"speaker FP {sp} {where}")


def evaluate_files(paths: list[str], *, db: Any = None, corpus: str | Path | None = None,
                   model: Any = None) -> tuple[EvalResult, list[str]]:
    """Load the labelled files and score the pipeline built with the KB's topics and learned
    model (the shipped ones without a KB; `model` a file or `RULES_ONLY` overrides the model).

    Returns the scores and one line per file skipped because its corpus text is absent."""
    from extract.nlp import build_nlp
    from extract.runner import extractor_setup, kb_model

    gold: list[dict[str, Any]] = []
    skipped: list[str] = []
    for path in paths:
        try:
            gold += load_labels(path, corpus)
        except CorpusMissing as exc:
            skipped.append(f"skipped {path}: its paragraphs' text is read from the corpus, and {exc}"
                           " (set --corpus or INSIGHTKB_CORPUS)")
    topics = extractor_setup(db)[0] if db is not None else None
    if model is None and db is not None:
        model = kb_model(db)
    return evaluate(build_nlp(topics=topics, model=model), gold), skipped
