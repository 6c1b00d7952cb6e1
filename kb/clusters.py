"""One point, many sources: group claims that make the same point, incrementally.

Each claim's content words get a small MinHash signature (32 hashes, 16 bands of 2); the band
keys go to `claim_cluster_keys`. A new claim looks up its 16 keys (newest `PER_KEY` claims each),
checks the exact Jaccard of content words against those candidates from the claims table and joins
the cluster (`points`) of the most similar one at or above `SAME_POINT`, else starts its own.
Two claims make the same point only when they share a topic (or neither has one).
The cost is per new claim (16 indexed look-ups; only claims sharing 2+ bands are compared), never per KB.
Triggers keep `points.claims` and `points.sources` right when claims come and go.
"""
from __future__ import annotations

import logging
import re
import zlib
from collections import Counter
from collections.abc import Collection, Iterable
from functools import lru_cache

import numpy as np
import sqlite_utils

log = logging.getLogger(__name__)

#: Jaccard of content words at or above which two claims make the same point.
SAME_POINT = 0.4
#: The lower bar for two claims that also take the same stance on the same topic and quote the
#: same number or name the same entity (keys on topic + stance + quantity / entity).
SAME_POINT_KEYED = 0.12
#: Claims with fewer content words than this ("Happy 2026!") make no point to share.
MIN_TERMS = 3
BANDS, ROWS = 16, 2
PER_KEY = 24
#: Band keys a lexical candidate must share before its text is compared.
MIN_BANDS = 2
_MASK = (1 << 32) - 1
_SEEDS = [zlib.crc32(f"insightkb-point-{i}".encode()) for i in range(BANDS * ROWS)]
_SEED_ARRAY = np.array(_SEEDS, dtype=np.uint64)
_BAND_TAGS = np.arange(BANDS, dtype=np.uint64) << np.uint64(56)
_WORD = re.compile(r"[a-z0-9]+(?:[.,][0-9]+)?")
_STOP = frozenset(
    """a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing down during each few for from further had
    has have having he her here hers him his how i if in into is it its itself just me more most my
    no nor not now of off on once only or other our ours out over own same she should so some such
    than that the their theirs them then there these they this those through to too under until up
    very was we were what when where which while who whom why will with would you your yours also
    may might must much many one new like get got make makes made even still way well""".split()
)


@lru_cache(maxsize=200_000)
def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


#: A leading "Newsletter Name:" or "Speaker:" label: the same on every item of a source, not the point.
_LABEL = re.compile(r"^\s*(?:(?:[A-Z0-9][\w'’&.-]*|and|of|the|for|on|in|with|&|-|–|—|\|)\s+){0,7}[A-Z0-9][\w'’&.-]*:\s+")


@lru_cache(maxsize=16_384)  # a claim's terms again when it is a later claim's candidate
def point_terms(text: str) -> frozenset[str]:
    """A claim's content words, lower-cased and crudely stemmed (what "the same point" compares);
    a leading "Newsletter Name:" label is left out."""
    text = _LABEL.sub("", text, count=1)
    return frozenset(_stem(w) for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 1)


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    if not a or not b:
        return 0.0
    inter = len(a & b)
    return inter / (len(a) + len(b) - inter)


def band_keys(terms: Iterable[str]) -> list[int]:
    """The LSH band keys of a term set (signed 63-bit, so SQLite stores them as integers)."""
    return band_keys_of([list(terms)])[0]


def band_keys_of(term_sets: list[Collection[str]]) -> list[list[int]]:
    """`band_keys` of each term set, computed together (one array operation for a batch of claims)."""
    sizes = [len(terms) for terms in term_sets]
    hashes = np.fromiter((zlib.crc32(t.encode()) for terms in term_sets for t in terms), dtype=np.uint64,
                         count=sum(sizes))
    out: list[list[int]] = [[] for _ in term_sets]
    filled = [i for i, n in enumerate(sizes) if n]
    if not filled:
        return out
    mixed = ((hashes[:, None] ^ _SEED_ARRAY[None, :]) * np.uint64(2654435761)) & np.uint64(_MASK)
    starts = np.cumsum([0] + sizes[:-1])[filled]
    sig = np.minimum.reduceat(mixed, starts, axis=0)  # one MinHash signature per non-empty set
    keys = (_BAND_TAGS ^ (sig[:, 0::ROWS] << np.uint64(24)) ^ sig[:, 1::ROWS]) & np.uint64((1 << 62) - 1)
    for i, row in zip(filled, keys.tolist()):
        out[i] = row
    return out


