"""Read and write `sources`: where documents come from, their fetch state, and what was skipped."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any, Iterable, Iterator

import sqlite_utils

from kb.records import Source
from kb.urls import link_refusal

KINDS = ("rss", "atom", "podcast", "email", "html", "text", "transcript")
EDITABLE = ("title", "kind", "interval_seconds", "allow_private", "full_text", "tags", "config",
            "site_url", "description")
_FLAGS = ("active", "allow_private", "full_text", "paused")
_JSON = ("config", "tags", "last_run")


class UnknownSource(Exception):
    "No source with that id or url"


class SourceInUse(Exception):
    "The source's claims went out in a digest, so its documents cannot be purged"


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
        site_url=row.get("site_url"),
        description=row.get("description"),
        tags=json.loads(row.get("tags") or "[]"),
        full_text=bool(row.get("full_text")),
        paused=bool(row.get("paused")),
        removed_at=row.get("removed_at"),
        last_run=json.loads(row.get("last_run") or "{}"),
    )


def _to_row(fields: dict[str, Any]) -> dict[str, Any]:
    row = dict(fields)
    for key in _JSON:
        if key in row and not isinstance(row[key], str) and row[key] is not None:
            row[key] = json.dumps(row[key])
    for flag in _FLAGS:
        if flag in row:
            row[flag] = int(bool(row[flag]))
    return row


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown source kind {kind!r}; expected one of {', '.join(KINDS)}")


def url_taken(db: sqlite_utils.Database, url: str, *, other_than: int | None = None) -> int | None:
    """The id of the source stored under `url` (other than `other_than`), if any."""
    row = db.execute("SELECT id FROM sources WHERE url = ? AND id IS NOT ?", [url, other_than]).fetchone()
    return row[0] if row else None


def find_source(db: sqlite_utils.Database, url: str) -> Source | None:
    """The source stored under `url`, removed or not, or None."""
    found = url_taken(db, url)
    return get_source(db, found) if found is not None else None


def add_source(db: sqlite_utils.Database, source: Source) -> Source:
    """Insert `source` (or return the existing one with the same url, unchanged)."""
    _check_kind(source.kind)
    existing = url_taken(db, source.url)
    if existing is not None:
        return get_source(db, existing)
    row = _to_row(asdict(source))
    row.pop("id")
    with db.conn:
        db["sources"].insert(row)
    return get_source(db, url_taken(db, source.url))  # type: ignore[arg-type]


def get_source(db: sqlite_utils.Database, key: int | str) -> Source:
    """The source with id or url `key`."""
    col = "id" if isinstance(key, int) else "url"
    rows = list(db.query(f"SELECT * FROM sources WHERE {col} = ?", [key]))
    if not rows:
        raise UnknownSource(f"no source {key!r}")
    return _row_to_source(rows[0])


def list_sources(db: sqlite_utils.Database, *, active_only: bool = False,
                 include_removed: bool = False) -> Iterator[Source]:
    """Every source, oldest first (active ones only: not paused, gone or removed)."""
    where = []
    if active_only:
        where.append("active = 1 AND paused = 0")
    if active_only or not include_removed:
        where.append("removed_at IS NULL")
    sql = "SELECT * FROM sources" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY id"
    for row in db.query(sql):
        yield _row_to_source(row)


def update_source(db: sqlite_utils.Database, source_id: int, **fields: Any) -> None:
    """Set fetch-state columns (etag, last_error, failure_count, ...) on one source."""
    with db.conn:
        db["sources"].update(source_id, _to_row(fields))


def edit_source(db: sqlite_utils.Database, source_id: int, **changes: Any) -> Source:
    """Change what an editor may change (see EDITABLE); returns the source as stored."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValueError(f"cannot edit {', '.join(sorted(unknown))}; editable: {', '.join(EDITABLE)}")
    if "kind" in changes:
        _check_kind(changes["kind"])
    if "tags" in changes:
        changes["tags"] = list(dict.fromkeys(t.strip() for t in changes["tags"] if t and t.strip()))
    get_source(db, source_id)
    if changes:
        update_source(db, source_id, **changes)
    return get_source(db, source_id)


def pause_source(db: sqlite_utils.Database, source_id: int) -> Source:
    """Stop fetching the source until it is resumed; its documents stay."""
    get_source(db, source_id)
    update_source(db, source_id, paused=True)
    return get_source(db, source_id)


def resume_source(db: sqlite_utils.Database, source_id: int) -> Source:
    """Fetch the source again (also after a 410 or a removal), with its backoff forgotten."""
    get_source(db, source_id)
    update_source(db, source_id, paused=False, active=True, removed_at=None, failure_count=0,
                  next_attempt_at=None)
    return get_source(db, source_id)


def remove_source(db: sqlite_utils.Database, source_id: int) -> Source:
    """Stop fetching and hide the source; its documents and claims stay (re-adding restores it)."""
    get_source(db, source_id)
    with db.conn:
        db.execute("UPDATE sources SET active = 0, removed_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now')"
                   " WHERE id = ?", [source_id])
    return get_source(db, source_id)


