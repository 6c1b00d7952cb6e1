"""Read and write `sources`: where documents come from and their fetch state."""
from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any, Iterator

import sqlite_utils

from kb.records import Source

KINDS = ("rss", "atom", "podcast", "email", "html", "text")


class UnknownSource(Exception):
    "No source with that id or url"


def _row_to_source(row: dict[str, Any]) -> Source:
    return Source(
        id=row["id"],
        url=row["url"],
        kind=row["kind"],
        title=row["title"],
        active=bool(row["active"]),
        allow_private=bool(row["allow_private"]),
        interval_seconds=row["interval_seconds"],
        etag=row["etag"],
        last_modified=row["last_modified"],
        failure_count=row["failure_count"],
        next_attempt_at=row["next_attempt_at"],
        last_error=row["last_error"],
        warning=row["warning"],
        config=json.loads(row["config"] or "{}"),
    )


def add_source(db: sqlite_utils.Database, source: Source) -> Source:
    """Insert `source` (or return the existing one with the same url)."""
    if source.kind not in KINDS:
        raise ValueError(f"unknown source kind {source.kind!r}; expected one of {', '.join(KINDS)}")
    existing = db.execute("SELECT id FROM sources WHERE url = ?", [source.url]).fetchone()
    if existing:
        return get_source(db, existing[0])
    row = asdict(source)
    row.pop("id")
    row["config"] = json.dumps(row["config"])
    row["active"] = int(row["active"])
    row["allow_private"] = int(row["allow_private"])
    with db.conn:
        db["sources"].insert(row)
    return get_source(db, db.execute("SELECT id FROM sources WHERE url = ?", [source.url]).fetchone()[0])


def get_source(db: sqlite_utils.Database, key: int | str) -> Source:
    """The source with id or url `key`."""
    col = "id" if isinstance(key, int) else "url"
    rows = list(db.query(f"SELECT * FROM sources WHERE {col} = ?", [key]))
    if not rows:
        raise UnknownSource(f"no source {key!r}")
    return _row_to_source(rows[0])


def list_sources(db: sqlite_utils.Database, *, active_only: bool = False) -> Iterator[Source]:
    """Every source, oldest first."""
    where = "WHERE active = 1" if active_only else ""
    for row in db.query(f"SELECT * FROM sources {where} ORDER BY id"):
        yield _row_to_source(row)


def update_source(db: sqlite_utils.Database, source_id: int, **fields: Any) -> None:
    """Set fetch-state columns (etag, last_error, failure_count, ...) on one source."""
    if "config" in fields and not isinstance(fields["config"], str):
        fields["config"] = json.dumps(fields["config"])
    for flag in ("active", "allow_private"):
        if flag in fields:
            fields[flag] = int(bool(fields[flag]))
    with db.conn:
        db["sources"].update(source_id, fields)
