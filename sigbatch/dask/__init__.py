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
