"""Extraction on a two-worker Dask cluster on this machine against the same step in one process.

Starts a real cluster with Dask's CLI (`dask scheduler`, two `dask worker --nthreads 1`
processes on loopback), warms it (each worker builds the pipeline once), then times the whole
`extract` step into a fresh KB: in this process (before and after the cluster run; the baseline
is the mean of the two, the machine being shared), and with the cluster. Then:

- the engine's overhead per batch: a task that does nothing with a real batch of pieces, one
  batch in flight (the round trip) and `max_in_flight` batches (what the pipeline pays);
- the KB's write rate of extraction results: the same results replayed into a fresh KB, so
  only the driver's work remains (screening and storing), the ceiling of one SQLite writer.

    python -m bench cluster                  # 300k tokens
    python -m bench cluster --quick          # 60k tokens
    python -m bench cluster --tokens=1000000 --batch-size=16 --max-in-flight=8
    python -m bench cluster --corpus=gold    # shuffled gold paragraphs instead of ../shared/corpus

Wall-clock figures on a shared machine are blurred twice: by the others' load, and by Linux
autogroup scheduling, which gives this session's processes (the local run, or the workers and the
driver together) one share of a busy CPU. The CPU-time figures are what to compare.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Iterable, Iterator

ROOT = Path(__file__).resolve().parent.parent
GOLD = ROOT / "tests" / "fixtures" / "gold"
DASK = Path(sys.executable).parent / "dask"


def corpus(tokens: int, seed: int = 7) -> list[str]:
    """Documents of 6-14 shuffled gold paragraphs, at least `tokens` tokens in all."""
    import spacy

    paragraphs = [p for path in sorted(GOLD.glob("*.jsonl")) for line in path.read_text(encoding="utf-8").splitlines()
                  if line.strip() for p in json.loads(line)["text"].split("\n\n") if p.strip()]
    tokenizer = spacy.blank("en").tokenizer
    sizes = {p: len(tokenizer(p)) for p in paragraphs}
    rng = random.Random(seed)
    docs, total = [], 0
    while total < tokens:
        chosen = rng.sample(paragraphs, rng.randint(6, 14))
        docs.append(f"[{len(docs)}]\n\n" + "\n\n".join(chosen))
        total += sum(sizes[p] for p in chosen)
    return docs


REAL = ROOT.parent / "shared" / "corpus" / "paragraphs.jsonl"


def real_corpus(tokens: int) -> list[str]:
    """Real newsletters, posts and transcripts from ../shared/corpus (read there, never copied):
    each source file's paragraphs in order, whole documents until `tokens` (empty when absent)."""
    import spacy

    if not REAL.exists():
        return []
    documents: dict[tuple[str, str], list[tuple[int, str]]] = {}
    for line in REAL.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        documents.setdefault((row["source_repo"], row["path"]), []).append((row["para_index"], row["text"]))
    keys = sorted(documents)
    random.Random(7).shuffle(keys)
    tokenizer = spacy.blank("en").tokenizer
    docs, total = [], 0
    for key in keys:
        if total >= tokens:
            break
        text = "\n\n".join(t for _i, t in sorted(documents[key]))
        docs.append(text)
        total += len(tokenizer(text))
    return docs


