"""Small pure pieces: canonical URLs, backoff arithmetic, intervals, HTML furniture, address checks."""
from __future__ import annotations

import pytest

from ingest import IngestOptions
from ingest.canonical import canonical_url
from ingest.fetch import address_refusal, retry_after_seconds
from ingest.html_text import html_to_blocks
from ingest.state import backoff_seconds


@pytest.mark.parametrize("raw, clean", [
    ("https://Ex.COM:443/a?utm_source=x&id=3&fbclid=y#frag", "https://ex.com/a?id=3"),
    ("http://ex.com:8080/p?mc_cid=1&mc_eid=2", "http://ex.com:8080/p"),
    ("https://ex.com", "https://ex.com/"),
    ("mailto:a@b.c", "mailto:a@b.c"),
    (None, None),
])
def test_canonical_url(raw, clean):
    assert canonical_url(raw) == clean


def test_backoff_doubles_caps_and_respects_retry_after():
    options = IngestOptions(backoff_base=300, backoff_cap=3600)
    assert [backoff_seconds(n, options) for n in (1, 2, 3, 4, 5)] == [300, 600, 1200, 2400, 3600]
    assert backoff_seconds(1, options, retry_after=900) == 900
    assert backoff_seconds(1, options, retry_after=10**6) == 3600
    assert retry_after_seconds("120") == 120.0
    assert retry_after_seconds("soon") is None


@pytest.mark.parametrize("ip, why", [
    ("127.0.0.1", "loopback"), ("10.1.2.3", "private"), ("169.254.169.254", "link-local"),
    ("::1", "loopback"), ("::ffff:192.168.1.1", "private"), ("0.0.0.0", "private"), ("93.184.216.34", None),
])
def test_address_refusal(ip, why):
    assert address_refusal(ip) == why


def test_html_furniture_rules():
    blocks = html_to_blocks(
        "<div style='display:none'>preheader text</div><p>Real <b>content</b> here.</p>"
        "<p>Line one<br><br>Line two</p><ul><li>point</li></ul>"
        "<p><a href='#'>View this email in your browser</a></p><div class='social-links'>Follow us</div>"
        "<img src='t.gif' width='1' height='1'><p>Not interested? Unsubscribe.</p>"
    )
    assert [(b.text, b.marker) for b in blocks] == [
        ("Real content here.", ""), ("Line one", ""), ("Line two", ""), ("point", "- ")]


def test_interval_parsing_and_auto(cli, kb_path):
    from click.testing import CliRunner

    from kb import open_db
    from kb.sources import get_source

    r = CliRunner().invoke(cli, ["--kb", str(kb_path), "sources", "add", "https://pod.example/rss", "--no-check",
                                 "--kind", "podcast", "--interval", "auto"])
    assert r.exit_code == 0, r.output
    db = open_db(kb_path)
    assert get_source(db, 1).config == {"adaptive_interval": True}
    r = CliRunner().invoke(cli, ["--kb", str(kb_path), "sources", "add", "https://x.example/f", "--interval", "10s"])
    assert r.exit_code == 2 and "between 1 minute and 7 days" in r.output


def test_adapted_interval_follows_posting_rate(db, add):
    from ingest.pipeline import adapted_interval
    from kb.documents import save_document
    from kb.records import Document

    source = add("https://daily.example/rss")
    for day in range(1, 6):  # one item a day -> half a day, within 15 min .. 24 h
        save_document(db, Document(source_id=source.id, guid=f"d{day}", text=f"item {day}",
                                   published=f"2026-06-0{day}T08:00:00Z"))
    assert adapted_interval(db, source) == 12 * 3600
    fast = add("https://fast.example/rss")
    for minute in range(5):
        save_document(db, Document(source_id=fast.id, guid=f"m{minute}", text=f"fast {minute}",
                                   published=f"2026-06-01T08:0{minute}:00Z"))
    assert adapted_interval(db, fast) == 15 * 60
