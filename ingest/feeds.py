"""Feed bytes (RSS 0.9x-2.0, Atom, podcasts) -> Documents, via feedparser; never raises on bad feeds."""
from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin

import feedparser
from lxml import etree

from ingest.blocks import Block, assemble, squash
from ingest.canonical import canonical_url
from ingest.dates import iso_from_struct
from ingest.doctype import BadDoctype, strip_doctype
from ingest.html_text import html_to_blocks
from kb.records import Document, Source

log = logging.getLogger(__name__)

PODCAST_NS = "https://podcastindex.org/namespace/1.0"


@dataclass
class Transcript:
    """A `<podcast:transcript>` link of an episode."""

    url: str
    type: str | None = None
    language: str | None = None
    rel: str | None = None


@dataclass
class FeedItem:
    """One entry: the document built from its own content, plus its transcript links."""

    document: Document
    transcripts: list[Transcript] = field(default_factory=list)


@dataclass
class ParsedFeed:
    """What feedparser made of a feed, with the bozo reason (if any) as a one-line warning."""

    title: str | None
    link: str | None
    items: list[FeedItem]
    warning: str | None = None
    is_podcast: bool = False


def is_json_feed(content: bytes) -> bool:
    head = content[:512].lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"{") and b"jsonfeed.org/version" in content[:4096]


def parse_feed(content: bytes, source: Source, *, url: str, headers: dict[str, str] | None = None) -> ParsedFeed:
    """Parse feed bytes into documents for `source`; trouble becomes `warning`, not an exception."""
    if is_json_feed(content):
        return parse_json_feed(content, source, url=url)
    try:
        content, had_doctype = strip_doctype(content)
    except BadDoctype as exc:
        raise FeedError(f"ill-formed DOCTYPE: {exc}") from None
    response_headers = {"content-location": url}
    for key, value in (headers or {}).items():
        if key.lower() in ("content-type", "content-language"):
            response_headers[key.lower()] = value
    # We clean HTML ourselves and never render it; feedparser's sanitiser and relative-URI rewriting of
    # every body would double the parse time for nothing (entry links are still resolved).
    parsed = feedparser.parse(content, response_headers=response_headers, sanitize_html=False,
                              resolve_relative_uris=False)
    warnings = []
    if had_doctype:
        warnings.append("DOCTYPE removed (entity declarations are not expanded)")
    if parsed.get("bozo"):
        exc = parsed.get("bozo_exception")
        warnings.append(f"ill-formed feed: {type(exc).__name__}: {squash(str(exc))[:200]}")
    transcripts = _transcripts_by_item(content)
    feed_meta = parsed.get("feed", {})
    is_podcast = source.kind == "podcast" or any(k.startswith("itunes_") for k in feed_meta) or bool(
        transcripts
    )
    items = []
    for index, entry in enumerate(parsed.get("entries", [])):
        try:
            items.append(_item(entry, index, source, feed_meta, transcripts, url))
        except Exception as exc:  # one odd entry must not lose the others
            log.warning("source %s: entry %d skipped: %s", source.id, index, exc)
            warnings.append(f"entry {index} skipped: {type(exc).__name__}")
    if not items and not parsed.get("version"):
        raise FeedError(warnings[-1] if warnings else "no RSS or Atom root element")
    return ParsedFeed(
        title=feed_meta.get("title"),
        link=feed_meta.get("link"),
        items=items,
        warning="; ".join(warnings) or None,
        is_podcast=is_podcast,
    )


class FeedError(Exception):
    "The bytes are not a feed and hold no entries"


def _transcripts_by_item(content: bytes) -> dict[Any, list[Transcript]]:
    """`<podcast:transcript>` elements per item, keyed by guid and by position."""
    if PODCAST_NS.encode() not in content:
        return {}
    parser = etree.XMLParser(resolve_entities=False, no_network=True, recover=True, huge_tree=False)
    try:
        root = etree.fromstring(content, parser)
    except etree.XMLSyntaxError:
        return {}
    if root is None:
        return {}
    out: dict[Any, list[Transcript]] = {}
    for index, item in enumerate(root.iter("item", "{http://www.w3.org/2005/Atom}entry")):
        found = [
            Transcript(url=t.get("url") or t.get("href") or "", type=t.get("type"), language=t.get("language"),
                       rel=t.get("rel"))
            for t in item.iter(f"{{{PODCAST_NS}}}transcript")
        ]
        found = [t for t in found if t.url]
        if not found:
            continue
        out[index] = found
        guid = item.findtext("guid") or item.findtext("{http://www.w3.org/2005/Atom}id")
        if guid:
            out[("guid", guid.strip())] = found
    return out


def _entry_html(entry: Any) -> tuple[str, str]:
    """The richest body of an entry: (value, mime type)."""
    candidates = []
    for content in entry.get("content", []) or []:
        candidates.append((content.get("value") or "", content.get("type") or "text/html"))
    if entry.get("summary"):
        detail = entry.get("summary_detail") or {}
        candidates.append((entry.get("summary") or "", detail.get("type") or "text/html"))
    if not candidates:
        return "", "text/plain"
    return max(candidates, key=lambda c: len(c[0]))


