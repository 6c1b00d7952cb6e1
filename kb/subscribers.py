"""Read and write `subscribers`: who gets the digest, on which topics, and their unsubscribe nonce."""
from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.errors import HeaderParseError
from typing import Any, Iterator

import sqlite_utils

_EMAIL = re.compile(r"^[^@\s<>()\[\],;:\"\\]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$")


class InvalidEmail(ValueError):
    "The address is not a plain user@domain e-mail address"


class UnknownTopic(ValueError):
    "A topic slug that is not in the taxonomy"


class UnknownSubscriber(LookupError):
    "No subscriber with that e-mail address or id"


@dataclass
class Subscriber:
    """One recipient of the digest."""

    id: int
    email: str
    name: str | None = None
    topics: list[str] = field(default_factory=list)
    confirmed: bool = True
    active: bool = True
    unsubscribe_token: str = ""  # the nonce inside the signed link; rotating it voids old links
    last_error: str | None = None
    permanent_failures: int = 0
    frequency: str = "daily"  # daily | weekly
    paused: bool = False
    created_at: str | None = None
    unsubscribed_at: str | None = None


def normalise_email(email: str) -> str:
    """`email` stripped, domain lower-cased; InvalidEmail unless it is a single plain address."""
    value = (email or "").strip()
    if not _EMAIL.match(value) or len(value) > 254:
        raise InvalidEmail(f"not a valid e-mail address: {email!r}")
    local, domain = value.rsplit("@", 1)
    try:
        Address(addr_spec=f"{local}@{domain.lower()}")
    except (HeaderParseError, ValueError, IndexError):
        raise InvalidEmail(f"not a valid e-mail address: {email!r}") from None
    return f"{local}@{domain}".lower()


def _row(row: dict[str, Any]) -> Subscriber:
    return Subscriber(
        id=row["id"],
        email=row["email"],
        name=row["name"],
        topics=json.loads(row["topics"] or "[]"),
        confirmed=bool(row["confirmed"]),
        active=bool(row["active"]),
        unsubscribe_token=row["unsubscribe_token"] or "",
        last_error=row["last_error"],
        permanent_failures=row.get("permanent_failures") or 0,
        frequency=row.get("frequency") or "daily",
        paused=bool(row.get("paused") or 0),
        created_at=row["created_at"],
        unsubscribed_at=row["unsubscribed_at"],
    )


