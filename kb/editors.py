"""Editors who may curate in Datasette: names and PBKDF2 password hashes (never plain text)."""
from __future__ import annotations

import re
from typing import Any

import sqlite_utils
from datasette_auth_passwords.utils import hash_password, verify_password

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MIN_PASSWORD = 8


class BadEditor(ValueError):
    "The editor name or password is not acceptable"


def check_name(name: str) -> str:
    """`name` if it is a usable login (letters, digits, . _ -; at most 64), else BadEditor."""
    if not _NAME.match(name or ""):
        raise BadEditor(
            f"bad editor name {name!r}: use letters, digits, '.', '_' or '-' (at most 64, starting with a letter or digit)"
        )
    return name


def set_editor(db: sqlite_utils.Database, name: str, password: str) -> bool:
    """Create editor `name` or reset their password; True if the editor is new."""
    check_name(name)
    if len(password or "") < MIN_PASSWORD:
        raise BadEditor(f"password too short: at least {MIN_PASSWORD} characters")
    hashed = hash_password(password)
    with db.conn:
        exists = db.execute("SELECT 1 FROM editors WHERE name = ?", [name]).fetchone()
        if exists:
            db.execute(
                "UPDATE editors SET password_hash = ?, active = 1,"
                " updated_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE name = ?",
                [hashed, name],
            )
        else:
            db.execute("INSERT INTO editors (name, password_hash) VALUES (?, ?)", [name, hashed])
    return not exists


def deactivate_editor(db: sqlite_utils.Database, name: str) -> bool:
    """Stop `name` from logging in or curating; True if they existed."""
    with db.conn:
        cur = db.execute(
            "UPDATE editors SET active = 0, updated_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now') WHERE name = ?",
            [name],
        )
    return cur.rowcount > 0


def list_editors(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """Every editor: name, active, created_at, updated_at (no hashes)."""
    return list(db.query("SELECT name, active, created_at, updated_at FROM editors ORDER BY name"))


def active_password_hashes(db: sqlite_utils.Database) -> dict[str, str]:
    """{name: password_hash} for active editors: the accounts the login plugin accepts."""
    return {r[0]: r[1] for r in db.execute("SELECT name, password_hash FROM editors WHERE active = 1")}


def check_password(db: sqlite_utils.Database, name: str, password: str) -> bool:
    """True if `name` is an active editor whose password is `password`."""
    row = db.execute("SELECT password_hash FROM editors WHERE name = ? AND active = 1", [name]).fetchone()
    return bool(row) and verify_password(password, row[0])
