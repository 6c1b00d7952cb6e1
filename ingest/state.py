"""Fetch state on the source row: success resets it, failures back off exponentially (capped)."""
from __future__ import annotations

import datetime as dt
import logging

import sqlite_utils

from ingest.dates import iso, parse_iso, utcnow
from ingest.options import IngestOptions
from kb.records import Source
from kb.sources import update_source

log = logging.getLogger(__name__)


def backoff_seconds(failures: int, options: IngestOptions, retry_after: float | None = None) -> float:
    """base * 2^(failures-1), capped, but never sooner than the server's Retry-After."""
    wait = min(options.backoff_cap, options.backoff_base * 2 ** max(0, failures - 1))
    if retry_after is not None:
        wait = max(wait, min(retry_after, options.backoff_cap))
    return float(wait)


def backing_off(source: Source, now: dt.datetime | None = None) -> dt.datetime | None:
    """When the source may be tried again, if that is still in the future."""
    when = parse_iso(source.next_attempt_at)
    if when and when > (now or utcnow()):
        return when
    return None


def record_success(
    db: sqlite_utils.Database,
    source: Source,
    *,
    status: int | None,
    etag: str | None = None,
    last_modified: str | None = None,
    warning: str | None = None,
    keep_validators: bool = False,
    **extra: object,
) -> None:
    """A good fetch: failures forgotten, validators and warning stored."""
    fields: dict[str, object] = {
        "failure_count": 0,
        "next_attempt_at": None,
        "last_error": None,
        "warning": warning,
        "last_fetched_at": iso(utcnow()),
        "last_status": status,
    }
    if not keep_validators:
        fields["etag"] = etag
        fields["last_modified"] = last_modified
    fields.update(extra)
    update_source(db, source.id, **fields)
    source.failure_count, source.next_attempt_at, source.last_error, source.warning = 0, None, None, warning


def record_failure(
    db: sqlite_utils.Database,
    source: Source,
    error: str,
    options: IngestOptions,
    *,
    status: int | None = None,
    retry_after: float | None = None,
    deactivate: bool = False,
    backoff: bool = True,
) -> None:
    """A failed fetch: one-line error, failure count + 1, next attempt after the backoff."""
    failures = (source.failure_count or 0) + 1
    fields: dict[str, object] = {
        "failure_count": failures,
        "last_error": error,
        "last_fetched_at": iso(utcnow()),
        "last_status": status,
        "next_attempt_at": None,
    }
    if backoff and not deactivate:
        fields["next_attempt_at"] = iso(utcnow() + dt.timedelta(seconds=backoff_seconds(failures, options, retry_after)))
    if deactivate:
        fields["active"] = False
    update_source(db, source.id, **fields)
    source.failure_count = failures
    source.last_error = error
    source.next_attempt_at = fields["next_attempt_at"]  # type: ignore[assignment]
    if deactivate:
        source.active = False
    log.warning("source %s (%s): %s", source.id, source.url, error)
