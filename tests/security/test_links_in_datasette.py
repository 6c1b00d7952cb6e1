"""Attack 2 on old rows: unsafe document links stored before the URL policy are never rendered as
links on claim pages, in the curation queue or in Datasette's own table pages."""
from __future__ import annotations

import re

import pytest

UNSAFE = [
    "javascript:fetch('/-/curation/claims/1',{method:'POST'})",
    "https://trusted.example@evil.example/",
    "java\tscript:alert(1)",
    "https:\\\\evil.example/x",
]
HREF = re.compile(r'href="([^"]*)"')


def make_old_rows_unsafe(kb_path) -> list[int]:
    """Give every document an unsafe URL, straight in SQL as a KB from before the policy has them."""
    from kb import open_db

    db = open_db(kb_path)
    ids = [r[0] for r in db.execute("SELECT id FROM documents ORDER BY id").fetchall()]
    for n, doc_id in enumerate(ids):
        db.execute("UPDATE documents SET url = ? WHERE id = ?", [UNSAFE[n % len(UNSAFE)], doc_id])
    db.conn.commit()
    claims = [db.execute("SELECT min(id) FROM claims WHERE document_id = ?", [d]).fetchone()[0] for d in ids]
    db.conn.close()
    return claims


def assert_only_safe_hrefs(html: str) -> None:
    from kb.urls import safe_link

    for href in HREF.findall(html):
        href = href.replace("&amp;", "&").replace("&#39;", "'")
        assert href.startswith(("/", "?", "#")) or safe_link(href), href
    assert "evil.example" not in " ".join(HREF.findall(html))


@pytest.mark.parametrize("editor", [False, True], ids=["anonymous", "editor"])
async def test_claim_pages_never_link_unsafe_urls(ds, seeded, editor_cookies, editor) -> None:
    claims = make_old_rows_unsafe(seeded[0])
    for claim in claims:
        response = await ds.client.get(f"/kb/claims/{claim}", cookies=editor_cookies if editor else None)
        assert response.status_code == 200
        assert "In its paragraph" in response.text
        assert_only_safe_hrefs(response.text)


async def test_curation_queue_never_links_unsafe_urls(ds, seeded, editor_cookies) -> None:
    make_old_rows_unsafe(seeded[0])
    response = await ds.client.get("/-/curation", cookies=editor_cookies)
    assert response.status_code == 200 and "ikb-card" in response.text
    assert_only_safe_hrefs(response.text)


async def test_datasette_table_pages_show_unsafe_urls_as_text(ds, seeded) -> None:
    make_old_rows_unsafe(seeded[0])
    for path in ("/kb/documents", "/kb/documents/2", "/kb/claims_detail"):
        response = await ds.client.get(path)
        assert response.status_code == 200, path
        assert_only_safe_hrefs(response.text)
    page = (await ds.client.get("/kb/documents/2")).text
    assert "https://trusted.example@evil.example/" in page  # shown, as text


async def test_a_safe_link_is_still_a_link(ds, seeded) -> None:
    from kb import open_db

    db = open_db(seeded[0])
    db.execute("UPDATE documents SET url = 'https://ok.example/item?a=1' WHERE id = 1")
    db.conn.commit()
    claim = db.execute("SELECT min(id) FROM claims WHERE document_id = 1").fetchone()[0]
    db.conn.close()
    page = (await ds.client.get(f"/kb/claims/{claim}")).text
    assert 'href="https://ok.example/item?a=1"' in page
    assert 'href="https://ok.example/item?a=1"' in (await ds.client.get("/kb/documents/1")).text
