"""Look at a would-be source before it is stored: fetch it once through the safe fetcher (or read
the local file) and say what it is (`ingest.detect.sniff`), with the feeds an HTML page advertises.
"""
from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable

from ingest.detect import FeedLink, Sniffed, sniff
from ingest.fetch import FetchError, fetch, make_client, origin
from ingest.locate import local_path, scheme
from ingest.options import IngestOptions

ACCEPT_ANY = ("application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, "
              "text/xml;q=0.9, text/html;q=0.8, text/vtt;q=0.8, */*;q=0.5")


class NotASource(Exception):
    "What the URL holds is not something insightkb can ingest"


@dataclass
class Inspection:
    """A fetched would-be source: where it ended up and what it is."""

    url: str  # the URL to store (after permanent redirects), or the absolute local path
    sniffed: Sniffed


def inspect_source(url: str, options: IngestOptions = IngestOptions(), *, allow_private: bool = False) -> Inspection:
    """Fetch `url` once and classify it. Raises FetchError (with a one-line reason) when it cannot be read.

    `allow_private` lets this URL's own host resolve to a private or loopback address, as the
    source's `--allow-private` does at ingest time.
    """
    path = local_path(url)
    if path is not None:
        return _inspect_path(path)
    if scheme(url) not in ("http", "https"):
        raise FetchError(f"cannot check {url!r}: expected an absolute path, file:// or http(s)://")
    return asyncio.run(_inspect_http(url, options, allow_private))


def _inspect_path(path: Path) -> Inspection:
    if path.is_dir():
        if all((path / sub).is_dir() for sub in ("cur", "new", "tmp")):
            return Inspection(str(path), Sniffed("email", "a maildir"))
        emails = list(path.glob("*.eml"))[:1] + list(path.rglob("*.eml"))[:1]
        if emails:
            return Inspection(str(path), Sniffed("email", "a folder of .eml messages"))
        raise NotASource(f"{path} is a folder without a maildir or .eml files")
    try:
        with path.open("rb") as fh:
            head = fh.read(2 * 1024 * 1024)
    except OSError as exc:
        raise FetchError(f"cannot read {path}: {exc.strerror or exc}") from None
    return Inspection(str(path), sniff(head, None, url=path.resolve().as_uri()))


async def _inspect_http(url: str, options: IngestOptions, allow_private: bool) -> Inspection:
    # A check is interactive: a stuck server should not hold the terminal for two minutes.
    quick = replace(options, total_timeout=min(options.total_timeout, 30.0), concurrency=1)
    async with make_client(quick) as client:
        result = await fetch(client, url, quick, allow_private=options.allow_private,
                             allow_private_origin=origin(url) if allow_private else None, accept=ACCEPT_ANY)
    found = sniff(result.content, result.headers.get("content-type"), url=result.url)
    return Inspection(result.permanent_url or url, found)


class SourceRefused(Exception):
    "The URL cannot be added: unreadable, not a source, or not the kind asked for (one line)"


FEED_KINDS = ("rss", "atom", "podcast")


@dataclass
class Checked:
    """A would-be source after its one check: what to store."""

    url: str
    kind: str
    title: str | None
    site_url: str | None
    description: str | None
    found: str  # what was found, in words
    mostly_short: bool  # most items are summaries: full text would help
    via: FeedLink | None = None  # the page's feed link that was followed, if any


def check_source(url: str, options: IngestOptions = IngestOptions(), *, kind: str | None = None,
                 allow_private: bool = False,
                 choose: Callable[[str, list[FeedLink]], FeedLink] | None = None) -> Checked:
    """Fetch `url` once and decide what to store: a page that advertises feeds gives its feed
    (`choose` picks one; default the first) unless `kind` is 'html'. Raises SourceRefused."""

    def look(target: str) -> Inspection:
        try:
            return inspect_source(target, options, allow_private=allow_private)
        except (FetchError, NotASource) as exc:
            raise SourceRefused(f"cannot add {target}: {exc}") from None

    seen = look(url)
    found = seen.sniffed
    if found.kind is None:
        raise SourceRefused(f"refused {url}: found {found.found}, not a feed, podcast, page, transcript or email")
    via = None
    if found.kind == "html" and found.feeds and kind != "html":
        via = (choose or (lambda _url, feeds: feeds[0]))(url, found.feeds)
        page = found
        seen = look(via.url)
        found = seen.sniffed
        if found.kind not in FEED_KINDS:
            raise SourceRefused(f"refused {via.url}: the page advertises it as a feed but it is {found.found}")
        found.site_url = found.site_url or page.site_url
    detected = found.kind
    assert detected is not None
    if kind is not None and kind != detected and not (kind in FEED_KINDS and detected in FEED_KINDS):
        raise SourceRefused(f"refused {url}: --kind {kind} but found {found.found} (drop --kind, or use --kind {detected})")
    return Checked(seen.url, kind or detected, found.title, found.site_url, found.description, found.found,
                   found.mostly_short, via)
