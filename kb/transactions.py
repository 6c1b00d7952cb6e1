"""Transactions for writers: one commit for many documents, one savepoint per document.

A commit rewrites every page it touched (the claims, their full-text index, the Datasette
tables and counts kept by triggers), so a bulk writer such as extraction commits a batch of
documents at once with `write_batch`. Inside it, `atomic` gives each document a savepoint:
one that fails rolls back alone and the batch goes on. Outside a batch `atomic` is a plain
transaction, so the same store functions work for a single document.
"""
from __future__ import annotations

import itertools
from contextlib import contextmanager
from typing import Iterator

import sqlite_utils

_NAMES = itertools.count(1)


@contextmanager
def write_batch(db: sqlite_utils.Database) -> Iterator[None]:
    """Run the block in one transaction (committed at the end, rolled back on an exception).

    Keep the block to writes: the database is locked for other writers while it runs.
    Nested inside another transaction it becomes a savepoint of that transaction.
    """
    if db.conn.in_transaction:
        with atomic(db):
            yield
        return
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        db.conn.rollback()
        raise
    db.conn.commit()


@contextmanager
def atomic(db: sqlite_utils.Database) -> Iterator[None]:
    """All of the block's writes or none: a savepoint inside an open transaction, else a transaction."""
    conn = db.conn
    if not conn.in_transaction:
        with write_batch(db):
            yield
        return
    name = f"insightkb_{next(_NAMES)}"
    conn.execute(f"SAVEPOINT {name}")
    try:
        yield
    except BaseException:
        conn.execute(f"ROLLBACK TO {name}")
        conn.execute(f"RELEASE {name}")
        raise
    conn.execute(f"RELEASE {name}")
