"""IMAP mailboxes (imaps://user@host[:port]/Folder): read-only, new messages only, by UID.

The folder is opened with EXAMINE and bodies fetched with BODY.PEEK, so mail is never deleted
or flagged. The last UID and the folder's UIDVALIDITY are remembered in the source's config.
Password: in the URL (discouraged), [ingest] imap_password, or INSIGHTKB_IMAP_PASSWORD.
Source config may set `cafile` (a CA bundle for a private server) and `starttls` for imap://.
"""
from __future__ import annotations

import imaplib
import logging
import os
import re
import socket
import ssl
from typing import Any
from urllib.parse import unquote, urlsplit

from ingest.emails import NotMail, message_to_document, parse_message
from ingest.fetch import FetchError, RefusedAddress, address_refusal
from ingest.options import IngestOptions
from kb.records import Document, Source

log = logging.getLogger(__name__)

MAX_MESSAGES_PER_RUN = 500


def _password(url_password: str | None, options: IngestOptions, source: Source) -> str | None:
    if url_password:
        return unquote(url_password)
    env_name = source.config.get("password_env")
    if env_name and os.environ.get(env_name):
        return os.environ[env_name]
    return options.imap_password or os.environ.get("INSIGHTKB_IMAP_PASSWORD")


def _check_address(host: str, port: int, allowed: bool) -> None:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise FetchError(f"cannot resolve {host}: {exc.strerror or exc}") from None
    if allowed:
        return
    for info in infos:
        why = address_refusal(info[4][0])
        if why:
            raise RefusedAddress(f"refused {host}: resolves to {why} address {info[4][0]} (allow_private is off)")


def _ssl_context(source: Source) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=source.config.get("cafile"))
    return ctx


def fetch_imap(source: Source, options: IngestOptions) -> tuple[list[Document], str | None, dict[str, Any]]:
    """New messages of the mailbox as Documents, a warning, and the source config to store."""
    parts = urlsplit(source.url)
    secure = parts.scheme.lower() == "imaps"
    host = parts.hostname or ""
    port = parts.port or (993 if secure else 143)
    user = unquote(parts.username or "")
    folder = unquote(parts.path.lstrip("/")) or "INBOX"
    if not host or not user:
        raise FetchError("IMAP source needs imaps://USER@HOST/FOLDER")
    password = _password(parts.password, options, source)
    if not password:
        raise FetchError(f"no IMAP password for {user}@{host}: set [ingest] imap_password or INSIGHTKB_IMAP_PASSWORD")
    _check_address(host, port, options.allow_private or source.allow_private)
    try:
        if secure:
            conn: imaplib.IMAP4 = imaplib.IMAP4_SSL(host, port, ssl_context=_ssl_context(source),
                                                     timeout=options.connect_timeout)
        else:
            conn = imaplib.IMAP4(host, port, timeout=options.connect_timeout)
            if source.config.get("starttls", True):
                conn.starttls(ssl_context=_ssl_context(source))
    except (OSError, imaplib.IMAP4.error, ssl.SSLError) as exc:
        raise FetchError(f"IMAP connect to {host}:{port} failed: {exc}") from None
    try:
        if conn.sock is not None:
            conn.sock.settimeout(options.read_timeout)
        try:
            conn.login(user, password)
        except imaplib.IMAP4.error as exc:
            raise FetchError(f"IMAP login failed for {user}@{host}: {_text(exc)}") from None
        typ, _ = conn.select(_quote(folder), readonly=True)
        if typ != "OK":
            raise FetchError(f"IMAP folder {folder!r} not found on {host}")
        uidvalidity = _first_int(conn.response("UIDVALIDITY")[1])
        config = dict(source.config)
        last_uid = int(config.get("last_uid") or 0) if config.get("uidvalidity") == uidvalidity else 0
        typ, data = conn.uid("SEARCH", None, f"UID {last_uid + 1}:*")
        if typ != "OK":
            raise FetchError(f"IMAP search failed in {folder!r}")
        uids = sorted(int(x) for x in (data[0] or b"").split() if int(x) > last_uid)
        warning = None
        if len(uids) > MAX_MESSAGES_PER_RUN:
            warning = f"{len(uids)} new messages; the first {MAX_MESSAGES_PER_RUN} ingested, the rest next run"
            uids = uids[:MAX_MESSAGES_PER_RUN]
        docs = []
        for uid in uids:
            typ, payload = conn.uid("FETCH", str(uid), "(BODY.PEEK[])")
            raw = next((item[1] for item in payload or [] if isinstance(item, tuple)), None)
            if typ != "OK" or raw is None:
                continue
            if len(raw) > options.max_bytes:
                log.warning("IMAP %s uid %s: %s bytes over the cap; skipped", host, uid, len(raw))
                continue
            try:
                docs.append(message_to_document(parse_message(raw), source, fallback_guid=f"imap:{uidvalidity}:{uid}"))
            except NotMail as exc:
                log.warning("IMAP %s uid %s refused: %s", host, uid, exc)
                refused = f"uid {uid}: {exc}"
                warning = f"{warning}; {refused}" if warning else refused
        config["uidvalidity"] = uidvalidity
        if uids:
            config["last_uid"] = max(uids)
        return docs, warning, config
    except (OSError, imaplib.IMAP4.error) as exc:
        raise FetchError(f"IMAP error on {host}: {_text(exc)}") from None
    finally:
        try:
            conn.logout()
        except Exception:
            pass


def _quote(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _first_int(values: list[Any] | None) -> int | None:
    for value in values or []:
        if value is None:
            continue
        m = re.search(rb"\d+", value if isinstance(value, bytes) else str(value).encode())
        if m:
            return int(m.group())
    return None


def _text(exc: Exception) -> str:
    arg = exc.args[0] if exc.args else exc
    return arg.decode("utf-8", "replace") if isinstance(arg, bytes) else str(arg)
