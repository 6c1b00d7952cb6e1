"""`extract_pending`: run the pipeline over the documents not yet extracted and store their claims."""
from __future__ import annotations

import json
import logging
import multiprocessing
import re
import time
from collections import deque
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Iterable, Iterator, Optional

import sqlite_utils
from spacy.language import Language
from spacy.tokens import Doc

from kb.claims import save_claims, save_non_claims
from kb.clusters import assign_clusters, cluster_backlog
from kb.db import database_file
from kb.documents import documents_to_extract, mark_extracted
from kb.records import Claim, Document, Entity, NonClaim, Quantity, TopicTag
from kb.topics import shipped_topics, topic_records
from kb.transactions import atomic, write_batch

from extract.claims import CLAIMS, REJECTED
from extract.learned import LearnedModel, read_model
from extract.nlp import build_nlp, fingerprint
from extract.screen import MAX_CHARS, Screened, screen

log = logging.getLogger(__name__)

EXTRACTOR_VERSION = f"1.0+{fingerprint()}"
ERROR_KEY = "insightkb_error"
STORE_BATCH = 32  # finished documents stored per transaction
TASK_CHARS = 100_000  # text per cluster task at most (about a second of a worker's time)
_SPACE = re.compile(r"\s+")


@dataclass
class ExtractReport:
    """What one `extract_pending` run did."""

    version: str = EXTRACTOR_VERSION
    documents: int = 0
    claims: int = 0
    skipped: int = 0
    errors: int = 0
    kept_by_editor: int = 0
    tokens: int = 0
    seconds: float = 0.0
    reasons: dict[int, str] = field(default_factory=dict)
    cluster: str | None = None  # where the batches ran, when not in this process

    def summary(self) -> str:
        rate = f", {self.tokens / self.seconds:,.0f} tokens/s" if self.seconds > 0 and self.tokens else ""
        kept = f", {self.kept_by_editor} kept by editors" if self.kept_by_editor else ""
        where = f", {self.cluster}" if self.cluster else ""
        return (
            f"extract: {self.documents} documents, {self.claims} claims, {self.skipped} skipped, "
            f"{self.errors} errors{kept} (extractor {self.version}, {self.seconds:.1f}s{rate}{where})"
        )


def kb_model_path(db: sqlite_utils.Database) -> Path | None:
    """Where `insightkb train` keeps the KB's own promoted model: beside the KB (KB.model.npz)."""
    path = database_file(db)
    return path.with_name(path.stem + ".model.npz") if path else None


def kb_model(db: sqlite_utils.Database) -> LearnedModel | None:
    """The KB's own promoted model, None when it has none (the shipped one is used)."""
    return read_model(kb_model_path(db))


def extractor_setup(db: sqlite_utils.Database) -> tuple[list[dict[str, Any]], str]:
    """The KB's topic records (seeded from the shipped ones when the KB was opened, with editors'
    topics, patterns and direction flags) and the version they and the KB's own learned model (its
    hash, `.m` + 6 hex digits) make: the shipped version while the topics tag and judge as shipped."""
    active = topic_records(db)
    version = EXTRACTOR_VERSION
    if _what_extracts(active) != _what_extracts(shipped_topics()):
        version = f"{EXTRACTOR_VERSION}.{fingerprint(_what_extracts(active))[:6]}"
    model = kb_model(db)
    if model is not None:
        version += f".m{model.hash[:6]}"
    return active, version


def _what_extracts(topics: list[dict[str, Any]]) -> list[list[Any]]:
    """The parts of topic records that change what extraction gives: patterns and direction flags
    of the topics that have patterns (labels, propositions and examples do not)."""
    out = []
    for t in topics:
        patterns = sorted(json.dumps(p, sort_keys=True) for p in t["patterns"])
        editors = sorted(json.dumps(p, sort_keys=True) for p in t["editor_patterns"])
        if patterns or editors:
            out.append([t["slug"], t["pro"], t["evaluative"], t["valence"], t["rising"], patterns, editors])
    return sorted(out)


