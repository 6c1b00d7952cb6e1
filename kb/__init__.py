"""The insightkb knowledge base: SQLite schema, migrations and the read/write API.

`kb` imports nothing else of ours; `ingest`, `extract` and `digest` import only `kb`.
"""
from __future__ import annotations

from kb.db import open_db, migrate, SCHEMA_VERSION
from kb.records import Source, Document, Passage, Claim, TopicTag, Quantity, Entity

__all__ = [
    "open_db",
    "migrate",
    "SCHEMA_VERSION",
    "Source",
    "Document",
    "Passage",
    "Claim",
    "TopicTag",
    "Quantity",
    "Entity",
]
