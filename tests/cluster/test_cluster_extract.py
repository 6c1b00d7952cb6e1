"""Extraction on a real Dask cluster (scheduler + two worker processes on loopback).

The cluster stores what the local path stores, document for document; a worker killed with
SIGKILL mid-run loses nothing and doubles nothing; the driver never has more than
`max_in_flight` batches out; a worker running other code is refused.
"""
from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner

from insightkb.cli import cli
from kb import open_db
from kb.documents import save_document
from kb.records import Document, Source
from kb.sources import add_source

GOLD = Path(__file__).resolve().parent.parent / "fixtures" / "gold"

pytestmark = pytest.mark.slow


def gold_texts() -> dict[str, str]:
    texts = {}
    for path in sorted(GOLD.glob("*.jsonl")):
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
            if line.strip():
                texts[f"{path.stem}-{i}"] = json.loads(line)["text"]
    return texts


def shuffled_texts(n: int, seed: int = 11) -> dict[str, str]:
    """`n` documents of 4-8 gold paragraphs each, in shuffled order."""
    paragraphs = [p for text in gold_texts().values() for p in text.split("\n\n") if p.strip()]
    rng = random.Random(seed)
    return {f"doc-{i}": f"[{i}]\n\n" + "\n\n".join(rng.sample(paragraphs, rng.randint(4, 8))) for i in range(n)}


def make_kb(path: Path, texts: dict[str, str]) -> Path:
    db = open_db(path)
    source = add_source(db, Source(url="file:///cluster-tests", kind="text", title="cluster tests"))
    for guid, text in texts.items():
        save_document(db, Document(source_id=source.id, guid=guid, text=text))
    db.conn.close()
    return path


def stored(path: Path) -> dict[str, list]:
    """Everything extraction stored, keyed by document guid (not by row ids, which differ by order)."""
    db = open_db(path)
    out = {
        "documents": sorted(db.execute(
            "SELECT guid, extract_status, extract_reason, extracted_version FROM documents").fetchall()),
        "claims": sorted(db.execute(
            "SELECT d.guid, c.start_char, c.end_char, c.text, c.confidence, c.speaker, c.extractor_version"
            " FROM claims c JOIN documents d ON d.id = c.document_id").fetchall()),
        "topics": sorted(db.execute(
            "SELECT d.guid, c.start_char, t.topic, t.stance, t.score, t.cues FROM claim_topics t"
            " JOIN claims c ON c.id = t.claim_id JOIN documents d ON d.id = c.document_id").fetchall()),
        "quantities": sorted(db.execute(
            "SELECT d.guid, q.start_char, q.text, q.value, q.value_max, q.unit, q.kind FROM quantities q"
            " JOIN claims c ON c.id = q.claim_id JOIN documents d ON d.id = c.document_id").fetchall(), key=repr),
        "entities": sorted(db.execute(
            "SELECT d.guid, e.start_char, e.text, e.label FROM entities e"
            " JOIN claims c ON c.id = e.claim_id JOIN documents d ON d.id = c.document_id").fetchall()),
        "non_claims": sorted(db.execute(
            "SELECT d.guid, n.start_char, n.end_char, n.reason FROM non_claims n"
            " JOIN documents d ON d.id = n.document_id").fetchall()),
    }
    db.conn.close()
    return out


def summary_line(output: str) -> str:
    """The report line (the progress bar shares the output and ends in carriage returns)."""
    lines = [part for line in output.splitlines() for part in line.split("\r") if " documents, " in part]
    assert lines, output
    return lines[-1].strip()


def extract_locally(path: Path, nlp):
    from extract import extract_pending

    db = open_db(path)
    report = extract_pending(db, nlp=nlp)
    db.conn.close()
    return report


