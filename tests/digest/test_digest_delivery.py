"""Delivery through a real SMTP server (aiosmtpd on loopback): exactly once, retries, failures."""
from __future__ import annotations

import threading

import pytest

from digest_support import SmtpServer, free_port, smtp_options, wait_for
from digest import DeliveryAborted, build_digest, deliver_digest
from digest_kbdata import NOW, Spec, add_claims
from kb.digests import delivery_counts
from kb.subscribers import add_subscriber, get_subscriber
from kb.tokens import read_unsubscribe_token

TODAY = NOW.date()
EMAILS = ["ada@example.org", "bob@example.org", "cy@example.org"]


def _token_of(msg) -> str:
    return str(msg["List-Unsubscribe"]).strip("<>").rsplit("/", 1)[1]


def subscribe(db, emails=EMAILS):
    return [add_subscriber(db, e, name=e.split("@")[0].title()) for e in emails]


def test_each_subscriber_gets_exactly_one_multipart_message(seeded, options, smtp_server):
    subs = subscribe(seeded)
    digest_id = build_digest(seeded, TODAY, options)
    report = deliver_digest(seeded, digest_id, options, smtp_options(smtp_server.port))
    assert (report.sent, report.already, report.failed, report.deferred) == (3, 0, 0, 0)
    assert smtp_server.handler.by_rcpt() == {e: 1 for e in EMAILS}
    for received, sub in zip(smtp_server.handler.accepted, subs):
        msg = received.message
        assert received.mail_from == "digest@insightkb.test"
        assert msg.get_content_type() == "multipart/alternative"
        assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
        assert msg.defects == [] and all(part.defects == [] for part in msg.walk())
        assert all(len(line) <= 998 for line in received.raw.split(b"\r\n"))
        head = received.raw.split(b"\r\n\r\n", 1)[0].decode("ascii").split("\r\n")
        raw_unsub = [line for line in head if line.startswith("List-Unsubscribe:")]
        assert raw_unsub == [f"List-Unsubscribe: <http://127.0.0.1:8001/-/unsubscribe/{_token_of(msg)}>"]
        assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in head
        assert f"Message-ID: <insightkb.digest.{TODAY}.s{sub.id}@insightkb.test>" in head
        assert "=?" not in "".join(line for line in head if not line.startswith(("Subject:", " ")))
        assert msg["To"].addresses[0].addr_spec == sub.email
        assert msg["From"].addresses[0].addr_spec == "digest@insightkb.test"
        assert msg["Subject"].startswith("Top 5 insights")
        assert msg["Message-ID"] == f"<insightkb.digest.{TODAY}.s{sub.id}@insightkb.test>"
        assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        url = msg["List-Unsubscribe"].strip("<>")
        assert url.startswith("http://127.0.0.1:8001/-/unsubscribe/")
        assert read_unsubscribe_token(options.secret, url.rsplit("/", 1)[1]) == (sub.id, sub.unsubscribe_token)
        assert url in msg.get_body(("html",)).get_content()
        assert url in msg.get_body(("plain",)).get_content()
        assert msg["Bcc"] is None and msg["Cc"] is None
    assert delivery_counts(seeded, digest_id) == {"sent": 3}


def test_second_run_sends_nothing(seeded, options, smtp_server):
    subscribe(seeded)
    digest_id = build_digest(seeded, TODAY, options)
    deliver_digest(seeded, digest_id, options, smtp_options(smtp_server.port))
    again = deliver_digest(seeded, build_digest(seeded, TODAY, options), options, smtp_options(smtp_server.port))
    assert (again.sent, again.already) == (0, 3)
    assert len(smtp_server.handler.accepted) == 3


def test_server_down_at_first_then_up_loses_nobody(seeded, options):
    subscribe(seeded)
    digest_id = build_digest(seeded, TODAY, options)
    server = SmtpServer(port=free_port())  # not listening yet: connection refused
    result = {}

    def run():
        result["report"] = deliver_digest(
            seeded, digest_id, options, smtp_options(server.port, max_attempts=12, backoff_seconds=0.1, backoff_max=1.0)
        )

    worker = threading.Thread(target=run)
    worker.start()
    try:
        assert wait_for(lambda: seeded.execute(
            "SELECT count(*) FROM deliveries WHERE last_error LIKE 'cannot connect%'").fetchone()[0] >= 1)
        server.start()
        worker.join(60)
        assert not worker.is_alive()
        report = result["report"]
        assert (report.sent, report.deferred) == (3, 0)
        assert server.handler.by_rcpt() == {e: 1 for e in EMAILS}
    finally:
        server.stop()


def test_server_never_up_leaves_everyone_pending_for_the_next_run(seeded, options):
    subscribe(seeded)
    digest_id = build_digest(seeded, TODAY, options)
    port = free_port()
    report = deliver_digest(seeded, digest_id, options, smtp_options(port, max_attempts=2, backoff_seconds=0.01))
    assert (report.sent, report.deferred, report.failed) == (0, 3, 0)
    assert delivery_counts(seeded, digest_id) == {"pending": 1}  # the others were not even tried
    server = SmtpServer(port=port).start()
    try:
        later = deliver_digest(seeded, digest_id, options, smtp_options(port))
        assert later.sent == 3
        assert server.handler.by_rcpt() == {e: 1 for e in EMAILS}
    finally:
        server.stop()


