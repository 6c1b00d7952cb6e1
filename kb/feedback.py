"""Readers steer the digest: one-click more / less like this, and preferences without an account.

A vote moves that subscriber's weights for the claim's topics and its source (`reader_weights`,
clamped to +-`MAX_WEIGHT`); editors see the sums per topic and source in `feedback_totals`.
"""
from __future__ import annotations

import json
from typing import Any

import sqlite_utils

from kb.transactions import atomic

TOPIC_STEP = 0.5
SOURCE_STEP = 0.3
MAX_WEIGHT = 2.0
FREQUENCIES = ("daily", "weekly")


def record_feedback(db: sqlite_utils.Database, subscriber_id: int, claim_id: int, vote: str) -> dict[str, Any]:
    """Store a vote and move the subscriber's topic and source weights; returns what moved."""
    if vote not in ("more", "less"):
        raise ValueError(f"vote must be 'more' or 'less', not {vote!r}")
    row = db.execute(
        "SELECT d.source_id, COALESCE(s.title, s.url) FROM claims c JOIN documents d ON d.id = c.document_id"
        " JOIN sources s ON s.id = d.source_id WHERE c.id = ?", [claim_id]
    ).fetchone()
    if row is None:
        raise LookupError(f"no claim {claim_id}")
    source_id, source_label = row
    topics = db.execute(
        "SELECT t.topic, p.label FROM claim_topics t JOIN topics p ON p.slug = t.topic WHERE t.claim_id = ?"
        " ORDER BY t.score DESC, t.topic", [claim_id]
    ).fetchall()
    sign = 1.0 if vote == "more" else -1.0
    moves = [("topic", slug, label, TOPIC_STEP) for slug, label in topics] + [
        ("source", str(source_id), source_label, SOURCE_STEP)]
    with atomic(db):
        db.execute("INSERT INTO reader_feedback (subscriber_id, claim_id, vote) VALUES (?, ?, ?)",
                   [subscriber_id, claim_id, vote])
        for kind, key, label, step in moves:
            db.execute(
                "INSERT INTO reader_weights (subscriber_id, kind, key, weight) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (subscriber_id, kind, key) DO UPDATE SET weight = max(?, min(?, weight + excluded.weight))",
                [subscriber_id, kind, key, sign * step, -MAX_WEIGHT, MAX_WEIGHT],
            )
            db.execute(
                "INSERT INTO feedback_totals (kind, key, label, more, less) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (kind, key) DO UPDATE SET label = excluded.label,"
                " more = more + excluded.more, less = less + excluded.less",
                [kind, key, label, int(vote == "more"), int(vote == "less")],
            )
    return {"topics": [label for _, label in topics], "source": source_label, "vote": vote}


def reader_weights(db: sqlite_utils.Database, subscriber_id: int) -> dict[str, dict[str, float]]:
    """{'topic': {slug: weight}, 'source': {source id as text: weight}} for one subscriber."""
    out: dict[str, dict[str, float]] = {"topic": {}, "source": {}}
    for kind, key, weight in db.execute(
        "SELECT kind, key, weight FROM reader_weights WHERE subscriber_id = ? AND weight != 0", [subscriber_id]
    ):
        out[kind][key] = weight
    return out


def all_reader_weights(db: sqlite_utils.Database) -> dict[int, dict[str, dict[str, float]]]:
    """`reader_weights` for every subscriber that has any, in one query (for a delivery run)."""
    out: dict[int, dict[str, dict[str, float]]] = {}
    for subscriber_id, kind, key, weight in db.execute(
        "SELECT subscriber_id, kind, key, weight FROM reader_weights WHERE weight != 0"
    ):
        out.setdefault(subscriber_id, {"topic": {}, "source": {}})[kind][key] = weight
    return out


def preferences(db: sqlite_utils.Database, subscriber_id: int) -> dict[str, Any] | None:
    """A subscriber's topics, frequency and pause, with the taxonomy to choose from."""
    row = db.execute("SELECT email, topics, frequency, paused, active FROM subscribers WHERE id = ?",
                     [subscriber_id]).fetchone()
    if row is None:
        return None
    return {
        "email": row[0], "topics": json.loads(row[1] or "[]"), "frequency": row[2], "paused": bool(row[3]),
        "active": bool(row[4]),
        "taxonomy": [{"slug": s, "label": label} for s, label in db.execute("SELECT slug, label FROM topics ORDER BY label")],
    }


def save_preferences(db: sqlite_utils.Database, subscriber_id: int, *, topics: list[str], frequency: str,
                     paused: bool) -> None:
    """Set a subscriber's topics (unknown slugs are dropped), frequency (daily/weekly) and pause."""
    if frequency not in FREQUENCIES:
        raise ValueError(f"frequency must be one of {', '.join(FREQUENCIES)}")
    known = {r[0] for r in db.execute("SELECT slug FROM topics")}
    with atomic(db):
        db.execute("UPDATE subscribers SET topics = ?, frequency = ?, paused = ? WHERE id = ?",
                   [json.dumps(sorted(t for t in set(topics) if t in known)), frequency, int(paused), subscriber_id])
