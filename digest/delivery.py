"""Deliver a stored digest to every active subscriber exactly once, over SMTP or into the outbox.

Each (digest, subscriber) delivery row is committed before the send (pending, attempts + 1) and
after it (sent, or failed for a permanent 5xx), with a deterministic Message-ID. A rerun skips
sent and failed rows and sends the pending ones, so a crash or a second run never sends twice
and never skips anyone. Transient trouble (4xx, refused or dropped connections) is retried with
exponential backoff; if the server stays away, the rest is left pending for the next run.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import logging
import smtplib
import socket
import ssl
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import sqlite_utils

from digest.build import Personaliser
from digest.options import DigestOptions, SmtpOptions
from digest.outbox import atomic_write
from digest.render import message_id, reader_url, recipient, unsubscribe_url
from kb.locks import exclusive_job
from kb.digests import begin_delivery, delivery_states, mark_error, mark_sent, record_attempt
from kb.subscribers import Subscriber, ensure_nonce, list_subscribers, record_permanent_failure
from kb.tokens import make_unsubscribe_token

log = logging.getLogger(__name__)

#: Subscribers with this many permanent (5xx) failures get no more digests until re-added.
MAX_PERMANENT_FAILURES = 3
#: Weekly readers get the digest of this weekday (0 = Monday).
WEEKLY_ON = 0


class TransientError(Exception):
    "A failure worth retrying: 4xx reply, refused or dropped connection, timeout"

    def __init__(self, message: str, *, connection: bool = False) -> None:
        super().__init__(message)
        self.connection = connection


class PermanentError(Exception):
    "The server refused this message for good (5xx)"


class DeliveryAborted(Exception):
    "The SMTP configuration cannot work (authentication refused, no STARTTLS): nothing more is tried"


class DeliveryBusy(Exception):
    "Another process is delivering a digest from this KB right now"


def exclusive_run(db: sqlite_utils.Database) -> contextlib.AbstractContextManager[None]:
    """Hold `<kb>.delivery.lock` while delivering: one run per KB at a time."""
    return exclusive_job(db, "delivery", DeliveryBusy,
                         "a digest delivery is already running on this KB ({holder}); try again later")


@dataclass
class DeliveryReport:
    """What one `deliver_digest` run did."""

    digest_id: int
    date: str
    channel: str
    sent: int = 0
    already: int = 0
    failed: int = 0
    deferred: int = 0
    suppressed: int = 0
    held: int = 0  # paused readers, and weekly readers on another day
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"digest {self.date}: {self.sent} sent, {self.already} already delivered, {self.failed} failed, "
            f"{self.deferred} deferred, {self.suppressed} suppressed, {self.held} paused or weekly ({self.channel})"
        )


def _text(value: bytes | str) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


class SmtpTransport:
    """One SMTP connection, opened lazily and reused; errors classified transient or permanent."""

    def __init__(self, smtp: SmtpOptions) -> None:
        if not smtp.host:
            raise ValueError("SMTP host is not set")
        self.options = smtp
        self.conn: smtplib.SMTP | None = None

    @property
    def label(self) -> str:
        return f"smtp {self.options.host}:{self.options.port}"

    def _tls(self) -> ssl.SSLContext:
        """Verified TLS (certificate and host name), with an extra CA bundle if configured."""
        context = ssl.create_default_context()
        if self.options.ca_file:
            context.load_verify_locations(cafile=self.options.ca_file)
        return context

    def _open(self) -> smtplib.SMTP:
        """Connect, say EHLO, upgrade to TLS and log in; the socket is closed if any step fails."""
        o = self.options
        if o.ssl:
            conn: smtplib.SMTP = smtplib.SMTP_SSL(
                o.host, o.port, timeout=o.timeout, local_hostname=o.local_hostname, context=self._tls()
            )
        else:
            conn = smtplib.SMTP(o.host, o.port, timeout=o.timeout, local_hostname=o.local_hostname)
        try:
            conn.ehlo()
            if o.starttls and not o.ssl:
                if not conn.has_extn("starttls"):
                    raise DeliveryAborted(
                        f"{o.host}:{o.port} does not offer STARTTLS; set [smtp] starttls = false for a local relay"
                    )
                conn.starttls(context=self._tls())
                conn.ehlo()
            if o.username:
                conn.login(o.username, o.password or "")
        except BaseException:
            conn.close()
            raise
        return conn

    def _connect(self) -> smtplib.SMTP:
        """`_open`, with its failures sorted into aborting (configuration) and transient ones."""
        o = self.options
        if o.username and not (o.ssl or o.starttls) and o.host not in ("127.0.0.1", "::1", "localhost"):
            raise DeliveryAborted(
                f"refusing to send the SMTP password to {o.host} without TLS; set [smtp] starttls or ssl"
            )
        try:
            return self._open()
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryAborted(f"SMTP login refused: {exc.smtp_code} {_text(exc.smtp_error)}") from None
        except ssl.SSLCertVerificationError as exc:
            raise DeliveryAborted(
                f"cannot verify the TLS certificate of {o.host}:{o.port}: {exc.verify_message}") from None
        except smtplib.SMTPNotSupportedError as exc:
            raise DeliveryAborted(f"{o.host}:{o.port}: {exc}") from None
        except smtplib.SMTPResponseException as exc:
            raise TransientError(f"SMTP greeting: {exc.smtp_code} {_text(exc.smtp_error)}", connection=True) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise TransientError(f"cannot connect to {o.host}:{o.port}: {exc}", connection=True) from None

    def send(self, data: bytes, sender: str, to: str, name: str) -> None:
        if self.conn is None:
            self.conn = self._connect()
        try:
            self.conn.sendmail(sender, [to], data)
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = exc.recipients.get(to, (550, b"refused"))
            self._classify(code, text)
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code == 421:
                self.close()
            self._classify(exc.smtp_code, exc.smtp_error)
        except (smtplib.SMTPServerDisconnected, OSError, socket.timeout) as exc:
            self.close()
            raise TransientError(f"connection lost: {exc}", connection=True) from None

    def _classify(self, code: int, text: bytes | str) -> None:
        message = f"{code} {_text(text)}"
        if 400 <= code < 500:
            raise TransientError(message)
        raise PermanentError(message)

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.quit()
            except (OSError, smtplib.SMTPException):
                try:
                    self.conn.close()
                except OSError:
                    pass
            self.conn = None


class OutboxTransport:
    """Writes each subscriber's message to outbox/deliveries/<date>/<subscriber id>.eml."""

    def __init__(self, outbox: str | Path, date: str) -> None:
        self.folder = Path(outbox) / "deliveries" / date
        self.label = f"outbox {self.folder}"

    def send(self, data: bytes, sender: str, to: str, name: str) -> None:
        try:
            atomic_write(self.folder / f"{name}.eml", data)
        except OSError as exc:
            raise TransientError(f"cannot write to the outbox: {exc}", connection=True) from None

    def close(self) -> None:
        pass


