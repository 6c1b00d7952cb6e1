"""An ASGI layer in front of Datasette: refuse writes to database paths, check canned-query input.

Datasette 0.65 has no JSON write API, and we define no writable canned queries: every write
goes through /-/curation. So any POST/PUT/PATCH/DELETE to a database path (`/<db>`,
`/<db>/<table or query>`, `/<db>/<table>/-/insert` ...) gets 403, for everyone.

The decision is made on the path as Datasette will route it: the raw request path (Datasette
routes on `raw_path`), percent-decoded, with repeated slashes and dot segments resolved. A write
must use that canonical spelling (`//kb/claims/-/insert`, `/kb/./claims/-/insert` or
`/%2D/curation/...` get 403 whatever they would reach) and be one of the plugin routes under
`/-/`, each of which checks its own permission. Datasette's write permissions are refused in
`permission_allowed` as well (see `WRITE_ACTIONS` in the plugin).
Canned-query parameters are checked here so a bad one gets a clear 400, not a SQL error.
"""
from __future__ import annotations

import datetime as dt
import json
import posixpath
import re
import urllib.parse
from typing import Any, Callable

from kb.datasette_plugin import search_count
from kb.datasette_plugin.accounts import insightkb_config
from kb.datasette_plugin.privacy import READ_ONLY_METHODS

STANCES = ("supports", "opposes", "neutral")
_DB_PATH = re.compile(r"^/(?P<db>[^/-][^/]*)(/(?P<rest>.*))?$")
_QUERY_PATH = re.compile(r"^(?P<name>[A-Za-z0-9_]+)(\.(?P<ext>json|csv))?$")
# Full-text search pages whose match count we take from the FTS index (cheap) instead of
# Datasette's `count(*) ... where rowid in (...)` (a B-tree probe per match: slow on common words).
FTS_COUNT_TABLES = {"claims": "claims_fts", "documents": "documents_fts"}
FTS_COUNT_ARGS = {"_search", "_sort", "_sort_desc", "_next", "_size"}
FTS_COUNT_KEY = "insightkb.fts_count"


READ_ONLY_MESSAGE = "This database is read-only over the web; editors curate at /-/curation."


def raw_request_path(scope: dict[str, Any]) -> str:
    """The path Datasette routes on: `raw_path` (undecoded) when the server gives one, without the query."""
    raw = scope.get("raw_path")
    if raw:
        return raw.decode("latin-1").partition("?")[0]
    return scope.get("path") or "/"


def canonical_path(path: str) -> str:
    """`path` percent-decoded (until stable), repeated slashes collapsed, `.`/`..` segments resolved."""
    for _ in range(4):
        decoded = urllib.parse.unquote(path)
        if decoded == path:
            break
        path = decoded
    path = re.sub(r"[/\\]+", "/", "/" + path)
    return posixpath.normpath(path).replace("//", "/")


def write_refusal(scope: dict[str, Any]) -> str | None:
    """Why a non-read request may not go on (one line), or None for a canonical plugin route under /-/."""
    raw = raw_request_path(scope)
    canon = canonical_path(raw)
    if raw != canon:
        return f"Write requests must use the plain path {canon!r}; refused {raw[:200]!r}."
    if not canon.startswith("/-/"):
        return READ_ONLY_MESSAGE
    return None


class BadParameter(ValueError):
    "A canned query parameter is missing or malformed"


def check_date(name: str, value: str) -> None:
    try:
        dt.date.fromisoformat(value[:10])
        if len(value) > 10:
            dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadParameter(f"parameter '{name}' must be a date like 2026-01-31 (or an ISO date-time), not {value!r}") from None


def check_fts(name: str, value: str) -> None:
    if value.count('"') % 2:
        raise BadParameter(f"parameter '{name}' has an unbalanced double quote: {value!r}")
    if re.fullmatch(r"[\W_]*", value):
        raise BadParameter(f"parameter '{name}' needs at least one word to search for")


