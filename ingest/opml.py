"""OPML subscription lists: import outlines as Sources (folders become tags), export Sources as
OPML 2.0 (tags become folders again, so an export imports back to the same sources)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from urllib.parse import urlsplit
from xml.sax.saxutils import quoteattr

from lxml import etree

from kb.records import Source
from kb.urls import link_refusal

# Hosts that serve nothing but podcast feeds: an outline pointing there is a podcast.
PODCAST_HOSTS = (
    "anchor.fm", "feeds.megaphone.fm", "feeds.simplecast.com", "feeds.buzzsprout.com", "feeds.transistor.fm",
    "feeds.acast.com", "feeds.libsyn.com", "libsyn.com", "feed.podbean.com", "podbean.com", "omnycontent.com",
    "rss.art19.com", "feeds.captivate.fm", "feeds.fireside.fm", "feeds.redcircle.com", "audioboom.com",
    "feeds.soundcloud.com", "pinecast.com", "spreaker.com", "feeds.podcastindex.org", "podcasts.apple.com",
    "feeds.npr.org", "feeds.theincomparable.com", "rss.com", "feeds.castos.com", "changelog.com",
)
KNOWN_KINDS = ("rss", "atom", "podcast", "email", "html", "text", "transcript")


class OpmlError(Exception):
    "The file is not an OPML subscription list"


@dataclass
class Refused:
    """An outline not imported, with the one-line reason."""

    url: str
    reason: str


@dataclass
class OpmlImport:
    """The sources an OPML file lists, and the outlines refused by the URL policy (`kb.urls`)."""

    sources: list[Source] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)


def _is_podcast(url: str, outline: etree._Element, folders: list[str]) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    if any(host == h or host.endswith("." + h) for h in PODCAST_HOSTS):
        return True
    words = " ".join([*folders, outline.get("category") or ""]).lower()
    return "podcast" in words


def _kind(outline: etree._Element, url: str, folders: list[str]) -> str:
    kind = (outline.get("type") or "rss").lower()
    if kind in ("link", "web", "page"):
        return "html"
    if kind not in KNOWN_KINDS:
        kind = "rss"
    if kind in ("rss", "atom") and _is_podcast(url, outline, folders):
        return "podcast"
    return kind


def _categories(outline: etree._Element) -> list[str]:
    """OPML 2.0 `category`: comma-separated, each a slash-delimited path; the last part is the tag."""
    out = []
    for item in (outline.get("category") or "").split(","):
        name = item.strip().strip("/").rsplit("/", 1)[-1].strip()
        if name:
            out.append(name)
    return out


def parse_opml(content: bytes) -> OpmlImport:
    """Every outline with an xmlUrl (feeds) or url (pages) becomes a Source; folders become tags.

    An OPML file is content: only absolute http(s) URLs become sources (`kb.urls`); `file:`, local
    paths, `javascript:` and the like are listed in `refused` with a reason, never imported.
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
    result = OpmlImport()
    by_url: dict[str, Source] = {}

    def walk(node: etree._Element, folders: list[str]) -> None:
        for outline in node.findall("outline"):
            url = (outline.get("xmlUrl") or outline.get("xmlurl") or "").strip()
            if not url and outline.get("url") and (outline.get("type") or "").lower() in ("link", "web", "page", "html"):
                url = (outline.get("url") or "").strip()
            title = outline.get("title") or outline.get("text")
            if not url:
                walk(outline, folders + [title] if title else folders)
                continue
            problem = link_refusal(url)
            if problem:
                result.refused.append(Refused(url[:200], problem))
                continue
            tags = list(dict.fromkeys(folders + _categories(outline)))
            if url in by_url:  # the same feed in two folders: one source with both tags
                known = by_url[url]
                known.tags = list(dict.fromkeys(known.tags + tags))
                continue
            site = outline.get("htmlUrl") or None
            source = Source(url=url, kind=_kind(outline, url, folders), title=title, tags=tags,
                            site_url=site if site and link_refusal(site) is None else None,
                            description=outline.get("description") or None)
            by_url[url] = source
            result.sources.append(source)

    walk(body, [])
    return result


def export_opml(sources: list[Source], title: str = "insightkb sources") -> str:
    """OPML 2.0 text listing `sources`: each under a folder of its first tag, all tags in `category`."""
    now = dt.datetime.now(dt.timezone.utc).strftime("%a, %d %b %Y %H:%M:%S GMT")
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<opml version="2.0">',
        f"  <head><title>{_esc(title)}</title><dateCreated>{now}</dateCreated></head>",
        "  <body>",
    ]
    folders: dict[str, list[Source]] = {}
    loose = []
    for s in sources:
        if s.tags:
            folders.setdefault(s.tags[0], []).append(s)
        else:
            loose.append(s)
    for name in sorted(folders):
        lines.append(f"    <outline text={quoteattr(name)} title={quoteattr(name)}>")
        lines += [f"      {_outline(s)}" for s in folders[name]]
        lines.append("    </outline>")
    lines += [f"    {_outline(s)}" for s in loose]
    lines += ["  </body>", "</opml>", ""]
    return "\n".join(lines)


def _outline(s: Source) -> str:
    name = s.title or s.url
    attrs = f"text={quoteattr(name)} title={quoteattr(name)} type={quoteattr(s.kind)} xmlUrl={quoteattr(s.url)}"
    if s.site_url:
        attrs += f" htmlUrl={quoteattr(s.site_url)}"
    if s.description:
        attrs += f" description={quoteattr(s.description)}"
    if len(s.tags) > 1:
        attrs += f" category={quoteattr(','.join(s.tags))}"
    return f"<outline {attrs}/>"


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
