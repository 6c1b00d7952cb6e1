"""Write a digest to the outbox: a multipart `.eml`, the HTML archive (page + index) and an Atom feed."""
from __future__ import annotations

import datetime as dt
import logging
import os
import tempfile
from pathlib import Path

import sqlite_utils

from digest.options import DigestOptions
from digest.render import MessageTemplate, Rendered, message_id, render_archive_index, render_feed
from kb.digests import load_digest, recent_digests
from kb.urls import scrub_rendered_links

log = logging.getLogger(__name__)

FEED_ENTRIES = 30


def atomic_write(path: Path, data: bytes) -> None:
    """Write `data` to `path` via a temporary file and a rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_if_changed(path: Path, data: bytes) -> bool:
    """`atomic_write` unless the file already holds exactly `data`; True when it was written."""
    try:
        if path.read_bytes() == data:
            return False
    except OSError:
        pass
    atomic_write(path, data)
    return True


def _created(row: dict) -> dt.datetime:
    try:
        return dt.datetime.fromisoformat(row["created_at"].replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        return dt.datetime.now(dt.timezone.utc)


def atom_feed(db: sqlite_utils.Database, options: DigestOptions) -> str:
    """The Atom feed of the newest digests, linking to `options.base_url` (the one feed template)."""
    digests = recent_digests(db, limit=FEED_ENTRIES)
    full = {d["id"]: load_digest(db, d["id"]) for d in digests}
    base = options.base_url.rstrip("/")
    entries = [
        {
            "id": f"urn:insightkb:digest:{d['date']}",
            "title": d["subject"],
            "updated": _created(d).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "href": f"{base}/-/digests/{d['date']}",
            "summary": " ".join(full[d["id"]]["text_body"].split())[:400],
            "html": scrub_rendered_links(full[d["id"]]["html_body"]),
        }
        for d in digests
    ]
    updated = entries[0]["updated"] if entries else dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return render_feed(entries, options, self_href=f"{base}/-/digests.atom", updated=updated)


def write_outbox(db: sqlite_utils.Database, digest_id: int, options: DigestOptions) -> list[Path]:
    """Write the digest's `.eml`, its archive page, the archive index and the Atom feed; return the paths that changed."""
    row = load_digest(db, digest_id)
    outbox = Path(options.outbox)
    date = row["date"]
    html_body = scrub_rendered_links(row["html_body"])  # digests stored before the URL policy, too
    rendered = Rendered(row["subject"], row["text_body"], html_body)
    template = MessageTemplate(rendered, options, sent_at=_created(row), personal=False)
    eml = outbox / f"digest-{date}.eml"
    changed = []
    if write_if_changed(eml, template.message(to="undisclosed-recipients:;", msg_id=message_id(date, None, options))):
        changed.append(eml)
    page = outbox / "archive" / f"{date}.html"
    if write_if_changed(page, html_body.encode("utf-8")):
        changed.append(page)

    digests = recent_digests(db, limit=FEED_ENTRIES)
    index = outbox / "archive" / "index.html"
    if write_if_changed(index, render_archive_index(
        [{**d, "href": f"{d['date']}.html"} for d in digests], options, feed_href="../digests.atom"
    ).encode("utf-8")):
        changed.append(index)

    feed = outbox / "digests.atom"
    if write_if_changed(feed, atom_feed(db, options).encode("utf-8")):
        changed.append(feed)
    log.info("digest %s: %d file(s) changed in %s", date, len(changed), outbox)
    return changed
