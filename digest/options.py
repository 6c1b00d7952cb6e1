"""Option records for building and delivering the digest (filled from insightkb's settings)."""
from __future__ import annotations

from dataclasses import dataclass
from email.headerregistry import Address
from email.utils import parseaddr


@dataclass
class DigestOptions:
    """How the digest is chosen, rendered and where its files go."""

    send_at: str = "07:00"  # local time, HH:MM (used by the scheduler)
    timezone: str = "UTC"
    window_hours: int = 24  # candidates: claims published in the last window_hours before the day ends
    items: int = 5
    sender: str = "insightkb digest <digest@localhost>"
    outbox: str = "outbox"
    base_url: str = "http://127.0.0.1:8001"  # where `insightkb serve` is reachable, for links
    context_days: int = 7  # corroboration / disagreement look this far back
    novelty_digests: int = 14  # near-duplicates of the items of this many earlier digests are excluded
    pool_size: int = 100  # ranked candidates kept per digest for per-subscriber re-ranking
    fallback_limit: int = 2000  # older unsent claims considered on a quiet day
    max_candidates: int = 20000  # cap on the window's candidates (highest-confidence first)
    kb_name: str | None = None  # Datasette database name; default: the KB file's stem
    list_name: str = "insightkb daily digest"
    secret: str = ""  # signs unsubscribe tokens (kb.secrets.get_secret)

    @property
    def sender_address(self) -> Address:
        """The From address, parsed (a display name with a newline cannot leak into a header)."""
        name, addr = parseaddr(self.sender)
        if "@" not in addr:
            raise ValueError(f"digest sender is not an e-mail address: {self.sender!r}")
        username, domain = addr.rsplit("@", 1)
        return Address(display_name=" ".join(name.split()), username=username, domain=domain)


@dataclass
class SmtpOptions:
    """The SMTP server to send through; one connection is reused for all messages."""

    host: str | None = None
    port: int = 587
    username: str | None = None
    password: str | None = None
    starttls: bool = True
    ssl: bool = False
    timeout: float = 30.0
    max_attempts: int = 6  # per message, for transient errors (4xx, refused or dropped connection)
    backoff_seconds: float = 1.0  # first retry delay; doubles each time
    backoff_max: float = 60.0
    local_hostname: str | None = None
    ca_file: str | None = None  # extra CA bundle to verify the server's certificate (a private CA)
