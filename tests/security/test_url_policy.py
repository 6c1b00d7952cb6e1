"""The one URL policy (kb.urls): what may be linked or fetched, and why the rest may not."""
from __future__ import annotations

import pytest

from kb.urls import check_fetch_url, link_refusal, police_document_links, safe_link, UnsafeURL

GOOD = [
    "https://example.com/",
    "http://example.com/a?b=c#d",
    "HTTPS://Example.COM/path",
    "https://例え.jp/記事",
    "https://example.com:8443/x",
    "  https://example.com/padded\n",  # outer whitespace is what feeds often carry
]
BAD = {
    "javascript:alert(1)": "javascript:",
    "JaVaScRiPt:alert(1)": "javascript:",
    "java\tscript:alert(1)": "U+0009",
    "java\nscript:alert(1)": "U+000A",
    "\x01javascript:alert(1)": "U+0001",
    "data:text/html,<script>alert(1)</script>": "data:",
    "vbscript:msgbox(1)": "vbscript:",
    "file:///etc/passwd": "file: URL",
    "FILE:///etc/passwd": "file: URL",
    "/etc/passwd": "local path",
    "~/.ssh/id_rsa": "local path",
    "../../secret": "local path",
    "//evil.example/x": "scheme-relative",
    "https:\\\\evil.example": "backslash",
    "https://good.example\\@evil.example/": "backslash",
    "https://good.example@evil.example/": "credentials",
    "https://user:pw@evil.example/": "credentials",
    "https:evil.example": "without //",
    "http:///path-only": "without a host",
    "https://example.com:99999/": "bad port",
    "https://exa mple.com/": "U+0020",
    "https://example.com/\u202egnp.exe": "U+202E",
    "https://example.com/\u200b": "U+200B",
    "mailto:someone@example.com": "mailto:",
    "ftp://example.com/file": "ftp:",
    "relative/path.html": "no scheme",
    "": "empty",
    "https://example.com/" + "a" * 5000: "longer than",
}


@pytest.mark.parametrize("url", GOOD)
def test_good_links_pass(url: str) -> None:
    assert safe_link(url) == url.strip()
    assert check_fetch_url(url) == url.strip()


@pytest.mark.parametrize("url,why", list(BAD.items()), ids=[repr(u)[:40] for u in BAD])
def test_bad_links_fail_with_a_one_line_reason(url: str, why: str) -> None:
    reason = link_refusal(url)
    assert reason and why in reason and "\n" not in reason and len(reason) < 250
    assert safe_link(url) is None
    with pytest.raises(UnsafeURL):
        check_fetch_url(url)


def test_non_strings_are_refused() -> None:
    assert safe_link(None) is None and safe_link(42) is None and safe_link(["https://x.example"]) is None


def test_police_document_links_drops_and_records() -> None:
    url, meta = police_document_links("javascript:alert(1)", {
        "enclosure": {"url": "file:///etc/passwd", "type": "audio/mpeg"},
        "image": "data:image/png;base64,AAAA",
        "transcripts": ["https://ok.example/t.vtt", "file:///home/x/.ssh/id_rsa"],
        "original_url": "https://ok.example/a?utm_source=x",
        "tags": ["javascript:not-a-link-field"],
    })
    assert url is None
    assert meta["enclosure"] == {"url": None, "type": "audio/mpeg"}
    assert "image" not in meta
    assert meta["transcripts"] == ["https://ok.example/t.vtt"]
    assert meta["original_url"] == "https://ok.example/a?utm_source=x"
    assert meta["tags"] == ["javascript:not-a-link-field"]
    fields = {d["field"]: d["reason"] for d in meta["dropped_links"]}
    assert set(fields) == {"url", "enclosure.url", "image", "transcripts[1]"}
    assert fields["url"].startswith("javascript: URL")


def test_scrub_rendered_links_keeps_safe_and_same_site_links() -> None:
    from kb.urls import scrub_rendered_links

    markup = ('<a href="https://ok.example/a?b=1&amp;c=2">ok</a><a href="/kb/claims/1">kb</a><a href="#top">top</a>'
              '<a href="javascript:alert(1)">x</a><a href="https://a@evil.example/">y</a><img src="data:image/png,x">'
              '<a href="//evil.example/">z</a><a href="java&#9;script:alert(1)">t</a>')
    assert scrub_rendered_links(markup) == (
        '<a href="https://ok.example/a?b=1&amp;c=2">ok</a><a href="/kb/claims/1">kb</a><a href="#top">top</a>'
        '<a href="#">x</a><a href="#">y</a><img src="#"><a href="#">z</a><a href="#">t</a>')
