"""extract_pending on the seeds in a real KB: the claims the walking skeleton promises."""
from __future__ import annotations

import json

from extract import EXTRACTOR_VERSION, extract_pending
from extract_helpers import add_seeds


def _claim_with(db, text: str) -> dict:
    rows = list(db.query("SELECT * FROM claims WHERE instr(text, ?) > 0", [text]))
    assert rows, f"no claim contains {text!r}"
    return rows[0]


def _topics(db, claim_id: int) -> dict[str, dict]:
    return {r["topic"]: r for r in db.query("SELECT * FROM claim_topics WHERE claim_id = ?", [claim_id])}


def test_seed_claims_topics_stance_quantities(db, nlp):
    add_seeds(db)
    report = extract_pending(db, nlp=nlp)
    assert report.documents == 4 and report.errors == 0 and report.skipped == 0
    assert report.claims == db["claims"].count > 30
    assert EXTRACTOR_VERSION in report.summary() and "\n" not in report.summary()

    bloomberg = _claim_with(db, "Bloomberg spent eight figures on BloombergGPT, only for GPT-4 to make it obsolete weeks later.")
    assert bloomberg["text"].startswith("Bloomberg spent eight figures")
    topic = _topics(db, bloomberg["id"])["finetuning-obsolescence"]
    assert topic["stance"] == "supports" and 0 <= topic["score"] <= 1 and json.loads(topic["cues"])
    doc_text = db.execute("SELECT text FROM documents WHERE id = ?", [bloomberg["document_id"]]).fetchone()[0]
    assert doc_text[bloomberg["start_char"]:bloomberg["end_char"]] == bloomberg["text"]

    tokens = _claim_with(db, "At least 10 billion high-quality tokens are needed")
    assert "token-thresholds" in _topics(db, tokens["id"])
    quantities = list(db.query("SELECT * FROM quantities WHERE claim_id = ?", [tokens["id"]]))
    assert any(q["value"] == 1e10 and q["unit"] == "tokens" for q in quantities)

    latency = _claim_with(db, "voice bots")
    assert "latency" in _topics(db, latency["id"])

    for boilerplate in ("See you next week", "We scan new podcasts and send you the top 5 insights daily"):
        assert not list(db.query("SELECT id FROM claims WHERE instr(text, ?) > 0", [boilerplate]))

    laskin = _claim_with(db, "Misha Laskin, CEO of Reflection AI, states")
    assert laskin["speaker"] == "Misha Laskin"


def test_incremental_and_reextract_keep_editor_decisions(db, nlp):
    add_seeds(db)
    extract_pending(db, nlp=nlp)
    counts = (db["claims"].count, db["claim_topics"].count, db["quantities"].count)
    again = extract_pending(db, nlp=nlp)
    assert again.documents == 0 and (db["claims"].count, db["claim_topics"].count, db["quantities"].count) == counts

    locked = _claim_with(db, "Bloomberg spent eight figures")
    db.execute("UPDATE claims SET editor_locked = 1, status = 'approved', text = 'edited by an editor' WHERE id = ?",
               [locked["id"]])
    db.execute("UPDATE documents SET extracted_version = 'old'")
    db.conn.commit()
    redo = extract_pending(db, nlp=nlp, reextract=True)
    assert redo.documents == 4 and redo.kept_by_editor == 1
    row = db.execute("SELECT text, status, extractor_version FROM claims WHERE id = ?", [locked["id"]]).fetchone()
    assert row == ("edited by an editor", "approved", EXTRACTOR_VERSION) or row[:2] == ("edited by an editor", "approved")
    assert db["claims"].count == counts[0]
