"""Plain record types passed between the pipeline stages and the store."""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any


def content_hash(text: str) -> str:
    """SHA-256 of the whitespace-normalised, lower-cased text: the cross-source dedupe key."""
    norm = re.sub(r"\s+", " ", text).strip().lower()
    return hashlib.sha256(norm.encode("utf-8")).hexdigest()


@dataclass
class Source:
    """A place documents come from: a feed, a mailbox, a page or a file."""

    url: str
    kind: str  # rss | atom | podcast | email | html | text | transcript
    title: str | None = None
    id: int | None = None
    active: bool = True
    allow_private: bool = False
    interval_seconds: int = 3600
    etag: str | None = None
    last_modified: str | None = None
    failure_count: int = 0
    next_attempt_at: str | None = None
    last_error: str | None = None
    warning: str | None = None
    config: dict[str, Any] = field(default_factory=dict)
    site_url: str | None = None
    description: str | None = None
    tags: list[str] = field(default_factory=list)
    full_text: bool = False  # fetch each short item's linked article (Miniflux's "fetch original content")
    paused: bool = False
    removed_at: str | None = None
    last_run: dict[str, Any] = field(default_factory=dict)  # counters of the last ingest run

    @property
    def name(self) -> str:
        """What to show a person: the title, else the URL."""
        return self.title or self.url

    @property
    def state(self) -> str:
        """removed | paused | gone | failing | active."""
        if self.removed_at:
            return "removed"
        if self.paused:
            return "paused"
        if not self.active:
            return "gone"
        if self.failure_count:
            return "failing"
        return "active"


@dataclass
class Passage:
    """A paragraph-like span of a document's text (an insight, a section, a transcript cue)."""

    start_char: int
    end_char: int
    section: str | None = None
    speaker: str | None = None
    start_seconds: float | None = None
    end_seconds: float | None = None


@dataclass
class Document:
    """One item of a source: a feed entry, an email, a page, an episode."""

    source_id: int
    guid: str
    text: str
    title: str | None = None
    url: str | None = None
    author: str | None = None
    published: str | None = None  # ISO 8601, UTC
    passages: list[Passage] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    id: int | None = None

    @property
    def content_hash(self) -> str:
        return content_hash(self.text)


@dataclass
class TopicTag:
    """A claim's topic and its stance toward the topic's proposition."""

    topic: str  # topic slug
    stance: str = "neutral"  # supports | opposes | neutral
    score: float = 0.5
    cues: list[str] = field(default_factory=list)
    probability: float | None = None  # calibrated P(the topic applies), from the learned heads
    stance_probability: float | None = None  # calibrated P(the stance is right)


@dataclass
class Quantity:
    """A number quoted in a claim, normalised to value (+ optional upper bound) and unit."""

    text: str
    value: float | None
    unit: str | None = None
    kind: str | None = None  # count | money | ratio | percent | duration | latency | range ...
    value_max: float | None = None
    start_char: int | None = None
    end_char: int | None = None


@dataclass
class Entity:
    """An organisation, person, model or product named in a claim."""

    text: str
    label: str  # ORG | PERSON | MODEL | PRODUCT | ...
    start_char: int | None = None
    end_char: int | None = None


@dataclass
class NonClaim:
    """A sentence the extractor read and did not take as a claim, and why."""

    start_char: int
    end_char: int
    text: str
    reason: str


@dataclass
class Claim:
    """An assertion found in a document, with its offsets into the document text."""

    document_id: int
    start_char: int
    end_char: int
    text: str
    confidence: float = 0.5
    speaker: str | None = None
    topics: list[TopicTag] = field(default_factory=list)
    quantities: list[Quantity] = field(default_factory=list)
    entities: list[Entity] = field(default_factory=list)
    id: int | None = None
