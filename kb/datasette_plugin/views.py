"""The editors' pages: curation queue, claim decisions, taxonomy. Permission is checked first."""
from __future__ import annotations

import json
import logging
import sqlite3
from typing import Any, Callable

import sqlite_utils
from datasette.utils.asgi import Forbidden, NotFound, Response
from markupsafe import Markup

from kb import curation
from kb.datasette_plugin.accounts import kb_file

log = logging.getLogger(__name__)

CLAIM_ACTIONS = ("approve", "reject", "reset", "stance", "add_topic", "remove_topic", "boost")
PAGE = 20


def kb_database(datasette):
    """The Datasette Database object of the KB."""
    path = kb_file(datasette)
    for db in datasette.databases.values():
        if db.path == path:
            return db
    raise NotFound("no knowledge base is being served")


async def require_editor(request, datasette) -> str:
    """The editor's name, or Forbidden (403) for anyone else."""
    if not await datasette.permission_allowed(request.actor, "insightkb-curate", default=False):
        if request.actor:
            raise Forbidden("Only editors may curate.")
        raise Forbidden("Only editors may curate: log in at /-/login")
    return request.actor["id"]


async def editor_page_refusal(request, datasette) -> Response | None:
    """For the editors' pages: None for an editor, else a 403 page with a link to log in."""
    if await datasette.permission_allowed(request.actor, "insightkb-curate", default=False):
        return None
    if request.actor:
        message = Markup("Only editors may curate. You are logged in as {}; <a href=\"{}\">log out</a>.").format(
            request.actor.get("id"), datasette.urls.path("/-/logout"))
    else:
        message = Markup('Only editors may curate: <a href="{}">log in</a> first.').format(
            datasette.urls.path("/-/login"))
    html = await datasette.render_template(
        "error.html", {"ok": False, "error": message, "status": 403, "title": "Editors only"}, request=request)
    return Response.html(html, status=403)


def _safe_next(value: str | None, default: str) -> str:
    """A same-site path to go back to after a form (never another host)."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return default


async def _read(datasette, fn: Callable[[sqlite_utils.Database], Any]) -> Any:
    return await kb_database(datasette).execute_fn(lambda conn: fn(sqlite_utils.Database(conn)))


async def _write(datasette, fn: Callable[[sqlite_utils.Database], Any]) -> Any:
    return await kb_database(datasette).execute_write_fn(lambda conn: fn(sqlite_utils.Database(conn)), block=True)


def _wants_json(request) -> bool:
    return "application/json" in (request.headers.get("accept") or "") or \
        (request.headers.get("content-type") or "").startswith("application/json")


async def _form(request) -> dict[str, str]:
    if (request.headers.get("content-type") or "").startswith("application/json"):
        try:
            data = json.loads((await request.post_body()) or b"{}")
        except json.JSONDecodeError:
            raise curation.BadCuration("the request body is not valid JSON") from None
        if not isinstance(data, dict):
            raise curation.BadCuration("the request body must be a JSON object")
        return {k: "" if v is None else str(v) for k, v in data.items()}
    return dict(await request.post_vars())


def apply_claim_action(db: sqlite_utils.Database, claim_id: int, actor: str, form: dict[str, str]) -> dict[str, Any]:
    """Run one editor action from a form on claim `claim_id`."""
    action = form.get("action", "")
    topic = form.get("topic", "")
    if action == "approve":
        return curation.approve(db, claim_id, actor)
    if action == "reject":
        return curation.reject(db, claim_id, actor)
    if action == "reset":
        return curation.reset(db, claim_id, actor)
    if action == "stance":
        return curation.set_stance(db, claim_id, topic, form.get("stance", ""), actor)
    if action == "add_topic":
        return curation.add_topic(db, claim_id, topic, actor, form.get("stance") or "neutral")
    if action == "remove_topic":
        return curation.remove_topic(db, claim_id, topic, actor)
    if action == "boost":
        return curation.boost(db, claim_id, form.get("value", ""), actor)
    raise curation.BadCuration(f"unknown action {action!r}: expected one of {', '.join(CLAIM_ACTIONS)}")


async def claim_action(request, datasette) -> Response:
    """POST /-/curation/claims/<id>: approve, reject, change stance, add/remove topic, boost."""
    actor = await require_editor(request, datasette)
    claim_id = int(request.url_vars["claim_id"])
    try:
        form = await _form(request)
        state = await _write(datasette, lambda db: apply_claim_action(db, claim_id, actor, form))
    except curation.UnknownClaim as exc:
        return _error(request, datasette, 404, exc.args[0])
    except sqlite3.OperationalError as exc:
        log.warning("curation write failed: %s", exc)
        return _error(request, datasette, 503, f"the knowledge base is busy ({exc}); nothing was changed, try again")
    except (curation.BadCuration, curation.UnknownTopic) as exc:
        return _error(request, datasette, 400, exc.args[0] if exc.args else str(exc))
    log.info("%s: %s claim %s", actor, form.get("action"), claim_id)
    if _wants_json(request):
        pending = await _read(datasette, lambda db: curation.pending_count(db, form.get("filter") or None))
        return Response.json({"ok": True, "claim_id": claim_id, "action": form.get("action"),
                              "claim": state, "pending": pending})
    datasette.add_message(request, f"Claim {claim_id}: {form.get('action')} saved.", datasette.INFO)
    return Response.redirect(_safe_next(form.get("next"), datasette.urls.path("/-/curation")))


async def undo_action(request, datasette) -> Response:
    """POST /-/curation/undo: undo the editor's last claim decision (once)."""
    actor = await require_editor(request, datasette)
    try:
        form = await _form(request)
        result = await _write(datasette, lambda db: curation.undo_last(db, actor))
    except curation.NothingToUndo as exc:
        return _error(request, datasette, 409, exc.args[0])
    except curation.UnknownClaim as exc:
        return _error(request, datasette, 404, exc.args[0])
    except sqlite3.OperationalError as exc:
        log.warning("curation undo failed: %s", exc)
        return _error(request, datasette, 503, f"the knowledge base is busy ({exc}); nothing was changed, try again")
    log.info("%s: undid %s on claim %s", actor, result["undid"], result["claim_id"])
    message = f"Claim {result['claim_id']}: {result['undid']} undone."
    if _wants_json(request):
        pending = await _read(datasette, lambda db: curation.pending_count(db, form.get("filter") or None))
        return Response.json({"ok": True, "message": message, "pending": pending, **result})
    datasette.add_message(request, message, datasette.INFO)
    return Response.redirect(_safe_next(form.get("next"), datasette.urls.path("/-/curation")))


