"""Fixtures for the extractor tests: one pipeline (rules alone, or as shipped) for the whole session."""
from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def nlp():
    """The rules alone: what the rule tests test."""
    from extract import build_nlp
    from extract.nlp import RULES_ONLY

    return build_nlp(model=RULES_ONLY)


@pytest.fixture(scope="session")
def shipped_nlp():
    """The pipeline as shipped: rules plus the learned heads of extract/models/."""
    from extract import build_nlp

    return build_nlp()
