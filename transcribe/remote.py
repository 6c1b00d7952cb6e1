"""The worker's side of transcription on a cluster: load Whisper once, fetch, decode and transcribe one episode.

A task is one episode (`EpisodeTask`: plain data, the fetcher the driver configured and the
options); the worker fetches the enclosure itself, through that fetcher (the same URL policy,
address checks and size cap as the local path), into a temporary folder, and sends back an
`EpisodeResult`: the timed sentences, or why not. It never raises for an episode (a raised
error would stop the whole run), and never touches the knowledge base.
"""
from __future__ import annotations

import logging
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from kb.transcriptions import Episode

from transcribe.model import ModelSpec, load_whisper, pick_device, resolve_model
from transcribe.options import TranscribeOptions
from transcribe.speech import SAMPLE_RATE, AudioError, Checkpoint, Speech, decode, transcribe_samples

log = logging.getLogger(__name__)


@dataclass
class WorkerModel:
    """What a worker process keeps between episodes: the checkpoint it resolved and the loaded model."""

    spec: ModelSpec
    whisper: Any
    device: str
    compute_type: str


@dataclass
class EpisodeTask:
    """One episode for a worker: where its audio is, how to fetch it, and a checkpoint to go on from."""

    episode: Episode
    fetch: Callable[[Episode, Path], None]
    options: TranscribeOptions
    resume: dict[str, Any] | None = None  # a killed local run's checkpoint (kb.transcriptions.checkpoint)


@dataclass
class EpisodeResult:
    """A worker's answer: `speech`, or `error` with whether a later try may succeed."""

    document_id: int
    speech: Speech | None = None
    error: str | None = None
    kind: str | None = None  # "unavailable" (fetch), "audio" (not decodable) or "error" (anything else)
    retry: bool = False
    device: str = ""


def load_worker_model(options: TranscribeOptions) -> WorkerModel:
    """Resolve and load the configured checkpoint here (once per worker process); raises ModelError."""
    spec = resolve_model(options.model, options.model_sha256)
    device, compute_type = pick_device(options.device, options.compute_type)
    whisper = load_whisper(spec, device=device, compute_type=compute_type, cpu_threads=options.cpu_threads)
    return WorkerModel(spec, whisper, device, compute_type)


def installed_model_version(options: TranscribeOptions) -> str:
    """The version of the checkpoint `options` names on this machine (a worker must match the driver)."""
    return resolve_model(options.model, options.model_sha256).version


def transcribe_task(model: WorkerModel, task: EpisodeTask) -> EpisodeResult:
    """Fetch, decode and transcribe one episode on this worker; failures come back as data."""
    from transcribe.runner import AudioUnavailable, audio_path

    episode = task.episode
    where = f"{model.compute_type} on {model.device}"
    folder = Path(tempfile.mkdtemp(prefix="insightkb-audio-"))
    try:
        path = audio_path(folder, episode)
        task.fetch(episode, path)
        samples = decode(path)
        path.unlink(missing_ok=True)
        resume = Checkpoint.from_stored(task.resume) if task.resume else None
        speech = transcribe_samples(model.whisper, model.spec, samples, task.options, resume=resume)
        if resume is not None and abs(resume.audio_seconds - len(samples) / SAMPLE_RATE) < 0.01:
            speech.resumed_at = resume.resume_at
        return EpisodeResult(episode.document_id, speech=speech, device=where)
    except AudioUnavailable as exc:
        return EpisodeResult(episode.document_id, error=str(exc), kind="unavailable", retry=exc.retry, device=where)
    except AudioError as exc:
        return EpisodeResult(episode.document_id, error=str(exc), kind="audio", device=where)
    except Exception as exc:  # a decoder or model bug fails this episode, not the run
        log.exception("episode %s failed", episode.document_id)
        return EpisodeResult(episode.document_id, error=f"{type(exc).__name__}: {str(exc)[:200]}", kind="error",
                             retry=True, device=where)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
