"""Read and write `digests`, `digest_items`, `digest_pool` and `deliveries`.

A digest is stored once per date; a delivery is one (digest, subscriber) row, written before
the send (pending, attempts + 1) and after it (sent or failed), so a rerun never sends twice.
"""
from __future__ import annotations

import json
from typing import Any

import sqlite_utils

_NOW = "strftime('%Y-%m-%dT%H:%M:%SZ', 'now')"


def digest_id_for(db: sqlite_utils.Database, date: str) -> int | None:
    """The id of the digest stored for `date` (YYYY-MM-DD), if any."""
    row = db.execute("SELECT id FROM digests WHERE date = ?", [date]).fetchone()
    return row[0] if row else None


def save_digest(
    db: sqlite_utils.Database,
    date: str,
    subject: str,
    text_body: str,
    html_body: str,
    items: list[dict[str, Any]],
    pool: list[dict[str, Any]],
) -> int:
    """Store the digest for `date` with its ranked items and candidate pool; keep an existing one.

    `items`: dicts with rank, claim_id, score, reason. `pool`: claim_id, score, reason, factors.
    """
    with db.conn:
        cur = db.execute(
            "INSERT OR IGNORE INTO digests (date, subject, text_body, html_body) VALUES (?,?,?,?)",
            [date, subject, text_body, html_body],
        )
        if cur.rowcount == 0:
            return digest_id_for(db, date)  # type: ignore[return-value]
        digest_id = cur.lastrowid
        _insert_items(db, digest_id, items, pool)
    return digest_id


def fill_empty_digest(
    db: sqlite_utils.Database,
    digest_id: int,
    subject: str,
    text_body: str,
    html_body: str,
    items: list[dict[str, Any]],
    pool: list[dict[str, Any]],
) -> bool:
    """Give a stored digest that has no items and no deliveries its items; False if it had either."""
    with db.conn:
        busy = db.execute(
            "SELECT EXISTS (SELECT 1 FROM digest_items WHERE digest_id = ?)"
            " OR EXISTS (SELECT 1 FROM deliveries WHERE digest_id = ?)",
            [digest_id, digest_id],
        ).fetchone()[0]
        if busy or not items:
            return False
        db.execute(
            "UPDATE digests SET subject = ?, text_body = ?, html_body = ? WHERE id = ?",
            [subject, text_body, html_body, digest_id],
        )
        db.execute("DELETE FROM digest_pool WHERE digest_id = ?", [digest_id])
        _insert_items(db, digest_id, items, pool)
    return True


def _insert_items(
    db: sqlite_utils.Database, digest_id: int, items: list[dict[str, Any]], pool: list[dict[str, Any]]
) -> None:
    """Write a digest's picked items and its ranked candidate pool (inside the caller's transaction)."""
    db.conn.executemany(
        "INSERT INTO digest_items (digest_id, rank, claim_id, score, reason) VALUES (?,?,?,?,?)",
        [(digest_id, i["rank"], i["claim_id"], i["score"], i.get("reason")) for i in items],
    )
    db.conn.executemany(
        "INSERT OR IGNORE INTO digest_pool (digest_id, claim_id, score, reason, factors) VALUES (?,?,?,?,?)",
        [
            (digest_id, p["claim_id"], p["score"], p.get("reason"), json.dumps(p.get("factors", {})))
            for p in pool
        ],
    )


def load_digest(db: sqlite_utils.Database, digest_id: int) -> dict[str, Any]:
    """The digests row (id, date, subject, text_body, html_body, created_at)."""
    rows = list(db.query("SELECT * FROM digests WHERE id = ?", [digest_id]))
    if not rows:
        raise LookupError(f"no digest with id {digest_id}")
    return rows[0]


def digest_items(db: sqlite_utils.Database, digest_id: int) -> list[dict[str, Any]]:
    """The digest's items in rank order: rank, claim_id, score, reason."""
    return list(db.query(
        "SELECT rank, claim_id, score, reason FROM digest_items WHERE digest_id = ? ORDER BY rank", [digest_id]
    ))


