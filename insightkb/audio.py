"""Fetch an episode's audio for `transcribe` through ingest's safe fetcher (transcribe never imports ingest)."""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from insightkb.config import Settings


@dataclass(frozen=True)
class EnclosureFetcher:
    """`fetch_audio(episode, dest)` with the [ingest] fetch limits and [transcribe] size cap and timeout.

    Plain data, so a cluster run ships it to the workers, which fetch with the same URL policy,
    address checks and cap (it carries no secrets: the IMAP password is left out).
    """

    options: Any  # ingest.IngestOptions
    max_bytes: int
    download_timeout: float

    def __call__(self, episode, dest: Path) -> None:
        from ingest.enclosures import download_enclosure
        from ingest.fetch import FetchError, RefusedAddress, origin
        from transcribe import AudioUnavailable

        own_origin = origin(episode.source_url) if episode.allow_private else None
        try:
            download_enclosure(episode.enclosure_url, dest, self.options, max_bytes=self.max_bytes,
                               total_timeout=self.download_timeout, allow_private_origin=own_origin)
        except FetchError as exc:
            message = str(exc)
            if "too large" in message or "byte cap" in message:
                message = f"enclosure too large: {message}"
            permanent = (isinstance(exc, RefusedAddress) or message.startswith(("refused", "unsupported", "enclosure too large",
                                                                                    "not audio", "empty enclosure"))
                         or (exc.status is not None and 400 <= exc.status < 500 and exc.status not in (408, 429)))
            raise AudioUnavailable(message, retry=not permanent) from None


def audio_fetcher(settings: Settings) -> EnclosureFetcher:
    """A `fetch_audio(episode, dest)` for `transcribe.transcribe_pending`, with [ingest] and [transcribe] limits.

    Failures become `transcribe.AudioUnavailable`; `retry` is false when trying again cannot help
    (a URL the policy refuses, a refused address, too large, not audio, 4xx other than 408/429).
    The source's `--allow-private` covers its own origin (host and port) only, as for its feed.
    """
    from insightkb.settings_bridge import ingest_options

    options = replace(ingest_options(settings), imap_password=None)
    return EnclosureFetcher(options, settings.transcribe.max_bytes, settings.transcribe.download_timeout)
