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

import os
from collections.abc import Iterator

import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql.pandas.types import to_arrow_schema

from sigbatch.infer.finalize import InferenceResult, Selection
from sigbatch.infer.lake import choose_partitions, finish, merge_dicts, plan_files, read_task_dict
from sigbatch.infer.partial import EMPTY, Partial, Sample, merge, merge_all, partial_from_table

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
    merged = rdd.map(read_task_dict).reduce(merge_dicts)
    return finish(Partial.from_dict(merged), policy, selection)


def _dataframe_partial(
    df: DataFrame,
    fraction: float | None,
    max_partitions: int | None,
    rows_per_partition: int | None,
    seed: int,
) -> tuple[Partial, Selection]:
    """The merged partial of the chosen partitions of ``df``, and the selection."""
    if rows_per_partition is not None and rows_per_partition < 1:
        from sigbatch.errors import ConfigError

        msg = f"rows_per_partition must be at least 1, got {rows_per_partition!r}"
        raise ConfigError(msg)
    count = df.rdd.getNumPartitions()
    keys = [f"partition {i}" for i in range(count)]
    chosen = choose_partitions(keys, fraction=fraction, max_partitions=max_partitions, seed=seed)
    keep = frozenset(chosen)
    cap = rows_per_partition

    def summarise(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        from pyspark import TaskContext

        context = TaskContext.get()
        pid = context.partitionId() if context is not None else -1
        if pid in keep:
            yield _partition_summary(batches, pid, cap)

    texts = [row.partial for row in df.mapInArrow(summarise, _PARTIAL_SCHEMA).collect()]
    partial = merge(_declared(df), merge_all(Partial.from_json(t) for t in texts))
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
