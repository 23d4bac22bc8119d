"""Lake-scale signature inference on Spark: partials built on the executors, merged on the driver.

Two kinds of source, one result (:class:`~sigbatch.infer.InferenceResult`):

* **a path** (Parquet, JSON lines or CSV files): the files are listed and sampled on the driver
  exactly as the local engine does (:func:`sigbatch.infer.lake.plan_files`), each chosen file is
  read on an executor by the core reader (Parquet footers, Python JSON, per-cell CSV typing) and
  only its partial comes back (``reduce`` merges them as they arrive). The driver and the executors must
  see the same file system (local paths in ``local`` mode, a shared mount on a cluster).
* **a DataFrame**: the partitions are chosen by seed among ``df.rdd.getNumPartitions()``; in one
  ``mapInArrow`` stage each chosen partition summarises its first ``rows_per_partition`` rows
  (typed by their Arrow types: ``IntegerType`` is ``integer``, a struct an Object, a map a Map)
  into one JSON partial, and the other partitions return at once. The DataFrame's own schema
  declares the type of columns no chosen row shows.

Example:
    from sigbatch.spark import infer_schema
    result = infer_schema("lake/", rows_per_partition=1000)
    print(result.schema)
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from typing import Any

import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.pandas.types import to_arrow_schema

from sigbatch import errors
from sigbatch.errors import InferenceError, SigbatchError
from sigbatch.infer.finalize import InferenceResult, Selection
from sigbatch.infer.lake import (
    check_options,
    choose_partitions,
    finish,
    merge_dicts,
    plan_files,
    read_task_dict,
)
from sigbatch.infer.partial import EMPTY, Partial, Sample, merge, merge_all, partial_from_table
from sigbatch.spark.io import positional

__all__ = ["infer_schema"]

# The schema of the one-row batches each partition sends back.
_PARTIAL_SCHEMA = "partial string"


def infer_schema(
    source: DataFrame | str | os.PathLike[str],
    *,
    spark: SparkSession | None = None,
    format: str | None = None,
    fraction: float | None = None,
    max_partitions: int | None = None,
    rows_per_partition: int | None = None,
    seed: int = 0,
    policy: str = "strict",
) -> InferenceResult:
    """Infer the signature schema of a Spark DataFrame or of a directory of files, on Spark.

    Args:
        source: A DataFrame, or a file or directory of Parquet, JSON lines or CSV files.
        spark: The session for a path source (default: the active one, or a new local one).
        format: ``parquet``, ``json`` or ``csv`` for a path; None to decide from extensions.
        fraction: The share of partitions (files) to read, chosen by seed; None for all.
        max_partitions: At most this many partitions (files).
        rows_per_partition: Stop reading each partition (file) after this many rows.
        seed: Chooses the partitions, deterministically.
        policy: ``strict`` (default), ``widen`` or ``majority``.

    Returns:
        The schema, the report (with the partitions chosen and rows read) and the merged partial.

    Raises:
        InferenceError: Nothing to read, an unreadable file, or (``strict``) conflicting types.
        ConfigError: Invalid sampling settings or policy.

    Example:
        result = infer_schema(spark.read.parquet("lake/"), fraction=0.1, seed=3)
    """
    check_options(
        format=format,
        fraction=fraction,
        max_partitions=max_partitions,
        rows_per_partition=rows_per_partition,
        seed=seed,
        policy=policy,
    )
    if isinstance(source, DataFrame):
        partial, selection = _dataframe_partial(source, fraction, max_partitions, rows_per_partition, seed)
        return finish(partial, policy, selection)
    session = spark or SparkSession.getActiveSession() or SparkSession.builder.getOrCreate()
    tasks, selection = plan_files(
        source,
        format=format,
        fraction=fraction,
        max_partitions=max_partitions,
        rows_per_partition=rows_per_partition,
        seed=seed,
        engine="spark",
    )
    rdd = session.sparkContext.parallelize([t.to_dict() for t in tasks], len(tasks))
    merged = rdd.map(_read_or_error).reduce(_merge_or_error)
    _raise_error([merged])
    return finish(Partial.from_dict(merged), policy, selection)


# sigbatch's errors raised on an executor come back to the driver as data, {"error": [position,
# class name, message]}, and are raised there as themselves: a PythonException would carry them
# wrapped in Java frames (and Spark would retry a task whose data cannot change). The error of the
# earliest file or partition wins, so a run reports the same one every time.


def _read_or_error(task: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`~sigbatch.infer.lake.read_task_dict`, a sigbatch error returned as an error dict."""
    try:
        return read_task_dict(task)
    except SigbatchError as exc:
        return {"error": [task["origin"], type(exc).__name__, str(exc)]}


