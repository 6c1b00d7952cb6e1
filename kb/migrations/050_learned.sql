-- Learned heads (extract/learned.py): calibrated probabilities per claim topic. claims.confidence
-- becomes the calibrated probability that the claim's whole reading (claim, topics, stances) is
-- right; the curation queue orders by it, least sure first.
ALTER TABLE claim_topics ADD COLUMN probability REAL;          -- P(the topic applies), calibrated
ALTER TABLE claim_topics ADD COLUMN stance_probability REAL;   -- P(the stance is right), calibrated
CREATE INDEX IF NOT EXISTS idx_claims_pending_confidence ON claims(status, confidence, id);
