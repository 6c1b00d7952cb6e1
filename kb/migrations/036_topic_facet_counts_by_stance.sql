-- Migration 032 was merged first without the stance column (facet counts per topic only), then
-- changed in place: a KB migrated in between has the old table and triggers. Rebuild both in
-- their final shape (per topic, and per topic and stance) and count again from claims_by_topic.
-- On every other KB this repeats 032's work once.
DROP TRIGGER IF EXISTS tfc_after_insert;
DROP TRIGGER IF EXISTS tfc_after_delete;
DROP TRIGGER IF EXISTS tfc_after_update;
DROP TABLE IF EXISTS topic_facet_counts;

CREATE TABLE IF NOT EXISTS topic_facet_counts (
    topic TEXT NOT NULL,
    stance TEXT NOT NULL,     -- '*' counts every stance; else the rows with this stance only
    facet TEXT NOT NULL,      -- a column of claims_by_topic: topic, stance, source_id, kind, status, month
    value NOT NULL,           -- its value, stored with the column's own type (source_id stays an integer)
    claims INTEGER NOT NULL,  -- rows of claims_by_topic with this topic, stance and value; a row that
                              -- drops to 0 stays (writes stay one primary-key step each): readers skip it
    PRIMARY KEY (topic, stance, facet, value)
) WITHOUT ROWID;

-- Each trigger adds 1 (or -1) to 12 rows, each an upsert by primary key: (every stance, the
-- row's stance) x six columns.
CREATE TRIGGER IF NOT EXISTS tfc_after_insert AFTER INSERT ON claims_by_topic BEGIN
    INSERT INTO topic_facet_counts (topic, stance, facet, value, claims)
    SELECT new.topic, k.stance, k.facet, k.value, 1 FROM (SELECT s.stance, f.facet, f.value
        FROM (SELECT '*' AS stance UNION ALL SELECT new.stance) AS s, (
            SELECT 'topic' AS facet, new.topic AS value UNION ALL SELECT 'stance', new.stance
            UNION ALL SELECT 'source_id', new.source_id UNION ALL SELECT 'kind', new.kind
            UNION ALL SELECT 'status', new.status UNION ALL SELECT 'month', new.month) AS f
        WHERE f.value IS NOT NULL) AS k
    WHERE true
    ON CONFLICT (topic, stance, facet, value) DO UPDATE SET claims = claims + excluded.claims;
END;

CREATE TRIGGER IF NOT EXISTS tfc_after_delete AFTER DELETE ON claims_by_topic BEGIN
    INSERT INTO topic_facet_counts (topic, stance, facet, value, claims)
    SELECT old.topic, k.stance, k.facet, k.value, -1 FROM (SELECT s.stance, f.facet, f.value
        FROM (SELECT '*' AS stance UNION ALL SELECT old.stance) AS s, (
            SELECT 'topic' AS facet, old.topic AS value UNION ALL SELECT 'stance', old.stance
            UNION ALL SELECT 'source_id', old.source_id UNION ALL SELECT 'kind', old.kind
            UNION ALL SELECT 'status', old.status UNION ALL SELECT 'month', old.month) AS f
        WHERE f.value IS NOT NULL) AS k
    WHERE true
    ON CONFLICT (topic, stance, facet, value) DO UPDATE SET claims = claims + excluded.claims;
END;

CREATE TRIGGER IF NOT EXISTS tfc_after_update AFTER UPDATE OF topic, stance, source_id, kind, status, month
ON claims_by_topic
WHEN old.topic IS NOT new.topic OR old.stance IS NOT new.stance OR old.source_id IS NOT new.source_id
  OR old.kind IS NOT new.kind OR old.status IS NOT new.status OR old.month IS NOT new.month
BEGIN
    INSERT INTO topic_facet_counts (topic, stance, facet, value, claims)
    SELECT old.topic, k.stance, k.facet, k.value, -1 FROM (SELECT s.stance, f.facet, f.value
        FROM (SELECT '*' AS stance UNION ALL SELECT old.stance) AS s, (
            SELECT 'topic' AS facet, old.topic AS value UNION ALL SELECT 'stance', old.stance
            UNION ALL SELECT 'source_id', old.source_id UNION ALL SELECT 'kind', old.kind
            UNION ALL SELECT 'status', old.status UNION ALL SELECT 'month', old.month) AS f
        WHERE f.value IS NOT NULL) AS k
    WHERE true
    ON CONFLICT (topic, stance, facet, value) DO UPDATE SET claims = claims + excluded.claims;
    INSERT INTO topic_facet_counts (topic, stance, facet, value, claims)
    SELECT new.topic, k.stance, k.facet, k.value, 1 FROM (SELECT s.stance, f.facet, f.value
        FROM (SELECT '*' AS stance UNION ALL SELECT new.stance) AS s, (
            SELECT 'topic' AS facet, new.topic AS value UNION ALL SELECT 'stance', new.stance
            UNION ALL SELECT 'source_id', new.source_id UNION ALL SELECT 'kind', new.kind
            UNION ALL SELECT 'status', new.status UNION ALL SELECT 'month', new.month) AS f
        WHERE f.value IS NOT NULL) AS k
    WHERE true
    ON CONFLICT (topic, stance, facet, value) DO UPDATE SET claims = claims + excluded.claims;
END;

-- Backfill (a no-op on a new KB): count what claims_by_topic already holds.
INSERT OR IGNORE INTO topic_facet_counts (topic, stance, facet, value, claims)
SELECT topic, '*', 'topic', topic, count(*) FROM claims_by_topic WHERE topic IS NOT NULL GROUP BY topic, topic
UNION ALL SELECT topic, '*', 'stance', stance, count(*) FROM claims_by_topic WHERE stance IS NOT NULL GROUP BY topic, stance
UNION ALL SELECT topic, '*', 'source_id', source_id, count(*) FROM claims_by_topic WHERE source_id IS NOT NULL GROUP BY topic, source_id
UNION ALL SELECT topic, '*', 'kind', kind, count(*) FROM claims_by_topic WHERE kind IS NOT NULL GROUP BY topic, kind
UNION ALL SELECT topic, '*', 'status', status, count(*) FROM claims_by_topic WHERE status IS NOT NULL GROUP BY topic, status
UNION ALL SELECT topic, '*', 'month', month, count(*) FROM claims_by_topic WHERE month IS NOT NULL GROUP BY topic, month
UNION ALL SELECT topic, stance, 'topic', topic, count(*) FROM claims_by_topic WHERE topic IS NOT NULL GROUP BY topic, stance, topic
UNION ALL SELECT topic, stance, 'stance', stance, count(*) FROM claims_by_topic WHERE stance IS NOT NULL GROUP BY topic, stance, stance
UNION ALL SELECT topic, stance, 'source_id', source_id, count(*) FROM claims_by_topic WHERE source_id IS NOT NULL GROUP BY topic, stance, source_id
UNION ALL SELECT topic, stance, 'kind', kind, count(*) FROM claims_by_topic WHERE kind IS NOT NULL GROUP BY topic, stance, kind
UNION ALL SELECT topic, stance, 'status', status, count(*) FROM claims_by_topic WHERE status IS NOT NULL GROUP BY topic, stance, status
UNION ALL SELECT topic, stance, 'month', month, count(*) FROM claims_by_topic WHERE month IS NOT NULL GROUP BY topic, stance, month;
