"""Read and write `documents` and their `passages`; dedupe on source+guid and content hash."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterator

import sqlite_utils

from kb.records import Document, Passage
from kb.urls import police_document_links


@dataclass
class SaveResult:
    """What happened to one document handed to `save_document`."""

    document_id: int
    status: str  # new | unchanged | duplicate (same content already stored from another source)
    duplicate_of: int | None = None


def save_document(
    db: sqlite_utils.Database, doc: Document, *, duplicate_of: int | None = None
) -> SaveResult:
    """Store `doc` unless (source, guid) is already there; link exact-content duplicates.

    `duplicate_of` links a near-duplicate the caller recognised (same issue from another source)
    when no exact-content duplicate exists. Links failing the URL policy (`kb.urls`) are dropped
    before storing, the reason kept in `metadata["dropped_links"]`.
    """
    doc.url, doc.metadata = police_document_links(doc.url, doc.metadata)
    row = db.execute(
        "SELECT id FROM documents WHERE source_id = ? AND guid = ?", [doc.source_id, doc.guid]
    ).fetchone()
    if row:
        return SaveResult(row[0], "unchanged")
    chash = doc.content_hash
    dup = db.execute(
        "SELECT id FROM documents WHERE content_hash = ? AND duplicate_of IS NULL ORDER BY id LIMIT 1",
        [chash],
    ).fetchone()
    if not dup and duplicate_of is not None:
        dup = (duplicate_of,)
    with db.conn:
        cur = db.execute(
            "INSERT INTO documents (source_id, guid, url, title, author, published, text,"
            " content_hash, duplicate_of, metadata) VALUES (?,?,?,?,?,?,?,?,?,?)",
            [
                doc.source_id,
                doc.guid,
                doc.url,
                doc.title,
                doc.author,
                doc.published,
                doc.text,
                chash,
                dup[0] if dup else None,
                json.dumps(doc.metadata, default=str),
            ],
        )
        doc_id = cur.lastrowid
        if doc.passages:
            db["passages"].insert_all(
                [
                    {
                        "document_id": doc_id,
                        "seq": i,
                        "start_char": p.start_char,
                        "end_char": p.end_char,
                        "section": p.section,
                        "speaker": p.speaker,
                        "start_seconds": p.start_seconds,
                        "end_seconds": p.end_seconds,
                    }
                    for i, p in enumerate(doc.passages)
                ]
            )
    if dup:
        return SaveResult(doc_id, "duplicate", dup[0])
    return SaveResult(doc_id, "new")


def load_document(db: sqlite_utils.Database, document_id: int) -> Document:
    """A stored document with its passages."""
    row = next(db.query("SELECT * FROM documents WHERE id = ?", [document_id]))
    return _row_to_document(db, row)


def _row_to_document(db: sqlite_utils.Database, row: dict[str, Any]) -> Document:
    passages = [
        Passage(
            start_char=p["start_char"],
            end_char=p["end_char"],
            section=p["section"],
            speaker=p["speaker"],
            start_seconds=p["start_seconds"],
            end_seconds=p["end_seconds"],
        )
        for p in db.query("SELECT * FROM passages WHERE document_id = ? ORDER BY seq", [row["id"]])
    ]
    return Document(
        id=row["id"],
        source_id=row["source_id"],
        guid=row["guid"],
        text=row["text"],
        title=row["title"],
        url=row["url"],
        author=row["author"],
        published=row["published"],
        passages=passages,
        metadata=json.loads(row["metadata"] or "{}"),
    )


def documents_to_extract(
    db: sqlite_utils.Database, version: str, *, reextract: bool = False
) -> Iterator[Document]:
    """Documents not yet extracted (or extracted by another version, with `reextract`).

    Exact duplicates of another document are skipped: their claims live on the original.
    """
    if reextract:
        where = "(extracted_version IS NULL OR extracted_version != ?)"
        params: list[Any] = [version]
    else:
        where = "extracted_version IS NULL"
        params = []
    ids = [r[0] for r in db.execute(
        f"SELECT id FROM documents WHERE {where} AND duplicate_of IS NULL ORDER BY id", params
    ).fetchall()]
    for doc_id in ids:
        yield load_document(db, doc_id)


def mark_extracted(
    db: sqlite_utils.Database, document_id: int, version: str, status: str = "ok", reason: str | None = None
) -> None:
    """Record that `document_id` went through extractor `version` (status ok | skipped | error)."""
    db.execute(
        "UPDATE documents SET extracted_version = ?, extract_status = ?, extract_reason = ? WHERE id = ?",
        [version, status, reason, document_id],
    )
