"""End to end in headless Chromium against `insightkb serve` running as a real process."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import running_server
from tests.kb.kbfactory import build_kb, claim_id, reextract

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
BLOOMBERG = "Bloomberg spent eight figures on BloombergGPT"
SCALE = "At scale, companies rarely deploy open-source models"

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="no /usr/bin/chromium")]


def insightkb(kb: Path, *args: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "insightkb", "--kb", str(kb), *args],
                          capture_output=True, text=True, timeout=120, **kw)


@pytest.fixture
def server(tmp_path: Path):
    kb = tmp_path / "insightkb.db"
    ids = build_kb(kb)
    added = insightkb(kb, "editors", "add", "alice", input="s3cret-pass\ns3cret-pass\n")
    assert added.returncode == 0, added.stderr
    env = {**os.environ, "INSIGHTKB_SECRET": ""}
    with running_server(kb, cwd=tmp_path, env=env) as base:
        yield base, kb, ids


def test_researcher_and_editor_in_the_browser(server, output_dir: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    from kb import open_db

    base, kb, ids = server
    bloomberg, scale = claim_id(ids, BLOOMBERG), claim_id(ids, SCALE)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

        # Researcher: facet the claims by topic, then run a canned query.
        page.goto(base + "/insightkb/claims_by_topic")
        page.locator(".facet-info[data-column='topic'] a", has_text="Fine-tuning obsolescence").first.click()
        page.wait_for_url("**topic=finetuning-obsolescence**")
        expect(page.locator("h3").first).to_contain_text("6 rows")
        page.screenshot(path=str(output_dir / "claims_by_topic.png"), full_page=True)
        page.goto(base + "/insightkb/claims?_search=fine-tuning")
        expect(page.locator("h3").first).to_contain_text("rows")
        page.screenshot(path=str(output_dir / "claims.png"), full_page=True)

        page.goto(base + "/insightkb/stance_over_time")
        page.select_option("select[name='topic']", "finetuning-obsolescence")
        page.locator("form.sql input[type='submit'], form.sql button[type='submit']").first.click()
        expect(page.locator("table.rows-and-columns")).to_contain_text("supports")
        page.screenshot(path=str(output_dir / "canned_query.png"), full_page=True)

        page.goto(base + "/-/dashboards/stance?topic=finetuning-obsolescence")
        page.wait_for_selector("#vega-over-time svg, #vega-over-time canvas, .vega-embed", timeout=20000)
        page.screenshot(path=str(output_dir / "dashboard.png"), full_page=True)

        # Anonymous visitors cannot open the queue.
        assert page.goto(base + "/-/curation").status == 403

        # Editor: log in, reject one claim, change another's stance.
        page.goto(base + "/-/login")
        page.fill("input[name='username']", "alice")
        page.fill("input[name='password']", "s3cret-pass")
        page.locator("input[type='submit'], button[type='submit']").first.click()
        page.goto(base + "/-/curation?topic=finetuning-obsolescence")
        page.screenshot(path=str(output_dir / "curation_queue.png"), full_page=True)
        page.locator(f"#claim-{bloomberg} button.ikb-reject").click()
        expect(page.locator("#ikb-status")).to_contain_text(f"Claim {bloomberg}: reject saved")
        card = page.locator(f"#claim-{scale}")
        card.locator("select.ikb-stance").first.select_option("supports")
        card.locator("button.ikb-set-stance").first.click()
        expect(page.locator("#ikb-status")).to_contain_text(f"Claim {scale}: stance saved")

        # Keyboard: j moves to the next claim, a approves it.
        page.goto(base + "/-/curation?topic=finetuning-obsolescence")
        second = page.locator(".ikb-card").nth(1).get_attribute("data-claim")
        page.keyboard.press("j")
        expect(page.locator(".ikb-card").nth(1)).to_have_class(re.compile("ikb-focus"))
        page.keyboard.press("a")
        expect(page.locator("#ikb-status")).to_contain_text(f"Claim {second}: approve saved")

        page.goto(base + "/insightkb/curation_log")
        log_table = page.locator("table.rows-and-columns")
        expect(log_table).to_contain_text("reject")
        expect(log_table).to_contain_text("set_stance")
        expect(log_table).to_contain_text("alice")
        expect(log_table).to_contain_text("approve")
        page.screenshot(path=str(output_dir / "curation_log.png"), full_page=True)

        # Stored HTML never runs.
        page.goto(base + "/insightkb/claims?_search=pwned")
        assert page.evaluate("window.__pwned === undefined")
        assert dialogs == []

        # A re-extraction keeps the editor's decisions.
        reextract(kb)
        page.goto(base + f"/insightkb/claims/{scale}")
        expect(page.locator(".ikb-claim")).to_contain_text("finetuning-obsolescence (supports)")
        page.screenshot(path=str(output_dir / "claim_row.png"), full_page=True)
        browser.close()

    db = open_db(kb)
    assert db.execute("SELECT status FROM claims WHERE id = ?", [bloomberg]).fetchone() == ("rejected",)
    assert db.execute("SELECT stance, origin FROM claim_topics WHERE claim_id = ? AND topic = 'finetuning-obsolescence'",
                      [scale]).fetchone() == ("supports", "editor")
