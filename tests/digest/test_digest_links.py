"""Digest HTML, text and Atom link only what passes the URL policy, even for rows stored before it."""
from __future__ import annotations

from digest import build_digest, write_outbox
from digest_kbdata import NOW, SEED_SPECS, add_claims
from kb.digests import load_digest

TODAY = NOW.date()
OLD_ROWS = [  # the first two pass a plain "is it http(s)" check
    "https://trusted.example@evil.example/",
    "https:\\\\evil.example/x",
    "javascript:alert(document.cookie)",
    "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "file:///etc/passwd",
]


def test_old_rows_with_unsafe_links_are_not_linked(seeded, options):
    # Rows stored before the URL policy existed: written straight into the table, as an old KB has them.
    ids = [r[0] for r in seeded.execute("SELECT id FROM documents ORDER BY id").fetchall()]
    for n, doc_id in enumerate(ids):
        bad = OLD_ROWS[n % len(OLD_ROWS)]
        seeded.execute("UPDATE documents SET url = ? WHERE id = ?", [bad, doc_id])
    seeded.execute("UPDATE sources SET url = 'javascript:alert(2)' WHERE id = 1")
    seeded.conn.commit()
    digest_id = build_digest(seeded, TODAY, options)
    row = load_digest(seeded, digest_id)
    paths = write_outbox(seeded, digest_id, options)
    everything = row["html_body"] + row["text_body"] + "".join(p.read_text(encoding="utf-8") for p in paths[1:])
    for bad in OLD_ROWS + ["javascript:alert(2)"]:
        assert bad not in everything, bad
    for needle in ("javascript:", "evil.example", "data:text", "file:"):
        assert needle not in everything
    assert row["html_body"].count("See this claim in the knowledge base") == 5
    # Items whose own link was refused fall back to their source's (safe) address.
    assert "Source: maligned.example: Item 1 <https://maligned.example/newsletter>" in row["text_body"], row["text_body"]



async def test_digests_stored_before_the_policy_are_scrubbed_when_served_and_written(seeded, options, kb_path):
    from datasette.app import Datasette

    digest_id = build_digest(seeded, TODAY, options)
    old_html = load_digest(seeded, digest_id)["html_body"].replace(
        'href="https://podinsights.example/items/0"', 'href="https://trusted.example@evil.example/items/0"', 1)
    assert "evil.example" in old_html
    seeded.execute("UPDATE digests SET html_body = ? WHERE id = ?", [old_html, digest_id])
    seeded.conn.commit()
    ds = Datasette([str(kb_path)])
    page = (await ds.client.get(f"/-/digests/{TODAY}")).text
    feed = (await ds.client.get("/-/digests.atom")).text
    written = "".join(p.read_text(encoding="utf-8") for p in write_outbox(seeded, digest_id, options)[1:])
    for served in (page, feed, written):
        assert "evil.example" not in served
        assert "See this claim in the knowledge base" in served
    assert 'href="http://127.0.0.1:8001/kb/claims/' in page  # safe links stay links
