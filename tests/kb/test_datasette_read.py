"""Researchers' side through datasette.client: metadata, facets, search, canned queries, bad input."""
from __future__ import annotations

import json

import pytest

from kb.serve import build_metadata

QUERIES = sorted(build_metadata("kb")[0]["databases"]["kb"]["queries"])


async def test_every_table_and_view_has_a_title_and_description(ds) -> None:
    meta = build_metadata("kb")[0]["databases"]["kb"]["tables"]
    names = await ds.get_database("kb").table_names() + await ds.get_database("kb").view_names()
    hidden = await ds.get_database("kb").hidden_table_names()
    missing = [n for n in names if n not in hidden and not (meta.get(n, {}).get("title") and meta[n].get("description"))]
    assert missing == []


async def test_claims_table_columns_are_described(ds) -> None:
    html = (await ds.client.get("/kb/claims")).text
    assert "whole reading of the claim" in html
    assert "Claims" in html


async def test_claims_by_topic_facets(ds) -> None:
    r = await ds.client.get("/kb/claims_by_topic.json?topic=finetuning-obsolescence&_extra=facet_results")
    data = r.json()
    facets = data["facet_results"]
    assert {"topic", "stance", "source_id", "kind", "status", "month"} <= set(facets)
    stances = {f["value"]: f["count"] for f in facets["stance"]["results"]}
    assert stances == {"supports": 4, "opposes": 2}
    sources = {f["label"] for f in facets["source_id"]["results"]}
    assert "Podcast insights" in sources


async def test_full_text_search_from_the_table_page_uses_porter_stemming(ds) -> None:
    rows = (await ds.client.get("/kb/claims.json?_search=improves&_shape=array")).json()
    assert any("base models improve" in r["text"] for r in rows)
    assert any("improving so rapidly" in r["text"] for r in rows)
    docs = (await ds.client.get("/kb/documents.json?_search=interpretability&_shape=array")).json()
    assert len(docs) == 1


@pytest.mark.parametrize("path", [
    "/kb/claims_detail.json", "/kb/stance_by_week.json", "/kb/contested_topics.json",
    "/kb/quantities_by_unit.json", "/kb/claims_by_entity.json?entity=Bloomberg",
    "/kb/topic_stance_weekly.csv", "/kb/claims_by_topic.csv?topic=latency", "/kb/claims_detail.csv",
])
async def test_views_and_exports(ds, path: str) -> None:
    r = await ds.client.get(path)
    assert r.status_code == 200, r.text[:300]
    if path.endswith(".json") or ".json?" in path:
        assert r.json()["rows"]


async def test_contested_topics_view(ds) -> None:
    rows = (await ds.client.get("/kb/contested_topics.json?_shape=array")).json()
    assert [r["topic"] for r in rows] == ["finetuning-obsolescence"]
    assert rows[0]["supporting_sources"] >= 2 and rows[0]["opposing_sources"] == 1


def _query_url(name: str, ext: str = ".json") -> str:
    args = {
        "stance_over_time": "topic=finetuning-obsolescence", "who_says_what": "topic=finetuning-obsolescence&stance=",
        "numbers_on_topic": "topic=latency", "claims_mentioning": "entity=bloomberg",
        "changed_since": "since=2000-01-01", "digest_claims": "digest=2026-11-20",
        "contested_claims": "topic=finetuning-obsolescence", "search_claims": "q=obsolete",
        "point_sources": "point=1",
    }[name]
    return f"/kb/{name}{ext}?{args}&_shape=array"


async def test_there_are_at_least_six_canned_queries_with_parameters(ds) -> None:
    assert len(QUERIES) >= 6
    html = (await ds.client.get("/kb/stance_over_time")).text
    assert 'name="topic"' in html  # shown as a form


@pytest.mark.parametrize("name", QUERIES)
async def test_canned_query_runs_and_exports(ds, seeded, name: str) -> None:
    from kb import open_db

    db = open_db(seeded[0])
    digest_id = db.execute("INSERT INTO digests (date, subject, text_body, html_body) VALUES ('2026-11-20', 's', 't', 'h')").lastrowid
    db.execute("INSERT INTO digest_items (digest_id, rank, claim_id, score) SELECT ?, 1, id, 1.0 FROM claims"
               " WHERE text LIKE 'Bloomberg spent%'", [digest_id])
    db.conn.commit()
    if name == "point_sources":  # points are kept by the extract step; this KB was stored directly
        from kb.clusters import assign_clusters

        assert not db.execute("SELECT count(*) FROM points").fetchone()[0]
        with db.conn:  # the Bloomberg claim first: it starts point 1
            assign_clusters(db, [r[0] for r in db.execute("SELECT id FROM claims WHERE text LIKE 'Bloomberg spent%'")]
                            + [r[0] for r in db.execute("SELECT id FROM claims WHERE text NOT LIKE 'Bloomberg spent%'")])
    r = await ds.client.get(_query_url(name))
    assert r.status_code == 200, r.text[:300]
    rows = r.json()
    assert rows, name
    text = json.dumps(rows)
    expected = {"stance_over_time": "supports", "who_says_what": "Bloomberg", "numbers_on_topic": "0.6 seconds faster",
                "claims_mentioning": "BloombergGPT", "changed_since": "new claim", "digest_claims": "Bloomberg",
                "contested_claims": "opposes", "search_claims": "obsolete",
                "point_sources": "Bloomberg"}[name]
    assert expected in text
    csv = await ds.client.get(_query_url(name, ".csv"))
    assert csv.status_code == 200 and csv.text.count("\n") >= 2


