-- Datasette side: editors, a faceting table kept in sync by
-- triggers (claims_by_topic), precomputed weekly stance counts, indexes, researcher views.

-- Editors who may curate (passwords only as PBKDF2 hashes). Private: never served.
CREATE TABLE IF NOT EXISTS editors (
    name TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    active INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);

-- (Topic patterns are the extractor's table, migration 020; editors change them through kb.curation.)

-- One row per (claim, topic) with everything researchers facet on, so that faceting the
-- claims of a topic is an index scan instead of a five-table join.
CREATE TABLE IF NOT EXISTS claims_by_topic (
    claim_id INTEGER NOT NULL REFERENCES claims(id) ON DELETE CASCADE,
    topic TEXT NOT NULL REFERENCES topics(slug),
    stance TEXT NOT NULL,
    score REAL,
    origin TEXT NOT NULL,
    status TEXT NOT NULL,
    confidence REAL,
    document_id INTEGER REFERENCES documents(id),
    source_id INTEGER REFERENCES sources(id),
    kind TEXT,
    published TEXT,
    month TEXT,
    week TEXT,
    PRIMARY KEY (claim_id, topic)
);
CREATE INDEX IF NOT EXISTS idx_cbt_topic_published ON claims_by_topic(topic, published);
CREATE INDEX IF NOT EXISTS idx_cbt_topic_stance ON claims_by_topic(topic, stance, source_id);
CREATE INDEX IF NOT EXISTS idx_cbt_topic_source ON claims_by_topic(topic, source_id);
CREATE INDEX IF NOT EXISTS idx_cbt_topic_month ON claims_by_topic(topic, month);
CREATE INDEX IF NOT EXISTS idx_cbt_topic_status ON claims_by_topic(topic, status);
CREATE INDEX IF NOT EXISTS idx_cbt_topic_kind ON claims_by_topic(topic, kind);
CREATE INDEX IF NOT EXISTS idx_cbt_published ON claims_by_topic(published);
CREATE INDEX IF NOT EXISTS idx_cbt_stance ON claims_by_topic(stance);

-- Precomputed: claims per topic, week and stance (rejected claims are not counted).
CREATE TABLE IF NOT EXISTS topic_stance_weekly (
    topic TEXT NOT NULL REFERENCES topics(slug),
    week TEXT NOT NULL,
    stance TEXT NOT NULL,
    claims INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (topic, week, stance)
) WITHOUT ROWID;

CREATE TRIGGER IF NOT EXISTS cbt_after_claim_topic_insert AFTER INSERT ON claim_topics BEGIN
    INSERT INTO claims_by_topic (claim_id, topic, stance, score, origin, status, confidence,
        document_id, source_id, kind, published, month, week)
    SELECT new.claim_id, new.topic, new.stance, new.score, new.origin, c.status, c.confidence,
        c.document_id, d.source_id, s.kind, coalesce(d.published, d.fetched_at),
        substr(coalesce(d.published, d.fetched_at), 1, 7),
        date(coalesce(d.published, d.fetched_at), '-6 days', 'weekday 1')
    FROM claims c JOIN documents d ON d.id = c.document_id LEFT JOIN sources s ON s.id = d.source_id
    WHERE c.id = new.claim_id;
END;
CREATE TRIGGER IF NOT EXISTS cbt_after_claim_topic_delete AFTER DELETE ON claim_topics BEGIN
    DELETE FROM claims_by_topic WHERE claim_id = old.claim_id AND topic = old.topic;
END;
CREATE TRIGGER IF NOT EXISTS cbt_after_claim_topic_update AFTER UPDATE ON claim_topics BEGIN
    UPDATE claims_by_topic SET topic = new.topic, stance = new.stance, score = new.score,
        origin = new.origin
    WHERE claim_id = old.claim_id AND topic = old.topic;
END;
CREATE TRIGGER IF NOT EXISTS cbt_after_claim_update AFTER UPDATE OF status, confidence ON claims BEGIN
    UPDATE claims_by_topic SET status = new.status, confidence = new.confidence WHERE claim_id = new.id;
END;
CREATE TRIGGER IF NOT EXISTS cbt_after_claim_delete AFTER DELETE ON claims BEGIN
    DELETE FROM claims_by_topic WHERE claim_id = old.id;
END;
CREATE TRIGGER IF NOT EXISTS cbt_after_document_update AFTER UPDATE OF published, source_id ON documents BEGIN
    UPDATE claims_by_topic SET source_id = new.source_id,
        kind = (SELECT kind FROM sources WHERE id = new.source_id),
        published = coalesce(new.published, new.fetched_at),
        month = substr(coalesce(new.published, new.fetched_at), 1, 7),
        week = date(coalesce(new.published, new.fetched_at), '-6 days', 'weekday 1')
    WHERE document_id = new.id;
END;

CREATE TRIGGER IF NOT EXISTS tsw_after_insert AFTER INSERT ON claims_by_topic
WHEN new.status != 'rejected' BEGIN
    INSERT INTO topic_stance_weekly (topic, week, stance, claims)
    VALUES (new.topic, coalesce(new.week, ''), new.stance, 1)
    ON CONFLICT (topic, week, stance) DO UPDATE SET claims = claims + 1;
END;
CREATE TRIGGER IF NOT EXISTS tsw_after_delete AFTER DELETE ON claims_by_topic
WHEN old.status != 'rejected' BEGIN
    UPDATE topic_stance_weekly SET claims = claims - 1
    WHERE topic = old.topic AND week = coalesce(old.week, '') AND stance = old.stance;
    DELETE FROM topic_stance_weekly
    WHERE topic = old.topic AND week = coalesce(old.week, '') AND stance = old.stance AND claims <= 0;
END;
CREATE TRIGGER IF NOT EXISTS tsw_after_update AFTER UPDATE OF topic, week, stance, status ON claims_by_topic BEGIN
    UPDATE topic_stance_weekly SET claims = claims - 1
    WHERE old.status != 'rejected'
      AND topic = old.topic AND week = coalesce(old.week, '') AND stance = old.stance;
    DELETE FROM topic_stance_weekly
    WHERE topic = old.topic AND week = coalesce(old.week, '') AND stance = old.stance AND claims <= 0;
    INSERT INTO topic_stance_weekly (topic, week, stance, claims)
    SELECT new.topic, coalesce(new.week, ''), new.stance, 1 WHERE new.status != 'rejected'
    ON CONFLICT (topic, week, stance) DO UPDATE SET claims = claims + 1;
END;

-- Backfill for knowledge bases created before this migration.
INSERT OR IGNORE INTO claims_by_topic (claim_id, topic, stance, score, origin, status, confidence,
    document_id, source_id, kind, published, month, week)
SELECT ct.claim_id, ct.topic, ct.stance, ct.score, ct.origin, c.status, c.confidence,
    c.document_id, d.source_id, s.kind, coalesce(d.published, d.fetched_at),
    substr(coalesce(d.published, d.fetched_at), 1, 7),
    date(coalesce(d.published, d.fetched_at), '-6 days', 'weekday 1')
FROM claim_topics ct JOIN claims c ON c.id = ct.claim_id
JOIN documents d ON d.id = c.document_id LEFT JOIN sources s ON s.id = d.source_id
WHERE NOT EXISTS (SELECT 1 FROM claims_by_topic x WHERE x.claim_id = ct.claim_id AND x.topic = ct.topic);

-- Indexes for the curation queue, "what changed since", entity look-ups and row pages.
CREATE INDEX IF NOT EXISTS idx_claims_queue ON claims(status, confidence);
CREATE INDEX IF NOT EXISTS idx_claims_created ON claims(created_at);
CREATE INDEX IF NOT EXISTS idx_claims_updated ON claims(updated_at);
CREATE INDEX IF NOT EXISTS idx_entities_text_nocase ON entities(text COLLATE NOCASE);
CREATE INDEX IF NOT EXISTS idx_curation_log_at ON curation_log(at);
CREATE INDEX IF NOT EXISTS idx_passages_document ON passages(document_id, start_char);
CREATE INDEX IF NOT EXISTS idx_documents_source ON documents(source_id);
CREATE INDEX IF NOT EXISTS idx_deliveries_subscriber ON deliveries(subscriber_id);

-- Views researchers use without writing joins.
CREATE VIEW IF NOT EXISTS claims_detail AS
SELECT c.id AS claim_id, c.text AS claim, c.status, c.confidence, c.speaker,
    (SELECT group_concat(ct.topic || ':' || ct.stance, ', ') FROM claim_topics ct WHERE ct.claim_id = c.id) AS topics,
    (SELECT group_concat(q.text, '; ') FROM quantities q WHERE q.claim_id = c.id) AS quantities,
    (SELECT group_concat(e.text, ', ') FROM entities e WHERE e.claim_id = c.id) AS entities,
    d.id AS document_id, d.title AS document, d.url, d.published,
    s.id AS source_id, coalesce(s.title, s.url) AS source, s.kind
FROM claims c JOIN documents d ON d.id = c.document_id LEFT JOIN sources s ON s.id = d.source_id;

CREATE VIEW IF NOT EXISTS stance_by_week AS
SELECT w.topic, t.label AS topic_label, w.week,
    sum(CASE WHEN w.stance = 'supports' THEN w.claims ELSE 0 END) AS supports,
    sum(CASE WHEN w.stance = 'opposes' THEN w.claims ELSE 0 END) AS opposes,
    sum(CASE WHEN w.stance = 'neutral' THEN w.claims ELSE 0 END) AS neutral
FROM topic_stance_weekly w JOIN topics t ON t.slug = w.topic
GROUP BY w.topic, w.week;

CREATE VIEW IF NOT EXISTS contested_topics AS
SELECT slug AS topic, label, proposition, supporting_sources, opposing_sources,
    supporting_claims, opposing_claims
FROM (
    SELECT t.slug, t.label, t.proposition,
        (SELECT count(DISTINCT source_id) FROM claims_by_topic x
         WHERE x.topic = t.slug AND x.stance = 'supports' AND x.status != 'rejected') AS supporting_sources,
        (SELECT count(DISTINCT source_id) FROM claims_by_topic x
         WHERE x.topic = t.slug AND x.stance = 'opposes' AND x.status != 'rejected') AS opposing_sources,
        (SELECT sum(claims) FROM topic_stance_weekly w WHERE w.topic = t.slug AND w.stance = 'supports') AS supporting_claims,
        (SELECT sum(claims) FROM topic_stance_weekly w WHERE w.topic = t.slug AND w.stance = 'opposes') AS opposing_claims
    FROM topics t
)
WHERE supporting_sources > 0 AND opposing_sources > 0
  AND (supporting_sources > 1 OR opposing_sources > 1 OR EXISTS (
      SELECT 1 FROM claims_by_topic a JOIN claims_by_topic b ON b.topic = a.topic
      WHERE a.topic = slug AND a.stance = 'supports' AND b.stance = 'opposes'
        AND a.status != 'rejected' AND b.status != 'rejected' AND a.source_id != b.source_id LIMIT 1));

CREATE VIEW IF NOT EXISTS quantities_by_unit AS
SELECT coalesce(unit, '(none)') AS unit, kind, count(*) AS quotes,
    min(value) AS smallest, max(coalesce(value_max, value)) AS largest,
    count(DISTINCT claim_id) AS claims
FROM quantities GROUP BY unit, kind;

CREATE VIEW IF NOT EXISTS claims_by_entity AS
SELECT e.text AS entity, e.label, c.id AS claim_id, c.text AS claim, c.status,
    d.title AS document, d.published, d.url
FROM entities e JOIN claims c ON c.id = e.claim_id JOIN documents d ON d.id = c.document_id;
