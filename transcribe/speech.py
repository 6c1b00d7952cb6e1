"""Audio file -> timed sentences with faster-whisper (decoded by PyAV), and a language verdict.

Audio is decoded to int16 and handed to Whisper in chunks of about two minutes cut at quiet
moments: Whisper's feature extraction and the VAD take memory in proportion to what they are
given (about 45 MB per minute), so an episode of three hours needs no more than one of ten minutes.

Word timestamps place each sentence at the second it was said. An English-only checkpoint
cannot name another language, but it is unsure of every word of one: a mean log-probability
under `min_logprob` over the first `language_probe_seconds` of speech ends the run early as
"not English". A multilingual checkpoint names the language itself.
"""
from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from transcribe.model import ModelSpec
from transcribe.options import TranscribeOptions

log = logging.getLogger(__name__)

SAMPLE_RATE = 16000
_SENTENCE_END = re.compile(r"[.?!…]['\"”’)\]]*$")
ABBREVIATIONS = {"mr.", "mrs.", "ms.", "dr.", "prof.", "st.", "vs.", "etc.", "e.g.", "i.e.", "u.s.", "u.k.", "inc.",
                 "ltd.", "co.", "jr.", "sr.", "no.", "approx.", "dept.", "est."}
MAX_SENTENCE_WORDS = 80  # a run-on without punctuation is cut at the next segment end past this
CHUNK_SECONDS = 120.0  # audio handed to Whisper at once: memory stays flat however long the episode


class AudioError(Exception):
    "The file holds no decodable sound"


@dataclass
class Sentence:
    """One sentence as said: its text and the seconds it starts and ends at."""

    text: str
    start: float
    end: float

    def as_dict(self) -> dict[str, Any]:
        return {"start": round(self.start, 2), "end": round(self.end, 2), "text": self.text}


@dataclass
class Speech:
    """What the model heard in one file."""

    sentences: list[Sentence] = field(default_factory=list)
    audio_seconds: float = 0.0
    language: str | None = None
    language_probability: float | None = None
    mean_logprob: float | None = None
    not_english: str | None = None  # the reason, when the speech is judged not English
    seconds: float = 0.0  # wall time spent transcribing
    resumed_at: float | None = None  # a killed run's checkpoint this went on from

    @property
    def text(self) -> str:
        return " ".join(s.text for s in self.sentences)


def decode(path: Path):
    """The file's sound as 16 kHz mono int16 samples, decoded by PyAV frame by frame.

    Half the memory of float32 (an hour is 115 MB); undecodable frames of a damaged file are
    skipped. Raises AudioError with a one-line reason when nothing decodes.
    """
    import av
    import numpy as np

    pieces = []
    try:
        with av.open(str(path), mode="r", metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise AudioError("not audio: the file has no sound track")
            resampler = av.audio.resampler.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
            frames = container.decode(audio=0)
            while True:
                try:
                    frame = next(frames)
                except StopIteration:
                    break
                except av.error.InvalidDataError:
                    continue
                frame.pts = None
                for out in resampler.resample(frame):
                    pieces.append(out.to_ndarray().reshape(-1).copy())
            for out in resampler.resample(None):
                pieces.append(out.to_ndarray().reshape(-1).copy())
    except AudioError:
        raise
    except Exception as exc:  # PyAV raises many kinds (InvalidDataError, ValueError, ...)
        raise AudioError(f"not audio: cannot decode it ({type(exc).__name__}: {str(exc)[:120]})") from None
    samples = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int16)
    if len(samples) == 0:
        raise AudioError("not audio: no sound could be decoded")
    return samples


