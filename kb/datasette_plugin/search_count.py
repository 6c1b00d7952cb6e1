"""Match counts of a table page's full-text search, from the FTS5 index, started early and cached.

Datasette counts a search with `count(*) ... where rowid in (select rowid from fts ...)` (a
B-tree probe per match: slow on common words). The guard turns that off for search-only pages
and starts our count (the FTS index alone) as soon as the request arrives, so it runs in another
SQL thread while Datasette fetches the rows. Counts are cached per search, keyed on the FTS5
structure record (`<fts>_data` row 10), which SQLite rewrites on every change to the index: a
cached count is only used while the index is exactly as it was when it was counted.
"""
from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from collections import OrderedDict
from typing import Any

log = logging.getLogger(__name__)

STRUCTURE_ROWID = 10  # FTS5 keeps its segment structure (changed by every write) in this row
CACHE_SIZE = 256
_cache: OrderedDict[tuple[str, str, str], tuple[bytes, int]] = OrderedDict()
_lock = threading.Lock()


def forget_counts() -> None:
    """Drop every cached count (tests)."""
    with _lock:
        _cache.clear()


def count_matches(conn: sqlite3.Connection, path: str, fts_table: str, search: str) -> int:
    """Rows of `fts_table` matching `search` (escaped as Datasette does), cached per index state."""
    key = (path, fts_table, search)
    conn.execute("BEGIN")  # one read snapshot for the version and the count
    try:
        row = conn.execute(f"SELECT block FROM [{fts_table}_data] WHERE id = ?", [STRUCTURE_ROWID]).fetchone()
        version = bytes(row[0]) if row else b""
        with _lock:
            hit = _cache.get(key)
            if hit is not None and hit[0] == version:
                _cache.move_to_end(key)
                return hit[1]
        count = conn.execute(
            f"SELECT count(*) FROM [{fts_table}] WHERE [{fts_table}] MATCH escape_fts(?)", [search]).fetchone()[0]
    finally:
        conn.execute("COMMIT")
    with _lock:
        _cache[key] = (version, count)
        _cache.move_to_end(key)
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return count


def start_count(datasette, database: str, fts_table: str, search: str) -> asyncio.Future:
    """Begin counting in a Datasette SQL thread; the table page awaits the result later."""
    db = datasette.get_database(database)
    task = asyncio.ensure_future(db.execute_fn(lambda conn: count_matches(conn, db.path or database, fts_table, search)))
    task.add_done_callback(_log_failure)
    return task


def _log_failure(task: asyncio.Future) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("full-text match count failed: %s", task.exception())


async def match_count(scope: dict[str, Any], key: str) -> dict[str, Any]:
    """Template vars for the page: the count started by the guard (or nothing if it failed)."""
    try:
        return {"filtered_table_rows_count": await scope[key]}
    except Exception:  # the page still shows its rows; Datasette just shows no count
        return {}
