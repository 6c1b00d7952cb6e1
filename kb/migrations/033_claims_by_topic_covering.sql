-- After a researcher narrows the claims of a topic by one facet (topic=X&stance=opposes, ...),
-- the facets are counted with Datasette's GROUP BYs (topic_facet_counts only covers topic alone).
-- These indexes hold every faceted column, so those counts read an index alone instead of
-- visiting ~60k table rows each (0.5 s for the six facets at 1M claims). They serve every use
-- of the per-column (topic, X) indexes of migration 030, which led the planner to visit the
-- table for each row: those go, so writes do not get dearer.
CREATE INDEX IF NOT EXISTS idx_cbt_topic_facets ON claims_by_topic(topic, stance, status, kind, month, source_id);
CREATE INDEX IF NOT EXISTS idx_cbt_topic_source_facets ON claims_by_topic(topic, source_id, stance, status, kind, month);
DROP INDEX IF EXISTS idx_cbt_topic_stance;
DROP INDEX IF EXISTS idx_cbt_topic_source;
DROP INDEX IF EXISTS idx_cbt_topic_month;
DROP INDEX IF EXISTS idx_cbt_topic_status;
DROP INDEX IF EXISTS idx_cbt_topic_kind;
