"""`transcribe_pending`: fetch, decode and transcribe each waiting episode, once, within a budget.

Every episode is claimed in its own commit, then its audio is fetched (by the caller's
`fetch_audio`, so this package never imports ingest), decoded and transcribed, and the result
stored in one transaction. A process killed anywhere leaves at worst a `running` row that the
next run takes up again (reusing audio already on disk); an episode that keeps killing its
process stops being retried after `max_attempts`. A bad episode never stops the others.

With an executor (`cluster.open_executor`), each episode is one task on a cluster worker, which
loads Whisper once, fetches the audio itself through the same fetcher (`transcribe.remote`) and
sends back timed sentences; this process claims, stores and records failures exactly as above.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import logging
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator
from urllib.parse import urlsplit

import sqlite_utils
from tqdm import tqdm

from kb.locks import exclusive_job
from kb.transcriptions import (Episode, checkpoint, episodes_to_transcribe, record_failure, record_unused,
                               save_progress, save_transcript, start_attempt)
from kb.urls import fetch_refusal

from transcribe.model import ModelSpec, load_whisper, pick_device, resolve_model
from transcribe.options import TranscribeOptions
from transcribe.passages import sentences_to_text
from transcribe.remote import EpisodeResult, EpisodeTask, installed_model_version, load_worker_model, transcribe_task
from transcribe.speech import SAMPLE_RATE, AudioError, Checkpoint, Speech, clock, decode, transcribe_samples

log = logging.getLogger(__name__)

AUDIO_EXTENSIONS = {".mp3", ".m4a", ".aac", ".ogg", ".oga", ".opus", ".wav", ".flac", ".mp4", ".m4v", ".webm", ".mpga"}
TRUNCATION_SLACK = 0.9  # decoded audio under 90% of the feed's duration (and 5 s short) is reported


class AudioUnavailable(Exception):
    "The enclosure could not be fetched; `retry` tells whether a later try may succeed"

    def __init__(self, message: str, *, retry: bool) -> None:
        super().__init__(message)
        self.retry = retry


FetchAudio = Callable[[Episode, Path], None]


class TranscribeBusy(Exception):
    "Another process is transcribing episodes of this KB right now"


def exclusive_run(db: sqlite_utils.Database) -> contextlib.AbstractContextManager[None]:
    """Hold `<kb>.transcribe.lock` while transcribing, so two runs never take the same episode."""
    return exclusive_job(db, "transcribe", TranscribeBusy,
                         "a transcribe run is already going on this KB ({holder}); nothing done")


@dataclass
class TranscribeReport:
    """What one `transcribe_pending` run did."""

    model: str = ""
    episodes: int = 0
    transcribed: int = 0
    not_english: int = 0
    no_speech: int = 0
    failed: int = 0
    deferred: int = 0  # left for a later run by the --max-minutes budget
    audio_seconds: float = 0.0
    transcribe_seconds: float = 0.0
    lines: list[str] = field(default_factory=list)
    cluster: str | None = None  # where the episodes ran, when not in this process

    @property
    def real_time_factor(self) -> float | None:
        """Seconds of audio per second of transcription (10 = ten times faster than real time)."""
        return self.audio_seconds / self.transcribe_seconds if self.transcribe_seconds else None

    def summary(self) -> str:
        speed = f", {self.real_time_factor:.1f}x real time" if self.real_time_factor else ""
        deferred = f", {self.deferred} left for the next run (budget)" if self.deferred else ""
        model = f" ({self.model})" if self.model else ""
        where = f"; {self.cluster}" if self.cluster else ""
        return (f"transcribe: {self.episodes} episodes, {self.transcribed} transcribed, {self.not_english} not English, "
                f"{self.no_speech} without speech, {self.failed} failed{deferred}; "
                f"{self.audio_seconds / 60:.1f} min of audio{speed}{model}{where}")


def is_audio_enclosure(episode: Episode) -> bool:
    """An enclosure worth transcribing: audio or video by MIME type, or by extension when the type says nothing."""
    mime = (episode.enclosure_type or "").lower()
    if mime.startswith(("audio/", "video/")):
        return True
    if mime and mime not in ("application/octet-stream", "binary/octet-stream"):
        return False
    return Path(urlsplit(episode.enclosure_url).path).suffix.lower() in AUDIO_EXTENSIONS


def enclosure_refusal(url: str) -> str | None:
    """Why an enclosure URL from a feed is never fetched, or None: the one URL policy (`kb.urls`)."""
    why = fetch_refusal(url)
    return f"refused enclosure: {why}" if why else None


def audio_path(audio_dir: Path, episode: Episode) -> Path:
    suffix = Path(urlsplit(episode.enclosure_url).path).suffix.lower()
    return audio_dir / f"episode-{episode.document_id}{suffix if suffix in AUDIO_EXTENSIONS else '.audio'}"


def transcribe_pending(
    db: sqlite_utils.Database,
    options: TranscribeOptions,
    fetch_audio: FetchAudio,
    *,
    audio_dir: Path,
    reprocess: bool = False,
    retry_failed: bool = False,
    document_ids: Iterable[int] | None = None,
    max_minutes: float | None = None,
    progress: bool = False,
    model: Any = None,
    executor: Any = None,
    resources: dict[str, float] | None = None,
) -> TranscribeReport:
    """Transcribe the episodes waiting for it (see module docstring); never raises for one episode.

    `max_minutes` (default `options.max_minutes`) bounds the audio of one run: an episode whose
    known length would pass it waits for the next run, except the first, which always runs.
    Raises `transcribe.ModelError` when the configured model is missing or fails its checksum, and
    `TranscribeBusy` when another process is transcribing for the same KB.

    With an `executor`, episodes run on its workers (`resources`, e.g. {"GPU": 1}: only on workers
    started with them); `fetch_audio` then runs there, so it must pickle (`insightkb.audio`'s does).
    A lost cluster raises `cluster.ClusterError`: stored episodes stay stored, those in flight stay
    `running` and the next run takes them up.
    """
    spec = resolve_model(options.model, options.model_sha256)
    with exclusive_run(db):
        return _run(db, spec, options, fetch_audio, audio_dir, reprocess, retry_failed, document_ids, max_minutes,
                    progress, model, executor, resources)


def _run(db, spec: ModelSpec, options: TranscribeOptions, fetch_audio: FetchAudio, audio_dir: Path, reprocess: bool,
         retry_failed: bool, document_ids, max_minutes: float | None, progress: bool, model: Any, executor: Any,
         resources: dict[str, float] | None) -> TranscribeReport:
    device, compute_type = pick_device(options.device, options.compute_type)
    report = TranscribeReport(model=f"{spec.label}, {compute_type} on {device}")
    episodes = [e for e in episodes_to_transcribe(db, model_version=spec.version, reprocess=reprocess,
                                                  retry_failed=retry_failed, document_ids=document_ids)
                if is_audio_enclosure(e)]
    if not episodes:
        return report
    budget = (max_minutes if max_minutes is not None else options.max_minutes)
    budget_seconds = budget * 60 if budget is not None else None
    known = sum(e.duration_seconds or 0 for e in episodes)
    bar = tqdm(total=known / 60, unit="min", desc="transcribe", disable=not progress, leave=False,
               bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.1f}/{total:.1f} min of audio [{elapsed}<{remaining}]")
    if executor is not None:
        try:
            _run_on(executor, db, spec, options, fetch_audio, episodes, budget_seconds, report, bar, progress, resources)
        finally:
            bar.close()
            report.cluster = executor.summary()
        return report
    whisper = model or load_whisper(spec, device=device, compute_type=compute_type, cpu_threads=options.cpu_threads)
    used = 0.0
    try:
        for episode in episodes:
            if _over_budget(budget_seconds, used, episode):
                report.deferred += 1
                continue
            report.episodes += 1
            line, seconds = _one(db, episode, spec, whisper, options, fetch_audio, audio_dir, report, bar)
            used += seconds
            report.lines.append(line)
            if progress:
                bar.write(line)
    finally:
        bar.close()
    return report


def _over_budget(budget_seconds: float | None, used: float, episode: Episode) -> bool:
    """Whether `episode` waits for the next run: the first always runs, then known lengths count."""
    return budget_seconds is not None and used > 0 and (
        used >= budget_seconds or used + (episode.duration_seconds or 0) > budget_seconds)


def _name(episode: Episode) -> str:
    return f"[{episode.document_id}] {(episode.title or episode.enclosure_url)[:80]}"


def _claim(db, episode: Episode, spec: ModelSpec, options: TranscribeOptions, report: TranscribeReport) -> tuple[int, str | None]:
    """Claim `episode` (one more attempt); returns the attempt and, when it is not to be tried, its outcome line."""
    attempt = start_attempt(db, episode, model=spec.name, model_version=spec.version)
    if episode.status == "running" and attempt > options.max_attempts:
        reason = f"the process died during transcription {attempt - 1} times; not retried (use --retry-failed)"
        record_failure(db, episode.document_id, reason, retry_at=None)
        report.failed += 1
        return attempt, f"{_name(episode)}: failed: {reason}"
    return attempt, None


def _one(db, episode: Episode, spec: ModelSpec, whisper: Any, options: TranscribeOptions, fetch_audio: FetchAudio,
         audio_dir: Path, report: TranscribeReport, bar: tqdm) -> tuple[str, float]:
    """Transcribe one episode; returns its one-line outcome and the audio seconds it used."""
    name = _name(episode)
    attempt, given_up = _claim(db, episode, spec, options, report)
    if given_up:
        return given_up, 0.0
    path = audio_path(audio_dir, episode)
    done_seconds = 0.0
    try:
        refusal = enclosure_refusal(episode.enclosure_url)
        if refusal:
            raise AudioUnavailable(refusal, retry=False)
        if not path.exists():
            fetch_audio(episode, path)
        samples = decode(path)
        seconds = len(samples) / SAMPLE_RATE
        if not episode.duration_seconds:
            bar.total = (bar.total or 0) + seconds / 60
        shown = [0.0]

        def advance(at: float) -> None:
            step = max(0.0, min(at, seconds) - shown[0])
            shown[0] += step
            bar.update(min(step / 60, max(0.0, (bar.total or 0) - bar.n)))

        stored = checkpoint(db, episode.document_id, spec.version)
        resume = Checkpoint.from_stored(stored) if stored else None

        def save(point: Checkpoint) -> None:
            save_progress(db, episode.document_id, segments=[s.as_dict() for s in point.sentences],
                          resume_at=point.resume_at, progress=point.progress())

        speech = transcribe_samples(whisper, spec, samples, options, on_progress=advance, resume=resume, on_chunk=save)
        if resume is not None and abs(resume.audio_seconds - seconds) < 0.01:
            speech.resumed_at = resume.resume_at
        del samples
        advance(seconds)
        done_seconds = seconds
        report.audio_seconds += seconds
        report.transcribe_seconds += speech.seconds
        return _store(db, episode, spec, speech, report, name), seconds
    except AudioUnavailable as exc:
        retry_at = _retry_at(options, attempt) if exc.retry and attempt < options.max_attempts else None
        return _failed(db, episode, report, name, str(exc), retry_at), done_seconds
    except AudioError as exc:
        return _failed(db, episode, report, name, str(exc), None), done_seconds
    except Exception as exc:  # a decoder or model bug must not stop the other episodes
        log.exception("episode %s failed", episode.document_id)
        retry_at = _retry_at(options, attempt) if attempt < options.max_attempts else None
        return _failed(db, episode, report, name, f"{type(exc).__name__}: {str(exc)[:200]}", retry_at), done_seconds
    finally:
        if not options.keep_audio:
            path.unlink(missing_ok=True)


def _run_on(executor: Any, db, spec: ModelSpec, options: TranscribeOptions, fetch_audio: FetchAudio,
            episodes: list[Episode], budget_seconds: float | None, report: TranscribeReport, bar: tqdm, progress: bool,
            resources: dict[str, float] | None) -> None:
    """Each episode one task on the executor's workers, at most its `max_in_flight` out at once.

    Episodes are claimed as the executor asks for the next task (so only those in flight are
    `running`); the budget counts finished audio plus the known length of those in flight. A
    result is stored once per episode, whatever the cluster ran twice.
    """
    claimed: dict[int, tuple[str, int, float]] = {}  # document id -> (name, attempt, known seconds), in flight
    finished: set[int] = set()
    devices: set[str] = set()
    used = [0.0]

    def emit(line: str) -> None:
        report.lines.append(line)
        if progress:
            bar.write(line)

    def tasks() -> Iterator[EpisodeTask]:
        for episode in episodes:
            if _over_budget(budget_seconds, used[0] + sum(c[2] for c in claimed.values()), episode):
                report.deferred += 1
                continue
            report.episodes += 1
            attempt, given_up = _claim(db, episode, spec, options, report)
            if given_up:
                emit(given_up)
                continue
            refusal = enclosure_refusal(episode.enclosure_url)  # never sent to a worker
            if refusal:
                emit(_failed(db, episode, report, _name(episode), refusal, None))
                continue
            claimed[episode.document_id] = (_name(episode), attempt, episode.duration_seconds or 0.0)
            yield EpisodeTask(episode, fetch_audio, options, checkpoint(db, episode.document_id, spec.version))

    outcomes = executor.map(transcribe_task, tasks(), name="insightkb-transcribe",
                            key=f"transcribe-{spec.version}-{options.device}-{options.compute_type}-{options.cpu_threads}",
                            load=partial(load_worker_model, options), version=partial(installed_model_version, options),
                            expected=spec.version, resources=resources)
    for outcome in outcomes:
        task: EpisodeTask = outcome.batch
        episode = task.episode
        if episode.document_id in finished or episode.document_id not in claimed:
            continue  # a second answer for the same episode
        finished.add(episode.document_id)
        name, attempt, _known = claimed.pop(episode.document_id)
        result: EpisodeResult | None = outcome.result
        if outcome.error or result is None:
            retry_at = _retry_at(options, attempt) if attempt < options.max_attempts else None
            emit(_failed(db, episode, report, name, outcome.error or "no result from the cluster", retry_at))
            continue
        devices.add(result.device)
        if result.speech is None:
            may_pass = result.retry and result.kind != "audio" and attempt < options.max_attempts
            emit(_failed(db, episode, report, name, result.error or "unknown error",
                         _retry_at(options, attempt) if may_pass else None))
            continue
        speech = result.speech
        seconds = speech.audio_seconds
        used[0] += seconds
        report.audio_seconds += seconds
        report.transcribe_seconds += speech.seconds
        if not episode.duration_seconds:
            bar.total = (bar.total or 0) + seconds / 60
        bar.update(min(seconds / 60, max(0.0, (bar.total or 0) - bar.n)))
        emit(_store(db, episode, spec, speech, report, name))
    if devices:
        report.model = f"{spec.label}, {' / '.join(sorted(devices))} on the cluster's workers"


def _store(db, episode: Episode, spec: ModelSpec, speech: Speech, report: TranscribeReport, name: str) -> str:
    segments = [s.as_dict() for s in speech.sentences]
    took = f"{clock(speech.audio_seconds)} in {speech.seconds:.1f}s"
    common = dict(text=speech.text, segments=segments, language=speech.language,
                  language_probability=speech.language_probability, audio_seconds=round(speech.audio_seconds, 2),
                  transcribe_seconds=round(speech.seconds, 2))
    if speech.not_english:
        record_unused(db, episode.document_id, "not_english", speech.not_english, **common)
        report.not_english += 1
        return f"{name}: kept, not extracted: {speech.not_english}"
    if not speech.sentences:
        reason = f"no speech found in {clock(speech.audio_seconds)} of audio"
        record_unused(db, episode.document_id, "no_speech", reason, **common)
        report.no_speech += 1
        return f"{name}: {reason}"
    text, passages = sentences_to_text(speech.sentences)
    warning = None
    declared = episode.duration_seconds
    if declared and speech.audio_seconds < declared * TRUNCATION_SLACK and declared - speech.audio_seconds > 5:
        warning = f"truncated audio: {clock(speech.audio_seconds)} decoded, the feed says {clock(declared)}"
    transcript = {"model": spec.name, "size": spec.size, "model_version": spec.version, "language": speech.language,
                  "audio_seconds": round(speech.audio_seconds, 2), "enclosure_url": episode.enclosure_url}
    common.pop("text")  # the passages' text is the transcript as stored
    saved = save_transcript(db, episode.document_id, text, passages, transcript=transcript, warning=warning, **common)
    report.transcribed += 1
    notes = [f"{len(passages)} passages", took]
    if speech.resumed_at:
        notes.append(f"resumed at {clock(speech.resumed_at)}")
    if saved.kept_claims:
        notes.append(f"{saved.kept_claims} claims kept for their editors or digests")
    if warning:
        notes.append(warning)
    return f"{name}: transcribed, {', '.join(notes)}"


def _failed(db, episode: Episode, report: TranscribeReport, name: str, reason: str, retry_at: str | None) -> str:
    reason = " ".join(reason.split())[:300] or "unknown error"
    record_failure(db, episode.document_id, reason, retry_at=retry_at)
    report.failed += 1
    again = f" (retried after {retry_at})" if retry_at else ""
    return f"{name}: failed: {reason}{again}"


def _retry_at(options: TranscribeOptions, attempt: int) -> str:
    wait = options.retry_after * 2 ** max(0, attempt - 1)
    return (dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=wait)).strftime("%Y-%m-%dT%H:%M:%SZ")
