"""A delivery run killed with SIGKILL after 2 of 5 subscribers, then restarted: 3 more, none twice."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from digest import build_digest, deliver_digest
from digest_kbdata import NOW
from digest_support import SECRET, smtp_options, wait_for
from kb.digests import delivery_counts
from kb.subscribers import add_subscriber

HERE = Path(__file__).resolve().parent
EMAILS = [f"reader{n}@example.org" for n in range(1, 6)]


def test_sigkill_after_two_of_five_then_restart_sends_the_other_three_once(seeded, kb_path, options, smtp_server):
    for email in EMAILS:
        add_subscriber(seeded, email)
    digest_id = build_digest(seeded, NOW.date(), options)
    handler = smtp_server.handler
    handler.hold_from = 3  # the third message is held at DATA, before the server accepts it

    child = subprocess.Popen(
        [sys.executable, str(HERE / "digest_child.py"), str(kb_path), str(smtp_server.port), SECRET,
         options.outbox, NOW.date().isoformat()],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        assert wait_for(lambda: handler.arrived >= 3 or child.poll() is not None, timeout=60), "child never sent"
        assert child.poll() is None, child.stderr.read().decode()
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == -signal.SIGKILL
    handler.release.set()
    assert wait_for(lambda: handler.arrived == 3)
    assert [r.rcpt_tos for r in handler.accepted] == [[EMAILS[0]], [EMAILS[1]]]
    # what the killed run left behind: two sent, one pending (tried, never confirmed)
    assert delivery_counts(seeded, digest_id) == {"sent": 2, "pending": 1}

    handler.hold_from = None
    report = deliver_digest(seeded, digest_id, options, smtp_options(smtp_server.port))
    assert (report.sent, report.already, report.deferred, report.failed) == (3, 2, 0, 0)
    assert handler.by_rcpt() == {email: 1 for email in EMAILS}
    ids = [r.message["Message-ID"] for r in handler.accepted]
    assert len(set(ids)) == 5
    assert delivery_counts(seeded, digest_id) == {"sent": 5}
    # and a third run sends nothing at all
    assert deliver_digest(seeded, digest_id, options, smtp_options(smtp_server.port)).sent == 0
    assert len(handler.accepted) == 5


def test_a_second_concurrent_run_refuses_and_sends_nothing(seeded, kb_path, options, smtp_server):
    from digest import DeliveryBusy

    for email in EMAILS:
        add_subscriber(seeded, email)
    digest_id = build_digest(seeded, NOW.date(), options)
    lock = f"{kb_path}.delivery.lock"
    holder = subprocess.Popen(  # another delivery run, alive, holding the KB's delivery lock
        [sys.executable, "-c",
         "import fcntl, sys, time; f = open(sys.argv[1], 'a+'); fcntl.flock(f, fcntl.LOCK_EX);"
         " f.write('pid %d' % __import__('os').getpid()); f.flush(); print('locked', flush=True); time.sleep(60)",
         lock],
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout.readline().strip() == b"locked"
        try:
            deliver_digest(seeded, digest_id, options, smtp_options(smtp_server.port))
        except DeliveryBusy as exc:
            assert f"pid {holder.pid}" in str(exc)
        else:
            raise AssertionError("a second run was allowed while another one is alive")
        assert smtp_server.handler.accepted == []
        assert seeded.execute("SELECT count(*) FROM deliveries").fetchone()[0] == 0
    finally:
        holder.kill()
        holder.wait(10)
    # the lock dies with its process (SIGKILL included): the next run goes ahead
    assert deliver_digest(seeded, digest_id, options, smtp_options(smtp_server.port)).sent == 5
