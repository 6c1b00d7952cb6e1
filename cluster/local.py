"""`InProcessExecutor`: the executor interface without a cluster (one model, batches in order).

The steps' own local paths stay as they are (extract's `--n-process` forks its pipeline); this
is for code written against the executor interface that should also run with nothing set up,
and for measuring what the cluster adds (`python -m bench cluster`).
"""
from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator

from cluster.executor import Outcome, check_version


class InProcessExecutor:
    """Runs every batch here, in order, with the model loaded once per key."""

    address = "this process"

    def __init__(self) -> None:
        self.batches = 0
        self._models: dict[str, Any] = {}

    def map(self, run: Callable[[Any, Any], Any], batches: Iterable[Any], *, name: str, key: str,
            load: Callable[[], Any], version: Callable[[], str] | None = None,
            expected: str | None = None, resources: dict[str, float] | None = None) -> Iterator[Outcome]:
        check_version(version, expected)
        if key not in self._models:
            self._models[key] = load()
        model = self._models[key]
        for batch in batches:
            self.batches += 1
            yield Outcome(batch=batch, result=run(model, batch))

    def describe(self) -> str:
        return "in this process"

    def summary(self) -> str:
        return f"in this process: {self.batches} batches"

    def close(self) -> None:
        self._models.clear()
