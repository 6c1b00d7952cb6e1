"""One browser session per kind of user, in headless Chromium against `insightkb serve` as a real
process: what each sees on screen, at 1280 and 390 px (screenshots in tests/output/<test>/)."""
from __future__ import annotations

import csv
import datetime as dt
import io
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import running_server
from tests.kb.kbfactory import SEEDS, build_kb, claim_id

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
SPECIALIZED = "For specialized, high-stakes tasks like insurance underwriting"
AT_SCALE = "At scale, companies rarely deploy open-source models"
PASSWORD = "s3cret-pass"

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="no /usr/bin/chromium"),
              pytest.mark.skipif(not SEEDS.is_dir(), reason="no seed documents in ../shared/seeds")]


@pytest.fixture
def server(tmp_path: Path):
    """A KB published this month, an editor alice, `insightkb serve` running on it."""
    kb = tmp_path / "insightkb.db"
    month = dt.date.today().strftime("%Y-%m")
    ids = build_kb(kb, month=month)
    added = subprocess.run([sys.executable, "-m", "insightkb", "--kb", str(kb), "editors", "add", "alice"],
                           input=f"{PASSWORD}\n{PASSWORD}\n", capture_output=True, text=True, timeout=120)
    assert added.returncode == 0, added.stderr
    with running_server(kb, cwd=tmp_path, env={**os.environ, "INSIGHTKB_SECRET": ""}) as base:
        yield base, kb, ids, month


