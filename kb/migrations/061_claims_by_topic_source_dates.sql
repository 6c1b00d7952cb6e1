-- "Who says what, since when" (the stance dashboard): a source's first and latest claim on a
-- topic with a stance is one index step each, not a scan of the topic's rows.
CREATE INDEX IF NOT EXISTS idx_cbt_topic_source_stance_published
    ON claims_by_topic(topic, source_id, stance, published);
