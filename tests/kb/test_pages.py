"""The researchers' and editors' pages through datasette.client: what they show, and how."""
from __future__ import annotations

import html
import json
import re
import urllib.parse

import pytest

from kb.serve import build_metadata
from tests.kb.conftest import csrf
from tests.kb.kbfactory import claim_id

SPECIALIZED = "For specialized, high-stakes tasks like insurance underwriting"
DASHBOARD = build_metadata("kb")[0]["plugins"]["datasette-dashboards"]["stance"]["charts"]


async def test_a_start_and_the_index_pages_log_no_errors_for_private_tables(seeded, capfd) -> None:
    from kb.serve import make_datasette

    ds = make_datasette(seeded[0])
    await ds.invoke_startup()
    for path in ("/", "/kb", "/-/databases.json", "/kb.json"):
        assert (await ds.client.get(path)).status_code == 200
    err = capfd.readouterr().err
    assert "ERROR" not in err and "not authorized" not in err, err
    hidden = await ds.get_database("kb").hidden_table_names()
    assert {"subscribers", "editors", "deliveries", "login_attempts"} <= set(hidden)
    page = (await ds.client.get("/kb")).text
    assert "subscribers" not in page
    # The private table itself stays refused.
    assert (await ds.client.get("/kb/subscribers")).status_code == 403


async def test_table_page_folds_descriptions_and_schema_and_says_when_nothing_matches(ds) -> None:
    page = (await ds.client.get("/kb/claims?text=no+such+claim")).text
    assert '<details class="ikb-about">' in page
    one_row = (await ds.client.get("/kb/claims?_size=1")).text
    assert 'title="Calibrated probability that the extractor&#39;s whole reading of the claim' in one_row  # the column header's tooltip
    assert "No rows match" in page
    schema = page[page.index('<details class="ikb-schema">'):]
    assert "CREATE TABLE" in schema
    assert page.count("CREATE TABLE") == schema.count("CREATE TABLE")  # only inside the folded schema
    assert "<title>Claims: 0 rows" in page


async def test_column_headers_carry_their_description_as_a_tooltip(ds) -> None:
    page = (await ds.client.get("/kb/claims_by_topic")).text
    assert re.search(r'<th [^>]*title="Stance toward the topic&#39;s proposition', page)
    # Facet headings read "source", not "source_id"; compound-key links read "row".
    assert '<strong title="source_id">source' in page
    assert re.search(r'<a href="/kb/claims_by_topic/\d+,[a-z-]+" title="\d+,[a-z-]+">row</a>', page)


async def test_canned_query_has_select_boxes_a_readable_title_and_claim_links(ds, seeded) -> None:
    _, ids = seeded
    page = (await ds.client.get("/kb/who_says_what?topic=finetuning-obsolescence&stance=opposes")).text
    assert "<title>Who says what on a topic: finetuning-obsolescence, opposes</title>" in page
    topic_box = re.search(r'<select id="qp\d" name="topic">(.*?)</select>', page, re.S).group(1)
    assert '<option value="finetuning-obsolescence" selected>' in topic_box
    assert "Latency (latency)" in topic_box
    stance_box = re.search(r'<select id="qp\d" name="stance">(.*?)</select>', page, re.S).group(1)
    assert '<option value="">(any)</option>' in stance_box and '<option value="opposes" selected>' in stance_box
    assert 'id="sql-query"' not in page  # SQL hidden until asked for
    specialized = claim_id(ids, SPECIALIZED)
    assert f'<a href="/kb/claims/{specialized}" title="open claim {specialized}">claim {specialized} →</a>' in page
    # Dates get a date picker, free text stays a text box.
    assert 'type="date"' in (await ds.client.get("/kb/changed_since")).text
    assert 'name="entity" value=""' in (await ds.client.get("/kb/claims_mentioning")).text


async def test_views_link_bare_ids_and_foreign_keys_keep_their_labels(ds) -> None:
    page = (await ds.client.get("/kb/claims_detail?_size=5")).text
    assert re.search(r'<a href="/kb/claims/\d+" title="open claim \d+">claim \d+ →</a>', page)
    assert re.search(r'<a href="/kb/sources/\d+" title="open source \d+">source \d+ →</a>', page)
    topics_page = (await ds.client.get("/kb/claim_topics?_size=3")).text
    assert "claim 1 →" not in topics_page  # an expanded foreign key shows its label instead