def make_kb(path: Path, docs: list[str]):
    from kb import open_db
    from kb.documents import save_document
    from kb.records import Document, Source
    from kb.sources import add_source

    db = open_db(path)
    source = add_source(db, Source(url="file:///bench-cluster", kind="text"))
    for i, text in enumerate(docs):
        save_document(db, Document(source_id=source.id, guid=f"bench-{i}", text=text))
    return db


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalDask:
    """`dask scheduler` and `workers` x `dask worker --nthreads 1` on loopback, as separate processes."""

    def __init__(self, workers: int, logs: Path) -> None:
        port = _free_port()
        self.address = f"tcp://127.0.0.1:{port}"
        env = {**os.environ, "PYTHONPATH": str(ROOT)}  # the no-op task below lives in bench/
        self.procs = [subprocess.Popen([str(DASK), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                                        "--dashboard-address", f"127.0.0.1:{_free_port()}"],
                                       stdout=(logs / "scheduler.log").open("wb"), stderr=subprocess.STDOUT, env=env)]
        for i in range(workers):
            self.procs.append(subprocess.Popen([str(DASK), "worker", self.address, "--nthreads", "1", "--no-nanny",
                                                "--name", f"w{i + 1}", "--no-dashboard"],
                                               stdout=(logs / f"w{i + 1}.log").open("wb"), stderr=subprocess.STDOUT,
                                               env=env))
        self.workers = workers

    def wait(self) -> float:
        from distributed import Client

        started = time.perf_counter()
        deadline = time.monotonic() + 120
        while True:
            try:
                client = Client(self.address, timeout=5, set_as_default=False)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        with client:
            client.wait_for_workers(self.workers, timeout=120)
        return time.perf_counter() - started

    def rss_mb(self) -> list[float]:
        import psutil

        return [psutil.Process(p.pid).memory_info().rss / 2**20 for p in self.procs if p.poll() is None]

    def worker_cpu(self) -> list[float]:
        """CPU seconds (user + system) each worker process has used so far."""
        import psutil

        return [sum(psutil.Process(p.pid).cpu_times()[:2]) for p in self.procs[1:] if p.poll() is None]

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()


def noop(model: Any, batch: list[Any]) -> int:
    """A task that does nothing with its batch (for the engine's overhead)."""
    return len(batch)


def no_model() -> None:
    return None


def _timed_extract(docs: list[str], tmp: Path, name: str, **kwargs: Any) -> dict[str, Any]:
    from extract import extract_pending

    db = make_kb(tmp / f"{name}.db", docs)
    started = time.perf_counter()
    cpu = time.process_time()
    report = extract_pending(db, **kwargs)
    out = {"seconds": time.perf_counter() - started, "cpu": time.process_time() - cpu, "tokens": report.tokens,
           "documents": report.documents, "claims": db["claims"].count, "summary": report.summary(),
           "text_bytes": db.execute("SELECT sum(length(text)) FROM documents").fetchone()[0]}
    db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.conn.close()
    out["kb_bytes"] = (tmp / f"{name}.db").stat().st_size
    return out


class Recorder:
    """An in-process executor that keeps every batch's result, to replay them later."""

    def __init__(self) -> None:
        from cluster.local import InProcessExecutor

        self.inner = InProcessExecutor()
        self.results: dict[tuple, Any] = {}

    def map(self, run, batches, **kwargs) -> Iterator[Any]:
        for outcome in self.inner.map(run, batches, **kwargs):
            self.results[_batch_key(outcome.batch)] = outcome.result
            yield outcome

    def summary(self) -> str:
        return self.inner.summary()


class Replay:
    """Hands back recorded results at once: what remains is the driver's own work."""

    def __init__(self, results: dict[tuple, Any]) -> None:
        self.results = results

    def map(self, run, batches: Iterable[Any], **kwargs) -> Iterator[Any]:
        from cluster import Outcome

        for batch in batches:
            yield Outcome(batch=batch, result=self.results[_batch_key(batch)])

    def summary(self) -> str:
        return "replayed"


def _batch_key(batch: list[tuple[str, tuple[int, int]]]) -> tuple:
    return tuple(ids for _text, ids in batch)


