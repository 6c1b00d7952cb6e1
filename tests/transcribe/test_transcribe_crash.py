"""A `kill -9` halfway through `insightkb transcribe` loses nothing and doubles nothing."""
from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

from tests.transcribe.conftest import mp3_seconds


def _done(kb_path) -> dict[int, str]:
    with sqlite3.connect(kb_path) as conn:
        return dict(conn.execute("SELECT document_id, status FROM transcriptions").fetchall())


def test_killed_run_resumes_without_doing_anything_twice(kb_path, server, podcast, audio):
    seconds = mp3_seconds(audio["short"])
    body = audio["short"].read_bytes()
    # Newest first: episode 3 is transcribed first; episode 2's audio is slow, so the kill lands
    # while it is claimed (`running`) and downloading.
    podcast([
        {"title": "One", "guid": "1", "url": server.add("/1.mp3", body), "duration": seconds},
        {"title": "Two", "guid": "2", "url": server.add("/2.mp3", body, delay=30.0), "duration": seconds},
        {"title": "Three", "guid": "3", "url": server.add("/3.mp3", body), "duration": seconds},
    ])
    command = [sys.executable, "-m", "insightkb", "--kb", str(kb_path), "transcribe"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while _done(kb_path) != {3: "done", 2: "running"}:
        assert proc.poll() is None and time.monotonic() < deadline, (_done(kb_path), proc.stdout.read() if proc.poll() is not None else "")
        time.sleep(0.1)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with sqlite3.connect(kb_path) as conn:
        first = conn.execute("SELECT finished_at, attempts, segments FROM transcriptions WHERE document_id = 3").fetchone()
        passages_of_3 = conn.execute("SELECT count(*) FROM passages WHERE document_id = 3").fetchone()[0]
    assert first[1] == 1 and passages_of_3 == len(json.loads(first[2])) > 0

    server.routes["/2.mp3"].delay = 0.0
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "transcribe: 2 episodes, 2 transcribed" in result.stdout
    assert _done(kb_path) == {1: "done", 2: "done", 3: "done"}
    with sqlite3.connect(kb_path) as conn:
        again = conn.execute("SELECT finished_at, attempts, segments FROM transcriptions WHERE document_id = 3").fetchone()
        attempts = dict(conn.execute("SELECT document_id, attempts FROM transcriptions").fetchall())
        counts = dict(conn.execute("SELECT document_id, count(*) FROM passages GROUP BY document_id").fetchall())
        segments = {d: len(json.loads(s)) for d, s in conn.execute("SELECT document_id, segments FROM transcriptions")}
    assert again == first  # the finished episode was not touched
    assert attempts == {1: 1, 2: 2, 3: 1}  # the killed one was taken up again, once
    assert counts == segments  # one passage per sentence, none doubled
    assert server.hits["/3.mp3"] == 1 and server.hits["/1.mp3"] == 1


def test_an_episode_that_keeps_killing_the_process_stops_being_retried(db, run_cli, server, podcast, audio):
    podcast([{"title": "Poison", "url": server.add("/p.mp3", audio["short"].read_bytes())}])
    db.execute("INSERT INTO transcriptions (document_id, enclosure_url, status, attempts) VALUES (1, 'x', 'running', 3)")
    db.conn.commit()
    r = run_cli("transcribe")
    assert r.exit_code == 1
    assert "[1] Poison: failed: the process died during transcription 3 times; not retried (use --retry-failed)" in r.output
    assert server.hits.get("/p.mp3") is None
    r = run_cli("transcribe", "--retry-failed")
    assert r.exit_code == 0 and "1 transcribed" in r.output


def test_a_long_episode_killed_midway_goes_on_from_its_last_chunk(kb_path, tmp_path, server, podcast, audio):
    from tests.transcribe.speechgen import spoken_mp3
    from bench.transcribe import script

    long_mp3 = spoken_mp3(script(130, seed=3), tmp_path / "long.mp3")
    seconds = mp3_seconds(long_mp3)
    podcast([{"title": "Long", "url": server.add("/long.mp3", long_mp3.read_bytes()), "duration": seconds}])
    config = tmp_path / "chunks.toml"
    config.write_text("[transcribe]\nchunk_seconds = 15.0\n", encoding="utf-8")
    command = [sys.executable, "-m", "insightkb", "--kb", str(kb_path), "-c", str(config), "transcribe"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while True:
        with sqlite3.connect(kb_path) as conn:
            row = conn.execute("SELECT resume_at, segments FROM transcriptions").fetchone()
        if row and row[0] and row[0] >= 25:
            break
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    resume_at, kept = row[0], json.loads(row[1])
    assert kept and kept[-1]["end"] <= resume_at + 0.5

    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    minute, second = divmod(int(resume_at), 60)
    assert f"resumed at {minute}:{second:02d}" in result.stdout
    with sqlite3.connect(kb_path) as conn:
        status, attempts, segments, left = conn.execute(
            "SELECT status, attempts, segments, resume_at FROM transcriptions").fetchone()
        passages = conn.execute("SELECT start_seconds, end_seconds FROM passages ORDER BY seq").fetchall()
    segments = json.loads(segments)
    assert status == "done" and attempts == 2 and left is None
    assert segments[: len(kept)] == kept  # the work before the kill was kept, not redone
    starts = [s["start"] for s in segments]
    assert starts == sorted(starts) and all(a["end"] <= b["start"] + 0.5 for a, b in zip(segments, segments[1:]))
    assert segments[-1]["end"] > seconds - 10  # and it went on to the end
    assert len(passages) == len(segments)


def test_two_runs_never_transcribe_at_once(db, run_cli, kb_path, server, podcast, audio):
    import fcntl

    podcast([{"title": "Once", "url": server.add("/o.mp3", audio["short"].read_bytes())}])
    with open(str(kb_path) + ".transcribe.lock", "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        held.write("pid 4242")
        held.flush()
        r = run_cli("transcribe")
        assert r.exit_code == 1
        assert r.output == "Error: a transcribe run is already going on this KB (pid 4242); nothing done\n"
        assert jobs_summary(kb_path) == "transcribe: a transcribe run is already going on this KB (pid 4242); nothing done"
    r = run_cli("transcribe")
    assert r.exit_code == 0 and "1 transcribed" in r.output


def jobs_summary(kb_path) -> str:
    from insightkb import jobs

    return jobs.transcribe_pending(str(kb_path), None)