async def test_home_page_for_researchers_and_editors(ds, seeded, editor_cookies) -> None:
    from kb import open_db

    db = open_db(seeded[0])
    db.execute("UPDATE sources SET failure_count = 3, last_error = 'HTTP 503 from the feed' WHERE title = 'Maligned'")
    db.conn.commit()
    claims = db.execute("SELECT count(*) FROM claims").fetchone()[0]
    pending = db.execute("SELECT count(*) FROM claims WHERE status = 'pending'").fetchone()[0]
    db.conn.close()
    page = (await ds.client.get("/")).text
    assert f"<strong>{claims:,}</strong>" in page
    assert "Maligned</a> (email), 3 failures: HTTP 503 from the feed" in page
    for name in build_metadata("kb")[0]["databases"]["kb"]["queries"]:
        assert f'href="/kb/{name}"' in page
    assert "Who says what on a topic</a></dt>" in page and "The newest 200 claims on a topic" in page
    assert 'href="/-/dashboards/stance"' in page and 'href="/-/digests"' in page
    assert '<a href="/-/login">log in</a>' in page and "Curation queue" not in page
    editor_page = (await ds.client.get("/", cookies=editor_cookies)).text
    assert f"{pending:,} claims awaiting review" in editor_page
    assert 'href="/-/curation"' in editor_page


async def test_editor_pages_ask_anonymous_visitors_to_log_in_with_a_link(ds) -> None:
    for path in ("/-/curation", "/-/curation/taxonomy"):
        response = await ds.client.get(path)
        assert response.status_code == 403
        assert '<a href="/-/login">log in</a>' in response.text


async def test_queue_shows_propositions_cues_and_puts_the_filtered_topic_first(ds, seeded, editor_cookies) -> None:
    _, ids = seeded
    page = (await ds.client.get("/-/curation?topic=proprietary-data", cookies=editor_cookies)).text
    card = page[page.index(f'id="claim-{claim_id(ids, SPECIALIZED)}"'):]
    rows = re.findall(r'<div class="ikb-topic-row[^"]*" data-topic="([a-z-]+)"', card)
    assert rows[:2] == ["proprietary-data", "finetuning-obsolescence"]
    assert "ikb-topic-row ikb-filtered" in card
    assert html.unescape(card).count("“Proprietary data is what makes") == 1
    assert "cues: <q>cue</q>" in card


async def test_undo_puts_the_last_decision_back_once(ds, seeded, editor_cookies) -> None:
    from kb import open_db

    _, ids = seeded
    cid = claim_id(ids, SPECIALIZED)
    headers = {"x-csrftoken": editor_cookies["ds_csrftoken"], "accept": "application/json"}
    post = lambda path, data: ds.client.post(path, data=data, cookies=editor_cookies, headers=headers)
    r = await post(f"/-/curation/claims/{cid}", {"action": "remove_topic", "topic": "proprietary-data",
                                                  "csrftoken": editor_cookies["ds_csrftoken"]})
    assert r.json()["ok"] and "pending" in r.json()
    r = await post(f"/-/curation/claims/{cid}", {"action": "reject", "csrftoken": editor_cookies["ds_csrftoken"]})
    assert r.json()["claim"]["status"] == "rejected"
    r = await post("/-/curation/undo", {"csrftoken": editor_cookies["ds_csrftoken"]})
    assert r.json()["ok"] and r.json()["undid"] == "reject" and r.json()["claim"]["status"] == "pending"
    assert "reject undone" in r.json()["message"]
    again = await post("/-/curation/undo", {"csrftoken": editor_cookies["ds_csrftoken"]})
    assert again.status_code == 409 and "no decision left to undo" in again.json()["error"]
    db = open_db(seeded[0])
    assert db.execute("SELECT status FROM claims WHERE id = ?", [cid]).fetchone() == ("pending",)
    assert db.execute("SELECT action FROM curation_log ORDER BY id DESC LIMIT 1").fetchone() == ("undo",)
    db.conn.close()
    # Without the CSRF token nothing happens.
    refused = await ds.client.post("/-/curation/undo", data={}, cookies=editor_cookies)
    assert refused.status_code == 403


def test_undo_of_a_topic_removal_brings_the_topic_back(seeded) -> None:
    from kb import curation, open_db

    _, ids = seeded
    cid = claim_id(ids, SPECIALIZED)
    db = open_db(seeded[0])
    before = curation.claim_state(db, cid)
    curation.remove_topic(db, cid, "proprietary-data", "alice")
    assert "proprietary-data" not in curation.claim_state(db, cid)["topics"]
    result = curation.undo_last(db, "alice")
    assert result["undid"] == "remove_topic"
    assert curation.claim_state(db, cid) == before
    with pytest.raises(curation.NothingToUndo):
        curation.undo_last(db, "bob")
    db.conn.close()


