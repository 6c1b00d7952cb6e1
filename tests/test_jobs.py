"""The scheduler's job functions run the whole pipeline on the samples, as `insightkb run` would."""
from __future__ import annotations

import email
import email.policy
import sqlite3

from insightkb import jobs
from insightkb.samples import sample_sources
from kb import open_db
from kb.sources import add_source
from kb.subscribers import add_subscriber


def test_ingest_extract_and_daily_digest_jobs(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # the outbox is relative to the working directory
    kb = tmp_path / "kb.db"
    db = open_db(kb)
    ids = [add_source(db, s).id for s in sample_sources()]
    add_subscriber(db, "reader@example.org")
    db.conn.close()

    for source_id in ids:
        jobs.ingest_source(str(kb), None, source_id)
    jobs.extract_pending(str(kb), None)
    first = jobs.daily_digest(str(kb), None)
    again = jobs.daily_digest(str(kb), None)

    conn = sqlite3.connect(kb)
    assert conn.execute("SELECT count(*) FROM digests").fetchone()[0] == 1
    assert conn.execute("SELECT count(*) FROM digest_items").fetchone()[0] == 5
    assert conn.execute("SELECT status FROM deliveries").fetchall() == [("sent",)]
    assert "1 sent" in first and "0 sent" in again
    archive = list((tmp_path / "outbox").rglob("*.html"))
    assert archive, "the daily job refreshes the outbox archive"
    personal = [p for p in (tmp_path / "outbox").rglob("*.eml")
                if "reader@example.org" in email.message_from_bytes(p.read_bytes(), policy=email.policy.default)["To"]]
    assert len(personal) == 1
