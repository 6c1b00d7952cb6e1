"""Security tests reuse the Datasette fixtures (a seeded KB with an editor) of tests/kb."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.kb.conftest import csrf, ds, editor_cookies, seeded  # noqa: F401  (fixtures)


def run_cli(kb: Path, *args: str, **kw) -> subprocess.CompletedProcess:
    """The real `insightkb` command line, as a separate process."""
    return subprocess.run([sys.executable, "-m", "insightkb", "--kb", str(kb), *args],
                          capture_output=True, text=True, timeout=180, **kw)


@pytest.fixture
def cli_run():
    return run_cli
