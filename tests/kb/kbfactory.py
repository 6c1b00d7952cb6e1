"""Build realistic test KBs from the seed texts, writing through kb.documents and kb.claims."""
from __future__ import annotations

import re
from pathlib import Path

from kb import open_db
from kb.claims import save_claims
from kb.documents import save_document
from kb.records import Claim, Document, Entity, Passage, Quantity, Source, TopicTag
from kb.sources import add_source

SEEDS = Path("/work/shared/seeds")
if not SEEDS.exists():  # CI copies shared/ beside the clone
    SEEDS = Path(__file__).resolve().parents[3] / "shared" / "seeds"
VERSION = "test-1"
XSS = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned=2"> is a claim too.'

# (fragment of a seed sentence, [(topic, stance)], [(quantity text, value, unit, kind)], [entities])
TAGS = [
    ("Bloomberg spent eight figures on BloombergGPT", [("finetuning-obsolescence", "supports")], [],
     [("Bloomberg", "ORG"), ("BloombergGPT", "MODEL"), ("GPT-4", "MODEL")]),
    ("Startups are learning that spending significant time", [("finetuning-obsolescence", "supports")], [], []),
    ("Fine-tuning creates model-specific optimizations", [("finetuning-obsolescence", "supports")], [],
     [("Blitzy", "ORG")]),
    ("Every enterprise AI team I talk to is fine-tuning something", [("enterprise-adoption", "neutral")], [], []),
    ("This approach offers significant benefits, including improved unit economics and reduced latency",
     [("latency", "supports"), ("inference-cost", "supports")],
     [("one-fifth the cost", 0.2, "x", "ratio"), ("0.6 seconds faster", 0.6, "seconds", "latency")],
     [("Intercom", "ORG"), ("Fin Apex 1.0", "MODEL")]),
    ("However, a major risk is that rapid base-model releases", [("finetuning-obsolescence", "supports")], [],
     [("OpenAI", "ORG")]),
    ("For specialized, high-stakes tasks like insurance underwriting", [("finetuning-obsolescence", "opposes"),
     ("proprietary-data", "supports")], [], []),
    ("At scale, companies rarely deploy open-source models", [("finetuning-obsolescence", "opposes")], [], []),
    ("By training smaller models on much more data", [("inference-cost", "supports")],
     [("~100x", 100.0, "x", "ratio")], []),
]


def _passages(text: str) -> list[Passage]:
    out, pos = [], 0
    for line in text.split("\n"):
        if line.strip():
            out.append(Passage(start_char=pos, end_char=pos + len(line)))
        pos += len(line) + 1
    return out


def _sentences(text: str):
    for m in re.finditer(r"[^.!?\n]+[.!?]", text):
        s = m.group(0).lstrip()
        start = m.end() - len(s)
        yield start, m.end(), s


def build_kb(path: Path, *, with_xss: bool = True, month: str = "2026-11") -> dict[str, int]:
    """A KB of the four seeds: every sentence a claim; known sentences tagged. Returns claim ids by fragment.

    The documents are published on the 10th to 19th of `month` (YYYY-MM)."""
    db = open_db(path)
    ids: dict[str, int] = {}
    for i, seed in enumerate(sorted(SEEDS.glob("*.txt"))):
        text = seed.read_text(encoding="utf-8")
        if with_xss and i == 1:
            text += "\n" + XSS
        source = add_source(db, Source(url=f"file:///seeds/{seed.name}", kind=("rss", "email", "html", "rss")[i],
                                       title=("Podcast insights", "Maligned", "To Train or Not to Train",
                                              "Podcast insights II")[i]))
        doc = Document(source_id=source.id, guid=seed.stem, text=text, title=text.split("\n")[0][:80],
                       url=f"https://example.com/{seed.stem}", published=f"{month}-{10 + 3 * i:02d}T08:00:00Z",
                       passages=_passages(text))
        if i == 3:
            for n, p in enumerate(doc.passages):
                p.start_seconds, p.end_seconds, p.speaker = 60.0 * n + 5, 60.0 * n + 50, "Guest"
        doc_id = save_document(db, doc).document_id
        claims = []
        for n, (start, end, sentence) in enumerate(_sentences(text)):
            claim = Claim(document_id=doc_id, start_char=start, end_char=end, text=sentence,
                          confidence=round(0.3 + (n * 37 % 70) / 100, 2))
            for fragment, topics, quantities, entities in TAGS:
                if sentence.startswith(fragment):
                    claim.topics = [TopicTag(t, s, 0.8, ["cue"]) for t, s in topics]
                    claim.quantities = [Quantity(text=q, value=v, unit=u, kind=k) for q, v, u, k in quantities]
                    claim.entities = [Entity(text=e, label=lab) for e, lab in entities]
            if sentence.startswith("<script>"):
                claim.topics = [TopicTag("latency", "neutral", 0.5, [])]
                claim.entities = [Entity(text="<b>Evil Corp</b>", label="ORG")]
            claims.append(claim)
        save_claims(db, doc_id, claims, VERSION)
        for c in claims:
            ids[c.text[:40]] = c.id
    db.conn.close()
    return ids


def claim_id(ids: dict[str, int], fragment: str) -> int:
    return next(v for k, v in ids.items() if fragment.startswith(k) or k.startswith(fragment[:40]))


def reextract(path: Path) -> None:
    """Run save_claims again for every document, as a new extractor version would, with opposite stances."""
    db = open_db(path)
    for (doc_id,) in db.execute("SELECT id FROM documents").fetchall():
        rows = list(db.query("SELECT * FROM claims WHERE document_id = ?", [doc_id]))
        claims = [Claim(document_id=doc_id, start_char=r["start_char"], end_char=r["end_char"], text=r["text"],
                        confidence=r["confidence"], topics=[TopicTag("finetuning-obsolescence", "neutral", 0.1, [])])
                  for r in rows]
        save_claims(db, doc_id, claims, "test-2")
    db.conn.close()
