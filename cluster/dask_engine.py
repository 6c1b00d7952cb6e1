"""`DaskExecutor`: batches run on a Dask distributed cluster, a bounded number in flight.

Workers are started with Dask's own CLI on any machine that has the project installed:

    dask scheduler --host 0.0.0.0                    # port 8786, dashboard on :8787
    dask worker tcp://SCHEDULER:8786 --nthreads 1    # as many as there are cores

A worker that dies (killed, out of memory, machine gone) takes its running batches with it; the
scheduler runs them again on another worker. A batch that kills `allowed-failures` (3) workers in a
row comes back as an `Outcome` with its error, and the run goes on.
"""
from __future__ import annotations

import logging
import threading
import uuid
from typing import Any, Callable, Iterable, Iterator

from distributed import Client, KilledWorker, as_completed
from distributed.client import FutureCancelledError

from cluster.executor import ClusterError, Outcome, WorkerMismatch
from cluster.worker import ResourcePlugin, run_with_resource

log = logging.getLogger(__name__)


class DaskExecutor:
    """A client of one Dask scheduler; `map` keeps at most `max_in_flight` batches on the cluster."""

    def __init__(self, address: str, *, max_in_flight: int = 8, connect_timeout: float = 30.0,
                 wait_for_workers: float = 60.0) -> None:
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be at least 1")
        self.address = address
        self.max_in_flight = max_in_flight
        self.wait_for_workers = wait_for_workers
        self.batches = 0
        self.workers_lost: list[str] = []
        self.batches_rerun = 0
        self.workers_joined: list[str] = []
        self.peak_in_flight = 0
        self._events_lock = threading.Lock()
        try:
            self.client = Client(address, timeout=connect_timeout, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise ClusterError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
        self.client.subscribe_topic("all", self._on_event)

    # -- what the user sees ------------------------------------------------------------------

    def workers(self) -> dict[str, int]:
        """Worker address -> threads, as the scheduler knows them now."""
        return dict(self.client.nthreads())

    @property
    def dashboard(self) -> str | None:
        try:
            return self.client.dashboard_link
        except Exception:  # no dashboard (bokeh missing or --no-dashboard)
            return None

    def describe(self) -> str:
        workers = self.workers()
        dashboard = f"; dashboard {self.dashboard}" if self.dashboard else ""
        return (f"cluster {self.address}: {len(workers)} workers, {sum(workers.values())} threads, "
                f"at most {self.max_in_flight} batches in flight{dashboard}")

    def summary(self) -> str:
        """One line for the step's report: batches, lost workers, reruns."""
        lost = f", {len(self.workers_lost)} workers lost ({self.batches_rerun} batches rerun)" if self.workers_lost else ""
        return f"on {self.address}: {self.batches} batches{lost}"

    def _on_event(self, event: tuple[float, dict[str, Any]]) -> None:
        _, msg = event
        if not isinstance(msg, dict):
            return
        action, worker = msg.get("action"), msg.get("worker")
        if action == "remove-worker" and worker:
            running = [k for k in msg.get("processing-tasks", ()) if str(k).startswith("insightkb-")]
            lost = [k for k in msg.get("lost-computed-tasks", ()) if str(k).startswith("insightkb-")]
            with self._events_lock:
                self.workers_lost.append(worker)
                self.batches_rerun += len(running) + len(lost)
            how = "left" if msg.get("expected") else "lost"
            log.warning("cluster: worker %s %s; %d batches it held run again elsewhere", worker, how,
                        len(running) + len(lost))
        elif action == "add-worker" and worker:
            with self._events_lock:
                self.workers_joined.append(worker)
            log.warning("cluster: worker %s joined", worker)

    # -- running -------------------------------------------------------------------------------

    def map(self, run: Callable[[Any, Any], Any], batches: Iterable[Any], *, name: str, key: str,
            load: Callable[[], Any], version: Callable[[], str] | None = None,
            expected: str | None = None, resources: dict[str, float] | None = None) -> Iterator[Outcome]:
        """`run(model, batch)` on the cluster for each batch; outcomes as they finish (any order).

        `name` prefixes the task keys (what the dashboard shows); `key` names the model, which each
        worker builds once with `load()`. With `version`/`expected`, a worker whose installed step
        differs from the driver's stops the run with `WorkerMismatch`. `resources` ({"GPU": 1})
        sends the batches only to workers started with them (`dask worker ... --resources GPU=1`).
        """
        self._ready()
        plugin = ResourcePlugin(key, load, version, expected, resources)
        try:
            self.client.register_plugin(plugin)
        except WorkerMismatch:
            raise
        except Exception as exc:
            raise ClusterError(f"the workers could not load {key}: {type(exc).__name__}: {exc}") from None
        run_id = uuid.uuid4().hex[:8]
        todo = iter(batches)
        in_flight: dict[Any, Any] = {}
        done = as_completed(loop=self.client.loop)
        counter = 0

        def submit_next() -> bool:
            nonlocal counter
            batch = next(todo, _END)
            if batch is _END:
                return False
            future = self.client.submit(run_with_resource, key, run, batch, key=f"{name}-{run_id}-{counter}",
                                        pure=False, resources=resources)
            counter += 1
            in_flight[future.key] = batch
            done.add(future)
            self.peak_in_flight = max(self.peak_in_flight, len(in_flight))
            return True

        try:
            while len(in_flight) < self.max_in_flight and submit_next():
                pass
            for future in done:
                batch = in_flight.pop(future.key)
                outcome = self._outcome(future, batch)
                future.release()
                self.batches += 1
                yield outcome
                while len(in_flight) < self.max_in_flight and submit_next():
                    pass
        finally:
            if in_flight:  # stopped early (an error, or the caller stopped): nothing left running
                self.client.cancel(list(done.futures))

    def _outcome(self, future: Any, batch: Any) -> Outcome:
        try:
            return Outcome(batch=batch, result=future.result())
        except KilledWorker as exc:
            reason = f"cluster: the workers running this batch died {exc.allowed_failures + 1} times ({exc.last_worker.address})"
            log.warning("%s; its documents are recorded as failed", reason)
            return Outcome(batch=batch, error=reason)
        except WorkerMismatch:
            raise
        except FutureCancelledError as exc:
            raise ClusterError(f"lost the Dask scheduler at {self.address}: {exc}") from None
        except Exception as exc:  # the step itself failed on the worker: every batch would
            raise ClusterError(f"a batch failed on the cluster: {type(exc).__name__}: {exc}") from exc

    def _ready(self) -> None:
        if self.client.nthreads():
            return
        log.warning("cluster %s has no workers yet; waiting up to %.0fs", self.address, self.wait_for_workers)
        try:
            self.client.wait_for_workers(1, timeout=self.wait_for_workers)
        except TimeoutError:
            raise ClusterError(f"no Dask worker joined {self.address} within {self.wait_for_workers:.0f}s "
                               f"(start some with: dask worker {self.address} --nthreads 1)") from None

    def close(self) -> None:
        try:
            self.client.unsubscribe_topic("all")
        except Exception:
            pass
        self.client.close()

    def __enter__(self) -> "DaskExecutor":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


_END = object()
