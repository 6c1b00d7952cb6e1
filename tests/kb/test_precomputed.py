"""Precomputed counts stay equal to a fresh count after inserts, curation edits and re-extraction;
the pages that read them show what Datasette's own SQL would; cached search counts follow writes."""
from __future__ import annotations


from kb import curation, open_db
from kb.claims import save_claims
from kb.records import Claim, TopicTag
from kb.datasette_plugin.facets import COUNTED_COLUMNS
from tests.kb.kbfactory import reextract

FACETS = sorted(COUNTED_COLUMNS)


def recount(db) -> dict[tuple, int]:
    """topic_facet_counts as it should be, counted from claims_by_topic."""
    truth: dict[tuple, int] = {}
    for column in FACETS:
        for topic, value, n in db.execute(
                f"SELECT topic, {column}, count(*) FROM claims_by_topic WHERE {column} IS NOT NULL"
                f" GROUP BY topic, {column}").fetchall():
            truth[(topic, "*", column, value)] = n
        for topic, stance, value, n in db.execute(
                f"SELECT topic, stance, {column}, count(*) FROM claims_by_topic WHERE {column} IS NOT NULL"
                f" GROUP BY topic, stance, {column}").fetchall():
            truth[(topic, stance, column, value)] = n
    return truth


def stored(db) -> dict[tuple, int]:
    return {(t, s, f, v): n for t, s, f, v, n in db.execute(
        "SELECT topic, stance, facet, value, claims FROM topic_facet_counts WHERE claims != 0")}


# contested_topics as migration 030 computed it, from claims_by_topic directly.
CONTESTED_DIRECTLY = """
SELECT slug, sup, opp FROM (
    SELECT t.slug,
        (SELECT count(DISTINCT source_id) FROM claims_by_topic x
         WHERE x.topic = t.slug AND x.stance = 'supports' AND x.status != 'rejected') AS sup,
        (SELECT count(DISTINCT source_id) FROM claims_by_topic x
         WHERE x.topic = t.slug AND x.stance = 'opposes' AND x.status != 'rejected') AS opp
    FROM topics t)
WHERE sup > 0 AND opp > 0 AND (sup > 1 OR opp > 1 OR EXISTS (
    SELECT 1 FROM claims_by_topic a JOIN claims_by_topic b ON b.topic = a.topic
    WHERE a.topic = slug AND a.stance = 'supports' AND b.stance = 'opposes'
      AND a.status != 'rejected' AND b.status != 'rejected' AND a.source_id != b.source_id))
ORDER BY slug"""


def in_step(db) -> bool:
    """Every precomputed count equals a fresh count (facets, sources per stance, contested topics)."""
    sources = {(t, s, src): n for t, s, src, n in db.execute(
        "SELECT topic, stance, source_id, count(*) FROM claims_by_topic WHERE status != 'rejected'"
        " GROUP BY topic, stance, source_id")}
    kept = {(t, s, src): n for t, s, src, n in db.execute(
        "SELECT topic, stance, source_id, claims FROM topic_stance_sources")}
    contested = db.execute("SELECT topic, supporting_sources, opposing_sources FROM contested_topics ORDER BY topic").fetchall()
    assert kept == sources
    assert contested == db.execute(CONTESTED_DIRECTLY).fetchall()
    assert stored(db) == recount(db)
    return True


def test_facet_counts_follow_inserts_curation_and_reextraction(seeded) -> None:
    path, ids = seeded
    db = open_db(path)
    assert in_step(db) and stored(db)
    # Inserts: a new document's claims, one with two topics.
    doc = db.execute("SELECT id FROM documents ORDER BY id LIMIT 1").fetchone()[0]
    fresh = [Claim(document_id=doc, start_char=10_000 + i, end_char=10_010 + i, text=f"New claim {i}.", confidence=0.5,
                   topics=[TopicTag("latency", "opposes", 0.7, []), TopicTag("gpu-supply", "supports", 0.6, [])])
             for i in range(3)]
    existing = list(db.query("SELECT * FROM claims WHERE document_id = ?", [doc]))
    keep = [Claim(document_id=doc, start_char=r["start_char"], end_char=r["end_char"], text=r["text"],
                  confidence=r["confidence"]) for r in existing]
    save_claims(db, doc, keep + fresh, "test-1")
    assert in_step(db)
    # Curation: reject, approve, change a stance, add and remove topics, reset.
    cid = db.execute("SELECT claim_id FROM claims_by_topic WHERE topic = 'finetuning-obsolescence' LIMIT 1").fetchone()[0]
    curation.reject(db, cid, "alice")
    other = db.execute("SELECT claim_id FROM claims_by_topic WHERE topic = 'finetuning-obsolescence'"
                       " AND claim_id != ? LIMIT 1", [cid]).fetchone()[0]
    curation.approve(db, other, "alice")
    curation.set_stance(db, other, "finetuning-obsolescence", "opposes", "alice")
    curation.add_topic(db, other, "latency", "alice")
    assert in_step(db)
    curation.remove_topic(db, other, "latency", "alice")
    curation.reset(db, cid, "alice")
    assert in_step(db)
    # A document moving to another source (and date) moves its claims' source, kind and month.
    source = db.execute("SELECT id FROM sources ORDER BY id DESC LIMIT 1").fetchone()[0]
    db.execute("UPDATE documents SET source_id = ?, published = '2025-01-02T00:00:00Z' WHERE id = ?", [source, doc])
    db.conn.commit()
    assert in_step(db)
    assert not db.execute("SELECT count(*) FROM topic_facet_counts WHERE claims < 0").fetchone()[0]
    db.conn.close()
    # Re-extraction replaces extractor topics (editor decisions stay).
    reextract(path)
    db = open_db(path)
    assert in_step(db)
    # Deleting claims (a document dropped) takes their counts away.
    db.execute("DELETE FROM claims WHERE document_id = ?", [doc])
    db.conn.commit()
    assert in_step(db)
    db.conn.close()


