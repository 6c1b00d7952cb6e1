-- Sources a reader can manage: what the source says it is (title, site, description), the
-- editor's tags and full-text choice, soft removal, the last run's counters, and every item
-- that was seen but not stored, with the reason (so nothing disappears silently).
ALTER TABLE sources ADD COLUMN site_url TEXT;
ALTER TABLE sources ADD COLUMN description TEXT;
ALTER TABLE sources ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
ALTER TABLE sources ADD COLUMN full_text INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sources ADD COLUMN paused INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sources ADD COLUMN removed_at TEXT;
ALTER TABLE sources ADD COLUMN last_run TEXT;

-- OPML folders used to live in config.folders; they are tags now.
UPDATE sources SET tags = json_extract(config, '$.folders')
 WHERE json_valid(config) AND json_type(config, '$.folders') = 'array';
UPDATE sources SET site_url = json_extract(config, '$.html_url')
 WHERE site_url IS NULL AND json_valid(config) AND json_type(config, '$.html_url') = 'text';

CREATE TABLE IF NOT EXISTS skipped_items (
    source_id INTEGER NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
    guid TEXT NOT NULL,
    url TEXT,
    title TEXT,
    reason TEXT NOT NULL,
    seen_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    PRIMARY KEY (source_id, guid)
);
