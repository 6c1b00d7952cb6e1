"""Small step functions the cluster tests send to workers (importable there through PYTHONPATH)."""
from __future__ import annotations

import os
import time
from typing import Any


def load_marker() -> dict[str, Any]:
    """A 'model': which process built it."""
    return {"pid": os.getpid()}


def echo(model: dict[str, Any], batch: list[int]) -> dict[str, Any]:
    """The batch back, with the process that ran it; a little work so batches overlap."""
    time.sleep(0.05)
    return {"pid": model["pid"], "items": list(batch)}


def worker_version() -> str:
    return "step 1.0"


def kill_own_process_on(model: dict[str, Any], batch: list[int]) -> dict[str, Any]:
    """Like `echo`, but a batch holding -1 kills the worker process running it (a poison batch)."""
    if -1 in batch:
        import signal

        os.kill(os.getpid(), signal.SIGKILL)
    return echo(model, batch)
