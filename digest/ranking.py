"""Choose the day's five: score candidates with named factors, then pick a diverse set (MMR).

Factors, each in [0, 1], weighted by `WEIGHTS` (an editor's boost is added as is):

- recency: 0.5 ** (age / half the window); quiet-day fallbacks are old, so they score low here.
- confidence: the extractor's confidence in the claim.
- editor: 1 when an editor approved the claim.
- novelty: 1 - the highest similarity to a claim of the last `novelty_digests` digests; a
  near-duplicate (or the same claim) is excluded outright.
- corroboration: other sources making the same claim in the last `context_days` (2 or more: 1).
- disagreement: other sources taking the opposite stance on the claim's topic ("show both sides");
  0.5 + 0.5 * balance, where balance = min(for, against) / max(for, against).
- numbers: 1 for a number not quoted in recent digests, 0.5 for a number already seen.

Diversity: items are picked greedily by score minus a redundancy penalty (MMR), never a
near-duplicate of a picked item, and from a new source on a new topic first; the constraints
relax (topic first, then source) only when nothing else is left.
"""
from __future__ import annotations

import datetime as dt
import logging
import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlite_utils

from digest.candidates import Candidate, iso, load_fallback, load_window, quantities_of, texts_of
from digest.insight import is_cut, source_name
from digest.options import DigestOptions
from digest.similarity import CORROBORATES, NEAR_DUPLICATE, OverlapIndex, TermIndex, jaccard, terms
from kb.digests import claims_in_recent_digests

log = logging.getLogger(__name__)

WEIGHTS: dict[str, float] = {
    "recency": 1.0,
    "confidence": 1.0,
    "editor": 1.5,
    "novelty": 1.0,
    "corroboration": 1.0,
    "disagreement": 0.8,
    "numbers": 0.6,
}
#: How strongly similarity to an already picked item lowers a candidate (MMR).
REDUNDANCY_PENALTY = 2.0
#: A claim stored cut off ("…" mid-sentence, as feed summaries are) sinks below whole ones.
CUT_PENALTY = 3.0
#: Candidates fully scored after a cheap first pass (the rest cannot catch up in practice).
SHORTLIST = 400


@dataclass(eq=False)
class Scored:
    """A candidate with its score, factor values and the human reasons it was picked."""

    candidate: Candidate
    terms: frozenset[str]
    score: float = 0.0
    factors: dict[str, float] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)
    counter_claim_id: int | None = None
    new_number: str | None = None

    @property
    def claim_id(self) -> int:
        return self.candidate.id

    @property
    def source_id(self) -> int:
        return self.candidate.source_id

    @property
    def topic(self) -> str | None:
        return self.candidate.primary_topic

    @property
    def topics(self) -> list[str]:
        return [t[0] for t in self.candidate.topics]

    @property
    def reason(self) -> str:
        return " · ".join(self.reasons)

    @property
    def cluster_id(self) -> int | None:
        return self.candidate.cluster_id

    @property
    def has_topic(self) -> bool:
        return bool(self.candidate.topics)

    def pool_row(self) -> dict[str, Any]:
        """What `kb.digests.save_digest` keeps of this candidate for per-subscriber re-ranking."""
        return {
            "claim_id": self.claim_id,
            "score": round(self.score, 6),
            "reason": self.reason,
            "factors": {
                **{k: round(v, 4) for k, v in self.factors.items()},
                "source_id": self.source_id,
                "topic": self.topic,
                "topics": self.topics,
                "counter_claim_id": self.counter_claim_id,
                "cluster_id": self.candidate.cluster_id,
            },
        }


@dataclass
class Ranking:
    """The outcome of ranking one day: the picked items, the pool, and what was considered."""

    day: dt.date
    window_start: dt.datetime
    window_end: dt.datetime
    items: list[Scored]
    pool: list[Scored]
    considered: int = 0
    fallback: int = 0
    excluded_repeats: int = 0


def window_for(day: dt.date, options: DigestOptions, now: dt.datetime | None = None) -> tuple[dt.datetime, dt.datetime]:
    """[start, end): the `window_hours` before the end of `day` in the digest's timezone (or before now)."""
    try:
        tz = ZoneInfo(options.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown timezone in [digest] timezone: {options.timezone!r}") from None
    day_end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tz)
    now = now or dt.datetime.now(dt.timezone.utc)
    day_start = dt.datetime.combine(day, dt.time(0), tz)
    end = now.astimezone(tz) if day_start <= now < day_end else day_end
    return end - dt.timedelta(hours=options.window_hours), end


