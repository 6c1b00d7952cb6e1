"""Helpers for the digest tests: a real SMTP server (aiosmtpd) on loopback, ports, options, polling."""
from __future__ import annotations

import asyncio
import socket
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller


SECRET = "test-secret-0123456789"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        return message_from_bytes(self.raw, policy=policy.default)


@dataclass
class RecordingHandler:
    """Accepts mail and records it; can hold the Nth message or refuse some recipients."""

    accepted: list[Received] = field(default_factory=list)
    arrived: int = 0
    hold_from: int | None = None  # the message number (1-based) from which DATA is held
    release: threading.Event = field(default_factory=threading.Event)
    reject: dict[str, str] = field(default_factory=dict)  # rcpt -> SMTP reply (e.g. "550 no such user")
    transient_once: set[str] = field(default_factory=set)  # rcpts that get one 451 first
    close_once: set[str] = field(default_factory=set)  # rcpts whose first DATA gets 421 + hang-up

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.reject:
            return self.reject[address]
        if address in self.transient_once:
            self.transient_once.discard(address)
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.arrived += 1
        hang_up = self.close_once & set(envelope.rcpt_tos)
        if hang_up:
            self.close_once -= hang_up
            server.transport.close()
            return "421 4.3.2 closing connection"
        if self.hold_from is not None and self.arrived >= self.hold_from:
            while not self.release.is_set():
                await asyncio.sleep(0.02)
            return "451 4.3.0 held by the test"
        self.accepted.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content or envelope.content))
        return "250 OK"

    def by_rcpt(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for r in self.accepted:
            for to in r.rcpt_tos:
                counts[to] = counts.get(to, 0) + 1
        return counts


class SmtpServer:
    """An aiosmtpd server on 127.0.0.1 that can be started late and stopped."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.handler = RecordingHandler()
        self.controller: Controller | None = None

    def start(self) -> "SmtpServer":
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


def smtp_options(port: int, **kw):
    from digest import SmtpOptions

    defaults = dict(host="127.0.0.1", port=port, starttls=False, timeout=10.0, max_attempts=6,
                    backoff_seconds=0.05, backoff_max=0.5)
    defaults.update(kw)
    return SmtpOptions(**defaults)


def wait_for(predicate, timeout: float = 20.0) -> bool:
    """Poll until predicate() is true (not a timing assertion: only a guard against hanging)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()
