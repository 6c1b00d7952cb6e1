"""Where the heavy per-document steps run: in this process (the default), or on a Dask cluster.

A step hands the executor batches (document ids and text, never a database handle) and gets
results back as they finish; the caller stays the knowledge base's only writer. Workers load the
step's model once per process (`cluster.worker`) and keep it between batches.

This package imports nothing of ours: `insightkb` opens an executor and passes it to the step.
"""
from __future__ import annotations

from cluster.executor import ClusterError, Outcome, WorkerMismatch, open_executor

__all__ = ["ClusterError", "Outcome", "WorkerMismatch", "open_executor"]
