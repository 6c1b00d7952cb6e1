"""A batch that kills every worker that runs it comes back as an error; the other batches, and the
extraction run around them, go on. Uses its own cluster: a scheduler that gives up after the
first death (allowed-failures 0) and one worker whose nanny restarts it."""
from __future__ import annotations

import os
import time

import pytest

from tests.cluster.conftest import _start, _stop
from tests.conftest import free_port

pytestmark = pytest.mark.slow


def test_a_batch_that_kills_its_worker_comes_back_as_an_error(tmp_path):
    from distributed import Client

    from cluster.dask_engine import DaskExecutor
    from tests.cluster import tasks

    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    os.environ["DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES"] = "0"
    try:
        scheduler = _start(["scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                           tmp_path / "scheduler.log")
    finally:
        del os.environ["DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES"]
    worker = _start(["worker", address, "--nthreads", "1", "--no-dashboard"], tmp_path / "worker.log")  # with a nanny
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with Client(address, timeout=5, set_as_default=False) as client:
                    client.wait_for_workers(1, timeout=90)
                break
            except OSError:
                assert time.monotonic() < deadline, (tmp_path / "scheduler.log").read_text()[-2000:]
                time.sleep(0.5)
        with DaskExecutor(address, max_in_flight=1) as executor:
            outcomes = list(executor.map(tasks.kill_own_process_on, [[1], [-1], [2], [3]], name="insightkb-test",
                                         key="test-poison", load=tasks.load_marker, ))
            by_batch = {tuple(o.batch): o for o in outcomes}
            assert by_batch[(-1,)].error and "died" in by_batch[(-1,)].error and by_batch[(-1,)].result is None
            assert [by_batch[(i,)].result["items"] for i in (1, 2, 3)] == [[1], [2], [3]]  # the restarted worker
            assert executor.workers_lost and "1 workers lost" in executor.summary()
    finally:
        _stop(worker)
        _stop(scheduler)
