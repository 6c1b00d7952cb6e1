"""Episodes to transcribe and what became of them (`transcriptions`); a transcript becomes the text.

Each episode is claimed (`running`) in its own commit before its audio is fetched, and its
result is stored in one transaction, so a process killed at any point loses nothing and
stores nothing twice: the next run takes a `running` row up again.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any, Iterable

import sqlite_utils

from kb.records import Passage
from kb.records import content_hash as hash_text
from kb.transactions import atomic

FINAL = ("done", "not_english", "no_speech")


@dataclass
class Episode:
    """A stored document with an enclosure and no published transcript in use."""

    document_id: int
    title: str | None
    enclosure_url: str
    enclosure_type: str | None
    duration_seconds: float | None
    source_id: int
    source_url: str
    source_title: str | None
    allow_private: bool
    status: str | None = None  # of its transcription row, if any
    attempts: int = 0
    model_version: str | None = None


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def episodes_to_transcribe(
    db: sqlite_utils.Database,
    *,
    model_version: str,
    reprocess: bool = False,
    retry_failed: bool = False,
    document_ids: Iterable[int] | None = None,
) -> list[Episode]:
    """Episodes waiting for a transcript, newest first.

    Waiting: never tried, left `running` by a killed process, or failed with a retry time that
    has come (any failure with `retry_failed`). With `reprocess`, also episodes finished by a
    model of another version. Duplicates of another document and episodes whose published
    transcript is in use are never listed.
    """
    params: list[Any] = [_now()]
    waiting = ["t.document_id IS NULL", "t.status = 'running'",
               "(t.status = 'failed' AND t.next_attempt_at IS NOT NULL AND t.next_attempt_at <= ?)"]
    if retry_failed:
        waiting.append("t.status = 'failed'")
    if reprocess:
        waiting.append(f"(t.status IN ({', '.join('?' * len(FINAL))}) AND coalesce(t.model_version, '') != ?)")
        params += [*FINAL, model_version]
    where = [f"({' OR '.join(waiting)})"]
    if document_ids is not None:
        ids = list(document_ids)
        where.append("d.id IN (SELECT value FROM json_each(?))")
        params.append(json.dumps(ids))
    sql = (
        "SELECT d.id, d.title, json_extract(d.metadata, '$.enclosure.url') AS enclosure_url,"
        " json_extract(d.metadata, '$.enclosure.type') AS enclosure_type,"
        " json_extract(d.metadata, '$.duration_seconds') AS duration_seconds,"
        " s.id AS source_id, s.url AS source_url, s.title AS source_title, s.allow_private,"
        " t.status, coalesce(t.attempts, 0) AS attempts, t.model_version"
        " FROM documents d JOIN sources s ON s.id = d.source_id"
        " LEFT JOIN transcriptions t ON t.document_id = d.id"
        " WHERE json_extract(d.metadata, '$.enclosure.url') IS NOT NULL"
        " AND json_extract(d.metadata, '$.transcript_url') IS NULL AND d.duplicate_of IS NULL"
        f" AND {' AND '.join(where)}"
        " ORDER BY coalesce(d.published, d.fetched_at) DESC, d.id DESC"
    )
    out = []
    for r in db.query(sql, params):
        duration = r["duration_seconds"]
        out.append(Episode(
            document_id=r["id"], title=r["title"], enclosure_url=str(r["enclosure_url"]),
            enclosure_type=r["enclosure_type"], duration_seconds=float(duration) if isinstance(duration, (int, float)) else None,
            source_id=r["source_id"], source_url=r["source_url"], source_title=r["source_title"],
            allow_private=bool(r["allow_private"]), status=r["status"], attempts=r["attempts"],
            model_version=r["model_version"],
        ))
    return out


def start_attempt(db: sqlite_utils.Database, episode: Episode, *, model: str, model_version: str) -> int:
    """Claim `episode` (status `running`, one more attempt), committed at once; returns the attempt number."""
    with atomic(db):
        db.execute(
            "INSERT INTO transcriptions (document_id, enclosure_url, status, model, model_version, attempts, started_at)"
            " VALUES (?, ?, 'running', ?, ?, 1, ?)"
            " ON CONFLICT(document_id) DO UPDATE SET status = 'running', enclosure_url = excluded.enclosure_url,"
            " resume_at = CASE WHEN status = 'running' AND model_version = excluded.model_version"
            "  AND enclosure_url = excluded.enclosure_url THEN resume_at END,"
            " model = excluded.model, model_version = excluded.model_version, attempts = attempts + 1,"
            " started_at = excluded.started_at, next_attempt_at = NULL",
            [episode.document_id, episode.enclosure_url, model, model_version, _now()],
        )
    return db.execute("SELECT attempts FROM transcriptions WHERE document_id = ?", [episode.document_id]).fetchone()[0]


def save_progress(db: sqlite_utils.Database, document_id: int, *, segments: list[dict[str, Any]], resume_at: float,
                  progress: dict[str, Any]) -> None:
    """Checkpoint a running transcription: the sentences so far and where to go on after a crash."""
    with atomic(db):
        db.execute(
            "UPDATE transcriptions SET segments = ?, resume_at = ?, progress = ? WHERE document_id = ? AND status = 'running'",
            [json.dumps(segments), resume_at, json.dumps(progress), document_id],
        )


def checkpoint(db: sqlite_utils.Database, document_id: int, model_version: str) -> dict[str, Any] | None:
    """The checkpoint of a transcription left running by `model_version`: segments, resume_at, progress."""
    rows = list(db.query(
        "SELECT segments, resume_at, progress FROM transcriptions WHERE document_id = ? AND status = 'running'"
        " AND model_version = ? AND resume_at IS NOT NULL", [document_id, model_version]))
    if not rows:
        return None
    return {"segments": json.loads(rows[0]["segments"]), "resume_at": rows[0]["resume_at"],
            "progress": json.loads(rows[0]["progress"] or "{}")}


def record_failure(db: sqlite_utils.Database, document_id: int, reason: str, *, retry_at: str | None) -> None:
    """The episode failed for `reason`; it is tried again after `retry_at` (never automatically when None)."""
    with atomic(db):
        db.execute(
            "UPDATE transcriptions SET status = 'failed', reason = ?, next_attempt_at = ?, finished_at = ?,"
            " resume_at = NULL, progress = NULL"
            " WHERE document_id = ?", [reason, retry_at, _now(), document_id],
        )


def record_unused(
    db: sqlite_utils.Database, document_id: int, status: str, reason: str, *, text: str,
    segments: list[dict[str, Any]], language: str | None, language_probability: float | None,
    audio_seconds: float | None, transcribe_seconds: float,
) -> None:
    """Keep a transcript that will not become the text (`not_english`, `no_speech`) with its reason.

    A transcript that this replaces (reprocessing) leaves the document as it was.
    """
    if status not in ("not_english", "no_speech"):
        raise ValueError(f"not a status for an unused transcript: {status!r}")
    with atomic(db):
        db.execute(
            "UPDATE transcriptions SET status = ?, reason = ?, warning = NULL, text = ?, segments = ?, language = ?,"
            " language_probability = ?, audio_seconds = ?, transcribe_seconds = ?, passages = 0,"
            " next_attempt_at = NULL, resume_at = NULL, progress = NULL, finished_at = ? WHERE document_id = ?",
            [status, reason, text, json.dumps(segments), language, language_probability, audio_seconds,
             transcribe_seconds, _now(), document_id],
        )


@dataclass
class TranscriptSaved:
    """What storing a transcript did to the episode's earlier claims."""

    removed_claims: int = 0
    kept_claims: int = 0  # decided on by an editor or sent in a digest: kept, moved to the new text if found


