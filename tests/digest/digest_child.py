"""Run one delivery of today's digest in its own process (the crash test kills it with SIGKILL)."""
from __future__ import annotations

import datetime as dt
import sys

from digest import DigestOptions, SmtpOptions, build_digest, deliver_digest
from kb import open_db


def main(kb_path: str, port: str, secret: str, outbox: str, day: str) -> None:
    db = open_db(kb_path)
    options = DigestOptions(secret=secret, outbox=outbox, sender="Insight Digest <digest@insightkb.test>")
    smtp = SmtpOptions(host="127.0.0.1", port=int(port), starttls=False, timeout=60, max_attempts=1)
    report = deliver_digest(db, build_digest(db, dt.date.fromisoformat(day), options), options, smtp)
    print(report.summary(), flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
