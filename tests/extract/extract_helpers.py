"""Helpers for the extractor tests: the seed documents and ad-hoc texts stored in a real KB."""
from __future__ import annotations

from pathlib import Path

from kb.documents import save_document
from kb.records import Document, Passage, Source
from kb.sources import add_source

GOLD = Path(__file__).resolve().parent.parent / "fixtures" / "gold"
SEEDS = sorted((GOLD / "seeds").glob("*.txt"))


def seed_document(path: Path, source_id: int) -> Document:
    """A seed as ingest would store it: one paragraph per line, "\\n\\n" between, a Passage each."""
    paragraphs = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    text = ""
    passages = []
    for para in paragraphs:
        if text:
            text += "\n\n"
        passages.append(Passage(start_char=len(text), end_char=len(text) + len(para), section="insight"))
        text += para
    return Document(source_id=source_id, guid=path.stem, text=text, title=paragraphs[0][:80], passages=passages)


def add_documents(db, texts: dict[str, str], url: str = "file:///tests/extra") -> dict[str, int]:
    """Store raw texts as documents of one source; returns guid -> document id."""
    source = add_source(db, Source(url=url, kind="text", title="test texts"))
    ids = {}
    for guid, text in texts.items():
        ids[guid] = save_document(db, Document(source_id=source.id, guid=guid, text=text)).document_id
    return ids


def add_seeds(db) -> dict[str, int]:
    """The four seed documents, stored; returns guid -> document id."""
    source = add_source(db, Source(url="file:///seeds", kind="text", title="seeds"))
    return {p.stem: save_document(db, seed_document(p, source.id)).document_id for p in SEEDS}
