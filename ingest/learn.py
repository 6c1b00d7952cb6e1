"""Per-source boilerplate, learnt: a short paragraph repeated across a source's documents is furniture
(the insight service's intro line, a sign-off), so it stops being a passage."""
from __future__ import annotations

from collections import Counter

import sqlite_utils

from ingest.blocks import squash
from kb.documents import recent_texts
from kb.records import Document

MAX_CHARS = 200
RECENT = 20


def _paragraphs(text: str) -> set[str]:
    return {squash(p).lower() for p in text.split("\n\n") if 0 < len(p) <= MAX_CHARS}


def learn_boilerplate(db: sqlite_utils.Database, source_id: int, docs: list[Document]) -> set[str]:
    """Paragraphs (normalised) found in two or more documents of the source, new or recent."""
    counts: Counter[str] = Counter()
    guids = {d.guid for d in docs}
    for doc in docs:
        counts.update(_paragraphs(doc.text))
    for guid, text in recent_texts(db, source_id, RECENT):
        if guid not in guids:
            counts.update(_paragraphs(text))
    return {p for p, n in counts.items() if n >= 2}


def drop_boilerplate_passages(doc: Document, learnt: set[str]) -> None:
    """Remove passages whose text is learnt boilerplate; the text keeps them, metadata lists them."""
    if not learnt:
        return
    kept, dropped = [], []
    for p in doc.passages:
        snippet = squash(doc.text[p.start_char : p.end_char])
        if snippet.lower() in learnt:
            dropped.append(snippet)
        else:
            kept.append(p)
    if dropped:
        doc.passages = kept
        doc.metadata["boilerplate"] = dropped
