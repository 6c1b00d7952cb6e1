"""Shared fixtures: a fresh KB file per test, free loopback ports, an output folder."""
from __future__ import annotations

import socket
from pathlib import Path

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
