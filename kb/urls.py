"""The one URL policy for every URL that comes from content (feeds, pages, mail, OPML, redirects).

Content is written by strangers. A URL it carries may be fetched or shown as a link only when it
is an absolute `http`/`https` URL with a host, and nothing a browser or a fetcher would read
differently from us: no credentials (`https://bank.example@evil.example/`), no backslashes
(`https:\\\\evil.example`), no whitespace or control characters anywhere (browsers drop a tab or
newline inside a URL, so `java\\tscript:` becomes `javascript:`), no invisible formatting
characters, no scheme-relative `//host`, no bad port. Local paths and `file:` URLs are only ever
what a person typed on the command line (`insightkb sources add PATH`), never what a document says.

`link_refusal` / `safe_link` decide what may be rendered as a link; `fetch_refusal` what may be
fetched (the same rules); `police_document_links` drops failing links from a document before it is
stored and records why in its metadata (`dropped_links`).
"""
from __future__ import annotations

import html
import re
import unicodedata
from typing import Any
from urllib.parse import urlsplit

ALLOWED_SCHEMES = ("http", "https")
MAX_URL_LENGTH = 4096
_PRINTABLE_ASCII = re.compile(r"[!-~]*")  # no space, no control character: the common case, checked fast
_OUTER_SPACE = " \t\r\n\f"  # browsers and feed readers ignore these around a URL, not inside it
# Metadata keys whose values are URLs taken from content (strings or lists of strings).
LINK_METADATA_KEYS = ("original_url", "image", "transcript_url", "transcripts", "external_url", "html_url")


class UnsafeURL(ValueError):
    "A URL from content fails the URL policy; the message says why in one line"


def _shown(url: str, limit: int = 80) -> str:
    text = url if len(url) <= limit else url[:limit] + "..."
    return repr(text)


def link_refusal(url: object) -> str | None:
    """Why `url` may not be linked or fetched (one line), or None when it is a safe http(s) URL."""
    if not isinstance(url, str):
        return f"not a URL: {type(url).__name__}"
    candidate = url.strip(_OUTER_SPACE)
    if not candidate:
        return "empty URL"
    if len(candidate) > MAX_URL_LENGTH:
        return f"URL longer than {MAX_URL_LENGTH} characters"
    if not _PRINTABLE_ASCII.fullmatch(candidate):
        for ch in candidate:
            if ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp"):
                return f"whitespace or control character U+{ord(ch):04X} in URL {_shown(candidate)}"
    if "\\" in candidate:
        return f"backslash in URL {_shown(candidate)}"
    if candidate.startswith("//"):
        return f"scheme-relative URL {_shown(candidate)} (only absolute http(s) URLs are allowed)"
    if candidate.startswith(("/", "~", ".")):
        return f"local path {_shown(candidate)} (local files are only read when typed on the command line)"
    try:
        parts = urlsplit(candidate)
    except ValueError as exc:
        return f"malformed URL {_shown(candidate)}: {exc}"
    scheme = parts.scheme.lower()
    if scheme == "file":
        return f"file: URL {_shown(candidate)} (local files are only read when typed on the command line)"
    if scheme not in ALLOWED_SCHEMES:
        shown = f"{scheme}:" if scheme else "no scheme"
        return f"{shown} URL {_shown(candidate)} (only http and https are allowed)"
    if not candidate[len(parts.scheme):].startswith("://"):
        return f"URL without // after the scheme {_shown(candidate)}"
    if "@" in parts.netloc or parts.username is not None or parts.password is not None:
        return f"credentials in URL {_shown(candidate)}"
    host = parts.hostname
    if not host:
        return f"URL without a host {_shown(candidate)}"
    try:
        parts.port
    except ValueError:
        return f"bad port in URL {_shown(candidate)}"
    return None


def is_safe_link(url: object) -> bool:
    """True if `url` passes the policy."""
    return link_refusal(url) is None


def safe_link(url: object) -> str | None:
    """`url` (outer whitespace removed) when it may be rendered as a link or fetched, else None.

    Registered as the Jinja filter `safe_link` wherever insightkb renders a link, so rows stored
    before the policy existed are safe too.
    """
    if link_refusal(url) is not None:
        return None
    return str(url).strip(_OUTER_SPACE)


def fetch_refusal(url: str) -> str | None:
    """Why a URL named by content may not be fetched, or None. Same rules as links."""
    return link_refusal(url)


def check_fetch_url(url: str) -> str:
    """`url` if it may be fetched; raises UnsafeURL with a one-line reason otherwise."""
    why = fetch_refusal(url)
    if why:
        raise UnsafeURL(why)
    return url.strip(_OUTER_SPACE)


def _record(dropped: list[dict[str, str]], field: str, url: object, why: str) -> None:
    shown = (url if isinstance(url, str) else repr(url))[:200]
    if not any(d.get("url") == shown for d in dropped):  # one entry per URL, under the first field naming it
        dropped.append({"field": field, "url": shown, "reason": why})


def police_document_links(url: str | None, metadata: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """(url or None, metadata without failing links), every drop recorded in `metadata["dropped_links"]`.

    Looks at the document URL, the enclosure URL and the URL-valued metadata keys
    (`LINK_METADATA_KEYS`). Links that pass are kept exactly as they are.
    """
    dropped: list[dict[str, str]] = list(metadata.get("dropped_links") or [])
    clean = dict(metadata)
    if url is not None:
        why = link_refusal(url)
        if why:
            _record(dropped, "url", url, why)
            url = None
    enclosure = clean.get("enclosure")
    if isinstance(enclosure, dict) and enclosure.get("url") is not None:
        why = link_refusal(enclosure["url"])
        if why:
            _record(dropped, "enclosure.url", enclosure["url"], why)
            clean["enclosure"] = {**enclosure, "url": None}
    for key in LINK_METADATA_KEYS:
        value = clean.get(key)
        if value is None:
            continue
        if isinstance(value, list):
            kept = []
            for i, item in enumerate(value):
                why = link_refusal(item)
                if why:
                    _record(dropped, f"{key}[{i}]", item, why)
                else:
                    kept.append(item)
            if kept:
                clean[key] = kept
            else:
                clean.pop(key)
        else:
            why = link_refusal(value)
            if why:
                _record(dropped, key, value, why)
                clean.pop(key)
    if dropped:
        clean["dropped_links"] = dropped
    return url, clean


_HREF = re.compile(r'(?P<name>\b(?:href|src))="(?P<value>[^"]*)"', re.I)


def scrub_rendered_links(markup: str) -> str:
    """Our own rendered HTML (a stored digest) with every href/src that fails the policy made inert.

    Only for HTML we rendered with autoescaping (a `"` never occurs inside an attribute value),
    such as digests stored before this policy: their links are checked again when served.
    Same-page references (`#...`) and our own absolute paths (`/...`, not `//`) stay.
    """

    def fix(m: re.Match) -> str:
        value = html.unescape(m.group("value"))
        if value.startswith("#") or (value.startswith("/") and not value.startswith("//") and "\\" not in value):
            return m.group(0)
        if safe_link(value) is not None:
            return m.group(0)
        return f'{m.group("name")}="#"'

    return _HREF.sub(fix, markup)
