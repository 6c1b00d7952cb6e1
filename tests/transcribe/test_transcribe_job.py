"""`insightkb run` schedules transcription like extraction; the job honours its audio budget."""
from __future__ import annotations

import sqlite3

from insightkb import jobs
from insightkb.config import Settings
from insightkb.scheduler import build_scheduler, sync_jobs
from tests.transcribe.conftest import mp3_seconds


def test_transcribe_is_a_scheduled_job(kb_path):
    settings = Settings(kb=str(kb_path))
    scheduler = build_scheduler(kb_path, settings)
    scheduler.start(paused=True)
    try:
        sync_jobs(scheduler, str(kb_path), None, settings)
        job = scheduler.get_job("transcribe")
        assert job.func_ref == "insightkb.jobs:transcribe_pending" and job.args == (str(kb_path), None)
        assert job.coalesce is True and job.max_instances == 1
        assert job.trigger.interval == scheduler.get_job("extract").trigger.interval
        sync_jobs(scheduler, str(kb_path), None, settings, with_transcribe=False)
        assert scheduler.get_job("transcribe") is None
    finally:
        scheduler.shutdown()


def test_the_job_transcribes_within_its_budget(kb_path, tmp_path, server, podcast, audio):
    seconds = mp3_seconds(audio["short"])
    podcast([{"title": f"E{i}", "guid": str(i), "url": server.add(f"/{i}.mp3", audio["short"].read_bytes()),
              "duration": seconds} for i in range(2)])
    config = tmp_path / "job.toml"
    config.write_text(f"[transcribe]\njob_max_minutes = {seconds * 1.2 / 60:.3f}\n", encoding="utf-8")
    summary = jobs.transcribe_pending(str(kb_path), str(config))
    assert "1 episodes, 1 transcribed" in summary and "1 left for the next run (budget)" in summary
    summary = jobs.transcribe_pending(str(kb_path), str(config))
    assert "1 episodes, 1 transcribed" in summary
    with sqlite3.connect(kb_path) as conn:
        assert conn.execute("SELECT count(*) FROM transcriptions WHERE status = 'done'").fetchone()[0] == 2
