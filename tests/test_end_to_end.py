"""The walking skeleton end to end: samples -> KB -> claims -> Datasette over HTTP -> digest."""
from __future__ import annotations

import email
import email.policy
import json
import sqlite3
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from digest.insight import clean, split_speaker
from tests.conftest import running_server

SEEDS = Path(__file__).resolve().parent.parent.parent / "shared" / "seeds"

BLOOMBERG = "Bloomberg spent eight figures on BloombergGPT, only for GPT-4 to make it obsolete weeks later."
TOKENS = "At least 10 billion high-quality tokens are needed"
VOICE_BOTS = "voice bots"


def insightkb(kb: Path, *args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "insightkb", "--kb", str(kb), *args],
        cwd=cwd, capture_output=True, text=True, check=check, timeout=600,
    )


def counts(kb: Path) -> dict[str, int]:
    conn = sqlite3.connect(kb)
    tables = ["sources", "documents", "passages", "claims", "claim_topics", "quantities", "entities",
              "digests", "digest_items"]
    out = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}
    conn.close()
    return out


@pytest.fixture(scope="module")
def demo_kb(tmp_path_factory) -> tuple[Path, Path]:
    """The demo run once on a fresh KB (without serving): (kb path, working dir)."""
    work = tmp_path_factory.mktemp("demo")
    kb = work / "insightkb.db"
    result = insightkb(kb, "demo", "--no-serve", cwd=work)
    assert "built (#" in result.stdout, result.stdout + result.stderr
    return kb, work


def _claim(conn: sqlite3.Connection, fragment: str) -> dict:
    conn.row_factory = sqlite3.Row
    rows = conn.execute("SELECT * FROM claims WHERE text LIKE ?", [f"%{fragment}%"]).fetchall()
    assert len(rows) == 1, f"expected one claim containing {fragment!r}, got {len(rows)}"
    return dict(rows[0])


def test_kb_holds_documents_from_all_four_seeds(demo_kb) -> None:
    kb, _ = demo_kb
    conn = sqlite3.connect(kb)
    texts = [r[0] for r in conn.execute("SELECT text FROM documents")]
    for seed in sorted(SEEDS.glob("*.txt")):
        lines = [line for line in seed.read_text(encoding="utf-8").splitlines() if len(line) > 80]
        probe = lines[1][:60] if len(lines) > 1 else lines[0][:60]
        assert any(probe in t for t in texts), f"{seed.name}: {probe!r} not in any document"


def test_seed_claims_are_tagged(demo_kb) -> None:
    kb, _ = demo_kb
    conn = sqlite3.connect(kb)
    bloomberg = _claim(conn, BLOOMBERG)
    stance = conn.execute(
        "SELECT stance FROM claim_topics WHERE claim_id = ? AND topic = 'finetuning-obsolescence'",
        [bloomberg["id"]],
    ).fetchone()
    assert stance is not None and stance[0] == "supports"

    tokens = _claim(conn, TOKENS)
    topics = {r[0] for r in conn.execute("SELECT topic FROM claim_topics WHERE claim_id = ?", [tokens["id"]])}
    assert "token-thresholds" in topics
    quantities = conn.execute("SELECT value, unit FROM quantities WHERE claim_id = ?", [tokens["id"]]).fetchall()
    assert (1e10, "tokens") in [(float(v), u) for v, u in quantities]

    latency = _claim(conn, VOICE_BOTS)
    topics = {r[0] for r in conn.execute("SELECT topic FROM claim_topics WHERE claim_id = ?", [latency["id"]])}
    assert "latency" in topics


def test_boilerplate_is_not_a_claim(demo_kb) -> None:
    kb, _ = demo_kb
    conn = sqlite3.connect(kb)
    for text in ("See you next week", "We scan new podcasts and send you the top 5 insights daily"):
        assert conn.execute("SELECT count(*) FROM claims WHERE text LIKE ?", [f"%{text}%"]).fetchone()[0] == 0


def test_digest_has_five_traceable_items_and_is_valid_multipart(demo_kb) -> None:
    kb, work = demo_kb
    conn = sqlite3.connect(kb)
    items = conn.execute(
        "SELECT c.text, d.url, s.url FROM digest_items i JOIN claims c ON c.id = i.claim_id"
        " JOIN documents d ON d.id = c.document_id JOIN sources s ON s.id = d.source_id"
    ).fetchall()
    assert len(items) == 5
    assert all(source_url for _, _, source_url in items)
    emls = list((work / "outbox").rglob("*.eml"))
    assert emls, "no .eml in the outbox"
    msg = email.message_from_bytes(emls[0].read_bytes(), policy=email.policy.default)
    assert msg.get_content_type() == "multipart/alternative"
    parts = {p.get_content_type(): p.get_content() for p in msg.iter_parts()}
    assert set(parts) >= {"text/plain", "text/html"}
    plain = " ".join(parts["text/plain"].split())
    for claim_text, _, _ in items:  # as shown: cleaned of bullets and markup, maybe after a lead
        assert split_speaker(clean(claim_text), None)[1][:40] in plain


def test_running_again_adds_nothing(demo_kb) -> None:
    kb, work = demo_kb
    before = counts(kb)
    insightkb(kb, "ingest", cwd=work)
    insightkb(kb, "extract", cwd=work)
    insightkb(kb, "demo", "--no-serve", cwd=work)
    assert counts(kb) == before


def test_missing_source_file_is_one_line_error_and_others_still_ingested(tmp_path) -> None:
    kb = tmp_path / "kb.db"
    good = Path(__file__).resolve().parent.parent / "samples" / "feeds" / "podinsights.xml"
    missing = tmp_path / "gone.xml"
    missing.write_bytes(good.read_bytes())
    insightkb(kb, "sources", "add", str(missing), "--kind", "rss", cwd=tmp_path)
    missing.unlink()  # the file disappears after it was added
    insightkb(kb, "sources", "add", str(good), "--kind", "rss", cwd=tmp_path)
    result = insightkb(kb, "ingest", cwd=tmp_path, check=False)
    error_lines = [line for line in result.stdout.splitlines() if str(missing) in line]
    assert len(error_lines) == 1 and "not found" in error_lines[0], result.stdout + result.stderr
    assert result.returncode == 1
    assert counts(kb)["documents"] == 2


def test_datasette_serves_the_claims_over_http(demo_kb, tmp_path) -> None:
    kb, work = demo_kb
    with running_server(kb, cwd=work) as base:
        db_name = kb.stem
        query = urllib.parse.urlencode({"_shape": "array", "_size": "max"})
        with urllib.request.urlopen(f"{base}/{db_name}/claims.json?{query}", timeout=10) as resp:
            rows = json.load(resp)
        texts = [r["text"] for r in rows]
        for fragment in (BLOOMBERG, TOKENS, VOICE_BOTS):
            assert any(fragment in t for t in texts), fragment
