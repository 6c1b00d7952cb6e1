"""`digest preview`: the five the ranking would pick for a date, with scores, factors and reasons."""
from __future__ import annotations

import datetime as dt

import sqlite_utils

from digest.insight import source_name
from digest.options import DigestOptions
from digest.ranking import WEIGHTS, rank_claims
from digest.render import load_items, one_line
from kb.clusters import point_claims
from kb.digests import digest_id_for, digest_items


def preview_digest(db: sqlite_utils.Database, day: dt.date, options: DigestOptions) -> str:
    """A plain-text table of the picks (nothing is stored)."""
    ranking = rank_claims(db, day, options)
    sources = {i: source_name(t, u) for i, t, u in db.execute("SELECT id, title, url FROM sources").fetchall()}
    lines = [
        f"Digest preview for {day.isoformat()}: window {ranking.window_start:%Y-%m-%d %H:%M} to "
        f"{ranking.window_end:%Y-%m-%d %H:%M} {options.timezone}; {ranking.considered} candidates"
        f" ({ranking.fallback} older unsent), {ranking.excluded_repeats} repeats of recent digests excluded.",
        "",
    ]
    if not ranking.items:
        lines.append("No claims to pick.")
    views = {v.claim_id: v for v in load_items(db, [
        {"claim_id": s.claim_id, "reason": s.reason, "counter_claim_id": s.counter_claim_id} for s in ranking.items
    ], options)}
    members = point_claims(db, [s.candidate.cluster_id for s in ranking.items if s.candidate.cluster_id is not None])
    for rank, s in enumerate(ranking.items, 1):
        factors = "  ".join(f"{k} {s.factors.get(k, 0):.2f}" for k in WEIGHTS)
        view = views.get(s.claim_id)
        point = members.get(s.candidate.cluster_id or -1, [])
        lines += [
            f"{rank}. {view.headline if view else ''}  [{s.score:.3f}]",
            f"   {one_line((view.lead + ' ' + view.text) if view else s.candidate.text, 4000)}",
            f"   claim {s.claim_id} · {one_line(sources.get(s.source_id, '?'), 60)} · topic {s.topic or '-'}"
            f" ({s.candidate.stance})",
            f"   point #{s.candidate.cluster_id}: {len(point)} claim(s) from "
            f"{len({p[1] for p in point})} source(s): {', '.join(sorted({one_line(source_name(p[2], p[3]), 40) for p in point})) or '-'}",
            f"   why: {s.reason or '-'}",
            f"   other side: claim {s.counter_claim_id}" if s.counter_claim_id else "   other side: none",
            f"   {factors}" + (f"  boost {s.candidate.boost:+.2f}" if s.candidate.boost else ""),
        ]
    stored = digest_id_for(db, day.isoformat())
    if stored is not None:
        ids = [i["claim_id"] for i in digest_items(db, stored)]
        lines += ["", f"Already built as digest #{stored} (claims {', '.join(map(str, ids))}); it will not change."]
    return "\n".join(lines)
