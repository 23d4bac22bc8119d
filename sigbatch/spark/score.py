"""Score a Spark DataFrame with per-row enforcement and a quarantine, in one ``mapInArrow`` stage.

Each Arrow batch of each partition goes through the core's :func:`sigbatch.models.score_combined`
on the executor, which enforces the signature, predicts with failure isolation, checks the outputs
and returns ONE Arrow table holding both kinds of rows (schema
:func:`sigbatch.models.combined_schema`, told apart by ``_sigbatch_kind``). The function shipped
to the executors, :class:`_BatchScorer`, holds only picklable values (the model URI string, the
signature, params, profile, the output Arrow schema); the model itself is loaded by
:func:`sigbatch.models.load_model` inside each Python worker the first time it is needed and cached
in that process, so it is loaded once per worker and reused across batches and tasks.

**Single pass, as a job.** :func:`run_scoring` writes the scored rows from the scoring stage
itself: each task yields only its scored rows (in the scored output's columns) and adds its
quarantined rows to a Spark accumulator (:class:`QuarantineParam`), which travels to the driver
with the task's result; the driver writes them. Spark applies a task's accumulator update only when
the task succeeds, once per task (a failed, retried or losing speculative attempt adds nothing),
so the quarantine holds the rows of exactly the attempts whose scored rows were committed. The
rows carry their source file as its 64-bit id (:func:`sigbatch.spark.io.file_id`), which the
driver turns back into paths for the quarantined ones. The driver takes a bounded amount of
quarantined rows, and refuses a partition whose rows arrive twice (possible only if a shuffle
were inserted before the writer); then the job scores again as :func:`score` does.

**Single pass, as two frames.** :func:`score` local-checkpoints the combined frame: the first
action computes every partition once (read, enforce, predict) and stores the rows in the
executors' block managers (memory, spilling to disk), and the checkpoint cuts the lineage. The
scored and quarantine frames are two filters over those stored blocks, so neither recomputes the
model; if a stored block were lost (its executor died), Spark fails the job rather than silently
scoring those rows again. Why not one write partitioned by ``_sigbatch_kind``: a Parquet write has
one schema for every file, so the scored files would carry the quarantine's reason columns (all
null) and the prediction columns under their internal ``_sigbatch_pred_`` names; here each output
gets exactly its own columns (and a partitioned write sorts each task's rows, which measured
slower, ``benchmarks/spark_score.py``).

**Row identity.** Quarantine rows keep their source columns (in their source types) and add
``_sigbatch_errors``, ``_sigbatch_stage`` and ``_sigbatch_row``, plus ``_sigbatch_file`` and
``_sigbatch_file_offset`` when the input has them (see :mod:`sigbatch.spark.io`). Without a file
identity, ``_sigbatch_row`` is ``partition_id * 2**33 + position in the partition`` (Spark's
``monotonically_increasing_id`` layout), deterministic for a deterministic input.

**Model failures.** A model that raises an ``Exception`` for some rows does not fail the task: the
core bisects the batch and quarantines those rows with ``MODEL_ERROR``. Anything else (a
``BaseException`` such as ``KeyboardInterrupt``, a crashed or killed Python worker, an executor
lost) fails the task and Spark retries it; the outputs are written through Spark's committers, so a
retried task never duplicates or loses rows, and the job then checks that rows in = rows scored +
rows quarantined from what it wrote.

Example:
    from sigbatch.spark import score
    scored, quarantine = score(df, "python:sigbatch.examples.models:tag_counter", sig)
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from pyspark.accumulators import Accumulator, AccumulatorParam
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import from_arrow_schema, to_arrow_schema
from pyspark.sql.types import StringType, StructField, StructType

from sigbatch.errors import ConfigError, SchemaMismatchError, SignatureError
from sigbatch.manifest import (
    MANIFEST_NAME,
    QUARANTINE_DIR,
    SCORED_DIR,
    STAGING_PREFIX,
    Manifest,
    Stopwatch,
    check_source_columns,
    finish_job,
    prepare_output,
    remove_entries,
    replace_outputs,
    staging_dir,
)
from sigbatch.models import (
    KIND_COLUMN,
    PRED_PREFIX,
    check_columns,
    given_signature,
    load_model,
    prediction_schema,
    score_combined,
    scored_columns,
)
from sigbatch.params import enforce_params
from sigbatch.quarantine import CORRUPT_COLUMN, ERRORS_COLUMN, REASON_TYPE, ROW_COLUMN, STAGE_COLUMN
from sigbatch.spark.io import (
    FILE_COLUMN,
    IDENTITY_COLUMNS,
    OFFSET_COLUMN,
    HadoopOutput,
    check_output_format,
    file_paths,
    is_uri,
    positional,
    quoted,
    read_source,
    with_source_identity,
    write_output,
)

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from sigbatch.config import ScoreConfig
    from sigbatch.types import ModelSignature

__all__ = ["combined_frame", "run_scoring", "run_scoring_job", "score", "split_frame"]

_BATCH_CONF = "spark.sql.execution.arrow.maxRecordsPerBatch"
_PARTITION_SHIFT = 33  # monotonically_increasing_id's layout: partition id in the upper bits


# --- Arrow types as the core sees them ------------------------------------------------------


def _naive(t: pa.DataType, zone: str | None = None) -> pa.DataType:
    """``t`` with every time-zone-aware timestamp made naive (UTC wall time), at any depth; or,
    given a ``zone``, put in that zone (the same instants).

    Spark hands ``TimestampType`` to Python as ``timestamp[us, tz=<session tz>]``; a signature's
    ``datetime`` is naive (as MLflow's is), and Arrow's cast keeps the UTC instant.
    """
    if pa.types.is_timestamp(t):
        return pa.timestamp(t.unit, zone) if t.tz else t
    if pa.types.is_struct(t):
        return pa.struct([f.with_type(_naive(f.type, zone)) for f in t])
    if pa.types.is_map(t):
        return pa.map_(
            t.key_field.with_type(_naive(t.key_type, zone)), t.item_field.with_type(_naive(t.item_type, zone))
        )
    if pa.types.is_large_list(t):
        return pa.large_list(t.value_field.with_type(_naive(t.value_type, zone)))
    if pa.types.is_list(t):
        return pa.list_(t.value_field.with_type(_naive(t.value_type, zone)))
    return t


def _naive_schema(schema: pa.Schema) -> pa.Schema:
    return pa.schema([f.with_type(_naive(f.type)) for f in schema])


def source_arrow_schema(struct: StructType) -> pa.Schema:
    """The Arrow schema the core sees for Spark rows of ``struct`` (timestamps naive, UTC)."""
    return _naive_schema(to_arrow_schema(struct, timezone="UTC"))


# --- quarantined rows travelling to the driver -----------------------------------------------


#: A task attempt: (partition, stage id, task attempt id; the id is unique within the application).
Attempt = tuple[int, int, int]


@dataclass
class Collected:
    """The quarantined rows a scoring pass sent to the driver, or why they cannot be used.

    ``parts`` are ``(attempt, rows)``: one Arrow IPC stream per task attempt that quarantined
    rows, ``nbytes`` their total length. ``refused`` says why the driver cannot write them: a task
    or the whole job went over its budget (the rows are then dropped, so the driver never holds more
    than the budget), or one partition's rows arrived from two attempts (Spark applies a task's
    update once only when the scoring runs in the write's own stage).
    """

    parts: list[tuple[Attempt, bytes]]
    nbytes: int = 0
    refused: str | None = None
    partitions: set[int] = dataclasses.field(default_factory=set)  # of the parts, for the check of repeats

    def table(self, schema: pa.Schema) -> pa.Table:
        """The rows, in source order (partition, then position), as one table of ``schema``."""
        tables = [pa.ipc.open_stream(data).read_all() for _, data in sorted(self.parts)]
        return pa.concat_tables(tables).cast(schema) if tables else schema.empty_table()


class QuarantineParam(AccumulatorParam[Collected]):
    """Adds :class:`Collected` values, refusing a total over ``budget`` bytes or a partition seen twice.

    Spark applies the update of a task of the job's final stage once, when it succeeds: a failed or
    retried attempt's rows never reach the driver, and of two attempts of one task (speculation)
    only the first to succeed counts. That is what makes the single pass exact. Were the scoring
    stage not the final one (a shuffle inserted before the writer), Spark would apply every
    successful attempt: two attempts of one partition are then refused, and the job scores again.
    """

    def __init__(self, budget: int) -> None:
        self.budget = budget

    def zero(self, value: Collected) -> Collected:
        return Collected([])

    def addInPlace(self, value1: Collected, value2: Collected) -> Collected:
        value1.refused = value1.refused or value2.refused
        if value1.refused is None:
            incoming = {attempt[0] for attempt, _ in value2.parts}
            if not incoming.isdisjoint(value1.partitions) or len(incoming) < len(value2.parts):
                value1.refused = "the rows of one partition arrived from two task attempts"
            else:
                value1.parts.extend(value2.parts)
                value1.partitions |= incoming
                value1.nbytes += value2.nbytes
                if value1.nbytes > self.budget:
                    value1.refused = f"more than the driver's budget of {self.budget:,} bytes"
        if value1.refused is not None:
            value1.parts.clear()
            value1.partitions.clear()
            value1.nbytes = 0
        return value1


@dataclass
class _Held:
    """One task attempt's quarantined rows, held until the task ends."""

    batches: list[pa.RecordBatch]
    nbytes: int = 0
    over: bool = False


@dataclass(frozen=True)
class _Inline:
    """How a scoring task splits its combined rows: scored rows out, quarantined rows to the driver."""

    accumulator: Accumulator[Collected]
    cap: int  # bytes of quarantined rows one task may send
    scored: tuple[str, ...]  # the combined columns the scored output takes, in order
    scored_schema: pa.Schema  # ... under their output names and types
    quarantine: tuple[str, ...]  # the combined columns the quarantine output takes

    def split(self, combined: pa.RecordBatch, held: _Held) -> pa.RecordBatch:
        """The scored rows of ``combined``; its quarantined rows are added to ``held``."""
        is_scored = pc.equal(combined.column(KIND_COLUMN), "scored")
        good = pc.sum(is_scored).as_py() or 0
        scored = pa.RecordBatch.from_arrays(
            [combined.column(name) for name in self.scored], schema=self.scored_schema
        )
        if good < combined.num_rows:
            if not held.over:
                rows = combined.select(list(self.quarantine)).filter(pc.invert(is_scored))
                held.batches.append(rows)
                held.nbytes += rows.nbytes
                if held.nbytes > self.cap:  # stop holding rows that cannot be sent anyway
                    held.over, held.batches = True, []
            scored = scored.filter(is_scored)  # only the output's own columns are copied
        return scored

    def send(self, attempt: Attempt, held: _Held) -> None:
        """At the end of the task: its rows as one Arrow IPC stream, charged at the stream's length."""
        data = b""
        if held.batches and not held.over:
            sink = pa.BufferOutputStream()
            with pa.ipc.new_stream(sink, held.batches[0].schema) as writer:
                for batch in held.batches:
                    writer.write_batch(batch)
            data = sink.getvalue().to_pybytes()
        if held.over or len(data) > self.cap:
            self.accumulator.add(Collected([], refused=f"more than a task's share of {self.cap:,} bytes"))
        elif data:
            self.accumulator.add(Collected([(attempt, data)], len(data)))


# --- the function shipped to the executors ---------------------------------------------------


@dataclass(frozen=True)
class _BatchScorer:
    """Score the Arrow batches of one partition; pickled to the workers (values only, no model)."""

    model: str
    signature: ModelSignature
    params: dict[str, Any] | None
    profile: str
    on_schema_mismatch: str
    source: tuple[str, ...]  # the columns handed to the core, in order
    core_schema: pa.Schema  # their Arrow schema as the core sees it
    output: pa.Schema  # the Arrow schema of the declared Spark output
    batch_size: int | None
    inline: _Inline | None = None  # set: yield the scored rows only, quarantined rows to the driver
    input_names: tuple[str, ...] | None = None  # set: the batches' columns, which arrive renamed

    def __call__(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        from pyspark import TaskContext

        ctx = TaskContext.get()
        partition = ctx.partitionId() if ctx is not None else 0
        counters: dict[tuple[str | None, int], int] = {}
        held = _Held([])
        for batch in batches:
            if self.input_names is not None:
                batch = batch.rename_columns(list(self.input_names))
            step = self.batch_size or batch.num_rows or 1
            for start in range(0, max(batch.num_rows, 1), step):
                part = batch.slice(start, step)
                if not part.num_rows:
                    continue
                combined = self._score(part, partition, counters)
                if self.inline is None:
                    yield combined
                else:
                    scored = self.inline.split(combined, held)
                    if scored.num_rows:
                        yield scored
        if self.inline is not None:
            attempt = (
                (partition, ctx.stageId(), ctx.taskAttemptId()) if ctx is not None else (partition, 0, 0)
            )
            self.inline.send(attempt, held)

    def _score(
        self, batch: pa.RecordBatch, partition: int, counters: dict[tuple[str | None, int], int]
    ) -> pa.RecordBatch:
        names = batch.schema.names
        core = pa.Table.from_batches([batch.select(list(self.source))])
        if core.schema != self.core_schema:
            core = core.cast(self.core_schema)
        combined = score_combined(
            core,
            self.model,
            self.signature,
            self.params,
            profile=self.profile,  # type: ignore[arg-type]
            on_schema_mismatch=self.on_schema_mismatch,
        )
        # score_combined keeps the batch's rows in place and numbers them by position: the row
        # identity replaces that number, and the batch's identity columns line up as they are
        scored = None if self.inline else pc.equal(combined.column(KIND_COLUMN), "scored")
        arrays: list[pa.Array | pa.ChunkedArray] = []
        for field in self.output:
            if field.name == ROW_COLUMN:
                arrays.append(self._row_ids(batch, names, partition, counters))
            elif field.name in (FILE_COLUMN, OFFSET_COLUMN):
                values = (
                    batch.column(names.index(field.name))
                    if field.name in names
                    else pa.array(np.zeros(batch.num_rows, dtype=np.int64))  # a Parquet row's offset
                )
                # only quarantined rows need them: in the checkpoint, scored rows carry nulls (the
                # one-pass split keeps them out of the scored output anyway)
                arrays.append(
                    values if scored is None else pc.if_else(scored, pa.scalar(None, values.type), values)
                )
            else:
                arrays.append(combined.column(field.name))
        table = pa.Table.from_arrays(arrays, names=self.output.names)
        return table.cast(self.output).combine_chunks().to_batches()[0]

    @staticmethod
    def _row_ids(
        batch: pa.RecordBatch, names: list[str], partition: int, counters: dict[tuple[str | None, int], int]
    ) -> pa.Array:
        """Each row's position: the source's row index, else counted per file split or partition."""
        if ROW_COLUMN in names:
            return batch.column(names.index(ROW_COLUMN))
        n = batch.num_rows
        if FILE_COLUMN not in names:
            start = counters.get((None, 0), 0)
            counters[(None, 0)] = start + n
            return pa.array(np.arange(start, start + n, dtype=np.int64) + (partition << _PARTITION_SHIFT))
        files = np.asarray(batch.column(names.index(FILE_COLUMN)).dictionary_encode().indices.fill_null(-1))
        files_text = batch.column(names.index(FILE_COLUMN))
        offsets = (
            np.asarray(batch.column(names.index(OFFSET_COLUMN)).fill_null(-1))
            if OFFSET_COLUMN in names
            else np.zeros(n, dtype=np.int64)
        )
        # rows of one split are contiguous: number each run of (file, offset) from its counter
        starts = np.concatenate(
            ([0], np.flatnonzero((files[1:] != files[:-1]) | (offsets[1:] != offsets[:-1])) + 1)
        )
        ends = np.append(starts[1:], n)
        out = np.empty(n, dtype=np.int64)
        for i, j in zip(starts.tolist(), ends.tolist(), strict=True):
            key = (files_text[i].as_py(), int(offsets[i]))
            first = counters.get(key, 0)
            out[i:j] = np.arange(first, first + (j - i))
            counters[key] = first + (j - i)
        return pa.array(out)


# --- the public API ---------------------------------------------------------------------------


def _signature(model: str, signature: ModelSignature | str | os.PathLike[str] | None) -> ModelSignature:
    if not isinstance(model, str):
        msg = (
            f"sigbatch.spark.score needs a model URI string (loaded on each worker), got "
            f"{type(model).__name__}; use 'python:package.module:attr' or an MLflow model URI"
        )
        raise SignatureError(msg)
    # loaded on the driver too: a model that cannot be loaded fails here, before any executor work
    loaded = load_model(model)
    given = given_signature(signature)  # a path too, as score_batch takes
    sig = given if given is not None else loaded.signature
    if sig is None or sig.inputs is None:
        msg = f"model {model!r} has no input signature; pass signature=..."
        raise SignatureError(msg)
    return sig


def combined_frame(
    df: DataFrame,
    model: str,
    signature: ModelSignature | str | os.PathLike[str] | None = None,
    params: dict[str, Any] | None = None,
    *,
    profile: str = "mlflow",
    on_schema_mismatch: str = "fail",
    batch_size: int | None = None,
) -> DataFrame:
    """The lazy ``mapInArrow`` frame holding both outputs (``_sigbatch_kind`` tells them apart).

    Preflights ``df``'s schema on the driver first: whole-column problems raise
    :class:`~sigbatch.errors.SchemaMismatchError` before any executor work, unless
    ``on_schema_mismatch="quarantine"``. Identity columns of ``df`` (:data:`IDENTITY_COLUMNS`) are
    not scored; they identify the quarantined rows.
    """
    scorer, struct, _problems = _plan(
        df,
        model,
        signature,
        params,
        profile=profile,
        on_schema_mismatch=on_schema_mismatch,
        batch_size=batch_size,
    )
    return _map_in_arrow(df, scorer, struct)


def _map_in_arrow(df: DataFrame, scorer: _BatchScorer, struct: StructType) -> DataFrame:
    """``df.mapInArrow(scorer, struct)``, the input columns under positional names (mapInArrow
    cannot resolve a column named ``a.b``, nor one with a backtick); the scorer renames them back."""
    import pickle

    try:
        return positional(df).mapInArrow(replace(scorer, input_names=tuple(df.columns)), struct)
    except (pickle.PicklingError, RecursionError) as exc:  # a column type nested ~100 levels deep
        msg = (
            f"the source's columns cannot be shipped to Spark's Python workers ({exc}): a column is "
            "nested too deeply; flatten it, or drop it from the source"
        )
        raise SchemaMismatchError(msg) from None


def _plan(
    df: DataFrame,
    model: str,
    signature: ModelSignature | str | os.PathLike[str] | None,
    params: dict[str, Any] | None,
    *,
    profile: str,
    on_schema_mismatch: str,
    batch_size: int | None,
) -> tuple[_BatchScorer, StructType, bool]:
    """The scorer of :func:`combined_frame`, its output struct, and whether preflight found problems."""
    from sigbatch.enforce import preflight

    sig = _signature(model, signature)
    params = enforce_params(params, sig.params)  # bad params are the caller's mistake: fail now
    if profile not in ("mlflow", "strict", "lenient"):
        msg = f"profile must be 'mlflow', 'strict' or 'lenient', got {profile!r}"
        raise ConfigError(msg)
    if on_schema_mismatch not in ("fail", "quarantine"):
        msg = f"on_schema_mismatch must be 'fail' or 'quarantine', got {on_schema_mismatch!r}"
        raise ConfigError(msg)
    source = [f for f in df.schema.fields if f.name not in IDENTITY_COLUMNS]
    source_struct = StructType(source)
    core_schema = source_arrow_schema(source_struct)
    check = preflight(core_schema, sig, profile=profile)  # type: ignore[arg-type]
    if on_schema_mismatch == "fail":
        check.raise_for_problems()
    extra = pa.schema(
        [pa.field(PRED_PREFIX + f.name, f.type) for f in prediction_schema(sig)]
        + [
            pa.field(ERRORS_COLUMN, pa.list_(REASON_TYPE)),
            pa.field(STAGE_COLUMN, pa.string()),
            pa.field(ROW_COLUMN, pa.int64()),
            pa.field(KIND_COLUMN, pa.string()),
        ]
        + _identity_fields(df)
    )
    out_struct = StructType(source + from_arrow_schema(extra, prefer_timestamp_ntz=False).fields)
    large = (
        str(df.sparkSession.conf.get("spark.sql.execution.arrow.useLargeVarTypes", "false")).lower() == "true"
    )
    tz = str(df.sparkSession.conf.get("spark.sql.session.timeZone", "UTC"))
    out_arrow = to_arrow_schema(out_struct, timezone=tz, prefers_large_types=large)
    scorer = _BatchScorer(
        model,
        sig,
        params,
        profile,
        on_schema_mismatch,
        tuple(f.name for f in source),
        core_schema,
        out_arrow,
        batch_size,
    )
    return scorer, out_struct, bool(check.problems)


def _identity_fields(df: DataFrame) -> list[pa.Field]:
    """The output's file and split offset columns, when ``df`` has the file: the file is its path,
    or the path's 64-bit id (``with_source_identity(file_ids=True)``); a Parquet source has no
    offset column, its rows' offsets are 0 and the scorer writes them."""
    if FILE_COLUMN not in df.columns:
        return []
    file_type = pa.string() if isinstance(df.schema[FILE_COLUMN].dataType, StringType) else pa.int64()
    return [pa.field(FILE_COLUMN, file_type), pa.field(OFFSET_COLUMN, pa.int64())]


def split_frame(
    combined: DataFrame, signature: ModelSignature, keep_columns: list[str] | None = None
) -> tuple[DataFrame, DataFrame]:
    """The scored and quarantine frames of a :func:`combined_frame` (as :func:`~sigbatch.models.split_combined`).

    Scored: source columns (all but ``_corrupt_record``, or ``keep_columns``) with the prediction
    columns added as ``withColumn`` would. Quarantine: all source columns, the reasons, stage and
    row identity.
    """
    scored_columns, columns = _output_columns(combined.schema, signature, keep_columns)
    is_scored = F.col(KIND_COLUMN) == F.lit("scored")
    scored = combined.filter(is_scored).select(*[F.col(quoted(c)).alias(name) for c, name in scored_columns])
    quarantine = combined.filter(~is_scored).select(*[F.col(quoted(c)) for c in columns])
    return scored, quarantine


def score(
    df: DataFrame,
    model: str,
    signature: ModelSignature | str | os.PathLike[str] | None = None,
    params: dict[str, Any] | None = None,
    profile: str = "mlflow",
    on_schema_mismatch: str = "fail",
    *,
    keep_columns: list[str] | None = None,
    batch_size: int | None = None,
) -> tuple[DataFrame, DataFrame]:
    """Score ``df``: the scored rows and the quarantined rows, from one computation of the model.

    Args:
        df: the rows to score (any Spark DataFrame; see :func:`sigbatch.spark.io.with_source_identity`
            to identify quarantined rows by file and position).
        model: a model URI as :func:`sigbatch.load_model` accepts it (loaded once per worker).
        signature: a ModelSignature or the path of a signature file or model; defaults to the model's.
        params: inference parameters (validated now, on the driver).
        profile: ``mlflow`` (default), ``strict`` or ``lenient``.
        on_schema_mismatch: ``fail`` (default: whole-column problems raise before any work) or
            ``quarantine``.
        keep_columns: the source columns the scored rows keep (default: all).
        batch_size: at most this many rows per call of the core (default: Spark's Arrow batches,
            ``spark.sql.execution.arrow.maxRecordsPerBatch``).

    Returns:
        ``(scored, quarantine)``, lazy DataFrames over one local checkpoint: whichever is computed
        first scores every row once; the other reads the stored rows.

    Example:
        scored, quarantine = score(spark_df, "python:sigbatch.examples.models:row_sum", sig)
        scored.columns[-1]
        # -> 'prediction'
    """
    sig = _signature(model, signature)
    combined = combined_frame(
        df, model, sig, params, profile=profile, on_schema_mismatch=on_schema_mismatch, batch_size=batch_size
    )
    return split_frame(combined.localCheckpoint(eager=False), sig, keep_columns)


# --- the job ------------------------------------------------------------------------------------


def _job_signature(config: ScoreConfig) -> ModelSignature:
    if config.signature is None:
        return _signature(config.model, None)
    from sigbatch.wire import load_signature

    return _signature(config.model, load_signature(config.signature))


def run_scoring(spark: SparkSession, config: ScoreConfig) -> Manifest:
    """Run a scoring job: read, preflight, score once, write both outputs, count, write the manifest.

    Writes ``<output>/scored/``, ``<output>/quarantine/`` and, last, ``<output>/_sigbatch_manifest.json``.
    The counts come from the Parquet footers of what was written; ``rows_in`` is the source's own
    row count: the footers of the files Spark lists for a Parquet path the driver can open, else
    Spark's count (for Parquet and ORC, Spark answers it from the file footers too). Raises
    :class:`~sigbatch.manifest.AccountingError` (and writes no manifest) when
    ``rows_in != rows_scored + rows_quarantined``.

    One pass: the scoring stage writes the scored rows itself, and sends the quarantined rows
    (a small share, as a rule) to the driver with each task's result, which writes them. When they
    would be too many for the driver (``spark.inline_quarantine_mb``, and at most half of
    ``spark.driver.maxResultSize``), the job drops what it wrote and scores again through a local
    checkpoint: both outputs are then filters over the stored rows. It goes straight to the
    checkpoint when preflight found column problems (they quarantine every row), when the budget is
    0, or when the source is more than a scan (a view with joins or aggregates: its partition count
    is not known before the job runs). A job that fails leaves no ``scored/`` or ``quarantine/``.

    Example:
        from sigbatch.config import load_score_config
        cfg = load_score_config("conf/score_spark.yaml", ["source.path=lake/", "output.path=out/"])
        run_scoring(spark, cfg).counts.rows_in
        # -> 20000
    """
    clock = Stopwatch()
    lap = clock.lap

    check_output_format(spark, config.output_format)
    sig = _job_signature(config)
    raw = read_source(spark, config.source)
    check_source_columns(raw.columns)
    check_columns("output.key_columns", config.key_columns, raw.columns)
    check_columns("output.keep_columns", config.keep_columns, raw.columns)

    def frame(file_ids: bool) -> tuple[DataFrame, _BatchScorer, StructType, bool]:
        framed = (
            raw if config.key_columns else with_source_identity(raw, config.source.format, file_ids=file_ids)
        )
        planned = _plan(
            framed,
            config.model,
            sig,
            config.params or None,
            profile=config.profile,
            on_schema_mismatch=config.on_schema_mismatch,
            batch_size=None,
        )
        return (framed, *planned)

    # the one pass carries each row's file as a 64-bit id; the checkpoint path as its path
    framed, scorer, struct, problems = frame(file_ids=True)
    file_ids = framed is not raw  # False: key columns, no file metadata, or a source column of that name
    keep = config.keep_columns
    if keep is not None and config.key_columns:
        keep = [*[k for k in config.key_columns if k not in keep], *keep]

    # the job writes into a staging directory inside the output: an earlier run's outputs are
    # replaced only once this one has written its own (a failed job leaves them as they were)
    remote = HadoopOutput(spark, config.output) if is_uri(config.output) else None
    if remote is not None:
        remote.prepare(config.mode)
        out: Any = remote.uri
    else:
        out = prepare_output(config.output, config.mode)
    lap("read_and_preflight")
    rows_in = (
        _footer_rows(raw) if config.source.path is not None and config.source.format == "parquet" else None
    )
    if rows_in is None:
        rows_in = raw.count()
    lap("count_source")
    staging = _Staging(remote, out)
    scored_path, quarantine_path = staging.path(SCORED_DIR), staging.path(QUARANTINE_DIR)
    previous = str(spark.conf.get(_BATCH_CONF, "10000"))
    spark.conf.set(_BATCH_CONF, str(config.spark_batch_size))
    try:
        quarantine = None
        budget = _budget(spark, config.spark_inline_quarantine_mb)
        if budget > 0 and not problems and _plain_scan(framed):
            collected = _score_inline(
                spark, framed, scorer, struct, keep, scored_path, config.output_format, budget
            )
            lap("score_and_write_scored")
            quarantine, refused = _quarantine_table(collected, scorer, struct, raw if file_ids else None)
            if quarantine is None:
                print(
                    f"sigbatch: the quarantined rows could not be written in one pass ({refused}); "
                    "scoring again through a local checkpoint (see spark.inline_quarantine_mb)",
                    file=sys.stderr,
                )
                staging.remove(SCORED_DIR)
                lap("drop_first_pass")
        if quarantine is not None:
            _write_quarantine(spark, *quarantine, quarantine_path, config.output_format)
            lap("write_quarantine")
        else:
            framed, scorer, struct, _ = frame(file_ids=False)
            _score_checkpointed(
                _map_in_arrow(framed, scorer, struct), sig, keep, scored_path, quarantine_path, config, lap
            )
        return finish_job(
            out,
            rows_in,
            engine="spark",
            engine_version=spark.version,
            config=config,
            signature=sig,
            clock=clock,
            written=staging.location,
            # an earlier run's outputs stay until the new ones are counted and add up
            publish=staging.replace_outputs,
            counter=None
            if remote is None
            else (
                lambda _out, n: remote.counts(
                    f"{staging.name}/{SCORED_DIR}",
                    f"{staging.name}/{QUARANTINE_DIR}",
                    config.output_format,
                    n,
                )
            ),
            writer=None
            if remote is None
            else (lambda _out, m: remote.write_text(MANIFEST_NAME, m.to_json())),
        )
    except BaseException:
        # no half-written outputs: a failed job leaves its staging directory nowhere, and an
        # earlier run's outputs as they were
        try:
            staging.discard()
        except Exception:  # pragma: no cover - best effort: the job's own error is the one to see
            pass
        raise
    finally:
        spark.conf.set(_BATCH_CONF, previous)


class _Staging:
    """Where the job writes inside its output (a local directory or a Hadoop URI) until its outputs
    replace the earlier run's (:func:`~sigbatch.manifest.replace_outputs`, :meth:`HadoopOutput.replace`)."""

    def __init__(self, remote: HadoopOutput | None, out: Any) -> None:
        self.remote, self.out = remote, out
        self.name = (
            f"{STAGING_PREFIX}{uuid.uuid4().hex[:12]}" if remote is not None else staging_dir(out).name
        )

    @property
    def location(self) -> str:
        """The staging directory itself."""
        return self.remote.child(self.name) if self.remote is not None else str(self.out / self.name)

    def path(self, entry: str) -> str:
        """Where the job writes an entry."""
        if self.remote is not None:
            return self.remote.child(f"{self.name}/{entry}")
        return str(self.out / self.name / entry)

    def remove(self, *entries: str) -> None:
        """Delete entries the job wrote."""
        if self.remote is not None:
            self.remote.delete(tuple(f"{self.name}/{entry}" for entry in entries))
        else:
            remove_entries(self.out / self.name, entries)

    def replace_outputs(self) -> None:
        """The job's scored and quarantined rows replace the earlier run's outputs."""
        if self.remote is not None:
            self.remote.replace(self.name, (SCORED_DIR, QUARANTINE_DIR))
        else:
            replace_outputs(self.out, self.out / self.name)

    def discard(self) -> None:
        """Delete everything the job wrote."""
        if self.remote is not None:
            self.remote.delete((self.name,))
        else:
            shutil.rmtree(self.out / self.name, ignore_errors=True)


def _output_columns(
    struct: StructType, signature: ModelSignature, keep: list[str] | None
) -> tuple[list[tuple[str, str]], list[str]]:
    """The columns of the two outputs in a combined struct: the scored output's ``(combined name,
    output name)`` (source columns kept, predictions as ``withColumn`` adds them), and the
    quarantine's columns.

    ``_corrupt_record`` is null in every scored row, so only the quarantine has it (as
    :func:`~sigbatch.models.scored_part`), unless ``keep`` names it."""
    preds = [f.name for f in prediction_schema(signature)]
    meta = {PRED_PREFIX + p for p in preds} | {ERRORS_COLUMN, STAGE_COLUMN, ROW_COLUMN, KIND_COLUMN}
    source = [c for c in struct.names if c not in meta and c not in (FILE_COLUMN, OFFSET_COLUMN)]
    kept = [c for c in source if c != CORRUPT_COLUMN] if keep is None else keep
    check_columns("keep_columns", kept, source)  # the job checked its config keys already
    identity = [c for c in (FILE_COLUMN, OFFSET_COLUMN) if c in struct.names]
    return (
        scored_columns(kept, preds),
        [*source, ERRORS_COLUMN, STAGE_COLUMN, ROW_COLUMN, *identity],
    )


def _footer_rows(scan: DataFrame) -> int | None:
    """The rows of a Parquet scan whose files the driver can open, summed from their footers (the
    files Spark lists for it, no Spark job); None when Spark has to count (a URI, an unreadable file)."""
    try:
        paths = []
        for uri in scan.inputFiles():
            parsed = urlparse(uri)
            if parsed.scheme not in ("", "file") or parsed.netloc not in ("", "localhost"):
                return None
            paths.append(unquote(parsed.path))
        return sum(pq.read_metadata(path).num_rows for path in paths)
    except Exception:  # a file gone or unreadable: Spark's count decides (and its options apply)
        return None


#: Logical plan nodes of a source whose partitions are those of its scan (no shuffle to re-plan).
_SCAN_NODES = frozenset(
    {
        "Project",
        "Filter",
        "SubqueryAlias",
        "LogicalRelation",
        "LogicalRDD",
        "LocalRelation",
        "HiveTableRelation",
        "DataSourceV2Relation",
        "DataSourceV2ScanRelation",
    }
)


def _plain_scan(df: DataFrame) -> bool:
    """Whether ``df`` only scans (and projects or filters) its source: its partition count is then
    known before the job runs, and each task's share of the driver's budget with it."""
    try:
        nodes = json.loads(df._jdf.queryExecution().optimizedPlan().toJSON())
        return all(str(node["class"]).rsplit(".", 1)[-1] in _SCAN_NODES for node in nodes)
    except Exception:  # a plan Spark cannot describe: take the checkpoint path
        return False


def _budget(spark: SparkSession, megabytes: int) -> int:
    """Bytes of quarantined rows the driver takes in the single pass: ``megabytes``, and at most
    half of ``spark.driver.maxResultSize`` (the rows travel with the task results)."""
    limit = str(spark.sparkContext.getConf().get("spark.driver.maxResultSize", "1g"))
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    result_size = int(jvm.org.apache.spark.network.util.JavaUtils.byteStringAsBytes(limit))
    wanted = megabytes * 1024 * 1024
    return wanted if result_size <= 0 else min(wanted, result_size // 2)


def _score_inline(
    spark: SparkSession,
    df: DataFrame,
    scorer: _BatchScorer,
    struct: StructType,
    keep: list[str] | None,
    scored_path: str,
    fmt: str,
    budget: int,
) -> Collected:
    """Score ``df`` and write the scored rows in one Spark job; the quarantined rows come back."""
    scored_columns, quarantine = _output_columns(struct, scorer.signature, keep)
    fields = {f.name: f for f in struct.fields}
    scored_struct = StructType(
        [
            fields[c] if c == name else StructField(name, fields[c].dataType, True)
            for c, name in scored_columns
        ]
    )
    arrow = {f.name: f for f in scorer.output}
    scored_schema = pa.schema([arrow[c].with_name(name) for c, name in scored_columns])
    accumulator = spark.sparkContext.accumulator(Collected([]), QuarantineParam(budget))
    inline = _Inline(
        accumulator,
        budget // max(df.rdd.getNumPartitions(), 1),
        tuple(c for c, _ in scored_columns),
        scored_schema,
        tuple(quarantine),
    )
    try:
        write_output(_map_in_arrow(df, replace(scorer, inline=inline), scored_struct), scored_path, fmt)
        return accumulator.value
    finally:
        accumulator._value = Collected([])  # the driver's registry keeps the accumulator: free the rows


def _quarantine_table(
    collected: Collected, scorer: _BatchScorer, struct: StructType, scan: DataFrame | None
) -> tuple[tuple[pa.Table, StructType] | None, str | None]:
    """The quarantined rows the driver collected, with file ids turned back into paths of ``scan``'s
    files (None: the rows carry no file ids), and their Spark struct; or None and why they cannot
    be written."""
    if collected.refused is not None:
        return None, collected.refused
    _, columns = _output_columns(struct, scorer.signature, None)
    table = collected.table(pa.schema([scorer.output.field(c) for c in columns]))
    fields = {f.name: f for f in struct.fields}
    if scan is not None and FILE_COLUMN in columns:
        ids = table.column(FILE_COLUMN).to_pylist()
        wanted = {i for i in ids if i is not None}
        try:
            paths = file_paths(scan, wanted)
        except ValueError as exc:
            return None, str(exc)
        if len(paths) < len(wanted):
            return None, "the source file of a quarantined row could not be found"
        position = table.schema.get_field_index(FILE_COLUMN)
        text = pa.array([None if i is None else paths[i] for i in ids], pa.string())
        table = table.set_column(position, FILE_COLUMN, text)
        fields[FILE_COLUMN] = StructField(FILE_COLUMN, StringType(), True)
    return (table, StructType([fields[c] for c in columns])), None


def _write_quarantine(spark: SparkSession, table: pa.Table, struct: StructType, path: str, fmt: str) -> None:
    """Write the quarantined rows the driver collected: Parquet to a local path directly, else by Spark."""
    if fmt == "parquet" and not is_uri(path):
        # time-zone-aware timestamps as UTC instants (Spark hands them over in the session's zone)
        utc = pa.schema([f.with_type(_naive(f.type, "UTC")) for f in table.schema])
        target = Path(path)
        target.mkdir(parents=True, exist_ok=False)
        pq.write_table(table.cast(utc), target / "part-00000.parquet")
        (target / "_SUCCESS").touch()
        return
    write_output(spark.createDataFrame(table, schema=struct), path, fmt)


def _score_checkpointed(
    combined: DataFrame,
    signature: ModelSignature,
    keep: list[str] | None,
    scored_path: str,
    quarantine_path: str,
    config: ScoreConfig,
    lap: Any,
) -> None:
    """Score once into a local checkpoint, then write each output as a filter over the stored rows."""
    stored = None
    try:
        stored = combined.localCheckpoint(eager=True)
        lap("score")
        scored, quarantine = split_frame(stored, signature, keep)
        write_output(scored, scored_path, config.output_format)
        lap("write_scored")
        write_output(quarantine, quarantine_path, config.output_format)
        lap("write_quarantine")
    finally:
        if stored is not None:
            _release(stored)


def _release(stored: DataFrame) -> None:
    """Free the executors' copy of a local checkpoint once both outputs are written (best effort)."""
    try:
        stored._jdf.queryExecution().analyzed().rdd().unpersist(False)
    except Exception:  # pragma: no cover - the blocks go when Spark's cleaner collects the RDD
        pass


def run_scoring_job(config: ScoreConfig, spark: SparkSession | None = None) -> Manifest:
    """:func:`run_scoring` on the active Spark session, or a new one (``sigbatch score --engine spark``).

    Under ``spark-submit`` the session takes its master and settings from the command line; run
    directly, it is a local session whose Python workers use this interpreter.
    """
    if spark is None:
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        from pyspark.sql import SparkSession

        spark = SparkSession.builder.appName("sigbatch score").getOrCreate()
    from py4j.protocol import Py4JJavaError
    from pyspark.errors.exceptions.captured import CapturedException

    from sigbatch.errors import JobError
    from sigbatch.spark.io import java_cause

    try:
        return run_scoring(spark, config)
    except (Py4JJavaError, CapturedException) as exc:  # a crashed worker, a lost executor: the cause
        msg = f"the Spark job failed: {java_cause(exc)} (Spark's log above has the details)"
        raise JobError(msg) from None
