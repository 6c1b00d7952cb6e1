"""Where a source lives: a local path (absolute or file://), an http(s) URL or an imap(s) mailbox."""
from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit


def local_path(url: str) -> Path | None:
    """The filesystem path of a local source, or None for remote ones."""
    if url.startswith("file://"):
        return Path(unquote(urlsplit(url).path))
    if url.startswith("/") or url.startswith("~"):
        return Path(url).expanduser()
    return None


def scheme(url: str) -> str:
    """'file', 'http', 'https', 'imap', 'imaps' or '' for something we cannot fetch."""
    if local_path(url) is not None:
        return "file"
    s = urlsplit(url).scheme.lower()
    return s if s in ("http", "https", "imap", "imaps") else ""


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()