def chunk_bounds(samples, chunk_seconds: float = CHUNK_SECONDS, search_seconds: float = 10.0) -> list[tuple[int, int]]:
    """(start, end) sample ranges of about `chunk_seconds`, each cut in the longest pause near its end."""
    import numpy as np

    n = len(samples)
    size, search, frame = int(chunk_seconds * SAMPLE_RATE), int(search_seconds * SAMPLE_RATE), SAMPLE_RATE // 10
    bounds, start = [], 0
    while n - start > size + search:
        lo, hi = start + size - search, start + size + search
        window = samples[lo:hi].astype(np.float32)
        energy = np.square(window[: len(window) // frame * frame].reshape(-1, frame)).mean(axis=1)
        cut = lo + _longest_quiet(energy) * frame
        bounds.append((start, cut))
        start = cut
    bounds.append((start, n))
    return bounds


def _longest_quiet(energy) -> int:
    """The middle frame of the longest run of the quietest tenth of frames (a pause between sentences)."""
    import numpy as np

    quiet = energy <= np.percentile(energy, 10)
    best_start = best_len = run_start = 0
    run = 0
    for i, q in enumerate(quiet):
        if q:
            if run == 0:
                run_start = i
            run += 1
            if run > best_len:
                best_start, best_len = run_start, run
        else:
            run = 0
    return best_start + best_len // 2


def clock(seconds: float | None) -> str:
    """1234.5 -> '20:34', 4000 -> '1:06:40'."""
    seconds = int(seconds or 0)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


@dataclass
class Checkpoint:
    """Where a transcription stands after a chunk: enough for a killed run to go on from there."""

    resume_at: float  # seconds of audio done
    sentences: list[Sentence]
    weighted: float  # sum of log-probability x seconds so far (the language verdict)
    spoken: float
    audio_seconds: float
    pending: list[tuple[str, float, float]] = field(default_factory=list)  # words of a sentence not yet finished

    def progress(self) -> dict[str, Any]:
        return {"weighted": self.weighted, "spoken": self.spoken, "audio_seconds": self.audio_seconds,
                "pending": [list(w) for w in self.pending]}

    @classmethod
    def from_stored(cls, stored: dict[str, Any]) -> "Checkpoint":
        p = stored["progress"]
        return cls(float(stored["resume_at"]), [Sentence(s["text"], s["start"], s["end"]) for s in stored["segments"]],
                   float(p.get("weighted", 0.0)), float(p.get("spoken", 0.0)), float(p.get("audio_seconds", 0.0)),
                   [(str(w), float(a), float(b)) for w, a, b in p.get("pending", [])])


def transcribe_samples(model: Any, spec: ModelSpec, samples, options: TranscribeOptions,
                       on_progress: Callable[[float], None] | None = None, *,
                       resume: Checkpoint | None = None,
                       on_chunk: Callable[[Checkpoint], None] | None = None) -> Speech:
    """Transcribe decoded int16 samples into sentences, chunk by chunk; stops early on speech judged not English.

    Chunks are cut at quiet moments (`chunk_bounds`), so a word is rarely split; a sentence that
    runs over a cut is joined (its words carried over, in the checkpoint too), and the last sentence
    said is the next chunk's prompt. After each
    chunk `on_chunk` gets a checkpoint; `resume` (from the same audio) skips the chunks it covers.
    """
    import numpy as np

    started = time.perf_counter()
    speech = Speech(audio_seconds=len(samples) / SAMPLE_RATE)
    weighted = spoken = 0.0
    words: list[tuple[str, float, float]] = []
    skip_to = 0
    if resume is not None and abs(resume.audio_seconds - speech.audio_seconds) < 0.01:
        speech.sentences = list(resume.sentences)
        weighted, spoken = resume.weighted, resume.spoken
        words = list(resume.pending)
        skip_to = int(round(resume.resume_at * SAMPLE_RATE))
        if on_progress:
            on_progress(resume.resume_at)
    for first, last in chunk_bounds(samples, options.chunk_seconds):
        if last <= skip_to:
            continue
        offset = first / SAMPLE_RATE
        audio = samples[first:last].astype(np.float32) / 32768.0
        prompt = speech.sentences[-1].text if speech.sentences else None
        segments, info = model.transcribe(
            audio, beam_size=options.beam_size, word_timestamps=True, vad_filter=True,
            language="en" if spec.english_only else None, initial_prompt=prompt,
        )
        if speech.language is None and not spec.english_only:
            speech.language = info.language
            speech.language_probability = round(float(info.language_probability), 3)
            if info.language != "en":
                speech.not_english = (f"not English: {spec.label} hears {info.language} "
                                      f"(probability {info.language_probability:.2f})")
        for segment in segments:
            length = max(0.0, float(segment.end) - float(segment.start))
            weighted += float(segment.avg_logprob) * length
            spoken += length
            seg_words = [(w.word, offset + float(w.start), offset + float(w.end)) for w in (segment.words or [])]
            if not seg_words and segment.text.strip():
                seg_words = [(segment.text, offset + float(segment.start), offset + float(segment.end))]
            words.extend(seg_words)
            _cut_sentences(words, speech.sentences, segment_end=True)
            if on_progress:
                on_progress(offset + float(segment.end))
            if speech.not_english:
                break
            if spec.english_only and offset + float(segment.end) >= options.language_probe_seconds and spoken:
                if weighted / spoken < options.min_logprob:
                    speech.not_english = _unsure(spec, weighted / spoken, options, clock(offset + segment.end))
                    break
        del audio
        if speech.not_english:
            break
        if on_progress:
            on_progress(last / SAMPLE_RATE)
        if on_chunk and last < len(samples):
            on_chunk(Checkpoint(last / SAMPLE_RATE, list(speech.sentences), weighted, spoken, speech.audio_seconds,
                                list(words)))
    if words:
        speech.sentences.append(_sentence(words))
        words.clear()
    speech.mean_logprob = round(weighted / spoken, 3) if spoken else None
    if spec.english_only and not speech.not_english and spoken and weighted / spoken < options.min_logprob:
        speech.not_english = _unsure(spec, weighted / spoken, options, None)
    if spec.english_only and not speech.not_english and speech.sentences:
        speech.language = "en"
    speech.seconds = time.perf_counter() - started
    return speech


def _unsure(spec: ModelSpec, logprob: float, options: TranscribeOptions, stopped_at: str | None) -> str:
    where = f"; stopped after {stopped_at}" if stopped_at else ""
    return (f"not English (or unintelligible): the English-only {spec.size or 'model'} is unsure of it, mean "
            f"log-probability {logprob:.2f} < {options.min_logprob:g}{where}")


def _cut_sentences(words: list[tuple[str, float, float]], out: list[Sentence], *, segment_end: bool) -> None:
    """Move every finished sentence from the front of `words` to `out`."""
    start = 0
    for i, (word, _, _) in enumerate(words):
        token = word.strip()
        ends = bool(_SENTENCE_END.search(token)) and token.lower() not in ABBREVIATIONS
        too_long = segment_end and i == len(words) - 1 and i - start + 1 >= MAX_SENTENCE_WORDS
        if ends or too_long:
            out.append(_sentence(words[start:i + 1]))
            start = i + 1
    del words[:start]


def _sentence(words: list[tuple[str, float, float]]) -> Sentence:
    text = re.sub(r"\s+", " ", "".join(w for w, _, _ in words)).strip()
    return Sentence(text, words[0][1], max(w[2] for w in words))