def test_describe_change_reads_like_a_sentence() -> None:
    from kb.curation import describe_change

    before = {"status": "pending", "boost": 0, "topics": {"latency": "supports", "gpu-supply": "neutral"}}
    after = {"status": "approved", "boost": 2.5, "topics": {"latency": "opposes", "open-weights": "neutral"}}
    assert describe_change(before, after) == [
        "boost: 0 → 2.5", "status: pending → approved",
        "− topic gpu-supply (neutral)", "topic latency: supports → opposes", "+ topic open-weights (neutral)"]
    assert describe_change(None, {"slug": "x"}) == ['(none) → {"slug": "x"}']
    assert describe_change(before, before) == []


def test_queue_orders_by_uncertainty_once_probabilities_exist(seeded) -> None:
    from kb import curation, open_db

    db = open_db(seeded[0])
    plain = [c["id"] for c in curation.queue(db, limit=5)]
    confidences = [c["confidence"] for c in curation.queue(db, limit=5)]
    assert confidences == sorted(confidences)  # today's order until there are probabilities
    if not curation.has_topic_probability(db):
        db.execute("ALTER TABLE claim_topics ADD COLUMN probability REAL")
    rows = db.execute("SELECT claim_id, topic FROM claim_topics ORDER BY claim_id, topic").fetchall()
    for n, (cid, topic) in enumerate(rows):
        db.execute("UPDATE claim_topics SET probability = ? WHERE claim_id = ? AND topic = ?",
                   [0.05 + (n % 10) / 10, cid, topic])
    db.conn.commit()
    queued = curation.queue(db, limit=50)
    closeness = [c["uncertainty"] for c in queued if c["uncertainty"] is not None]
    assert closeness == sorted(closeness) and closeness[0] == pytest.approx(0.05)
    assert [c["id"] for c in queued[:5]] != plain
    on_topic = curation.queue(db, topic="finetuning-obsolescence", limit=50)
    assert [c["uncertainty"] for c in on_topic] == sorted(c["uncertainty"] for c in on_topic)
    assert all(c["topics"][0]["topic"] == "finetuning-obsolescence" for c in on_topic)
    db.conn.close()


async def test_curation_log_page_shows_changes_not_json(ds, seeded) -> None:
    from kb import curation, open_db

    _, ids = seeded
    db = open_db(seeded[0])
    curation.set_stance(db, claim_id(ids, SPECIALIZED), "proprietary-data", "opposes", "alice")
    db.conn.close()
    page = (await ds.client.get("/kb/curation_log")).text
    assert "topic proprietary-data: supports → opposes" in page
    assert "pending; finetuning-obsolescence (opposes), proprietary-data (supports)" in page
    assert "&#34;topics&#34;" not in page and '{"boost"' not in page
    raw = (await ds.client.get("/kb/curation_log.json?_shape=array")).json()
    assert json.loads(raw[-1]["after"])["topics"]["proprietary-data"] == "opposes"  # exports keep the JSON


async def test_dashboard_tables_escape_content_and_link_inside_the_site(ds, seeded) -> None:
    from kb import open_db

    db = open_db(seeded[0])
    db.execute("UPDATE sources SET title = '<img src=x onerror=alert(1)>' WHERE title = 'Podcast insights II'")
    db.conn.commit()
    db.conn.close()
    for slug in ("who-says", "contested-week", "numbers", "contested", "over-time", "by-topic"):
        sql = DASHBOARD[slug]["query"]
        url = "/kb.json?" + urllib.parse.urlencode({"sql": sql, "topic": "finetuning-obsolescence", "_shape": "array"})
        response = await ds.client.get(url)
        assert response.status_code == 200, (slug, response.text[:300])
        for row in response.json():
            for value in row.values():
                text = str(value)
                assert "<img" not in text
                for href in re.findall(r'href="([^"]*)"', text):
                    assert href.startswith("/kb/"), href
    who = (await ds.client.get("/kb.json?" + urllib.parse.urlencode(
        {"sql": DASHBOARD["who-says"]["query"], "topic": "finetuning-obsolescence", "_shape": "array"}))).json()
    assert any("&lt;img src=x onerror=alert(1)&gt;" in r["source"] for r in who)
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", r["since"]) for r in who)
    weeks = (await ds.client.get("/kb.json?" + urllib.parse.urlencode(
        {"sql": DASHBOARD["over-time"]["query"], "topic": "finetuning-obsolescence", "_shape": "array"}))).json()
    mondays = sorted({r["week"] for r in weeks})
    assert len(weeks) == 3 * len(mondays)  # every week, every stance, zero-filled
    import datetime as dt
    assert all(dt.date.fromisoformat(w).weekday() == 0 for w in mondays)


def test_bench_finds_the_seeds_beside_the_repository() -> None:
    from pathlib import Path

    import bench.datasette as bench

    repo = Path(bench.__file__).resolve().parents[1]
    assert bench.SEEDS == repo.parent / "shared" / "seeds"
    if bench.SEEDS.is_dir():
        assert len(bench.sentences()) > 20
