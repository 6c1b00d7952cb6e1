"""Datasette plugin: the digest's web side (one plugin, entry point `insightkb_digest`).

- `GET  /-/digests`, `/-/digests/<YYYY-MM-DD>`, `/-/digests.atom`: the archive and its Atom feed
  (the same template as the outbox's `digests.atom`, linking to where this server is reached);
- `GET  /-/reader/<token>/feedback/<claim>/<more|less>`: a confirm page (link scanners only GET);
- `POST` the same: records the vote, which moves that reader's topic and source weights;
- `GET  /-/reader/<token>/preferences`: topics, daily or weekly, pause; `POST` saves them.

The token is the subscriber's signed link token (the one the unsubscribe link carries, signed
with the installation secret Datasette is given explicitly), checked against its nonce.
"""
from __future__ import annotations

import logging
from typing import Any

import sqlite_utils
from datasette import hookimpl
from datasette.utils.asgi import Response
from markupsafe import escape

from digest.options import DigestOptions
from digest.outbox import atom_feed
from kb.feedback import FREQUENCIES, preferences, record_feedback, save_preferences
from kb.unsubscribe import _kb, _page, _resolve, read_token
from kb.urls import scrub_rendered_links

log = logging.getLogger(__name__)

PREFIX = "/-/reader/"
_INVALID = ("This link is not valid", "<p>The link is incomplete or no longer valid. Use the links in your latest digest.</p>")
_VOTE_WORDS = {"more": "More like this", "less": "Less like this"}


async def _subscriber(request, datasette) -> tuple[Any, int] | None:
    db = await _kb(datasette)
    if db is None:
        return None
    parsed = read_token(datasette, db, request.url_vars.get("token", ""))
    sub = await db.execute_write_fn(lambda conn: _resolve(conn, parsed, unsubscribe=False))
    if sub is None or not sub["was_active"]:
        return None
    return db, sub["id"]


async def _form(request) -> dict[str, list[str]]:
    from urllib.parse import parse_qs

    body = (await request.post_body()).decode("utf-8", "replace")
    return parse_qs(body, keep_blank_values=True)


async def feedback(request, datasette) -> Response:
    """GET: confirm. POST: record the vote for this reader."""
    found = await _subscriber(request, datasette)
    vote = request.url_vars["vote"]
    claim_id = int(request.url_vars["claim"])
    if found is None:
        return _page(*_INVALID, status=404)
    db, subscriber_id = found
    here = escape(request.path)
    prefs = escape(request.path.rsplit("/feedback/", 1)[0] + "/preferences")
    if request.method != "POST":
        text = (await db.execute("SELECT text FROM claims WHERE id = ?", [claim_id])).rows
        if not text:
            return _page("No such insight", "<p>That insight is no longer in the knowledge base.</p>", status=404)
        return _page(
            f"{_VOTE_WORDS[vote]}?",
            f"<blockquote>{escape(text[0][0])}</blockquote>"
            f"<p>Your next digests will have {'more' if vote == 'more' else 'fewer'} insights on this topic and from this source.</p>"
            f'<form method="post" action="{here}"><button type="submit" id="confirm">{_VOTE_WORDS[vote]}</button></form>'
            f'<p><a href="{prefs}">Your preferences</a></p>',
        )
    try:
        moved = await db.execute_write_fn(
            lambda conn: record_feedback(sqlite_utils.Database(conn), subscriber_id, claim_id, vote))
    except LookupError:
        return _page("No such insight", "<p>That insight is no longer in the knowledge base.</p>", status=404)
    what = ", ".join(moved["topics"]) or "this kind of insight"
    return _page(
        "Thanks, noted",
        f"<p>You will see {'more' if vote == 'more' else 'less'} on {escape(what)}"
        f" and from {escape(moved['source'] or 'this source')}.</p><p><a href=\"{prefs}\">Your preferences</a></p>",
    )


