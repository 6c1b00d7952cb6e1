"""insightkb: the composition root (CLI, configuration, scheduling) wiring ingest, extract, kb and digest."""
from __future__ import annotations

__version__ = "0.1.0"
