-- Ingest: MinHash signatures for near-duplicate linking, and how a duplicate was recognised.
CREATE TABLE IF NOT EXISTS document_minhashes (
    document_id INTEGER PRIMARY KEY REFERENCES documents(id) ON DELETE CASCADE,
    source_id INTEGER NOT NULL,
    signature BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_document_minhashes_source ON document_minhashes(source_id);
CREATE INDEX IF NOT EXISTS idx_documents_url ON documents(url);
CREATE INDEX IF NOT EXISTS idx_documents_source ON documents(source_id, id);
