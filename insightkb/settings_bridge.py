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

    values = asdict(settings.digest)
    values["base_url"] = public_base_url(settings)
    return DigestOptions(**values, secret=get_secret(Path(settings.kb), settings.serve.secret))


def public_base_url(settings: Settings) -> str:
    """Where readers reach the KB: `[digest] base_url` if set, else where `serve` listens."""
    if settings.digest.base_url:
        return settings.digest.base_url.rstrip("/")
    host = settings.serve.host
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{settings.serve.port}"


def loopback_warning(settings: Settings) -> str | None:
    """A warning when mail goes out over real SMTP but its links point at this machine only."""
    from urllib.parse import urlsplit
    import ipaddress

    if not settings.smtp.host:
        return None
    host = urlsplit(public_base_url(settings)).hostname or ""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost" or host.endswith(".localhost")
    if not loopback:
        return None
    return (f"warning: mail goes out through {settings.smtp.host}, but its links point at {public_base_url(settings)},"
            " which only this machine can open; set [digest] base_url to the public address")


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


def transcribe_resources(settings: Settings) -> dict[str, float] | None:
    """`[cluster] transcribe_resources` ("GPU=1, MEMORY=8e9") as Dask worker resources; None: any worker."""
    from insightkb.config import ConfigError

    wanted: dict[str, float] = {}
    for part in settings.cluster.transcribe_resources.replace(",", " ").split():
        name, _, amount = part.partition("=")
        try:
            wanted[name.strip()] = float(amount or 1)
        except ValueError:
            raise ConfigError(f"[cluster] transcribe_resources: {part!r} is not NAME=AMOUNT") from None
    return wanted or None
