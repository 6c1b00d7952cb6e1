"""Headless Chromium clicks every link on a claim page and on the curation queue of a real
`insightkb serve` whose documents carry script links: no dialog, no script, no write, and no
navigation anywhere but http(s)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import running_server
from tests.kb.kbfactory import build_kb
from tests.security.conftest import run_cli

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
SCRIPT_LINKS = [
    "javascript:alert('pwned by link')",
    "java\tscript:alert('pwned by tab')",
    "JAVASCRIPT:window.__pwned=1",
    "data:text/html,<script>alert(1)</script>",
    "https://trusted.example@evil.example/",
    "vbscript:msgbox(1)",
]

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="no /usr/bin/chromium")]


@pytest.fixture
def hostile_server(tmp_path: Path):
    from kb import open_db

    kb = tmp_path / "insightkb.db"
    build_kb(kb)
    db = open_db(kb)
    docs = [r[0] for r in db.execute("SELECT id FROM documents ORDER BY id").fetchall()]
    for n, doc_id in enumerate(docs):  # old rows, written before the URL policy
        db.execute("UPDATE documents SET url = ? WHERE id = ?", [SCRIPT_LINKS[n % len(SCRIPT_LINKS)], doc_id])
    claims = [db.execute("SELECT min(id) FROM claims WHERE document_id = ?", [d]).fetchone()[0] for d in docs]
    db.conn.commit()
    db.conn.close()
    assert run_cli(kb, "editors", "add", "alice", input="s3cret-pass\ns3cret-pass\n").returncode == 0
    with running_server(kb, cwd=tmp_path, env={k: v for k, v in os.environ.items() if k != "INSIGHTKB_SECRET"}) as base:
        yield base, kb, claims


def _curation_log_count(kb: Path) -> int:
    from kb import open_db

    db = open_db(kb)
    try:
        return db["curation_log"].count
    finally:
        db.conn.close()


def not_pwned(page) -> bool:
    """window.__pwned is unset once the page has settled (a click may still be navigating)."""
    from playwright.sync_api import Error

    for _ in range(20):
        try:
            page.wait_for_load_state()
            return page.evaluate("window.__pwned === undefined")
        except Error:
            page.wait_for_timeout(100)
    raise AssertionError("the page never settled")


def click_every_link(context, url: str) -> int:
    """Open `url`, click each of its links in turn (reloading between clicks); return how many."""
    page = context.new_page()
    page.goto(url)
    count = page.locator("a[href]").count()
    assert count > 5
    for i in range(count):
        page.goto(url)
        link = page.locator("a[href]").nth(i)
        if not link.is_visible():
            link.evaluate("a => a.click()")
        else:
            link.click(timeout=5000, no_wait_after=True)
        assert not_pwned(page), url
    page.close()
    return count


def test_clicking_every_link_runs_nothing_and_goes_nowhere_but_http(hostile_server, output_dir):
    from playwright.sync_api import sync_playwright

    base, kb, claims = hostile_server
    before = _curation_log_count(kb)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        context = browser.new_context()
        dialogs: list[str] = []
        navigations: list[str] = []
        requests: list[str] = []

        def on_page(page):
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.on("framenavigated", lambda frame: navigations.append(frame.url))

        context.on("page", on_page)

        def route(route_, request):
            requests.append(request.url)
            if request.url.startswith(base):
                route_.continue_()
            else:
                route_.abort()  # the test machine is offline; the URL was recorded

        context.route("**/*", route)
        # Log in as an editor, then click through a claim page per document and the queue.
        login = context.new_page()
        login.goto(base + "/-/login")
        login.fill("input[name='username']", "alice")
        login.fill("input[name='password']", "s3cret-pass")
        login.locator("input[type='submit'], button[type='submit']").first.click()
        login.wait_for_load_state()
        login.close()
        clicked = 0
        for claim in claims:
            clicked += click_every_link(context, f"{base}/insightkb/claims/{claim}")
        clicked += click_every_link(context, f"{base}/-/curation")
        page = context.new_page()
        page.goto(f"{base}/-/curation")
        page.screenshot(path=str(output_dir / "curation_queue_with_script_links.png"), full_page=True)
        browser.close()

    assert clicked > 50
    assert dialogs == []
    # chrome-error:// is Chromium's own page for the external http(s) requests the route aborted.
    bad = [u for u in navigations + requests
           if not u.startswith(("http://", "https://")) and u not in ("about:blank", "chrome-error://chromewebdata/")]
    assert bad == []
    assert not any("evil.example" in u for u in navigations + requests)
    assert _curation_log_count(kb) == before  # a link click never wrote anything
