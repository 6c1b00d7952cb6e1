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
