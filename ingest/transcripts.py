"""Podcasting 2.0 transcripts (WebVTT, SRT, JSON, HTML, plain text) -> spoken text with timed passages.

The format is detected from the content, since servers often lie (SRT as text/plain, VTT as
application/octet-stream). Consecutive cues of one speaker form a paragraph that starts with
"Speaker: "; every cue is a passage carrying its start/end seconds and speaker.
"""
from __future__ import annotations

import html
import io
import json
import re
from statistics import median
from dataclasses import dataclass

import srt
import webvtt

from ingest.blocks import squash
from ingest.html_text import parse_html
from kb.records import Passage


class TranscriptError(Exception):
    "The transcript could not be read in any known format"


@dataclass
class Cue:
    """One timed piece of speech."""

    text: str
    start: float | None = None
    end: float | None = None
    speaker: str | None = None


_SRT_HEAD = re.compile(r"^\s*\d+\s*\r?\n\s*\d{1,2}:\d{2}:\d{2}[,.]\d{1,3}\s*-->", re.S)
_SPEAKER_PREFIX = re.compile(r"^(?:-\s*)?(?:\[([^\]]{1,40})\]|([A-Z][\w.'-]*(?: [A-Z][\w.'-]*){0,3})):\s+(.+)$", re.S)
_CLOCK = re.compile(r"^(?:(\d+):)?(\d{1,2}):(\d{2})(?:[.,](\d{1,3}))?$")
NOT_SPEAKERS = {"Note", "Update", "Editor", "Transcript", "Warning", "Source", "Chapter", "Music"}
PARAGRAPH_GAP = 5.0  # seconds of silence that start a new paragraph
PARAGRAPH_CHARS = 1200
WORD_GAP = 1.5  # seconds between words that end a merged word-level cue
CUE_WORDS = 60  # at most this many words in a merged word-level cue
_VOICE = re.compile(r"^\s*<v(?:\.[\w.-]+)?\s+([^>]{1,60})>", re.I)
_TAGS = re.compile(r"</?(?:v|c|i|b|u|lang|ruby|rt)(?:[.\s][^>]*)?>|<\d{1,2}:\d{2}(?::\d{2})?[.,]\d{1,3}>", re.I)


def clock_seconds(value: str | float | int | None) -> float | None:
    """'01:02:03.5', '2:03', '123.4' or a number -> seconds."""
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip()
    m = _CLOCK.match(text)
    if m:
        hours, minutes, seconds, frac = m.groups()
        total = int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds)
        if frac:
            total += int(frac) / (10 ** len(frac))
        return float(total)
    try:
        return float(text)
    except ValueError:
        return None


def detect_format(content: bytes, mime: str | None = None) -> str:
    """'vtt' | 'srt' | 'json' | 'html' | 'text', from the bytes first and the MIME type last."""
    head = content[:2048].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"WEBVTT"):
        return "vtt"
    if head[:1] in (b"{", b"["):
        return "json"
    if _SRT_HEAD.match(head.decode("utf-8", "replace")):
        return "srt"
    if head[:1] == b"<":
        return "html"
    mime = (mime or "").lower()
    for key, fmt in (("vtt", "vtt"), ("srt", "srt"), ("subrip", "srt"), ("json", "json"), ("html", "html")):
        if key in mime:
            return fmt
    return "text"


def _split_speaker(text: str) -> tuple[str | None, str]:
    m = _SPEAKER_PREFIX.match(text)
    if not m:
        return None, text
    name = (m.group(1) or m.group(2) or "").strip()
    if name in NOT_SPEAKERS:
        return None, text
    return name, m.group(3).strip()


def cue_body(raw: str, speaker: str | None = None) -> tuple[str | None, str]:
    """(speaker, text) of a cue's raw text: a <v Name> voice tag or a "Name: " prefix gives the
    speaker and leaves the text; markup tags are dropped and entities (&amp; ...) decoded."""
    m = _VOICE.match(raw)
    if m:
        speaker = speaker or squash(m.group(1))
    body = squash(html.unescape(_TAGS.sub("", raw)))
    named, rest = _split_speaker(body)
    if named and (speaker is None or named.casefold() == speaker.casefold()):
        return named if speaker is None else speaker, rest
    return speaker, body


def _vtt(text: str) -> list[Cue]:
    captions = webvtt.from_buffer(io.StringIO(text)) if hasattr(webvtt, "from_buffer") else webvtt.read_buffer(io.StringIO(text))
    cues = []
    for c in captions:
        raw = getattr(c, "raw_text", None) or c.text
        speaker, body = cue_body(raw, getattr(c, "voice", None) or None)
        cues.append(Cue(body, clock_seconds(c.start), clock_seconds(c.end), speaker))
    return cues


