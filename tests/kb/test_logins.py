"""Login throttle arithmetic on a real KB: free failures, doubling waits, the cap, success resets."""
from __future__ import annotations

import datetime as dt

from kb.logins import LoginPolicy, login_throttle, record_attempt

T0 = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.timezone.utc)
POLICY = LoginPolicy(per_account=3, per_address=10, delay=30, max_delay=120)


def fail(db, n: int, *, user: str = "alice", client: str = "10.0.0.1", start: dt.datetime = T0) -> dt.datetime:
    for i in range(n):
        record_attempt(db, user, client, succeeded=False, now=start + dt.timedelta(seconds=i))
    return start + dt.timedelta(seconds=n - 1)


def test_free_failures_then_doubling_waits_up_to_the_cap(db):
    last = fail(db, 2)
    assert login_throttle(db, "alice", "10.0.0.1", POLICY, now=last) is None
    last = fail(db, 1, start=last + dt.timedelta(seconds=1))
    wait = login_throttle(db, "alice", "10.0.0.1", POLICY, now=last)
    assert wait.reason == "account" and wait.seconds == 30
    assert wait.message == "Too many failed logins for this account; try again in 30 seconds."
    assert login_throttle(db, "alice", "10.0.0.1", POLICY, now=last + dt.timedelta(seconds=31)) is None
    last = fail(db, 1, start=last + dt.timedelta(seconds=31))
    assert login_throttle(db, "alice", "10.0.0.1", POLICY, now=last).seconds == 60
    last = fail(db, 5, start=last + dt.timedelta(seconds=61))
    assert login_throttle(db, "alice", "10.0.0.1", POLICY, now=last).seconds == 120  # capped
    assert login_throttle(db, "bob", "10.0.0.2", POLICY, now=last) is None  # others are not slowed


def test_throttled_attempts_do_not_lengthen_the_wait_and_success_resets(db):
    last = fail(db, 3)
    record_attempt(db, "alice", "10.0.0.1", succeeded=False, throttled=True, now=last + dt.timedelta(seconds=5))
    assert login_throttle(db, "alice", "10.0.0.1", POLICY, now=last + dt.timedelta(seconds=6)).seconds == 24
    record_attempt(db, "alice", "10.0.0.1", succeeded=True, now=last + dt.timedelta(seconds=40))
    assert login_throttle(db, "alice", "10.0.0.1", POLICY, now=last + dt.timedelta(seconds=41)) is None


def test_an_address_guessing_many_accounts_is_throttled(db):
    for i in range(10):
        record_attempt(db, f"user{i}", "10.0.0.9", succeeded=False, now=T0 + dt.timedelta(seconds=i))
    wait = login_throttle(db, "someone-new", "10.0.0.9", POLICY, now=T0 + dt.timedelta(seconds=10))
    assert wait.reason == "address" and "your address" in wait.message


def test_old_failures_expire(db):
    fail(db, 3)
    assert login_throttle(db, "alice", "10.0.0.1", POLICY, now=T0 + dt.timedelta(hours=25)) is None
