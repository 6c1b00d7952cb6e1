"""Fetch an episode's audio for `transcribe` through ingest's safe fetcher (transcribe never imports ingest)."""
from __future__ import annotations

from pathlib import Path

from insightkb.config import Settings


def audio_fetcher(settings: Settings):
    """A `fetch_audio(episode, dest)` for `transcribe.transcribe_pending`, with [ingest] and [transcribe] limits.

    Failures become `transcribe.AudioUnavailable`; `retry` is false when trying again cannot help
    (a URL the policy refuses, a refused address, too large, not audio, 4xx other than 408/429).
    The source's `--allow-private` covers its own origin (host and port) only, as for its feed.
    """
    from ingest.enclosures import download_enclosure
    from ingest.fetch import FetchError, RefusedAddress, origin
    from insightkb.settings_bridge import ingest_options
    from transcribe import AudioUnavailable

    options = ingest_options(settings)

    def fetch_audio(episode, dest: Path) -> None:
        own_origin = origin(episode.source_url) if episode.allow_private else None
        try:
            download_enclosure(episode.enclosure_url, dest, options, max_bytes=settings.transcribe.max_bytes,
                               total_timeout=settings.transcribe.download_timeout, allow_private_origin=own_origin)
        except FetchError as exc:
            message = str(exc)
            if "too large" in message or "byte cap" in message:
                message = f"enclosure too large: {message}"
            permanent = (isinstance(exc, RefusedAddress) or message.startswith(("refused", "unsupported", "enclosure too large",
                                                                                    "not audio", "empty enclosure"))
                         or (exc.status is not None and 400 <= exc.status < 500 and exc.status not in (408, 429)))
            raise AudioUnavailable(message, retry=not permanent) from None

    return fetch_audio
