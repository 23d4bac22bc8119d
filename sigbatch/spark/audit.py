"""The quarantine audit on Spark: the core reduces each Arrow batch, Spark sums and ranks.

The quarantine is read with Spark's own reader (only the reason columns, plus each row's file and
position from ``_metadata``); ``mapInArrow`` runs the core's
:func:`sigbatch.audit.batch_aggregates` on each batch; ``groupBy`` sums the partial counts and two
windows keep the top values and the first examples per path. Only that small result is collected.
Drift partials come from ``mapInArrow`` over the source columns (read with ``mergeSchema``). The
summary is the one :func:`sigbatch.audit.audit` gives locally.

Example:
    from sigbatch.audit import audit
    audit("sigbatch-demo", engine="spark").by_code
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import from_arrow_schema

from sigbatch.audit import (
    AGG_SCHEMA,
    DRIFT_SCHEMA,
    FILE_COLUMN,
    INDEX_COLUMN,
    AuditContext,
    AuditOptions,
    AuditSummary,
    batch_aggregates,
    drift_partials,
    finish_audit,
    source_columns,
)
from sigbatch.quarantine import ERRORS_COLUMN, ROW_COLUMN, STAGE_COLUMN
from sigbatch.spark.io import positional, quoted

__all__ = ["audit_spark"]

_COUNT_KINDS = ("stage", "code", "path", "code_path")


def _session(spark: SparkSession | None) -> SparkSession:
    return spark or SparkSession.getActiveSession() or SparkSession.builder.getOrCreate()


def _located(spark: SparkSession, ctx: AuditContext) -> DataFrame:
    """The reason columns, with each row's file (relative to the quarantine dir) and position."""
    frame = spark.read.parquet(str(ctx.quarantine_dir))
    wanted = [c for c in (ERRORS_COLUMN, STAGE_COLUMN, ROW_COLUMN) if c in frame.columns]
    # _metadata.file_path is a URI; everything up to the quarantine directory's name goes.
    prefix = "^.*/" + "\\Q" + ctx.quarantine_dir.name + "\\E/"
    return frame.select(
        *wanted,
        F.regexp_replace(F.col("_metadata.file_path"), prefix, "").alias(FILE_COLUMN),
        F.col("_metadata.row_index").cast("long").alias(INDEX_COLUMN),
    )


def _aggregates_fn(options: AuditOptions) -> Any:
    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            yield from batch_aggregates(batch, options).to_batches()

    return run


def _drift_fn(signature_json: str | None, names: list[str]) -> Any:
    """The drift partials of batches whose columns arrive renamed (they are ``names``)."""

    def run(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            yield from drift_partials(batch.rename_columns(names), signature_json).to_batches()

    return run


def _conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    return pa.Table.from_arrays(
        [
            table.column(f.name).cast(f.type)
            if f.name in table.column_names
            else pa.nulls(table.num_rows, f.type)
            for f in schema
        ],
        schema=schema,
    )


def audit_spark(ctx: AuditContext, options: AuditOptions, spark: SparkSession | None = None) -> AuditSummary:
    """Audit ``ctx``'s quarantine on Spark (``spark``: the session; default: the active one)."""
    if not ctx.files:
        drift = DRIFT_SCHEMA.empty_table() if options.drift else None
        return finish_audit(ctx, AGG_SCHEMA.empty_table(), "spark", options, drift)
    session = _session(spark)
    parts = _located(session, ctx).mapInArrow(_aggregates_fn(options), from_arrow_schema(AGG_SCHEMA))
    parts = parts.persist()  # three branches read it; the partials are small
    try:
        counts = (
            parts.filter(F.col("kind").isin(*_COUNT_KINDS))
            .groupBy("kind", "key", "sub")
            .agg(F.sum("n").alias("n"))
        )
        values = (
            parts.filter(F.col("kind") == "value")
            .groupBy("key", "sub")
            .agg(F.sum("n").alias("n"))
            .withColumn("kind", F.lit("value"))
        )
        by_count = Window.partitionBy("key").orderBy(F.col("n").desc(), F.col("sub").asc())
        values = values.withColumn("_rank", F.row_number().over(by_count)).filter(
            F.col("_rank") <= options.top_values
        )
        by_place = Window.partitionBy("key").orderBy(F.col("file").asc(), F.col("index").asc())
        examples = (
            parts.filter(F.col("kind") == "example")
            .withColumn("_rank", F.row_number().over(by_place))
            .filter(F.col("_rank") <= options.examples)
        )
        reduced = counts.unionByName(values.drop("_rank"), allowMissingColumns=True).unionByName(
            examples.drop("_rank"), allowMissingColumns=True
        )
        reduced_table = _conform(reduced.toArrow(), AGG_SCHEMA)
    finally:
        parts.unpersist()
    drift = None
    if options.drift:
        sig = ctx.signature
        sig_json = sig.inputs.to_json() if sig is not None and sig.inputs is not None else None
        full = session.read.option("mergeSchema", "true").parquet(str(ctx.quarantine_dir))
        columns = source_columns(full.columns)
        chosen = full.select(*[F.col(quoted(c)) for c in columns])
        partials = positional(chosen).mapInArrow(
            _drift_fn(sig_json, columns), from_arrow_schema(DRIFT_SCHEMA)
        )
        drift = _conform(partials.toArrow(), DRIFT_SCHEMA)
    return finish_audit(ctx, reduced_table, "spark", options, drift)