def deliver_digest(
    db: sqlite_utils.Database,
    digest_id: int,
    options: DigestOptions,
    smtp: SmtpOptions | None,
    *,
    progress: Callable[[int], None] | None = None,
) -> DeliveryReport:
    """Send the digest to each active subscriber that has not had it: SMTP if given, else the outbox."""
    if not options.secret:
        raise ValueError("a secret is needed to sign unsubscribe links (kb.secrets.get_secret)")
    personal = Personaliser(db, digest_id, options)
    date = personal.day.isoformat()
    transport: SmtpTransport | OutboxTransport = (
        SmtpTransport(smtp) if smtp and smtp.host else OutboxTransport(options.outbox, date)
    )
    channel = "smtp" if isinstance(transport, SmtpTransport) else "outbox"
    report = DeliveryReport(digest_id, date, transport.label)
    sender = options.sender_address.addr_spec
    attempts = smtp.max_attempts if smtp and smtp.host else 3
    backoff = smtp.backoff_seconds if smtp and smtp.host else 0.1
    backoff_max = smtp.backoff_max if smtp and smtp.host else 1.0
    if not personal.has_items:
        report.errors.append("the digest has no items: nothing to send")
        log.info("digest %s has no items; nothing sent", date)
        return report
    with exclusive_run(db):
        return _deliver_all(db, personal, options, transport, channel, report, sender, date,
                            attempts, backoff, backoff_max, progress)


