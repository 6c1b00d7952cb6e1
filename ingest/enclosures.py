"""Download an episode's audio enclosure to a file, through the same safe fetcher as feeds.

The enclosure gets its own size cap and total timeout (audio is far larger than a feed), is
streamed to `DEST.part` and renamed to DEST only when complete, so a killed download never
looks like a finished one. An HTML page where audio should be is refused after its first bytes.
"""
from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass, replace
from pathlib import Path

from ingest.fetch import FetchError, fetch, make_client
from ingest.options import IngestOptions
from kb.urls import fetch_refusal

log = logging.getLogger(__name__)

ACCEPT_AUDIO = "audio/*, video/*;q=0.8, application/octet-stream;q=0.5, */*;q=0.1"
_MARKUP = (b"<!doctype", b"<html", b"<?xml", b"<rss", b"<feed", b"{")


@dataclass
class DownloadedAudio:
    """A complete enclosure on disk."""

    path: Path
    bytes: int
    url: str  # where it was finally fetched from, after redirects
    content_type: str | None = None


def download_enclosure(
    url: str,
    dest: Path,
    options: IngestOptions,
    *,
    max_bytes: int,
    total_timeout: float,
    allow_private_origin: tuple[str, int] | None = None,
) -> DownloadedAudio:
    """Fetch `url` to `dest` (the URL policy on every hop, each hop's address checked, capped at `max_bytes`).

    `allow_private_origin` (host, port) may be private (the source's own, when it allows itself).
    Raises `ingest.fetch.FetchError` with a one-line reason; a partial file is removed.
    """
    why = fetch_refusal(url)
    if why:
        raise FetchError(f"refused enclosure: {why}")
    options = replace(options, max_bytes=max_bytes, total_timeout=total_timeout)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    try:
        result, size = asyncio.run(_download(url, part, options, allow_private_origin))
        os.replace(part, dest)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return DownloadedAudio(dest, size, result.url, result.headers.get("content-type"))


async def _download(url: str, part: Path, options: IngestOptions, allow_private_origin: tuple[str, int] | None):
    written = 0
    with part.open("wb") as out:

        def sink(chunk: bytes) -> None:
            nonlocal written
            if written == 0 and chunk.lstrip()[:9].lower().startswith(_MARKUP):
                raise FetchError("not audio: the enclosure URL returned a page or document, not sound")
            out.write(chunk)
            written += len(chunk)

        async with make_client(options) as client:
            result = await fetch(client, url, options, allow_private=options.allow_private,
                                 allow_private_origin=allow_private_origin, accept=ACCEPT_AUDIO, sink=sink)
    if written == 0:
        raise FetchError("empty enclosure: the server sent no bytes")
    log.info("enclosure %s: %d bytes", url, written)
    return result, written