async def _facets(ds, query: str) -> dict[str, dict]:
    data = (await ds.client.get(f"/kb/claims_by_topic.json?{query}&_extra=facet_results&_facet_size=max")).json()
    return {name: {(r["value"], r["label"], r["count"], r["selected"]) for r in f["results"]}
            for name, f in data["facet_results"].items()}


async def test_precomputed_facets_equal_datasettes_own_after_an_edit(ds, seeded) -> None:
    db = open_db(seeded[0])
    cid = db.execute("SELECT claim_id FROM claims_by_topic WHERE topic = 'finetuning-obsolescence'"
                     " AND stance = 'supports' LIMIT 1").fetchone()[0]
    curation.set_stance(db, cid, "finetuning-obsolescence", "opposes", "alice")
    db.conn.close()
    for query in ("topic=finetuning-obsolescence", "", "topic=latency", "topic=finetuning-obsolescence&stance=opposes",
                  "stance=supports", "stance=opposes&topic=finetuning-obsolescence&_sort=claim_id"):
        counted = await _facets(ds, query)
        assert set(counted) == set(FACETS)
        # The same rows with a no-op `_where`: the fast path steps aside, Datasette's GROUP BYs count.
        plain = (await ds.client.get(
            f"/kb/claims_by_topic.json?{query}&_where=1&_extra=facet_results&_facet_size=max")).json()["facet_results"]
        for column in FACETS:
            theirs = {(r["value"], r["count"]) for r in plain[column]["results"]}
            assert {(v, n) for v, _, n, _ in counted[column]} == theirs, column
    stances = {v: n for v, _, n, _ in (await _facets(ds, "topic=finetuning-obsolescence"))["stance"]}
    assert stances == {"supports": 3, "opposes": 3}


async def test_a_narrower_filter_still_facets_correctly(ds) -> None:
    facets = await _facets(ds, "topic=finetuning-obsolescence&stance=opposes")
    assert {(v, n) for v, _, n, _ in facets["stance"]} == {("opposes", 2)}
    assert all(n <= 2 for name in facets for _, _, n, _ in facets[name])


async def test_cached_search_count_follows_writes(ds, seeded) -> None:
    from kb.datasette_plugin.search_count import forget_counts

    forget_counts()
    first = (await ds.client.get("/kb/claims?_search=models")).text
    again = (await ds.client.get("/kb/claims?_search=models")).text
    exact = (await ds.client.get("/kb/claims.json?_search=models")).json()["filtered_table_rows_count"]
    assert f"{exact:,} rows where search matches" in first and f"{exact:,} rows where search matches" in again
    db = open_db(seeded[0])
    doc = db.execute("SELECT id FROM documents ORDER BY id LIMIT 1").fetchone()[0]
    db.execute("INSERT INTO claims (document_id, start_char, end_char, text, extractor_version)"
               " VALUES (?, 90000, 90010, 'Bigger models win.', 't')", [doc])
    db.conn.commit()
    db.conn.close()
    after = (await ds.client.get("/kb/claims?_search=models")).text
    assert f"{exact + 1:,} rows where search matches" in after


async def test_static_plugin_config_is_remembered_login_accounts_are_not(ds, seeded) -> None:
    from kb.datasette_plugin.accounts import forget_cache
    from kb.editors import set_editor

    dashboards = ds.plugin_config("datasette-dashboards")
    assert "stance" in dashboards and ds.plugin_config("datasette-dashboards") is dashboards
    assert not any("bob" in key for key in ds.plugin_config("datasette-auth-passwords") or {})
    db = open_db(seeded[0])
    set_editor(db, "bob", "another long password")
    db.conn.commit()
    db.conn.close()
    forget_cache()
    assert any("bob" in key for key in ds.plugin_config("datasette-auth-passwords"))


def test_a_kb_with_the_first_shape_of_the_facet_counts_is_rebuilt(seeded) -> None:
    """Migration 036 rebuilds topic_facet_counts for KBs that applied 032 before it had stances."""
    path = seeded[0]
    db = open_db(path)
    db.conn.executescript("""
        DROP TRIGGER tfc_after_insert; DROP TRIGGER tfc_after_delete; DROP TRIGGER tfc_after_update;
        DROP TABLE topic_facet_counts;
        CREATE TABLE topic_facet_counts (topic TEXT NOT NULL, facet TEXT NOT NULL, value NOT NULL,
            claims INTEGER NOT NULL, PRIMARY KEY (topic, facet, value)) WITHOUT ROWID;
        CREATE TRIGGER tfc_after_insert AFTER INSERT ON claims_by_topic BEGIN
            INSERT INTO topic_facet_counts VALUES (new.topic, 'topic', new.topic, 1)
            ON CONFLICT (topic, facet, value) DO UPDATE SET claims = claims + 1;
        END;
        DELETE FROM schema_migrations WHERE version = 36;
    """)
    db.conn.close()
    db = open_db(path)
    assert "stance" in {c.name for c in db["topic_facet_counts"].columns}
    assert in_step(db)
    db.conn.close()
