"""Editors as Datasette sees them: login accounts for datasette-auth-passwords, editor checks.

The `editors` table is private (Datasette's read connections cannot read it), so this module
reads it through its own read-only connection, caching the answer for a couple of seconds.
"""
from __future__ import annotations

import logging
import sqlite3
import threading
import time
from typing import Any

log = logging.getLogger(__name__)

CACHE_SECONDS = 2.0
_lock = threading.Lock()
_cache: dict[str, tuple[float, dict[str, str]]] = {}


def insightkb_config(datasette) -> dict[str, Any]:
    """Our plugin configuration, read from local metadata (not through the get_metadata hooks)."""
    return ((getattr(datasette, "_metadata_local", None) or {}).get("plugins") or {}).get("insightkb") or {}


def kb_file(datasette) -> str | None:
    """Path of the KB database Datasette serves (the one named in our plugin config, else the first file)."""
    config = insightkb_config(datasette)
    name = config.get("database")
    for db_name, db in datasette.databases.items():
        if db.path and (name is None or db_name == name):
            return db.path
    return None


def editor_hashes(datasette) -> dict[str, str]:
    """{name: password_hash} of active editors (empty when the KB has no editors table)."""
    path = kb_file(datasette)
    if not path:
        return {}
    now = time.monotonic()
    with _lock:
        hit = _cache.get(path)
        if hit and now - hit[0] < CACHE_SECONDS:
            return hit[1]
        try:
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
            try:
                rows = conn.execute("SELECT name, password_hash FROM editors WHERE active = 1").fetchall()
            finally:
                conn.close()
            accounts = {name: pw for name, pw in rows}
        except sqlite3.Error as exc:
            log.warning("cannot read editors from %s: %s", path, exc)
            accounts = {}
        _cache[path] = (now, accounts)
        return accounts


def forget_cache() -> None:
    """Drop cached accounts (tests and `editors add` while serving)."""
    with _lock:
        _cache.clear()


def login_config(datasette) -> dict[str, Any]:
    """datasette-auth-passwords configuration built from the editors table."""
    hashes = editor_hashes(datasette)
    config: dict[str, Any] = {f"{name}_password_hash": h for name, h in hashes.items()}
    config["actors"] = {name: {"id": name, "insightkb": "editor"} for name in hashes}
    return config


def is_editor(datasette, actor: dict[str, Any] | None) -> bool:
    """True if `actor` is an active editor right now (a removed editor's cookie stops working)."""
    if not actor or not isinstance(actor.get("id"), str):
        return False
    return actor["id"] in editor_hashes(datasette)
