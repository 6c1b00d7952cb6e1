"""Timestamps as ISO 8601 UTC strings, the form the KB stores."""
from __future__ import annotations

import calendar
import datetime as dt
import time
from email.utils import parsedate_to_datetime


def iso_from_struct(value: time.struct_time | None) -> str | None:
    """feedparser's UTC struct_time -> '2026-11-23T07:00:00Z'."""
    if not value:
        return None
    try:
        return dt.datetime.fromtimestamp(calendar.timegm(value), dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, ValueError, OSError):
        return None


def iso_from_rfc2822(value: str | None) -> str | None:
    """An email Date header -> ISO UTC, or None when it cannot be read."""
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(str(value))
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(value: str | None) -> dt.datetime | None:
    """'2026-11-23T07:00:00Z' -> aware datetime (None when empty or unreadable)."""
    if not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)