@dataclass
class PurgeCounts:
    """What `purge_source` deleted."""

    documents: int
    claims: int


def purge_counts(db: sqlite_utils.Database, source_id: int) -> PurgeCounts:
    """How many documents and claims purging the source would delete."""
    docs = db.execute("SELECT count(*) FROM documents WHERE source_id = ?", [source_id]).fetchone()[0]
    claims = db.execute("SELECT count(*) FROM claims WHERE document_id IN"
                        " (SELECT id FROM documents WHERE source_id = ?)", [source_id]).fetchone()[0]
    return PurgeCounts(docs, claims)


def purge_source(db: sqlite_utils.Database, source_id: int) -> PurgeCounts:
    """Delete the source, its documents and their claims; editors' log entries stay, unlinked.

    Refuses (SourceInUse) when any of its claims was sent in a digest: what subscribers received
    stays traceable. Documents of other sources that were duplicates of these become originals.
    """
    get_source(db, source_id)
    counts = purge_counts(db, source_id)
    docs = "SELECT id FROM documents WHERE source_id = ?"
    claims = f"SELECT id FROM claims WHERE document_id IN ({docs})"
    sent = db.execute(f"SELECT count(DISTINCT claim_id) FROM digest_items WHERE claim_id IN ({claims})",
                      [source_id]).fetchone()[0]
    if sent:
        raise SourceInUse(f"{sent} claim(s) of source {source_id} went out in digests; "
                          "remove it without --purge to keep them")
    with db.conn:
        db.execute(f"UPDATE curation_log SET claim_id = NULL WHERE claim_id IN ({claims})", [source_id])
        db.execute(f"DELETE FROM claims WHERE id IN ({claims})", [source_id])
        db.execute(f"UPDATE documents SET duplicate_of = NULL, extracted_version = NULL"
                   f" WHERE duplicate_of IN ({docs}) AND source_id != ?", [source_id, source_id])
        db.execute("DELETE FROM documents WHERE source_id = ?", [source_id])
        db.execute("DELETE FROM sources WHERE id = ?", [source_id])
    return counts


# -- counters and skipped items ---------------------------------------------------------------

def document_counts(db: sqlite_utils.Database) -> dict[int, dict[str, int]]:
    """{source id: {"documents": n, "duplicates": d, "skipped": s}} for every source."""
    out: dict[int, dict[str, int]] = {}
    for sid, n, dup in db.execute("SELECT source_id, count(*), count(duplicate_of) FROM documents GROUP BY source_id"):
        out.setdefault(sid, {"documents": 0, "duplicates": 0, "skipped": 0}).update(documents=n, duplicates=dup)
    for sid, n in db.execute("SELECT source_id, count(*) FROM skipped_items GROUP BY source_id"):
        out.setdefault(sid, {"documents": 0, "duplicates": 0, "skipped": 0})["skipped"] = n
    return out


def record_skipped(db: sqlite_utils.Database, source_id: int, items: Iterable[dict[str, Any]]) -> None:
    """Remember items seen but not stored: dicts with guid, url, title and reason."""
    rows = [{"source_id": source_id, **{k: item.get(k) for k in ("guid", "url", "title", "reason")}}
            for item in items]
    for row in rows:  # an item's link is content: kept only when the URL policy allows it
        if row["url"] is not None and link_refusal(row["url"]):
            row["url"] = None
    if rows:
        with db.conn:
            db["skipped_items"].upsert_all(rows, pk=("source_id", "guid"))


def forget_skipped(db: sqlite_utils.Database, source_id: int, guids: Iterable[str]) -> None:
    """Items that are stored now are no longer skipped."""
    guids = list(guids)
    if guids:
        with db.conn:
            db.conn.executemany("DELETE FROM skipped_items WHERE source_id = ? AND guid = ?",
                           [(source_id, g) for g in guids])


def skipped_items(db: sqlite_utils.Database, source_id: int) -> list[dict[str, Any]]:
    """The source's skipped items, newest first."""
    return list(db.query("SELECT guid, url, title, reason, seen_at FROM skipped_items WHERE source_id = ?"
                         " ORDER BY seen_at DESC, guid", [source_id]))


def _summary(source: Source) -> dict[str, Any]:
    return {"source": source.id, "url": source.url, "state": source.state, "interval_seconds": source.interval_seconds,
            "tags": source.tags, "full_text": source.full_text}


def log_source_action(db: sqlite_utils.Database, actor: str, action: str, before: Source | None,
                      after: Source | None) -> None:
    """An editor's change to a source, in `curation_log` beside the claim decisions (claim_id empty)."""
    with db.conn:
        db.execute("INSERT INTO curation_log (claim_id, actor, action, before, after) VALUES (NULL, ?, ?, ?, ?)",
                   [actor, f"source-{action}", json.dumps(_summary(before) if before else None, sort_keys=True),
                    json.dumps(_summary(after) if after else None, sort_keys=True)])
