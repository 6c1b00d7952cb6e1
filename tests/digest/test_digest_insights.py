"""A digest worth opening, checked on real KBs: the demo and one built from ../shared/corpus/feeds/.

Five items, none starting with an unresolved anaphor, none without a topic while topical claims
exist, no two from the same point (cluster), every "other side" taking the opposite stance on a
shared topic, no markup or bullet residue; and the points themselves (claim_clusters).
"""
from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
import subprocess
import sys
from pathlib import Path

import pytest

from digest import DigestOptions, build_digest
from digest.insight import leans_back
from digest.ranking import rank_claims
from digest.render import load_items
from digest_support import SECRET
from kb import open_db
from kb.clusters import assign_clusters, point_claims

FEEDS = Path(__file__).resolve().parents[3] / "shared" / "corpus" / "feeds"
RESIDUE = re.compile(r"(^|\s)[-*•]\s|\*\*|(?<!\w)\*\w|\w\*(?!\w)|`|\[\^|\]\(|^#+\s")

pytestmark = pytest.mark.slow


def _insightkb(kb: Path, *args: str, cwd: Path) -> str:
    out = subprocess.run([sys.executable, "-m", "insightkb", "--kb", str(kb), *args],
                         cwd=cwd, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stdout + out.stderr
    return out.stdout


@pytest.fixture(scope="module")
def demo_kb(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("demo-insights")
    _insightkb(work / "kb.db", "demo", "--no-serve", "--port", "8123", cwd=work)
    return work / "kb.db"


@pytest.fixture(scope="module")
def feeds_kb(tmp_path_factory) -> Path:
    if not FEEDS.is_dir():
        pytest.skip("../shared/corpus/feeds/ is absent")
    work = tmp_path_factory.mktemp("feeds-insights")
    kb = work / "kb.db"
    for feed in sorted(FEEDS.glob("*.xml")):
        _insightkb(kb, "sources", "add", str(feed), "--kind", "rss", cwd=work)
    _insightkb(kb, "ingest", cwd=work)
    _insightkb(kb, "extract", cwd=work)
    return kb


def _options(tmp_path: Path) -> DigestOptions:
    return DigestOptions(secret=SECRET, outbox=str(tmp_path / "outbox"), sender="Digest <digest@insightkb.test>")


def _check_digest(kb: Path, tmp_path: Path) -> None:
    db = open_db(kb)
    options = _options(tmp_path)
    day = dt.date(2030, 1, 1)  # every claim is older: the quiet-day path over the whole KB
    ranking = rank_claims(db, day, options)
    items = ranking.items
    assert len(items) == 5
    topical_exist = db.execute("SELECT EXISTS (SELECT 1 FROM claim_topics)").fetchone()[0]
    if topical_exist:
        assert all(s.candidate.topics for s in items), "an item without a topic while topical claims exist"
    clusters = [s.candidate.cluster_id for s in items]
    assert None not in clusters and len(set(clusters)) == 5, "two items make the same point"
    picks = [{"claim_id": s.claim_id, "reason": s.reason, "counter_claim_id": s.counter_claim_id} for s in items]
    views = load_items(db, picks, options)
    for view, s in zip(views, items):
        shown = view.full if hasattr(view, "full") else f"{view.lead} {view.text}".strip()
        assert not leans_back(shown), f"unresolved anaphor: {shown[:80]}"
        assert not RESIDUE.search(shown), f"markup residue: {shown[:120]}"
        assert not shown.endswith(("...", "…")), f"cut mid-sentence: {shown[-80:]}"
        assert view.headline and "\n" not in view.headline
        assert view.reason and "archive" not in view.reason
        if s.counter_claim_id:
            mine = dict(db.execute("SELECT topic, stance FROM claim_topics WHERE claim_id = ?", [s.claim_id]).fetchall())
            theirs = dict(db.execute("SELECT topic, stance FROM claim_topics WHERE claim_id = ?",
                                     [s.counter_claim_id]).fetchall())
            shared = [t for t in mine if t in theirs and {mine[t], theirs[t]} == {"supports", "opposes"}]
            assert shared, "the other side does not take the opposite stance on a shared topic"
            assert view.counter and "contested by" in view.reason
    db.conn.close()


def test_demo_digest_items_stand_alone_one_per_point(demo_kb, tmp_path):
    _check_digest(demo_kb, tmp_path)


def test_feeds_digest_items_stand_alone_one_per_point(feeds_kb, tmp_path):
    _check_digest(feeds_kb, tmp_path)


def test_points_are_visible_and_counted(feeds_kb):
    db = open_db(feeds_kb)
    total = db.execute("SELECT count(*) FROM claims").fetchone()[0]
    assert db.execute("SELECT count(*) FROM claim_clusters").fetchone()[0] == total  # every claim is in a point
    row = db.execute("SELECT id, claims, sources, summary FROM points ORDER BY claims DESC LIMIT 1").fetchone()
    assert row[1] >= 2
    members = point_claims(db, [row[0]])[row[0]]
    assert len(members) == row[1] and len({m[1] for m in members}) == row[2]
    assert row[3] == (f"{row[2]} sources make this point" if row[2] != 1 else "1 source makes this point")
    db.conn.close()


def test_demo_email_text_has_headlines_and_no_source_label_twice(demo_kb):
    outbox = demo_kb.parent / "outbox"
    [eml] = outbox.glob("digest-*.eml")
    msg = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    text = msg.get_body(("plain",)).get_content()
    assert re.search(r"^1\. (For|Against|On)\b", text, re.M)
    assert "source: source" not in text.lower()
    assert "Why this: " in text
    # links follow where the demo serves (--port 8123), as `make run PORT=8123` does
    assert "http://127.0.0.1:8123/kb/claims/" in text and ":8001" not in text


def test_digest_again_says_already_built_and_changes_nothing(demo_kb):
    work = demo_kb.parent
    before = {p: p.read_bytes() for p in (work / "outbox").rglob("*") if p.is_file()}
    config = work / "same-port.toml"
    config.write_text("[serve]\nport = 8123\n")  # where the demo served: the same links, so the same files
    out = _insightkb(demo_kb, "-c", str(config), "digest", cwd=work)
    assert "already built" in out and "nothing changed" in out and out.count("\n") == 1
    assert {p: p.read_bytes() for p in (work / "outbox").rglob("*") if p.is_file()} == before


def test_preview_shows_points_and_reasons(demo_kb):
    out = _insightkb(demo_kb, "digest", "preview", "--date", "2030-01-01", cwd=demo_kb.parent)
    assert out.count("   point #") == 5 and out.count("   why: ") == 5
    assert "source(s)" in out and "other side:" in out


def test_same_point_from_three_sources_is_one_cluster_then_one_item(db, tmp_path):
    from digest_kbdata import Spec, add_claims

    ids = add_claims(db, [
        Spec("Customising a model pays off only above ten billion tokens of clean, deduplicated data.",
             source="https://one.example/feed", hours_ago=2, topics=[("token-thresholds", "supports")]),
        Spec("Customising a model only pays off above ten billion tokens of deduplicated, clean data.",
             source="https://two.example/feed", hours_ago=3, topics=[("token-thresholds", "supports")]),
        Spec("Only above ten billion tokens of clean deduplicated data does customising a model pay off.",
             source="https://three.example/feed", hours_ago=4, topics=[("token-thresholds", "supports")]),
        Spec("Smaller fine-tuned models answer voice-bot requests with far lower latency than frontier models.",
             source="https://four.example/feed", hours_ago=5, topics=[("latency", "supports")]),
    ])
    cluster = {r[0] for r in db.execute(
        "SELECT cluster_id FROM claim_clusters WHERE claim_id IN (?, ?, ?)", ids[:3])}
    assert len(cluster) == 1
    [(claims, sources, summary)] = db.execute(
        "SELECT claims, sources, summary FROM points WHERE id = ?", [cluster.pop()]).fetchall()
    assert (claims, sources, summary) == (3, 3, "3 sources make this point")
    point = db.execute("SELECT cluster_id FROM claim_clusters WHERE claim_id = ?", [ids[0]]).fetchone()[0]
    # a different point on another topic stays apart
    assert db.execute("SELECT cluster_id FROM claim_clusters WHERE claim_id = ?", [ids[3]]).fetchone()[0] != point
    options = _options(tmp_path)
    now = dt.datetime.now(dt.timezone.utc)
    ranking = rank_claims(db, now.date(), options, now=now)
    picked = [s.claim_id for s in ranking.items]
    assert len(set(picked) & set(ids[:3])) == 1 and ids[3] in picked
    top = next(s for s in ranking.items if s.claim_id in ids[:3])
    assert "3 sources make this point" in top.reason
    [view] = load_items(db, [{"claim_id": top.claim_id, "reason": top.reason}], options)
    assert view.sources == ["one.example", "two.example", "three.example"]
    # deleting a claim keeps the counts right (triggers)
    db.execute("DELETE FROM claims WHERE id = ?", [ids[1]])
    db.conn.commit()
    assert db.execute("SELECT claims, sources FROM points WHERE id = ?", [point]).fetchone() == (2, 2)
    # re-clustering a claim is idempotent
    with db.conn:
        assign_clusters(db, [ids[2]])
    assert db.execute("SELECT claims, sources FROM points WHERE id = ?", [point]).fetchone() == (2, 2)
    # the claim that started the point, re-extracted with other words, leaves it for a point of its own
    with db.conn:
        db.execute("UPDATE claims SET text = 'Latency budgets for voice agents shrink every quarter now.' WHERE id = ?",
                   [ids[0]])
        assign_clusters(db, [ids[0]])
    assert db.execute("SELECT claims, sources FROM points WHERE id = ?", [point]).fetchone() == (1, 1)
    assert db.execute("SELECT cluster_id FROM claim_clusters WHERE claim_id = ?", [ids[0]]).fetchone()[0] != point


def test_claim_without_topic_never_beats_topical_ones(db, tmp_path):
    from digest_kbdata import Spec, add_claims

    add_claims(db, [Spec("An untagged sentence with a big number: 99% of everything changed overnight.",
                         source="https://loud.example/feed", hours_ago=1, confidence=1.0,
                         quantities=[("99%", 99.0, "%")])] + [
        Spec(f"Topical claim {n} about {t} with its own distinct vocabulary word{n} thing{n}.",
             source=f"https://s{n}.example/feed", hours_ago=10 + n, confidence=0.3, topics=[(t, "neutral")])
        for n, t in enumerate(["latency", "inference-cost", "token-thresholds", "proprietary-data", "gpu-supply"])
    ])
    now = dt.datetime.now(dt.timezone.utc)
    ranking = rank_claims(db, now.date(), _options(tmp_path), now=now)
    assert len(ranking.items) == 5 and all(s.candidate.topics for s in ranking.items)
