"""Fetch and parse sources (feeds, podcasts with transcripts, email newsletters, web pages) into Documents.

Imports only `kb`. The entry point is `ingest_sources(db, sources, options)`.
"""
from __future__ import annotations

from ingest.options import IngestOptions
from ingest.pipeline import ingest_sources
from ingest.report import IngestReport

__all__ = ["IngestOptions", "IngestReport", "ingest_sources"]