def _key(*parts: object) -> int:
    return zlib.crc32("\x1f".join(map(str, parts)).encode()) | (1 << 40)


_FACT_LABELS = "('ORG', 'PRODUCT', 'PERSON', 'GPE', 'WORK_OF_ART', 'LAW', 'EVENT')"


class _Facts:
    """What clustering needs of a batch of claims, read in a few statements up front: text and
    source, topics with stances, quantities and named entities."""

    def __init__(self, db: sqlite_utils.Database, claim_ids: list[int]) -> None:
        ids = "[" + ",".join(map(str, claim_ids)) + "]"
        among = "claim_id IN (SELECT value FROM json_each(?))"
        self.rows = {cid: (text, source) for cid, text, source in db.execute(
            "SELECT c.id, c.text, d.source_id FROM claims c JOIN documents d ON d.id = c.document_id"
            " WHERE c.id IN (SELECT value FROM json_each(?))", [ids])}
        self.topics = _topics_of(db, claim_ids)
        #: claims with cluster rows to replace (a claim clustered before, its text may have changed)
        self.clustered = {cid for (cid,) in db.execute(
            f"SELECT claim_id FROM claim_clusters WHERE {among} UNION SELECT claim_id FROM claim_cluster_keys"
            f" WHERE {among}", [ids, ids])}
        self.facts: dict[int, list[tuple[object, ...]]] = {}
        for cid, value, unit in db.execute(
                f"SELECT claim_id, value, unit FROM quantities WHERE {among} AND value IS NOT NULL", [ids]):
            self.facts.setdefault(cid, []).append(("q", value, unit or ""))
        for cid, text in db.execute(
                f"SELECT DISTINCT claim_id, text FROM entities WHERE {among} AND label IN {_FACT_LABELS}", [ids]):
            self.facts.setdefault(cid, []).append(("e", text.lower()))

    def fact_keys(self, claim_id: int) -> list[int]:
        """Keys for "the same stance on the same topic, with the same number or the same named entity"."""
        sides = [(t, s) for t, s in self.topics.get(claim_id, {}).items() if s in ("supports", "opposes")]
        facts = self.facts.get(claim_id, [])
        return sorted({_key(topic, stance, *fact) for topic, stance in sides for fact in facts})


def _topics_of(db: sqlite_utils.Database, claim_ids: list[int]) -> dict[int, dict[str, str | None]]:
    """claim id -> {topic: stance} for the claims that have topics."""
    out: dict[int, dict[str, str | None]] = {}
    for claim_id, topic, stance in db.execute(
        "SELECT claim_id, topic, stance FROM claim_topics WHERE claim_id IN (SELECT value FROM json_each(?))",
        ["[" + ",".join(map(str, claim_ids)) + "]"],
    ):
        out.setdefault(claim_id, {})[topic] = stance
    return out


def _newest_under(db: sqlite_utils.Database, keys: list[int]) -> list[tuple[int, int]]:
    """(key, claim id) of the newest `PER_KEY` claims under each key: one statement, an indexed
    LIMIT look-up per key (a statement per key cost more in calls than in searching)."""
    if not keys:
        return []
    one = "SELECT * FROM (SELECT key, claim_id FROM claim_cluster_keys WHERE key = ? ORDER BY claim_id DESC LIMIT ?)"
    return db.conn.execute(" UNION ALL ".join([one] * len(keys)), [v for k in keys for v in (k, PER_KEY)]).fetchall()