def _check_topics(db: sqlite_utils.Database, topics: list[str]) -> list[str]:
    known = {r[0] for r in db.execute("SELECT slug FROM topics").fetchall()}
    wanted = sorted({t.strip() for t in topics if t and t.strip()})
    unknown = [t for t in wanted if t not in known]
    if unknown:
        raise UnknownTopic(f"unknown topic(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    return wanted


def add_subscriber(
    db: sqlite_utils.Database, email: str, *, name: str | None = None, topics: list[str] | None = None,
    confirmed: bool = True,
) -> Subscriber:
    """Add `email` (or re-activate it, with a fresh unsubscribe nonce); set its topics if given."""
    address = normalise_email(email)
    wanted = _check_topics(db, topics or [])
    nonce = secrets.token_urlsafe(16)
    with db.conn:
        row = db.execute("SELECT id, active FROM subscribers WHERE email = ?", [address]).fetchone()
        if row is None:
            db.execute(
                "INSERT INTO subscribers (email, name, topics, confirmed, active, unsubscribe_token)"
                " VALUES (?,?,?,?,1,?)",
                [address, name, json.dumps(wanted), int(confirmed), nonce],
            )
        else:
            sets = ["active = 1", "unsubscribed_at = NULL", "permanent_failures = 0", "last_error = NULL"]
            params: list[Any] = []
            if not row[1]:
                sets.append("unsubscribe_token = ?")
                params.append(nonce)
            if name is not None:
                sets.append("name = ?")
                params.append(name)
            if topics is not None:
                sets.append("topics = ?")
                params.append(json.dumps(wanted))
            db.execute(f"UPDATE subscribers SET {', '.join(sets)} WHERE id = ?", [*params, row[0]])
    return get_subscriber(db, address)


def get_subscriber(db: sqlite_utils.Database, key: int | str) -> Subscriber:
    """The subscriber with id or e-mail `key`."""
    if isinstance(key, int):
        rows = list(db.query("SELECT * FROM subscribers WHERE id = ?", [key]))
    else:
        try:
            key = normalise_email(key)
        except InvalidEmail:
            pass
        rows = list(db.query("SELECT * FROM subscribers WHERE email = ?", [key]))
    if not rows:
        raise UnknownSubscriber(f"no subscriber {key!r}")
    return _row(rows[0])


def remove_subscriber(db: sqlite_utils.Database, email: str, *, forget: bool = False) -> Subscriber:
    """Unsubscribe `email` (kept, inactive); with `forget`, delete it and its delivery records."""
    sub = get_subscriber(db, email)
    with db.conn:
        if forget:
            db.execute("DELETE FROM deliveries WHERE subscriber_id = ?", [sub.id])
            db.execute("DELETE FROM subscribers WHERE id = ?", [sub.id])
        else:
            db.execute(
                "UPDATE subscribers SET active = 0,"
                " unsubscribed_at = COALESCE(unsubscribed_at, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))"
                " WHERE id = ?",
                [sub.id],
            )
    sub.active = False
    return sub


def unsubscribe_with_nonce(db: sqlite_utils.Database, subscriber_id: int, nonce: str) -> Subscriber | None:
    """Deactivate the subscriber if `nonce` is its current one (from a verified token); else None."""
    rows = list(db.query("SELECT * FROM subscribers WHERE id = ?", [subscriber_id]))
    if not rows or not nonce or not secrets.compare_digest(rows[0]["unsubscribe_token"] or "", nonce):
        return None
    with db.conn:
        db.execute(
            "UPDATE subscribers SET active = 0,"
            " unsubscribed_at = COALESCE(unsubscribed_at, strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))"
            " WHERE id = ?",
            [subscriber_id],
        )
    sub = _row(rows[0])
    sub.active = False
    return sub


def list_subscribers(db: sqlite_utils.Database, *, active_only: bool = False) -> Iterator[Subscriber]:
    """Every subscriber (or only those who get the digest), oldest first."""
    where = "WHERE active = 1 AND confirmed = 1" if active_only else ""
    for row in db.query(f"SELECT * FROM subscribers {where} ORDER BY id"):
        yield _row(row)


def record_permanent_failure(db: sqlite_utils.Database, subscriber_id: int, error: str) -> None:
    """Note a permanent (5xx) delivery failure on the subscriber."""
    with db.conn:
        db.execute(
            "UPDATE subscribers SET last_error = ?, permanent_failures = permanent_failures + 1 WHERE id = ?",
            [error[:500], subscriber_id],
        )


def ensure_nonce(db: sqlite_utils.Database, subscriber: Subscriber) -> str:
    """The subscriber's unsubscribe nonce, created if a row was inserted without one."""
    if subscriber.unsubscribe_token:
        return subscriber.unsubscribe_token
    nonce = secrets.token_urlsafe(16)
    with db.conn:
        db.execute(
            "UPDATE subscribers SET unsubscribe_token = ? WHERE id = ? AND (unsubscribe_token IS NULL OR unsubscribe_token = '')",
            [nonce, subscriber.id],
        )
    subscriber.unsubscribe_token = get_subscriber(db, subscriber.id).unsubscribe_token
    return subscriber.unsubscribe_token


def reset_unsubscribe_nonces(db: sqlite_utils.Database) -> int:
    """Give every subscriber a new unsubscribe nonce, voiding every link already sent; returns how many."""
    ids = [r[0] for r in db.execute("SELECT id FROM subscribers").fetchall()]
    with db.conn:
        for subscriber_id in ids:
            db.execute("UPDATE subscribers SET unsubscribe_token = ? WHERE id = ?",
                       [secrets.token_urlsafe(16), subscriber_id])
    return len(ids)
