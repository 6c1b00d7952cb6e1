"""Transcription on a two-worker Dask cluster on this machine against the same step in one process.

Speech is generated (espeak-ng, as `bench transcribe`), served with its podcast feed from a
loopback HTTP server and ingested into fresh KBs. The whole `transcribe` step (fetch through the
shipped safe fetcher, decode, transcribe, store) runs in this process before and after the
cluster run (the baseline is their mean, the machine being shared), and on a real cluster started
with Dask's CLI (`dask scheduler`, two `dask worker --nthreads 1`), warmed first so each worker
has loaded Whisper once. Figures: real-time factor (audio seconds per wall second) and audio
seconds per CPU second, which a shared machine cannot blur.

    python -m bench cluster_transcribe                 # 6 episodes of ~45 s
    python -m bench cluster_transcribe --quick         # 4 episodes of ~20 s
    python -m bench cluster_transcribe --episodes=8 --seconds=60 --threads=1

`--threads` is CTranslate2's threads per transcription (default 1: one core per worker, and one
core for the local run, so the cluster's two workers are twice the local CPU).
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import threading
import time
from functools import partial
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def make_site(folder: Path, episodes: int, seconds: float) -> str:
    """`episodes` spoken MP3s and their feed under `folder`, served on loopback; returns the feed URL."""
    from bench.transcribe import QuietHandler, script
    from tests.transcribe.speechgen import spoken_mp3

    folder.mkdir(parents=True, exist_ok=True)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(folder)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    items = []
    for i in range(episodes):
        spoken_mp3(script(int(seconds * 2.4), seed=100 + i), folder / f"e{i}.mp3")
        items.append(f"<item><title>Episode {i}</title><guid>e{i}</guid><description>Notes {i}.</description>"
                     f'<enclosure url="{base}/e{i}.mp3" type="audio/mpeg" length="1"/></item>')
    (folder / "feed.xml").write_text('<?xml version="1.0"?><rss version="2.0"><channel><title>Bench</title>'
                                     + "".join(items) + "</channel></rss>", encoding="utf-8")
    return f"{base}/feed.xml"


def make_kb(path: Path, feed: str):
    from ingest import IngestOptions, ingest_sources
    from kb import open_db
    from kb.records import Source
    from kb.sources import add_source

    db = open_db(path)
    source = add_source(db, Source(url=feed, kind="podcast", allow_private=True))
    ingest_sources(db, [source], IngestOptions())
    return db


def timed(path: Path, feed: str, settings: Any, options: Any, **kwargs: Any) -> dict[str, float]:
    """The whole transcribe step into a fresh KB: wall and CPU seconds of this process, audio seconds."""
    from insightkb.audio import audio_fetcher
    from transcribe import transcribe_pending

    db = make_kb(path, feed)
    started, cpu = time.perf_counter(), time.process_time()
    report = transcribe_pending(db, options, audio_fetcher(settings), audio_dir=path.with_suffix(".audio"), **kwargs)
    out = {"seconds": time.perf_counter() - started, "cpu": time.process_time() - cpu, "audio": report.audio_seconds,
           "transcribed": report.transcribed, "episodes": report.episodes}
    assert report.transcribed == report.episodes, report.summary()
    db.conn.close()
    return out


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench cluster_transcribe", description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=6)
    parser.add_argument("--seconds", type=float, default=45.0, help="about this much speech per episode")
    parser.add_argument("--threads", type=int, default=1, help="CTranslate2 threads per transcription")
    parser.add_argument("--quick", action="store_true", help="4 episodes of ~20 s")
    args = parser.parse_args(argv)
    if args.quick:
        args.episodes, args.seconds = 4, 20.0
    sys.path.insert(0, str(ROOT))
    from tests.transcribe.speechgen import ESPEAK

    if ESPEAK is None:
        print("bench cluster_transcribe: espeak-ng is not installed (apt-get install espeak-ng); skipped")
        return
    from bench.cluster import LocalDask
    from cluster.dask_engine import DaskExecutor
    from insightkb.config import Settings
    from insightkb.settings_bridge import transcribe_options
    from transcribe.model import load_whisper, resolve_model

    tmp = Path(tempfile.mkdtemp(prefix="bench-cluster-transcribe-"))
    try:
        settings = Settings(kb=str(tmp / "kb.db"))
        settings.transcribe.cpu_threads = args.threads
        options = transcribe_options(settings)
        started = time.perf_counter()
        feed = make_site(tmp / "site", args.episodes, args.seconds)
        warm_feed = make_site(tmp / "warm", 1, 5.0)
        print(f"speech: {args.episodes} episodes of ~{args.seconds:.0f} s generated in {time.perf_counter() - started:.1f}s; "
              f"CTranslate2 threads per transcription: {args.threads}", flush=True)
        spec = resolve_model(options.model)
        model = load_whisper(spec, cpu_threads=options.cpu_threads)
        before = timed(tmp / "local-before.db", feed, settings, options, model=model)
        print(f"local     before: {_line(before)}", flush=True)

        cluster = LocalDask(2, tmp)
        try:
            up = cluster.wait()
            print(f"cluster   scheduler + 2 workers up in {up:.1f}s", flush=True)
            with DaskExecutor(cluster.address, max_in_flight=4) as executor:
                warm = time.perf_counter()
                timed(tmp / "warm.db", warm_feed, settings, options, executor=executor)
                print(f"cluster   workers load Whisper once: first run of 1 short episode {time.perf_counter() - warm:.1f}s",
                      flush=True)
                cpu_before = cluster.worker_cpu()
                remote = timed(tmp / "cluster.db", feed, settings, options, executor=executor)
                worker_cpu = [b - a for a, b in zip(cpu_before, cluster.worker_cpu())]
                print(f"cluster   2 workers: {_line(remote)}; driver CPU {remote['cpu']:.1f}s, worker CPU "
                      + " + ".join(f"{c:.1f}s" for c in worker_cpu), flush=True)
                print("cluster   RSS: " + ", ".join(f"{mb:.0f}" for mb in cluster.rss_mb()) + " MB (scheduler first)",
                      flush=True)
        finally:
            cluster.stop()
        after = timed(tmp / "local-after.db", feed, settings, options, model=model)
        print(f"local     after: {_line(after)}", flush=True)
        local_rtf = (_rtf(before) + _rtf(after)) / 2
        local_cpu = (before["cpu"] + after["cpu"]) / 2
        print(f"result    wall clock: local {local_rtf:.1f}x real time (mean of before/after); two-worker cluster "
              f"{_rtf(remote):.1f}x = {_rtf(remote) / local_rtf:.2f}x local", flush=True)
        per_worker = remote["audio"] / sum(worker_cpu)
        print(f"result    CPU: local {before['audio'] / local_cpu:.1f} audio seconds per CPU second (fetch, decode, "
              f"transcribe and store in one process); on the cluster {per_worker:.1f} per worker CPU second, and the "
              f"driver {remote['audio'] / max(remote['cpu'], 1e-9):.0f} per driver CPU second "
              f"({remote['cpu'] / remote['seconds']:.0%} of one core)", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _rtf(result: dict[str, float]) -> float:
    return result["audio"] / result["seconds"]


def _line(result: dict[str, float]) -> str:
    return (f"{result['transcribed']:.0f} episodes, {result['audio'] / 60:.1f} min of audio in {result['seconds']:.1f}s "
            f"= {_rtf(result):.1f}x real time; CPU {result['cpu']:.1f}s here")


if __name__ == "__main__":
    main(sys.argv[1:])