def assign_clusters(db: sqlite_utils.Database, claim_ids: Iterable[int]) -> int:
    """Put each claim in the cluster of its most similar earlier claim (or a new one); returns
    how many joined an existing cluster. Runs inside the caller's transaction; call it after the
    claims are stored. A claim that is already clustered is clustered again (its text may have changed).
    """
    joined = 0
    claim_ids = list(claim_ids)
    if not claim_ids:
        return 0
    known = _Facts(db, claim_ids)
    terms = {cid: point_terms(text) for cid, (text, _source) in known.rows.items()}
    lexical_keys = dict(zip(terms, band_keys_of(list(terms.values()))))
    for claim_id in claim_ids:
        row = known.rows.get(claim_id)
        if row is None:
            continue
        text, source_id = row
        if claim_id in known.clustered:
            db.execute("DELETE FROM claim_clusters WHERE claim_id = ?", [claim_id])
            db.execute("DELETE FROM claim_cluster_keys WHERE claim_id = ?", [claim_id])
        mine = terms[claim_id]
        lexical = lexical_keys[claim_id]
        keyed = known.fact_keys(claim_id)
        keys = lexical + keyed
        best_id, best_sim = None, 0.0
        hits: Counter[int] = Counter()
        via_fact: set[int] = set()
        fact_set = set(keyed)
        for key, found in _newest_under(db, keys):
            if key in fact_set:
                via_fact.add(found)
            else:
                hits[found] += 1
        # a real match shares several bands (J=0.4 shares 2.6 of 16 on average); one is chance
        candidates = {c for c, n in hits.items() if n >= MIN_BANDS} | via_fact
        candidates.discard(claim_id)
        if candidates:
            my_topics = set(known.topics.get(claim_id, {}))
            their_topics = {cid: set(topics) for cid, topics in _topics_of(db, list(candidates)).items()}
            for other_id, other_text, cluster_id in db.execute(
                "SELECT c.id, c.text, k.cluster_id FROM claims c JOIN claim_clusters k ON k.claim_id = c.id"
                " WHERE c.id IN (SELECT value FROM json_each(?))",
                ["[" + ",".join(map(str, candidates)) + "]"],
            ):
                if my_topics != their_topics.get(other_id, set()) and not my_topics & their_topics.get(other_id, set()):
                    continue
                theirs = point_terms(other_text)
                if min(len(mine), len(theirs)) < MIN_TERMS:
                    continue
                sim = _jaccard(mine, theirs)
                bar = SAME_POINT_KEYED if other_id in via_fact else SAME_POINT
                if sim >= bar and (sim, -other_id) > (best_sim, -(best_id or 0)):
                    best_id, best_sim, best_cluster = other_id, sim, cluster_id
        if best_id is None:
            similarity = 1.0
            cluster_id = db.execute("INSERT INTO points (first_claim_id, text) VALUES (?, ?)", [claim_id, text[:300]]).lastrowid
        else:
            cluster_id, similarity = best_cluster, round(best_sim, 4)
            joined += 1
        db.execute(
            "INSERT INTO claim_clusters (claim_id, cluster_id, source_id, similarity) VALUES (?,?,?,?)",
            [claim_id, cluster_id, source_id, similarity],
        )
        db.conn.executemany(
            "INSERT OR IGNORE INTO claim_cluster_keys (key, claim_id) VALUES (?, ?)", [(k, claim_id) for k in keys]
        )
        known.clustered.add(claim_id)  # listed twice: the second time replaces these rows
    return joined


def cluster_backlog(db: sqlite_utils.Database, *, batch: int = 2000) -> int:
    """Cluster claims stored before clustering existed (a one-off for an older KB); returns how many.

    Cheap when there is nothing to do: it only looks when `claim_clusters` is empty.
    """
    if db.execute("SELECT EXISTS (SELECT 1 FROM claim_clusters)").fetchone()[0]:
        return 0
    ids = [r[0] for r in db.execute("SELECT id FROM claims ORDER BY id")]
    for start in range(0, len(ids), batch):
        with db.conn:
            assign_clusters(db, ids[start:start + batch])
    if ids:
        log.info("clustered %d existing claims into points", len(ids))
    return len(ids)


def cluster_members(db: sqlite_utils.Database, claim_ids: list[int]) -> dict[int, tuple[int, int]]:
    """claim id -> (cluster id, number of sources making that point)."""
    if not claim_ids:
        return {}
    return {
        claim_id: (cluster_id, sources) for claim_id, cluster_id, sources in db.execute(
            "SELECT k.claim_id, k.cluster_id, p.sources FROM claim_clusters k JOIN points p ON p.id = k.cluster_id"
            " WHERE k.claim_id IN (SELECT value FROM json_each(?))",
            ["[" + ",".join(map(str, claim_ids)) + "]"],
        )
    }


def point_claims(db: sqlite_utils.Database, cluster_ids: list[int]) -> dict[int, list[tuple[int, int, str | None, str]]]:
    """cluster id -> [(claim id, source id, source title, source url)] for every claim in it, oldest first."""
    out: dict[int, list[tuple[int, int, str | None, str]]] = {}
    if not cluster_ids:
        return out
    for cluster_id, claim_id, source_id, title, url in db.execute(
        "SELECT k.cluster_id, k.claim_id, k.source_id, s.title, s.url FROM claim_clusters k"
        " JOIN sources s ON s.id = k.source_id WHERE k.cluster_id IN (SELECT value FROM json_each(?))"
        " ORDER BY k.cluster_id, k.claim_id",
        ["[" + ",".join(map(str, cluster_ids)) + "]"],
    ):
        out.setdefault(cluster_id, []).append((claim_id, source_id, title, url))
    return out
