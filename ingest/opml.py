"""OPML subscription lists: import outlines as Sources, export Sources as OPML 2.0."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from xml.sax.saxutils import quoteattr

from lxml import etree

from kb.records import Source
from kb.urls import link_refusal


class OpmlError(Exception):
    "The file is not an OPML subscription list"


def _kind(outline: etree._Element) -> str:
    kind = (outline.get("type") or "rss").lower()
    if kind in ("rss", "atom", "podcast", "email", "html", "text"):
        return kind
    if kind in ("link", "web", "page"):
        return "html"
    return "rss"


@dataclass
class Refused:
    """An outline not imported, with the one-line reason."""

    url: str
    reason: str


def parse_opml(content: bytes, refused: list[Refused] | None = None) -> list[Source]:
    """Every outline with an xmlUrl (feeds) or url (pages) becomes a Source; folders become tags.

    An OPML file is content: only absolute http(s) URLs become sources (`kb.urls`); `file:`, local
    paths, `javascript:` and the like are appended to `refused` with a reason, never imported.
    """
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, recover=False)
    try:
        root = etree.fromstring(content, parser)
    except etree.XMLSyntaxError as exc:
        raise OpmlError(f"not OPML: {exc}") from None
    if root is None or root.tag != "opml":
        raise OpmlError("not OPML: the root element is not <opml>")
    body = root.find("body")
    if body is None:
        raise OpmlError("not OPML: no <body>")
    out: list[Source] = []
    seen: set[str] = set()

    def walk(node: etree._Element, folders: list[str]) -> None:
        for outline in node.findall("outline"):
            url = outline.get("xmlUrl") or outline.get("xmlurl") or ""
            kind = _kind(outline)
            if not url and outline.get("url") and kind == "html":
                url = outline.get("url") or ""
            title = outline.get("title") or outline.get("text")
            url = url.strip()
            why = link_refusal(url) if url else None
            if url and why:
                if refused is not None:
                    refused.append(Refused(url, why))
            elif url:
                if url not in seen:
                    seen.add(url)
                    config = {"folders": folders} if folders else {}
                    if outline.get("htmlUrl") and link_refusal(outline.get("htmlUrl")) is None:
                        config["html_url"] = outline.get("htmlUrl")
                    out.append(Source(url=url.strip(), kind=kind, title=title, config=config))
            else:
                walk(outline, folders + [title] if title else folders)

    walk(body, [])
    return out


def export_opml(sources: list[Source], title: str = "insightkb sources") -> str:
    """OPML 2.0 text listing `sources` (kind as `type`, interval in a custom attribute)."""
    now = dt.datetime.now(dt.timezone.utc).strftime("%a, %d %b %Y %H:%M:%S GMT")
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<opml version="2.0">',
        f"  <head><title>{_esc(title)}</title><dateCreated>{now}</dateCreated></head>",
        "  <body>",
    ]
    for s in sources:
        name = s.title or s.url
        attrs = f"text={quoteattr(name)} title={quoteattr(name)} type={quoteattr(s.kind)} xmlUrl={quoteattr(s.url)}"
        if s.config.get("html_url"):
            attrs += f" htmlUrl={quoteattr(s.config['html_url'])}"
        lines.append(f"    <outline {attrs}/>")
    lines += ["  </body>", "</opml>", ""]
    return "\n".join(lines)


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
