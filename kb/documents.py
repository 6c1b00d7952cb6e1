"""Read and write `documents` and their `passages`; dedupe on source+guid and content hash."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterator

import sqlite_utils

from kb.records import Document, Passage
from kb.transactions import atomic
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
    with atomic(db):  # a savepoint inside a caller's batch, else its own transaction
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
            # plain executemany: sqlite-utils' insert_all introspects the table on every call
            db.conn.executemany(
                "INSERT INTO passages (document_id, seq, start_char, end_char, section, speaker, start_seconds,"
                " end_seconds) VALUES (?,?,?,?,?,?,?,?)",
                [(doc_id, i, p.start_char, p.end_char, p.section, p.speaker, p.start_seconds, p.end_seconds)
                 for i, p in enumerate(doc.passages)],
            )
    if dup:
        return SaveResult(doc_id, "duplicate", dup[0])
    return SaveResult(doc_id, "new")


def exists(db: sqlite_utils.Database, source_id: int, guid: str) -> bool:
    """Whether the source already stored an item with this guid."""
    return db.execute("SELECT 1 FROM documents WHERE source_id = ? AND guid = ?", [source_id, guid]).fetchone() is not None


def original_with_url(db: sqlite_utils.Database, url: str, *, other_than_source: int) -> int | None:
    """The first original (not duplicate) document of another source with this canonical URL."""
    row = db.execute(
        "SELECT id FROM documents WHERE url = ? AND source_id != ? AND duplicate_of IS NULL ORDER BY id LIMIT 1",
        [url, other_than_source],
    ).fetchone()
    return row[0] if row else None


def recent_published(db: sqlite_utils.Database, source_id: int, limit: int = 10) -> list[str]:
    """Publication times (ISO) of the source's latest documents, newest first."""
    return [r[0] for r in db.execute(
        "SELECT published FROM documents WHERE source_id = ? AND published IS NOT NULL ORDER BY published DESC LIMIT ?",
        [source_id, limit],
    ).fetchall()]


def recent_texts(db: sqlite_utils.Database, source_id: int, limit: int) -> list[tuple[str, str]]:
    """(guid, text) of the source's latest stored documents, newest first."""
    return [tuple(r) for r in db.execute(
        "SELECT guid, text FROM documents WHERE source_id = ? ORDER BY id DESC LIMIT ?", [source_id, limit]
    ).fetchall()]


def minhash_signatures(db: sqlite_utils.Database) -> list[tuple[int, int, bytes]]:
    """(document id, source id, signature bytes) of every stored MinHash."""
    return [tuple(r) for r in db.execute("SELECT document_id, source_id, signature FROM document_minhashes").fetchall()]


def save_minhash(db: sqlite_utils.Database, document_id: int, source_id: int, signature: bytes) -> None:
    """Store (or replace) a document's MinHash signature; the caller owns the transaction."""
    db.execute("INSERT OR REPLACE INTO document_minhashes (document_id, source_id, signature) VALUES (?,?,?)",
               [document_id, source_id, signature])


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
