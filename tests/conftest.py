"""Shared fixtures: a fresh KB file per test, free loopback ports, an output folder."""
from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Iterator

import pytest

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "tests" / "output"


@pytest.fixture
def kb_path(tmp_path: Path) -> Path:
    return tmp_path / "kb.db"


@pytest.fixture
def db(kb_path: Path):
    from kb import open_db

    database = open_db(kb_path)
    yield database
    database.conn.close()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def output_dir(request) -> Path:
    """tests/output/<test name>/ for screenshots and other artefacts worth keeping."""
    path = OUTPUT / request.node.name.replace("/", "_")
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def running_server(kb: Path, *, cwd: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """`insightkb serve` on a free loopback port as a real process; yields its base URL."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "insightkb", "--kb", str(kb), "serve", "--port", str(port)],
        cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while True:
            try:
                urllib.request.urlopen(base + "/-/versions.json", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    proc.kill()
                    raise AssertionError("insightkb serve did not start: " + proc.stdout.read().decode()[-2000:])
                time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)
