"""`insightkb run`: an APScheduler 3.x process keeping one ingest job per source, plus transcribe, extract and digest.

Jobs live in a persistent SQLAlchemy job store beside the KB (`insightkb.db.jobs.sqlite`), with
explicit ids, `replace_existing`, `coalesce` and `max_instances=1`, so a restart neither
duplicates nor loses them. Every minute the process reconciles jobs with the sources table
(new sources get a job, removed or deactivated ones lose it, a changed interval is applied,
a backoff that ends sooner than the next run brings the run forward). SIGTERM or SIGINT lets
the running jobs finish and commit, then the process exits.
"""
from __future__ import annotations

import datetime as dt
import logging
import random
import signal
import threading
from pathlib import Path
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from insightkb.config import Settings

log = logging.getLogger(__name__)

INGEST_JOB = "insightkb.jobs:ingest_source"
EXTRACT_JOB = "insightkb.jobs:extract_pending"
TRANSCRIBE_JOB = "insightkb.jobs:transcribe_pending"
DIGEST_JOB = "insightkb.jobs:daily_digest"
EXTRACT_EVERY = 10 * 60
MISFIRE_GRACE = 15 * 60
FIRST_RUN_SPREAD = 30.0  # seconds over which the first fetches of new sources are spread


def job_store_path(kb_path: str | Path) -> Path:
    """`insightkb.db` -> `insightkb.db.jobs.sqlite`."""
    return Path(str(kb_path) + ".jobs.sqlite")


def source_job_id(source_id: int) -> str:
    return f"ingest-source-{source_id}"


def build_scheduler(kb_path: str | Path, settings: Settings) -> BackgroundScheduler:
    """A scheduler with the persistent job store and a thread pool sized by [ingest] concurrency."""
    store = SQLAlchemyJobStore(url=f"sqlite:///{job_store_path(kb_path).resolve()}")
    return BackgroundScheduler(
        jobstores={"default": store},
        executors={"default": ThreadPoolExecutor(max_workers=max(1, min(settings.ingest.concurrency, 16)))},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": MISFIRE_GRACE},
        timezone=dt.timezone.utc,
    )


def _jitter(interval: int) -> int:
    return max(1, min(300, interval // 10))


def sync_jobs(
    scheduler: BackgroundScheduler,
    kb_path: str,
    config_path: str | None,
    settings: Settings,
    *,
    with_extract: bool = True,
    with_digest: bool = True,
    with_transcribe: bool = True,
    first_run_spread: float = FIRST_RUN_SPREAD,
) -> dict[str, int]:
    """Make the jobs match the sources table and settings; returns counts of added/updated/removed."""
    from ingest.dates import parse_iso
    from kb import open_db
    from kb.sources import list_sources

    counts = {"added": 0, "updated": 0, "removed": 0}
    db = open_db(kb_path)
    try:
        sources = [s for s in list_sources(db, active_only=True)]
    finally:
        db.conn.close()
    now = dt.datetime.now(dt.timezone.utc)
    wanted = set()
    for source in sources:
        job_id = source_job_id(source.id)
        wanted.add(job_id)
        interval = max(60, int(source.interval_seconds or 3600))
        job = scheduler.get_job(job_id)
        if job is None or getattr(job.trigger, "interval", None) != dt.timedelta(seconds=interval):
            scheduler.add_job(
                INGEST_JOB,
                trigger=IntervalTrigger(seconds=interval, jitter=_jitter(interval), timezone=dt.timezone.utc),
                args=[kb_path, config_path, source.id],
                id=job_id,
                name=f"ingest {source.url}",
                replace_existing=True,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=MISFIRE_GRACE,
                next_run_time=now + dt.timedelta(seconds=random.uniform(0, first_run_spread)),
            )
            counts["added" if job is None else "updated"] += 1
            continue
        retry = parse_iso(source.next_attempt_at)
        if retry and job.next_run_time and retry < job.next_run_time and retry > now:
            scheduler.modify_job(job_id, next_run_time=retry)
            counts["updated"] += 1
    for job in scheduler.get_jobs():
        if job.id.startswith("ingest-source-") and job.id not in wanted:
            scheduler.remove_job(job.id)
            counts["removed"] += 1
    _ensure(scheduler, "extract", with_extract, EXTRACT_JOB, IntervalTrigger(seconds=EXTRACT_EVERY, timezone=dt.timezone.utc),
            [kb_path, config_path])
    _ensure(scheduler, "transcribe", with_transcribe, TRANSCRIBE_JOB,
            IntervalTrigger(seconds=EXTRACT_EVERY, timezone=dt.timezone.utc), [kb_path, config_path])
    hour, minute = (int(x) for x in settings.digest.send_at.split(":"))
    _ensure(scheduler, "daily-digest", with_digest, DIGEST_JOB,
            CronTrigger(hour=hour, minute=minute, timezone=settings.digest.timezone), [kb_path, config_path])
    return counts


def _ensure(scheduler: BackgroundScheduler, job_id: str, wanted: bool, func: str, trigger: Any, args: list) -> None:
    job = scheduler.get_job(job_id)
    if not wanted:
        if job is not None:
            scheduler.remove_job(job_id)
        return
    if job is not None and str(job.trigger) == str(trigger) and list(job.args) == args:
        return
    scheduler.add_job(func, trigger=trigger, args=args, id=job_id, name=job_id, replace_existing=True,
                      coalesce=True, max_instances=1, misfire_grace_time=MISFIRE_GRACE)


def run_forever(
    kb_path: str,
    config_path: str | None,
    settings: Settings,
    *,
    with_extract: bool = True,
    with_digest: bool = True,
    with_transcribe: bool = True,
    reconcile_every: float = 60.0,
    first_run_spread: float = FIRST_RUN_SPREAD,
    stop: threading.Event | None = None,
) -> None:
    """Run until SIGTERM/SIGINT (or `stop` is set); running jobs finish before it returns."""
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda signum, frame: stop.set())
    scheduler = build_scheduler(kb_path, settings)
    scheduler.start(paused=True)
    try:
        counts = sync_jobs(scheduler, kb_path, config_path, settings, with_extract=with_extract,
                           with_digest=with_digest, with_transcribe=with_transcribe, first_run_spread=first_run_spread)
        log.info("scheduler started: %s jobs (%s)", len(scheduler.get_jobs()), counts)
        scheduler.resume()
        while not stop.wait(reconcile_every):
            sync_jobs(scheduler, kb_path, config_path, settings, with_extract=with_extract,
                      with_digest=with_digest, with_transcribe=with_transcribe, first_run_spread=first_run_spread)
    finally:
        log.info("stopping: waiting for running jobs to finish")
        scheduler.shutdown(wait=True)
        log.info("stopped")