def _srt(text: str) -> list[Cue]:
    cues = []
    for sub in srt.parse(text, ignore_errors=True):
        speaker, body = cue_body(sub.content)
        cues.append(Cue(body, sub.start.total_seconds(), sub.end.total_seconds(), speaker))
    return cues


def _json(text: str) -> list[Cue]:
    data = json.loads(text)
    segments = data.get("segments", []) if isinstance(data, dict) else data
    cues = []
    for seg in segments or []:
        if not isinstance(seg, dict):
            continue
        speaker, body = cue_body(str(seg.get("body") or seg.get("text") or ""), seg.get("speaker") or None)
        cues.append(
            Cue(body, clock_seconds(seg.get("startTime", seg.get("start"))),
                clock_seconds(seg.get("endTime", seg.get("end"))), speaker)
        )
    if cues and median(len(c.text.split()) for c in cues) <= 1:
        return merge_words(cues)
    return cues


def merge_words(words: list[Cue]) -> list[Cue]:
    """Word-level cues (one word each, as the spec's JSON example) -> sentence-sized cues: a new
    cue at a sentence end, a change of speaker, a pause over WORD_GAP or CUE_WORDS words."""
    merged: list[Cue] = []
    current: list[Cue] = []

    def flush() -> None:
        if current:
            text = re.sub(r"\s+([,.;:!?%)])", r"\1", " ".join(w.text for w in current))
            merged.append(Cue(text, current[0].start, current[-1].end, current[0].speaker))
            current.clear()

    for word in words:
        if current:
            prev = current[-1]
            gap = (word.start - prev.end) if word.start is not None and prev.end is not None else 0.0
            if (word.speaker != prev.speaker or gap > WORD_GAP or len(current) >= CUE_WORDS
                    or re.search(r"[.!?][\"')\]]*$", prev.text)):
                flush()
        current.append(word)
    flush()
    return merged


def _html(text: str) -> list[Cue]:
    """Podcasting 2.0 HTML: <cite>Speaker:</cite> <time>0:00</time> <p>text</p>, or plain paragraphs."""
    soup = parse_html(text)
    cues: list[Cue] = []
    speaker: str | None = None
    start: float | None = None
    for node in soup.find_all(["cite", "time", "p"]):
        if node.name == "cite":
            speaker = squash(node.get_text(" ")).rstrip(":") or None
        elif node.name == "time":
            start = clock_seconds(node.get("datetime") or squash(node.get_text(" ")))
        else:
            body = squash(node.get_text(" "))
            if not body:
                continue
            who = speaker
            if who is None:
                who, body = _split_speaker(body)
            cues.append(Cue(body, start, None, who))
            start = None
    return cues


def _text(text: str) -> list[Cue]:
    cues = []
    for para in re.split(r"\n\s*\n", text):
        body = squash(para)
        if body:
            speaker, body = _split_speaker(body)
            cues.append(Cue(body, None, None, speaker))
    return cues


def parse_transcript(content: bytes, mime: str | None = None) -> list[Cue]:
    """Cues of a transcript in any supported format (see `detect_format`)."""
    fmt = detect_format(content, mime)
    text = content.decode("utf-8-sig", errors="replace")
    try:
        cues = {"vtt": _vtt, "srt": _srt, "json": _json, "html": _html, "text": _text}[fmt](text)
    except Exception as exc:
        raise TranscriptError(f"unreadable {fmt} transcript: {type(exc).__name__}: {str(exc)[:150]}") from None
    cues = [c for c in cues if c.text]
    if not cues:
        raise TranscriptError(f"empty {fmt} transcript")
    return cues


def cues_to_text(cues: list[Cue]) -> tuple[str, list[Passage]]:
    """Paragraphs per speaker turn ("Speaker: ..."), one passage per cue with its timestamps."""
    out = io.StringIO()
    passages: list[Passage] = []
    pos = 0
    para_len = 0
    prev: Cue | None = None
    for cue in cues:
        new_paragraph = (
            prev is None
            or cue.speaker != prev.speaker
            or para_len > PARAGRAPH_CHARS
            or (cue.start is not None and prev.end is not None and cue.start - prev.end > PARAGRAPH_GAP)
        )
        if new_paragraph:
            if prev is not None:
                out.write("\n\n")
                pos += 2
            para_len = 0
            if cue.speaker:
                prefix = f"{cue.speaker}: "
                out.write(prefix)
                pos += len(prefix)
        else:
            out.write(" ")
            pos += 1
        start = pos
        out.write(cue.text)
        pos += len(cue.text)
        para_len += len(cue.text)
        passages.append(Passage(start, pos, section="transcript", speaker=cue.speaker,
                                start_seconds=cue.start, end_seconds=cue.end))
        prev = cue
    return out.getvalue(), passages
