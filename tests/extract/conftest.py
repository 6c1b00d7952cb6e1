"""Fixtures for the extractor tests: one pipeline for the whole session."""
from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def nlp():
    from extract import build_nlp

    return build_nlp()
