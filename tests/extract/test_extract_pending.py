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

    # What is not a claim is kept with its reason, at offsets into the document text.
    reasons = {r["text"]: r for r in db.query("SELECT * FROM non_claims")}
    assert reasons["See you next week."]["reason"] == "sign-off"
    assert any(r["reason"] == "header" for r in reasons.values())
    for row in reasons.values():
        text = db.execute("SELECT text FROM documents WHERE id = ?", [row["document_id"]]).fetchone()[0]
        assert " ".join(text[row["start_char"]:row["end_char"]].split()) == row["text"]
        assert not list(db.query("SELECT id FROM claims WHERE document_id = ? AND start_char = ?",
                                 [row["document_id"], row["start_char"]]))


def test_incremental_and_reextract_keep_editor_decisions(db, nlp):
    add_seeds(db)
    extract_pending(db, nlp=nlp)
    counts = (db["claims"].count, db["claim_topics"].count, db["quantities"].count, db["non_claims"].count)
    again = extract_pending(db, nlp=nlp)
    assert again.documents == 0 and (db["claims"].count, db["claim_topics"].count, db["quantities"].count,
                                      db["non_claims"].count) == counts

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
    assert db["non_claims"].count == counts[3]  # replaced, not added again
    assert {r[0] for r in db.execute("SELECT DISTINCT extractor_version FROM non_claims")} == {EXTRACTOR_VERSION}


def test_two_processes_store_the_same_claims(tmp_path, nlp):
    from kb import open_db

    rows = []
    for n in (1, 2):
        db = open_db(tmp_path / f"kb{n}.db")
        add_seeds(db)
        report = extract_pending(db, nlp=nlp, n_process=n, batch_size=2)
        assert report.documents == 4 and report.errors == 0
        rows.append(list(db.query(
            "SELECT c.start_char, c.end_char, c.text, c.speaker, group_concat(t.topic || ':' || t.stance) AS topics"
            " FROM claims c LEFT JOIN claim_topics t ON t.claim_id = c.id GROUP BY c.id ORDER BY c.start_char")))
        db.conn.close()
    assert rows[0] == rows[1] and rows[0]


def test_every_stored_claim_joins_a_point(db, nlp):
    add_seeds(db)
    extract_pending(db, nlp=nlp)
    unclustered = db.execute("SELECT count(*) FROM claims WHERE id NOT IN (SELECT claim_id FROM claim_clusters)").fetchone()[0]
    assert db["claims"].count > 30 and unclustered == 0


def test_a_document_whose_claims_cannot_cluster_leaves_the_others_clustered(db, nlp, monkeypatch):
    """Clustering runs once for a batch of documents; when it fails, document by document, and
    only the failing document's claims stay without a point (all are stored and marked extracted)."""
    import extract.runner as runner

    add_seeds(db)
    real = runner.assign_clusters
    poisoned = db.execute("SELECT id FROM documents ORDER BY id LIMIT 1").fetchone()[0]

    def failing(database, claim_ids):
        ids = list(claim_ids)
        owners = {r[0] for r in database.execute(
            "SELECT document_id FROM claims WHERE id IN (SELECT value FROM json_each(?))", [json.dumps(ids)])}
        if poisoned in owners:
            raise RuntimeError("cluster index unavailable")
        return real(database, ids)

    monkeypatch.setattr(runner, "assign_clusters", failing)
    report = extract_pending(db, nlp=nlp)
    assert report.documents == 4 and report.errors == 0
    assert "not clustered" in report.reasons[poisoned]
    rows = db.execute("SELECT c.document_id, count(k.claim_id), count(*) FROM claims c"
                      " LEFT JOIN claim_clusters k ON k.claim_id = c.id GROUP BY c.document_id").fetchall()
    assert {doc: (clustered, total) for doc, clustered, total in rows}[poisoned][0] == 0
    assert all(clustered == total > 0 for doc, clustered, total in rows if doc != poisoned)
