"""Worker side: each step's model is loaded once per worker process and kept between batches.

`ResourcePlugin` is a Dask worker plugin: registering it makes every worker, and every worker
that joins later, load the model as it starts (in a thread, so the worker keeps answering its
scheduler); when the step asks for resources ({"GPU": 1}), only the workers started with them
load it. `run_with_resource` is the task: it finds the loaded model by key (loading it if the
plugin has not yet) and runs one batch, one batch at a time per model (spaCy pipelines are not
made for threads; a worker with several threads still computes correctly).
"""
from __future__ import annotations

import asyncio
import logging
import threading
from collections import OrderedDict
from typing import Any, Callable

from distributed.diagnostics.plugin import WorkerPlugin

from cluster.executor import check_version

log = logging.getLogger(__name__)

KEEP = 2  # models kept per process (a new extractor version replaces the oldest)
_LOADERS: dict[str, tuple[Callable[[], Any], Callable[[], str] | None, str | None]] = {}
_LOADED: OrderedDict[str, Any] = OrderedDict()
_LOCKS: dict[str, threading.Lock] = {}
_GUARD = threading.Lock()
_LOADS: dict[str, int] = {}  # how often each model was built in this process (once, unless dropped)


def register(key: str, load: Callable[[], Any], version: Callable[[], str] | None = None,
             expected: str | None = None) -> None:
    """Remember how to load the model `key` in this process (nothing is loaded yet)."""
    with _GUARD:
        _LOADERS[key] = (load, version, expected)
        _LOCKS.setdefault(key, threading.Lock())


def resource(key: str) -> tuple[Any, threading.Lock]:
    """The model `key`, loaded on first use in this process, and the lock that serialises its use."""
    with _GUARD:
        if key not in _LOADERS:
            raise KeyError(f"no model registered as {key!r} on this worker")
        lock = _LOCKS[key]
    with lock:
        if key not in _LOADED:
            load, version, expected = _LOADERS[key]
            check_version(version, expected)
            log.info("loading model %s", key)
            model = load()
            with _GUARD:
                _LOADED[key] = model
                _LOADS[key] = _LOADS.get(key, 0) + 1
                while len(_LOADED) > KEEP:
                    old, _ = _LOADED.popitem(last=False)
                    log.info("dropped model %s", old)
        with _GUARD:
            _LOADED.move_to_end(key)
            return _LOADED[key], lock


def loaded() -> dict[str, int]:
    """The models loaded in this process (most recently used last) and how often each was built."""
    with _GUARD:
        return {key: _LOADS[key] for key in _LOADED}


def run_with_resource(key: str, run: Callable[[Any, Any], Any], batch: Any) -> Any:
    """The task sent to workers: `run(model, batch)` with the process's model `key`."""
    model, lock = resource(key)
    with lock:
        return run(model, batch)


class ResourcePlugin(WorkerPlugin):
    """Registers (and loads, off the event loop) one step's model on each worker."""

    idempotent = True

    def __init__(self, key: str, load: Callable[[], Any], version: Callable[[], str] | None = None,
                 expected: str | None = None, resources: dict[str, float] | None = None) -> None:
        self.key = key
        self.load = load
        self.version = version
        self.expected = expected
        self.resources = dict(resources or {})
        self.name = f"insightkb-model-{key}"

    async def setup(self, worker: Any) -> None:
        check_version(self.version, self.expected)
        register(self.key, self.load, self.version, self.expected)
        if not has_resources(worker, self.resources):
            return  # never sent this step's batches (no GPU): loads nothing, keeps its memory for others
        await asyncio.get_running_loop().run_in_executor(None, resource, self.key)


def has_resources(worker: Any, wanted: dict[str, float]) -> bool:
    """Whether `worker` was started with at least `wanted` (`dask worker --resources GPU=1`)."""
    state = getattr(worker, "state", None)
    total = getattr(state, "total_resources", None) or getattr(worker, "total_resources", None) or {}
    return all(total.get(name, 0) >= amount for name, amount in wanted.items())
