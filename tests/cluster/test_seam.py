"""The execution seam without a cluster: an in-process executor stores what the local path stores,
and a batch whose result arrives twice is stored once."""
from __future__ import annotations

from typing import Any, Iterator

from cluster import Outcome
from cluster.local import InProcessExecutor
from extract import extract_pending
from kb import open_db

from tests.cluster.test_cluster_extract import extract_locally, gold_texts, make_kb, shuffled_texts, stored


class EveryBatchTwice(InProcessExecutor):
    """Hands back every batch's outcome twice, the second time after the next batch (as a rerun would)."""

    def map(self, run, batches, **kwargs) -> Iterator[Outcome]:
        late: list[Outcome] = []
        for outcome in super().map(run, batches, **kwargs):
            yield outcome
            yield from late
            late = [Outcome(batch=outcome.batch, result=list(outcome.result))]
        yield from late


def _extract_with(path, executor: Any):
    db = open_db(path)
    report = extract_pending(db, executor=executor, batch_size=3)
    db.conn.close()
    return report


def test_in_process_executor_stores_what_the_local_path_stores(tmp_path, nlp):
    texts = gold_texts()
    local, seam = make_kb(tmp_path / "local.db", texts), make_kb(tmp_path / "seam.db", texts)
    extract_locally(local, nlp)
    report = _extract_with(seam, InProcessExecutor())
    assert "in this process: " in report.summary() and report.errors == 0
    assert stored(seam) == stored(local)


def test_a_batch_delivered_twice_is_stored_once(tmp_path, nlp):
    texts = shuffled_texts(24)
    local, twice = make_kb(tmp_path / "local.db", texts), make_kb(tmp_path / "twice.db", texts)
    expected = extract_locally(local, nlp)
    executor = EveryBatchTwice()
    report = _extract_with(twice, executor)
    assert executor.batches == 8 and report.documents == 24
    assert stored(twice) == stored(local)
    assert report.tokens == expected.tokens  # the second copies were not counted either


class GivesUpOnSecondBatch(InProcessExecutor):
    """Reports the second batch as given up on, as the cluster does after a batch killed its workers."""

    def map(self, run, batches, **kwargs) -> Iterator[Outcome]:
        for i, outcome in enumerate(super().map(run, batches, **kwargs)):
            yield Outcome(batch=outcome.batch, error="cluster: the workers running this batch died 4 times") if i == 1 \
                else outcome


def test_documents_of_a_batch_given_up_on_are_recorded_as_errors(tmp_path, nlp):
    texts = shuffled_texts(9)
    path = make_kb(tmp_path / "k.db", texts)
    report = _extract_with(path, GivesUpOnSecondBatch())
    assert (report.documents, report.errors) == (6, 3)
    db = open_db(path)
    rows = db.execute("SELECT guid, extract_status, extract_reason FROM documents ORDER BY id").fetchall()
    db.conn.close()
    assert [status for _g, status, _r in rows] == ["ok"] * 3 + ["error"] * 3 + ["ok"] * 3
    assert {reason for _g, status, reason in rows if status == "error"} == {
        "cluster: the workers running this batch died 4 times"}
