"""Transcribe: podcast episodes without a published transcript become timed sentence passages.

Pipeline step 3 (after ingest, before extract). The audio is fetched by a function the caller
passes in (insightkb wires ingest's safe fetcher), so this package imports only `kb`.
"""
from __future__ import annotations

from transcribe.model import DEFAULT_MODEL, ModelError, ModelSpec, resolve_model
from transcribe.options import TranscribeOptions
from transcribe.runner import AudioUnavailable, TranscribeBusy, TranscribeReport, transcribe_pending

__all__ = ["DEFAULT_MODEL", "ModelError", "ModelSpec", "resolve_model", "TranscribeOptions", "AudioUnavailable",
           "TranscribeBusy", "TranscribeReport", "transcribe_pending"]