def text_blocks(value: str, mime: str) -> list[Block]:
    """Blocks of an entry body, HTML or plain text."""
    if "html" in mime or re.search(r"<(p|div|br|a|ul|li|h\d|span|strong|em|img)\b", value, re.I):
        return html_to_blocks(value)
    paragraphs = re.split(r"\n\s*\n", value)
    return [Block(squash(p)) for p in paragraphs if squash(p)]


def _duration_seconds(value: Any) -> float | None:
    if not value:
        return None
    text = str(value).strip()
    try:
        if ":" in text:
            total = 0.0
            for part in text.split(":"):
                total = total * 60 + float(part)
            return total
        return float(text)
    except ValueError:
        return None


def _item(entry: Any, index: int, source: Source, feed_meta: Any, transcripts: dict, feed_url: str) -> FeedItem:
    link = entry.get("link")
    url = canonical_url(link)
    guid = (entry.get("id") or "").strip() or url
    body, mime = _entry_html(entry)
    blocks = text_blocks(body, mime)
    if not guid:
        basis = (entry.get("title") or "") + "\x00" + (body or "")
        guid = "sha256:" + hashlib.sha256(basis.encode("utf-8")).hexdigest()[:32]
    text, passages = assemble(blocks)
    author = entry.get("author") or (entry.get("author_detail") or {}).get("name") or feed_meta.get("author")
    metadata: dict[str, Any] = {}
    tags = [t.get("term") for t in entry.get("tags", []) or [] if t.get("term")]
    if tags:
        metadata["tags"] = tags
    enclosures = [l for l in entry.get("links", []) if l.get("rel") == "enclosure"]
    if enclosures:
        enc = enclosures[0]
        metadata["enclosure"] = {"url": enc.get("href"), "type": enc.get("type"), "length": enc.get("length")}
    duration = _duration_seconds(entry.get("itunes_duration"))
    if duration is not None:
        metadata["duration_seconds"] = duration
    for key in ("itunes_episode", "itunes_season", "itunes_episodetype", "itunes_explicit", "itunes_title"):
        if entry.get(key) not in (None, ""):
            metadata[key.removeprefix("itunes_")] = entry.get(key)
    image = entry.get("image") or {}
    if isinstance(image, dict) and image.get("href"):
        metadata["image"] = image["href"]
    if link and url != link:
        metadata["original_url"] = link
    found = transcripts.get(("guid", (entry.get("id") or "").strip())) or transcripts.get(index) or []
    if found:
        metadata["transcripts"] = [urljoin(feed_url, t.url.strip()) for t in found]
    doc = Document(
        source_id=source.id or 0,
        guid=guid,
        text=text,
        title=squash(entry.get("title") or "") or None,
        url=url,
        author=author,
        published=iso_from_struct(entry.get("published_parsed") or entry.get("updated_parsed")),
        passages=passages,
        metadata=metadata,
    )
    return FeedItem(doc, found)


def parse_json_feed(content: bytes, source: Source, *, url: str) -> ParsedFeed:
    """JSON Feed 1.0/1.1 (https://jsonfeed.org) -> documents."""
    import json
    from urllib.parse import urljoin

    from ingest.dates import iso, parse_iso

    try:
        data = json.loads(content.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise FeedError(f"bad JSON Feed: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        raise FeedError("bad JSON Feed: no items list")
    base = data.get("home_page_url") or url
    items, skipped = [], 0
    for index, item in enumerate(data["items"]):
        if not isinstance(item, dict):
            skipped += 1
            continue
        link = urljoin(base, item["url"]) if item.get("url") else None
        html, text_body = item.get("content_html"), item.get("content_text") or item.get("summary")
        blocks = text_blocks(html, "text/html") if html else text_blocks(text_body or "", "text/plain")
        text, passages = assemble(blocks)
        guid = str(item.get("id") or "").strip() or canonical_url(link) or f"{url}#{index}"
        authors = item.get("authors") or ([item["author"]] if item.get("author") else []) or data.get("authors") or []
        author = next((a.get("name") for a in authors if isinstance(a, dict) and a.get("name")), None)
        moment = parse_iso(item.get("date_published") or item.get("date_modified"))
        metadata: dict[str, Any] = {}
        if item.get("tags"):
            metadata["tags"] = [str(t) for t in item["tags"]]
        attachments = [a for a in item.get("attachments") or [] if isinstance(a, dict) and a.get("url")]
        if attachments:
            a = attachments[0]
            metadata["enclosure"] = {"url": a["url"], "type": a.get("mime_type"), "length": a.get("size_in_bytes")}
            if a.get("duration_in_seconds") is not None:
                metadata["duration_seconds"] = float(a["duration_in_seconds"])
        doc = Document(source_id=source.id or 0, guid=guid, text=text, title=squash(item.get("title") or "") or None,
                       url=canonical_url(link), author=author, published=iso(moment) if moment else None,
                       passages=passages, metadata=metadata)
        items.append(FeedItem(doc))
    warning = f"{skipped} JSON Feed items skipped (not objects)" if skipped else None
    return ParsedFeed(title=data.get("title"), link=data.get("home_page_url"), items=items, warning=warning)
