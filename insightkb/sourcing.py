"""How sources are shown and set by people (CLI and browser alike): intervals, one row per source."""
from __future__ import annotations

import re
from typing import Any

from kb.records import Source

_INTERVAL = re.compile(r"^(\d+)\s*([smhd]?)$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def interval_seconds(value: str) -> int | None:
    """'90', '15m', '1h', '1d' -> seconds; 'auto' -> None (adapt to the posting rate)."""
    value = value.strip().lower()
    if value == "auto":
        return None
    m = _INTERVAL.match(value)
    if not m:
        raise ValueError(f"{value!r}: use seconds or 15m / 1h / 1d, or auto")
    seconds = int(m.group(1)) * _UNITS[m.group(2)]
    if not 60 <= seconds <= 7 * 86400:
        raise ValueError(f"{value!r}: the interval must be between 1 minute and 7 days")
    return seconds


def show_interval(seconds: int, adaptive: bool = False) -> str:
    """3600 -> '1h'; the adaptive ones are 'auto'."""
    if adaptive:
        return "auto"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def source_row(source: Source, counts: dict[str, int]) -> dict[str, Any]:
    """One source as shown in `sources list` (text and --json) and on the Sources page."""
    run = source.last_run or {}
    return {
        "id": source.id, "kind": source.kind, "state": source.state, "title": source.name,
        "url": source.url, "site_url": source.site_url, "tags": source.tags, "full_text": source.full_text,
        "interval": show_interval(source.interval_seconds, bool(source.config.get("adaptive_interval"))),
        "documents": counts.get("documents", 0), "duplicates": counts.get("duplicates", 0),
        "skipped": counts.get("skipped", 0), "last_run": run, "failures": source.failure_count,
        "next_attempt_at": source.next_attempt_at, "last_error": source.last_error, "warning": source.warning,
    }
