"""Readers steer the digest: feedback links clicked in headless Chromium against the real
`insightkb serve`, after a real SMTP delivery (aiosmtpd), change that reader's next ranking only;
the preferences page saves topics, frequency and pause. Screenshots go to the tests' output folder.
"""
from __future__ import annotations

import os
import re
import shutil
from dataclasses import replace

import pytest

from digest import build_digest, deliver_digest
from digest.build import Personaliser
from digest_kbdata import NOW
from digest_support import SECRET, smtp_options
from kb.feedback import reader_weights
from kb.subscribers import add_subscriber, get_subscriber
from tests.conftest import running_server

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not shutil.which(CHROMIUM), reason="needs /usr/bin/chromium")]


@pytest.fixture
def server(kb_path, seeded, tmp_path):
    with running_server(kb_path, cwd=tmp_path, env={**os.environ, "INSIGHTKB_SECRET": SECRET}) as base:
        yield base


def _links(html: str, kind: str) -> list[str]:
    return re.findall(r'href="([^"]+/feedback/\d+/' + kind + ')"', html)


def test_feedback_clicked_in_chromium_changes_that_readers_next_ranking_only(
        seeded, options, smtp_server, server, output_dir):
    from playwright.sync_api import sync_playwright

    options = replace(options, base_url=server)
    add_subscriber(seeded, "ada@example.org")
    add_subscriber(seeded, "bob@example.org")
    digest_id = build_digest(seeded, NOW.date(), options)
    deliver_digest(seeded, digest_id, options, smtp_options(smtp_server.port))
    msg = next(r.message for r in smtp_server.handler.accepted if r.rcpt_tos == ["ada@example.org"])
    html = msg.get_body(("html",)).get_content()
    less, more = _links(html, "less"), _links(html, "more")
    assert len(less) == len(more) == 5 and all(u.startswith(server + "/-/reader/") for u in less + more)
    prefs_url = re.search(r'href="([^"]+/preferences)"', html).group(1)
    ada, bob = get_subscriber(seeded, "ada@example.org"), get_subscriber(seeded, "bob@example.org")
    before_ada = [p["claim_id"] for p in Personaliser(seeded, digest_id, options).picks_for([], reader_weights(seeded, ada.id))]
    before_bob = [p["claim_id"] for p in Personaliser(seeded, digest_id, options).picks_for([], reader_weights(seeded, bob.id))]
    assert before_ada == before_bob
    first = before_ada[0]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            for name, width in (("desktop", 1280), ("phone", 375)):
                page = browser.new_page(viewport={"width": width, "height": 900})
                page.set_content(html)
                page.screenshot(path=str(output_dir / f"email-{name}.png"), full_page=True)
                assert page.evaluate("document.documentElement.scrollWidth") <= width
                page.close()
            page = browser.new_page(viewport={"width": 1000, "height": 900})
            # a GET alone (a link scanner) records nothing
            page.goto(less[0])
            assert page.locator("#confirm").is_visible()
            assert reader_weights(seeded, ada.id) == {"topic": {}, "source": {}}
            page.click("#confirm")
            assert "Thanks, noted" in page.content()
            for url in less[1:3]:
                page.goto(url)
                page.click("#confirm")
            page.goto(more[4])
            page.click("#confirm")
            # the preferences page: no account, just the signed link
            page.goto(prefs_url)
            page.check("input[name=topic][value=latency]")
            page.check("input[name=frequency][value=weekly]")
            page.screenshot(path=str(output_dir / "preferences.png"), full_page=True)
            page.click("#save")
            assert page.locator("#saved").is_visible()
            page.screenshot(path=str(output_dir / "preferences-saved.png"), full_page=True)
            # a forged token is refused
            bad = page.goto(prefs_url.replace("/-/reader/", "/-/reader/x"))
            assert bad.status == 404
        finally:
            browser.close()
    weights = reader_weights(seeded, ada.id)
    assert weights["topic"] and weights["source"]
    assert reader_weights(seeded, bob.id) == {"topic": {}, "source": {}}
    after_ada = [p["claim_id"] for p in Personaliser(seeded, digest_id, options).picks_for([], weights)]
    after_bob = [p["claim_id"] for p in Personaliser(seeded, digest_id, options).picks_for([], reader_weights(seeded, bob.id))]
    assert after_bob == before_bob  # nobody else's digest moves
    assert after_ada != before_ada
    assert after_ada[0] != first  # "less like this" on the top item moved it down (or out)
    assert before_ada[4] in after_ada and after_ada.index(before_ada[4]) < 4  # "more like this" moved it up
    ada = get_subscriber(seeded, "ada@example.org")
    assert ada.topics == ["latency"] and ada.frequency == "weekly" and not ada.paused
    totals = dict(((k, key), (m, l)) for k, key, m, l in seeded.execute("SELECT kind, key, more, less FROM feedback_totals"))
    assert sum(v[1] for (k, _), v in totals.items() if k == "source") == 3
    assert (output_dir / "email-phone.png").stat().st_size > 10_000


def test_paused_and_weekly_readers_are_held(seeded, options, smtp_server):
    import datetime as dt

    from kb.feedback import save_preferences

    for who in ("daily@example.org", "paused@example.org", "weekly@example.org"):
        add_subscriber(seeded, who)
    save_preferences(seeded, get_subscriber(seeded, "paused@example.org").id, topics=[], frequency="daily", paused=True)
    save_preferences(seeded, get_subscriber(seeded, "weekly@example.org").id, topics=[], frequency="weekly", paused=False)
    day = NOW.date()
    not_monday = day if day.weekday() != 0 else day + dt.timedelta(days=1)
    report = deliver_digest(seeded, build_digest(seeded, not_monday, options), options, smtp_options(smtp_server.port))
    assert smtp_server.handler.by_rcpt() == {"daily@example.org": 1} and report.held == 2
