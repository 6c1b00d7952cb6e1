"""What Datasette must never serve: subscribers' emails, deliveries, editors' password hashes.

Two layers: `permission_allowed` refuses the table pages, and a SQLite authorizer on every
connection Datasette reads through denies any read of those tables, so arbitrary SQL, views,
canned queries and dashboards cannot reach them either. Datasette's write connection (used
by trusted plugin code through `execute_write_fn`) is left alone.
"""
from __future__ import annotations

import sqlite3
import sys
from typing import Any

PRIVATE_TABLES = frozenset({"subscribers", "deliveries", "editors", "login_attempts", "reader_feedback", "reader_weights"})
# Tables that describe other tables' sizes or raw pages: `select sum(ncell) from dbstat where
# name='subscribers'`, `sqlite_stat1`'s row estimates, `sqlite_sequence`'s last ids and
# `sqlite_dbpage`'s raw pages would each tell what the private tables hold.
STORAGE_TABLES = frozenset({"dbstat", "sqlite_dbpage", "sqlite_stat1", "sqlite_stat2", "sqlite_stat3",
                            "sqlite_stat4", "sqlite_sequence"})
# Pragmas that measure the file (its size moves with every subscriber added) or walk all of it.
COUNTING_PRAGMAS = frozenset({"page_count", "freelist_count", "max_page_count", "stats", "integrity_check",
                              "quick_check", "cell_size_check"})
# Datasette views that read the database; every write path goes through /-/curation.
READ_ONLY_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def is_private(table: str | None) -> bool:
    """True for a table Datasette must never show."""
    return bool(table) and (table.lower() in PRIVATE_TABLES or table.lower() in STORAGE_TABLES)


def deny_private_reads(action: int, arg1: Any, arg2: Any, dbname: Any, source: Any) -> int:
    """SQLite authorizer: refuse any statement that reads a private table, or the storage tables
    and pragmas that would count one."""
    if action == sqlite3.SQLITE_READ and isinstance(arg1, str):
        name = arg1.lower()
        if name in PRIVATE_TABLES or name in STORAGE_TABLES:
            return sqlite3.SQLITE_DENY
    elif action == sqlite3.SQLITE_PRAGMA and isinstance(arg1, str) and arg1.lower() in COUNTING_PRAGMAS:
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


def called_for_write_connection() -> bool:
    """True when Datasette is preparing its (single, trusted) write connection.

    Datasette's `prepare_connection` hook is not told which kind of connection it gets, so we
    look at the caller: the write connection is opened in `Database._execute_writes` (threaded)
    or `Database.execute_write_fn` (non-threaded mode).
    """
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name in ("_execute_writes", "execute_write_fn"):
            return True
        frame = frame.f_back
    return False


def protect_connection(conn: sqlite3.Connection) -> None:
    """Install the authorizer on a read connection (and make reads faster while at it)."""
    if called_for_write_connection():
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA busy_timeout = 30000")  # wait out an extraction's write transaction
        return
    conn.execute("PRAGMA cache_size = -65536")
    conn.execute("PRAGMA mmap_size = 268435456")
    conn.execute("PRAGMA temp_store = MEMORY")
    conn.set_authorizer(deny_private_reads)


def quiet_private_tables(db: Any) -> None:
    """Keep Datasette from counting private tables (the authorizer would refuse it and Datasette
    would print an ERROR line per table at every start) and hide them from the index pages."""
    table_counts, hidden_table_names = db.table_counts, db.hidden_table_names

    async def counts_without_private(limit: int = 10) -> dict[str, int | None]:
        names = await db.table_names()
        if not any(is_private(n) for n in names):
            return await table_counts(limit)
        counts: dict[str, int | None] = {}
        for table in names:
            if is_private(table):
                continue
            try:
                counts[table] = (await db.execute(f"select count(*) from [{table}]",
                                                  custom_time_limit=limit)).rows[0][0]
            except Exception:  # QueryInterrupted and SQLite errors: Datasette shows "many rows"
                counts[table] = None
        return counts

    async def hidden_with_private() -> list[str]:
        hidden = await hidden_table_names()
        return hidden + [n for n in await db.table_names() if is_private(n) and n not in hidden]

    db.table_counts = counts_without_private
    db.hidden_table_names = hidden_with_private
