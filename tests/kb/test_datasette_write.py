"""Permissions and curation through datasette.client: anonymous writes refused, editor writes logged."""
from __future__ import annotations

import json

import pytest

from tests.kb.conftest import EDITOR, csrf
from tests.kb.kbfactory import claim_id, reextract

BLOOMBERG = "Bloomberg spent eight figures on BloombergGPT"
SCALE = "At scale, companies rarely deploy open-source models"

WRITE_PATHS = [
    "/-/curation/claims/1",
    "/-/curation/taxonomy/edit",
    "/kb",
    "/kb/claims",
    "/kb/claims/1",
    "/kb/stance_over_time",          # canned queries are read-only
    "/kb/search_claims.json",
    "/kb/claims/-/insert",           # Datasette 1.0-style JSON write API
    "/kb/claims/-/upsert",
    "/kb/claims/1/-/update",
    "/kb/claims/1/-/delete",
    "/kb/claims/-/drop",
    "/kb/-/create",
]


def _counts(path) -> tuple:
    from kb import open_db

    db = open_db(path)
    try:
        return (db.execute("SELECT count(*), sum(status = 'rejected'), sum(editor_locked) FROM claims").fetchone(),
                db["curation_log"].count, db["topics"].count)
    finally:
        db.conn.close()


@pytest.mark.parametrize("path", WRITE_PATHS)
async def test_anonymous_gets_403_on_every_write_path(ds, seeded, path: str) -> None:
    before = _counts(seeded[0])
    form = {"action": "reject", "sql": "delete from claims", "topic": "latency", "slug": "x", "label": "x",
            "proposition": "x", "row": json.dumps({"text": "x"})}
    plain = await ds.client.post(path, data=form)
    assert plain.status_code == 403, (path, plain.status_code)
    token = await csrf(ds)
    with_token = await ds.client.post(path, data={**form, "csrftoken": token}, cookies={"ds_csrftoken": token})
    assert with_token.status_code == 403, (path, with_token.status_code)
    as_json = await ds.client.post(path, content=json.dumps({"action": "reject", "row": {"text": "x"}}),
                                   headers={"content-type": "application/json"})
    assert as_json.status_code == 403
    assert _counts(seeded[0]) == before


async def test_a_logged_in_non_editor_gets_403(ds) -> None:
    token = await csrf(ds)
    cookies = {"ds_actor": ds.sign({"a": {"id": "researcher"}}, "actor"), "ds_csrftoken": token}
    r = await ds.client.post("/-/curation/claims/1", data={"action": "approve", "csrftoken": token}, cookies=cookies)
    assert r.status_code == 403
    assert (await ds.client.get("/-/curation", cookies=cookies)).status_code == 403


async def test_queue_is_for_editors_lowest_confidence_first(ds, editor_cookies) -> None:
    assert (await ds.client.get("/-/curation")).status_code == 403
    r = await ds.client.get("/-/curation", cookies=editor_cookies)
    assert r.status_code == 200
    confidences = [float(x) for x in __import__("re").findall(r"confidence (\d\.\d\d)", r.text)]
    assert confidences and confidences == sorted(confidences)
    assert "Approve" in r.text and 'name="csrftoken"' in r.text


async def test_editor_decisions_are_logged_locked_and_survive_reextraction(ds, seeded, editor_cookies) -> None:
    from kb import open_db

    path, ids = seeded
    bloomberg, scale = claim_id(ids, BLOOMBERG), claim_id(ids, SCALE)
    token = editor_cookies["ds_csrftoken"]
    post = lambda cid, **form: ds.client.post(f"/-/curation/claims/{cid}", data={**form, "csrftoken": token},
                                              cookies=editor_cookies)
    assert (await post(bloomberg, action="reject")).status_code == 302
    r = await post(scale, action="stance", topic="finetuning-obsolescence", stance="supports")
    assert r.status_code == 302
    assert (await post(scale, action="add_topic", topic="latency", stance="opposes")).status_code == 302
    assert (await post(scale, action="add_topic", topic="gpu-supply")).status_code == 302
    assert (await post(scale, action="remove_topic", topic="gpu-supply")).status_code == 302
    assert (await post(scale, action="boost", value="2.5")).status_code == 302
    assert (await post(scale, action="approve")).status_code == 302

    db = open_db(path)
    log = list(db.query("SELECT claim_id, actor, action, before, after FROM curation_log ORDER BY id"))
    assert [(r["claim_id"], r["actor"], r["action"]) for r in log] == [
        (bloomberg, EDITOR, "reject"), (scale, EDITOR, "set_stance"), (scale, EDITOR, "add_topic"),
        (scale, EDITOR, "add_topic"), (scale, EDITOR, "remove_topic"), (scale, EDITOR, "boost"), (scale, EDITOR, "approve")]
    assert json.loads(log[0]["before"])["status"] == "pending" and json.loads(log[0]["after"])["status"] == "rejected"
    assert json.loads(log[1]["before"])["topics"]["finetuning-obsolescence"] == "opposes"
    assert json.loads(log[1]["after"])["topics"]["finetuning-obsolescence"] == "supports"
    db.conn.close()

    reextract(path)  # a new extractor version says "neutral" about everything

    db = open_db(path)
    assert db.execute("SELECT status, editor_locked FROM claims WHERE id = ?", [bloomberg]).fetchone() == ("rejected", 1)
    topics = dict(db.execute("SELECT topic, stance || '/' || origin FROM claim_topics WHERE claim_id = ?", [scale]).fetchall())
    assert topics == {"finetuning-obsolescence": "supports/editor", "latency": "opposes/editor"}
    assert db.execute("SELECT status, boost FROM claims WHERE id = ?", [scale]).fetchone() == ("approved", 2.5)
    unlocked = db.execute("SELECT extractor_version FROM claims WHERE editor_locked = 0 LIMIT 1").fetchone()
    assert unlocked == ("test-2",)  # the others were re-extracted
    db.conn.close()

    page = (await ds.client.get(f"/kb/claims/{scale}")).text
    assert "History" in page and "set_stance" in page and EDITOR in page