def save_transcript(
    db: sqlite_utils.Database, document_id: int, text: str, passages: list[Passage], *,
    transcript: dict[str, Any], segments: list[dict[str, Any]], language: str | None,
    language_probability: float | None, audio_seconds: float | None, transcribe_seconds: float,
    warning: str | None = None,
) -> TranscriptSaved:
    """Make `text` (with timed `passages`) the episode's text, all in one transaction.

    The show notes move to `metadata.show_notes` (as with a published transcript), `transcript`
    goes to `metadata.transcribed`, and the document waits for extraction again. Claims found in
    the old text are removed, except those an editor decided on or a digest refers to.
    """
    row = db.execute("SELECT text, metadata FROM documents WHERE id = ?", [document_id]).fetchone()
    if row is None:
        raise ValueError(f"no document {document_id}")
    old_text, metadata = row[0], json.loads(row[1] or "{}")
    if "transcribed" not in metadata:
        metadata["show_notes"] = old_text
    metadata["transcribed"] = transcript
    saved = TranscriptSaved()
    with atomic(db):
        db.execute(
            "UPDATE documents SET text = ?, content_hash = ?, metadata = ?, extracted_version = NULL,"
            " extract_status = NULL, extract_reason = NULL WHERE id = ?",
            [text, hash_text(text), json.dumps(metadata, default=str), document_id],
        )
        db.execute("DELETE FROM passages WHERE document_id = ?", [document_id])
        db.conn.executemany(
            "INSERT INTO passages (document_id, seq, start_char, end_char, section, speaker, start_seconds, end_seconds)"
            " VALUES (?,?,?,?,?,?,?,?)",
            [[document_id, i, p.start_char, p.end_char, p.section, p.speaker, p.start_seconds, p.end_seconds]
             for i, p in enumerate(passages)],
        )
        db.execute("DELETE FROM non_claims WHERE document_id = ?", [document_id])
        for claim_id, claim_text, locked in db.execute(
            "SELECT id, text, editor_locked FROM claims WHERE document_id = ?", [document_id]
        ).fetchall():
            referenced = locked or any(db.execute(f"SELECT 1 FROM {table} WHERE claim_id = ? LIMIT 1", [claim_id]).fetchone()
                                       for table in ("digest_items", "digest_pool", "curation_log"))
            if not referenced:
                db.execute("DELETE FROM claims WHERE id = ?", [claim_id])
                saved.removed_claims += 1
                continue
            saved.kept_claims += 1
            at = text.find(claim_text)
            if at >= 0:
                db.execute("UPDATE OR IGNORE claims SET start_char = ?, end_char = ? WHERE id = ?",
                           [at, at + len(claim_text), claim_id])
        db.execute(
            "UPDATE transcriptions SET status = 'done', reason = NULL, warning = ?, text = ?, segments = ?,"
            " language = ?, language_probability = ?, audio_seconds = ?, transcribe_seconds = ?, passages = ?,"
            " next_attempt_at = NULL, resume_at = NULL, progress = NULL, finished_at = ? WHERE document_id = ?",
            [warning, text, json.dumps(segments), language, language_probability, audio_seconds,
             transcribe_seconds, len(passages), _now(), document_id],
        )
    return saved


def transcription(db: sqlite_utils.Database, document_id: int) -> dict[str, Any] | None:
    """The transcription row of one episode, or None."""
    rows = list(db.query("SELECT * FROM transcriptions WHERE document_id = ?", [document_id]))
    return rows[0] if rows else None


def status_counts(db: sqlite_utils.Database) -> dict[str, int]:
    """How many episodes are in each transcription status."""
    return dict(db.execute("SELECT status, count(*) FROM transcriptions GROUP BY status").fetchall())
