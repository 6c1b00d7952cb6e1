"""The daily digest: rank the day's claims, render them (Jinja2, CSS inlined), deliver exactly once.

`digest` imports only `kb`; `insightkb` wires it to the CLI and the scheduler.
"""
from __future__ import annotations

import datetime

import sqlite_utils

from digest.build import build_digest
from digest.delivery import DeliveryAborted, DeliveryBusy, DeliveryReport, deliver_digest
from digest.options import DigestOptions, SmtpOptions
from digest.outbox import write_outbox
from digest.preview import preview_digest
from digest.ranking import WEIGHTS, Ranking, rank_claims

__all__ = [
    "DigestOptions",
    "SmtpOptions",
    "build_digest",
    "write_outbox",
    "deliver_digest",
    "DeliveryReport",
    "DeliveryAborted",
    "DeliveryBusy",
    "preview_digest",
    "rank_claims",
    "Ranking",
    "WEIGHTS",
    "run_daily_digest",
]


def run_daily_digest(
    db: sqlite_utils.Database, day: datetime.date, options: DigestOptions, smtp: SmtpOptions | None
) -> DeliveryReport:
    """What the scheduler runs each day: build (once), write the outbox, deliver (once per subscriber)."""
    digest_id = build_digest(db, day, options)
    write_outbox(db, digest_id, options)
    return deliver_digest(db, digest_id, options, smtp)