def digest_pool(db: sqlite_utils.Database, digest_id: int) -> list[dict[str, Any]]:
    """The digest's ranked candidates (best first), for per-subscriber re-ranking."""
    rows = list(db.query(
        "SELECT claim_id, score, reason, factors FROM digest_pool WHERE digest_id = ? ORDER BY score DESC, claim_id",
        [digest_id],
    ))
    for r in rows:
        r["factors"] = json.loads(r["factors"] or "{}")
    return rows


def recent_digests(db: sqlite_utils.Database, *, before: str | None = None, limit: int = 30) -> list[dict[str, Any]]:
    """The latest digests (newest first), optionally only those dated before `before`."""
    where, params = ("WHERE date < ?", [before]) if before else ("", [])
    return list(db.query(
        f"SELECT id, date, subject, created_at FROM digests {where} ORDER BY date DESC LIMIT ?", [*params, limit]
    ))


def claims_in_recent_digests(db: sqlite_utils.Database, before: str, digests: int) -> list[int]:
    """Claim ids sent in the last `digests` digests dated before `before`."""
    return [r[0] for r in db.execute(
        "SELECT DISTINCT i.claim_id FROM digest_items i JOIN"
        " (SELECT id FROM digests WHERE date < ? ORDER BY date DESC LIMIT ?) d ON d.id = i.digest_id",
        [before, digests],
    ).fetchall()]


def begin_delivery(
    db: sqlite_utils.Database, digest_id: int, subscriber_id: int, message_id: str, channel: str
) -> dict[str, Any]:
    """The delivery row for (digest, subscriber), created pending if new; committed at once."""
    with db.conn:
        db.execute(
            "INSERT OR IGNORE INTO deliveries (digest_id, subscriber_id, message_id, channel) VALUES (?,?,?,?)",
            [digest_id, subscriber_id, message_id, channel],
        )
    return next(db.query(
        "SELECT * FROM deliveries WHERE digest_id = ? AND subscriber_id = ?", [digest_id, subscriber_id]
    ))


def delivery_states(db: sqlite_utils.Database, digest_id: int) -> dict[int, dict[str, Any]]:
    """subscriber_id -> delivery row for every delivery of the digest."""
    return {r["subscriber_id"]: r for r in db.query("SELECT * FROM deliveries WHERE digest_id = ?", [digest_id])}


def record_attempt(db: sqlite_utils.Database, delivery_id: int, channel: str) -> None:
    """Count one send attempt (written before the message leaves)."""
    with db.conn:
        db.execute(
            "UPDATE deliveries SET attempts = attempts + 1, channel = ? WHERE id = ?", [channel, delivery_id]
        )


def mark_sent(db: sqlite_utils.Database, delivery_id: int) -> None:
    """The server (or the outbox) accepted the message."""
    with db.conn:
        db.execute(
            f"UPDATE deliveries SET status = 'sent', sent_at = {_NOW}, last_error = NULL WHERE id = ?",
            [delivery_id],
        )


def mark_error(db: sqlite_utils.Database, delivery_id: int, error: str, *, permanent: bool) -> None:
    """Record an error: permanent ones fail the delivery, transient ones leave it pending for a retry."""
    status = "failed" if permanent else "pending"
    with db.conn:
        db.execute(
            "UPDATE deliveries SET status = ?, last_error = ? WHERE id = ?", [status, error[:500], delivery_id]
        )


def delivery_counts(db: sqlite_utils.Database, digest_id: int) -> dict[str, int]:
    """status -> number of deliveries of the digest."""
    return {r[0]: r[1] for r in db.execute(
        "SELECT status, count(*) FROM deliveries WHERE digest_id = ? GROUP BY status", [digest_id]
    ).fetchall()}

