"""Audio file -> timed sentences with faster-whisper (decoded by PyAV), and a language verdict.

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

    @property
    def text(self) -> str:
        return " ".join(s.text for s in self.sentences)


def decode(path: Path):
    """The file's sound as 16 kHz mono float32 samples (PyAV). Raises AudioError with a one-line reason."""
    from faster_whisper import decode_audio

    try:
        samples = decode_audio(str(path), sampling_rate=SAMPLE_RATE)
    except Exception as exc:  # PyAV raises many kinds (InvalidDataError, IndexError for no audio stream, ...)
        raise AudioError(f"not audio: cannot decode it ({type(exc).__name__}: {str(exc)[:120]})") from None
    if samples is None or len(samples) == 0:
        raise AudioError("not audio: no sound could be decoded")
    return samples


def clock(seconds: float | None) -> str:
    """1234.5 -> '20:34', 4000 -> '1:06:40'."""
    seconds = int(seconds or 0)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def transcribe_samples(model: Any, spec: ModelSpec, samples, options: TranscribeOptions,
                       on_progress: Callable[[float], None] | None = None) -> Speech:
    """Transcribe decoded samples into sentences; stops early on speech judged not English."""
    started = time.perf_counter()
    speech = Speech(audio_seconds=len(samples) / SAMPLE_RATE)
    segments, info = model.transcribe(
        samples, beam_size=options.beam_size, word_timestamps=True, vad_filter=True,
        language="en" if spec.english_only else None,
    )
    speech.language = info.language
    speech.language_probability = None if spec.english_only else round(float(info.language_probability), 3)
    if not spec.english_only and info.language != "en":
        speech.not_english = (f"not English: {spec.label} hears {info.language} "
                              f"(probability {info.language_probability:.2f})")
    weighted = spoken = 0.0
    words: list[tuple[str, float, float]] = []
    for segment in segments:
        length = max(0.0, float(segment.end) - float(segment.start))
        weighted += float(segment.avg_logprob) * length
        spoken += length
        seg_words = [(w.word, float(w.start), float(w.end)) for w in (segment.words or [])]
        if not seg_words and segment.text.strip():
            seg_words = [(segment.text, float(segment.start), float(segment.end))]
        words.extend(seg_words)
        _cut_sentences(words, speech.sentences, segment_end=True)
        if on_progress:
            on_progress(float(segment.end))
        if speech.not_english:
            break
        if spec.english_only and float(segment.end) >= options.language_probe_seconds and spoken:
            if weighted / spoken < options.min_logprob:
                speech.not_english = _unsure(spec, weighted / spoken, options, clock(segment.end))
                break
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
