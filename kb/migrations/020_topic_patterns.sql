-- Topic patterns as data editors can change: the extractor's SpanRuler reads the active rows.
-- Shipped patterns are seeded from extract/data/topic_patterns.jsonl (origin 'shipped');
-- editors add rows (origin 'editor') or switch shipped ones off (active = 0).
-- `pattern` is JSON: a list of spaCy token-pattern dicts, or a string phrase matched on lemmas.
CREATE TABLE IF NOT EXISTS topic_patterns (
    id INTEGER PRIMARY KEY,
    topic TEXT NOT NULL REFERENCES topics(slug),
    pattern TEXT NOT NULL,
    origin TEXT NOT NULL DEFAULT 'editor',
    active INTEGER NOT NULL DEFAULT 1,
    note TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    UNIQUE (topic, pattern)
);
CREATE INDEX IF NOT EXISTS idx_topic_patterns_topic ON topic_patterns(topic, active);