async def preferences_page(request, datasette) -> Response:
    """GET: the form. POST: save topics, frequency and pause."""
    found = await _subscriber(request, datasette)
    if found is None:
        return _page(*_INVALID, status=404)
    db, subscriber_id = found
    note = ""
    if request.method == "POST":
        form = await _form(request)
        frequency = (form.get("frequency") or ["daily"])[0]
        if frequency not in FREQUENCIES:
            return _page("Not saved", "<p>Choose daily or weekly.</p>", status=400)
        await db.execute_write_fn(lambda conn: save_preferences(
            sqlite_utils.Database(conn), subscriber_id, topics=form.get("topic", []), frequency=frequency,
            paused=bool(form.get("paused"))))
        note = '<p class="saved" id="saved">Saved. Your next digest follows these choices.</p>'
    prefs = await db.execute_write_fn(lambda conn: preferences(sqlite_utils.Database(conn), subscriber_id))
    boxes = "".join(
        f'<label style="display:block;margin:4px 0"><input type="checkbox" name="topic" value="{escape(t["slug"])}"'
        f'{" checked" if t["slug"] in prefs["topics"] else ""}> {escape(t["label"])}</label>'
        for t in prefs["taxonomy"]
    )
    freq = "".join(
        f'<label style="margin-right:16px"><input type="radio" name="frequency" value="{f}"'
        f'{" checked" if prefs["frequency"] == f else ""}> {f.capitalize()}</label>' for f in FREQUENCIES
    )
    return _page(
        "Your digest preferences",
        f"{note}<p>For {escape(_mask(prefs['email']))}. No account needed: this page is yours through the link in your e-mail.</p>"
        f'<form method="post" action="{escape(request.path)}">'
        f"<h2 style='font-size:16px'>Topics</h2><p>Pick none for the day's top insights on every topic.</p>{boxes}"
        f"<h2 style='font-size:16px'>How often</h2><p>{freq}</p>"
        f'<p><label><input type="checkbox" name="paused" value="1"{" checked" if prefs["paused"] else ""}> Pause the digest for now</label></p>'
        '<button type="submit" id="save">Save</button></form>',
    )


def _mask(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:1]}{'•' * max(1, len(local) - 1)}@{domain}"


async def archive_page(request, datasette) -> Response:
    db = await _kb(datasette)
    rows = (await db.execute("SELECT html_body FROM digests WHERE date = ?", [request.url_vars["date"]])).rows if db else []
    if not rows:
        return _page("No digest for that date", "<p><a href='/-/digests'>All digests</a></p>", status=404)
    return Response.html(scrub_rendered_links(rows[0]["html_body"]))


async def archive_index(request, datasette) -> Response:
    db = await _kb(datasette)
    rows = (await db.execute("SELECT date, subject FROM digests ORDER BY date DESC LIMIT 365")).rows if db else []
    items = "".join(
        f'<li><a href="/-/digests/{escape(r["date"])}">{escape(r["date"])}</a>: {escape(r["subject"])}</li>'
        for r in rows
    ) or "<li>No digests yet.</li>"
    return _page("Digest archive", f'<p><a href="/-/digests.atom">Atom feed</a></p><ul>{items}</ul>')


async def archive_feed(request, datasette) -> Response:
    db = await _kb(datasette)
    options = DigestOptions(base_url=f"{request.scheme}://{request.host}")
    body = await db.execute_fn(lambda conn: atom_feed(sqlite_utils.Database(conn), options)) if db else \
        atom_feed_empty(options)
    return Response(body, content_type="application/atom+xml; charset=utf-8")


def atom_feed_empty(options: DigestOptions) -> str:
    from digest.render import render_feed

    return render_feed([], options, self_href=f"{options.base_url}/-/digests.atom", updated="1970-01-01T00:00:00Z")


@hookimpl
def register_routes(datasette):
    return [
        (r"^/-/digests/(?P<date>\d{4}-\d{2}-\d{2})$", archive_page),
        (r"^/-/digests/?$", archive_index),
        (r"^/-/digests\.atom$", archive_feed),
        (r"^/-/reader/(?P<token>[A-Za-z0-9_.\-]+)/feedback/(?P<claim>\d{1,12})/(?P<vote>more|less)$", feedback),
        (r"^/-/reader/(?P<token>[A-Za-z0-9_.\-]+)/preferences$", preferences_page),
    ]


@hookimpl
def skip_csrf(datasette, scope):
    """The signed link token is the proof for these forms (as for one-click unsubscribe)."""
    return scope.get("type") == "http" and scope.get("path", "").startswith(PREFIX)