def query(kb: Path, sql: str, params=()) -> list[tuple]:
    conn = sqlite3.connect(kb)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def no_horizontal_overflow(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"page is {width}px wide at {page.viewport_size['width']}px"


def shoot(page, output_dir: Path, name: str) -> None:
    """Screenshots of the current page at 1280x900 (what shows without scrolling) and 390 px (whole page)."""
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(output_dir / f"{name}-1280.png"))
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(output_dir / f"{name}-390.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})


def test_researcher_finds_opposing_claims_this_month_opens_one_and_exports_csv(server, output_dir: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, kb, ids, month = server
    opposing = query(kb, "SELECT claim_id FROM claims_by_topic WHERE stance = 'opposes' AND month = ?", [month])
    assert len(opposing) == 2  # the two seed sentences tagged "opposes"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)

        # The home page says what the KB holds and where to start.
        page.goto(base + "/")
        figures = page.locator(".ikb-figures")
        expect(figures).to_contain_text(f"{query(kb, 'SELECT count(*) FROM claims')[0][0]:,}")
        expect(figures).to_contain_text("claims")
        expect(page.locator("main, .content, body").first).to_contain_text("Who says what on a topic")
        expect(page.get_by_role("link", name="log in")).to_have_attribute("href", "/-/login")
        shoot(page, output_dir, "home")

        # The claims table leads with its rows: the first row is on screen at 1280x900.
        page.goto(base + "/insightkb/claims")
        first_row = page.locator("table.rows-and-columns tbody tr").first
        box = first_row.bounding_box()
        assert box is not None and box["y"] + 40 < 900, f"first claim row starts at y={box and box['y']}"
        expect(page.locator("dl.column-descriptions")).to_be_hidden()  # folded into "About this table"
        assert page.title().startswith("Claims")
        shoot(page, output_dir, "claims")

        # Facet claims by topic: stance "opposes", then this month.
        page.goto(base + "/")
        page.get_by_role("link", name="Claims by topic").first.click()
        page.locator(".facet-info[data-column='stance'] a", has_text="opposes").click()
        page.wait_for_url("**stance=opposes**")
        page.locator(".facet-info[data-column='month'] a", has_text=month).click()
        page.wait_for_url(f"**month={month}**")
        expect(page.locator("h3").first).to_contain_text("2 rows")
        rows = page.locator("table.rows-and-columns tbody tr")
        expect(rows).to_have_count(2)
        expect(rows.filter(has_text=SPECIALIZED[:40])).to_have_count(1)
        expect(rows.filter(has_text=AT_SCALE[:40])).to_have_count(1)
        expect(page.locator(".facet-info[data-column='source_id'] .facet-info-name")).to_contain_text("source")
        assert "," not in page.locator("td.col-Link").first.inner_text()  # "row", not "85,finetuning-..."
        shoot(page, output_dir, "opposing-this-month")
        filtered_url = page.url

        # Open one claim: its sentence in its paragraph, its history.
        rows.filter(has_text=AT_SCALE[:40]).locator("td.col-claim_id a").click()
        page.wait_for_url(f"**/insightkb/claims/{claim_id(ids, AT_SCALE)}")
        expect(page.locator(".ikb-claim mark")).to_contain_text(AT_SCALE)
        expect(page.locator(".ikb-claim")).to_contain_text("finetuning-obsolescence (opposes)")
        shoot(page, output_dir, "claim")

        # Export the filtered rows as CSV (a download, as a user gets it).
        page.goto(filtered_url)
        page.locator("#export input[name='_dl']").check()
        with page.expect_download() as download_info:
            page.locator("#export input[type='submit']").click()
        text = Path(download_info.value.path()).read_text(encoding="utf-8")
        exported = list(csv.DictReader(io.StringIO(text)))
        assert len(exported) == 2
        assert {r["stance"] for r in exported} == {"opposes"}
        assert {r["month"] for r in exported} == {month}
        assert any(AT_SCALE[:30] in r.get("claim_id_label", "") + r.get("claim_id", "") for r in exported)

        # A canned query: a readable title, a select box of topics, claim ids as links.
        page.goto(base + "/insightkb/who_says_what")
        topic_box = page.locator("select[name='topic']")
        expect(topic_box).to_be_visible()
        topic_box.select_option("finetuning-obsolescence")
        page.locator("select[name='stance']").select_option("opposes")
        page.get_by_role("button", name="Show results").or_(page.locator("input[value='Show results']")).click()
        page.wait_for_url("**topic=finetuning-obsolescence**")
        assert page.title() == "Who says what on a topic: finetuning-obsolescence, opposes"
        expect(page.locator("pre#sql-query")).to_have_count(0)  # the SQL is one click away, not in the way
        link = page.locator("td.col-claim_id a").first
        expect(link).to_have_text(re.compile(r"claim \d+"))
        expect(page.locator("table.rows-and-columns tbody tr")).to_have_count(2)
        shoot(page, output_dir, "who-says-what")

        # The dashboard: weekly axis labelled by Mondays, the contested table not cut off.
        page.goto(base + "/-/dashboards/stance?topic=finetuning-obsolescence")
        page.wait_for_selector("#chart-over-time svg", timeout=20000)
        page.wait_for_selector("#chart-who-says table", timeout=20000)
        ticks = page.locator("#chart-over-time svg .role-axis-label text").all_text_contents()
        assert ticks and not any("PM" in t or "AM" in t for t in ticks), ticks
        assert any(re.fullmatch(r"\d{4}-\d{2}-\d{2}", t) for t in ticks), ticks  # weeks by their Monday
        expect(page.locator("#chart-who-says table")).to_contain_text("Podcast insights")
        contested = page.locator("#chart-contested table")
        expect(contested).to_contain_text("Fine-tuning obsolescence")
        box, chart = contested.bounding_box(), page.locator("#chart-contested").bounding_box()
        assert box["x"] + box["width"] <= chart["x"] + chart["width"] + 1
        shoot(page, output_dir, "dashboard")
        browser.close()


def test_editor_clears_ten_claims_with_the_keyboard_undoes_one_and_reads_the_log(server, output_dir: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    base, kb, ids, month = server
    pending_before = query(kb, "SELECT count(*) FROM claims WHERE status = 'pending'")[0][0]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})

        # The queue asks for a login, with a link to it.
        response = page.goto(base + "/-/curation")
        assert response.status == 403
        page.get_by_role("link", name="log in").click()
        page.wait_for_url("**/-/login")
        page.fill("input[name='username']", "alice")
        page.fill("input[name='password']", PASSWORD)
        page.locator("input[type='submit'], button[type='submit']").first.click()

        # The home page shows the queue and its size.
        page.goto(base + "/")
        expect(page.locator(".ikb-editor")).to_contain_text(f"{pending_before:,} claims awaiting review")
        page.get_by_role("link", name="Curation queue").click()
        page.wait_for_url("**/-/curation")
        expect(page.locator("#ikb-pending")).to_have_text(f"{pending_before:,}")
        page.evaluate("window.__sameDocument = true")

        # Ten decisions with the keyboard only: a, r, a, r ... each moves the focus to the next card.
        decided = []
        for n in range(10):
            card = page.locator(".ikb-card.ikb-focus")
            claim = int(card.get_attribute("data-claim"))
            assert page.evaluate("document.activeElement.dataset.claim") == str(claim)
            key = "a" if n % 2 == 0 else "r"
            page.keyboard.press(key)
            expect(page.locator("#ikb-status")).to_contain_text(f"Claim {claim}: {'approve' if key == 'a' else 'reject'} saved")
            expect(page.locator(f"#claim-{claim}")).to_have_class(re.compile("ikb-done"))
            decided.append((claim, "approved" if key == "a" else "rejected"))
            if n == 9:
                shoot(page, output_dir, "queue-after-ten")
        expect(page.locator("#ikb-pending")).to_have_text(f"{pending_before - 10:,}")
        assert page.evaluate("window.__sameDocument") is True  # no reload happened
        for claim, status in decided:
            assert query(kb, "SELECT status FROM claims WHERE id = ?", [claim])[0][0] == status

        # u undoes the last decision: the claim is pending again and its card has the focus.
        last_claim = decided[-1][0]
        page.keyboard.press("u")
        expect(page.locator("#ikb-status")).to_contain_text(f"Claim {last_claim}: reject undone")
        expect(page.locator(f"#claim-{last_claim}")).not_to_have_class(re.compile("ikb-done"))
        assert page.evaluate("document.activeElement.dataset.claim") == str(last_claim)
        assert query(kb, "SELECT status FROM claims WHERE id = ?", [last_claim])[0][0] == "pending"
        expect(page.locator("#ikb-pending")).to_have_text(f"{pending_before - 9:,}")

        # With a topic filter, 2 sets the stance toward the filtered topic, shown with its proposition.
        specialized = claim_id(ids, SPECIALIZED)
        page.goto(base + "/-/curation?topic=proprietary-data")
        card = page.locator(f"#claim-{specialized}")
        expect(card.locator(".ikb-topic-row[data-topic='proprietary-data'] .ikb-proposition")).to_be_visible()
        expect(card.locator(".ikb-topic-row[data-topic='proprietary-data'] .ikb-cues")).to_contain_text("cue")
        expect(card).to_have_class(re.compile("ikb-focus"))
        page.keyboard.press("2")
        expect(page.locator("#ikb-status")).to_contain_text(f"Claim {specialized}: stance saved")
        stances = dict(query(kb, "SELECT topic, stance FROM claim_topics WHERE claim_id = ?", [specialized]))
        assert stances == {"proprietary-data": "opposes", "finetuning-obsolescence": "opposes"}
        expect(card.locator(".ikb-topic-row[data-topic='proprietary-data'] select.ikb-stance")).to_have_value("opposes")

        # The phone layout: no sideways scrolling.
        page.goto(base + "/-/curation")
        page.set_viewport_size({"width": 390, "height": 844})
        no_horizontal_overflow(page)
        page.set_viewport_size({"width": 1280, "height": 900})
        shoot(page, output_dir, "queue")

        # The log reads as changes, not JSON.
        page.get_by_role("link", name="Curation log").click()
        table = page.locator("table.rows-and-columns")
        expect(table).to_contain_text("status: pending → approved")
        expect(table).to_contain_text("status: rejected → pending")  # the undo
        expect(table).to_contain_text("topic proprietary-data: supports → opposes")
        expect(table).not_to_contain_text('{"boost"')
        shoot(page, output_dir, "curation-log")
        browser.close()
