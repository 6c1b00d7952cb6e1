"""Transcription on a real Dask cluster (scheduler + two worker processes on loopback).

Speech made by espeak-ng is served from a loopback HTTP server; the workers fetch it themselves
through the shipped safe fetcher. The cluster stores what the local path stores, episode for
episode (text, timed passages, failures and their reasons); a worker SIGKILLed mid-run loses
no episode and doubles none.
"""
from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from insightkb.cli import cli
from tests.transcribe.conftest import SHORT, audio, feed_xml, mp3_seconds, needs_espeak, server  # noqa: F401

pytestmark = [pytest.mark.slow, needs_espeak]

CONFIG = "[transcribe]\nmax_bytes = 500000\n"


def podcast_kb(path: Path, feed_url: str, config: Path) -> Path:
    """A KB with the loopback podcast added (its own origin allowed) and ingested."""
    for args in (["sources", "add", feed_url, "--kind", "podcast", "--allow-private", "--title", "Test Pod"], ["ingest"]):
        r = CliRunner().invoke(cli, ["-c", str(config), "--kb", str(path), *args], catch_exceptions=False)
        assert r.exit_code == 0, r.output
    return path


def transcribe(path: Path, config: Path, *args: str):
    return CliRunner().invoke(cli, ["-c", str(config), "--kb", str(path), "transcribe", *args], catch_exceptions=False)


def stored(path: Path) -> dict[str, list]:
    """What transcription stored, by episode title; times of day and wall-clock durations left out."""
    conn = sqlite3.connect(path)
    try:
        return {
            "documents": sorted(conn.execute("SELECT title, text, metadata, extracted_version FROM documents").fetchall()),
            "passages": sorted(conn.execute(
                "SELECT d.title, p.seq, p.start_char, p.end_char, p.section, p.speaker, p.start_seconds, p.end_seconds"
                " FROM passages p JOIN documents d ON d.id = p.document_id").fetchall()),
            "transcriptions": sorted(conn.execute(
                "SELECT d.title, t.status, t.reason, t.warning, t.text, t.segments, t.language, t.language_probability,"
                " t.audio_seconds, t.passages, t.model, t.model_version, t.attempts, t.next_attempt_at IS NULL,"
                " t.resume_at, t.progress FROM transcriptions t JOIN documents d ON d.id = t.document_id").fetchall(),
                key=repr),
        }
    finally:
        conn.close()


def outcome_lines(output: str) -> dict[str, str]:
    import re

    return {m.group(1): re.sub(r" in \d+\.\ds", "", m.group(2))  # wall time differs
            for m in re.finditer(r"\[\d+\] ([^:\n]+): ([^\n\r]*)$", output, re.M)}


