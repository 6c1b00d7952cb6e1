"""`python -m bench transcribe`: real-time factor against audio length, and the whole podcast path.

Speech is generated here (espeak-ng, encoded to MP3 by PyAV). For each length it times our
transcription (VAD, word timestamps, sentence passages) and, at the longest, faster-whisper's
plain `transcribe()` on the same file as the baseline, in the same process. Then the whole path
a podcast takes (loopback fetch through ingest's safe fetcher + decode + transcribe + extract)
into a fresh KB, reported per hour of audio, and the process's peak memory.

Options: --minutes=1,3,10 (audio lengths), --quick (0.5 and 2 minutes), --beam=5, --threads=0.
"""
from __future__ import annotations

import os
import random
import resource
import shutil
import sys
import tempfile
import threading
import time
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

SUBJECTS = ["Fine-tuning a small model", "Running a frontier model", "Distilling a large model", "Quantizing the weights",
            "Buying more GPUs", "Training on proprietary data", "Prompting a general model", "Serving a specialised model"]
VERBS = ["costs about", "saves roughly", "takes nearly", "needs at least", "pays off after"]
AMOUNTS = ["ten thousand dollars", "two weeks of work", "one fifth of the budget", "ten billion tokens",
           "three engineers", "half a second per request", "forty percent of the latency"]
TAILS = ["according to the teams we spoke with.", "which surprised most of our listeners.",
         "and that number keeps falling every quarter.", "if the base model does not change.",
         "so the decision depends on your data.", "before anyone sees a benefit."]


def script(words: int, seed: int = 7) -> str:
    """About `words` words of varied, claim-like English sentences."""
    rng = random.Random(seed)
    out: list[str] = []
    count = 0
    while count < words:
        sentence = f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(AMOUNTS)}, {rng.choice(TAILS)}"
        out.append(sentence)
        count += len(sentence.split())
    return " ".join(out)


def _opt(argv: list[str], name: str, default: str) -> str:
    for arg in argv:
        if arg.startswith(f"--{name}="):
            return arg.split("=", 1)[1]
    return default


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str]) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.transcribe.speechgen import ESPEAK, spoken_mp3
    from transcribe import TranscribeOptions
    from transcribe.model import load_whisper, pick_device, resolve_model
    from transcribe.speech import decode, transcribe_samples

    if ESPEAK is None:
        print("bench transcribe: espeak-ng is not installed (apt-get install espeak-ng); skipped")
        return
    minutes = [0.5, 2.0] if "--quick" in argv else [float(m) for m in _opt(argv, "minutes", "1,3,10").split(",")]
    options = TranscribeOptions(beam_size=int(_opt(argv, "beam", "5")), cpu_threads=int(_opt(argv, "threads", "0")))
    spec = resolve_model(options.model)
    device, compute_type = pick_device(options.device, options.compute_type)
    started = time.perf_counter()
    model = load_whisper(spec, device=device, compute_type=compute_type, cpu_threads=options.cpu_threads)
    print(f"model {spec.label}, {compute_type} on {device}, beam {options.beam_size}: loaded in "
          f"{time.perf_counter() - started:.2f}s (checksums verified: {spec.verified})")
    work = Path(tempfile.mkdtemp(prefix="bench-transcribe-"))
    try:
        files = {}
        for m in minutes:
            t = time.perf_counter()
            files[m] = spoken_mp3(script(int(m * 110)), work / f"speech-{m:g}min.mp3")
            print(f"  generated {m:g} min target ({files[m].stat().st_size / 1e6:.1f} MB mp3) in {time.perf_counter() - t:.1f}s")
        whole_path(work, files[max(files)], model, options)
        print(f"peak memory, our path only (model, the {max(minutes):g}-min target, extract): {peak_mb():.0f} MB")
        print(f"{'audio':>8} {'decode s':>9} {'ours s':>8} {'ours RTF':>9} {'baseline s':>11} {'baseline RTF':>13} {'ratio':>6}")
        for m, path in files.items():
            t = time.perf_counter()
            samples = decode(path)
            decode_s = time.perf_counter() - t
            audio_s = len(samples) / 16000
            speech = transcribe_samples(model, spec, samples, options)
            ours = speech.seconds
            baseline_cell = ratio_cell = ""
            if m == max(files):
                t = time.perf_counter()
                segments, _ = model.transcribe(samples.astype("float32") / 32768.0, beam_size=options.beam_size,
                                               language="en")
                list(segments)
                base = time.perf_counter() - t
                baseline_cell = f"{base:>11.1f} {audio_s / base:>12.1f}x"
                ratio_cell = f"{base / ours:>5.2f}x"
            print(f"{audio_s / 60:>6.1f}min {decode_s:>9.2f} {ours:>8.1f} {audio_s / ours:>8.1f}x {baseline_cell} {ratio_cell}"
                  f"  ({len(speech.sentences)} sentences)")
        print(f"peak memory after the baseline (whole file in one piece): {peak_mb():.0f} MB")
        print(f"load average: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def whole_path(work: Path, mp3: Path, model, options) -> None:
    """Feed on loopback -> ingest -> transcribe (fetch + decode + transcribe) -> extract, timed per phase."""
    from ingest import IngestOptions, ingest_sources
    from ingest.enclosures import download_enclosure
    from kb import open_db
    from kb.records import Source
    from kb.sources import add_source
    from transcribe import AudioUnavailable, transcribe_pending

    served = work / "site"
    served.mkdir()
    shutil.copy(mp3, served / "episode.mp3")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=str(served)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    (served / "feed.xml").write_text(
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Bench</title><item><title>Episode</title>'
        f'<guid>e1</guid><description>Notes.</description><enclosure url="{base}/episode.mp3" type="audio/mpeg" '
        'length="1"/></item></channel></rss>', encoding="utf-8")
    db = open_db(work / "kb.db")
    source = add_source(db, Source(url=f"{base}/feed.xml", kind="podcast", allow_private=True))
    ingest_options = IngestOptions(allow_private=True)
    timings = {}
    t = time.perf_counter()
    ingest_sources(db, [source], ingest_options)
    timings["ingest feed"] = time.perf_counter() - t

    fetch_seconds = [0.0]

    def fetch_audio(episode, dest):
        t0 = time.perf_counter()
        try:
            download_enclosure(episode.enclosure_url, dest, ingest_options, max_bytes=options.max_bytes,
                               total_timeout=options.download_timeout)
        except Exception as exc:
            raise AudioUnavailable(str(exc), retry=False) from None
        fetch_seconds[0] += time.perf_counter() - t0

    t = time.perf_counter()
    report = transcribe_pending(db, options, fetch_audio, audio_dir=work / "audio", model=model)
    total = time.perf_counter() - t
    timings["fetch enclosure"] = fetch_seconds[0]
    timings["decode + transcribe + store"] = total - fetch_seconds[0]
    from extract import extract_pending

    t = time.perf_counter()
    extracted = extract_pending(db)
    timings["extract"] = time.perf_counter() - t
    httpd.shutdown()
    hours = report.audio_seconds / 3600
    whole = sum(timings.values())
    print(f"whole podcast path, {report.audio_seconds / 60:.1f} min of audio ({report.lines[0] if report.lines else ''}):")
    for phase, seconds in timings.items():
        print(f"  {phase:<30} {seconds:>7.2f}s  = {seconds / hours / 60:>6.2f} min per hour of audio")
    print(f"  {'total':<30} {whole:>7.2f}s  = {whole / hours / 60:>6.2f} min per hour of audio "
          f"({report.audio_seconds / whole:.1f}x real time); {extracted.claims} claims")


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass
