"""Job functions the scheduler stores by reference ("insightkb.jobs:ingest_source").

Arguments are plain strings and ints (the KB path, the config path, a source id), so jobs
survive a restart in the persistent job store and never carry secrets. The extract and digest
packages are imported inside the jobs, so the scheduler runs without them.
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
from zoneinfo import ZoneInfo

log = logging.getLogger(__name__)

_host_locks: dict[str, threading.BoundedSemaphore] = {}
_host_guard = threading.Lock()


def _settings(kb_path: str, config_path: str | None):
    from insightkb.config import load_settings

    settings = load_settings(config_path)
    settings.kb = kb_path
    return settings


def _host_slot(host: str, per_host: int) -> threading.BoundedSemaphore:
    """One semaphore per host across all ingest jobs of this process (the per-host limit)."""
    with _host_guard:
        return _host_locks.setdefault(host, threading.BoundedSemaphore(max(1, per_host)))


def ingest_source(kb_path: str, config_path: str | None, source_id: int) -> str:
    """Ingest one source; returns (and logs) its one-line summary."""
    from urllib.parse import urlsplit

    from ingest import ingest_sources
    from insightkb.settings_bridge import ingest_options
    from kb import open_db
    from kb.sources import UnknownSource, get_source

    settings = _settings(kb_path, config_path)
    db = open_db(kb_path)
    try:
        try:
            source = get_source(db, source_id)
        except UnknownSource:
            return f"[{source_id}] gone"
        if source.state in ("paused", "removed", "gone"):
            return f"[{source_id}] {source.state}"
        host = urlsplit(source.url).hostname or "local"
        with _host_slot(host, settings.ingest.per_host):
            report = ingest_sources(db, [source], ingest_options(settings))[0]
        summary = report.summary()
        (log.warning if report.error else log.info)("%s", summary)
        return summary
    finally:
        db.conn.close()


def transcribe_pending(kb_path: str, config_path: str | None) -> str:
    """Transcribe waiting episodes, up to [transcribe] job_max_minutes of audio per run (on [cluster] address if set)."""
    from pathlib import Path

    from cluster import ClusterError
    from insightkb.audio import audio_fetcher
    from insightkb.settings_bridge import open_executor, transcribe_options, transcribe_resources
    from kb import open_db
    from transcribe import TranscribeBusy
    from transcribe import transcribe_pending as run_transcribe

    settings = _settings(kb_path, config_path)
    options = transcribe_options(settings)
    try:
        executor = open_executor(settings)  # [cluster] address / INSIGHTKB_CLUSTER
    except ClusterError as exc:
        log.warning("transcribe: %s; trying again at the next run", exc)
        return f"transcribe: {exc}"
    db = open_db(kb_path)
    try:
        if executor is not None:
            log.info("%s", executor.describe())
        try:
            report = run_transcribe(db, options, audio_fetcher(settings), audio_dir=Path(options.audio_dir),
                                    max_minutes=settings.transcribe.job_max_minutes or None, executor=executor,
                                    resources=transcribe_resources(settings))
        except TranscribeBusy as exc:
            log.info("transcribe: %s", exc)
            return f"transcribe: {exc}"
        except ClusterError as exc:
            log.warning("transcribe: %s; episodes stored so far are kept, the rest wait for the next run", exc)
            return f"transcribe: {exc}"
        for line in report.lines:
            log.info("%s", line)
        log.info("%s", report.summary())
        return report.summary()
    finally:
        db.conn.close()
        if executor is not None:
            executor.close()


def extract_pending(kb_path: str, config_path: str | None) -> str:
    """Extract claims from documents not yet extracted."""
    from extract import extract_pending as run_extract
    from insightkb.settings_bridge import open_executor
    from kb import open_db

    from cluster import ClusterError

    try:
        executor = open_executor(_settings(kb_path, config_path))  # [cluster] address / INSIGHTKB_CLUSTER
    except ClusterError as exc:
        log.warning("extract: %s; trying again at the next run", exc)
        return f"extract: {exc}"
    db = open_db(kb_path)
    try:
        if executor is not None:
            log.info("%s", executor.describe())
        result = run_extract(db, executor=executor)
        summary = result.summary() if hasattr(result, "summary") else str(result)
        log.info("extract: %s", summary)
        return summary
    except ClusterError as exc:
        log.warning("extract: %s; documents stored so far are kept, the rest wait for the next run", exc)
        return f"extract: {exc}"
    finally:
        db.conn.close()
        if executor is not None:
            executor.close()


def daily_digest(kb_path: str, config_path: str | None) -> str:
    """Build today's digest (in the digest timezone), refresh the outbox archive, deliver it."""
    from digest import run_daily_digest
    from insightkb.settings_bridge import digest_options, smtp_options
    from kb import open_db

    settings = _settings(kb_path, config_path)
    today = dt.datetime.now(ZoneInfo(settings.digest.timezone)).date()
    db = open_db(kb_path)
    try:
        result = run_daily_digest(db, today, digest_options(settings), smtp_options(settings))
        summary = result.summary() if hasattr(result, "summary") else str(result)
        log.info("digest for %s: %s", today, summary)
        return f"digest for {today}: {summary}"
    finally:
        db.conn.close()
