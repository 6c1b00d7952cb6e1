"""An ASGI layer around POST /-/login: throttle password guessing and audit every attempt.

datasette-auth-passwords checks the password; this layer decides first whether the attempt may
be made at all (`kb.logins.login_throttle`: per account and per client address), answers 429
with a `Retry-After` and one clear message when not, and afterwards records the outcome (a 302
with a `ds_actor` cookie is a success, the login form again is a failure) in `login_attempts`.
"""
from __future__ import annotations

import logging
import urllib.parse
from typing import Any, Callable

import sqlite_utils

from kb import logins

log = logging.getLogger(__name__)

LOGIN_PATH = "/-/login"
MAX_BODY = 64 * 1024


async def _read_body(receive: Callable) -> tuple[bytes, list[dict[str, Any]]]:
    """The whole request body (capped), and the messages read, to replay them to the app."""
    messages, body = [], b""
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        body += message.get("body", b"")
        if not message.get("more_body") or len(body) > MAX_BODY:
            break
    return body, messages


def _replay(messages: list[dict[str, Any]], receive: Callable) -> Callable:
    pending = list(messages)

    async def replay():
        if pending:
            return pending.pop(0)
        return await receive()

    return replay


def _header(scope: dict[str, Any], name: bytes) -> str:
    for key, value in scope.get("headers") or []:
        if key.lower() == name:
            return value.decode("latin-1")
    return ""


def client_address(scope: dict[str, Any]) -> str:
    """The client address as the server saw it (uvicorn applies X-Forwarded-For only from trusted proxies)."""
    client = scope.get("client")
    return str(client[0]) if client else "?"


def login_policy(datasette) -> logins.LoginPolicy:
    """The policy `make_datasette` put in our plugin configuration (defaults when absent)."""
    from kb.datasette_plugin.accounts import insightkb_config

    return logins.LoginPolicy(**(insightkb_config(datasette).get("login_policy") or {}))


def wrap(datasette, app: Callable, kb_database: Callable) -> Callable:
    """The ASGI wrapper: `kb_database(datasette)` gives the Datasette Database holding the KB."""

    async def throttled(scope, receive, send):
        if scope["type"] != "http" or scope.get("method") != "POST" or scope.get("path") != LOGIN_PATH:
            return await app(scope, receive, send)
        body, messages = await _read_body(receive)
        form = dict(urllib.parse.parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        username = form.get("username", "")
        client = client_address(scope)
        agent = _header(scope, b"user-agent")
        db = kb_database(datasette)
        policy = login_policy(datasette)

        def check(conn):
            kb = sqlite_utils.Database(conn)
            wait = logins.login_throttle(kb, username, client, policy)
            if wait is not None:
                logins.record_attempt(kb, username, client, succeeded=False, throttled=True, user_agent=agent)
            return wait

        wait = await db.execute_write_fn(check, block=True)
        if wait is not None:
            log.warning("login throttled: %r from %s (%s, %ss)", username[:100], client, wait.reason, wait.seconds)
            return await _too_many(datasette, send, wait)
        outcome: dict[str, Any] = {}

        async def watching_send(message):
            if message["type"] == "http.response.start":
                headers = message.get("headers") or []
                outcome["status"] = message["status"]
                outcome["signed_in"] = any(k.lower() == b"set-cookie" and v.startswith(b"ds_actor=")
                                           for k, v in headers)
            await send(message)

        await app(scope, _replay(messages, receive), watching_send)
        status = outcome.get("status")
        if status == 302 and outcome.get("signed_in"):
            ok = True
        elif status == 200:  # the login form again, with "Invalid username or password"
            ok = False
        else:
            return  # refused before the password was looked at (CSRF, ...): not an attempt
        await db.execute_write_fn(lambda conn: logins.record_attempt(
            sqlite_utils.Database(conn), username, client, succeeded=ok, user_agent=agent), block=True)
        if not ok:
            log.info("failed login for %r from %s", username[:100], client)

    return throttled


async def _too_many(datasette, send: Callable, wait: logins.Throttle) -> None:
    html = await datasette.render_template(
        "error.html", {"ok": False, "error": wait.message, "status": 429, "title": "Too many failed logins"},
        request=None)
    await send({"type": "http.response.start", "status": 429,
                "headers": [[b"content-type", b"text/html; charset=utf-8"], [b"cache-control", b"no-store"],
                            [b"retry-after", str(wait.seconds).encode()]]})
    await send({"type": "http.response.body", "body": html.encode()})
