-- Schema v1 of the insightkb knowledge base.
CREATE TABLE IF NOT EXISTS sources (
    id INTEGER PRIMARY KEY,
    url TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    title TEXT,
    active INTEGER NOT NULL DEFAULT 1,
    allow_private INTEGER NOT NULL DEFAULT 0,
    interval_seconds INTEGER NOT NULL DEFAULT 3600,
    etag TEXT,
    last_modified TEXT,
    last_fetched_at TEXT,
    last_status INTEGER,
    last_error TEXT,
    warning TEXT,
    failure_count INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT,
    config TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);

CREATE TABLE IF NOT EXISTS documents (
    id INTEGER PRIMARY KEY,
    source_id INTEGER NOT NULL REFERENCES sources(id),
    guid TEXT NOT NULL,
    url TEXT,
    title TEXT,
    author TEXT,
    published TEXT,
    fetched_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    text TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    duplicate_of INTEGER REFERENCES documents(id),
    metadata TEXT NOT NULL DEFAULT '{}',
    extracted_version TEXT,
    extract_status TEXT,
    extract_reason TEXT,
    UNIQUE (source_id, guid)
);
CREATE INDEX IF NOT EXISTS idx_documents_hash ON documents(content_hash);
CREATE INDEX IF NOT EXISTS idx_documents_published ON documents(published);
CREATE INDEX IF NOT EXISTS idx_documents_extracted ON documents(extracted_version);

CREATE TABLE IF NOT EXISTS passages (
    id INTEGER PRIMARY KEY,
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    start_char INTEGER NOT NULL,
    end_char INTEGER NOT NULL,
    section TEXT,
    speaker TEXT,
    start_seconds REAL,
    end_seconds REAL,
    UNIQUE (document_id, seq)
);

CREATE TABLE IF NOT EXISTS topics (
    slug TEXT PRIMARY KEY,
    label TEXT NOT NULL,
    description TEXT,
    proposition TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS claims (
    id INTEGER PRIMARY KEY,
    document_id INTEGER NOT NULL REFERENCES documents(id),
    start_char INTEGER NOT NULL,
    end_char INTEGER NOT NULL,
    text TEXT NOT NULL,
    confidence REAL NOT NULL DEFAULT 0.5,
    speaker TEXT,
    status TEXT NOT NULL DEFAULT 'pending',   -- pending | approved | rejected
    editor_locked INTEGER NOT NULL DEFAULT 0, -- 1 once an editor decided: re-extraction keeps it
    boost REAL NOT NULL DEFAULT 0,
    extractor_version TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    UNIQUE (document_id, start_char, end_char)
);
CREATE INDEX IF NOT EXISTS idx_claims_document ON claims(document_id);
CREATE INDEX IF NOT EXISTS idx_claims_status ON claims(status);

CREATE TABLE IF NOT EXISTS claim_topics (
    claim_id INTEGER NOT NULL REFERENCES claims(id) ON DELETE CASCADE,
    topic TEXT NOT NULL REFERENCES topics(slug),
    stance TEXT NOT NULL DEFAULT 'neutral',   -- supports | opposes | neutral
    score REAL NOT NULL DEFAULT 0.5,
    cues TEXT NOT NULL DEFAULT '[]',
    origin TEXT NOT NULL DEFAULT 'extractor', -- extractor | editor
    PRIMARY KEY (claim_id, topic)
);
CREATE INDEX IF NOT EXISTS idx_claim_topics_topic ON claim_topics(topic, stance);

CREATE TABLE IF NOT EXISTS quantities (
    id INTEGER PRIMARY KEY,
    claim_id INTEGER NOT NULL REFERENCES claims(id) ON DELETE CASCADE,
    text TEXT NOT NULL,
    value REAL,
    value_max REAL,
    unit TEXT,
    kind TEXT,
    start_char INTEGER,
    end_char INTEGER
);
CREATE INDEX IF NOT EXISTS idx_quantities_claim ON quantities(claim_id);
CREATE INDEX IF NOT EXISTS idx_quantities_unit ON quantities(unit);

CREATE TABLE IF NOT EXISTS entities (
    id INTEGER PRIMARY KEY,
    claim_id INTEGER NOT NULL REFERENCES claims(id) ON DELETE CASCADE,
    text TEXT NOT NULL,
    label TEXT NOT NULL,
    start_char INTEGER,
    end_char INTEGER
);
CREATE INDEX IF NOT EXISTS idx_entities_claim ON entities(claim_id);
CREATE INDEX IF NOT EXISTS idx_entities_text ON entities(text);

CREATE TABLE IF NOT EXISTS subscribers (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT,
    topics TEXT NOT NULL DEFAULT '[]',
    confirmed INTEGER NOT NULL DEFAULT 1,
    active INTEGER NOT NULL DEFAULT 1,
    unsubscribe_token TEXT,
    last_error TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    unsubscribed_at TEXT
);

CREATE TABLE IF NOT EXISTS digests (
    id INTEGER PRIMARY KEY,
    date TEXT NOT NULL UNIQUE,
    subject TEXT NOT NULL,
    text_body TEXT NOT NULL,
    html_body TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);

CREATE TABLE IF NOT EXISTS digest_items (
    digest_id INTEGER NOT NULL REFERENCES digests(id) ON DELETE CASCADE,
    rank INTEGER NOT NULL,
    claim_id INTEGER NOT NULL REFERENCES claims(id),
    score REAL NOT NULL,
    reason TEXT,
    PRIMARY KEY (digest_id, rank)
);
CREATE INDEX IF NOT EXISTS idx_digest_items_claim ON digest_items(claim_id);

CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY,
    digest_id INTEGER NOT NULL REFERENCES digests(id),
    subscriber_id INTEGER NOT NULL REFERENCES subscribers(id),
    message_id TEXT NOT NULL,
    channel TEXT NOT NULL,                    -- smtp | outbox
    status TEXT NOT NULL DEFAULT 'pending',   -- pending | sent | failed
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
    sent_at TEXT,
    UNIQUE (digest_id, subscriber_id)
);

