"""The 24 real feeds of ../shared/corpus/feeds, served from loopback: each is added with one check
(its own title filled in) and ingested with full text fetched from a stand-in publisher; every item
is accounted for (seen = new + unchanged + duplicates + skipped). Skipped where ../shared is absent."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from tests.ingest.publisher import CORPUS_FEEDS, article_html, serve_publisher

pytestmark = pytest.mark.skipif(not CORPUS_FEEDS.is_dir(), reason="../shared/corpus/feeds is absent")


def _feeds() -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(CORPUS_FEEDS.glob("*.xml"))}


def _channel_title(body: bytes) -> str:
    import feedparser

    return feedparser.parse(body).feed.title


def invoke(cli, kb_path, *args):
    return CliRunner().invoke(cli, ["--kb", str(kb_path), *args], catch_exceptions=False)


def test_all_real_feeds_with_titles_and_full_text(cli, kb_path, httpserver):
    from kb import open_db
    from kb.sources import list_sources

    feeds = _feeds()
    assert len(feeds) == 24
    base = serve_publisher(httpserver, feeds)
    for name in feeds:
        r = invoke(cli, kb_path, "sources", "add", f"{base}/feeds/{name}", "--allow-private", "--full-text")
        assert r.exit_code == 0, r.output
        assert "added source " in r.output and "found an RSS 2.0 feed with" in r.output
    r = invoke(cli, kb_path, "ingest")
    assert r.exit_code == 0, r.output
    db = open_db(kb_path)
    stored = list(list_sources(db))
    assert [s.title for s in stored] == [_channel_title(body) for body in feeds.values()]
    assert all(s.site_url and s.site_url.startswith(base) for s in stored)
    for s in stored:
        run = s.last_run
        assert run["seen"] == run["new"] + run["unchanged"] + run["duplicates"] + run["skipped"], (s.title, run)
        assert run["full_text_failed"] == 0, (s.title, run)
        assert s.last_error is None
    mistral = next(s for s in stored if s.title == "Mistral AI News")
    assert mistral.last_run["seen"] == 54 and mistral.last_run["new"] == 54 and mistral.last_run["skipped"] == 0
    docs = list(db.query("SELECT text, metadata FROM documents WHERE source_id = ?", [mistral.id]))
    fetched = [d for d in docs if "full_text_url" in json.loads(d["metadata"])]
    assert len(fetched) == 53  # every summary-only item now has its article's text
    sample = json.loads(fetched[0]["metadata"])
    assert sample["summary"] and sample["full_text_url"].startswith(f"{base}/pub/mistral.ai/news/")
    assert "Paragraph 3 of the article" in fetched[0]["text"] and "Careers" not in fetched[0]["text"]
    # the publisher's pages are distinct, so goodfire's items (one shared summary) are no longer duplicates
    goodfire = next(s for s in stored if s.title.startswith("Goodfire"))
    assert goodfire.last_run["duplicates"] == 0


def test_title_only_items_are_kept_and_counted_without_full_text(db, add, httpserver, loopback_options):
    from ingest import ingest_sources
    from kb.sources import get_source

    body = (CORPUS_FEEDS / "olshansk__feed_anthropic_news.xml").read_bytes()
    base = serve_publisher(httpserver, {"news.xml": body})
    source = add(f"{base}/feeds/news.xml", allow_private=True)
    report = ingest_sources(db, [source], loopback_options)[0]
    assert report.error is None
    seen = report.parsed_items
    assert seen == report.new + report.unchanged + report.duplicates + report.skipped_items
    assert report.title_only > 200  # the feed repeats each title as its description
    assert f"--full-text` fetches their articles" in report.warning
    title_only = db.execute("SELECT count(*) FROM documents WHERE source_id = ? AND"
                            " json_extract(metadata, '$.title_only')", [source.id]).fetchone()[0]
    assert title_only == report.title_only
    assert get_source(db, source.id).last_run["title_only"] == report.title_only


def test_failed_article_keeps_the_summary_and_says_so(db, add, httpserver, loopback_options):
    from ingest import ingest_sources

    body = (CORPUS_FEEDS / "olshansk__feed_mistral.xml").read_bytes()
    base = serve_publisher(httpserver, {"m.xml": body}, fail={"/pub/mistral.ai/news/workflows"})
    source = add(f"{base}/feeds/m.xml", allow_private=True, full_text=True)
    report = ingest_sources(db, [source], loopback_options)[0]
    assert report.new == 54 and report.full_text == 52 and report.full_text_failed == 1
    assert "full text failed for 1 article(s), e.g. " in report.warning and "HTTP 503" in report.warning
    row = next(db.query("SELECT text, metadata FROM documents WHERE url LIKE ?", ["%/news/workflows"]))
    meta = json.loads(row["metadata"])
    assert len(row["text"]) < 300 and "full_text_url" not in meta  # the feed's own summary, kept
    assert "HTTP 503" in meta["full_text_error"]
    assert article_html("/x").count("<p>") == 3
