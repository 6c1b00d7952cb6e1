"""The editors' Sources page (/-/sources, insightkb.sources_web) in-process: editors only, CSRF,
pause / resume / edit / add with the one check, each change logged in curation_log."""
from __future__ import annotations

import json

from tests.kb.conftest import csrf


def _messages(ds, response) -> list[str]:
    return [m for m, _ in ds.unsign(response.cookies["ds_messages"], "messages")]


def _source(seeded, source_id: int = 1):
    from kb import open_db
    from kb.sources import get_source

    db = open_db(seeded[0])
    try:
        return get_source(db, source_id)
    finally:
        db.conn.close()


async def test_only_editors_see_and_change_sources(ds, seeded) -> None:
    assert (await ds.client.get("/-/sources")).status_code == 403
    token = await csrf(ds)
    researcher = {"ds_actor": ds.sign({"a": {"id": "researcher"}}, "actor"), "ds_csrftoken": token}
    assert (await ds.client.get("/-/sources", cookies=researcher)).status_code == 403
    r = await ds.client.post("/-/sources/1", data={"action": "pause", "csrftoken": token}, cookies=researcher)
    assert r.status_code == 403
    r = await ds.client.post("/-/sources/add", data={"url": "https://x.example/", "csrftoken": token}, cookies=researcher)
    assert r.status_code == 403
    assert _source(seeded).state == "active"


async def test_editor_pauses_resumes_edits_and_is_logged(ds, seeded, editor_cookies) -> None:
    from kb import open_db

    r = await ds.client.get("/-/sources", cookies=editor_cookies)
    assert r.status_code == 200 and 'name="csrftoken"' in r.text and 'id="source-1"' in r.text
    no_token = await ds.client.post("/-/sources/1", data={"action": "pause"},
                                    cookies={"ds_actor": editor_cookies["ds_actor"]})
    assert no_token.status_code == 403 and _source(seeded).state == "active"  # CSRF
    form = {"csrftoken": editor_cookies["ds_csrftoken"]}
    r = await ds.client.post("/-/sources/1", data={**form, "action": "pause"}, cookies=editor_cookies)
    assert r.status_code == 302 and _source(seeded).state == "paused"
    assert "now paused" in _messages(ds, r)[0]
    page = await ds.client.get("/-/sources", cookies=editor_cookies)
    assert 'data-state="paused"' in page.text and ">Resume</button>" in page.text
    r = await ds.client.post("/-/sources/1", data={**form, "action": "refresh"}, cookies=editor_cookies)
    assert _messages(ds, r) == ["source 1 is paused: resume it first"]
    await ds.client.post("/-/sources/1", data={**form, "action": "resume"}, cookies=editor_cookies)
    r = await ds.client.post("/-/sources/1", data={**form, "action": "edit", "interval": "30m", "tags": "labs, weekly",
                                                   "full_text": "on"}, cookies=editor_cookies)
    s = _source(seeded)
    assert (s.state, s.interval_seconds, s.tags, s.full_text) == ("active", 1800, ["labs", "weekly"], True)
    r = await ds.client.post("/-/sources/1", data={**form, "action": "edit", "interval": "5 parsecs"},
                             cookies=editor_cookies)
    assert "use seconds or 15m / 1h / 1d, or auto" in _messages(ds, r)[0] and _source(seeded).interval_seconds == 1800
    db = open_db(seeded[0])
    logged = list(db.query("SELECT actor, action, before, after FROM curation_log WHERE claim_id IS NULL ORDER BY id"))
    db.conn.close()
    assert [(row["actor"], row["action"]) for row in logged] == [
        ("alice", "source-pause"), ("alice", "source-resume"), ("alice", "source-edit")]
    assert json.loads(logged[-1]["after"])["tags"] == ["labs", "weekly"]


async def test_add_from_the_browser_runs_the_same_check(ds, seeded, editor_cookies, httpserver) -> None:
    from kb import open_db
    from kb.records import Source
    from kb.sources import add_source

    form = {"csrftoken": editor_cookies["ds_csrftoken"]}
    db = open_db(seeded[0])
    existing = add_source(db, Source(url="https://known.example/feed.xml", kind="rss", title="Known")).url
    db.conn.close()

    async def add(url: str) -> str:
        r = await ds.client.post("/-/sources/add", data={**form, "url": url}, cookies=editor_cookies)
        assert r.status_code == 302
        return _messages(ds, r)[0]

    assert (await add("javascript:alert(1)")).startswith("refused: javascript: URL")
    assert (await add("/etc/passwd")).startswith("refused: local path")
    assert (await add(existing)).startswith("already source ") and "(Known); edit it below" in await add(existing)
    httpserver.expect_request("/feed.xml").respond_with_data("<rss version='2.0'><channel><title>T</title></channel></rss>")
    # the browser never allows private addresses: a loopback feed is refused by the same fetcher
    assert (await add(f"http://127.0.0.1:{httpserver.port}/feed.xml")).startswith(
        f"cannot add http://127.0.0.1:{httpserver.port}/feed.xml: refused 127.0.0.1: resolves to loopback address")