def _error(request, datasette, status: int, message: str) -> Response:
    if _wants_json(request):
        return Response.json({"ok": False, "error": message}, status=status)
    datasette.add_message(request, message, datasette.ERROR)
    return Response.redirect(datasette.urls.path("/-/curation"))


async def queue_page(request, datasette) -> Response:
    """GET /-/curation: claims awaiting review, the extractor's least certain first."""
    refusal = await editor_page_refusal(request, datasette)
    if refusal:
        return refusal
    try:
        page = max(int(request.args.get("page") or 1), 1)
    except ValueError:
        page = 1
    topic = request.args.get("topic") or None

    def load(db: sqlite_utils.Database) -> dict[str, Any]:
        claims = curation.queue(db, limit=PAGE, offset=(page - 1) * PAGE, topic=topic)
        for c in claims:
            c["context"] = curation.claim_context(db, c["id"])
        return {"claims": claims, "pending": curation.pending_count(db, topic),
                "topics": curation_topics(db), "by_uncertainty": curation.has_topic_probability(db)}

    data = await _read(datasette, load)
    return Response.html(await datasette.render_template(
        "insightkb_curation_queue.html",
        {**data, "page": page, "page_size": PAGE, "topic": topic, "database": kb_database(datasette).name,
         "stances": curation.STANCES},
        request=request,
    ))


