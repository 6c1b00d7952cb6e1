"""Load the claims a digest may pick from: the window's claims, their context, and quiet-day fallbacks."""
from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass, field
from typing import Any

import sqlite_utils

from kb.clusters import cluster_members

log = logging.getLogger(__name__)


@dataclass
class Candidate:
    """A claim with what ranking needs to know about it."""

    id: int
    text: str
    confidence: float
    status: str
    boost: float
    document_id: int
    source_id: int
    published: str | None
    topics: list[tuple[str, str, float]] = field(default_factory=list)  # (slug, stance, score)
    quantities: list[tuple[str, float | None, str | None]] = field(default_factory=list)  # (text, value, unit)
    in_window: bool = True
    cluster_id: int | None = None  # the point it makes (kb.clusters); None before clustering
    point_sources: int = 1  # how many sources make that point
    entities: frozenset[str] = frozenset()

    @property
    def primary_topic(self) -> str | None:
        """The topic the claim is most about (highest score; a stance beats neutral on ties; the headline uses the same)."""
        if not self.topics:
            return None
        return max(self.topics, key=lambda t: (t[2], t[1] != "neutral", t[0]))[0]

    @property
    def stance(self) -> str:
        """The stance toward the primary topic's proposition."""
        primary = self.primary_topic
        return next((s for slug, s, _ in self.topics if slug == primary), "neutral")


_COLUMNS = (
    "c.id AS id, c.text, c.confidence, c.status, c.boost, c.document_id, d.source_id,"
    " COALESCE(d.published, d.fetched_at) AS published"
)


def iso(moment: dt.datetime) -> str:
    """UTC ISO 8601 with a Z, the way the KB stores times."""
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def load_window(
    db: sqlite_utils.Database, start: dt.datetime, end: dt.datetime, *, limit: int
) -> list[Candidate]:
    """Non-rejected claims whose document was published (or, undated, fetched) in [start, end)."""
    lo, hi = iso(start), iso(end)
    sql = (
        f"SELECT {_COLUMNS} FROM documents d JOIN claims c ON c.document_id = d.id"
        " WHERE d.published >= ? AND d.published < ? AND c.status != 'rejected'"
        " UNION ALL "
        f"SELECT {_COLUMNS} FROM documents d JOIN claims c ON c.document_id = d.id"
        " WHERE d.published IS NULL AND d.fetched_at >= ? AND d.fetched_at < ? AND c.status != 'rejected'"
        " ORDER BY published DESC, id LIMIT ?"
    )
    return _attach(db, [_candidate(r) for r in db.execute(sql, [lo, hi, lo, hi, limit]).fetchall()])


def load_fallback(
    db: sqlite_utils.Database, before: dt.datetime, *, limit: int, exclude: set[int], day: str
) -> list[Candidate]:
    """Older claims never sent in another day's digest, newest first: the quiet day's reserve."""
    sql = (
        f"SELECT {_COLUMNS} FROM documents d JOIN claims c ON c.document_id = d.id"
        " WHERE COALESCE(d.published, d.fetched_at) < ? AND c.status != 'rejected'"
        " AND NOT EXISTS (SELECT 1 FROM digest_items i JOIN digests g ON g.id = i.digest_id"
        "                 WHERE i.claim_id = c.id AND g.date != ?)"
        " ORDER BY d.published IS NULL, d.published DESC, c.id LIMIT ?"
    )
    rows = [_candidate(r) for r in db.execute(sql, [iso(before), day, limit + len(exclude)]).fetchall()]
    found = [c for c in rows if c.id not in exclude][:limit]
    for c in found:
        c.in_window = False
    return _attach(db, found)


def _candidate(r: tuple[Any, ...]) -> Candidate:
    return Candidate(
        id=r[0], text=r[1], confidence=r[2] if r[2] is not None else 0.5, status=r[3], boost=r[4] or 0.0,
        document_id=r[5], source_id=r[6], published=r[7],
    )


def _attach(db: sqlite_utils.Database, cands: list[Candidate]) -> list[Candidate]:
    """Fill topics and quantities for all candidates in two queries."""
    if not cands:
        return cands
    by_id = {c.id: c for c in cands}
    ids = json.dumps(list(by_id))
    for claim_id, topic, stance, score in db.execute(
        "SELECT claim_id, topic, stance, score FROM claim_topics"
        " WHERE claim_id IN (SELECT value FROM json_each(?)) ORDER BY claim_id, topic",
        [ids],
    ):
        by_id[claim_id].topics.append((topic, stance, score if score is not None else 0.5))
    for claim_id, text, value, unit in db.execute(
        "SELECT claim_id, text, value, unit FROM quantities"
        " WHERE claim_id IN (SELECT value FROM json_each(?)) ORDER BY claim_id, id",
        [ids],
    ):
        by_id[claim_id].quantities.append((text, value, unit))
    for claim_id, (cluster_id, sources) in cluster_members(db, list(by_id)).items():
        by_id[claim_id].cluster_id, by_id[claim_id].point_sources = cluster_id, sources
    found: dict[int, set[str]] = {}
    for claim_id, text in db.execute(
        "SELECT claim_id, lower(text) FROM entities WHERE claim_id IN (SELECT value FROM json_each(?))", [ids]
    ):
        found.setdefault(claim_id, set()).add(text)
    for claim_id, names in found.items():
        by_id[claim_id].entities = frozenset(names)
    return cands


def quantities_of(db: sqlite_utils.Database, claim_ids: list[int]) -> set[tuple[float, str | None]]:
    """(value, unit) of every number quoted by the given claims."""
    if not claim_ids:
        return set()
    return {
        (v, u) for v, u in db.execute(
            "SELECT value, unit FROM quantities WHERE value IS NOT NULL"
            " AND claim_id IN (SELECT value FROM json_each(?))",
            [json.dumps(claim_ids)],
        )
    }


def texts_of(db: sqlite_utils.Database, claim_ids: list[int]) -> dict[int, str]:
    """claim id -> text."""
    if not claim_ids:
        return {}
    return dict(db.execute(
        "SELECT id, text FROM claims WHERE id IN (SELECT value FROM json_each(?))", [json.dumps(claim_ids)]
    ).fetchall())
