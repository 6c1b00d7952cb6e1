"""The HTML digest rendered in headless Chromium at desktop and phone width (screenshots kept)."""
from __future__ import annotations

import shutil

import pytest

from digest import build_digest, write_outbox
from digest_kbdata import NOW

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.mark.skipif(not shutil.which(CHROMIUM), reason="needs /usr/bin/chromium")
def test_digest_reads_well_on_desktop_and_phone(seeded, options, output_dir):
    from playwright.sync_api import sync_playwright

    seeded.execute("UPDATE claims SET status = 'approved' WHERE text LIKE 'The true cost%'")
    seeded.conn.commit()
    page_path = write_outbox(seeded, build_digest(seeded, NOW.date(), options), options)[1]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            for name, width in (("desktop", 1280), ("phone", 375)):
                page = browser.new_page(viewport={"width": width, "height": 900})
                page.goto(page_path.as_uri())
                page.screenshot(path=str(output_dir / f"digest-{name}.png"), full_page=True)
                # nothing overflows sideways: no horizontal scrolling on a phone
                assert page.evaluate("document.documentElement.scrollWidth") <= width
                box = page.locator(".container").bounding_box()
                assert box["width"] <= min(width, 622)
                assert page.locator(".item").count() == 5
                claim_px = page.evaluate(
                    "parseFloat(getComputedStyle(document.querySelector('.claim')).fontSize)")
                assert claim_px >= 16
                page.close()
        finally:
            browser.close()
    assert (output_dir / "digest-phone.png").stat().st_size > 10_000
