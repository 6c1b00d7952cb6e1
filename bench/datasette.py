"""Datasette at scale: p50/p95 over HTTP against `kb.serve` on a generated 1M-claim KB.

`python -m bench datasette [--claims N] [--documents N] [--requests N] [--regenerate]`

The KB is generated with bulk SQL (recursive CTEs, triggers on, as in production) into
bench/output/ (git-ignored) and reused by later runs. The baseline is `/-/versions.json`
served by the same process (HTTP + Datasette, no database work): each page is also reported
as a ratio to it.
"""
from __future__ import annotations

import argparse
import logging
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

OUTPUT = Path(__file__).resolve().parent / "output"
REPO = Path(__file__).resolve().parents[1]
SEEDS = REPO.parent / "shared" / "seeds"   # ../shared/seeds beside the repository, wherever it is checked out
GOAL_MS = 150.0
log = logging.getLogger(__name__)
ENTITY_NAMES = ["OpenAI", "Anthropic", "Bloomberg", "BloombergGPT", "GPT-4", "Intercom", "Cursor", "Mistral",
                "Meta", "Llama 3", "Google", "Gemini", "NVIDIA", "H100", "Microsoft", "Copilot", "Blitzy",
                "Reflection AI", "Misha Laskin", "Prime Intellect", "Tinker", "OpenEvidence", "DeepSeek", "Qwen"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sentences() -> list[str]:
    """Claim sentences from the seed documents (the bench's vocabulary)."""
    import re

    seeds = SEEDS
    if not seeds.is_dir():
        log.warning("no seed documents at %s: the bench uses one stock sentence", seeds)
    text = " ".join(p.read_text(encoding="utf-8") for p in sorted(seeds.glob("*.txt")))
    found = [s.strip() for s in re.findall(r"[^.!?\n]{30,300}[.!?]", text)]
    return found or ["Fine-tuning your own model is a poor investment."]


def generate(path: Path, claims: int, documents: int) -> float:
    """Build the KB at `path` with bulk SQL; return seconds taken."""
    from kb import open_db

    start = time.perf_counter()
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    db = open_db(path)
    conn = db.conn
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA cache_size = -512000")
    pool = sentences()
    slugs = [r[0] for r in conn.execute("SELECT slug FROM topics ORDER BY slug")]
    with conn:
        conn.execute("CREATE TEMP TABLE pool (n INTEGER PRIMARY KEY, text TEXT)")
        conn.executemany("INSERT INTO pool VALUES (?, ?)", list(enumerate(pool)))
        conn.execute("CREATE TEMP TABLE slugs (n INTEGER PRIMARY KEY, slug TEXT)")
        conn.executemany("INSERT INTO slugs VALUES (?, ?)", list(enumerate(slugs)))
        conn.execute("CREATE TEMP TABLE names (n INTEGER PRIMARY KEY, text TEXT)")
        conn.executemany("INSERT INTO names VALUES (?, ?)", list(enumerate(ENTITY_NAMES)))
        conn.execute(
            "INSERT INTO sources (url, kind, title) WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 200)"
            " SELECT 'https://feeds.example.com/' || i, CASE i % 4 WHEN 0 THEN 'rss' WHEN 1 THEN 'podcast'"
            " WHEN 2 THEN 'email' ELSE 'html' END, 'Source ' || i FROM s")
        print(f"  documents: {documents:,}", flush=True)
        np = len(pool)
        conn.execute(
            "INSERT INTO documents (id, source_id, guid, url, title, published, text, content_hash, extracted_version)"
            " WITH RECURSIVE d(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM d WHERE i < ?)"
            " SELECT i, 1 + (i * 7919) % 200, 'g' || i, 'https://example.com/item/' || i,"
            " 'Issue ' || i || ': ' || substr((SELECT text FROM pool WHERE n = i % ?), 1, 60),"
            " strftime('%Y-%m-%dT%H:%M:%SZ', '2024-11-25', '+' || ((i * 104729) % 63072000) || ' seconds'),"
            " (SELECT text FROM pool WHERE n = i % ?) || char(10) || (SELECT text FROM pool WHERE n = (i * 13) % ?),"
            " hex(randomblob(16)), 'bench'"
            " FROM d", [documents, np, np, np])
        conn.execute(
            "INSERT INTO passages (document_id, seq, start_char, end_char, start_seconds)"
            " SELECT id, 0, 0, length(text), CASE WHEN source_id % 4 = 1 THEN (id % 3000) END FROM documents")
    print(f"  claims: {claims:,} (FTS and faceting triggers on)", flush=True)
    batch = 100_000
    for lo in range(1, claims + 1, batch):
        hi = min(claims, lo + batch - 1)
        with conn:
            conn.execute(
                "INSERT INTO claims (id, document_id, start_char, end_char, text, confidence, speaker, status,"
                " editor_locked, extractor_version, created_at, updated_at)"
                " WITH RECURSIVE c(i) AS (SELECT ? UNION ALL SELECT i + 1 FROM c WHERE i < ?)"
                " SELECT i, 1 + (i - 1) % ?, (i / ?) * 3, (i / ?) * 3 + 2,"
                " (SELECT text FROM pool WHERE n = (i * 31) % ?),"
                " ((i * 2654435761) % 1000) / 1000.0,"
                " CASE WHEN i % 5 = 0 THEN (SELECT text FROM names WHERE n = i % 24) END,"
                " CASE WHEN i % 33 = 0 THEN 'rejected' WHEN i % 14 = 0 THEN 'approved' ELSE 'pending' END,"
                " CASE WHEN i % 14 = 0 OR i % 33 = 0 THEN 1 ELSE 0 END, 'bench',"
                " strftime('%Y-%m-%dT%H:%M:%SZ', '2024-11-25', '+' || ((i * 63) % 63072000) || ' seconds'),"
                " strftime('%Y-%m-%dT%H:%M:%SZ', '2024-11-25', '+' || ((i * 63) % 63072000) || ' seconds')"
                " FROM c", [lo, hi, documents, documents, documents, np])
            conn.execute(
                "INSERT INTO claim_topics (claim_id, topic, stance, score, cues)"
                " SELECT id, (SELECT slug FROM slugs WHERE n = (id * 17) % ?),"
                " CASE (id * 7) % 5 WHEN 0 THEN 'opposes' WHEN 1 THEN 'neutral' ELSE 'supports' END,"
                " 0.5 + ((id * 13) % 50) / 100.0, '[]' FROM claims WHERE id BETWEEN ? AND ?",
                [len(slugs), lo, hi])
            conn.execute(
                "INSERT OR IGNORE INTO claim_topics (claim_id, topic, stance, score, cues)"
                " SELECT id, (SELECT slug FROM slugs WHERE n = (id * 23 + 5) % ?),"
                " CASE (id * 11) % 3 WHEN 0 THEN 'opposes' ELSE 'supports' END, 0.6, '[]'"
                " FROM claims WHERE id BETWEEN ? AND ? AND id % 10 < 3", [len(slugs), lo, hi])
            conn.execute(
                "INSERT INTO quantities (claim_id, text, value, unit, kind)"
                " SELECT id, (id % 97) || ' billion tokens', (id % 97) * 1e9, 'tokens', 'count'"
                " FROM claims WHERE id BETWEEN ? AND ? AND id % 10 < 2", [lo, hi])
            conn.execute(
                "INSERT INTO quantities (claim_id, text, value, unit, kind)"
                " SELECT id, '0.' || (id % 9 + 1) || ' seconds faster', (id % 9 + 1) / 10.0, 'seconds', 'latency'"
                " FROM claims WHERE id BETWEEN ? AND ? AND id % 10 = 2", [lo, hi])
            conn.execute(
                "INSERT INTO entities (claim_id, text, label)"
                " SELECT id, (SELECT text FROM names WHERE n = (id * 5) % 24), 'ORG'"
                " FROM claims WHERE id BETWEEN ? AND ? AND id % 2 = 0", [lo, hi])
        print(f"    {hi:,}", flush=True)
    with conn:
        conn.execute(
            "INSERT INTO digests (id, date, subject, text_body, html_body)"
            " WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < 365)"
            " SELECT i, date('2025-11-25', '+' || i || ' days'), 'Digest ' || i, 't', 'h' FROM g")
        conn.execute(
            "INSERT INTO digest_items (digest_id, rank, claim_id, score)"
            " WITH RECURSIVE r(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM r WHERE k < 5)"
            " SELECT g.id, r.k, 1 + (g.id * 1000 + r.k * 37) % ?, 1.0 / r.k FROM digests g, r", [claims])
        conn.execute(
            "INSERT INTO curation_log (claim_id, actor, action, before, after, at)"
            " SELECT id, 'editor' || (id % 3), CASE WHEN status = 'rejected' THEN 'reject' ELSE 'approve' END,"
            " '{}', '{}', updated_at FROM claims WHERE editor_locked = 1 AND id % 20 = 0")
        conn.execute(
            "INSERT INTO subscribers (email) WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 1000)"
            " SELECT 'reader' || i || '@example.org' FROM s")
    conn.execute("ANALYZE")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return time.perf_counter() - start


def spellings(word: str, n: int) -> list[str]:
    """`n` distinct upper/lower-case spellings of `word` (FTS matches them all the same)."""
    letters = [i for i, ch in enumerate(word) if ch.isalpha()]
    out = []
    for k in range(1, n + 1):
        chars = list(word)
        for bit, i in enumerate(letters):
            if k >> bit & 1:
                chars[i] = chars[i].upper()
        out.append("".join(chars))
    return out


def dashboard_charts() -> dict[str, str]:
    """{chart slug: SQL} of the stance dashboard, as `kb.serve` configures it for the database "bench"."""
    from kb.serve import build_metadata

    metadata, _ = build_metadata("bench")
    charts = metadata["plugins"]["datasette-dashboards"]["stance"]["charts"]
    return {slug: chart["query"] for slug, chart in charts.items()}


def chart_url(slug: str, topic: str) -> str:
    """The JSON URL the dashboard page fetches for one chart."""
    sql = dashboard_charts()[slug]
    params = {"sql": sql, "_shape": "objects"}
    if ":topic" in sql:
        params["topic"] = topic
    return "/bench.json?" + urllib.parse.urlencode(params)


def endpoints(claims: int) -> list[tuple[str, list[str]]]:
    """(label, URLs to cycle through) for each measured page."""
    q = lambda name, **kw: f"/bench/{name}?{urllib.parse.urlencode(kw)}"
    rows = [f"/bench/claims/{1 + (i * 7919) % claims}" for i in range(50)]
    return [
        ("baseline /-/versions.json", ["/-/versions.json"]),
        ("claims by topic + 6 facets", [f"/bench/claims_by_topic?topic={t}" for t in
                                        ("latency", "finetuning-obsolescence", "gpu-supply", "open-weights")]),
        ("  ... and narrowed by stance", [f"/bench/claims_by_topic?topic={t}&stance={s}" for t, s in
                                         (("latency", "supports"), ("gpu-supply", "opposes"), ("open-weights", "neutral"))]),
        ("claims table, FTS (1-2% match)", ["/bench/claims?_search=BloombergGPT", "/bench/claims?_search=voice+bots",
                                            "/bench/claims?_search=distillation"]),
        ("claims table, FTS (17% match)", ["/bench/claims?_search=fine-tuning"]),
        # The same search spelt differently each time: a count nobody asked for before (no cache hit).
        ("  ... first time asked", [f"/bench/claims?_search={w}" for w in spellings("fine-tuning", 200)]),
        ("claim row page", rows),
        ("canned: stance_over_time", [q("stance_over_time", topic="latency"), q("stance_over_time", topic="gpu-supply")]),
        ("canned: who_says_what", [q("who_says_what", topic="latency", stance=""),
                                   q("who_says_what", topic="inference-cost", stance="opposes")]),
        ("canned: numbers_on_topic", [q("numbers_on_topic", topic="token-thresholds")]),
        ("canned: claims_mentioning", [q("claims_mentioning", entity="bloomberg"), q("claims_mentioning", entity="NVIDIA")]),
        ("canned: changed_since", [q("changed_since", since="2026-10-01")]),
        ("canned: digest_claims", [q("digest_claims", digest="2026-03-01"), q("digest_claims", digest="42")]),
        ("canned: contested_claims", [q("contested_claims", topic="finetuning-obsolescence")]),
        ("canned: search_claims", [q("search_claims", q="BloombergGPT"), q("search_claims", q="voice bots")]),
        ("home page", ["/"]),
        ("claims table, first page", ["/bench/claims"]),
        ("curation log", ["/bench/curation_log"]),
        ("stance dashboard page", ["/-/dashboards/stance?topic=latency"]),
        *[(f"dashboard chart: {slug}", [chart_url(slug, topic) for topic in ("latency", "gpu-supply")])
          for slug in dashboard_charts()],
    ]


def measure(base: str, urls: list[str], requests: int) -> list[float]:
    times = []
    for url in urls[:3]:  # warm up
        urllib.request.urlopen(base + url, timeout=60).read()
    for i in range(requests):
        url = urls[i % len(urls)]
        t = time.perf_counter()
        with urllib.request.urlopen(base + url, timeout=60) as resp:
            resp.read()
            if resp.status != 200:
                raise RuntimeError(f"{url}: HTTP {resp.status}")
        times.append((time.perf_counter() - t) * 1000)
    return times


def verify(base: str, claims: int) -> None:
    """Check the measured pages do their whole job (facets not timed out, claim page complete)."""
    import json

    url = base + "/bench/claims_by_topic.json?topic=latency&_extra=facet_results&_extra=facets_timed_out"
    with urllib.request.urlopen(url, timeout=60) as resp:
        data = json.load(resp)
    facets = sorted(data["facet_results"])
    if len(facets) < 6 or data.get("facets_timed_out"):
        raise RuntimeError(f"facets incomplete: {facets}, timed out: {data.get('facets_timed_out')}")
    import sqlite3

    conn = sqlite3.connect(f"file:{OUTPUT / 'bench.db'}?mode=ro", uri=True)
    for column in ("stance", "month", "source_id"):  # the precomputed counts equal a GROUP BY
        truth = sorted(conn.execute(f"SELECT {column}, count(*) FROM claims_by_topic WHERE topic = 'latency'"
                                    f" GROUP BY {column} ORDER BY 2 DESC, 1 LIMIT 12").fetchall())
        shown = sorted((r["value"], r["count"]) for r in data["facet_results"][column]["results"])
        if [tuple(t) for t in truth] != shown:
            raise RuntimeError(f"facet {column} differs from a fresh count: {shown} != {truth}")
    conn.close()
    with urllib.request.urlopen(f"{base}/bench/claims/{claims // 2}", timeout=60) as resp:
        if "In its paragraph" not in resp.read().decode():
            raise RuntimeError("claim page lacks its paragraph")
    print(f"checked: topic page computes {len(facets)} facets ({', '.join(facets)}), none timed out,"
          " counts equal a GROUP BY;"
          " claim page shows its paragraph")


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="bench datasette")
    parser.add_argument("--claims", type=int, default=1_000_000)
    parser.add_argument("--documents", type=int, default=50_000)
    parser.add_argument("--requests", type=int, default=40, help="requests per page")
    parser.add_argument("--regenerate", action="store_true")
    args = parser.parse_args(argv)
    OUTPUT.mkdir(parents=True, exist_ok=True)
    path = OUTPUT / "bench.db"
    marker = OUTPUT / "bench.db.size"
    wanted = f"{args.claims}/{args.documents}"
    if args.regenerate or not path.exists() or not marker.exists() or marker.read_text() != wanted:
        print(f"generating {path} ...", flush=True)
        secs = generate(path, args.claims, args.documents)
        marker.write_text(wanted)
        print(f"generated in {secs:.0f} s, {path.stat().st_size / 1e9:.2f} GB", flush=True)
    port = _free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-c", f"from kb.serve import serve; serve({str(path)!r}, port={port})"], env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(base + "/-/versions.json", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("server did not start")
                time.sleep(0.5)
        verify(base, args.claims)
        print(f"\n{args.claims:,} claims / {args.documents:,} documents, {args.requests} sequential requests per page")
        print(f"{'page':34} {'p50 ms':>8} {'p95 ms':>8} {'p95/base':>9}  goal p95<{GOAL_MS:.0f}")
        baseline = None
        for label, urls in endpoints(args.claims):
            times = measure(base, urls, args.requests)
            p50, p95 = statistics.median(times), pct(times, 95)
            baseline = baseline or p95
            ok = "ok" if p95 < GOAL_MS else "SLOW"
            print(f"{label:34} {p50:8.1f} {p95:8.1f} {p95 / baseline:8.1f}x  {ok}", flush=True)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