def overhead(executor: Any, batches: list[Any], in_flight: int) -> float:
    """Seconds per batch for the no-op task with `in_flight` batches out."""
    executor.max_in_flight = in_flight
    started = time.perf_counter()
    done = sum(o.result for o in executor.map(noop, batches, name="insightkb-bench-noop", key="bench-noop",
                                              load=no_model))
    assert done == sum(len(b) for b in batches)
    return (time.perf_counter() - started) / len(batches)


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench cluster", description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=300_000)
    parser.add_argument("--quick", action="store_true", help="60k tokens")
    parser.add_argument("--batch-size", type=int, default=16,
                        help="pieces per batch (a cluster task also stops at extract.runner.TASK_CHARS of text)")
    parser.add_argument("--max-in-flight", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--corpus", choices=["real", "gold"], default="real",
                        help="real: ../shared/corpus documents (gold when absent); gold: shuffled gold paragraphs")
    args = parser.parse_args(argv)
    tokens = 60_000 if args.quick else args.tokens

    from cluster.dask_engine import DaskExecutor
    from extract import build_nlp
    from extract.screen import load_language_identifier, screen

    docs = real_corpus(tokens) if args.corpus == "real" else []
    what = "real documents from ../shared/corpus"
    if not docs:
        docs, what = corpus(tokens), "shuffled gold paragraphs"
    print(f"corpus: {len(docs)} documents, >= {tokens:,} tokens ({what}); "
          f"batches of {args.batch_size} pieces, at most {args.max_in_flight} in flight", flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    try:
        loading = time.perf_counter()
        nlp = build_nlp()
        nlp("warm up")
        load_language_identifier()
        print(f"local     pipeline load {time.perf_counter() - loading:.1f}s (not timed below)", flush=True)
        before = _timed_extract(docs, tmp, "local-before", nlp=nlp, batch_size=args.batch_size)
        print(f"local     before: {_line(before)}", flush=True)

        cluster = LocalDask(args.workers, tmp)
        try:
            up = cluster.wait()
            print(f"cluster   scheduler + {args.workers} workers up in {up:.1f}s; idle RSS "
                  + ", ".join(f"{mb:.0f}" for mb in cluster.rss_mb()) + " MB (scheduler first)", flush=True)
            with DaskExecutor(cluster.address, max_in_flight=args.max_in_flight) as executor:
                warm = time.perf_counter()
                _timed_extract(docs[:4], tmp, "warm", executor=executor, batch_size=args.batch_size)
                print(f"cluster   workers build the pipeline once: first run of 4 documents {time.perf_counter() - warm:.1f}s",
                      flush=True)
                cpu_before = cluster.worker_cpu()
                from distributed import get_task_stream

                batches_before = executor.batches
                with get_task_stream(executor.client) as stream:
                    remote = _timed_extract(docs, tmp, "cluster", executor=executor, batch_size=args.batch_size)
                worker_cpu = [b - a for a, b in zip(cpu_before, cluster.worker_cpu())]
                n_batches = executor.batches - batches_before
                busy = sum(ss["stop"] - ss["start"] for task in stream.data for ss in task["startstops"]
                           if ss["action"] == "compute")
                print(f"cluster   {args.workers} workers: {_line(remote)}; driver CPU {remote['cpu']:.1f}s "
                      f"({remote['cpu'] / remote['seconds']:.0%} of one core), worker CPU "
                      + " + ".join(f"{c:.1f}s" for c in worker_cpu)
                      + f"; workers busy computing {busy / (remote['seconds'] * args.workers):.0%} of the run "
                      f"({busy / max(1e-9, sum(worker_cpu)):.1f}s of wall time per CPU second)", flush=True)
                print("cluster   RSS after: " + ", ".join(f"{mb:.0f}" for mb in cluster.rss_mb()) + " MB", flush=True)
                from extract.runner import TASK_CHARS, _batches
                pieces = [(text[:50_000], (i, 0)) for i, text in enumerate(docs)]
                batches = list(_batches(pieces, args.batch_size, TASK_CHARS))
                kb_per_batch = sum(len(t) for b in batches for t, _ in b) / len(batches) / 1024
                latency = overhead(executor, batches[:60], 1)
                pipelined = overhead(executor, batches * max(1, 300 // len(batches)), args.max_in_flight)
        finally:
            cluster.stop()
        after = _timed_extract(docs, tmp, "local-after", nlp=nlp, batch_size=args.batch_size)
        print(f"local     after: {_line(after)}", flush=True)
        base = (_rate(before) + _rate(after)) / 2
        print(f"result    wall clock: local (mean of before/after) {base:,.0f} tokens/s; cluster of {args.workers} "
              f"{_rate(remote):,.0f} tokens/s = {_rate(remote) / base:.2f}x (a shared machine: see CPU below)", flush=True)
        # CPU time is what a shared machine cannot blur: tokens per CPU second of the step
        local_cpu = (before["cpu"] + after["cpu"]) / 2
        per_worker = remote["tokens"] / sum(worker_cpu)
        print(f"result    CPU: local {remote['tokens'] / local_cpu:,.0f} tokens per CPU second (analysis and storing "
              f"in one process); on the cluster {per_worker:,.0f} tokens per worker CPU second plus "
              f"{remote['tokens'] / remote['cpu']:,.0f} per driver CPU second; on {args.workers} idle cores "
              f"the cluster would run at about {min(args.workers * per_worker, remote['tokens'] / remote['cpu']):,.0f} "
              f"tokens/s = {min(args.workers * per_worker, remote['tokens'] / remote['cpu']) / (remote['tokens'] / local_cpu):.2f}x "
              f"one local process", flush=True)
        extra = sum(worker_cpu) + remote["cpu"] - local_cpu
        print(f"result    CPU the distribution adds (workers + driver - local): {extra:.1f}s over {n_batches} batches "
              f"= {extra / n_batches * 1000:.0f} ms per batch ({extra / local_cpu:.1%} of the step)", flush=True)
        print(f"result    engine overhead per batch (no-op task, {kb_per_batch:.0f} KB of text per batch): "
              f"{latency * 1000:.1f} ms round trip with 1 in flight, {pipelined * 1000:.2f} ms with "
              f"{args.max_in_flight} in flight; a real batch here took {busy / n_batches * 1000:.0f} ms on its worker",
              flush=True)

        recorder = Recorder()
        _timed_extract(docs, tmp, "record", executor=recorder, batch_size=args.batch_size)
        replayed = _timed_extract(docs, tmp, "replay", executor=Replay(recorder.results), batch_size=args.batch_size)
        started = time.perf_counter()
        for text in docs:
            screen(text)
        screening = time.perf_counter() - started
        store = replayed["seconds"] - screening
        print(f"kb writes replayed results: {replayed['documents']:,} documents, {replayed['claims']:,} claims in "
              f"{replayed['seconds']:.1f}s (screening {screening:.1f}s of it) = "
              f"{replayed['documents'] / store:,.0f} documents/s, {replayed['claims'] / store:,.0f} claims/s, "
              f"{replayed['tokens'] / store:,.0f} tokens/s stored by the one writer", flush=True)
        print(f"kb size   {replayed['kb_bytes'] / 2**20:.1f} MB for {replayed['documents']:,} documents = "
              f"{replayed['kb_bytes'] / replayed['documents'] / 1024:.1f} KB per document, "
              f"{replayed['kb_bytes'] / replayed['tokens']:.0f} bytes per token "
              f"({replayed['kb_bytes'] / replayed['text_bytes']:.1f}x its text); "
              f"{replayed['claims'] / replayed['tokens'] * 1000:.1f} claims per 1,000 tokens", flush=True)
        print(f"peak RSS of this process {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _rate(result: dict[str, Any]) -> float:
    return result["tokens"] / result["seconds"]


def _line(result: dict[str, Any]) -> str:
    return (f"{result['documents']:,} documents, {result['tokens']:,} tokens, {result['claims']:,} claims in "
            f"{result['seconds']:.1f}s = {_rate(result):,.0f} tokens/s")


if __name__ == "__main__":
    main(sys.argv[1:])
