-- One point, many sources: claims that make the same point are grouped in a cluster (a "point").
-- Kept incrementally by the extract step (kb.clusters.assign_clusters): each new claim looks up
-- its MinHash band keys in claim_cluster_keys and joins the cluster of the most similar claim.
CREATE TABLE IF NOT EXISTS points (
    id INTEGER PRIMARY KEY,
    text TEXT NOT NULL,                   -- the first claim's text, as a label
    claims INTEGER NOT NULL DEFAULT 0,
    sources INTEGER NOT NULL DEFAULT 0,
    summary TEXT GENERATED ALWAYS AS (
        CASE WHEN sources = 1 THEN '1 source makes this point'
             ELSE sources || ' sources make this point' END
    ) VIRTUAL
);
CREATE INDEX IF NOT EXISTS idx_points_sources ON points(sources DESC, id);

CREATE TABLE IF NOT EXISTS claim_clusters (
    claim_id INTEGER PRIMARY KEY REFERENCES claims(id) ON DELETE CASCADE,
    cluster_id INTEGER NOT NULL REFERENCES points(id),
    source_id INTEGER NOT NULL REFERENCES sources(id),
    similarity REAL NOT NULL DEFAULT 1.0   -- Jaccard of content words with the claim it joined
);
CREATE INDEX IF NOT EXISTS idx_claim_clusters_cluster ON claim_clusters(cluster_id, source_id);

CREATE TABLE IF NOT EXISTS claim_cluster_keys (
    key INTEGER NOT NULL,
    claim_id INTEGER NOT NULL REFERENCES claims(id) ON DELETE CASCADE,
    PRIMARY KEY (key, claim_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS idx_claim_cluster_keys_claim ON claim_cluster_keys(claim_id);

CREATE TRIGGER IF NOT EXISTS claim_clusters_counted AFTER INSERT ON claim_clusters BEGIN
    UPDATE points SET claims = claims + 1,
        sources = (SELECT count(DISTINCT source_id) FROM claim_clusters WHERE cluster_id = NEW.cluster_id)
    WHERE id = NEW.cluster_id;
END;
CREATE TRIGGER IF NOT EXISTS claim_clusters_uncounted AFTER DELETE ON claim_clusters BEGIN
    UPDATE points SET claims = claims - 1,
        sources = (SELECT count(DISTINCT source_id) FROM claim_clusters WHERE cluster_id = OLD.cluster_id)
    WHERE id = OLD.cluster_id;
    DELETE FROM points WHERE id = OLD.cluster_id AND claims <= 0;
END;
