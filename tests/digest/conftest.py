"""Fixtures for the digest tests: seeded KBs, options, and a real SMTP server (aiosmtpd) on loopback."""
from __future__ import annotations

from pathlib import Path

import pytest

from digest_kbdata import SEED_SPECS, add_claims
from digest_support import SECRET, SmtpServer


@pytest.fixture
def smtp_server():
    server = SmtpServer().start()
    yield server
    server.handler.release.set()
    server.stop()


@pytest.fixture
def seeded(db):
    """A KB holding the seed-like claims (fresh, from three sources)."""
    add_claims(db, SEED_SPECS)
    return db


@pytest.fixture
def options(tmp_path: Path):
    from digest import DigestOptions

    return DigestOptions(secret=SECRET, outbox=str(tmp_path / "outbox"), sender="Insight Digest <digest@insightkb.test>")

