-- Digest: the ranked candidate pool per digest (per-subscriber re-ranking draws from it),
-- permanent-failure bookkeeping on subscribers, and indexes the digest queries need.
CREATE TABLE IF NOT EXISTS digest_pool (
    digest_id INTEGER NOT NULL REFERENCES digests(id) ON DELETE CASCADE,
    claim_id INTEGER NOT NULL REFERENCES claims(id),
    score REAL NOT NULL,
    reason TEXT,
    factors TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (digest_id, claim_id)
);
CREATE INDEX IF NOT EXISTS idx_digest_pool_claim ON digest_pool(claim_id);

ALTER TABLE subscribers ADD COLUMN permanent_failures INTEGER NOT NULL DEFAULT 0;

CREATE INDEX IF NOT EXISTS idx_documents_fetched ON documents(fetched_at);
CREATE INDEX IF NOT EXISTS idx_deliveries_status ON deliveries(digest_id, status);
CREATE INDEX IF NOT EXISTS idx_subscribers_active ON subscribers(active);
