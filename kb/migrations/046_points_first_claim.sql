-- A point keeps its own id; the claim that started it is named here (it may leave the point later).
ALTER TABLE points ADD COLUMN first_claim_id INTEGER;
