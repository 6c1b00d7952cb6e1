"""What the researchers' pages need beyond Datasette's defaults: parameter choices for the canned
queries, labelled links for claim/document/source ids in query results, the home page's figures."""
from __future__ import annotations

import logging
from typing import Any

from markupsafe import Markup, escape

log = logging.getLogger(__name__)

STANCES = ("supports", "opposes", "neutral")
# Result columns holding an id of one of our tables: (table, label prefix).
ID_COLUMNS = {"claim_id": ("claims", "claim"), "document_id": ("documents", "document"),
              "source_id": ("sources", "source"), "digest_id": ("digests", "digest")}


def id_link(datasette, database: str, column: str, value: Any) -> Markup | None:
    """A link to the row an id column points to, labelled with what it is ("claim 42 →")."""
    target = ID_COLUMNS.get(column)
    if target is None or not isinstance(value, int) or isinstance(value, bool):
        return None
    table, noun = target
    href = datasette.urls.row(database, table, value)
    return Markup(f'<a href="{escape(href)}" title="open {noun} {value}">{noun} {value} →</a>')


def param_kinds(datasette, query_name: str) -> dict[str, str]:
    """{parameter: kind} of a canned query, from queries.yaml's `params`."""
    config = datasette.plugin_config("insightkb") or {}
    return dict((config.get("query_params") or {}).get(query_name) or {})


async def param_choices(datasette, database: str, kinds: dict[str, str]) -> dict[str, list[tuple[str, str]]]:
    """[(value, label)] for each parameter whose kind has a closed set of values."""
    db = datasette.get_database(database)
    choices: dict[str, list[tuple[str, str]]] = {}
    for name, kind in kinds.items():
        base = kind.rstrip("?")
        if base == "topic":
            rows = await db.execute("select slug, label from topics order by label")
            choices[name] = [(r["slug"], f'{r["label"]} ({r["slug"]})') for r in rows]
        elif base == "stance":
            choices[name] = [(s, s) for s in STANCES]
        elif base == "source":
            rows = await db.execute("select id, coalesce(title, url) as title from sources order by title limit 500")
            choices[name] = [(str(r["id"]), r["title"]) for r in rows]
        elif base == "digest":
            rows = await db.execute("select date from digests order by date desc limit 90")
            choices[name] = [(r["date"], r["date"]) for r in rows]
    return choices


async def query_page_vars(request, datasette, database: str) -> dict[str, Any]:
    """Template variables for a canned query page: its parameters' kinds and choices."""
    name = request.path.rstrip("/").rsplit("/", 1)[-1]
    kinds = param_kinds(datasette, name)
    if not kinds:
        return {}
    return {"insightkb_param_kinds": kinds,
            "insightkb_param_choices": await param_choices(datasette, database, kinds)}


HOME_FIGURES_SQL = {
    "claims": "select count(*) from claims",
    "documents": "select count(*) from documents",
    "sources": "select count(*) from sources where active",
    "topics": "select count(*) from topics",
    "last_ingest": "select max(last_fetched_at) from sources",
    "last_claim": "select max(created_at) from claims where id = (select max(id) from claims)",
    "digests": "select count(*) from digests",
    "last_digest": "select max(date) from digests",
}


HOME_FIGURES_TTL = 15.0  # seconds: counting a million claims on every visit costs ~40 ms
_home_cache: dict[str, tuple[float, Any]] = {}


async def _home_figures(db) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """What the KB holds and its sources in trouble, remembered for HOME_FIGURES_TTL seconds."""
    import time

    key = f"{db.name}:{db.path}"
    cached = _home_cache.get(key)
    if cached and time.monotonic() - cached[0] < HOME_FIGURES_TTL:
        return cached[1]
    figures: dict[str, Any] = {}
    for name, sql in HOME_FIGURES_SQL.items():
        try:
            figures[name] = (await db.execute(sql)).first()[0]
        except Exception as exc:  # a KB being migrated: show the rest
            log.warning("home page figure %s: %s", name, exc)
            figures[name] = None
    trouble = [dict(r) for r in await db.execute(
        "select id, coalesce(title, url) as title, kind, failure_count, coalesce(last_error, warning) as problem,"
        " last_fetched_at, active from sources where failure_count > 0 or last_error is not null"
        " or warning is not null or not active order by failure_count desc, id limit 10")]
    _home_cache[key] = (time.monotonic(), (figures, trouble))
    return figures, trouble


async def home_page_vars(request, datasette) -> dict[str, Any]:
    """The home page's figures: what the KB holds, its sources in trouble, the canned queries,
    the dashboards and, for editors, the queue's size. ({} when no KB is served: Datasette's page.)"""
    from datasette.utils.asgi import NotFound

    from kb.datasette_plugin import views

    try:
        db = views.kb_database(datasette)
    except NotFound:
        return {}
    database = db.name
    figures, trouble = await _home_figures(db)
    queries = await datasette.get_canned_queries(database, request.actor)
    dashboards = (datasette.plugin_config("datasette-dashboards") or {})
    is_editor = await datasette.permission_allowed(request.actor, "insightkb-curate", default=False)
    pending = None
    if is_editor:
        from kb import curation
        pending = await views._read(datasette, lambda sdb: curation.pending_count(sdb))
    return {"insightkb_home": {
        "database": database, "figures": figures, "trouble": trouble,
        "queries": [{"name": n, "title": q.get("title") or n,
                     "description": q.get("description") or "",
                     "description_html": q.get("description_html")} for n, q in queries.items()],
        "dashboards": [{"slug": s, "title": d.get("title") or s, "description": d.get("description") or ""}
                       for s, d in dashboards.items()],
        "is_editor": is_editor, "pending": pending, "logged_in": bool(request.actor)}}


def log_cell(row: Any, column: str, value: Any) -> Markup | None:
    """curation_log's before/after cells as readable text: `after` shows what changed."""
    import json

    from kb.curation import describe_change

    if column not in ("before", "after") or not isinstance(value, str):
        return None
    try:
        before = json.loads(row["before"]) if row["before"] else None
        after = json.loads(row["after"]) if row["after"] else None
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    if column == "after":
        lines = describe_change(before, after)
        return Markup("<br>".join(escape(line) for line in lines) or "<em>no change</em>")
    if isinstance(before, dict) and "status" in before:
        topics = ", ".join(f"{k} ({v})" for k, v in sorted((before.get("topics") or {}).items())) or "no topics"
        boost = f", boost {before['boost']}" if before.get("boost") else ""
        return Markup(f'<span class="ikb-before">{escape(before["status"])}{escape(boost)}; {escape(topics)}</span>')
    return None


def row_link_label(cell: Any) -> Markup:
    """Datasette's "Link" cell of a compound-key row ("85,inference-cost") relabelled "row"."""
    import re

    html = str(cell)
    return Markup(re.sub(r">([^<]*,[^<]*)</a>", lambda m: f' title="{m.group(1)}">row</a>', html, count=1))


def column_label(name: str) -> str:
    """A column name as a heading: source_id -> source, published_at -> published at."""
    if name.endswith("_id") and name != "_id":
        name = name[:-3]
    return name.replace("_", " ")


def html_text(value: Any) -> str | None:
    """SQL function ikb_html(x): x as HTML text (datasette-dashboards puts table cells in innerHTML)."""
    if value is None:
        return None
    return str(escape(str(value)))
