"""Datasette plugin: RFC 8058 one-click unsubscribe.

Routes (served by `insightkb serve`, which loads this module through its entry point):

- `GET  /-/unsubscribe/<token>`: a confirm page; never unsubscribes (link scanners fetch GETs).
- `POST /-/unsubscribe/<token>`: unsubscribes (the one-click POST mail clients send, body
  `List-Unsubscribe=One-Click`); exempt from CSRF, the signed token is the proof.

The archive, its Atom feed and the reader pages are the digest's own plugin (`digest/web.py`).
"""
from __future__ import annotations

import hmac
import logging
from typing import Any

import sqlite_utils
from datasette import hookimpl
from datasette.utils.asgi import Response
from itsdangerous import BadData
from markupsafe import escape

from kb.secrets import previous_secrets
from kb.subscribers import unsubscribe_with_nonce
from kb.tokens import UNSUBSCRIBE_NAMESPACE, read_unsubscribe_token, token_value

log = logging.getLogger(__name__)

PREFIX = "/-/unsubscribe"

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>{title}</title>
<style>body{{margin:0;background:#f3f1ec;font-family:-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#1d1d1f}}
main{{max-width:520px;margin:40px auto;background:#fff;border:1px solid #e4e0d8;border-radius:10px;padding:24px 28px}}
h1{{font-size:21px;color:#1f3a5f;margin-top:0}}button{{font-size:16px;padding:10px 18px;border:0;border-radius:6px;background:#1f3a5f;color:#fff;cursor:pointer}}
a{{color:#1f5fa8}}</style></head>
<body><main><h1>{title}</h1>{body}</main></body></html>"""


def _page(title: str, body: str, status: int = 200) -> Response:
    return Response.html(_PAGE.format(title=escape(title), body=body), status=status,
                         headers={"Cache-Control": "no-store", "X-Robots-Tag": "noindex"})


def _mask(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:1]}{'•' * max(1, len(local) - 1)}@{domain}"


async def _kb(datasette) -> Any | None:
    """The Datasette database that holds `subscribers` (the KB)."""
    for db in datasette.databases.values():
        if db.name.startswith("_"):
            continue
        if await db.table_exists("subscribers"):
            return db
    return None


def read_token(datasette, db, token: str) -> tuple[int, str] | None:
    """(subscriber_id, nonce) of a token signed with Datasette's secret, else with a previous one.

    Datasette's secret is the installation's (passed to `Datasette(secret=...)`); previous
    secrets (`insightkb secret rotate`) keep the links of mail already sent working. A token
    alone unsubscribes nobody: its nonce must still be the subscriber's (checked in `_resolve`).
    """
    try:
        return token_value(datasette.unsign(token, namespace=UNSUBSCRIBE_NAMESPACE))
    except BadData:
        pass
    if db is None or not db.path:
        return None
    return read_unsubscribe_token(previous_secrets(db.path), token)


def _resolve(conn, parsed: tuple[int, str] | None, *, unsubscribe: bool) -> dict[str, Any] | None:
    """Check the token against the subscriber row; unsubscribe if asked. Runs on the write connection.

    Subscribers are private: Datasette's read connections may not see them at all, so the
    lookup runs on the (trusted) write connection through `execute_write_fn`.
    """
    if parsed is None:
        return None
    subscriber_id, nonce = parsed
    row = conn.execute(
        "SELECT id, email, active, unsubscribe_token FROM subscribers WHERE id = ?", [subscriber_id]
    ).fetchone()
    if row is None or not hmac.compare_digest(row[3] or "", nonce):
        return None
    found = {"id": row[0], "email": row[1], "was_active": bool(row[2])}
    if unsubscribe and row[2]:
        unsubscribe_with_nonce(sqlite_utils.Database(conn), subscriber_id, nonce)
        log.info("subscriber %d unsubscribed by one-click link", subscriber_id)
    return found


_INVALID = ("This link is not valid",
            "<p>The unsubscribe link is incomplete or no longer valid. Use the link in your latest digest.</p>")


async def unsubscribe(request, datasette) -> Response:
    """GET: confirm page. POST: unsubscribe (one click, no CSRF token needed)."""
    token = request.url_vars.get("token", "")
    db = await _kb(datasette)
    if db is None:
        return _page(*_INVALID, status=404)
    parsed = read_token(datasette, db, token)
    post = request.method == "POST"
    sub = await db.execute_write_fn(lambda conn: _resolve(conn, parsed, unsubscribe=post))
    if sub is None:
        return _page(*_INVALID, status=404)
    who = escape(_mask(sub["email"]))
    if post:
        return _page("You are unsubscribed", f"<p>{who} will get no more digests.</p>")
    if not sub["was_active"]:
        return _page("You are already unsubscribed", f"<p>{who} gets no digests.</p>")
    return _page(
        "Unsubscribe from the daily digest?",
        f"<p>Stop sending the digest to {who}?</p>"
        f'<form method="post" action="{escape(PREFIX + "/" + token)}">'
        '<input type="hidden" name="List-Unsubscribe" value="One-Click">'
        '<button type="submit">Unsubscribe</button></form>',
    )


async def unsubscribe_help(request, datasette) -> Response:
    return _page("Unsubscribe", "<p>Use the unsubscribe link at the bottom of your digest e-mail.</p>")


@hookimpl
def register_routes(datasette):
    return [
        (r"^/-/unsubscribe/(?P<token>[A-Za-z0-9_.\-]+)$", unsubscribe),
        (r"^/-/unsubscribe/?$", unsubscribe_help),
    ]


@hookimpl
def skip_csrf(datasette, scope):
    """Mail clients POST the one-click unsubscribe without any cookie or CSRF token (RFC 8058)."""
    return scope.get("type") == "http" and scope.get("path", "").startswith(PREFIX + "/")