def curation_topics(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """The taxonomy by label, each topic's whole record (examples as editable lines)."""
    out = []
    for row in db.query("SELECT slug, label, description, proposition, pro, evaluative, valence, rising, examples"
                        " FROM topics ORDER BY label"):
        examples = json.loads(row["examples"]) if row["examples"] else []
        row["examples_text"] = "\n".join((f"{e['stance']}: " if e.get("stance") else "") + e["text"] for e in examples)
        out.append(row)
    return out


def topic_fields(form: dict[str, str]) -> dict[str, Any]:
    """The record fields of a topic form beside label and proposition: direction flags ("1"/"0",
    supports/opposes; absent: unchanged), examples (one a line, "opposes: ..." for a stance) and
    new phrase patterns (one a line)."""
    def flag(name: str) -> bool | None:
        value = form.get(name)
        return None if value is None or value == "" else value in ("1", "true", "on", "yes")

    return {"pro": form.get("pro") or None, "evaluative": flag("evaluative"), "valence": flag("valence"),
            "rising": form.get("rising"), "examples": form.get("examples"),
            "patterns": (form.get("patterns") or "").splitlines()}


async def taxonomy_page(request, datasette) -> Response:
    """GET /-/curation/taxonomy: topics, propositions and editor-added patterns."""
    refusal = await editor_page_refusal(request, datasette)
    if refusal:
        return refusal

    def load(db: sqlite_utils.Database) -> dict[str, Any]:
        return {"topics": curation_topics(db),
                "patterns": curation.patterns(db)}

    data = await _read(datasette, load)
    return Response.html(await datasette.render_template(
        "insightkb_curation_taxonomy.html", {**data, "database": kb_database(datasette).name}, request=request))


async def taxonomy_action(request, datasette) -> Response:
    """POST /-/curation/taxonomy: save a topic, add or remove a pattern."""
    actor = await require_editor(request, datasette)
    back = datasette.urls.path("/-/curation/taxonomy")
    try:
        form = await _form(request)
        action = form.get("action")
        if action == "save_topic":
            result: Any = await _write(datasette, lambda db: curation.save_topic(
                db, form.get("slug", "").strip(), form.get("label", ""), form.get("proposition", ""), actor,
                form.get("description"), **topic_fields(form)))
        elif action == "add_pattern":
            result = await _write(datasette, lambda db: curation.add_pattern(
                db, form.get("topic", ""), form.get("pattern", ""), actor, form.get("kind") or "phrase"))
        elif action == "remove_pattern":
            pid = int(form.get("id") or 0)
            result = await _write(datasette, lambda db: curation.remove_pattern(db, pid, actor))
        elif action in ("enable_pattern", "disable_pattern"):
            pid = int(form.get("id") or 0)
            result = await _write(datasette, lambda db: curation.set_pattern_active(
                db, pid, action == "enable_pattern", actor))
        else:
            raise curation.BadCuration(
                f"unknown action {action!r}: expected save_topic, add_pattern, remove_pattern,"
                " enable_pattern or disable_pattern")
    except (curation.BadCuration, curation.UnknownTopic, ValueError) as exc:
        message = exc.args[0] if exc.args else str(exc)
        if _wants_json(request):
            return Response.json({"ok": False, "error": message}, status=400)
        datasette.add_message(request, message, datasette.ERROR)
        return Response.redirect(back)
    if _wants_json(request):
        return Response.json({"ok": True, "result": result})
    datasette.add_message(request, f"{action.replace('_', ' ')}: saved.", datasette.INFO)
    return Response.redirect(back)


async def refuse_write_api(request, datasette) -> Response:
    """The Datasette 1.0-style JSON write API does not exist here: 403 for everyone."""
    return Response.json(
        {"ok": False, "errors": ["Permission denied: the knowledge base is read-only over this API;"
                                 " editors curate at /-/curation."]},
        status=403,
    )


async def claim_page_vars(request, datasette, database: str) -> dict[str, Any]:
    """Template variables for a claim's row page: paragraph, link, history, editor forms."""
    pks = request.url_vars.get("pks") or ""
    try:
        claim_id = int(pks)
    except ValueError:
        return {}

    def load(db: sqlite_utils.Database) -> dict[str, Any]:
        try:
            ctx = curation.claim_context(db, claim_id)
        except curation.UnknownClaim:
            return {}
        ctx["topics"] = list(db.query(
            "SELECT topic, stance, score, origin FROM claim_topics WHERE claim_id = ? ORDER BY topic", [claim_id]))
        history = curation.history(db, claim_id)
        for h in history:
            h["change"] = curation.describe_change(h["before"], h["after"])
        return {"insightkb_claim": ctx, "insightkb_history": history,
                "insightkb_topics": curation_topics(db)}

    data = await datasette.get_database(database).execute_fn(lambda conn: load(sqlite_utils.Database(conn)))
    if data:
        data["insightkb_is_editor"] = await datasette.permission_allowed(
            request.actor, "insightkb-curate", default=False)
        data["stances"] = curation.STANCES
    return data


async def search_count_vars(request, datasette, database: str) -> dict[str, Any]:
    """The match count of a search-only table page, from the FTS index (see guard.count_search_from_index)."""
    from kb.datasette_plugin.guard import FTS_COUNT_KEY
    from kb.datasette_plugin.search_count import match_count

    return await match_count(request.scope, FTS_COUNT_KEY)