def extract_pending(
    db: sqlite_utils.Database,
    *,
    reextract: bool = False,
    n_process: int = 1,
    batch_size: int = 32,
    progress: bool = False,
    max_chars: int = MAX_CHARS,
    nlp: Language | None = None,
    executor: Any = None,
) -> ExtractReport:
    """Extract claims from new documents (all documents of another version with `reextract`).

    A document that cannot be extracted (empty, binary, not English, a component error) is
    marked with its reason and the batch goes on. Claims an editor decided on are kept.
    With an `executor` (`cluster.open_executor`), batches of pieces (document ids and text) run
    on its workers, which build the same pipeline once each; this process screens, and stores
    every result, in whatever order batches finish.
    """
    started = time.perf_counter()
    topics, version = extractor_setup(db)
    report = ExtractReport(version=version)
    cluster_backlog(db)
    total = _pending_count(db, version, reextract)
    if not total:
        report.seconds = time.perf_counter() - started
        return report
    todo = documents_to_extract(db, version, reextract=reextract)  # loaded one at a time
    if nlp is None and executor is None:
        nlp = build_nlp(topics=topics, model=kb_model(db))
    if nlp is not None:
        nlp.set_error_handler(_record_error)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=total, unit="doc", desc="extract", leave=False)
    screened: dict[int, Screened] = {}
    expected: dict[int, int] = {}
    # document id -> piece offset -> (offset, claims, non-claims)
    collected: dict[int, dict[int, tuple[int, list[dict[str, Any]], list[list[Any]]]]] = {}
    failures: dict[int, str] = {}
    by_id: dict[int, Document] = {}

    def pieces() -> Iterator[tuple[str, tuple[int, int]]]:
        for document in todo:
            assert document.id is not None
            result = screen(document.text, max_chars=max_chars)
            if result.skip:
                mark_extracted(db, document.id, version, "skipped", result.skip)
                report.skipped += 1
                report.reasons[document.id] = result.skip
                log.info("document %s skipped: %s", document.id, result.skip)
                if bar:
                    bar.update(1)
                continue
            screened[document.id] = result
            by_id[document.id] = document
            chunks = result.chunks()
            expected[document.id] = len(chunks)
            for start, end in chunks:
                yield result.text[start:end], (document.id, start)

    finished: list[int] = []

    def store_finished() -> None:
        # One transaction for the finished documents, a savepoint each: a crash loses no more
        # than these (they are not marked extracted, so the next run does them again). Their
        # claims join points together, in document order (one read of what clustering needs).
        with write_batch(db):
            stored = {doc_id: store_one(doc_id) for doc_id in finished}
            _cluster(db, stored, report)
        if bar:
            bar.update(len(finished))
        finished.clear()

    def store_one(doc_id: int) -> list[int]:
        parts = sorted(collected.pop(doc_id, {}).values(), key=lambda part: part[0])
        result = screened.pop(doc_id)
        try:
            with atomic(db):
                return _store(db, by_id.pop(doc_id), parts, result, version, failures.pop(doc_id, None), report)
        except Exception as exc:  # a bad document never stops the batch
            log.exception("document %s failed", doc_id)
            reason = f"{type(exc).__name__}: {exc}"[:500]
            mark_extracted(db, doc_id, version, "error", reason)
            report.errors += 1
            report.reasons[doc_id] = reason
            return []

    if executor is not None:
        analysed = _analysed_on(executor, pieces(), batch_size, {"topics": topics, "model": kb_model(db)}, version)
    else:
        assert nlp is not None
        analysed = _analysed(nlp, pieces(), n_process, batch_size)
    try:
        for doc_id, offset, tokens, claims, non_claims, error in analysed:
            if doc_id not in screened or offset in collected.get(doc_id, {}):
                continue  # a second result of the same piece (a batch a cluster ran again)
            report.tokens += tokens
            if error:
                failures.setdefault(doc_id, error)
            collected.setdefault(doc_id, {})[offset] = (offset, claims, non_claims)
            if len(collected[doc_id]) == expected[doc_id] and doc_id not in finished:
                finished.append(doc_id)
                if len(finished) >= STORE_BATCH:
                    store_finished()
    except Exception:  # the cluster went away: keep what is finished, the rest waits for the next run
        if finished:
            log.warning("storing the %d documents finished before the failure", len(finished))
            store_finished()
        raise
    finally:
        if executor is not None:
            report.cluster = executor.summary()
    store_finished()
    if bar:
        bar.close()
    report.seconds = time.perf_counter() - started
    return report


# (document id, offset, tokens, claims, non-claims [start_char, end_char, reason], error)
Result = tuple[int, int, int, list[dict[str, Any]], list[list[Any]], Optional[str]]
_WORKER_NLP: Language | None = None