async def validate(datasette, database: str, query: str, args: dict[str, str], is_html: bool) -> None:
    """Raise BadParameter for a missing or malformed parameter of one of our canned queries."""
    spec = canned_params(datasette, database).get(query)
    if spec is None:
        return
    if is_html and not any(name in args for name in spec):
        return  # first visit: Datasette shows the form
    for name, kind in spec.items():
        value = (args.get(name) or "").strip()
        if not value:
            if kind.endswith("?"):
                continue
            hint = ""
            if kind == "topic":
                hint = f"; one of: {', '.join(await topic_slugs(datasette, database))}"
            raise BadParameter(f"missing parameter '{name}'{hint}")
        kind = kind.rstrip("?")
        if kind == "topic":
            slugs = await topic_slugs(datasette, database)
            if value not in slugs:
                raise BadParameter(f"unknown topic {value!r}; one of: {', '.join(slugs)}")
        elif kind == "stance" and value not in STANCES:
            raise BadParameter(f"parameter '{name}' must be one of {', '.join(STANCES)}, not {value!r}")
        elif kind == "date":
            check_date(name, value)
        elif kind == "digest":
            if not value.isdigit():
                check_date(name, value)
        elif kind == "fts":
            check_fts(name, value)
        elif kind == "text" and len(value) > 200:
            raise BadParameter(f"parameter '{name}' is too long (at most 200 characters)")


def canned_params(datasette, database: str) -> dict[str, dict[str, str]]:
    """{query name: {param: kind}} from our plugin config (kinds: topic, date, digest, fts, text, stance?)."""
    config = insightkb_config(datasette)
    if config.get("database") not in (None, database):
        return {}
    return config.get("query_params") or {}


async def topic_slugs(datasette, database: str) -> list[str]:
    db = datasette.get_database(database)
    return [r[0] for r in await db.execute("SELECT slug FROM topics ORDER BY slug")]


async def _send(send: Callable, status: int, body: bytes, content_type: str) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [[b"content-type", content_type.encode()], [b"cache-control", b"no-store"]]})
    await send({"type": "http.response.body", "body": body})


async def respond_error(datasette, scope: dict[str, Any], send: Callable, status: int, message: str,
                        ext: str | None) -> None:
    """A one-message error as JSON, CSV-friendly text or Datasette's HTML error page."""
    if ext == "json":
        body = json.dumps({"ok": False, "error": message, "status": status}).encode()
        return await _send(send, status, body, "application/json; charset=utf-8")
    if ext == "csv":
        return await _send(send, status, f"error: {message}\n".encode(), "text/plain; charset=utf-8")
    html = await datasette.render_template(
        "error.html",
        {"ok": False, "error": message, "status": status,
         "title": "Forbidden" if status == 403 else "Bad parameter"},
        request=None,  # this layer runs outside Datasette's CSRF and actor middleware
    )
    await _send(send, status, html.encode(), "text/html; charset=utf-8")


def count_search_from_index(datasette, database: str, scope: dict[str, Any], table: str) -> dict[str, Any]:
    """For an HTML page that only searches `table`, skip Datasette's count: ours starts now (search_count)."""
    pairs = urllib.parse.parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    keys = {k for k, _ in pairs}
    search = dict(pairs).get("_search", "").strip()
    if not search or not keys <= FTS_COUNT_ARGS:
        return scope
    query = urllib.parse.urlencode(pairs + [("_nocount", "1")]).encode("latin-1")
    count = search_count.start_count(datasette, database, FTS_COUNT_TABLES[table], search)
    return {**scope, "query_string": query, FTS_COUNT_KEY: count}


def wrap(datasette, app: Callable) -> Callable:
    """The ASGI wrapper installed by our `asgi_wrapper` hook."""

    async def guarded(scope, receive, send):
        if scope["type"] != "http":
            return await app(scope, receive, send)
        path = scope.get("path") or "/"
        if scope["method"] not in READ_ONLY_METHODS:
            refusal = write_refusal(scope)
            if refusal:
                ext = "json" if path.endswith(".json") or "/-/" in path.lstrip("/") else None
                return await respond_error(datasette, scope, send, 403, refusal, ext)
        m = _DB_PATH.match(path)
        if not m or path.startswith("/-/"):
            return await app(scope, receive, send)
        database = urllib.parse.unquote(m.group("db")).split(".")[0]
        if database not in datasette.databases:
            return await app(scope, receive, send)
        rest = m.group("rest") or ""
        q = _QUERY_PATH.match(rest)
        ext = q.group("ext") if q else ("json" if rest.endswith(".json") or "/-/" in rest else None)
        if q and q.group("ext") is None and q.group("name") in FTS_COUNT_TABLES:
            scope = count_search_from_index(datasette, database, scope, q.group("name"))
        if q:
            args = dict(urllib.parse.parse_qsl(scope.get("query_string", b"").decode("latin-1"),
                                               keep_blank_values=True))
            try:
                await validate(datasette, database, q.group("name"), args, is_html=ext is None)
            except BadParameter as exc:
                return await respond_error(datasette, scope, send, 400, str(exc), ext)
        return await app(scope, receive, send)

    return guarded
