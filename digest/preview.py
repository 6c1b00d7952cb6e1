"""`digest preview`: the five the ranking would pick for a date, with scores, factors and reasons."""
from __future__ import annotations

import datetime as dt

import sqlite_utils

from digest.options import DigestOptions
from digest.ranking import WEIGHTS, rank_claims
from digest.render import one_line
from kb.digests import digest_id_for, digest_items


def preview_digest(db: sqlite_utils.Database, day: dt.date, options: DigestOptions) -> str:
    """A plain-text table of the picks (nothing is stored)."""
    ranking = rank_claims(db, day, options)
    sources = dict(db.execute("SELECT id, COALESCE(title, url) FROM sources").fetchall())
    lines = [
        f"Digest preview for {day.isoformat()}: window {ranking.window_start:%Y-%m-%d %H:%M} to "
        f"{ranking.window_end:%Y-%m-%d %H:%M} {options.timezone}; {ranking.considered} candidates"
        f" ({ranking.fallback} older unsent), {ranking.excluded_repeats} repeats of recent digests excluded.",
        "",
    ]
    if not ranking.items:
        lines.append("No claims to pick.")
    for rank, s in enumerate(ranking.items, 1):
        factors = "  ".join(f"{k} {s.factors.get(k, 0):.2f}" for k in WEIGHTS)
        lines += [
            f"{rank}. [{s.score:.3f}] {one_line(s.candidate.text, 160)}",
            f"   claim {s.claim_id} · {one_line(sources.get(s.source_id, '?'), 60)} · topic {s.topic or '-'}"
            f" ({s.candidate.stance})",
            f"   why: {s.reason or '-'}",
            f"   {factors}" + (f"  boost {s.candidate.boost:+.2f}" if s.candidate.boost else ""),
        ]
    stored = digest_id_for(db, day.isoformat())
    if stored is not None:
        ids = [i["claim_id"] for i in digest_items(db, stored)]
        lines += ["", f"Already built as digest #{stored} (claims {', '.join(map(str, ids))}); it will not change."]
    return "\n".join(lines)
