"""Build test knowledge bases by inserting sources, documents and claims through the kb store API."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from kb.claims import save_claims
from kb.clusters import assign_clusters
from kb.documents import save_document
from kb.records import Claim, Document, Quantity, Source, TopicTag
from kb.sources import add_source

NOW = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def ago(hours: float) -> str:
    return (NOW - dt.timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Spec:
    """One claim to insert, with the document and source it comes from."""

    text: str
    source: str = "https://a.example/feed.xml"
    hours_ago: float = 2.0
    confidence: float = 0.7
    topics: list[tuple[str, str]] = field(default_factory=list)  # (slug, stance)
    quantities: list[tuple[str, float, str]] = field(default_factory=list)  # (text, value, unit)
    title: str | None = None
    url: str | None = None
    guid: str | None = None


def add_claims(db, specs: list[Spec]) -> list[int]:
    """Insert every spec as its own document; return the claim ids in order."""
    ids = []
    for n, spec in enumerate(specs):
        source = add_source(db, Source(url=spec.source, kind="rss", title=spec.source.split("/")[2]))
        text = spec.text
        guid = spec.guid or f"doc-{n}-{abs(hash((spec.text, spec.source, spec.hours_ago)))}"
        saved = save_document(db, Document(
            source_id=source.id, guid=guid, text=text + f" [{guid}]",
            title=spec.title or f"Item {n}", url=spec.url or f"https://{spec.source.split('/')[2]}/items/{n}",
            published=ago(spec.hours_ago),
        ))
        claim = Claim(
            document_id=saved.document_id, start_char=0, end_char=len(text), text=text,
            confidence=spec.confidence,
            topics=[TopicTag(topic=slug, stance=stance, score=0.8) for slug, stance in spec.topics],
            quantities=[Quantity(text=t, value=v, unit=u) for t, v, u in spec.quantities],
        )
        save_claims(db, saved.document_id, [claim], "test-1")
        assign_clusters(db, [claim.id])  # as the extract step does after storing
        ids.append(claim.id)
    db.conn.commit()
    return ids


SEED_SPECS = [
    Spec("Bloomberg spent eight figures on BloombergGPT, only for GPT-4 to make it obsolete weeks later.",
         source="https://podinsights.example/feed.xml", hours_ago=3, confidence=0.9,
         topics=[("finetuning-obsolescence", "supports")], title="Top 5 insights: fine-tuning"),
    Spec("At least 10 billion high-quality tokens are needed after aggressive deduplication and filtering.",
         source="https://maligned.example/newsletter", hours_ago=5, confidence=0.8,
         topics=[("token-thresholds", "supports")], quantities=[("10 billion tokens", 1e10, "tokens")]),
    Spec("Contrary to past momentum, the most advanced AI startups are increasingly adopting and fine-tuning open-source models.",
         source="https://aissential.example/summary", hours_ago=6, confidence=0.75,
         topics=[("finetuning-obsolescence", "opposes")]),
    Spec("Smaller fine-tuned models answer voice-bot requests with far lower latency than frontier models.",
         source="https://maligned.example/newsletter", hours_ago=8, confidence=0.7,
         topics=[("latency", "supports")], quantities=[("0.6 seconds faster", 0.6, "s")]),
    Spec("Running a distilled model cuts inference cost to one-fifth of the frontier model price.",
         source="https://aissential.example/summary", hours_ago=9, confidence=0.7,
         topics=[("inference-cost", "supports")], quantities=[("one-fifth the cost", 0.2, "ratio")]),
    Spec("Proprietary data is the only durable moat for a customised model.",
         source="https://podinsights.example/feed.xml", hours_ago=10, confidence=0.65,
         topics=[("proprietary-data", "supports")]),
    Spec("The true cost of fine-tuning isn't the initial training but the ongoing maintenance.",
         source="https://podinsights.example/feed.xml", hours_ago=4, confidence=0.85,
         topics=[("finetuning-obsolescence", "supports")]),
]
