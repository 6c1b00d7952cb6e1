"""Paragraph blocks -> document text ("\\n\\n" between paragraphs) and passages with offsets."""
from __future__ import annotations

import re
from dataclasses import dataclass

from kb.records import Passage

_SPACE = re.compile(r"\s+")


def squash(text: str) -> str:
    """Collapse every run of whitespace (including non-breaking spaces) to one space."""
    return _SPACE.sub(" ", text.replace("\u00a0", " ").replace("\u200b", "").replace("\u200c", "")).strip()


@dataclass
class Block:
    """One paragraph of a document: its text and what it is."""

    text: str
    section: str | None = None
    heading: bool = False  # headings stay in the text but are not passages
    passage: bool = True  # False for learnt boilerplate kept only for traceability
    speaker: str | None = None
    start_seconds: float | None = None
    end_seconds: float | None = None
    marker: str = ""  # e.g. "- " before a list item: in the text, not in the passage


def assemble(blocks: list[Block]) -> tuple[str, list[Passage]]:
    """Join blocks into text and build one passage per non-heading block."""
    parts: list[str] = []
    passages: list[Passage] = []
    pos = 0
    for block in blocks:
        text = block.text.strip()
        if not text:
            continue
        if parts:
            pos += 2
        start = pos + len(block.marker)
        parts.append(block.marker + text)
        pos += len(block.marker) + len(text)
        if block.passage and not block.heading:
            passages.append(
                Passage(
                    start_char=start,
                    end_char=pos,
                    section=block.section,
                    speaker=block.speaker,
                    start_seconds=block.start_seconds,
                    end_seconds=block.end_seconds,
                )
            )
    return "\n\n".join(parts), passages
