-- Readers steer the digest: more / less like this per item, preferences without an account.
ALTER TABLE subscribers ADD COLUMN frequency TEXT NOT NULL DEFAULT 'daily';  -- daily | weekly
ALTER TABLE subscribers ADD COLUMN paused INTEGER NOT NULL DEFAULT 0;

CREATE TABLE IF NOT EXISTS reader_feedback (
    id INTEGER PRIMARY KEY,
    subscriber_id INTEGER NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE,
    claim_id INTEGER NOT NULL,  -- no foreign key: a claim's Datasette page must not count a private table
    vote TEXT NOT NULL CHECK (vote IN ('more', 'less')),
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE INDEX IF NOT EXISTS idx_reader_feedback_subscriber ON reader_feedback(subscriber_id);

-- One subscriber's learnt taste: a weight per topic and per source, added to the ranking score.
CREATE TABLE IF NOT EXISTS reader_weights (
    subscriber_id INTEGER NOT NULL REFERENCES subscribers(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('topic', 'source')),
    key TEXT NOT NULL,
    weight REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (subscriber_id, kind, key)
);

-- What editors see: feedback summed over all readers, per topic and per source (no one's address).
CREATE TABLE IF NOT EXISTS feedback_totals (
    kind TEXT NOT NULL CHECK (kind IN ('topic', 'source')),
    key TEXT NOT NULL,
    label TEXT,
    more INTEGER NOT NULL DEFAULT 0,
    less INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (kind, key)
);