async def test_editor_json_api_needs_the_csrf_header(ds, seeded, editor_cookies) -> None:
    cid = claim_id(seeded[1], BLOOMBERG)
    body = json.dumps({"action": "stance", "topic": "finetuning-obsolescence", "stance": "neutral"})
    refused = await ds.client.post(f"/-/curation/claims/{cid}", content=body,
                                   headers={"content-type": "application/json"}, cookies=editor_cookies)
    assert refused.status_code == 403  # CSRF
    ok = await ds.client.post(f"/-/curation/claims/{cid}", content=body, cookies=editor_cookies,
                              headers={"content-type": "application/json", "x-csrftoken": editor_cookies["ds_csrftoken"]})
    assert ok.status_code == 200, ok.text
    assert ok.json()["claim"]["topics"]["finetuning-obsolescence"] == "neutral"


async def test_form_without_csrf_token_is_refused_for_editors(ds, editor_cookies) -> None:
    r = await ds.client.post("/-/curation/claims/1", data={"action": "approve"}, cookies=editor_cookies)
    assert r.status_code == 403


@pytest.mark.parametrize("form, message", [
    ({"action": "stance", "topic": "latency", "stance": "maybe"}, "bad stance"),
    ({"action": "stance", "topic": "no-such-topic", "stance": "supports"}, "no topic"),
    ({"action": "boost", "value": "lots"}, "bad boost"),
    ({"action": "explode"}, "unknown action"),
    ({"action": "remove_topic", "topic": "gpu-supply"}, "has no topic"),
])
async def test_bad_editor_input_is_a_clear_error_and_changes_nothing(ds, seeded, editor_cookies, form, message) -> None:
    before = _counts(seeded[0])
    r = await ds.client.post("/-/curation/claims/1", content=json.dumps(form), cookies=editor_cookies,
                             headers={"content-type": "application/json", "x-csrftoken": editor_cookies["ds_csrftoken"]})
    assert r.status_code == 400 and message in r.json()["error"]
    assert _counts(seeded[0]) == before
    missing = await ds.client.post("/-/curation/claims/999999", content=json.dumps({"action": "approve"}),
                                   cookies=editor_cookies,
                                   headers={"content-type": "application/json", "x-csrftoken": editor_cookies["ds_csrftoken"]})
    assert missing.status_code == 404


async def test_editor_edits_the_taxonomy(ds, seeded, editor_cookies) -> None:
    from kb import open_db

    token = editor_cookies["ds_csrftoken"]
    assert (await ds.client.get("/-/curation/taxonomy", cookies=editor_cookies)).status_code == 200
    for form in ({"action": "save_topic", "slug": "latency", "label": "Latency", "proposition": "Low latency wins."},
                 {"action": "save_topic", "slug": "evals", "label": "Evals", "proposition": "Evals matter most."},
                 {"action": "add_pattern", "topic": "evals", "pattern": "evaluation harness"},
                 {"action": "add_pattern", "topic": "evals", "kind": "token", "pattern": '[{"LOWER": "evals"}]'}):
        r = await ds.client.post("/-/curation/taxonomy/edit", data={**form, "csrftoken": token}, cookies=editor_cookies)
        assert r.status_code == 302
    bad = await ds.client.post("/-/curation/taxonomy/edit", cookies=editor_cookies,
                               data={"action": "add_pattern", "topic": "evals", "kind": "token", "pattern": "[{", "csrftoken": token})
    assert bad.status_code == 302  # back to the page with the message
    db = open_db(seeded[0])
    assert db.execute("SELECT proposition FROM topics WHERE slug = 'latency'").fetchone() == ("Low latency wins.",)
    assert db.execute("SELECT count(*) FROM topic_patterns WHERE origin = 'editor'").fetchone() == (2,)
    assert [r[0] for r in db.execute("SELECT action FROM curation_log ORDER BY id")] == [
        "edit_topic", "add_topic_to_taxonomy", "add_pattern", "add_pattern"]