def _merge_or_error(left: Mapping[str, Any], right: Mapping[str, Any]) -> dict[str, Any]:
    """Two partial dicts merged, or the earlier error of either."""
    failed = [d["error"] for d in (left, right) if "error" in d]
    return {"error": min(failed)} if failed else merge_dicts(left, right)


def _raise_error(dicts: list[Mapping[str, Any]]) -> None:
    """Raise the earliest error dict among ``dicts`` as the sigbatch error it was on the executor."""
    failed = [d["error"] for d in dicts if "error" in d]
    if not failed:
        return
    _, kind, message = min(failed)
    cls = getattr(errors, kind, None)
    if not (isinstance(cls, type) and issubclass(cls, SigbatchError)):
        cls = InferenceError
    raise cls(message)


def _dataframe_partial(
    df: DataFrame,
    fraction: float | None,
    max_partitions: int | None,
    rows_per_partition: int | None,
    seed: int,
) -> tuple[Partial, Selection]:
    """The merged partial of the chosen partitions of ``df``, and the selection."""
    count = df.rdd.getNumPartitions()
    keys = [f"partition {i}" for i in range(count)]
    chosen = choose_partitions(keys, fraction=fraction, max_partitions=max_partitions, seed=seed)
    keep = frozenset(chosen)
    cap = rows_per_partition
    names = list(df.columns)

    def summarise(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        from pyspark import TaskContext

        context = TaskContext.get()
        pid = context.partitionId() if context is not None else -1
        if pid in keep:
            try:
                yield _partition_summary((b.rename_columns(names) for b in batches), pid, cap)
            except SigbatchError as exc:
                error = {"error": [pid, type(exc).__name__, str(exc)]}
                yield pa.RecordBatch.from_pydict({"partial": [json.dumps(error)]})

    dicts = [
        json.loads(row.partial) for row in positional(df).mapInArrow(summarise, _PARTIAL_SCHEMA).collect()
    ]
    _raise_error(dicts)
    partial = merge(_declared(df), merge_all(Partial.from_dict(d) for d in dicts))
    selection = Selection(
        source="Spark DataFrame",
        format=None,
        engine="spark",
        partitions=count,
        chosen=tuple(keys[i] for i in chosen),
        fraction=fraction,
        max_partitions=max_partitions,
        rows_per_partition=rows_per_partition,
        seed=seed,
    )
    return partial, selection


def _partition_summary(batches: Iterator[pa.RecordBatch], pid: int, cap: int | None) -> pa.RecordBatch:
    """One partition's first ``cap`` rows as a one-row batch holding the partial's JSON."""
    partial = EMPTY
    rows = 0
    exhausted = True
    for batch in batches:
        if cap is not None and rows + batch.num_rows >= cap:
            batch = batch.slice(0, cap - rows)
            exhausted = False  # stop reading: later batches are never pulled from the JVM
        partial = merge(partial, partial_from_table(batch, origin=pid, first_row=rows))
        rows += batch.num_rows
        if not exhausted:
            break
    summary = Partial(
        rows=partial.rows,
        fields=partial.fields,
        first=partial.first,
        samples=(Sample(f"partition {pid}", rows, exhausted=exhausted),),
    )
    return pa.RecordBatch.from_pydict({"partial": [summary.to_json()]})


def _declared(df: DataFrame) -> Partial:
    """A partial with no rows declaring the DataFrame's column types, first in column order."""
    try:
        arrow_schema = to_arrow_schema(df.schema, timezone="UTC")
    except Exception:  # types Arrow cannot hold (UDTs): the partitions' partials speak alone
        return EMPTY
    return partial_from_table(arrow_schema.empty_table(), origin=-1)
