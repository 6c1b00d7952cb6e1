"""The Sources page in headless Chromium against `insightkb serve` as a real process: an anonymous
visitor gets 403; an editor pauses, resumes and edits a source, and a refused add says why."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import running_server
from tests.kb.kbfactory import build_kb
from tests.kb.test_browser import ARGS, CHROMIUM, insightkb

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="no /usr/bin/chromium")]


def test_sources_page_as_editor_and_as_anonymous(tmp_path: Path, output_dir: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    from kb import open_db
    from kb.sources import get_source

    kb = tmp_path / "insightkb.db"
    build_kb(kb)
    assert insightkb(kb, "editors", "add", "alice", input="s3cret-pass\ns3cret-pass\n").returncode == 0
    env = {**os.environ, "INSIGHTKB_SECRET": ""}
    with running_server(kb, cwd=tmp_path, env=env) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        assert page.goto(base + "/-/sources").status == 403

        page.goto(base + "/-/login")
        page.fill("input[name='username']", "alice")
        page.fill("input[name='password']", "s3cret-pass")
        page.locator("input[type='submit'], button[type='submit']").first.click()
        page.wait_for_load_state()
        assert page.goto(base + "/-/sources").status == 200
        row = page.locator("#source-1")
        expect(row.locator(".ikb-state")).to_have_text("active")
        row.locator("button[value='pause']").click()
        page.wait_for_load_state()
        expect(page.locator(".message-info, .message")).to_contain_text("now paused")
        expect(page.locator("#source-1 .ikb-state")).to_have_text("paused")
        page.locator("#source-1 button[value='resume']").click()
        page.wait_for_load_state()
        expect(page.locator("#source-1 .ikb-state")).to_have_text("active")

        edit = page.locator("#source-1 form.ikb-edit-source")
        edit.locator("input[name='interval']").fill("30m")
        edit.locator("input[name='tags']").fill("labs, weekly")
        edit.locator("input[name='full_text']").check()
        edit.locator("button[type='submit']").click()
        page.wait_for_load_state()
        expect(page.locator("#source-1 input[name='tags']")).to_have_value("labs, weekly")

        page.fill("form.ikb-add-source input[name='url']", "http://127.0.0.1:9/feed.xml")
        page.locator("form.ikb-add-source button").click()
        page.wait_for_load_state()
        expect(page.locator(".message-error, .message")).to_contain_text("resolves to loopback address")
        page.screenshot(path=str(output_dir / "sources_page.png"), full_page=True)
        browser.close()

    db = open_db(kb)
    s = get_source(db, 1)
    assert (s.state, s.interval_seconds, s.tags, s.full_text) == ("active", 1800, ["labs", "weekly"], True)
    actions = [r[0] for r in db.execute("SELECT action FROM curation_log WHERE actor = 'alice' ORDER BY id")]
    assert actions == ["source-pause", "source-resume", "source-edit"]
