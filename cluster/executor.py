"""The executor interface, its outcome record and `open_executor` (local or Dask by address)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Protocol


class ClusterError(Exception):
    "The cluster cannot be reached, has no workers, or failed in a way that stops the run"


class WorkerMismatch(ClusterError):
    "A worker runs a different version of the step than the driver"


@dataclass
class Outcome:
    """One finished batch: its result, or why the cluster gave up on it (`error`)."""

    batch: Any
    result: Any = None
    error: str | None = None
    worker: str | None = None


class Executor(Protocol):
    """Runs `run(resource, batch)` for every batch; `resource = load()` once per worker process."""

    def map(self, run: Callable[[Any, Any], Any], batches: Iterable[Any], *, name: str, key: str,
            load: Callable[[], Any], version: Callable[[], str] | None = None,
            expected: str | None = None, resources: dict[str, float] | None = None) -> Iterator[Outcome]: ...

    def describe(self) -> str: ...

    def close(self) -> None: ...


def check_version(version: Callable[[], str] | None, expected: str | None) -> None:
    """Raise WorkerMismatch when the step installed here is not the driver's."""
    if version is None or expected is None:
        return
    here = version()
    if here != expected:
        raise WorkerMismatch(f"this worker runs {here}, the driver {expected}: "
                             "install the same insightkb version on every worker")


def open_executor(address: str | None, **options: Any) -> Executor | None:
    """A `DaskExecutor` connected to the scheduler at `address`; None (run locally) when empty.

    `options` go to `DaskExecutor` (max_in_flight, connect_timeout, wait_for_workers).
    """
    if not address or not address.strip():
        return None
    try:
        from cluster.dask_engine import DaskExecutor
    except ImportError as exc:
        raise ClusterError(f"running on a cluster needs Dask distributed ({exc.name} is missing): "
                           "pip install 'insightkb[cluster]'") from None
    return DaskExecutor(address.strip(), **options)