def _analysed(nlp: Language, pieces: Iterable[tuple[str, tuple[int, int]]], n_process: int,
              batch_size: int) -> Iterator[Result]:
    """(document id, offset, tokens, claims, non-claims, error) per piece, in order; workers when n_process > 1.

    Workers are forked with the pipeline already built and send back only the claims (plain
    data), not spaCy Docs, so the parent spends its time storing, not deserialising.
    """
    batches = _batches(pieces, batch_size)
    if n_process <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        for batch in batches:
            yield from _analyse(nlp, batch)
        return
    global _WORKER_NLP
    _WORKER_NLP = nlp
    try:
        with multiprocessing.get_context("fork").Pool(n_process) as pool:
            # Fed from this thread (reading documents and marking skipped ones touches the KB),
            # with a few batches in flight per worker.
            pending: deque[Any] = deque()
            for batch in batches:
                pending.append(pool.apply_async(_analyse_in_worker, (batch,)))
                while len(pending) >= 3 * n_process:
                    yield from pending.popleft().get()
            while pending:
                yield from pending.popleft().get()
    finally:
        _WORKER_NLP = None


def _analysed_on(executor: Any, pieces: Iterable[tuple[str, tuple[int, int]]], batch_size: int,
                 pipeline: dict[str, Any], version: str) -> Iterator[Result]:
    """Results per piece from the executor's workers, as their batches finish.

    Each worker builds the pipeline once for `version` from `pipeline` (`build_nlp` options: the
    KB's topic records and its own learned model), which travels with the model's registration, not with each batch; a
    batch the cluster gave up on comes back with its error for each of its documents.
    """
    outcomes = executor.map(_analyse, _batches(pieces, batch_size, TASK_CHARS), name="insightkb-extract",
                            key=f"extract-{version}",
                            load=partial(worker_pipeline, pipeline), version=installed_version,
                            expected=EXTRACTOR_VERSION)
    for outcome in outcomes:
        if outcome.error:
            for _text, (doc_id, offset) in outcome.batch:
                yield (doc_id, offset, 0, [], [], outcome.error)
        else:
            yield from outcome.result


def worker_pipeline(options: dict[str, Any]) -> Language:
    """The pipeline as a cluster worker builds it (once per process), from `build_nlp` options."""
    nlp = build_nlp(**options)
    nlp.set_error_handler(_record_error)
    return nlp


def installed_version() -> str:
    """The extractor version of the code installed in this process (workers must match the driver)."""
    return EXTRACTOR_VERSION


def _batches(pieces: Iterable[Any], size: int, max_chars: int | None = None) -> Iterator[list[Any]]:
    """Lists of `size` pieces, or fewer when their text reaches `max_chars` (a cluster task's
    share: small enough to balance and to rerun cheaply, large enough that the engine's
    overhead per task is a few percent)."""
    batch: list[Any] = []
    chars = 0
    for piece in pieces:
        batch.append(piece)
        chars += len(piece[0])
        if len(batch) >= size or (max_chars is not None and chars >= max_chars):
            yield batch
            chars = 0
            batch = []
    if batch:
        yield batch


def _analyse_in_worker(batch: list[tuple[str, tuple[int, int]]]) -> list[Result]:
    assert _WORKER_NLP is not None
    return _analyse(_WORKER_NLP, batch)


def _analyse(nlp: Language, batch: list[tuple[str, tuple[int, int]]]) -> list[Result]:
    """Run the pipeline over one batch of pieces; a piece a component failed on comes back with its error."""
    _ERRORS.clear()
    done: dict[tuple[int, int], Result] = {}
    for doc, (doc_id, offset) in nlp.pipe(batch, as_tuples=True, batch_size=len(batch)):
        done[(doc_id, offset)] = (doc_id, offset, len(doc), doc.user_data.get(CLAIMS, []),
                                  doc.user_data.get(REJECTED, []), doc.user_data.get(ERROR_KEY))
    out = []
    for text, (doc_id, offset) in batch:
        found = done.get((doc_id, offset))
        if found is None:  # spaCy drops a doc a component raised on
            reason = _ERRORS.get((doc_id, offset)) or "the pipeline failed on this piece (see the log)"
            found = (doc_id, offset, 0, [], [], reason)
        out.append(found)
    return out


def _pending_count(db: sqlite_utils.Database, version: str, reextract: bool) -> int:
    """How many documents `documents_to_extract` will yield (for the progress bar)."""
    where = "(extracted_version IS NULL OR extracted_version != ?)" if reextract else "extracted_version IS NULL"
    params = [version] if reextract else []
    return db.execute(f"SELECT count(*) FROM documents WHERE {where} AND duplicate_of IS NULL", params).fetchone()[0]


