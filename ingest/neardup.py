"""Near-duplicate documents across sources (the same issue by email and by feed), via datasketch MinHash LSH."""
from __future__ import annotations

import logging
import re
import zlib

import numpy as np
import sqlite_utils
from datasketch import LeanMinHash, MinHash, MinHashLSH

from kb.documents import minhash_signatures, save_minhash
from kb.records import Document

log = logging.getLogger(__name__)

NUM_PERM = 64
SHINGLE_WORDS = 3
MIN_WORDS = 40  # shorter texts are too templated to call near-duplicates safely
_WORD = re.compile(r"\w+", re.U)


def minhash(text: str) -> MinHash | None:
    """MinHash of the word 3-shingles of `text`, or None when the text is too short."""
    words = _WORD.findall(text.lower())
    if len(words) < MIN_WORDS:
        return None
    shingles = {" ".join(words[i : i + SHINGLE_WORDS]).encode("utf-8") for i in range(len(words) - SHINGLE_WORDS + 1)}
    template = _template()
    mh = MinHash(num_perm=NUM_PERM, hashfunc=_crc32, permutations=template.permutations, scheme=template.scheme)
    mh.update_batch(list(shingles))
    return mh


_TEMPLATE: list[MinHash] = []


def _template() -> MinHash:
    """Generating the permutations costs more than hashing a document: do it once."""
    if not _TEMPLATE:
        _TEMPLATE.append(MinHash(num_perm=NUM_PERM, hashfunc=_crc32))
    return _TEMPLATE[0]


def _crc32(data: bytes) -> int:
    """Deterministic 32-bit shingle hash (much cheaper than datasketch's default SHA-1)."""
    return zlib.crc32(data)


class NearDuplicateIndex:
    """Signatures of stored documents (loaded lazily), queried before a new document is saved."""

    def __init__(self, db: sqlite_utils.Database, threshold: float = 0.8) -> None:
        self.db = db
        self.threshold = threshold
        self._lsh: MinHashLSH | None = None
        self._sources: dict[int, int] = {}
        self._hashes: dict[int, LeanMinHash] = {}

    def _load(self) -> MinHashLSH:
        if self._lsh is None:
            self._lsh = MinHashLSH(threshold=self.threshold, num_perm=NUM_PERM)
            for doc_id, source_id, blob in minhash_signatures(self.db):
                lean = LeanMinHash(seed=1, hashvalues=np.frombuffer(blob, dtype=np.uint64), scheme=_template().scheme)
                self._lsh.insert(doc_id, lean, check_duplication=False)
                self._sources[doc_id] = source_id
                self._hashes[doc_id] = lean
        return self._lsh

    def find(self, doc: Document, mh: MinHash | None) -> tuple[int, float] | None:
        """(document id, estimated Jaccard) of the closest stored document of another source."""
        if mh is None:
            return None
        lsh = self._load()
        best: tuple[int, float] | None = None
        for other in lsh.query(mh):
            if self._sources.get(other) == doc.source_id:
                continue
            score = float(mh.jaccard(self._hashes[other]))
            if score >= self.threshold and (best is None or score > best[1]):
                best = (other, score)
        return best

    def add(self, document_id: int, source_id: int, mh: MinHash | None) -> None:
        """Remember a saved document's signature (in the KB and in the loaded index)."""
        if mh is None:
            return
        lean = LeanMinHash(mh)
        save_minhash(self.db, document_id, source_id, lean.hashvalues.astype(np.uint64).tobytes())
        if self._lsh is not None:
            self._lsh.insert(document_id, lean, check_duplication=False)
            self._sources[document_id] = source_id
            self._hashes[document_id] = lean
