"""Canonical URLs: tracking parameters and fragments removed, host lower-cased, default ports dropped."""
from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

TRACKING_PARAM = re.compile(
    r"^(utm_[a-z_]+|fbclid|gclid|dclid|gbraid|wbraid|msclkid|mc_cid|mc_eid|_hsenc|_hsmi|mkt_tok|"
    r"oly_anon_id|oly_enc_id|vero_id|rb_clickid|s_cid|yclid|igshid|ref_src|ref_url|__s|ck_subscriber_id|"
    r"trk|trkid|_ga|_gl|spm)$",
    re.I,
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


def canonical_url(url: str | None) -> str | None:
    """`url` without tracking parameters (utm_*, fbclid, ...), fragment or default port; None stays None."""
    if not url:
        return url
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.scheme.lower() not in ("http", "https"):
        return url
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if not host:
        return url
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host if ":" not in host else f"[{host}]"
    if port and port != _DEFAULT_PORTS.get(scheme):
        netloc += f":{port}"
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not TRACKING_PARAM.match(k)]
    path = parts.path or "/"
    return urlunsplit((scheme, netloc, path, urlencode(query, doseq=True), ""))
