"""A real Dask cluster for the tests: `dask scheduler` and two `dask worker` processes on loopback."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import pytest

from tests.conftest import ROOT, free_port

DASK = Path(sys.executable).parent / "dask"


@dataclass
class LocalCluster:
    """The scheduler's address and dashboard, and the worker processes by name."""

    address: str
    dashboard: str
    scheduler: subprocess.Popen
    workers: dict[str, subprocess.Popen] = field(default_factory=dict)
    logs: Path | None = None

    def client(self):
        from distributed import Client

        return Client(self.address, timeout=30, set_as_default=False)


def _start(args: list[str], log: Path) -> subprocess.Popen:
    # Workers import the project as installed, plus tests/ (for the small tasks in tasks.py).
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(["nice", "-n", "5", str(DASK), *args], stdout=log.open("wb"), stderr=subprocess.STDOUT,
                            env=env, cwd=log.parent)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def local_cluster(tmp_path_factory) -> Iterator[LocalCluster]:
    """Scheduler plus two single-threaded workers, each its own process (no nanny: a killed worker stays dead)."""
    logs = tmp_path_factory.mktemp("dask")
    port, dash = free_port(), free_port()
    scheduler = _start(["scheduler", "--host", "127.0.0.1", "--port", str(port),
                        "--dashboard-address", f"127.0.0.1:{dash}"], logs / "scheduler.log")
    cluster = LocalCluster(f"tcp://127.0.0.1:{port}", f"http://127.0.0.1:{dash}", scheduler, logs=logs)
    try:
        for name in ("w1", "w2"):
            cluster.workers[name] = _start(["worker", cluster.address, "--nthreads", "1", "--no-nanny", "--name", name,
                                            "--no-dashboard"], logs / f"{name}.log")
        deadline = time.monotonic() + 90
        while True:
            try:
                client = cluster.client()
                break
            except OSError:
                if time.monotonic() > deadline or scheduler.poll() is not None:
                    raise RuntimeError((logs / "scheduler.log").read_text()[-2000:]) from None
                time.sleep(0.5)
        with client:
            client.wait_for_workers(2, timeout=90)
        yield cluster
    finally:
        for proc in cluster.workers.values():
            _stop(proc)
        _stop(scheduler)


@pytest.fixture(scope="module")
def nlp():
    """The extractor pipeline for the local reference runs."""
    from extract import build_nlp

    return build_nlp()
