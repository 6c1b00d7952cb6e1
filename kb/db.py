"""Open the knowledge base (WAL mode) and apply numbered, idempotent migrations."""
from __future__ import annotations

import logging
import re
import sqlite3
from importlib import resources
from pathlib import Path

import sqlite_utils

from kb.topics import seed_topics

log = logging.getLogger(__name__)

_MIGRATION_NAME = re.compile(r"^(\d{3})_[a-z0-9_]+\.sql$")


def _migration_files() -> list[tuple[int, str, str]]:
    """(number, name, sql) for every migration shipped in kb/migrations, in order."""
    found = []
    for entry in resources.files("kb.migrations").iterdir():
        m = _MIGRATION_NAME.match(entry.name)
        if m:
            found.append((int(m.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    numbers = [n for n, _, _ in found]
    if len(numbers) != len(set(numbers)):
        raise RuntimeError(f"duplicate migration numbers in kb/migrations: {sorted(numbers)}")
    return sorted(found)


class MigrationFailed(Exception):
    "A migration could not be applied; nothing of it was kept"


SCHEMA_VERSION = max(n for n, _, _ in _migration_files())


def open_db(path: str | Path, *, migrate_schema: bool = True) -> sqlite_utils.Database:
    """Open (creating if needed) the KB at `path`, in WAL mode with foreign keys on."""
    path = Path(path)
    if path.parent and not path.parent.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), timeout=30, check_same_thread=False)
    db = sqlite_utils.Database(conn)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute("PRAGMA foreign_keys=ON")
    db.execute("PRAGMA busy_timeout=30000")
    if migrate_schema:
        migrate(db)
    return db


def database_file(db: sqlite_utils.Database) -> Path | None:
    """The file the KB lives in (None for an in-memory KB)."""
    for _seq, name, file in db.execute("PRAGMA database_list").fetchall():
        if name == "main":
            return Path(file) if file else None
    return None


def migrate(db: sqlite_utils.Database) -> list[str]:
    """Apply every migration not yet recorded in `schema_migrations`; return their names."""
    db.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
        " applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')))"
    )
    done = {row[0] for row in db.execute("SELECT version FROM schema_migrations").fetchall()}
    applied = []
    for number, name, sql in _migration_files():
        if number in done:
            continue
        log.info("applying migration %s", name)
        # One transaction per migration (SQLite DDL is transactional): a crash halfway
        # leaves nothing applied, so the migration simply runs again next time.
        try:
            db.conn.executescript(
                f"BEGIN;\n{sql}\n;INSERT INTO schema_migrations (version, name) VALUES ({number}, '{name}');\nCOMMIT;"
            )
        except sqlite3.Error as exc:
            if db.conn.in_transaction:
                db.conn.rollback()
            raise MigrationFailed(f"migration {name} failed: {exc}") from exc
        applied.append(name)
    seed_topics(db)
    return applied
