"""The taxonomy: one record per topic (label, proposition, stance direction, patterns, examples).

The shipped topics live in kb/data/topics.jsonl, one line a topic; `seed_topics` brings them into
the KB without overwriting what editors changed. In the KB a topic is its `topics` row (label,
description, proposition, the direction flags, examples) plus its rows in `topic_patterns`, where
each pattern keeps its own origin and on/off switch. `topic_records` reads both back as one record
a topic, the shape the extractor takes (`extract.nlp.build_nlp(topics=...)`).

Direction flags (what the extractor's stance rules read):

- `pro`: the stance toward the proposition that praising the topic's subject takes
  ("supports", or "opposes" when the proposition is against it: for `finetuning-obsolescence`
  praising fine-tuning opposes "fine-tuning is a poor investment").
- `evaluative`: good/bad words and comparisons ("beats", "cheaper than") judge the topic.
- `valence`: the general valence lexicon (~4,000 good/bad words) may judge it too.
- `rising`: the stance that growth of the topic's subject takes ("adoption is growing"), or None
  when trends say nothing about the proposition.

A topic whose flags were never set (an editor's topic from before they existed) reads as
pro "supports", not evaluative, no valence, no trend; a topic an editor adds now gets
`NEW_TOPIC_DIRECTION` unless the editor chose otherwise.
"""
from __future__ import annotations

import json
import logging
from importlib import resources
from typing import Any

import sqlite_utils

from kb.transactions import atomic

log = logging.getLogger(__name__)

STANCES = ("supports", "opposes")
DIRECTION_DEFAULTS: dict[str, Any] = {"pro": "supports", "evaluative": False, "valence": False, "rising": None}
NEW_TOPIC_DIRECTION: dict[str, Any] = {"pro": "supports", "evaluative": True, "valence": False, "rising": None}
_COLUMNS = ("slug", "label", "description", "proposition", "pro", "evaluative", "valence", "rising", "examples")


class BadTopic(ValueError):
    "A topic record with a missing or malformed field"


def shipped_topics_text() -> str:
    """kb/data/topics.jsonl as shipped (its bytes are part of the extractor's version)."""
    return resources.files("kb.data").joinpath("topics.jsonl").read_text(encoding="utf-8")


def shipped_topics() -> list[dict[str, Any]]:
    """The shipped topic records, in file order, each complete: `patterns` (token patterns or
    phrases), `editor_patterns` (none), `examples` ({"text", "stance"})."""
    rows = [json.loads(line) for line in shipped_topics_text().splitlines() if line.strip()]
    return [_complete({**row, "editor_patterns": []}) for row in rows]


def _complete(record: dict[str, Any]) -> dict[str, Any]:
    """`record` with every field present: defaults for unset direction flags, empty lists."""
    out = dict(record)
    for key, default in DIRECTION_DEFAULTS.items():
        if out.get(key) is None:
            out[key] = default
    out["evaluative"], out["valence"] = bool(out["evaluative"]), bool(out["valence"])
    for key in ("patterns", "editor_patterns", "examples"):
        out[key] = list(out.get(key) or [])
    for key in ("pro", "rising"):
        if out[key] is not None and out[key] not in STANCES:
            raise BadTopic(f"topic {out.get('slug')!r}: {key} must be one of {STANCES}, not {out[key]!r}")
    return out


def check_examples(examples: Any) -> list[dict[str, Any]]:
    """Example sentences as stored: a list of {"text": ..., "stance": supports/opposes/neutral or None}."""
    out = []
    for example in examples or []:
        if isinstance(example, str):
            example = {"text": example, "stance": None}
        if not isinstance(example, dict) or not str(example.get("text") or "").strip():
            raise BadTopic(f"bad example {example!r}: expected a sentence")
        stance = example.get("stance")
        if stance not in (None, "supports", "opposes", "neutral"):
            raise BadTopic(f"bad example stance {stance!r}: expected supports, opposes or neutral")
        out.append({"text": str(example["text"]).strip(), "stance": stance})
    return out


def parse_examples(text: str) -> list[dict[str, Any]]:
    """Example sentences typed one a line, each optionally led by its stance
    ("opposes: Teams that fine-tuned last year still run those models.")."""
    out = []
    for line in (text or "").splitlines():
        line = line.strip()
        if not line:
            continue
        head, sep, rest = line.partition(":")
        if sep and head.strip().lower() in ("supports", "opposes", "neutral") and rest.strip():
            out.append({"text": rest.strip(), "stance": head.strip().lower()})
        else:
            out.append({"text": line, "stance": None})
    return out


