"""Scoring on Dask: one graph, two outputs, every partition scored once.

:func:`score` maps the core's :func:`~sigbatch.models.score_combined` over the partitions (each
converted to Arrow), which gives one *combined* frame holding both outcomes of every row; the
scored and quarantine frames are two cheap ``map_partitions`` over it. Computed together
(``dask.compute(scored, quarantine)``, or the two Parquet writes of :func:`run_scoring`),
they share the scoring tasks, so the model runs once per row.

:func:`run_scoring` is the job behind ``sigbatch score --engine dask``: read the source
(:mod:`sigbatch.dask.io`), preflight, build the graph, write ``scored/`` and ``quarantine/`` in
one compute, count what was written, check rows in = scored + quarantined, write the manifest.
Its graph runs the same partition functions as :func:`score`, but keeps each partition in Arrow
from the read to the two writes (per piece: read, score once, write each half), which saves the
conversions to and from pandas that Dask DataFrame partitions need.

Example:
    >>> import dask, dask.dataframe as dd, pandas as pd
    >>> from sigbatch import ColSpec, ModelSignature, Schema
    >>> sig = ModelSignature(Schema([ColSpec("double", "x")]))
    >>> ddf = dd.from_pandas(pd.DataFrame({"x": [1.0, 2.0, None]}), npartitions=2)
    >>> scored, quarantine = score(ddf, lambda df: df["x"] * 2, sig, profile="strict")
    >>> s, q = dask.compute(scored, quarantine)
    >>> sorted(s["prediction"].tolist()), len(q)
    ([2.0, 4.0], 1)
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import dask
import dask.dataframe as dd
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from sigbatch.arrow import to_arrow
from sigbatch.config import ScoreConfig, local_path
from sigbatch.dask.io import FILE_COLUMN, OFFSET_COLUMN, Source, read_piece_table, read_source, write_table
from sigbatch.dask.types import to_pandas
from sigbatch.enforce import Profile, preflight
from sigbatch.errors import ConfigError, SchemaMismatchError, SignatureError
from sigbatch.manifest import (
    QUARANTINE_DIR,
    SCORED_DIR,
    Manifest,
    Stopwatch,
    check_source_columns,
    finish_job,
    prepare_output,
    replace_outputs,
    staging_dir,
)
from sigbatch.models import (
    KIND_COLUMN,
    Model,
    check_columns,
    combined_schema,
    from_callable,
    given_signature,
    load_model,
    output_schema,
    quarantine_part,
    score_combined,
    scored_part,
)
from sigbatch.params import enforce_params
from sigbatch.quarantine import ROW_COLUMN
from sigbatch.types import Map, ModelSignature, Schema

__all__ = ["run_scoring", "score"]

# Without a source row index, _sigbatch_row is (partition number << 33) + position, the layout of
# Spark's monotonically_increasing_id (and of sigbatch.spark.score).
_PARTITION_SHIFT = 33


def score(
    ddf: dd.DataFrame,
    model: Any,
    signature: ModelSignature | str | os.PathLike[str] | None = None,
    params: dict[str, Any] | None = None,
    profile: str = "mlflow",
    on_schema_mismatch: str = "fail",
    *,
    keep_columns: list[str] | None = None,
) -> tuple[dd.DataFrame, dd.DataFrame]:
    """Score a Dask DataFrame: two lazy frames, the scored rows and the quarantined rows.

    Scored rows keep their source columns (all, or ``keep_columns``) and add the prediction
    column(s), as ``withColumn`` would; quarantined rows keep their source columns in their source
    dtypes and add ``_sigbatch_errors``, ``_sigbatch_stage`` and ``_sigbatch_row``. Compute both
    together (``dask.compute(scored, quarantine)``): they share the scoring tasks, so every
    partition is scored once.

    Row identity: when ``ddf`` has the columns :func:`sigbatch.dask.io.read_source` adds
    (``_sigbatch_file``, ``_sigbatch_file_offset``, ``_sigbatch_row``), they are not scored: the
    quarantined rows carry them (the row index as ``_sigbatch_row``). Otherwise ``_sigbatch_row`` is
    ``(partition number << 33) + position in the partition``.

    Columns of Python objects (object dtype) are typed by Arrow in each partition: lists and dicts
    become lists and structs (a Map column should be ``pd.ArrowDtype`` of a map type), and values of
    mixed kinds in one column raise :class:`SchemaMismatchError` naming it (``score_batch`` judges
    such values row by row). Dask turns object columns into strings unless
    ``dask.config.set({"dataframe.convert-string": False})``: set it to score nested lists and dicts.

    Args:
        ddf: the rows to score; Arrow-backed columns (``pd.ArrowDtype``) keep nested types exact.
        model: a model URI (loaded once per worker process), a :class:`~sigbatch.models.Model`
            or a callable ``f(df[, params])``.
        signature: a ModelSignature or the path of a signature file or model; defaults to the model's.
        params: inference parameters (checked here, once, against the signature's params).
        profile: ``mlflow`` (default), ``strict`` or ``lenient``.
        on_schema_mismatch: ``fail`` (preflight raises before any work) or ``quarantine``.
        keep_columns: the source columns the scored rows keep (default: all).

    Raises:
        SchemaMismatchError: the columns can never fit the signature (``on_schema_mismatch="fail"``).
        SignatureError: no signature, or bad params.
        ConfigError: a ``keep_columns`` entry is not a source column.
    """
    spec, sig, params, layout = _prepare(
        ddf._meta, model, signature, params, profile, on_schema_mismatch, keep_columns
    )
    combined_meta, scored_meta, quarantine_meta = (
        meta.set_axis(ddf._meta.index[:0]) for meta in layout.metas(sig)
    )  # the partitions keep the source's index
    combined = ddf.map_partitions(
        _score_partition,
        model=spec,
        signature=sig,
        params=params,
        profile=profile,
        on_schema_mismatch=on_schema_mismatch,
        layout=layout,
        meta=combined_meta,
        enforce_metadata=False,
        align_dataframes=False,
    )
    scored = combined.map_partitions(
        _half, layout=layout, kind="scored", meta=scored_meta, enforce_metadata=False
    )
    quarantine = combined.map_partitions(
        _half, layout=layout, kind="quarantined", meta=quarantine_meta, enforce_metadata=False
    )
    return scored, quarantine


def _prepare(
    meta: pd.DataFrame,
    model: Any,
    signature: ModelSignature | str | os.PathLike[str] | None,
    params: dict[str, Any] | None,
    profile: str,
    on_schema_mismatch: str,
    keep_columns: list[str] | None,
) -> tuple[Any, ModelSignature, dict[str, Any] | None, _Layout]:
    """Everything decided once on the client: model spec, signature, params, preflight, layout."""
    spec, sig = _model_and_signature(model, signature)
    params = enforce_params(params, sig.params)
    identity = tuple(c for c in (FILE_COLUMN, OFFSET_COLUMN) if c in meta.columns)
    has_row = ROW_COLUMN in meta.columns
    columns = [c for c in meta.columns if c not in identity and not (has_row and c == ROW_COLUMN)]
    source = _source_schema(meta[columns])
    if on_schema_mismatch == "fail":
        preflight(_known_types(source, sig), sig, profile=cast(Profile, profile)).raise_for_problems()
    check_columns("keep_columns", keep_columns, columns)
    assert sig.inputs is not None
    maps = tuple(
        str(spec.name)
        for spec in sig.inputs.inputs
        if isinstance(spec.type, Map)
        and str(spec.name) in source.names
        and pa.types.is_null(source.field(str(spec.name)).type)
    )
    layout = _Layout(
        meta[columns].iloc[:0],
        source,
        output_schema(sig),
        None if keep_columns is None else tuple(keep_columns),
        identity,
        has_row,
        maps,
    )
    return spec, sig, params, layout


# --- the partition functions -------------------------------------------------------------------


@dataclass(frozen=True)
class _Layout:
    """How partitions become pandas: decided once on the client and shipped with the tasks."""

    source_meta: pd.DataFrame  # the scored columns' input dtypes: they come back in them
    source: pa.Schema  # their Arrow types (``null``: unknown, an object column typed per partition)
    predictions: Schema  # the prediction columns (dtypes as sigbatch.dask.to_meta gives)
    keep_columns: tuple[str, ...] | None
    identity: tuple[str, ...]  # _sigbatch_file / _sigbatch_file_offset, carried to the quarantine
    has_row: bool  # the input has _sigbatch_row (the row's index in its file)
    maps: tuple[str, ...] = ()  # object columns the signature reads as a Map (dicts are maps, not structs)

    def frame(self, table: pa.Table, predictions: bool = False) -> pd.DataFrame:
        """``table`` as pandas: source columns in their source dtypes, predictions as ``to_meta``.

        Everything else (prefixed predictions of the combined frame, the quarantine's columns) is
        ``pd.ArrowDtype`` of its Arrow type.
        """
        pred_names = [str(s.name) for s in self.predictions.inputs] if predictions else []
        preds = to_pandas(table.select(pred_names), self.predictions) if pred_names else None
        columns: dict[str, pd.Series] = {}
        for name in table.column_names:
            if preds is not None and name in preds.columns:
                columns[name] = preds[name]
            elif name in self.source_meta.columns:
                columns[name] = _series(table.column(name), self.source_meta.dtypes[name], name)
            else:
                columns[name] = _series(
                    table.column(name), pd.ArrowDtype(table.schema.field(name).type), name
                )
        return pd.DataFrame(columns, index=pd.RangeIndex(table.num_rows))

    def metas(self, sig: ModelSignature) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        """The meta frames of the combined, scored and quarantine frames."""
        combined = combined_schema(self.source, sig).empty_table()
        for name in self.identity:
            combined = combined.append_column(name, pa.array([], _identity_type(name)))
        scored, quarantine = self.split(combined)
        return self.frame(combined), self.frame(scored, predictions=True), self.frame(quarantine)

    def split(self, combined: pa.Table) -> tuple[pa.Table, pa.Table]:
        """The scored and quarantine tables of a combined table (identity goes to the quarantine)."""
        return self.scored(combined), self.quarantined(combined)

    def scored(self, combined: pa.Table) -> pa.Table:
        """The scored rows of a combined table."""
        keep = None if self.keep_columns is None else list(self.keep_columns)
        return scored_part(combined.drop_columns(list(self.identity)), keep)

    def quarantined(self, combined: pa.Table) -> pa.Table:
        """The quarantined rows of a combined table, with their identity columns."""
        quarantine = quarantine_part(combined.drop_columns(list(self.identity)))
        if self.identity:
            bad = pc.not_equal(combined.column(KIND_COLUMN), "scored")
            for name in self.identity:
                quarantine = quarantine.append_column(name, combined.column(name).filter(bad))
        return quarantine


def _score_partition(
    frame: pd.DataFrame,
    *,
    layout: _Layout,
    partition_info: dict[str, Any] | None = None,
    **scoring: Any,
) -> pd.DataFrame:
    """Score one partition: both outcomes of every row, in the combined layout."""
    table = _to_arrow(frame, layout.source, layout.maps)
    for name in (*layout.identity, *((ROW_COLUMN,) if layout.has_row else ())):
        table = table.append_column(name, _arrow_column(frame[name]))
    number = int(partition_info["number"]) if partition_info else 0
    combined = layout.frame(_score_arrow(table, number, layout=layout, **scoring))
    combined.index = frame.index  # rows stay in place: each keeps its source index (and divisions hold)
    return combined


def _score_arrow(
    table: pa.Table,
    number: int,
    *,
    model: Any,
    signature: ModelSignature,
    params: dict[str, Any] | None,
    profile: str,
    on_schema_mismatch: str,
    layout: _Layout,
) -> pa.Table:
    """Score partition ``number`` (source columns, then any identity columns), as a combined table.

    Rows stay in place (see :func:`~sigbatch.models.score_combined`), so the identity columns are
    appended as they are; ``_sigbatch_row`` becomes the row's index in its file when the source
    has it, else (partition number << 33) + position.
    """
    resolved = load_model(model) if isinstance(model, str) else model
    combined = score_combined(
        table.select(layout.source.names),
        resolved,
        signature,
        params,
        profile=cast(Profile, profile),
        on_schema_mismatch=on_schema_mismatch,
    )
    for name in layout.identity:
        combined = combined.append_column(name, table.column(name).cast(_identity_type(name)))
    if layout.has_row:
        rows = table.column(ROW_COLUMN).cast(pa.int64())
    else:
        rows = pc.add(combined.column(ROW_COLUMN), pa.scalar(number << _PARTITION_SHIFT, pa.int64()))
    return combined.set_column(combined.schema.get_field_index(ROW_COLUMN), ROW_COLUMN, rows)


def _identity_type(name: str) -> pa.DataType:
    """The output type of an identity column: the file as text, the split offset as a long."""
    return pa.string() if name == FILE_COLUMN else pa.int64()


def _half(frame: pd.DataFrame, *, layout: _Layout, kind: str) -> pd.DataFrame:
    """The scored or the quarantined rows of one combined partition."""
    combined = _frame_table(frame, layout.maps)
    scored = (frame[KIND_COLUMN] == "scored").to_numpy(dtype=bool)
    if kind == "scored":
        half = layout.frame(layout.scored(combined), predictions=True)
        half.index = frame.index[scored]
    else:
        half = layout.frame(layout.quarantined(combined))
        half.index = frame.index[~scored]
    return half  # the rows keep their source index, so both halves join back to the source


# --- conversions -------------------------------------------------------------------------------


def _source_schema(meta: pd.DataFrame) -> pa.Schema:
    """The Arrow types of the source columns; ``null`` where the dtype says nothing (object)."""
    fields = []
    for name, dtype in meta.dtypes.items():
        if isinstance(dtype, pd.ArrowDtype):
            t = dtype.pyarrow_dtype
        elif pd.api.types.is_object_dtype(dtype):
            t = pa.null()
        else:
            t = pa.Schema.from_pandas(meta[[name]], preserve_index=False).field(0).type
        fields.append(pa.field(str(name), t))
    return pa.schema(fields)


def _known_types(source: pa.Schema, sig: ModelSignature) -> pa.Schema:
    """For preflight: columns of unknown type (object dtype) are judged per row, not up front."""
    assert sig.inputs is not None
    wanted = {f.name: f.type for f in to_arrow(sig.inputs)}
    return pa.schema(
        [f.with_type(wanted[f.name]) if pa.types.is_null(f.type) and f.name in wanted else f for f in source]
    )


def _to_arrow(frame: pd.DataFrame, source: pa.Schema, maps: tuple[str, ...] = ()) -> pa.Table:
    """The source columns of a partition as Arrow, each in the source's Arrow type where it is known;
    the object columns in ``maps`` (read as a Map by the signature) as maps of their dicts.

    Raises:
        SchemaMismatchError: An object column's Python values have no common Arrow type.
    """
    columns = []
    for field in source:
        try:
            col = _map_column(frame[field.name]) if field.name in maps else None
            col = _arrow_column(frame[field.name]) if col is None else col
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError) as exc:
            msg = (
                f"column {field.name!r}: its Python values have no common Arrow type in one partition "
                f"({exc}); the Dask engine scores Arrow columns, so give the column one type (or a "
                "pd.ArrowDtype), or score it with sigbatch.score_batch, which judges such values row by row"
            )
            raise SchemaMismatchError(msg) from None
        columns.append(
            col if pa.types.is_null(field.type) or col.type == field.type else col.cast(field.type)
        )
    return pa.Table.from_arrays(columns, names=source.names)


def _frame_table(frame: pd.DataFrame, maps: tuple[str, ...]) -> pa.Table:
    """A combined partition back as Arrow, the ``maps`` columns as maps of their dicts."""
    if not maps:
        return pa.Table.from_pandas(frame, preserve_index=False)
    arrays = []
    for name in frame.columns:
        col = _map_column(frame[name]) if name in maps else None
        arrays.append(
            col if col is not None else pa.Table.from_pandas(frame[[name]], preserve_index=False).column(0)
        )
    return pa.Table.from_arrays(arrays, names=[str(c) for c in frame.columns])


def _map_column(series: pd.Series) -> pa.ChunkedArray | None:
    """An object column of dicts (or nulls) as an Arrow map with text keys: each dict's own keys
    and values (Arrow's own reading would make them a struct with every key any dict has). None
    when a value is neither a dict nor null, or a key is not text: the usual reading decides."""
    offsets, valid = [0], []
    keys: list[str] = []
    items: list[Any] = []
    for value in series.tolist():
        if isinstance(value, dict) and all(isinstance(k, str) for k in value):
            keys += value.keys()
            items += value.values()
            valid.append(True)
        elif value is None or (isinstance(value, float) and value != value):
            valid.append(False)
        else:
            return None
        offsets.append(len(keys))
    mask = pa.array([not v for v in valid], pa.bool_())
    arr = pa.MapArray.from_arrays(
        pa.array(offsets, pa.int32()),
        pa.array(keys, pa.string()),
        pa.array(items, from_pandas=True),
        mask=mask,
    )
    return pa.chunked_array([arr])


def _arrow_column(series: pd.Series) -> pa.ChunkedArray:
    """One pandas column as Arrow (no copy for ``pd.ArrowDtype``)."""
    data = (
        pa.array(series.array)
        if isinstance(series.dtype, pd.ArrowDtype)
        else pa.array(series, from_pandas=True)
    )
    return data if isinstance(data, pa.ChunkedArray) else pa.chunked_array([data])


def _series(col: pa.ChunkedArray, dtype: Any, name: str) -> pd.Series:
    """One Arrow column as a pandas Series of exactly ``dtype``."""
    if isinstance(dtype, pd.ArrowDtype):
        data = col if col.type == dtype.pyarrow_dtype else col.cast(dtype.pyarrow_dtype)
        return pd.Series(pd.arrays.ArrowExtensionArray(data), name=name, copy=False)
    if pd.api.types.is_object_dtype(dtype):
        values = col.to_pylist()
        if pa.types.is_map(col.type):  # Arrow gives a map's entries as pairs; the source held dicts
            values = [dict(v) if v is not None else None for v in values]
        return pd.Series(values, name=name, dtype=object)
    return pd.Series(col.to_pandas(), name=name).astype(dtype, copy=False)


def _model_and_signature(
    model: Any, signature: ModelSignature | str | os.PathLike[str] | None
) -> tuple[Any, ModelSignature]:
    """What the tasks get (a URI when there is one: each worker loads it once) and the signature."""
    spec: Any
    if isinstance(model, str):
        resolved, spec = load_model(model), model
    elif isinstance(model, Model):
        resolved = spec = model
    else:
        resolved = spec = from_callable(model)
    given = given_signature(signature)  # a path too, as score_batch takes
    sig = given if given is not None else resolved.signature
    if sig is None or sig.inputs is None:
        msg = f"model {resolved.uri!r} has no input signature; pass signature=..."
        raise SignatureError(msg)
    return spec, sig


# --- the job ------------------------------------------------------------------------------------


def run_scoring(config: ScoreConfig) -> Manifest:
    """Run a scoring job on Dask: read, preflight, score, write both outputs, account, manifest.

    The outputs are ``<output>/scored/`` and ``<output>/quarantine/`` (Parquet, one file per
    partition) and ``<output>/_sigbatch_manifest.json``. Both outputs are written by one compute
    into a temporary directory under ``<output>`` and moved into place when it succeeds, so a
    failed job leaves no partial output behind. The counts are read back from the written files;
    the job raises :class:`~sigbatch.manifest.AccountingError` when rows in != scored + quarantined.

    The scheduler is ``dask.scheduler``: ``threads`` (default, in-process), ``processes``
    (``dask.workers`` local processes), ``synchronous``, or the address of a ``dask.distributed``
    scheduler (``tcp://host:8786``). ``source.path`` and ``output.path`` are local paths (a mounted
    directory counts); a ``file:`` URI names one.

    Example:
        from sigbatch.config import load_score_config
        cfg = load_score_config("conf/score_dask.yaml")
        run_scoring(cfg).counts.rows_in
        # -> 20000
    """
    output = local_path(config.output)  # a file: URI names a local directory
    if output is None:
        msg = (
            f"output.path {config.output!r}: the Dask engine writes to a local directory (or a mounted "
            "one); use the Spark engine for hdfs://, s3a:// and other filesystem URIs"
        )
        raise ConfigError(msg)
    if config.output_format != "parquet":
        msg = f"output.format {config.output_format!r}: the Dask engine writes parquet; use the Spark engine for delta"
        raise ConfigError(msg)
    clock = Stopwatch()
    lap = clock.lap

    spec, sig = _model_and_signature(config.model, _load_signature(config.signature))
    with _scheduler(config) as compute:
        source = read_source(
            config.source, blocksize=config.dask_blocksize, compute=compute, identity=not config.key_columns
        )
        check_source_columns(source.schema.names)
        # preflight runs here, before the output is touched
        spec, sig, params, layout = _prepare(
            source.frame._meta,
            spec,
            sig,
            config.params or None,
            config.profile,
            config.on_schema_mismatch,
            _kept_columns(config, source.schema.names),
        )
        lap("read_and_preflight")
        out = prepare_output(output, config.mode)
        staging = staging_dir(out)
        try:
            writes = _job_tasks(
                source,
                layout,
                staging,
                one_task=config.dask_scheduler == "processes",
                model=spec,
                signature=sig,
                params=params,
                profile=config.profile,
                on_schema_mismatch=config.on_schema_mismatch,
            )
            compute(*writes)  # one graph: both writes of a partition share its scoring task
            lap("score_and_write")
            return finish_job(
                out,
                source.rows,
                engine="dask",
                engine_version=dask.__version__,
                config=config,
                signature=sig,
                clock=clock,
                written=staging,
                # an earlier run's outputs stay until the new ones are counted and add up
                publish=lambda: replace_outputs(out, staging),
            )
        finally:
            shutil.rmtree(staging, ignore_errors=True)


def _job_tasks(
    source: Source, layout: _Layout, staging: Path, *, one_task: bool, **scoring: Any
) -> list[Any]:
    """The job's graph, Arrow from the read to the writes: per piece, read and score once, then
    write the scored and the quarantined rows.

    The same functions as :func:`score`'s frames (:func:`_score_arrow`, the layout's split), without
    the round trips through pandas that Dask DataFrame partitions need. The two writes are tasks of
    their own, so a thread writing (Arrow, without the GIL) overlaps another one scoring; with
    ``one_task`` (the ``processes`` scheduler, which pickles every result back to the parent
    process) each piece is a single task instead.
    """
    token = staging.name  # unique per run: jobs sharing a distributed scheduler never share keys
    reading = (source.schema, source.options, source.identity)
    tasks = []
    for number, piece in enumerate(source.pieces):
        key = f"{token}-{number}"
        if one_task:
            tasks.append(
                dask.delayed(_run_piece)(
                    piece,
                    number,
                    reading,
                    layout,
                    str(staging),
                    scoring,
                    dask_key_name=f"sigbatch-piece-{key}",
                )
            )
            continue
        combined = dask.delayed(_read_and_score)(
            piece, number, reading, layout, scoring, dask_key_name=f"sigbatch-score-{key}"
        )
        for kind in ("scored", "quarantined"):
            tasks.append(
                dask.delayed(_write_half)(
                    combined, layout, kind, str(staging), number, dask_key_name=f"sigbatch-write-{kind}-{key}"
                )
            )
    return tasks


def _read_and_score(
    piece: Any,
    number: int,
    reading: tuple[pa.Schema, dict[str, Any], bool],
    layout: _Layout,
    scoring: dict[str, Any],
) -> pa.Table:
    """Read one piece (``reading``: the source's schema, reader options and identity flag) and
    score it: the combined table of both outcomes."""
    return _score_arrow(read_piece_table(piece, *reading), number, layout=layout, **scoring)


def _write_half(combined: pa.Table, layout: _Layout, kind: str, staging: str, number: int) -> int:
    """Write the scored or the quarantined rows of one scored piece; the rows written.

    The file name comes from the piece number, so a retried task rewrites its own file.
    """
    if kind == "scored":
        return write_table(layout.scored(combined), Path(staging) / SCORED_DIR, number)
    return write_table(layout.quarantined(combined), Path(staging) / QUARANTINE_DIR, number)


def _run_piece(
    piece: Any,
    number: int,
    reading: tuple[pa.Schema, dict[str, Any], bool],
    layout: _Layout,
    staging: str,
    scoring: dict[str, Any],
) -> tuple[int, int]:
    """Read, score and write one piece in a single task; the rows written to each output."""
    combined = _read_and_score(piece, number, reading, layout, scoring)
    return (
        _write_half(combined, layout, "scored", staging, number),
        _write_half(combined, layout, "quarantined", staging, number),
    )


def _load_signature(path: str | None) -> ModelSignature | None:
    if path is None:
        return None
    from sigbatch.wire import load_signature

    return load_signature(path)


def _kept_columns(config: ScoreConfig, names: list[str]) -> list[str] | None:
    """``output.keep_columns``, with the ``output.key_columns`` it lacks first (as the Spark job)."""
    for key, cols in (
        ("output.key_columns", config.key_columns),
        ("output.keep_columns", config.keep_columns),
    ):
        if cols is not None:
            check_columns(key, cols, names)
    keep = config.keep_columns
    if keep is not None and config.key_columns:
        keep = [*[k for k in config.key_columns if k not in keep], *keep]
    return keep


@contextlib.contextmanager
def _scheduler(config: ScoreConfig) -> Iterator[Callable[..., Sequence[Any]]]:
    """A ``compute(*collections)`` for the configured scheduler, with a progress bar on a terminal."""
    name = config.dask_scheduler
    progress = config.progress
    if name in ("threads", "processes", "synchronous", "sync", "single-threaded"):
        kwargs: dict[str, Any] = {"scheduler": name}
        if config.dask_workers is not None and name in ("threads", "processes"):
            kwargs["num_workers"] = config.dask_workers

        def compute(*collections: Any) -> Sequence[Any]:
            if progress and sys.stderr.isatty():
                from dask.diagnostics import ProgressBar

                with ProgressBar(minimum=2.0, out=sys.stderr):
                    return dask.compute(*collections, **kwargs)
            return dask.compute(*collections, **kwargs)

        yield compute
        return
    if "://" not in name and ":" not in name:
        msg = (
            f"dask.scheduler {name!r}: expected threads, processes, synchronous or the address of a "
            "dask.distributed scheduler (tcp://host:8786)"
        )
        raise ConfigError(msg)
    try:
        from distributed import Client
        from distributed import progress as show_progress
    except ImportError as exc:  # pragma: no cover - distributed ships with the dask extra
        from sigbatch.errors import DependencyError

        msg = "a dask.distributed scheduler address needs distributed; install `pip install 'sigbatch[dask]'`"
        raise DependencyError(msg) from exc
    try:
        client = Client(name, set_as_default=False, timeout="30s")
    except OSError as exc:
        msg = f"dask.scheduler {name!r}: cannot connect ({exc})"
        raise ConfigError(msg) from None

    def compute_distributed(*collections: Any) -> Sequence[Any]:
        futures = client.compute(list(collections))
        if progress and sys.stdout.isatty():
            show_progress(futures)
        return client.gather(futures)

    try:
        yield compute_distributed
    finally:
        client.close()
