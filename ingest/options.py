"""How ingest fetches: limits, timeouts, concurrency and backoff (mirrors insightkb's [ingest] settings)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class IngestOptions:
    """Options for one `ingest_sources` call; every field has a safe default."""

    max_bytes: int = 20 * 1024 * 1024  # per response, enforced on the decoded stream
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    max_redirects: int = 5
    allow_private: bool = False  # allow private/loopback/link-local addresses for every source
    concurrency: int = 16  # fetches in flight at once
    per_host: int = 2  # fetches in flight per host
    user_agent: str = "insightkb/0.1 (+https://github.com/insightkb/insightkb)"
    total_timeout: float = 120.0  # a whole fetch (all redirects, slow bodies) takes at most this
    backoff_base: int = 300  # seconds before the first retry after a failure; doubles each time
    backoff_cap: int = 86400  # the longest wait between retries
    respect_backoff: bool = True  # skip sources whose next_attempt_at is in the future
    near_duplicate_threshold: float = 0.8  # estimated Jaccard similarity that links two documents
    imap_password: str | None = None  # for imap(s):// sources; else INSIGHTKB_IMAP_PASSWORD
