"""HTTP(S) fetching we can trust with a thousand sources.

Conditional GET (ETag / Last-Modified), redirects followed by hand (at most `max_redirects`, each
hop's address checked after DNS resolution and the connection pinned to the checked address),
a size cap enforced on the decoded stream (so gzip bombs stop at the cap too), connect / read /
total timeouts, and `Retry-After` read on failures.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import logging
import socket
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from ingest.options import IngestOptions
from kb.urls import fetch_refusal

log = logging.getLogger(__name__)

REDIRECTS = {301, 302, 303, 307, 308}
PERMANENT = {301, 308}
ACCEPT_FEED = "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.8"


class FetchError(Exception):
    "A fetch failed; the message is one line, fit for the source row"

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after

    @property
    def gone(self) -> bool:
        return self.status == 410


class RefusedAddress(FetchError):
    "The host resolves to a private, loopback or link-local address and that is not allowed"


@dataclass
class FetchResult:
    """A completed fetch: 200 with content, or 304 with none."""

    url: str  # the URL finally fetched
    status: int
    content: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    permanent_url: str | None = None  # where the source now lives, after only-permanent redirects

    @property
    def not_modified(self) -> bool:
        return self.status == 304


def retry_after_seconds(value: str | None, now: dt.datetime | None = None) -> float | None:
    """`Retry-After` as seconds from now (it may be seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    now = now or dt.datetime.now(dt.timezone.utc)
    return max(0.0, (when - now).total_seconds())


def address_refusal(ip: str) -> str | None:
    """Why `ip` may not be fetched without explicit permission, or None if it is public."""
    addr = ipaddress.ip_address(ip.split("%")[0])
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped:
        addr = addr.ipv4_mapped
    for label in ("loopback", "link_local", "private", "multicast", "reserved", "unspecified"):
        if getattr(addr, f"is_{label}"):
            return label.replace("_", "-")
    if not addr.is_global:
        return "non-global"
    return None


async def resolve_checked(host: str, port: int, *, allow_private: bool) -> str:
    """The address to connect to for `host`; refuses private ones unless allowed."""
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise FetchError(f"cannot resolve {host}: {exc.strerror or exc}") from None
    # IPv4 first: a dual-stack name like localhost often has only the IPv4 side listening.
    addresses = sorted(dict.fromkeys(info[4][0] for info in infos), key=lambda ip: ":" in ip)
    if not addresses:
        raise FetchError(f"cannot resolve {host}")
    if not allow_private:
        for ip in addresses:
            why = address_refusal(ip)
            if why:
                raise RefusedAddress(f"refused {host}: resolves to {why} address {ip} (allow_private is off)")
    return addresses[0]


def _pinned(url: str, ip: str) -> tuple[str, str]:
    """(url with the host replaced by `ip`, Host header value)."""
    parts = urlsplit(url)
    host_header = parts.netloc.rsplit("@", 1)[-1]
    ip_host = f"[{ip}]" if ":" in ip else ip
    netloc = ip_host if parts.port is None else f"{ip_host}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, "")), host_header


def make_client(options: IngestOptions) -> httpx.AsyncClient:
    """One shared async client: pooled connections, our timeouts, no automatic redirects."""
    timeout = httpx.Timeout(options.read_timeout, connect=options.connect_timeout, pool=None)
    limits = httpx.Limits(max_connections=max(1, options.concurrency), max_keepalive_connections=max(1, options.concurrency))
    return httpx.AsyncClient(
        timeout=timeout,
        limits=limits,
        follow_redirects=False,
        headers={"User-Agent": options.user_agent},
        trust_env=False,
    )


async def fetch(
    client: httpx.AsyncClient,
    url: str,
    options: IngestOptions,
    *,
    allow_private: bool = False,
    allow_private_origin: tuple[str, int] | None = None,
    etag: str | None = None,
    last_modified: str | None = None,
    accept: str = ACCEPT_FEED,
) -> FetchResult:
    """GET `url` safely (see module docstring). Raises FetchError with a one-line reason.

    Every hop's URL must pass the URL policy (`kb.urls`: absolute http(s), no credentials ...).
    `allow_private` allows private addresses on every hop; `allow_private_origin` (host, port) only
    for that origin: a source that allows itself does not allow redirects to another host or
    another port of its host (such as the Datasette port) into private space.
    """
    try:
        return await asyncio.wait_for(
            _fetch(client, url, options, allow_private, allow_private_origin, etag, last_modified, accept),
            timeout=options.total_timeout,
        )
    except asyncio.TimeoutError:
        raise FetchError(f"timed out after {options.total_timeout:g}s in total") from None


def origin(url: str) -> tuple[str, int] | None:
    """(lower-case host, port) of an http(s) URL, the default port filled in; None for anything else."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme_ = parts.scheme.lower()
    if scheme_ not in ("http", "https") or not parts.hostname:
        return None
    return parts.hostname.lower(), port or (443 if scheme_ == "https" else 80)


async def _fetch(client, url, options, allow_private, allow_private_origin, etag, last_modified, accept) -> FetchResult:
    current = url
    permanent: str | None = None
    all_permanent = True
    for hop in range(options.max_redirects + 1):
        why = fetch_refusal(current)
        if why:
            raise FetchError(f"refused {'redirect to ' if hop else ''}{why}")
        current = current.strip()
        parts = urlsplit(current)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
        allowed = allow_private or (allow_private_origin is not None and (host.lower(), port) == allow_private_origin)
        ip = await resolve_checked(host, port, allow_private=allowed)
        pinned_url, host_header = _pinned(current, ip)
        headers = {"Host": host_header, "Accept": accept}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        extensions = {"sni_hostname": host} if parts.scheme == "https" else {}
        request = client.build_request("GET", pinned_url, headers=headers, extensions=extensions)
        try:
            response = await client.send(request, stream=True)
        except httpx.ConnectTimeout:
            raise FetchError(f"connect timeout after {options.connect_timeout:g}s: {host}") from None
        except httpx.ReadTimeout:
            raise FetchError(f"read timeout after {options.read_timeout:g}s: {host}") from None
        except httpx.TimeoutException as exc:
            raise FetchError(f"timeout: {type(exc).__name__}: {host}") from None
        except httpx.HTTPError as exc:
            raise FetchError(f"connection failed: {type(exc).__name__}: {str(exc)[:200] or host}") from None
        try:
            status = response.status_code
            if status in REDIRECTS:
                location = response.headers.get("location")
                if not location:
                    raise FetchError(f"HTTP {status} without Location", status=status)
                target = urljoin(current, location.strip())
                log.info("%s -> %s (%s)", current, target, status)
                all_permanent = all_permanent and status in PERMANENT
                if all_permanent:
                    permanent = target
                current = target
                continue
            response_headers = {k.lower(): v for k, v in response.headers.items()}
            if status == 304:
                return FetchResult(current, 304, b"", response_headers, permanent)
            if status >= 400:
                retry = retry_after_seconds(response.headers.get("retry-after"))
                try:
                    reason = HTTPStatus(status).phrase
                except ValueError:
                    reason = response.reason_phrase or ""
                raise FetchError(f"HTTP {status} {reason}".strip(), status=status, retry_after=retry)
            declared = response.headers.get("content-length")
            if declared and declared.isdigit() and int(declared) > options.max_bytes and not response.headers.get("content-encoding"):
                raise FetchError(f"response too large: {int(declared)} bytes declared, cap {options.max_bytes}", status=status)
            chunks = []
            total = 0
            try:
                async for chunk in response.aiter_bytes():
                    total += len(chunk)
                    if total > options.max_bytes:
                        raise FetchError(f"response cut at the {options.max_bytes}-byte cap", status=status)
                    chunks.append(chunk)
            except httpx.ReadTimeout:
                raise FetchError(f"read timeout after {options.read_timeout:g}s: {host}") from None
            except httpx.DecodingError as exc:
                raise FetchError(f"bad content encoding: {str(exc)[:200]}", status=status) from None
            except httpx.HTTPError as exc:
                raise FetchError(f"transfer failed: {type(exc).__name__}: {str(exc)[:200]}") from None
            return FetchResult(current, status, b"".join(chunks), response_headers, permanent)
        finally:
            await response.aclose()
    raise FetchError(f"more than {options.max_redirects} redirects")