def test_transient_4xx_is_retried_and_permanent_5xx_recorded(seeded, options, smtp_server):
    subscribe(seeded)
    smtp_server.handler.transient_once.add("bob@example.org")
    smtp_server.handler.reject["cy@example.org"] = "550 5.1.1 no such user"
    digest_id = build_digest(seeded, TODAY, options)
    report = deliver_digest(seeded, digest_id, options, smtp_options(smtp_server.port))
    assert (report.sent, report.failed, report.deferred) == (2, 1, 0)
    assert smtp_server.handler.by_rcpt() == {"ada@example.org": 1, "bob@example.org": 1}
    cy = get_subscriber(seeded, "cy@example.org")
    assert cy.last_error.startswith("550") and cy.permanent_failures == 1
    attempts = dict(seeded.execute(
        "SELECT s.email, d.attempts FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id").fetchall())
    assert attempts == {"ada@example.org": 1, "bob@example.org": 2, "cy@example.org": 1}
    assert delivery_counts(seeded, digest_id) == {"sent": 2, "failed": 1}
    # a rerun neither retries the permanent failure nor resends
    assert deliver_digest(seeded, digest_id, options, smtp_options(smtp_server.port)).sent == 0


def test_injected_bcc_adds_no_header_and_no_recipient(db, options, smtp_server):
    add_claims(db, [Spec("A claim\r\nBcc: x@evil.example with a newline in it about latency.",
                         source="https://evil.example/feed", hours_ago=1, title="T\r\nBcc: x@evil.example",
                         topics=[("latency", "supports")])])
    add_subscriber(db, "ada@example.org", name="Ada\r\nBcc: x@evil.example")
    deliver_digest(db, build_digest(db, TODAY, options), options, smtp_options(smtp_server.port))
    [received] = smtp_server.handler.accepted
    assert received.rcpt_tos == ["ada@example.org"]
    head = received.raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    assert not any(line.lower().startswith(b"bcc:") for line in head)
    assert received.message["Bcc"] is None


def test_unsubscribed_get_nothing_and_topics_personalise(seeded, options, smtp_server):
    add_subscriber(seeded, "ada@example.org", topics=["latency"])
    add_subscriber(seeded, "gone@example.org")
    from kb.subscribers import remove_subscriber

    remove_subscriber(seeded, "gone@example.org")
    deliver_digest(seeded, build_digest(seeded, TODAY, options), options, smtp_options(smtp_server.port))
    [received] = smtp_server.handler.accepted
    text = received.message.get_body(("plain",)).get_content()
    first = text.split("\n1. ", 1)[1].split("\n", 2)
    assert first[0].startswith("For: low latency") and first[1].strip().startswith("Smaller fine-tuned models")
    assert "Picked for your topics: Latency (1 of 5); the rest are the day's top insights." in " ".join(text.split())


def test_starttls_required_but_not_offered_aborts_with_a_clear_error(seeded, options, smtp_server):
    subscribe(seeded)
    with pytest.raises(DeliveryAborted, match="does not offer STARTTLS"):
        deliver_digest(seeded, build_digest(seeded, TODAY, options), options,
                       smtp_options(smtp_server.port, starttls=True))
    assert smtp_server.handler.accepted == []


def test_outbox_delivery_without_smtp(seeded, options, tmp_path):
    subs = subscribe(seeded)
    digest_id = build_digest(seeded, TODAY, options)
    report = deliver_digest(seeded, digest_id, options, None)
    assert report.sent == 3
    files = sorted((tmp_path / "outbox" / "deliveries" / str(TODAY)).glob("*.eml"))
    assert [f.name for f in files] == [f"s{s.id}.eml" for s in subs]
    assert deliver_digest(seeded, digest_id, options, None).sent == 0


def test_missing_secret_is_a_clear_error(seeded, options, smtp_server):
    from dataclasses import replace

    subscribe(seeded)
    with pytest.raises(ValueError, match="secret"):
        deliver_digest(seeded, build_digest(seeded, TODAY, options), replace(options, secret=""), None)


def test_subscriber_whose_topics_are_quiet_gets_the_general_digest_and_is_told(seeded, options, smtp_server):
    add_subscriber(seeded, "ada@example.org", topics=["gpu-supply"])
    deliver_digest(seeded, build_digest(seeded, TODAY, options), options, smtp_options(smtp_server.port))
    [received] = smtp_server.handler.accepted
    text = received.message.get_body(("plain",)).get_content()
    assert "Nothing new on your topics (GPU supply) today" in " ".join(text.split())
    assert text.count("In the KB:") == 5


def test_dropped_connection_mid_run_reconnects_and_loses_nobody(seeded, options, smtp_server):
    subscribe(seeded)
    smtp_server.handler.close_once.add("bob@example.org")
    report = deliver_digest(seeded, build_digest(seeded, TODAY, options), options, smtp_options(smtp_server.port))
    assert (report.sent, report.deferred, report.failed) == (3, 0, 0)
    assert smtp_server.handler.by_rcpt() == {e: 1 for e in EMAILS}
    attempts = dict(seeded.execute(
        "SELECT s.email, d.attempts FROM deliveries d JOIN subscribers s ON s.id = d.subscriber_id").fetchall())
    assert attempts == {"ada@example.org": 1, "bob@example.org": 2, "cy@example.org": 1}
