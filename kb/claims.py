"""Write extracted claims (with topics, quantities, entities) and read the taxonomy."""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from kb.records import Claim, NonClaim
from kb.transactions import atomic

log = logging.getLogger(__name__)


@dataclass
class ClaimsSaved:
    """Counts from one `save_claims` call."""

    inserted: int = 0
    updated: int = 0
    kept_by_editor: int = 0
    removed: int = 0


def topics(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """The taxonomy: slug, label, description, proposition."""
    return list(db.query("SELECT slug, label, description, proposition FROM topics ORDER BY slug"))


def save_claims(
    db: sqlite_utils.Database, document_id: int, claims: list[Claim], version: str
) -> ClaimsSaved:
    """Replace the extractor's claims for one document with `claims`, all or nothing (its own
    transaction, or a savepoint inside a `kb.transactions.write_batch`).

    A claim an editor has decided on (`editor_locked`) is never changed. Claims that the
    new extraction no longer finds are removed unless an editor or a digest refers to them.
    """
    saved = ClaimsSaved()
    known = {
        (r["start_char"], r["end_char"]): r
        for r in db.query(
            "SELECT id, start_char, end_char, editor_locked FROM claims WHERE document_id = ?",
            [document_id],
        )
    }
    seen: set[int] = set()
    written: list[Claim] = []  # claims whose child rows are (re)written, in document order
    fresh: list[Claim] = []  # claims the document did not have
    with atomic(db):
        for claim in claims:
            row = known.get((claim.start_char, claim.end_char))
            if row and row["editor_locked"]:
                saved.kept_by_editor += 1
                seen.add(row["id"])
                continue
            if row:
                claim.id = row["id"]
                db.execute(
                    "UPDATE claims SET text = ?, confidence = ?, speaker = ?, extractor_version = ?,"
                    " updated_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE id = ?",
                    [claim.text, claim.confidence, claim.speaker, version, claim.id],
                )
                db.execute("DELETE FROM claim_topics WHERE claim_id = ? AND origin = 'extractor'", [claim.id])
                db.execute("DELETE FROM quantities WHERE claim_id = ?", [claim.id])
                db.execute("DELETE FROM entities WHERE claim_id = ?", [claim.id])
                saved.updated += 1
                seen.add(claim.id)
            else:
                fresh.append(claim)
            written.append(claim)
        _insert_new(db, document_id, fresh, version)
        saved.inserted = len(fresh)
        _write_children(db, written)
        for key, row in known.items():
            if row["id"] in seen or row["editor_locked"]:
                continue
            in_digest = db.execute(
                "SELECT 1 FROM digest_items WHERE claim_id = ? LIMIT 1", [row["id"]]
            ).fetchone()
            if in_digest:
                continue
            db.execute("DELETE FROM claims WHERE id = ?", [row["id"]])
            saved.removed += 1
    return saved


def save_non_claims(db: sqlite_utils.Database, document_id: int, non_claims: list[NonClaim], version: str) -> int:
    """Replace the sentences of one document that the extractor did not take as claims."""
    with atomic(db):
        db.execute("DELETE FROM non_claims WHERE document_id = ?", [document_id])
        db.conn.executemany(
            "INSERT INTO non_claims (document_id, start_char, end_char, text, reason, extractor_version)"
            " VALUES (?,?,?,?,?,?)",
            [[document_id, n.start_char, n.end_char, n.text[:300], n.reason, version] for n in non_claims],
        )
    return len(non_claims)


_CLAIM_COLUMNS = "(document_id, start_char, end_char, text, confidence, speaker, extractor_version)"
#: Rows per multi-row INSERT at most; a document's claims go in chunks of powers of two, so a few
#: statement texts serve every document (and stay in the connection's statement cache).
_MAX_ROWS = 256


def _insert_new(db: sqlite_utils.Database, document_id: int, claims: list[Claim], version: str) -> None:
    """Insert claims a document did not have, in order, and set their ids.

    Multi-row INSERTs rather than one statement per claim: the full-text trigger's FTS5 index
    flushes its pending terms at every statement that opens a statement journal, so one claim
    per statement wrote one index segment per claim (about 60 µs a claim in inserts and merges).
    """
    if not claims:
        return
    rows = [(document_id, c.start_char, c.end_char, c.text, c.confidence, c.speaker, version) for c in claims]
    done = 0
    while done < len(rows):
        size = min(_MAX_ROWS, 1 << ((len(rows) - done).bit_length() - 1))
        chunk = rows[done:done + size]
        db.conn.execute(f"INSERT INTO claims {_CLAIM_COLUMNS} VALUES " + ",".join(["(?,?,?,?,?,?,?)"] * size),
                        [v for row in chunk for v in row])
        done += size
    ids = {(start, end): claim_id for claim_id, start, end in db.conn.execute(
        "SELECT id, start_char, end_char FROM claims WHERE document_id = ?", [document_id])}
    for claim in claims:
        claim.id = ids[claim.start_char, claim.end_char]


def _write_children(db: sqlite_utils.Database, claims: list[Claim]) -> None:
    """Topics, quantities and entities of stored claims (ids set), one statement per table, in claim order."""
    topic_rows = [[c.id, tag.topic, tag.stance, tag.score, json.dumps(tag.cues), tag.probability, tag.stance_probability]
                  for c in claims for tag in c.topics]
    if topic_rows:
        db.conn.executemany(
            "INSERT OR IGNORE INTO claim_topics (claim_id, topic, stance, score, cues, origin, probability,"
            " stance_probability) VALUES (?,?,?,?,?, 'extractor', ?, ?)", topic_rows)
    quantity_rows = [[c.id, q.text, q.value, q.value_max, q.unit, q.kind, q.start_char, q.end_char]
                     for c in claims for q in c.quantities]
    if quantity_rows:
        db.conn.executemany(
            "INSERT INTO quantities (claim_id, text, value, value_max, unit, kind, start_char, end_char)"
            " VALUES (?,?,?,?,?,?,?,?)", quantity_rows)
    entity_rows = [[c.id, e.text, e.label, e.start_char, e.end_char] for c in claims for e in c.entities]
    if entity_rows:
        db.conn.executemany(
            "INSERT INTO entities (claim_id, text, label, start_char, end_char) VALUES (?,?,?,?,?)", entity_rows)
