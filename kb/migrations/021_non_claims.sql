-- What the extractor read and did not take as a claim, with its reason (question, header,
-- greeting, sign-off, sender boilerplate, call to action, navigation, too short, markup,
-- ...), so an editor can see why a sentence is missing and a pattern change can be checked.
-- Replaced for a document on each extraction, like its claims.
CREATE TABLE IF NOT EXISTS non_claims (
    id INTEGER PRIMARY KEY,
    document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    start_char INTEGER NOT NULL,
    end_char INTEGER NOT NULL,
    text TEXT NOT NULL,          -- the sentence (whitespace collapsed, at most 300 characters)
    reason TEXT NOT NULL,
    extractor_version TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS idx_non_claims_document ON non_claims(document_id, start_char);
CREATE INDEX IF NOT EXISTS idx_non_claims_reason ON non_claims(reason);
