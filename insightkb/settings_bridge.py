"""Turn insightkb Settings into the option records of ingest and digest (which never import us)."""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from insightkb.config import Settings


def ingest_options(settings: Settings):
    """`ingest.IngestOptions` from the [ingest] settings."""
    from ingest import IngestOptions

    return IngestOptions(**asdict(settings.ingest))


def digest_options(settings: Settings):
    """`digest.DigestOptions` from the [digest] settings plus the KB's secret."""
    from digest import DigestOptions
    from kb.secrets import get_secret

    return DigestOptions(**asdict(settings.digest), secret=get_secret(Path(settings.kb), settings.serve.secret))


def login_policy(settings: Settings):
    """`kb.logins.LoginPolicy` from the [serve] login_* settings."""
    from kb.logins import LoginPolicy

    s = settings.serve
    return LoginPolicy(per_account=s.login_failures_per_account, per_address=s.login_failures_per_address,
                       delay=s.login_delay, max_delay=s.login_max_delay)


def smtp_options(settings: Settings):
    """`digest.SmtpOptions` from [smtp], or None when no host is configured (outbox only)."""
    from digest import SmtpOptions

    if not settings.smtp.host:
        return None
    return SmtpOptions(**asdict(settings.smtp))


def transcribe_options(settings: Settings):
    """`transcribe.TranscribeOptions` from [transcribe]; the audio folder defaults to KB.audio beside the KB."""
    from transcribe import TranscribeOptions

    values = asdict(settings.transcribe)
    values.pop("job_max_minutes")
    values["audio_dir"] = values["audio_dir"] or str(Path(settings.kb).resolve()) + ".audio"
    return TranscribeOptions(**values)


def open_executor(settings: Settings):
    """A cluster executor for `[cluster] address` (None: run in this process).

    Raises `cluster.ClusterError` when the scheduler cannot be reached.
    """
    if not settings.cluster.address.strip():
        return None
    from cluster import open_executor as connect

    c = settings.cluster
    return connect(c.address, max_in_flight=c.max_in_flight, connect_timeout=c.connect_timeout,
                   wait_for_workers=c.wait_for_workers)