def test_cluster_transcribes_what_the_local_path_transcribes(tmp_path, local_cluster, server, audio, monkeypatch):  # noqa: F811
    english = audio["english"].read_bytes()
    episodes = [
        {"title": "English", "guid": "en", "url": server.add("/en.mp3", english), "duration": mp3_seconds(audio["english"])},
        {"title": "Short", "guid": "short", "url": server.add("/short.mp3", audio["short"].read_bytes())},
        {"title": "German", "guid": "de", "url": server.add("/de.mp3", audio["german"].read_bytes())},
        {"title": "Silence", "guid": "silence", "url": server.add("/silence.mp3", audio["silence"].read_bytes())},
        {"title": "Too large", "guid": "big", "url": server.add("/big.mp3", b"\xff\xfb" * 400_000)},
        {"title": "Not audio", "guid": "page", "url": server.add("/page.mp3", b"<!DOCTYPE html><html>Buy</html>")},
        # --allow-private covers the feed's own origin only: another loopback port is refused, on the worker too.
        {"title": "Other port", "guid": "port", "url": "http://127.0.0.1:9/x.mp3"},
    ]
    feed = server.add("/feed.xml", feed_xml(episodes), "application/rss+xml")
    config = tmp_path / "insightkb.toml"
    config.write_text(CONFIG)
    local = podcast_kb(tmp_path / "local.db", feed, config)
    remote = podcast_kb(tmp_path / "cluster.db", feed, config)

    here = transcribe(local, config)
    assert here.exit_code == 1, here.output  # the three failures
    hits = dict(server.hits)
    there = transcribe(remote, config, "--cluster", local_cluster.address)
    assert there.exit_code == 1, there.output
    assert there.output.startswith(f"cluster {local_cluster.address}: 2 workers, 2 threads")
    summary = there.output.strip().splitlines()[-1]
    assert "7 episodes, 2 transcribed, 1 not English, 1 without speech, 3 failed" in summary
    assert "int8 on cpu on the cluster's workers" in summary and f"on {local_cluster.address}: 7 batches" in summary

    lines = outcome_lines(there.output)
    assert lines == outcome_lines(here.output)
    assert lines["Other port"] == "failed: refused 127.0.0.1: resolves to loopback address 127.0.0.1 (allow_private is off)"
    assert lines["Too large"].startswith("failed: enclosure too large: response too large: 800000 bytes declared, cap 500000")
    # The workers fetched each enclosure once, as the local run did.
    assert {p: n - hits.get(p, 0) for p, n in server.hits.items() if p.endswith(".mp3")} == {
        p: n for p, n in hits.items() if p.endswith(".mp3")}

    expected, got = stored(local), stored(remote)
    for table in got:  # on failure, say what differs
        assert got[table] == expected[table], (table, sorted(set(got[table]) ^ set(expected[table]), key=repr)[:6])
    text = next(t for g, t, _m, _v in got["documents"] if g == "English").lower()
    assert "the true cost of fine tuning is not the initial training" in text and "low latency" in text
    assert len([p for p in got["passages"] if p[0] == "English"]) >= 4

    # Each worker loaded Whisper once; a second run has nothing to do and fetches nothing.
    again = transcribe(remote, config, "--cluster", local_cluster.address)
    assert again.exit_code == 0 and "transcribe: 0 episodes" in again.output
    with local_cluster.client() as client:
        loads = client.run(lambda: __import__("cluster.worker").worker.loaded())
    built = [{k: n for k, n in counts.items() if k.startswith("transcribe-")} for counts in loads.values()]
    assert len(built) == 2 and all(list(counts.values()) == [1] for counts in built), loads

    # The scheduled job (what `insightkb run --cluster` runs) sends episodes to the cluster too.
    from insightkb import jobs

    feed2 = server.add("/feed2.xml", feed_xml([{"title": "Job", "guid": "job", "url": server.add("/job.mp3", audio["short"].read_bytes())}]),
                       "application/rss+xml")
    scheduled = podcast_kb(tmp_path / "job.db", feed2, config)
    monkeypatch.setenv("INSIGHTKB_CLUSTER", local_cluster.address)
    result = jobs.transcribe_pending(str(scheduled), str(config))
    assert "1 episodes, 1 transcribed" in result and f"on {local_cluster.address}: 1 batches" in result
    job_text = sqlite3.connect(scheduled).execute("SELECT text FROM documents").fetchone()[0]
    assert job_text == next(t for g, t, _m, _v in got["documents"] if g == "Short")


def test_a_checkpoint_left_by_a_killed_local_run_is_used_by_the_worker(tmp_path, local_cluster, server, audio):  # noqa: F811
    """A local run killed after its first chunk left a checkpoint; the cluster run goes on from it."""
    from kb import open_db
    from kb.transcriptions import episodes_to_transcribe, save_progress, start_attempt
    from tests.transcribe.speechgen import spoken_mp3
    from transcribe import TranscribeOptions, resolve_model
    from transcribe.model import load_whisper
    from transcribe.speech import decode, transcribe_samples
    from tests.transcribe.conftest import ENGLISH

    longer = spoken_mp3(ENGLISH + " " + ENGLISH, tmp_path / "longer.mp3")
    config = tmp_path / "insightkb.toml"
    config.write_text(CONFIG + "chunk_seconds = 12.0\n")
    feed = server.add("/feed.xml", feed_xml([{"title": "Long", "guid": "long", "url": server.add("/long.mp3", longer.read_bytes())}]),
                      "application/rss+xml")
    local = podcast_kb(tmp_path / "local.db", feed, config)
    assert transcribe(local, config).exit_code == 0
    remote = podcast_kb(tmp_path / "cluster.db", feed, config)

    # What a local run killed after its first chunk leaves behind: the episode claimed, a checkpoint.
    options = TranscribeOptions(chunk_seconds=12.0)
    spec = resolve_model(options.model)
    points = []
    transcribe_samples(load_whisper(spec), spec, decode(longer), options, on_chunk=points.append)
    assert points, "the audio is one chunk: nothing to resume"
    db = open_db(remote)
    episode = episodes_to_transcribe(db, model_version=spec.version)[0]
    start_attempt(db, episode, model=spec.name, model_version=spec.version)
    first = points[0]
    save_progress(db, episode.document_id, segments=[x.as_dict() for x in first.sentences], resume_at=first.resume_at,
                  progress=first.progress())
    db.conn.close()

    there = transcribe(remote, config, "--cluster", local_cluster.address)
    assert there.exit_code == 0, there.output
    assert f"resumed at 0:{int(first.resume_at):02d}" in there.output
    expected, got = stored(local), stored(remote)
    assert got["documents"] == expected["documents"] and got["passages"] == expected["passages"]
    row, ref = got["transcriptions"][0], expected["transcriptions"][0]
    assert row[1] == "done" and row[12] == 2 and row[4:6] == ref[4:6]  # taken up again once, same transcript


