"""Dask backend: meta frames and the partition conversion that matches them, scoring with per-row
quarantine (:func:`score`, :func:`run_scoring`) and lake-scale inference (:func:`infer_schema`).

Example:
    >>> from sigbatch import ColSpec, Schema
    >>> from sigbatch.dask import to_meta
    >>> list(to_meta(Schema([ColSpec("double", "x")])).columns)
    ['x']
"""

from __future__ import annotations

from sigbatch.dask.types import to_meta, to_pandas

__all__ = [
    "to_meta",
    "to_pandas",
]
from sigbatch.dask.infer import infer_schema
from sigbatch.dask.score import run_scoring, score  # issue 6; the module is sigbatch.dask.score too

__all__ += ["infer_schema", "run_scoring", "score"]
