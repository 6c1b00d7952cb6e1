"""The editors' Sources page in Datasette (/-/sources): add with the same one check as
`insightkb sources add`, pause, resume, refresh now, edit interval, tags and full text; each
source's state, last error, warning and next attempt. Editors only (403 for anyone else);
Datasette's CSRF token guards every form; every change is logged in `curation_log`.

A plugin of the composition root: adding and refreshing need `ingest`, the rows need `kb`.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any

from datasette import hookimpl
from datasette.utils.asgi import NotFound, Response

log = logging.getLogger(__name__)
ACTIONS = ("pause", "resume", "refresh", "edit")


def _kb_path(datasette) -> str:
    from kb.datasette_plugin.views import kb_database

    return kb_database(datasette).path


async def _editor(request, datasette) -> str:
    from kb.datasette_plugin.views import require_editor

    return await require_editor(request, datasette)


def _open(datasette):
    from kb import open_db

    return open_db(_kb_path(datasette), migrate_schema=False)


async def sources_page(request, datasette):
    await _editor(request, datasette)

    def rows() -> list[dict[str, Any]]:
        from insightkb.sourcing import source_row
        from kb.sources import document_counts, list_sources

        db = _open(datasette)
        try:
            counts = document_counts(db)
            return [source_row(s, counts.get(s.id, {})) for s in list_sources(db)]
        finally:
            db.conn.close()

    sources = await asyncio.to_thread(rows)
    return Response.html(await datasette.render_template("insightkb_sources.html", {"sources": sources},
                                                         request=request))


def _redirect(datasette, message: str, error: bool = False, request=None) -> Response:
    datasette.add_message(request, message, datasette.ERROR if error else datasette.INFO)
    return Response.redirect(datasette.urls.path("/-/sources"))


async def add_action(request, datasette):
    actor = await _editor(request, datasette)
    if request.method != "POST":
        return Response.redirect(datasette.urls.path("/-/sources"))
    url = ((await request.post_vars()).get("url") or "").strip()
    message, error = await asyncio.to_thread(_add, _kb_path(datasette), url, actor)
    return _redirect(datasette, message, error, request)


def _add(kb_path: str, url: str, actor: str) -> tuple[str, bool]:
    """Check `url` once (http(s) only from the browser; never private addresses) and store it."""
    from ingest.discover import SourceRefused, check_source
    from kb import open_db
    from kb.records import Source
    from kb.sources import add_source, find_source, log_source_action
    from kb.urls import link_refusal

    why = link_refusal(url)
    if why:
        return f"refused: {why}", True
    db = open_db(kb_path, migrate_schema=False)
    try:
        existing = find_source(db, url)
        if existing is not None:
            return f"already source {existing.id} ({existing.name}); edit it below", True
        try:
            checked = check_source(url)
        except SourceRefused as exc:
            return str(exc), True
        existing = find_source(db, checked.url)
        if existing is not None:
            return f"{url} advertises source {existing.id} ({existing.name}), already added", True
        saved = add_source(db, Source(url=checked.url, kind=checked.kind, title=checked.title,
                                      site_url=checked.site_url, description=checked.description))
        log_source_action(db, actor, "add", None, saved)
        via = f" (advertised by {url})" if checked.via else ""
        hint = "; most items are summaries: turn full text on below" if checked.mostly_short else ""
        return f"added source {saved.id}: {saved.kind} {saved.name!r}{via}, {checked.found}{hint}", False
    finally:
        db.conn.close()


async def source_action(request, datasette):
    actor = await _editor(request, datasette)
    if request.method != "POST":
        return Response.redirect(datasette.urls.path("/-/sources"))
    source_id = int(request.url_vars["source_id"])
    form = dict(await request.post_vars())
    action = form.get("action", "")
    if action not in ACTIONS:
        return _redirect(datasette, f"unknown action {action!r}", True, request)
    message, error = await asyncio.to_thread(_act, _kb_path(datasette), source_id, actor, action, form)
    return _redirect(datasette, message, error, request)


def _act(kb_path: str, source_id: int, actor: str, action: str, form: dict[str, str]) -> tuple[str, bool]:
    from ingest import IngestOptions, ingest_sources
    from insightkb.sourcing import interval_seconds
    from kb import open_db
    from kb.sources import (UnknownSource, edit_source, get_source, log_source_action, pause_source,
                            resume_source)

    db = open_db(kb_path, migrate_schema=False)
    try:
        try:
            before = get_source(db, source_id)
        except UnknownSource:
            raise NotFound(f"no source {source_id}") from None
        if action == "pause":
            after = pause_source(db, source_id)
        elif action == "resume":
            after = resume_source(db, source_id)
        elif action == "refresh":
            if before.state in ("paused", "removed", "gone"):
                return f"source {source_id} is {before.state}: resume it first", True
            report = ingest_sources(db, [before], IngestOptions(respect_backoff=False))[0]
            log_source_action(db, actor, "refresh", before, get_source(db, source_id))
            return report.summary(), bool(report.error)
        else:
            try:
                seconds = interval_seconds(form.get("interval") or "1h")
            except ValueError as exc:
                return str(exc), True
            config = dict(before.config)
            config.pop("adaptive_interval", None)
            if seconds is None:
                config["adaptive_interval"] = True
            tags = [t.strip() for t in (form.get("tags") or "").split(",") if t.strip()]
            after = edit_source(db, source_id, interval_seconds=seconds or before.interval_seconds, config=config,
                                tags=tags, full_text=form.get("full_text") == "on")
        log_source_action(db, actor, action, before, after)
        return f"source {source_id} ({after.name}): {action} done, now {after.state}", False
    finally:
        db.conn.close()


@hookimpl
def register_routes():
    return [
        (r"^/-/sources$", sources_page),
        (r"^/-/sources/add$", add_action),
        (r"^/-/sources/(?P<source_id>\d+)$", source_action),
    ]


@hookimpl
def menu_links(datasette, actor):
    async def inner():
        if await datasette.permission_allowed(actor, "insightkb-curate", default=False):
            return [{"href": datasette.urls.path("/-/sources"), "label": "Sources"}]
        return []

    return inner
