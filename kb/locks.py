"""One process at a time per KB and job: an flock on a file beside the KB (`<kb>.<job>.lock`)."""
from __future__ import annotations

import contextlib
import os
import socket
from typing import Iterator

import sqlite_utils

from kb.db import database_file

try:
    import fcntl
except ImportError:  # pragma: no cover - not on POSIX
    fcntl = None  # type: ignore[assignment]


@contextlib.contextmanager
def exclusive_job(db: sqlite_utils.Database, job: str, busy: type[Exception], message: str) -> Iterator[None]:
    """Hold `<kb>.<job>.lock` while the block runs; raise `busy(message)` when another process
    holds it (`{job}` and `{holder}` in the message are filled in).

    The operating system drops the lock when the process ends, however it ends (SIGKILL included),
    so a crashed run never blocks the next one. An in-memory KB needs no lock.
    """
    path = database_file(db)
    if path is None or fcntl is None:
        yield
        return
    with open(f"{path}.{job}.lock", "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            raise busy(message.format(job=job, holder=holder)) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()} on {socket.gethostname()}")
        fh.flush()
        try:
            yield
        finally:
            fh.seek(0)
            fh.truncate()
            fcntl.flock(fh, fcntl.LOCK_UN)
