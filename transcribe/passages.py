"""Timed sentences -> document text and passages, the shape a published transcript takes.

Sentences are joined into paragraphs (a pause or a long paragraph starts a new one) and each
sentence is one passage with its start/end seconds. No diarisation: `speaker` stays empty.
"""
from __future__ import annotations

from kb.records import Passage

from transcribe.speech import Sentence

PARAGRAPH_PAUSE = 2.5  # seconds of silence that start a new paragraph
PARAGRAPH_CHARS = 1000


def sentences_to_text(sentences: list[Sentence]) -> tuple[str, list[Passage]]:
    """(text with blank lines between paragraphs, one timed passage per sentence)."""
    parts: list[str] = []
    passages: list[Passage] = []
    pos = para_len = 0
    previous: Sentence | None = None
    for sentence in sentences:
        if not sentence.text:
            continue
        if previous is not None:
            pause = sentence.start - previous.end
            separator = "\n\n" if pause > PARAGRAPH_PAUSE or para_len > PARAGRAPH_CHARS else " "
            if separator == "\n\n":
                para_len = 0
            parts.append(separator)
            pos += len(separator)
        parts.append(sentence.text)
        passages.append(Passage(pos, pos + len(sentence.text), section="transcript", speaker=None,
                                start_seconds=round(sentence.start, 2), end_seconds=round(sentence.end, 2)))
        pos += len(sentence.text)
        para_len += len(sentence.text)
        previous = sentence
    return "".join(parts), passages