CREATE TABLE IF NOT EXISTS curation_log (
    id INTEGER PRIMARY KEY,
    claim_id INTEGER REFERENCES claims(id),
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    before TEXT,
    after TEXT,
    at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
);
CREATE INDEX IF NOT EXISTS idx_curation_log_claim ON curation_log(claim_id);

-- Full-text search (FTS5, porter stemming), kept in sync by triggers.
CREATE VIRTUAL TABLE IF NOT EXISTS documents_fts USING fts5(
    title, text, content='documents', content_rowid='id', tokenize='porter unicode61'
);
CREATE TRIGGER IF NOT EXISTS documents_ai AFTER INSERT ON documents BEGIN
    INSERT INTO documents_fts(rowid, title, text) VALUES (new.id, new.title, new.text);
END;
CREATE TRIGGER IF NOT EXISTS documents_ad AFTER DELETE ON documents BEGIN
    INSERT INTO documents_fts(documents_fts, rowid, title, text) VALUES ('delete', old.id, old.title, old.text);
END;
CREATE TRIGGER IF NOT EXISTS documents_au AFTER UPDATE OF title, text ON documents BEGIN
    INSERT INTO documents_fts(documents_fts, rowid, title, text) VALUES ('delete', old.id, old.title, old.text);
    INSERT INTO documents_fts(rowid, title, text) VALUES (new.id, new.title, new.text);
END;

CREATE VIRTUAL TABLE IF NOT EXISTS claims_fts USING fts5(
    text, content='claims', content_rowid='id', tokenize='porter unicode61'
);
CREATE TRIGGER IF NOT EXISTS claims_ai AFTER INSERT ON claims BEGIN
    INSERT INTO claims_fts(rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER IF NOT EXISTS claims_ad AFTER DELETE ON claims BEGIN
    INSERT INTO claims_fts(claims_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
CREATE TRIGGER IF NOT EXISTS claims_au AFTER UPDATE OF text ON claims BEGIN
    INSERT INTO claims_fts(claims_fts, rowid, text) VALUES ('delete', old.id, old.text);
    INSERT INTO claims_fts(rowid, text) VALUES (new.id, new.text);
END;
