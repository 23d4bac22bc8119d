"""Lake-scale signature inference on Dask: partials built by the workers, tree-merged.

Two kinds of source, one result (:class:`~sigbatch.infer.InferenceResult`):

* **a path** (Parquet, JSON lines or CSV files): files are listed and sampled exactly as the local
  engine does (:func:`sigbatch.infer.lake.plan_files`); one task per chosen file reads it with the
  core reader and returns only its partial (as a JSON-able dict); partials merge in a tree of
  ``merge`` tasks, so the client receives one small partial.
* **a Dask DataFrame**: partitions are chosen by seed among ``ddf.npartitions``; each chosen
  partition's first ``rows_per_partition`` rows are summarised where the partition is computed
  (Dask materialises a partition whole, so the row cap limits the inference work, not the read).
  Object columns are read as Python values, typed columns through Arrow; ``ddf._meta`` declares the
  type of columns no chosen row shows. Note that Dask turns object columns into strings by default
  (``dataframe.convert-string``), nested lists and dicts included: build such frames with that
  option off, or infer from the files.

The work runs on the active ``dask.distributed`` client if there is one, else on ``scheduler``
(``"threads"``, ``"processes"``, ``"synchronous"``; None for Dask's default).

Example:
    from sigbatch.dask import infer_schema
    result = infer_schema("lake/", fraction=0.5, scheduler="processes")
"""

from __future__ import annotations

import os
from typing import Any

import dask
import dask.dataframe as dd
import pandas as pd

from sigbatch.infer.finalize import InferenceResult, Selection
from sigbatch.infer.lake import (
    check_options,
    choose_partitions,
    finish,
    merge_dicts,
    plan_files,
    read_task_dict,
)
from sigbatch.infer.partial import Partial, Sample, merge, partial_from_frame

__all__ = ["infer_schema"]

_SPLIT_EVERY = 8


def infer_schema(
    source: dd.DataFrame | str | os.PathLike[str],
    *,
    format: str | None = None,
    fraction: float | None = None,
    max_partitions: int | None = None,
    rows_per_partition: int | None = None,
    seed: int = 0,
    policy: str = "strict",
    scheduler: str | None = None,
) -> InferenceResult:
    """Infer the signature schema of a Dask DataFrame or of a directory of files, on Dask.

    Args:
        source: A Dask DataFrame, or a file or directory of Parquet, JSON lines or CSV files.
        format: ``parquet``, ``json`` or ``csv`` for a path; None to decide from extensions.
        fraction: The share of partitions (files) to read, chosen by seed; None for all.
        max_partitions: At most this many partitions (files).
        rows_per_partition: Summarise at most this many rows of each partition (file).
        seed: Chooses the partitions, deterministically.
        policy: ``strict`` (default), ``widen`` or ``majority``.
        scheduler: Dask scheduler when no distributed client is active.

    Returns:
        The schema, the report (with the partitions chosen and rows read) and the merged partial.

    Raises:
        InferenceError: Nothing to read, an unreadable file, or (``strict``) conflicting types.
        ConfigError: Invalid sampling settings or policy.

    Example:
        result = infer_schema(ddf, max_partitions=4, rows_per_partition=10_000)
    """
    check_options(
        format=format,
        fraction=fraction,
        max_partitions=max_partitions,
        rows_per_partition=rows_per_partition,
        seed=seed,
        policy=policy,
    )
    if isinstance(source, dd.DataFrame):
        keys = [f"partition {i}" for i in range(source.npartitions)]
        chosen = choose_partitions(keys, fraction=fraction, max_partitions=max_partitions, seed=seed)
        parts = source.to_delayed()
        leaves = [dask.delayed(_frame_partial)(parts[i], i, rows_per_partition) for i in chosen]
        selection = Selection(
            source="Dask DataFrame",
            format=None,
            engine="dask",
            partitions=source.npartitions,
            chosen=tuple(keys[i] for i in chosen),
            fraction=fraction,
            max_partitions=max_partitions,
            rows_per_partition=rows_per_partition,
            seed=seed,
        )
        declared = partial_from_frame(source._meta, origin=-1)
    else:
        tasks, selection = plan_files(
            source,
            format=format,
            fraction=fraction,
            max_partitions=max_partitions,
            rows_per_partition=rows_per_partition,
            seed=seed,
            engine="dask",
        )
        leaves = [dask.delayed(read_task_dict)(t.to_dict()) for t in tasks]
        declared = None
    (merged,) = dask.compute(_tree(leaves), scheduler=scheduler)
    partial = Partial.from_dict(merged)
    if declared is not None:
        partial = merge(declared, partial)
    return finish(partial, policy, selection)


def _tree(leaves: list[Any]) -> Any:
    """A balanced tree of delayed merges over the leaves' partial dicts."""
    level = leaves
    while len(level) > 1:
        level = [
            dask.delayed(_merge_many)(*level[i : i + _SPLIT_EVERY])
            if len(level[i : i + _SPLIT_EVERY]) > 1
            else level[i]
            for i in range(0, len(level), _SPLIT_EVERY)
        ]
    return level[0] if level else dask.delayed(Partial().to_dict)()


def _merge_many(*partials: dict[str, Any]) -> dict[str, Any]:
    """Several partial dicts merged into one."""
    out = partials[0]
    for p in partials[1:]:
        out = merge_dicts(out, p)
    return out


def _frame_partial(frame: pd.DataFrame, index: int, cap: int | None) -> dict[str, Any]:
    """One partition's first ``cap`` rows as a partial dict."""
    rows = len(frame)
    head = frame if cap is None or rows <= cap else frame.iloc[:cap]
    partial = partial_from_frame(head, origin=index)
    sample = Sample(f"partition {index}", len(head), exhausted=len(head) == rows)
    return Partial(rows=partial.rows, fields=partial.fields, first=partial.first, samples=(sample,)).to_dict()