def _deliver_all(
    db: sqlite_utils.Database, personal: Personaliser, options: DigestOptions, transport, channel: str,
    report: DeliveryReport, sender: str, date: str, attempts: int, backoff: float, backoff_max: float,
    progress: Callable[[int], None] | None,
) -> DeliveryReport:
    """Deliver to every active subscriber without a sent or failed delivery, in id order."""
    subscribers = list(list_subscribers(db, active_only=True))
    states = delivery_states(db, report.digest_id)  # read once this run holds the lock
    try:
        for n, sub in enumerate(subscribers):
            state = states.get(sub.id)
            if state is not None and state["status"] in ("sent", "failed"):
                report.already += 1
                continue
            if sub.permanent_failures >= MAX_PERMANENT_FAILURES:
                report.suppressed += 1
                continue
            if sub.paused or (sub.frequency == "weekly" and dt.date.fromisoformat(date).weekday() != WEEKLY_ON):
                report.held += 1  # paused, or a weekly reader on another weekday: not a delivery
                continue
            outcome = _deliver_one(db, personal, options, transport, channel, sub, sender, date,
                                   attempts, backoff, backoff_max)
            if outcome == "sent":
                report.sent += 1
            elif outcome.startswith("failed"):
                report.failed += 1
                report.errors.append(f"{sub.email}: {outcome[8:]}")
            else:
                report.deferred += 1
                report.errors.append(f"{sub.email}: {outcome[9:]}")
                if outcome.startswith("deferred!"):
                    left = len(subscribers) - n - 1
                    log.warning("giving up for now, %d more left pending: %s", left, outcome[9:])
                    report.deferred += sum(
                        1 for s in subscribers[n + 1:]
                        if (states.get(s.id) or {}).get("status") not in ("sent", "failed")
                    )
                    break
            if progress:
                progress(1)
    except DeliveryAborted as exc:
        report.errors.append(str(exc))
        raise
    finally:
        transport.close()
    log.info(report.summary())
    return report


def _deliver_one(
    db: sqlite_utils.Database, personal: Personaliser, options: DigestOptions, transport, channel: str,
    sub: Subscriber, sender: str, date: str, attempts: int, backoff: float, backoff_max: float,
) -> str:
    """'sent', 'failed: why', 'deferred: why' or 'deferred!why' (the server is unreachable)."""
    msg_id = message_id(date, sub.id, options)
    row = begin_delivery(db, personal.digest["id"], sub.id, msg_id, channel)
    token = make_unsubscribe_token(options.secret, sub.id, ensure_nonce(db, sub))
    data = personal.template(sub.topics, personal.weights.get(sub.id)).message(
        to=recipient(sub.email, sub.name), msg_id=row["message_id"], unsubscribe=unsubscribe_url(options, token),
        reader=reader_url(options, token),
    )
    for attempt in range(1, attempts + 1):
        record_attempt(db, row["id"], channel)
        try:
            transport.send(data, sender, sub.email, f"s{sub.id}")
        except PermanentError as exc:
            mark_error(db, row["id"], str(exc), permanent=True)
            record_permanent_failure(db, sub.id, str(exc))
            log.warning("permanent failure for %s: %s", sub.email, exc)
            return f"failed: {exc}"
        except TransientError as exc:
            mark_error(db, row["id"], str(exc), permanent=False)
            if attempt == attempts:
                return ("deferred!" if exc.connection else "deferred:") + str(exc)
            delay = min(backoff_max, backoff * 2 ** (attempt - 1))
            log.info("transient failure for %s (attempt %d/%d), retrying in %.1fs: %s",
                     sub.email, attempt, attempts, delay, exc)
            time.sleep(delay)
            continue
        mark_sent(db, row["id"])
        return "sent"
    return "deferred: no attempt made"