@pytest.mark.parametrize("url, message", [
    ("/kb/stance_over_time.json", "missing parameter 'topic'"),
    ("/kb/stance_over_time.json?topic=", "missing parameter 'topic'"),
    ("/kb/stance_over_time.json?topic=nonsense", "unknown topic 'nonsense'"),
    ("/kb/who_says_what.json?topic=latency&stance=maybe", "must be one of supports, opposes, neutral"),
    ("/kb/changed_since.json?since=yesterday", "must be a date"),
    ("/kb/digest_claims.json?digest=last-week", "must be a date"),
    ("/kb/search_claims.json?q=%22unbalanced", "unbalanced double quote"),
    ("/kb/claims_mentioning.csv", "missing parameter 'entity'"),
])
async def test_bad_canned_query_parameters_get_a_clear_message(ds, url: str, message: str) -> None:
    r = await ds.client.get(url)
    assert r.status_code == 400
    assert message in r.text
    assert "Traceback" not in r.text


async def test_bad_parameter_in_the_html_form_shows_a_page_not_a_trace(ds) -> None:
    first = await ds.client.get("/kb/changed_since")
    assert first.status_code == 200 and 'name="since"' in first.text
    r = await ds.client.get("/kb/changed_since?since=31%2F12%2F2025")
    assert r.status_code == 400
    assert "must be a date like 2026-01-31" in r.text and "Traceback" not in r.text


async def test_claim_row_page_shows_paragraph_link_and_timestamp(ds, seeded) -> None:
    from tests.kb.kbfactory import claim_id

    ids = seeded[1]
    cid = claim_id(ids, "At scale, companies rarely deploy open-source models")
    html = (await ds.client.get(f"/kb/claims/{cid}")).text
    assert "In its paragraph" in html
    assert "<mark>At scale, companies rarely deploy open-source models" in html
    assert "Instead, virtually all production workloads" in html  # the rest of the paragraph
    assert "https://example.com/003_9f95000ab34f3dbb#t=65" in html  # podcast passage timestamp
    assert "No editor has changed this claim" in html


async def test_stored_html_is_shown_as_text_everywhere(ds) -> None:
    pages = ["/kb/claims?_search=claim", "/kb/claims_detail", "/kb/entities", "/kb/documents",
             "/kb/who_says_what?topic=latency&stance=", "/kb/claims_by_entity"]
    cid = (await ds.client.get("/kb/claims.json?_search=pwned&_shape=array")).json()[0]["id"]
    pages.append(f"/kb/claims/{cid}")
    for page in pages:
        html = (await ds.client.get(page)).text
        assert "<script>window.__pwned" not in html, page
        assert "<b>Evil Corp</b>" not in html, page
        assert 'onerror="window.__pwned' not in html, page
    assert "&lt;script&gt;window.__pwned" in html


async def test_triggers_keep_counts_in_step_with_decisions(seeded) -> None:
    from kb import curation, open_db

    db = open_db(seeded[0])
    def weekly(topic):
        return dict(db.execute("SELECT stance, sum(claims) FROM topic_stance_weekly WHERE topic = ? GROUP BY stance", [topic]).fetchall())
    before = weekly("finetuning-obsolescence")
    cid = db.execute("SELECT claim_id FROM claims_by_topic WHERE topic = 'finetuning-obsolescence' AND stance = 'supports' LIMIT 1").fetchone()[0]
    curation.reject(db, cid, "alice")
    assert weekly("finetuning-obsolescence")["supports"] == before["supports"] - 1
    other = db.execute("SELECT claim_id FROM claims_by_topic WHERE topic = 'finetuning-obsolescence' AND stance = 'opposes' LIMIT 1").fetchone()[0]
    curation.set_stance(db, other, "finetuning-obsolescence", "supports", "alice")
    after = weekly("finetuning-obsolescence")
    assert (after["supports"], after.get("opposes", 0)) == (before["supports"], before["opposes"] - 1)
    recount = dict(db.execute("SELECT stance, count(*) FROM claims_by_topic WHERE topic = 'finetuning-obsolescence'"
                              " AND status != 'rejected' GROUP BY stance").fetchall())
    assert recount == after


async def test_search_page_count_comes_from_the_index_and_matches_datasettes(ds) -> None:
    html = (await ds.client.get("/kb/claims?_search=models")).text
    exact = (await ds.client.get("/kb/claims.json?_search=models")).json()["filtered_table_rows_count"]
    assert exact > 5
    assert f"{exact:,} rows where search matches" in html
    filtered = (await ds.client.get("/kb/claims?_search=models&status=pending")).text  # Datasette counts itself
    assert "rows where search matches" in filtered


async def test_every_visible_column_is_described(ds) -> None:
    meta = build_metadata("kb")[0]["databases"]["kb"]["tables"]
    db = ds.get_database("kb")
    hidden = set(await db.hidden_table_names())
    missing = []
    for name in await db.table_names() + await db.view_names():
        if name in hidden or meta.get(name, {}).get("hidden"):
            continue
        described = meta.get(name, {}).get("columns") or {}
        missing += [f"{name}.{c}" for c in await db.table_columns(name) if c not in described]
    assert missing == []


async def test_json_and_csv_exports_work_for_every_visible_table_and_view(ds) -> None:
    db = ds.get_database("kb")
    hidden = set(await db.hidden_table_names())
    names = [n for n in await db.table_names() + await db.view_names() if n not in hidden]
    assert "claims" in names and "claims_detail" in names
    for name in names:
        for ext in ("json", "csv"):
            r = await ds.client.get(f"/kb/{name}.{ext}?_size=5")
            assert r.status_code == 200, (name, ext, r.text[:200])
        streamed = await ds.client.get(f"/kb/{name}.csv?_stream=on")
        assert streamed.status_code == 200, name
