"""`insightkb run`: persistent jobs with explicit ids, reconciliation, and a clean stop on SIGTERM."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

from werkzeug import Request, Response

from insightkb.config import Settings
from insightkb.samples import SAMPLES_DIR
from insightkb.scheduler import build_scheduler, job_store_path, sync_jobs
from kb.records import Source
from kb.sources import add_source, update_source

ROOT = Path(__file__).resolve().parents[2]


def test_jobs_are_persistent_and_never_duplicated(db, kb_path):
    a = add_source(db, Source(url=str(SAMPLES_DIR / "feeds" / "podinsights.xml"), kind="rss", interval_seconds=1800))
    b = add_source(db, Source(url=str(SAMPLES_DIR / "pages" / "to-train-or-not-to-train.html"), kind="html"))
    settings = Settings(kb=str(kb_path))
    scheduler = build_scheduler(kb_path, settings)
    scheduler.start(paused=True)
    counts = sync_jobs(scheduler, str(kb_path), None, settings, with_extract=True, with_digest=True)
    assert counts == {"added": 2, "updated": 0, "removed": 0}
    ids = sorted(j.id for j in scheduler.get_jobs())
    assert ids == ["daily-digest", "extract", f"ingest-source-{a.id}", f"ingest-source-{b.id}", "transcribe"]
    job = scheduler.get_job(f"ingest-source-{a.id}")
    assert job.coalesce is True and job.max_instances == 1 and job.trigger.interval.total_seconds() == 1800
    assert job.func_ref == "insightkb.jobs:ingest_source" and job.args == (str(kb_path), None, a.id)
    digest = scheduler.get_job("daily-digest")
    assert "hour='7', minute='0'" in str(digest.trigger)
    assert sync_jobs(scheduler, str(kb_path), None, settings) == {"added": 0, "updated": 0, "removed": 0}
    scheduler.shutdown()
    assert job_store_path(kb_path).exists()

    again = build_scheduler(kb_path, settings)  # a restart reads the same store
    again.start(paused=True)
    assert sorted(j.id for j in again.get_jobs()) == ids
    update_source(db, b.id, active=False)
    update_source(db, a.id, interval_seconds=900)
    counts = sync_jobs(again, str(kb_path), None, settings, with_extract=False, with_digest=True)
    assert counts == {"added": 0, "updated": 1, "removed": 1}
    assert sorted(j.id for j in again.get_jobs()) == ["daily-digest", f"ingest-source-{a.id}", "transcribe"]
    assert again.get_job(f"ingest-source-{a.id}").trigger.interval.total_seconds() == 900
    again.shutdown()


def test_ingest_job_runs_a_source(db, kb_path):
    from insightkb.jobs import ingest_source

    src = add_source(db, Source(url=str(SAMPLES_DIR / "feeds" / "podinsights.xml"), kind="rss"))
    assert ingest_source(str(kb_path), None, src.id).endswith("2 new, 0 unchanged, 0 duplicates")
    assert ingest_source(str(kb_path), None, 999) == "[999] gone"


SCRIPT = textwrap.dedent(
    """
    import logging, sys
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    from insightkb.config import Settings
    from insightkb.scheduler import run_forever
    settings = Settings(kb=sys.argv[1])
    print("ready", flush=True)
    run_forever(sys.argv[1], None, settings, with_extract=False, with_digest=False,
                reconcile_every=0.5, first_run_spread=0)
    print("exited cleanly", flush=True)
    """
)


def test_sigterm_lets_the_running_fetch_finish_and_commit(db, kb_path, httpserver):
    started = threading.Event()

    def slow_feed(request: Request) -> Response:
        started.set()
        time.sleep(1.5)
        body = ('<?xml version="1.0"?><rss version="2.0"><channel><title>S</title>'
                + "".join(f"<item><title>t{i}</title><guid>g{i}</guid><description>Slow item {i}.</description></item>"
                          for i in range(3))
                + "</channel></rss>")
        return Response(body, content_type="application/rss+xml")

    httpserver.expect_request("/slow.xml").respond_with_handler(slow_feed)
    add_source(db, Source(url=f"http://localhost:{httpserver.port}/slow.xml", kind="rss", allow_private=True))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT, str(kb_path)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=ROOT)
    try:
        assert started.wait(30), "the scheduler never fetched the source"
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert out.splitlines() == ["ready", "exited cleanly"]
    assert db.execute("SELECT count(*) FROM documents").fetchone()[0] == 3
    assert "waiting for running jobs to finish" in err