def test_worker_killed_mid_run_transcribes_every_episode_once(tmp_path, local_cluster, server, audio):  # noqa: F811
    """Runs last: it leaves the cluster one worker short."""
    body = audio["short"].read_bytes()
    seconds = mp3_seconds(audio["short"])
    n = 8
    # Each download takes a second, so w2 is surely busy with an episode when it is killed.
    episodes = [{"title": f"Episode {i}", "guid": f"e{i}", "url": server.add(f"/e{i}.mp3", body, delay=1.0),
                 "duration": seconds} for i in range(n)]
    config = tmp_path / "insightkb.toml"
    config.write_text(CONFIG + "[cluster]\nmax_in_flight = 4\n")
    reference = podcast_kb(tmp_path / "local.db", server.add("/one.xml", feed_xml([{**episodes[0], "guid": "ref"}]),
                                                              "application/rss+xml"), config)
    assert transcribe(reference, config).exit_code == 0
    expected = stored(reference)
    remote = podcast_kb(tmp_path / "cluster.db", server.add("/feed.xml", feed_xml(episodes), "application/rss+xml"), config)

    victim = local_cluster.workers["w2"]
    driver = subprocess.Popen([sys.executable, "-m", "insightkb", "-c", str(config), "--kb", str(remote), "transcribe",
                               "--cluster", local_cluster.address],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    killed = None
    with local_cluster.client() as client:
        address = next(a for a, info in client.scheduler_info()["workers"].items() if info["name"] == "w2")
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and driver.poll() is None:
            with sqlite3.connect(remote) as watch:
                done = watch.execute("SELECT count(*) FROM transcriptions WHERE status = 'done'").fetchone()[0]
            running = client.processing([address]).get(address, [])
            if done and any(str(k).startswith("insightkb-transcribe") for k in running):
                victim.send_signal(signal.SIGKILL)
                killed = (done, running)
                break
            time.sleep(0.05)
    output, _ = driver.communicate(timeout=300)
    assert killed, f"the run ended before an episode was stored and w2 was busy:\n{output}"
    assert 0 < killed[0] < n
    assert driver.returncode == 0, output
    assert f"worker {address} lost" in output
    summary = output.strip().splitlines()[-1]
    assert f"{n} episodes, {n} transcribed" in summary and "0 failed" in summary and "1 workers lost" in summary, summary

    got = stored(remote)
    assert len(got["documents"]) == n  # no document doubled
    rows = got["transcriptions"]
    assert [(r[1], r[12]) for r in rows] == [("done", 1)] * n  # each claimed once, done once
    ref_text, ref_segments = expected["transcriptions"][0][4], expected["transcriptions"][0][5]
    assert SHORT.split()[0].lower() in ref_text.lower()
    assert all(r[4] == ref_text and r[5] == ref_segments for r in rows)  # the same transcript for the same audio
    ref_passages = [p[1:] for p in expected["passages"]]
    for i in range(n):  # one passage per sentence, none doubled
        assert [p[1:] for p in got["passages"] if p[0] == f"Episode {i}"] == ref_passages
