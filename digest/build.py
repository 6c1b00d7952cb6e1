"""Build and store the digest for a date, once; choose each subscriber's five from its pool."""
from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

import sqlite_utils

from digest.options import DigestOptions
from digest.ranking import PoolPick, rank_claims, select_diverse
from digest.render import ItemView, MessageTemplate, READER_PLACEHOLDER, UNSUBSCRIBE_PLACEHOLDER, load_items, render_bodies, unsubscribe_url
from kb.feedback import all_reader_weights
from kb.digests import digest_id_for, digest_items, digest_pool, fill_empty_digest, load_digest, save_digest

log = logging.getLogger(__name__)


def build_digest(db: sqlite_utils.Database, day: dt.date, options: DigestOptions) -> int:
    """The id of the digest for `day`, ranking and storing it the first time (later calls change nothing).

    Only a stored digest that came out empty (no claims yet) and went to nobody is filled in later.
    """
    existing = digest_id_for(db, day.isoformat())
    if existing is not None and (digest_items(db, existing) or _has_deliveries(db, existing)):
        log.info("digest for %s already built (#%d)", day, existing)
        return existing
    ranking = rank_claims(db, day, options)
    picks = [
        {"claim_id": s.claim_id, "reason": s.reason, "counter_claim_id": s.counter_claim_id} for s in ranking.items
    ]
    views = load_items(db, picks, options)
    rendered = render_bodies(day, views, options, unsubscribe=unsubscribe_url(options, None))
    items = [
        {"rank": i, "claim_id": s.claim_id, "score": round(s.score, 6), "reason": s.reason}
        for i, s in enumerate(ranking.items, 1)
    ]
    pool = [s.pool_row() for s in ranking.pool]
    if existing is not None:
        if fill_empty_digest(db, existing, rendered.subject, rendered.text, rendered.html, items, pool):
            log.info("digest %s (#%d) was empty; now %d items", day, existing, len(items))
        return existing
    digest_id = save_digest(db, day.isoformat(), rendered.subject, rendered.text, rendered.html, items, pool)
    log.info("digest %s (#%d): %d items from %d candidates (%d quiet-day fallbacks)",
             day, digest_id, len(items), ranking.considered, ranking.fallback)
    return digest_id


def _has_deliveries(db: sqlite_utils.Database, digest_id: int) -> bool:
    return db.execute("SELECT 1 FROM deliveries WHERE digest_id = ? LIMIT 1", [digest_id]).fetchone() is not None


class Personaliser:
    """Renders each subscriber's digest: the shared five, or five re-ranked for its topics.

    Bodies are rendered once per distinct topic list, with a placeholder for the unsubscribe
    link that each message fills in.
    """

    def __init__(self, db: sqlite_utils.Database, digest_id: int, options: DigestOptions) -> None:
        self.db = db
        self.options = options
        self.digest = load_digest(db, digest_id)
        self.day = dt.date.fromisoformat(self.digest["date"])
        self._pool = digest_pool(db, digest_id)
        self._items = digest_items(db, digest_id)
        self._cache: dict[tuple[str, ...], Any] = {}
        self._labels = dict(db.execute("SELECT slug, label FROM topics").fetchall())
        self._sent_at = dt.datetime.now(dt.timezone.utc)
        #: every reader's learnt topic and source weights, read once per delivery run
        self.weights = all_reader_weights(db)

    @property
    def has_items(self) -> bool:
        return bool(self._items)

    def picks_for(self, topics: list[str], weights: Weights | None = None) -> list[dict[str, Any]]:
        """The claims (with reasons) a subscriber with these topic preferences and learnt weights gets."""
        pool_by_id = {p["claim_id"]: p for p in self._pool}
        bonus = _bonus(weights) if weights and any(weights.values()) else None
        if (not topics and bonus is None) or not self._pool:
            return [
                {"claim_id": i["claim_id"], "reason": i["reason"],
                 "counter_claim_id": (pool_by_id.get(i["claim_id"]) or {}).get("factors", {}).get("counter_claim_id")}
                for i in self._items
            ]
        texts = dict(self.db.execute(
            "SELECT id, text FROM claims WHERE id IN (SELECT value FROM json_each(?))",
            [json.dumps([p["claim_id"] for p in self._pool])],
        ).fetchall())
        ranked = [PoolPick.from_row(p, texts[p["claim_id"]]) for p in self._pool if p["claim_id"] in texts]
        wanted = set(topics)
        matching = [s for s in ranked if wanted & set(s.topics)] if wanted else ranked
        chosen = select_diverse(matching, self.options.items, bonus=bonus)
        if len(chosen) < self.options.items:
            others = [s for s in ranked if s not in chosen]
            chosen += select_diverse(others, self.options.items - len(chosen), chosen=chosen, bonus=bonus)
        return [
            {"claim_id": s.claim_id, "reason": s.reason, "counter_claim_id": s.counter_claim_id,
             "on_topic": bool(wanted & set(s.topics)) if wanted else True}
            for s in chosen
        ]

    def template(self, topics: list[str], weights: Weights | None = None) -> MessageTemplate:
        """The message template for subscribers with these topic preferences and weights (rendered once each)."""
        key = tuple(sorted(topics))
        taste = tuple(sorted((k, n, w) for k, d in (weights or {}).items() for n, w in d.items() if w))
        if (key, taste) not in self._cache:
            picks = self.picks_for(list(key), weights)
            views: list[ItemView] = load_items(self.db, picks, self.options)
            note = ""
            if key:
                labels = ", ".join(self._labels.get(t, t) for t in key)
                matched = sum(1 for p in picks if p.get("on_topic"))
                if not matched:
                    note = f"Nothing new on your topics ({labels}) today, so here are the day's top insights."
                elif matched < len(picks):
                    note = f"Picked for your topics: {labels} ({matched} of {len(picks)}); the rest are the day's top insights."
                else:
                    note = f"Picked for your topics: {labels}."
            rendered = render_bodies(self.day, views, self.options, unsubscribe=UNSUBSCRIBE_PLACEHOLDER, topics_note=note,
                                     reader=READER_PLACEHOLDER)
            self._cache[(key, taste)] = MessageTemplate(rendered, self.options, sent_at=self._sent_at, personal=True)
        return self._cache[(key, taste)]


Weights = dict[str, dict[str, float]]


def _bonus(weights: Weights):
    """A reader's learnt taste as a ranking bonus: its topic weights (the strongest) plus its source weight."""
    topic_w, source_w = weights.get("topic", {}), weights.get("source", {})

    def bonus(s: PoolPick) -> float:
        on_topics = [topic_w[t] for t in s.topics if t in topic_w]
        best = max(on_topics, key=abs) if on_topics else 0.0
        return best + source_w.get(str(s.source_id), 0.0)

    return bonus
