"""Ingest test helpers: sources on a fresh KB, a CLI runner, a loopback HTTP server."""
from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "ingest"


def _stub_missing_command_modules() -> None:
    """insightkb.cli registers every area's commands; on the ingest branch alone some areas
    (extract, digest, serve) may not exist yet, so stand in empty modules for them."""
    for name in ("extract", "digest", "serve", "demo"):
        full = f"insightkb.commands.{name}"
        if full in sys.modules:
            continue
        if importlib.util.find_spec(full) is None:
            module = types.ModuleType(full)
            module.COMMANDS = []
            sys.modules[full] = module


@pytest.fixture
def cli():
    _stub_missing_command_modules()
    from insightkb.cli import cli as group

    return group


@pytest.fixture
def add(db):
    """add(url, kind, **fields) -> stored Source."""
    from kb.records import Source
    from kb.sources import add_source

    def _add(url: str, kind: str = "rss", **fields):
        return add_source(db, Source(url=url, kind=kind, **fields))

    return _add


@pytest.fixture
def loopback_options():
    """IngestOptions for tests: loopback allowed per source, short timeouts."""
    from ingest import IngestOptions

    return IngestOptions(connect_timeout=2, read_timeout=2, total_timeout=10)