def _parse(ts: str | None) -> dt.datetime | None:
    if not ts:
        return None
    try:
        moment = dt.datetime.fromisoformat(ts.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def _fmt_number(value: float | None, text: str) -> str:
    return " ".join(text.split()) or (f"{value:g}" if value is not None else "")


def rank_claims(
    db: sqlite_utils.Database, day: dt.date, options: DigestOptions, *, now: dt.datetime | None = None
) -> Ranking:
    """Score the candidates for `day` and pick `options.items` diverse ones (nothing is stored)."""
    start, end = window_for(day, options, now)
    context_start = end - dt.timedelta(hours=max(options.window_hours, options.context_days * 24))
    context = load_window(db, context_start, end, limit=options.max_candidates)
    lo = iso(start)
    recent_ids = set(claims_in_recent_digests(db, day.isoformat(), options.novelty_digests))
    recent_terms = [terms(t) for t in texts_of(db, sorted(recent_ids)).values()]
    seen_numbers = quantities_of(db, sorted(recent_ids))

    window = [c for c in context if (c.published or "") >= lo and c.id not in recent_ids]
    repeats = sum(1 for c in context if (c.published or "") >= lo and c.id in recent_ids)
    fallback: list[Candidate] = []
    if len(window) < options.items:
        fallback = load_fallback(
            db, start, limit=options.fallback_limit, exclude=recent_ids | {c.id for c in window}, day=day.isoformat()
        )
        log.info("quiet day %s: %d candidates in the window, %d older unsent claims added",
                 day, len(window), len(fallback))
    candidates = window + fallback

    half_life = max(1.0, options.window_hours / 2)
    scored = [_base_scored(c, end, half_life, seen_numbers, options.window_hours) for c in candidates]
    scored.sort(key=lambda s: (-s.score, s.claim_id))
    limit = max(SHORTLIST, options.pool_size)
    # Topical claims below the cut stay eligible: a claim without a topic is only picked when no
    # topical one is left, so a page of well-scored untagged claims must not crowd them all out.
    shortlist = scored[:limit] + [s for s in scored[limit:] if s.has_topic][:limit]

    term_of = {s.claim_id: s.terms for s in scored}
    for c in context:
        if c.id not in term_of:
            term_of[c.id] = terms(c.text)
    titles = {i: source_name(t, u) for i, t, u in db.execute("SELECT id, title, url FROM sources").fetchall()}
    debate = _Debate(context, fallback, term_of, titles)
    kept: list[Scored] = []
    excluded = repeats
    for s in shortlist:
        max_sim = max((jaccard(s.terms, t) for t in recent_terms), default=0.0)
        if max_sim >= NEAR_DUPLICATE:
            excluded += 1
            continue
        s.factors["novelty"] = 1.0 - max_sim
        debate.score(s, end)
        kept.append(s)
    kept.sort(key=lambda s: (-s.score, s.claim_id))
    items = select_diverse(kept, options.items)
    pool = list(items) + [s for s in kept if s not in items][: max(0, options.pool_size - len(items))]
    return Ranking(day, start, end, items, pool, considered=len(candidates), fallback=len(fallback),
                   excluded_repeats=excluded)


def _base_scored(
    c: Candidate, end: dt.datetime, half_life: float, seen_numbers: set[tuple[float, str | None]], window_hours: int
) -> Scored:
    """The cheap factors: recency, confidence, editor, numbers (enough to shortlist)."""
    s = Scored(c, terms(c.text))
    published = _parse(c.published)
    age_h = max(0.0, (end - published).total_seconds() / 3600) if published else window_hours
    s.factors["recency"] = 0.5 ** (age_h / half_life)
    s.factors["confidence"] = min(1.0, max(0.0, c.confidence))
    s.factors["editor"] = 1.0 if c.status == "approved" else 0.0
    s.factors["numbers"] = 0.0
    for text, value, unit in c.quantities:
        if value is None:
            continue
        if (value, unit) not in seen_numbers:
            s.factors["numbers"] = 1.0
            s.new_number = _fmt_number(value, text)
            break
        s.factors["numbers"] = 0.5
    s.score = sum(WEIGHTS[k] * v for k, v in s.factors.items()) + c.boost - (CUT_PENALTY if is_cut(c.text) else 0.0)
    return s


class _Debate:
    """Who says what in the context window: the sources making the same point, and the other side.

    The other side is a claim from another source with the opposite stance on a shared topic: on
    the same point (the same cluster) first, else on the same topic naming a shared entity or using
    the same words; none when there is none.
    """

    def __init__(self, context: list[Candidate], fallback: list[Candidate], term_of: dict[int, frozenset[str]],
                 source_titles: dict[int, str] | None = None) -> None:
        self.term_of = term_of
        self.titles = source_titles or {}
        self.index = TermIndex((c.id, term_of[c.id]) for c in context)
        self.source_of = {c.id: c.source_id for c in context}
        self.by_side: dict[tuple[str, str], list[Candidate]] = defaultdict(list)
        self.sources: dict[tuple[str, str], set[int]] = defaultdict(set)
        self.by_cluster: dict[int, list[Candidate]] = defaultdict(list)
        self._sides: dict[tuple[str, str], tuple[list[Candidate], OverlapIndex, dict[str, list[int]]]] = {}
        for c in context + fallback:
            if c.cluster_id is not None:
                self.by_cluster[c.cluster_id].append(c)
            for slug, stance, _ in c.topics:
                if stance in ("supports", "opposes"):
                    self.by_side[(slug, stance)].append(c)
                    self.sources[(slug, stance)].add(c.source_id)

    def counterpoint(self, s: Scored) -> Candidate | None:
        """The strongest claim from another source taking the opposite stance on this point."""
        c = s.candidate
        sides = {slug: stance for slug, stance, _ in c.topics if stance in ("supports", "opposes")}
        if not sides:
            return None

        def opposes(r: Candidate) -> bool:
            return r.source_id != c.source_id and any(
                slug in sides and stance in ("supports", "opposes") and stance != sides[slug]
                for slug, stance, _ in r.topics
            )

        def closeness(r: Candidate) -> tuple[float, float, int]:
            return (jaccard(s.terms, self.term_of.get(r.id) or terms(r.text)), r.confidence, -r.id)

        if c.cluster_id is not None:
            same_point = [r for r in self.by_cluster.get(c.cluster_id, []) if opposes(r)]
            if same_point:
                return max(same_point, key=closeness)
        topic, stance = c.primary_topic, c.stance
        if not topic or stance not in ("supports", "opposes"):
            return None
        other = "opposes" if stance == "supports" else "supports"
        side, words, names = self._side((topic, other))
        overlap = words.jaccards(s.terms)
        near = {p for p, j in overlap.items() if j >= RELATED}
        for entity in c.entities:
            near.update(names.get(entity, ()))
        best: tuple[tuple[float, float, int], Candidate] | None = None
        for p in near:
            r = side[p]
            if r.source_id != c.source_id:
                key = (overlap.get(p, 0.0), r.confidence, -r.id)
                if best is None or key > best[0]:
                    best = (key, r)
        return best[1] if best else None

    def _side(self, side: tuple[str, str]) -> tuple[list[Candidate], OverlapIndex, dict[str, list[int]]]:
        """The first 2,000 claims taking `side`, indexed by their words and by the entities they name."""
        if side not in self._sides:
            claims = self.by_side[side][:2000]
            names: dict[str, list[int]] = defaultdict(list)
            for p, r in enumerate(claims):
                for entity in r.entities:
                    names[entity].append(p)
            words = OverlapIndex(self.term_of.get(r.id) or terms(r.text) for r in claims)
            self._sides[side] = (claims, words, dict(names))
        return self._sides[side]

    def score(self, s: Scored, end: dt.datetime) -> None:
        """Set corroboration and disagreement, the counterpoint, the final score and the reasons."""
        c = s.candidate
        similar = self.index.similar(s.terms, CORROBORATES, exclude=c.id)
        agreeing = {self.source_of[k] for k, _ in similar} - {c.source_id}
        others = max(len(agreeing), c.point_sources - 1)
        s.factors["corroboration"] = min(1.0, others / 2)
        s.factors["disagreement"] = 0.0
        counter = self.counterpoint(s)
        pro = con = 0
        if counter is not None:
            topic = c.primary_topic
            pro = len(self.sources[(topic, "supports")]) if topic else 0
            con = len(self.sources[(topic, "opposes")]) if topic else 0
            balance = min(pro, con) / max(pro, con) if max(pro, con) else 0.0
            s.factors["disagreement"] = 0.5 + 0.5 * balance
            s.counter_claim_id = counter.id
        s.score = sum(WEIGHTS[k] * v for k, v in s.factors.items()) + c.boost - (CUT_PENALTY if is_cut(c.text) else 0.0)
        rival = self.titles.get(counter.source_id, "another source") if counter is not None else None
        s.reasons = _reasons(s, others + 1, rival, end)


#: Jaccard of content words at or above which an opposite-stance claim on the same topic argues
#: about the same thing (when no shared entity says so).
RELATED = 0.15


def _reasons(s: Scored, sources: int, rival: str | None, end: dt.datetime) -> list[str]:
    """Why a reader would care, in a reader's words."""
    c = s.candidate
    out = []
    if c.status == "approved" or c.boost > 0:
        out.append("an editor recommends it")
    if sources >= 2:
        out.append(f"{sources} sources make this point")
    if rival:
        out.append(f"contested by {rival}")
    if s.new_number:
        out.append(f"a number not seen here before: {s.new_number}")
    published = _parse(c.published)
    if not c.in_window:
        if published:
            out.append(f"from {published:%-d %b}, not in a digest yet")
    elif published:
        hours = max(0, int((end - published).total_seconds() // 3600))
        out.append("new in the last hour" if hours < 1 else "new today" if hours < 24 else f"new this week ({hours // 24} days ago)")
    if not out:
        out.append("one of the clearest claims in the window")
    return out[:3]


@dataclass(eq=False)
class PoolPick:
    """A ranked candidate as a stored digest keeps it (`digest_pool`) for re-ranking per reader."""

    claim_id: int
    score: float
    reason: str
    source_id: int
    topic: str | None
    topics: list[str]
    cluster_id: int | None
    counter_claim_id: int | None
    terms: frozenset[str]

    @property
    def has_topic(self) -> bool:
        return bool(self.topics)

    @classmethod
    def from_row(cls, row: dict[str, Any], text: str) -> "PoolPick":
        """From a `kb.digests.digest_pool` row (factors as stored by `Scored.pool_row`) and the claim's text."""
        f = row["factors"]
        return cls(
            claim_id=row["claim_id"], score=row["score"], reason=row["reason"] or "", source_id=f.get("source_id") or 0,
            topic=f.get("topic"), topics=list(f.get("topics") or []), cluster_id=f.get("cluster_id"),
            counter_claim_id=f.get("counter_claim_id"), terms=terms(text),
        )


Pickable = Any  # Scored or PoolPick: claim_id, score, source_id, topic, topics, cluster_id, has_topic, terms


def select_diverse(
    ranked: Sequence[Pickable], k: int, *, chosen: Sequence[Pickable] = (), bonus: Callable[[Pickable], float] | None = None
) -> list[Pickable]:
    """Greedy MMR: the best remaining item from a new source on a new topic, relaxing only if needed."""
    picked = list(chosen)
    rest = [s for s in ranked if s not in picked]
    out: list[Scored] = []
    while rest and len(out) < k:
        used_sources = {p.source_id for p in picked}
        used_topics = {p.topic for p in picked if p.topic}
        points = {p.cluster_id for p in picked if p.cluster_id is not None}
        usable = [
            s for s in rest
            if s.cluster_id not in points and all(jaccard(s.terms, p.terms) < NEAR_DUPLICATE for p in picked)
        ]
        topical = [s for s in usable if s.has_topic]
        usable = topical or usable  # a claim without a topic only when no topical one is left
        if not usable:
            break
        tiers = (
            lambda s: s.source_id not in used_sources and s.topic not in used_topics,
            lambda s: s.source_id not in used_sources,
            lambda s: s.topic not in used_topics,
            lambda s: True,
        )
        for tier in tiers:
            eligible = [s for s in usable if tier(s)]
            if eligible:
                break

        def mmr(s: Scored) -> tuple[float, int]:
            redundancy = max((jaccard(s.terms, p.terms) for p in picked), default=0.0)
            value = s.score + (bonus(s) if bonus else 0.0) - REDUNDANCY_PENALTY * redundancy
            return (value if math.isfinite(value) else -1e9, -s.claim_id)

        best = max(eligible, key=mmr)
        picked.append(best)
        out.append(best)
        rest.remove(best)
    return out