async def test_private_tables_are_unreadable_by_anyone_over_the_web(ds, editor_cookies) -> None:
    for cookies in ({}, editor_cookies):
        for table in ("subscribers", "deliveries", "editors"):
            assert (await ds.client.get(f"/kb/{table}", cookies=cookies)).status_code == 403
            assert (await ds.client.get(f"/kb/{table}.json", cookies=cookies)).status_code == 403
        for sql in ("select * from subscribers", "select email from subscribers",
                    "with x as (select * from subscribers) select * from x",
                    "select (select group_concat(email) from subscribers)",
                    "select name, password_hash from editors", "select * from deliveries",
                    "select * from claims join subscribers on 1"):
            r = await ds.client.get("/kb.json", params={"sql": sql}, cookies=cookies)
            assert r.status_code == 400, sql
            assert "secret.reader@example.org" not in r.text and "pbkdf2" not in r.text
        assert (await ds.client.get("/kb.db", cookies=cookies)).status_code == 403
    meta = (await ds.client.get("/-/metadata.json")).text
    assert "pbkdf2" not in meta and "password_hash" not in meta
    assert "secret.reader" not in (await ds.client.get("/kb")).text


async def test_removed_editor_loses_access_at_once(ds, seeded, editor_cookies) -> None:
    from kb import open_db
    from kb.datasette_plugin.accounts import forget_cache
    from kb.editors import deactivate_editor

    assert (await ds.client.get("/-/curation", cookies=editor_cookies)).status_code == 200
    db = open_db(seeded[0])
    deactivate_editor(db, EDITOR)
    db.conn.close()
    forget_cache()
    assert (await ds.client.get("/-/curation", cookies=editor_cookies)).status_code == 403


async def test_wrong_password_does_not_log_in(ds) -> None:
    token = await csrf(ds)
    r = await ds.client.post("/-/login", data={"username": EDITOR, "password": "wrong", "csrftoken": token},
                             cookies={"ds_csrftoken": token})
    assert r.status_code == 200 and "Invalid username or password" in r.text
    assert "ds_actor" not in r.cookies


async def test_write_connection_may_read_private_tables_read_connections_may_not(ds) -> None:
    """The contract for trusted plugin code (e.g. the unsubscribe route): use execute_write_fn."""
    import sqlite3

    db = ds.get_database("kb")
    count = await db.execute_write_fn(lambda conn: conn.execute("SELECT count(*) FROM subscribers").fetchone()[0],
                                      block=True)
    assert count == 1
    with pytest.raises(sqlite3.DatabaseError):
        await db.execute("SELECT email FROM subscribers")
    assert (await db.execute("SELECT count(*) FROM claims")).first()[0] > 50


async def test_editor_switches_shipped_patterns_off_but_cannot_delete_them(ds, seeded, editor_cookies) -> None:
    from kb import open_db

    db = open_db(seeded[0])
    pid = db.execute("INSERT INTO topic_patterns (topic, pattern, origin) VALUES ('latency', '\"low latency\"', 'shipped')").lastrowid
    db.conn.commit()
    token = editor_cookies["ds_csrftoken"]
    send = lambda **form: ds.client.post("/-/curation/taxonomy/edit", content=json.dumps(form), cookies=editor_cookies,
                                         headers={"content-type": "application/json", "x-csrftoken": token})
    assert (await send(action="disable_pattern", id=pid)).status_code == 200
    refused = await send(action="remove_pattern", id=pid)
    assert refused.status_code == 400 and "switch it off instead" in refused.json()["error"]
    assert db.execute("SELECT active FROM topic_patterns WHERE id = ?", [pid]).fetchone() == (0,)
    page = (await ds.client.get("/-/curation/taxonomy", cookies=editor_cookies)).text
    assert "low latency" in page and "Switch on" in page
    assert [r[0] for r in db.execute("SELECT action FROM curation_log")] == ["disable_pattern"]


async def test_a_locked_database_is_a_clear_503_and_changes_nothing(ds, seeded, editor_cookies) -> None:
    import sqlite3

    blocker = sqlite3.connect(seeded[0], timeout=0)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        db = ds.get_database("kb")
        conn = await db.execute_write_fn(lambda c: c, block=True)
        conn.execute("PRAGMA busy_timeout = 100")  # instead of 30 s, to keep the test short
        r = await ds.client.post("/-/curation/claims/1", content=json.dumps({"action": "approve"}), cookies=editor_cookies,
                                 headers={"content-type": "application/json", "x-csrftoken": editor_cookies["ds_csrftoken"]})
        assert r.status_code == 503 and "busy" in r.json()["error"]
    finally:
        blocker.rollback()
        blocker.close()
    assert _counts(seeded[0])[1] == 0
