"""What a fetched body is, from its bytes (the MIME type only breaks ties): a feed, a podcast, a
transcript, a page (and the feeds it advertises), an email, a text file, or not a source at all.

`sniff` never raises; `Sniffed.kind` is None for something that is not a source, and `found`
says in a few words what it was.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from urllib.parse import urljoin

from ingest.blocks import squash
from ingest.feeds import FeedError, parse_feed
from ingest.transcripts import detect_format
from kb.records import Source
from kb.urls import link_refusal

SHORT_ITEM_CHARS = 300  # an item with less text than this is a summary (or only a title)
FEED_TYPES = {
    "application/rss+xml": "RSS",
    "application/atom+xml": "Atom",
    "application/feed+json": "JSON Feed",
    "application/json": "JSON Feed",
    "application/rdf+xml": "RSS",
    "text/xml": "XML feed",
    "application/xml": "XML feed",
}
_MAGIC = (
    (b"\x89PNG", "a PNG image"), (b"GIF8", "a GIF image"), (b"\xff\xd8\xff", "a JPEG image"),
    (b"RIFF", "a RIFF (WAV/WebP) file"), (b"%PDF", "a PDF document"), (b"PK\x03\x04", "a ZIP archive"),
    (b"ID3", "an MP3 audio file"), (b"\xff\xfb", "an MP3 audio file"), (b"OggS", "an Ogg audio file"),
    (b"fLaC", "a FLAC audio file"), (b"\x1f\x8b", "a gzip archive"),
)
_HEADER_LINE = re.compile(rb"^[A-Za-z][A-Za-z0-9-]{1,40}:[ \t]")
_MAIL_HEADERS = (b"from:", b"subject:", b"date:", b"message-id:", b"mime-version:", b"to:", b"received:",
                 b"return-path:", b"delivered-to:", b"list-id:")


@dataclass
class FeedLink:
    """A feed a page advertises with <link rel="alternate">."""

    url: str
    title: str | None
    type: str


@dataclass
class Sniffed:
    """What the bytes are and what they say about themselves."""

    kind: str | None  # a source kind, or None: not a source
    found: str  # e.g. "an RSS 2.0 feed with 54 items", "a PNG image"
    title: str | None = None
    site_url: str | None = None
    description: str | None = None
    feeds: list[FeedLink] = field(default_factory=list)
    items: int = 0
    short_items: int = 0  # items with less than SHORT_ITEM_CHARS of text

    @property
    def mostly_short(self) -> bool:
        """Most items are summaries or titles only: full text would help."""
        return self.items > 0 and self.short_items * 2 > self.items


_VERSIONS = {
    "rss090": "RSS 0.90", "rss091n": "RSS 0.91", "rss091u": "RSS 0.91", "rss092": "RSS 0.92",
    "rss093": "RSS 0.93", "rss094": "RSS 0.94", "rss20": "RSS 2.0", "rss10": "RSS 1.0", "rss": "RSS",
    "atom01": "Atom 0.1", "atom02": "Atom 0.2", "atom03": "Atom 0.3", "atom10": "Atom 1.0", "atom": "Atom",
    "cdf": "CDF",
}


def sniff(content: bytes, content_type: str | None = None, *, url: str = "") -> Sniffed:
    """Classify `content` (fetched from `url`); see the module docstring."""
    mime = (content_type or "").split(";")[0].strip().lower()
    size = f"{len(content):,} bytes"
    head = content[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head:
        return Sniffed(None, "an empty response")
    for magic, what in _MAGIC:
        if head.startswith(magic):
            return Sniffed(None, f"{what} ({mime or 'no type'}, {size})")
    if head[4:8] == b"ftyp":
        return Sniffed(None, f"an MP4/M4A media file ({mime or 'no type'}, {size})")
    if b"\x00" in head[:1024]:
        return Sniffed(None, f"binary data ({mime or 'no type'}, {size})")
    if mime.startswith(("image/", "audio/", "video/", "font/")):
        return Sniffed(None, f"{mime} ({size})")
    fmt = detect_format(content, mime)
    name = url.split("?")[0].rstrip("/").rsplit("/", 1)[-1] or None
    if fmt in ("vtt", "srt"):
        return Sniffed("transcript", f"a {fmt.upper()} transcript", title=name)
    if head[:1] in (b"{", b"["):
        found = _sniff_json(content)
        found.title = found.title or (name if found.kind == "transcript" else None)
        return found
    if head[:1] == b"<":
        return _sniff_markup(content, mime, url)
    if head.startswith(b"From "):
        return Sniffed("email", "an mbox mailbox")
    if _looks_like_mail(head):
        return _sniff_mail(content)
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return Sniffed(None, f"undecodable data ({mime or 'no type'}, {size})")
    first = squash(text.strip().split("\n", 1)[0])[:150]
    return Sniffed("text", "a plain text file", title=first or None)


def _looks_like_mail(head: bytes) -> bool:
    lines = head.split(b"\n", 30)[:30]
    headers = [ln.lower() for ln in lines if _HEADER_LINE.match(ln)]
    known = sum(1 for ln in headers if ln.startswith(_MAIL_HEADERS))
    return known >= 2 and any(ln.startswith(b"from:") for ln in headers)


def _sniff_mail(content: bytes) -> Sniffed:
    from ingest.emails import newsletter_identity, parse_message

    msg = parse_message(content)
    who = newsletter_identity(msg)
    subject = squash(str(msg.get("Subject") or ""))
    found = f"an email message ({subject[:80]!r})" if subject else "an email message"
    return Sniffed("email", found, title=who.get("newsletter") or who.get("from"))


def _sniff_json(content: bytes) -> Sniffed:
    try:
        data = json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        return Sniffed(None, "malformed JSON")
    if isinstance(data, dict) and "jsonfeed.org/version" in str(data.get("version", "")):
        items = [i for i in data.get("items") or [] if isinstance(i, dict)]
        short = sum(1 for i in items if len(i.get("content_html") or i.get("content_text") or "") < SHORT_ITEM_CHARS)
        return Sniffed("rss", f"a JSON Feed with {len(items)} items", title=_clean(data.get("title")),
                       site_url=_link(data.get("home_page_url")), description=_clean(data.get("description")),
                       items=len(items), short_items=short)
    segments = data.get("segments") if isinstance(data, dict) else data
    if isinstance(segments, list) and segments and isinstance(segments[0], dict) and (
            "body" in segments[0] or "text" in segments[0]):
        return Sniffed("transcript", f"a JSON transcript with {len(segments)} segments")
    return Sniffed(None, "JSON that is neither a JSON Feed nor a transcript")


def _sniff_markup(content: bytes, mime: str, url: str) -> Sniffed:
    low = content[:4096].lower()
    if b"<opml" in low:
        return Sniffed(None, "an OPML subscription list (use `insightkb sources import-opml`)")
    is_html = b"<html" in low or b"<!doctype html" in low or b"<head" in low or b"<body" in low or "html" in mime
    if not is_html:
        try:
            feed = parse_feed(content, Source(url=url or "about:blank", kind="rss"), url=url or "about:blank")
        except FeedError as exc:
            return Sniffed(None, f"XML that is not a feed ({squash(str(exc))[:120]})")
        items = [i.document for i in feed.items]
        short = sum(1 for d in items if len(d.text) < SHORT_ITEM_CHARS)
        version = _VERSIONS.get(feed.version or "", "RSS or Atom")
        kind = "podcast" if feed.is_podcast else ("atom" if version.startswith("Atom") else "rss")
        what = f"a podcast feed ({version})" if kind == "podcast" else f"an {version} feed" if version[0] in "AR" else f"a {version} feed"
        return Sniffed(kind, f"{what} with {len(items)} items", title=_clean(feed.title), site_url=_link(feed.link),
                       description=_clean(feed.description), items=len(items), short_items=short)
    return _sniff_html(content, url)


def _sniff_html(content: bytes, url: str) -> Sniffed:
    from ingest.html_text import parse_html

    soup = parse_html(content)
    base = url
    base_tag = soup.find("base", href=True)
    if base_tag:
        base = urljoin(url, base_tag["href"])
    feeds: list[FeedLink] = []
    seen: set[str] = set()
    refused = 0
    for link in soup.find_all("link", href=True):
        rel = link.get("rel") or []
        rel = rel if isinstance(rel, list) else rel.split()
        kind = (link.get("type") or "").split(";")[0].strip().lower()
        if "alternate" not in [r.lower() for r in rel] or kind not in FEED_TYPES:
            continue
        if kind == "application/json" and "feed" not in (link.get("title") or "").lower() + link["href"].lower():
            continue
        target = urljoin(base, link["href"].strip())
        if target in seen or link_refusal(target):  # a page's links are content: http(s) only
            refused += target not in seen
            seen.add(target)
            continue
        seen.add(target)
        feeds.append(FeedLink(target, _clean(link.get("title")), FEED_TYPES[kind]))
    title = None
    og = soup.find("meta", attrs={"property": "og:title"})
    if soup.title and soup.title.string:
        title = _clean(soup.title.string)
    elif og and og.get("content"):
        title = _clean(og["content"])
    desc = soup.find("meta", attrs={"name": "description"}) or soup.find("meta", attrs={"property": "og:description"})
    found = f"an HTML page advertising {len(feeds)} feed{'s' if len(feeds) != 1 else ''}" if feeds else "an HTML page"
    if refused:
        found += f" ({refused} feed link(s) refused by the URL policy)"
    return Sniffed("html", found, title=title, site_url=_link(url),
                   description=_clean(desc.get("content")) if desc else None, feeds=feeds)


def _link(value: object) -> str | None:
    """A site URL the source names, if the URL policy lets it be shown as a link."""
    return str(value).strip() if value and link_refusal(str(value)) is None else None


def _clean(value: object) -> str | None:
    text = squash(str(value)) if value else ""
    return text[:500] or None
