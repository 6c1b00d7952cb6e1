"""The KB core: migrations, WAL, dedupe, claims that survive re-extraction."""
from __future__ import annotations

import sqlite3

from kb import SCHEMA_VERSION, migrate, open_db
from kb.claims import save_claims
from kb.documents import documents_to_extract, mark_extracted, save_document
from kb.records import Claim, Document, Passage, Quantity, Source, TopicTag
from kb.sources import add_source


def _doc(source_id: int, guid: str, text: str) -> Document:
    return Document(source_id=source_id, guid=guid, text=text, passages=[Passage(0, len(text))])


def test_open_is_wal_and_migrations_are_idempotent(kb_path) -> None:
    db = open_db(kb_path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert migrate(db) == []
    db.conn.close()
    db = open_db(kb_path)
    versions = [r[0] for r in db.execute("SELECT version FROM schema_migrations")]
    assert max(versions) == SCHEMA_VERSION and len(versions) == len(set(versions))
    assert db["topics"].count >= 3


def test_documents_dedupe_on_guid_and_content(db) -> None:
    a = add_source(db, Source(url="/tmp/a.xml", kind="rss"))
    b = add_source(db, Source(url="/tmp/b.xml", kind="rss"))
    assert add_source(db, Source(url="/tmp/a.xml", kind="rss")).id == a.id
    first = save_document(db, _doc(a.id, "1", "Fine-tuning is a waste.  It goes obsolete."))
    again = save_document(db, _doc(a.id, "1", "changed text"))
    elsewhere = save_document(db, _doc(b.id, "x", "fine-tuning is a waste. it goes   obsolete."))
    assert (first.status, again.status, elsewhere.status) == ("new", "unchanged", "duplicate")
    assert elsewhere.duplicate_of == first.document_id
    assert [d.id for d in documents_to_extract(db, "v1")] == [first.document_id]


def test_reextraction_keeps_editor_decisions(db) -> None:
    src = add_source(db, Source(url="/tmp/a.xml", kind="rss"))
    text = "Fine-tuning is a waste. Latency matters for voice bots."
    doc_id = save_document(db, _doc(src.id, "1", text)).document_id
    claims = [
        Claim(doc_id, 0, 23, text[:23], topics=[TopicTag("finetuning-obsolescence", "supports", 0.8)]),
        Claim(doc_id, 24, len(text), text[24:], topics=[TopicTag("latency", "supports", 0.7)],
              quantities=[Quantity("0.6 seconds", 0.6, "s", "latency")]),
    ]
    save_claims(db, doc_id, claims, "v1")
    mark_extracted(db, doc_id, "v1")
    first_id = db.execute("SELECT id FROM claims WHERE start_char = 0").fetchone()[0]
    db.execute("UPDATE claims SET status = 'rejected', editor_locked = 1 WHERE id = ?", [first_id])
    db.execute("UPDATE claim_topics SET stance = 'opposes', origin = 'editor' WHERE claim_id = ?", [first_id])
    db.conn.commit()

    rerun = [
        Claim(doc_id, 0, 23, text[:23], topics=[TopicTag("finetuning-obsolescence", "neutral", 0.5)]),
        Claim(doc_id, 24, len(text), text[24:], topics=[TopicTag("latency", "opposes", 0.6)]),
    ]
    saved = save_claims(db, doc_id, rerun, "v2")
    assert (saved.kept_by_editor, saved.updated, saved.inserted) == (1, 1, 0)
    row = db.execute(
        "SELECT c.status, t.stance, c.extractor_version FROM claims c JOIN claim_topics t ON t.claim_id = c.id"
        " WHERE c.id = ?", [first_id]
    ).fetchone()
    assert row == ("rejected", "opposes", "v1")
    assert db.execute("SELECT stance FROM claim_topics WHERE topic = 'latency'").fetchone()[0] == "opposes"
    assert db["quantities"].count == 0
    assert [d.id for d in documents_to_extract(db, "v2", reextract=True)] == [doc_id]


def test_fts_uses_porter_stemming(db) -> None:
    src = add_source(db, Source(url="/tmp/a.xml", kind="rss"))
    doc_id = save_document(db, _doc(src.id, "1", "Enterprises fine-tune small models.")).document_id
    save_claims(db, doc_id, [Claim(doc_id, 0, 35, "Enterprises fine-tune small models.")], "v1")
    hits = db.execute("SELECT rowid FROM claims_fts WHERE claims_fts MATCH 'model'").fetchall()
    assert len(hits) == 1
    hits = db.execute("SELECT rowid FROM documents_fts WHERE documents_fts MATCH 'enterprise'").fetchall()
    assert len(hits) == 1


def test_deleting_a_claim_cascades(kb_path) -> None:
    db = open_db(kb_path)
    src = add_source(db, Source(url="/tmp/a.xml", kind="rss"))
    doc_id = save_document(db, _doc(src.id, "1", "A claim about GPUs.")).document_id
    save_claims(db, doc_id, [Claim(doc_id, 0, 19, "A claim about GPUs.",
                                   topics=[TopicTag("gpu-supply")])], "v1")
    save_claims(db, doc_id, [], "v2")
    assert db["claims"].count == 0 and db["claim_topics"].count == 0
    assert isinstance(db.conn, sqlite3.Connection)


def test_a_failing_migration_leaves_nothing_behind(kb_path, monkeypatch) -> None:
    import pytest

    import kb.db as kbdb

    real = kbdb._migration_files()
    broken = real + [(999, "999_broken.sql", "CREATE TABLE half_done (x);\nTHIS IS NOT SQL;")]
    monkeypatch.setattr(kbdb, "_migration_files", lambda: broken)
    with pytest.raises(kbdb.MigrationFailed, match="999_broken.sql"):
        open_db(kb_path)
    monkeypatch.setattr(kbdb, "_migration_files", lambda: real)
    db = open_db(kb_path)
    assert "half_done" not in db.table_names()
    assert db.execute("SELECT count(*) FROM schema_migrations WHERE version = 999").fetchone()[0] == 0


def test_shipped_topic_patterns_follow_the_shipped_file(db) -> None:
    """Seeding adds new shipped patterns, retires the ones no longer shipped (never used again,
    kept for the record), brings a retired one back as the editor left it, and never touches
    an editor's own patterns."""
    from kb.topics import seed_topic_patterns, topic_records

    def latency() -> list:
        record = next(t for t in topic_records(db) if t["slug"] == "latency")
        return sorted(record["patterns"] + record["editor_patterns"])

    db.execute("DELETE FROM topic_patterns")  # as if nothing were shipped yet
    assert seed_topic_patterns(db, [("latency", "slow answers"), ("latency", "snappy"), ("latency", "pause")]) == 3
    db.execute("INSERT INTO topic_patterns (topic, pattern, origin) VALUES ('latency', '\"lag\"', 'editor')")
    db.execute("UPDATE topic_patterns SET active = 0 WHERE pattern = '\"pause\"'")  # an editor switched it off
    assert seed_topic_patterns(db, [("latency", "slow answers")]) == 0  # "snappy" and "pause" no longer shipped
    origins = {r["pattern"]: (r["origin"], r["active"]) for r in db.query("SELECT * FROM topic_patterns")}
    assert origins == {'"slow answers"': ("shipped", 1), '"snappy"': ("retired", 1), '"pause"': ("retired", 0),
                       '"lag"': ("editor", 1)}
    assert latency() == ["lag", "slow answers"]
    assert seed_topic_patterns(db, [("latency", "slow answers"), ("latency", "pause"), ("latency", "snappy")]) == 0
    assert latency() == ["lag", "slow answers", "snappy"]  # "pause" stays off


def test_a_topic_is_one_record_seeded_from_the_shipped_file(db) -> None:
    """Each shipped topic comes into the KB whole: direction flags and examples on its row, its
    patterns in topic_patterns; an older KB's topics get the flags they lack, never an editor's edit."""
    import json

    from kb.topics import seed_topics, shipped_topics, topic_records

    shipped = {t["slug"]: t for t in shipped_topics()}
    stored = {t["slug"]: t for t in topic_records(db)}
    assert set(stored) == set(shipped)
    for slug, record in shipped.items():
        for field in ("label", "proposition", "pro", "evaluative", "valence", "rising", "examples"):
            assert stored[slug][field] == record[field], (slug, field)
        assert sorted(json.dumps(p, sort_keys=True) for p in stored[slug]["patterns"]) == \
            sorted(json.dumps(p, sort_keys=True) for p in record["patterns"])
    assert stored["finetuning-obsolescence"]["pro"] == "opposes"
    db.execute("UPDATE topics SET pro = NULL, evaluative = NULL WHERE slug = 'latency'")  # as before migration 062
    db.execute("UPDATE topics SET pro = 'opposes' WHERE slug = 'gpu-supply'")  # an editor's choice
    assert seed_topics(db) == 0
    again = {t["slug"]: t for t in topic_records(db)}
    assert again["latency"]["pro"] == shipped["latency"]["pro"] and again["latency"]["evaluative"] is True
    assert again["gpu-supply"]["pro"] == "opposes"