def test_gpu_work_lands_only_on_gpu_workers(local_cluster):
    """Runs first: a third worker started with `--resources GPU=1` takes every batch that asks for
    a GPU; it leaves again before the extraction tests."""
    from cluster.dask_engine import DaskExecutor
    from tests.cluster import tasks

    from tests.cluster.conftest import _start, _stop

    gpu = _start(["worker", local_cluster.address, "--nthreads", "1", "--no-nanny", "--name", "gpu",
                  "--resources", "GPU=1", "--no-dashboard"], local_cluster.logs / "gpu.log")
    try:
        with DaskExecutor(local_cluster.address) as executor:
            executor.client.wait_for_workers(3, timeout=90)
            outcomes = list(executor.map(tasks.echo, [[i] for i in range(6)], name="insightkb-test", key="test-gpu",
                                         load=tasks.load_marker, resources={"GPU": 1}))
            assert {o.result["pid"] for o in outcomes} == {gpu.pid}
            # Only the GPU worker loaded that model: CPU workers keep their memory for other steps.
            loads = executor.client.run(lambda: __import__("cluster.worker").worker.loaded())
            by_name = {info["name"]: a for a, info in executor.client.scheduler_info()["workers"].items()}
            assert "test-gpu" in loads[by_name["gpu"]]
            assert all("test-gpu" not in loads[by_name[w]] for w in ("w1", "w2")), loads
            spread = list(executor.map(tasks.echo, [[i] for i in range(12)], name="insightkb-test", key="test-cpu",
                                       load=tasks.load_marker))
            assert len({o.result["pid"] for o in spread}) >= 2  # without the resource, any worker
    finally:
        _stop(gpu)
    with local_cluster.client() as client:
        deadline = time.monotonic() + 30
        while len(client.nthreads()) != 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(client.nthreads()) == 2


def test_cluster_stores_what_the_local_path_stores(tmp_path, local_cluster, nlp):
    texts = gold_texts()
    texts["empty"] = "   "
    texts["german"] = ("Die Feinabstimmung eigener Modelle lohnt sich selten, weil die Basismodelle sich so schnell "
                       "verbessern. Das sagen viele Teams, die es versucht haben, und sie haben meistens recht.")
    local = make_kb(tmp_path / "local.db", texts)
    remote = make_kb(tmp_path / "cluster.db", texts)
    extract_locally(local, nlp)

    result = CliRunner().invoke(cli, ["--kb", str(remote), "extract", "--cluster", local_cluster.address,
                                      "--batch-size", "3"])
    assert result.exit_code == 0, result.output
    first, summary = result.output.splitlines()[0], summary_line(result.output)
    assert first.startswith(f"cluster {local_cluster.address}: 2 workers, 2 threads")
    assert f"dashboard {local_cluster.dashboard}/status" in first
    assert "0 errors" in summary and "2 skipped" in summary and f"on {local_cluster.address}:" in summary

    expected, got = stored(local), stored(remote)
    for table in got:  # on failure, say what differs
        assert got[table] == expected[table], (table, sorted(set(got[table]) ^ set(expected[table]))[:10])
    assert got["claims"] and got["topics"] and got["quantities"] and got["non_claims"]
    assert got == expected
    statuses = {guid: status for guid, status, _reason, _version in got["documents"]}
    assert statuses["empty"] == "skipped" and statuses["german"] == "skipped"

    # Each worker built the pipeline once, and a second run (nothing new) builds nothing again.
    again = CliRunner().invoke(cli, ["--kb", str(remote), "extract", "--cluster", local_cluster.address])
    assert again.exit_code == 0 and "extract: 0 documents" in again.output
    with local_cluster.client() as client:
        loads = client.run(lambda: __import__("cluster.worker").worker.loaded())
    assert len(loads) == 2
    built = [{k: n for k, n in counts.items() if k.startswith("extract-")} for counts in loads.values()]
    assert all(list(counts.values()) == [1] for counts in built), loads

    # The engine's dashboard shows our batches by name.
    metrics = urllib.request.urlopen(f"{local_cluster.dashboard}/metrics", timeout=10).read().decode()
    assert 'task_prefix_name="insightkb-extract"' in metrics


def test_backpressure_bounds_the_batches_in_flight(local_cluster):
    from cluster.dask_engine import DaskExecutor
    from tests.cluster import tasks

    pulled: list[int] = []

    def batches():
        for i in range(24):
            pulled.append(i)
            yield [i]

    with DaskExecutor(local_cluster.address, max_in_flight=3) as executor:
        seen, pids = [], set()
        for outcome in executor.map(tasks.echo, batches(), name="insightkb-test", key="test-echo",
                                    load=tasks.load_marker):
            assert outcome.error is None
            assert len(pulled) - len(seen) <= 3  # never more than 3 batches taken and not yet returned
            seen += outcome.result["items"]
            pids.add(outcome.result["pid"])
        assert sorted(seen) == list(range(24)) and executor.peak_in_flight == 3
        assert len(pids) == 2  # both workers took batches


