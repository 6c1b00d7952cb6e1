"""The bundled samples ingest into four documents carrying the seed sentences; a second run adds nothing."""
from __future__ import annotations

from pathlib import Path

import pytest

from ingest import IngestOptions, IngestReport, ingest_sources
from insightkb.samples import sample_sources
from kb.documents import load_document
from kb.sources import add_source, get_source

SEEDS = Path("/work/shared/seeds")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def ingested(db):
    sources = [add_source(db, s) for s in sample_sources()]
    reports = ingest_sources(db, sources)
    return sources, reports


def _docs(db):
    return [load_document(db, r["id"]) for r in db.query("SELECT id FROM documents ORDER BY id")]


def test_contract_types():
    from dataclasses import asdict

    from insightkb.config import IngestSettings

    options = IngestOptions(**asdict(IngestSettings()))
    assert options.max_bytes == 20 * 1024 * 1024
    report = IngestReport(1, "x")
    assert "\n" not in report.summary()


def test_samples_make_four_documents(db, ingested):
    _, reports = ingested
    assert [r.error for r in reports] == [None, None, None]
    assert [r.new for r in reports] == [2, 1, 1]
    assert db["documents"].count == 4


@pytest.mark.skipif(not SEEDS.exists(), reason="shared seeds not present")
def test_seed_sentences_are_in_the_text(db, ingested):
    texts = [d.text for d in _docs(db)]
    for seed in sorted(SEEDS.glob("*.txt")):
        for line in seed.read_text(encoding="utf-8").splitlines():
            sentence = line.strip().removeprefix("- ")
            if not sentence or sentence == "Related on AIssential":  # navigation heading, dropped
                continue
            assert any(sentence in t for t in texts), f"{seed.name}: {sentence!r}"


def test_insight_paragraphs_are_passages(db, ingested):
    doc = _docs(db)[0]
    passages = [doc.text[p.start_char : p.end_char] for p in doc.passages]
    assert len(passages) == 11
    assert passages[1].startswith("Bloomberg spent eight figures on BloombergGPT")
    # the service's repeated intro line is learnt boilerplate: in the text, not a passage
    assert "We scan new podcasts and send you the top 5 insights daily." not in passages
    assert doc.metadata["boilerplate"] == ["We scan new podcasts and send you the top 5 insights daily."]
    assert "\n\n" in doc.text and "Unsubscribe" not in doc.text and "open.gif" not in doc.text
    assert doc.url == "https://podinsights.example/issues/pi-2026-11-23"  # utm_* removed


def test_newsletter_furniture_dropped(db, ingested):
    doc = next(d for d in _docs(db) if d.title.startswith("Maligned"))
    for furniture in ("View in browser", "Unsubscribe", "You are receiving this", "open.png"):
        assert furniture not in doc.text
    assert doc.text.count("Couple of things worth talking about this week.") == 1  # hidden preheader dropped
    assert doc.metadata["list_id"] == "maligned.maligned.example"
    assert doc.url == "https://maligned.example/p/2"
    sections = {p.section for p in doc.passages}
    assert "Anthropic published new interpretability research" in sections


def test_page_sections_and_metadata(db, ingested):
    doc = next(d for d in _docs(db) if d.title == "To Train or Not to Train")
    by_section = {}
    for p in doc.passages:
        by_section.setdefault(p.section, []).append(doc.text[p.start_char : p.end_char])
    for name in ("Summary", "Key takeaway", "Key insights", "Principles", "Method", "In practice", "Topics", "Best for"):
        assert name in by_section, name
    assert by_section["Principles"][0] == "Proprietary data drives differentiation."
    assert doc.metadata["tags"][:2] == ["AI Application Development", "Post-training Models"]
    assert doc.metadata["audience"][0] == "Product Manager" and "Entrepreneur" in doc.metadata["audience"]
    assert doc.metadata["original_source"] == "Tanay’s Newsletter"
    for furniture in ("Log in", "Privacy", "Open weights in production", "pixel.gif"):
        assert furniture not in doc.text
    assert doc.published == "2026-11-20T00:00:00Z"


def test_second_run_adds_nothing(db, ingested):
    sources, _ = ingested
    counts = {t: db[t].count for t in ("documents", "passages", "document_minhashes")}
    again = ingest_sources(db, [get_source(db, s.id) for s in sources])
    assert sum(r.new for r in again) == 0
    assert sum(r.unchanged for r in again) == 4
    assert {t: db[t].count for t in counts} == counts


def test_missing_file_is_one_line_error_and_others_still_ingested(db, tmp_path):
    from kb.records import Source

    sources = [add_source(db, s) for s in sample_sources()]
    missing = add_source(db, Source(url=str(tmp_path / "gone.xml"), kind="rss"))
    unreadable_path = tmp_path / "locked.eml"
    unreadable_path.write_text("x")
    unreadable_path.chmod(0)
    unreadable = add_source(db, Source(url=unreadable_path.as_uri(), kind="html"))
    reports = ingest_sources(db, [missing, unreadable] + sources)
    assert reports[0].error == f"file not found: {tmp_path / 'gone.xml'}"
    assert "\n" not in reports[0].summary() and str(tmp_path / "gone.xml") in reports[0].summary()
    import os

    if os.geteuid() != 0:  # root reads anything
        assert "permission denied" in reports[1].error and str(unreadable_path) in reports[1].error
    assert [r.new for r in reports[2:]] == [2, 1, 1]
    row = get_source(db, missing.id)
    assert row.last_error == reports[0].error and row.failure_count == 1
