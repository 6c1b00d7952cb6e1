-- A topic is one record (kb/topics.py): beside label, description and proposition, its row
-- carries the direction flags the extractor's stance rules read and example sentences; its
-- patterns are its rows in topic_patterns. NULL flags: never set (seeding fills the shipped
-- topics' from kb/data/topics.jsonl; an editor's older topic reads as the defaults).
ALTER TABLE topics ADD COLUMN pro TEXT CHECK (pro IN ('supports', 'opposes'));       -- stance that praising the topic's subject takes
ALTER TABLE topics ADD COLUMN evaluative INTEGER;                                   -- 1: good/bad words and comparisons judge it
ALTER TABLE topics ADD COLUMN valence INTEGER;                                      -- 1: the general valence lexicon may judge it
ALTER TABLE topics ADD COLUMN rising TEXT CHECK (rising IN ('supports', 'opposes')); -- stance that its growth takes
ALTER TABLE topics ADD COLUMN examples TEXT;                                        -- JSON list of {"text", "stance"}