def test_a_worker_with_another_version_is_refused(local_cluster):
    from cluster import WorkerMismatch
    from cluster.dask_engine import DaskExecutor
    from tests.cluster import tasks

    with DaskExecutor(local_cluster.address) as executor:
        with pytest.raises(WorkerMismatch, match="this worker runs step 1.0, the driver step 2.0"):
            list(executor.map(tasks.echo, [[1]], name="insightkb-test", key="test-mismatch", load=tasks.load_marker,
                              version=tasks.worker_version, expected="step 2.0"))


def test_unreachable_scheduler_is_one_clear_line(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text("[cluster]\nconnect_timeout = 2.0\n")
    kb = make_kb(tmp_path / "k.db", {"one": "Fine-tuning pays off above ten billion tokens, says Ada Lovelace."})
    result = CliRunner().invoke(cli, ["-c", str(config), "--kb", str(kb), "extract", "--cluster", "tcp://127.0.0.1:9"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        result.output.strip().splitlines()[0]] and "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in result.output
    db = open_db(kb)
    assert db.execute("SELECT extracted_version FROM documents").fetchone()[0] is None  # left for the next run
    db.conn.close()


def test_scheduled_extract_job_uses_the_configured_cluster(tmp_path, local_cluster, monkeypatch, caplog):
    """`insightkb run` runs this job; INSIGHTKB_CLUSTER is what `run --cluster` sets."""
    from insightkb import jobs

    kb = make_kb(tmp_path / "k.db", dict(list(gold_texts().items())[:3]))
    monkeypatch.setenv("INSIGHTKB_CLUSTER", local_cluster.address)
    summary = jobs.extract_pending(str(kb), None)
    assert "extract: 3 documents" in summary and f"on {local_cluster.address}: " in summary

    monkeypatch.setenv("INSIGHTKB_CLUSTER", "tcp://127.0.0.1:9")
    config = tmp_path / "c.toml"
    config.write_text("[cluster]\nconnect_timeout = 1.0\n")
    make_kb(tmp_path / "k2.db", {"x": "Fine-tuning pays off above ten billion tokens, analysts say."})
    with caplog.at_level("WARNING"):
        failed = jobs.extract_pending(str(tmp_path / "k2.db"), str(config))
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in failed
    assert any("trying again at the next run" in r.getMessage() for r in caplog.records)


def test_worker_killed_mid_run_loses_and_doubles_nothing(tmp_path, local_cluster, nlp):
    """Runs last: it leaves the cluster one worker short."""
    texts = shuffled_texts(96)
    local = make_kb(tmp_path / "local.db", texts)
    remote = make_kb(tmp_path / "cluster.db", texts)
    extract_locally(local, nlp)

    victim = local_cluster.workers["w2"]
    driver = subprocess.Popen([sys.executable, "-m", "insightkb", "--kb", str(remote), "extract", "--cluster",
                               local_cluster.address, "--batch-size", "2"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    killed_while_running = None
    with local_cluster.client() as client:
        address = next(a for a, info in client.scheduler_info()["workers"].items() if info["name"] == "w2")
        watch = open_db(remote)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and driver.poll() is None:
            done = watch.execute("SELECT count(*) FROM documents WHERE extracted_version IS NOT NULL").fetchone()[0]
            running = client.processing([address]).get(address, [])
            if done and any(str(k).startswith("insightkb-extract") for k in running):
                victim.send_signal(signal.SIGKILL)
                killed_while_running = (done, running)
                break
            time.sleep(0.05)
        watch.conn.close()
    output, _ = driver.communicate(timeout=300)
    assert killed_while_running, f"the run ended before a batch was stored and w2 was busy:\n{output}"
    assert 0 < killed_while_running[0] < len(texts)
    assert driver.returncode == 0, output
    assert f"worker {address} lost" in output
    summary = summary_line(output)
    assert "96 documents" in summary and "0 errors" in summary and "1 workers lost" in summary, summary

    expected, got = stored(local), stored(remote)
    assert [status for _g, status, _r, _v in got["documents"]] == ["ok"] * len(texts)
    assert got == expected  # every document once: same claims, no claim, topic or number twice
