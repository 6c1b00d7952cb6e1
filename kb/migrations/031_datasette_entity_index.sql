-- claims_mentioning reads an entity's claims newest-extracted first straight from this index.
DROP INDEX IF EXISTS idx_entities_text_nocase;
CREATE INDEX IF NOT EXISTS idx_entities_nocase_claim ON entities(text COLLATE NOCASE, claim_id);
