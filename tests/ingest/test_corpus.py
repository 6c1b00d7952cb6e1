"""Every feed of the corpus ingests without an exception; expectations beside a sample are checked.

Regenerate the corpus with tests/fixtures/ingest/make_corpus.py.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from ingest import ingest_sources
from kb.documents import load_document
from kb.records import Source
from kb.sources import add_source, get_source

CORPUS = Path(__file__).resolve().parent.parent / "fixtures" / "ingest" / "feeds"
FEEDS = sorted(p for p in CORPUS.iterdir() if p.is_file() and not p.name.endswith(".expected.json"))


def test_corpus_is_big_enough():
    assert len(FEEDS) >= 100


@pytest.mark.parametrize("path", FEEDS, ids=[p.name for p in FEEDS])
def test_feed(db, path: Path):
    expected_file = path.with_name(path.name + ".expected.json")
    expected = json.loads(expected_file.read_text(encoding="utf-8")) if expected_file.exists() else {}
    kind = expected.get("kind", "podcast" if path.name.startswith("podcast") else "rss")
    source = add_source(db, Source(url=str(path), kind=kind))
    report = ingest_sources(db, [source])[0]
    assert "\n" not in report.summary()
    if "error_prefix" in expected:
        assert report.error and report.error.startswith(expected["error_prefix"]), report.summary()
        return
    assert report.error is None, report.summary()
    docs = [load_document(db, r["id"]) for r in db.query("SELECT id FROM documents ORDER BY id")]
    for doc in docs:
        assert doc.text and doc.guid
        for p in doc.passages:
            assert 0 <= p.start_char < p.end_char <= len(doc.text)
    if "new" in expected:
        assert report.new == expected["new"]
    if "min_new" in expected:
        assert report.new >= expected["min_new"]
    if expected.get("bozo"):
        assert "ill-formed" in (get_source(db, source.id).warning or "")
    texts = "\n".join(d.text for d in docs)
    for needle in expected.get("contains", []):
        assert needle in texts
    for needle in expected.get("absent", []):
        assert needle not in texts
    if "max_text" in expected:
        assert all(len(d.text) <= expected["max_text"] for d in docs)
    if "guid_prefix" in expected:
        assert all(d.guid.startswith(expected["guid_prefix"]) for d in docs)
    if "url_prefix" in expected:
        assert all(d.url.startswith(expected["url_prefix"]) for d in docs), [d.url for d in docs]
    if "published" in expected:
        assert docs[0].published == expected["published"]
    if "author" in expected:
        assert docs[0].author == expected["author"]
    if "paragraphs" in expected:
        assert docs[0].text.count("\n\n") + 1 == expected["paragraphs"]
    if "speaker" in expected:
        doc = docs[0]
        assert expected["speaker"] in doc.metadata["speakers"]
        assert doc.passages[0].speaker == expected["speaker"]
        if expected.get("timed"):
            assert doc.passages[0].start_seconds == 0.0 and doc.passages[-1].end_seconds == 14.25
        assert doc.metadata["duration_seconds"] == expected["duration_seconds"]
        assert doc.metadata["show_notes"]
    again = ingest_sources(db, [get_source(db, source.id)])[0]
    assert again.new == 0
