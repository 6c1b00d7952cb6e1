"""Rendering: multipart message, escaping, header safety, outbox files, archive and Atom feed."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from email import message_from_bytes, policy

from digest import build_digest, write_outbox
from digest_kbdata import NOW, SEED_SPECS, Spec, add_claims
from kb.digests import load_digest

TODAY = NOW.date()
EVIL = [
    Spec("Models <script>alert('x')</script> & <b>bold</b> claims are escaped in the digest.",
         source="https://evil.example/feed", hours_ago=1, confidence=0.99, topics=[("latency", "supports")],
         title="Breaking\r\nBcc: x@evil.example", url="javascript:alert(1)"),
]


def test_write_outbox_files(seeded, options, tmp_path):
    digest_id = build_digest(seeded, TODAY, options)
    paths = write_outbox(seeded, digest_id, options)
    names = [p.relative_to(tmp_path / "outbox").as_posix() for p in paths]
    assert names == [f"digest-{TODAY}.eml", f"archive/{TODAY}.html", "archive/index.html", "digests.atom"]
    msg = message_from_bytes(paths[0].read_bytes(), policy=policy.default)
    assert msg.get_content_type() == "multipart/alternative"
    parts = [p.get_content_type() for p in msg.iter_parts()]
    assert parts == ["text/plain", "text/html"]
    assert msg.defects == [] and all(part.defects == [] for part in msg.walk())
    assert msg["Message-ID"] == f"<insightkb.digest.{TODAY}.archive@insightkb.test>"
    assert msg["List-Unsubscribe"] is None  # the archive copy is nobody's
    text = msg.get_body(("plain",)).get_content()
    assert text.count("In the KB: <http://127.0.0.1:8001/kb/claims/") == 5
    assert "https://podinsights.example/items/0" in text  # traceable to its source item
    html = msg.get_body(("html",)).get_content()
    assert 'style="' in html  # CSS inlined
    assert "@media" in html  # the phone layout survives inlining
    feed = ET.fromstring(paths[3].read_bytes())
    ns = {"a": "http://www.w3.org/2005/Atom"}
    entries = feed.findall("a:entry", ns)
    assert len(entries) == 1
    assert entries[0].find("a:title", ns).text.startswith("Top 5 insights")
    assert f"{TODAY}.html" in paths[2].read_text()
    # writing again is harmless: the same bytes, so nothing is rewritten
    before = [p.read_bytes() for p in paths]
    assert write_outbox(seeded, digest_id, options) == []
    assert [p.read_bytes() for p in paths] == before


def test_feed_text_is_escaped_and_links_are_safe(db, options, tmp_path):
    add_claims(db, EVIL + SEED_SPECS)
    digest_id = build_digest(db, TODAY, options)
    html = load_digest(db, digest_id)["html_body"]
    assert "<script>" not in html and "<b>bold</b>" not in html
    assert "&lt;script&gt;alert(" in html and "&amp;" in html
    assert "javascript:" not in html
    eml = write_outbox(db, digest_id, options)[0]
    raw = eml.read_bytes()
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert not any(line.lower().startswith(b"bcc:") for line in head.split(b"\r\n"))
    msg = message_from_bytes(raw, policy=policy.default)
    assert msg["Bcc"] is None
    assert "\n" not in msg["Subject"]


def test_subject_and_header_are_single_lines(db, options):
    add_claims(db, [Spec("Line one\r\nBcc: x@evil.example\r\nSubject: spoof of the claim text itself.",
                         source="https://evil.example/feed", hours_ago=1, confidence=0.99,
                         topics=[("latency", "supports")])])
    digest_id = build_digest(db, TODAY, options)
    subject = load_digest(db, digest_id)["subject"]
    assert "\r" not in subject and "\n" not in subject
    raw = write_outbox(db, digest_id, options)[0].read_bytes()
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    assert not any(line.lower().startswith((b"bcc:", b"subject: spoof")) for line in head)
    assert sum(1 for line in head if line.lower().startswith(b"subject:")) == 1


def test_empty_day_still_renders(db, options):
    digest_id = build_digest(db, TODAY, options)
    row = load_digest(db, digest_id)
    assert row["subject"].startswith("No new insights")
    assert "Nothing new today" in row["text_body"]