def _store(db: sqlite_utils.Database, document: Document, parts: list[tuple[int, list[dict[str, Any]], list[list[Any]]]],
           result: Screened,
           version: str, failure: str | None, report: ExtractReport) -> list[int]:
    """Store one document's claims and non-claims and mark it extracted; returns its claim ids."""
    assert document.id is not None
    if failure:
        mark_extracted(db, document.id, version, "error", failure[:500])
        report.errors += 1
        report.reasons[document.id] = failure
        return []
    claims: list[Claim] = []
    non_claims: list[NonClaim] = []
    for offset, found_claims, rejected in parts:
        for found in found_claims:
            claims.append(to_claim(document, result.text, offset, found))
        for start, end, why in rejected:
            non_claims.append(NonClaim(start_char=offset + start, end_char=offset + end,
                                       text=_one_line(result.text[offset + start:offset + end]), reason=why))
    saved = save_claims(db, document.id, claims, version)
    save_non_claims(db, document.id, non_claims, version)
    reason = "; ".join(result.notes) or None
    mark_extracted(db, document.id, version, "ok", reason)
    report.documents += 1
    report.claims += len(claims)
    report.kept_by_editor += saved.kept_by_editor
    if reason:
        report.reasons[document.id] = reason
    return [c.id for c in claims if c.id is not None]


def _cluster(db: sqlite_utils.Database, stored: dict[int, list[int]], report: ExtractReport) -> None:
    """Put the stored documents' claims into points, all at once; if that fails, document by
    document, so one bad document leaves only its own claims without a point."""
    try:
        with atomic(db):
            assign_clusters(db, [cid for ids in stored.values() for cid in ids])
        return
    except Exception:
        log.exception("clustering %d documents together failed; clustering them one by one", len(stored))
    for doc_id, ids in stored.items():
        try:
            with atomic(db):
                assign_clusters(db, ids)
        except Exception as exc:
            log.exception("document %s: its claims could not join points", doc_id)
            report.reasons[doc_id] = f"not clustered: {type(exc).__name__}: {exc}"[:500]


def to_claim(document: Document, clean_text: str, offset: int, found: dict[str, Any]) -> Claim:
    """A pipeline claim (offsets relative to its chunk) as a kb Claim with document offsets."""
    start, end = offset + found["start_char"], offset + found["end_char"]
    speaker = found.get("speaker") or _passage_speaker(document, start, end)
    return Claim(
        document_id=document.id or 0,
        start_char=start,
        end_char=end,
        text=_one_line(clean_text[start:end]),
        confidence=round(found.get("confidence", 0.5), 3),
        speaker=speaker,
        topics=[
            TopicTag(topic=slug, stance=t["stance"], score=t["score"], cues=t["cues"],
                     probability=t.get("probability"), stance_probability=t.get("stance_probability"))
            for slug, t in sorted(found.get("topics", {}).items())
        ],
        quantities=[
            Quantity(text=q["text"], value=q["value"], unit=q["unit"], kind=q["kind"], value_max=q["value_max"],
                     start_char=offset + q["start_char"], end_char=offset + q["end_char"])
            for q in found.get("quantities", [])
        ],
        entities=[
            Entity(text=e["text"], label=e["label"], start_char=offset + e["start_char"], end_char=offset + e["end_char"])
            for e in found.get("entities", [])
        ],
    )


def _one_line(text: str) -> str:
    """A sentence as stored: whitespace runs (line breaks too) collapsed to one space."""
    return _SPACE.sub(" ", text).strip()


def _passage_speaker(document: Document, start: int, end: int) -> str | None:
    for p in document.passages:
        if p.speaker and p.start_char <= start and end <= p.end_char:
            return p.speaker
    return None


_ERRORS: dict[tuple[int, int], str] = {}


def _record_error(proc_name: str, proc: Any, docs: list[Doc], exc: Exception) -> None:
    """spaCy drops a doc a component failed on; remember why (in this process) for its document."""
    log.warning("%s failed on %d doc(s): %s", proc_name, len(docs), exc)
    for doc in docs:
        reason = f"{proc_name}: {type(exc).__name__}: {exc}"
        doc.user_data[ERROR_KEY] = reason
        context = getattr(doc, "_context", None)
        if context:
            _ERRORS.setdefault(tuple(context), reason)
