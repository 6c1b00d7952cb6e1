"""Login attempts: the audit trail of failed logins and the throttle that slows password guessing.

After `per_account` failures for one account (or `per_address` from one client address) since
its last successful login, each further attempt must wait `delay` seconds after the last failure,
doubling with every further failure up to `max_delay` (`LoginPolicy`); until then the login
answers 429 without checking the password. Failures older than `WINDOW_HOURS` no longer count.
Every attempt is a row of the private `login_attempts` table.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

import sqlite_utils

WINDOW_HOURS = 24
MAX_NAME = 100


@dataclass(frozen=True)
class LoginPolicy:
    """How many failures are free, and how long the waits after them are (`[serve] login_*`)."""

    per_account: int = 5
    per_address: int = 20
    delay: float = 30.0
    max_delay: float = 900.0

    def as_config(self) -> dict[str, float]:
        return asdict(self)


@dataclass
class Throttle:
    """A login that must wait: how long, and whether the account or the address is the reason."""

    seconds: int
    reason: str  # "account" | "address"

    @property
    def message(self) -> str:
        what = "this account" if self.reason == "account" else "your address"
        return (f"Too many failed logins for {what}; try again in {self.seconds} second"
                f"{'' if self.seconds == 1 else 's'}.")


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"


def _parse(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def record_attempt(db: sqlite_utils.Database, username: str, client: str, *, succeeded: bool,
                   throttled: bool = False, user_agent: str | None = None,
                   now: dt.datetime | None = None) -> None:
    """Add one row to the audit trail."""
    at = _iso(now or dt.datetime.now(dt.timezone.utc))
    with db.conn:
        db.execute(
            "INSERT INTO login_attempts (at, username, client, succeeded, throttled, user_agent) VALUES (?,?,?,?,?,?)",
            [at, (username or "")[:MAX_NAME], client or "?", int(succeeded), int(throttled), (user_agent or "")[:200]],
        )


def _failures(db: sqlite_utils.Database, column: str, value: str, since: str) -> tuple[int, str | None]:
    """(failures after the last success, time of the last failure) for one account or address."""
    last_ok = db.execute(
        f"SELECT max(at) FROM login_attempts WHERE {column} = ? AND succeeded = 1 AND at >= ?", [value, since]
    ).fetchone()[0]
    start = max(since, last_ok or since)
    row = db.execute(
        f"SELECT count(*), max(at) FROM login_attempts WHERE {column} = ? AND succeeded = 0 AND throttled = 0"
        " AND at > ?",
        [value, start],
    ).fetchone()
    return row[0], row[1]


def login_throttle(db: sqlite_utils.Database, username: str, client: str,
                   policy: LoginPolicy = LoginPolicy(), now: dt.datetime | None = None) -> Throttle | None:
    """The wait imposed on a login for `username` from `client`, or None when it may go ahead."""
    now = now or dt.datetime.now(dt.timezone.utc)
    since = _iso(now - dt.timedelta(hours=WINDOW_HOURS))
    worst: Throttle | None = None
    for column, value, free, reason in (("username", (username or "")[:MAX_NAME], policy.per_account, "account"),
                                        ("client", client or "?", policy.per_address, "address")):
        count, last = _failures(db, column, value, since)
        if count < free or last is None:
            continue
        delay = min(policy.max_delay, policy.delay * 2 ** min(count - free, 30))
        wait = (_parse(last) + dt.timedelta(seconds=delay) - now).total_seconds()
        if wait > 0 and (worst is None or wait > worst.seconds):
            worst = Throttle(max(1, int(wait + 0.999)), reason)
    return worst


def recent_failures(db: sqlite_utils.Database, limit: int = 50) -> list[dict]:
    """The latest failed or throttled attempts, newest first (for `insightkb editors log`)."""
    return list(db.query(
        "SELECT at, username, client, throttled, user_agent FROM login_attempts WHERE succeeded = 0"
        " ORDER BY id DESC LIMIT ?", [limit]))