def seed_topics(db: sqlite_utils.Database) -> int:
    """Bring the shipped taxonomy into the KB; return how many topics were added.

    Missing topics are inserted; a shipped topic already there gets only the fields it lacks
    (direction flags and examples of a KB from before they existed), so an editor's edits stay.
    Its patterns are seeded by `seed_topic_patterns` (a pattern no longer shipped is retired).
    """
    records = shipped_topics()
    before = db["topics"].count
    rows = [_row(r) for r in records]
    with atomic(db):
        db["topics"].insert_all(rows, pk="slug", ignore=True)
        db.conn.executemany(
            "UPDATE topics SET pro = coalesce(pro, :pro), evaluative = coalesce(evaluative, :evaluative),"
            " valence = coalesce(valence, :valence), rising = coalesce(rising, :rising),"
            " examples = coalesce(examples, :examples) WHERE slug = :slug AND pro IS NULL", rows)
    seed_topic_patterns(db, [(r["slug"], p) for r in records for p in r["patterns"]])
    return db["topics"].count - before


def _row(record: dict[str, Any]) -> dict[str, Any]:
    """A topic record as its `topics` row (flags as 0/1, examples as JSON)."""
    row = {key: record.get(key) for key in _COLUMNS}
    row["evaluative"], row["valence"] = int(bool(record["evaluative"])), int(bool(record["valence"]))
    row["examples"] = json.dumps(check_examples(record.get("examples")), ensure_ascii=False)
    return row


def seed_topic_patterns(db: sqlite_utils.Database, patterns: list[tuple[str, Any]]) -> int:
    """Bring the shipped topic patterns ((topic slug, pattern) pairs) into the KB.

    Missing ones are inserted; rows already there, including ones an editor switched off, are
    left as they are. A shipped row that the extractor no longer ships is retired (origin
    'retired': kept for the record, never used), and comes back as it was if it is shipped
    again. Patterns for topics not in the taxonomy are ignored. Returns how many were added.
    """
    known = {r[0] for r in db.execute("SELECT slug FROM topics").fetchall()}
    rows = [
        {"topic": topic, "pattern": json.dumps(pattern, sort_keys=True), "origin": "shipped"}
        for topic, pattern in patterns
        if topic in known
    ]
    shipped = {(r["topic"], r["pattern"]) for r in rows}
    stored = {(r[0], r[1]): r[2] for r in db.execute("SELECT topic, pattern, origin FROM topic_patterns")}
    retire = [key for key, origin in stored.items() if origin == "shipped" and key not in shipped]
    revive = [key for key, origin in stored.items() if origin == "retired" and key in shipped]
    added = list({(r["topic"], r["pattern"]): r for r in rows if (r["topic"], r["pattern"]) not in stored}.values())
    if not (retire or revive or added):
        return 0
    with atomic(db):
        db.conn.executemany("UPDATE topic_patterns SET origin = 'retired' WHERE topic = ? AND pattern = ?", retire)
        db.conn.executemany("UPDATE topic_patterns SET origin = 'shipped' WHERE topic = ? AND pattern = ?", revive)
        db.conn.executemany(
            "INSERT OR IGNORE INTO topic_patterns (topic, pattern, origin) VALUES (:topic, :pattern, :origin)", added
        )
    if retire:
        log.info("retired %d topic patterns the extractor no longer ships", len(retire))
    return len(added)


def topic_records(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """Every topic of the KB as one record, by slug: its row, its active shipped patterns
    (`patterns`) and its editors' active patterns (`editor_patterns`), in the order they were added."""
    patterns: dict[str, dict[str, list[Any]]] = {}
    for topic, pattern, origin in db.execute(
        "SELECT topic, pattern, origin FROM topic_patterns WHERE active = 1 AND origin != 'retired' ORDER BY id"
    ):
        key = "editor_patterns" if origin == "editor" else "patterns"
        patterns.setdefault(topic, {}).setdefault(key, []).append(json.loads(pattern))
    out = []
    for row in db.query(f"SELECT {', '.join(_COLUMNS)} FROM topics ORDER BY slug"):
        row["examples"] = json.loads(row["examples"]) if row["examples"] else []
        out.append(_complete({**row, **patterns.get(row["slug"], {})}))
    return out
