"""Every feed of the corpus ingests without an exception; expectations beside a sample are checked.

Each feed is ingested twice: from its local file (a path a person typed) and over a loopback HTTP
server. Transcripts named by a feed are only ever fetched over http(s): from the local file a
podcast keeps its show notes and says why its transcript was refused.
Regenerate the corpus with tests/fixtures/ingest/make_corpus.py.
"""
from __future__ import annotations

import functools
import http.server
import json
import threading
from pathlib import Path

import pytest

from ingest import ingest_sources
from kb.documents import load_document
from kb.records import Source
from kb.sources import add_source, get_source

CORPUS = Path(__file__).resolve().parent.parent / "fixtures" / "ingest" / "feeds"
FEEDS = sorted(p for p in CORPUS.iterdir() if p.is_file() and not p.name.endswith(".expected.json"))


class _CorpusHandler(http.server.SimpleHTTPRequestHandler):
    """Serves the corpus folder; feeds as application/xml (as the local reader assumes)."""

    def guess_type(self, path):  # type: ignore[override]
        if str(path).endswith(".json"):
            return "application/json"
        if str(path).endswith((".xml", ".rdf")):
            return "application/xml"
        return super().guess_type(path)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def corpus_base():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_CorpusHandler, directory=str(CORPUS)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_corpus_is_big_enough():
    assert len(FEEDS) >= 100


@pytest.mark.parametrize("where", ["local", "http"])
@pytest.mark.parametrize("path", FEEDS, ids=[p.name for p in FEEDS])
def test_feed(db, path: Path, where: str, corpus_base: str):
    from ingest import IngestOptions

    expected_file = path.with_name(path.name + ".expected.json")
    expected = json.loads(expected_file.read_text(encoding="utf-8")) if expected_file.exists() else {}
    kind = expected.get("kind", "podcast" if path.name.startswith("podcast") else "rss")
    if where == "local":
        source = add_source(db, Source(url=str(path), kind=kind))
    else:
        source = add_source(db, Source(url=f"{corpus_base}/{path.name}", kind=kind, allow_private=True))
    report = ingest_sources(db, [source], IngestOptions(connect_timeout=5, read_timeout=5, total_timeout=20))[0]
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
    transcript_text = where == "local" and "speaker" in expected  # a transcript's words are not there
    for needle in [] if transcript_text else expected.get("contains", []):
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
    if "paragraphs" in expected and not transcript_text:
        assert docs[0].text.count("\n\n") + 1 == expected["paragraphs"]
    if "speaker" in expected and where == "local":
        doc = docs[0]
        assert "speakers" not in doc.metadata and "show_notes" not in doc.metadata
        assert "transcript refused: file: URL" in (report.warning or "")
        assert doc.metadata["dropped_links"][0]["field"] == "transcript"
    elif "speaker" in expected:
        doc = docs[0]
        assert expected["speaker"] in doc.metadata["speakers"]
        assert doc.passages[0].speaker == expected["speaker"]
        if expected.get("timed"):
            assert doc.passages[0].start_seconds == 0.0 and doc.passages[-1].end_seconds == 14.25
        assert doc.metadata["duration_seconds"] == expected["duration_seconds"]
        assert doc.metadata["show_notes"]
    again = ingest_sources(db, [get_source(db, source.id)])[0]
    assert again.new == 0
