"""Dask backend: meta frames and the partition conversion that matches them (more to come).

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
from sigbatch.dask.score import run_scoring, score  # issue 6; the module is sigbatch.dask.score too

__all__ += ["run_scoring", "score"]
from sigbatch.dask.infer import infer_schema as infer_schema  # noqa: E402 (issue 4: lake-scale inference)
