"""Audit a scoring job's quarantine: what was refused, where, why, and whether the data changed.

``audit(output)`` reads ``<output>/_sigbatch_manifest.json`` and the quarantine Parquet files and
returns an :class:`AuditSummary`: rows in / scored / replayed / quarantined and the rate; rows by
stage, by reason code and by path; for the top paths the most frequent offending values and a few
example rows with their source location (quarantine file, position in it, ``_sigbatch_row``); and a
drift diagnosis (the inferred schema of the quarantined rows diffed against the signature).

How the counting works, on every engine: each batch of the quarantine is reduced *by the core*
(:func:`batch_aggregates`: ``_sigbatch_errors`` exploded with ``list_flatten`` /
``list_parent_indices``, then ``group_by``) to a small table of partial counts; the engine sums the
partials and keeps the top values and the first examples per path (:func:`reduce_aggregates` here,
``groupBy`` + windows on Spark, ``groupby`` on Dask); :func:`finish_audit` turns the reduced table into
the summary. Rows never travel to the driver, except the few example rows, read by position.

Counting rules (stable, and the same on every engine):

* a row counts once per stage, once per code it carries, once per path it carries (a row with two
  reasons of the same code counts once for that code), as in the manifest's ``quarantined_by_code``;
* paths are grouped with list positions and map keys replaced by ``[*]`` (``a[3].x`` -> ``a[*].x``);
  the exact path of each example's reasons is kept;
* the offending value of a reason is its ``actual`` (for ``MODEL_ERROR``, whose ``actual`` is always
  ``exception``, the message); values are made safe to print (control and bidi characters replaced)
  and cut to ``value_chars`` characters, and values sharing that prefix count together.

Example:
    from sigbatch.audit import audit
    summary = audit("sigbatch-demo")
    summary.by_code
    # -> (('NULL_REQUIRED', 310), ('INVALID_OBJECT', 121), ('MODEL_ERROR', 117))
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sigbatch.errors import ConfigError
from sigbatch.manifest import MANIFEST_NAME, QUARANTINE_DIR, REPLAY_QUARANTINE_DIR, REPLAYED_DIR, SCORED_DIR
from sigbatch.quarantine import (
    ERRORS_COLUMN,
    IDENTITY_COLUMNS,
    REASON_TYPE,
    ROW_COLUMN,
    STAGE_COLUMN,
    child_path,
    path_name,
)
from sigbatch.types import AnyType, Array, ColSpec, ColumnType, DataType, Map, ModelSignature, Object, Schema

__all__ = [
    "AGG_SCHEMA",
    "DRIFT_SCHEMA",
    "ENGINES",
    "FILE_COLUMN",
    "INDEX_COLUMN",
    "LOCATION_COLUMNS",
    "REPLAYED_DIR",
    "REPLAY_QUARANTINE_DIR",
    "AuditContext",
    "AuditOptions",
    "AuditSummary",
    "Drift",
    "DriftChange",
    "ExampleRow",
    "PathDetail",
    "ValueCount",
    "audit",
    "audit_context",
    "batch_aggregates",
    "clip_text",
    "clip_values",
    "drift_partials",
    "finish_audit",
    "footer_rows",
    "json_encoded_columns",
    "quarantine_footer_rows",
    "read_audit_file",
    "read_manifest_doc",
    "read_parquet",
    "reduce_aggregates",
    "source_columns",
]

ENGINES = ("local", "dask", "spark")
#: Where a row sits, added by the engine adapters: the quarantine file (relative to the
#: quarantine directory) and the row's position in that file.
FILE_COLUMN = "_sigbatch_audit_file"
INDEX_COLUMN = "_sigbatch_audit_index"

# Kinds of partial counts in the aggregate table.
STAGE, CODE, PATH, CODE_PATH, VALUE, EXAMPLE = "stage", "code", "path", "code_path", "value", "example"
#: One row per partial count. ``key``: the stage, code or path; ``sub``: the path of a
#: ``code_path`` count or the value of a ``value`` count; ``file``/``index``/``row``: where an
#: ``example`` row sits; ``n``: rows (reasons, for ``value``).
AGG_SCHEMA = pa.schema(
    [
        pa.field("kind", pa.string()),
        pa.field("key", pa.string()),
        pa.field("sub", pa.string()),
        pa.field("file", pa.string()),
        pa.field("index", pa.int64()),
        pa.field("row", pa.int64()),
        pa.field("n", pa.int64()),
    ]
)
#: One row per batch: the partial schema (:class:`sigbatch.infer.Partial`, JSON) of its source columns.
DRIFT_SCHEMA = pa.schema([pa.field("partial", pa.string())])
_REASON_COLUMNS = (ERRORS_COLUMN, STAGE_COLUMN, ROW_COLUMN)
#: Where a quarantined row came from, as the scoring jobs record it (source file, split offset,
#: row in it; in-memory scoring records the row only). Shown with examples, kept by a replay.
LOCATION_COLUMNS = IDENTITY_COLUMNS
#: Rows that were not records at all are kept as JSON text in this column (source data).
RAW_COLUMN = "_sigbatch_raw"
_MODEL_ERROR = "MODEL_ERROR"
ROW_PATH_LABEL = "(row)"


@dataclass(frozen=True, slots=True)
class AuditOptions:
    """How much detail an audit keeps.

    Attributes:
        top_paths: paths detailed with values and examples (most rows first).
        top_values: most frequent offending values kept per path.
        examples: example rows kept per path (the first by file and position).
        value_chars: characters of a value kept (longer values are cut and end with "…").
        drift: infer the schema of the quarantined rows and diff it against the signature.
        drift_threshold: share of the quarantined rows a consistent change must explain to be
            called "data changed" rather than "bad records".
        quarantine: ``current`` (after the last replay, if any) or ``original``.
    """

    top_paths: int = 10
    top_values: int = 5
    examples: int = 3
    value_chars: int = 80
    drift: bool = True
    drift_threshold: float = 0.5
    quarantine: str = "current"

    def __post_init__(self) -> None:
        for name in ("top_paths", "top_values", "examples", "value_chars"):
            if getattr(self, name) < 1:
                msg = f"audit option {name} must be at least 1, got {getattr(self, name)}"
                raise ConfigError(msg)
        if not 0.0 < self.drift_threshold <= 1.0:
            msg = f"audit option drift_threshold must be in (0, 1], got {self.drift_threshold}"
            raise ConfigError(msg)
        if self.quarantine not in ("current", "original"):
            msg = f"audit option quarantine must be 'current' or 'original', got {self.quarantine!r}"
            raise ConfigError(msg)


# ---------------------------------------------------------------------------------------------
# Safe values
# ---------------------------------------------------------------------------------------------

# C0/C1 controls and the bidi overrides/isolates that could reorder what a terminal or page shows.
_UNSAFE = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\x{202a}-\x{202e}\x{2066}-\x{2069}]"
_ELLIPSIS = "…"


def clip_values(values: pa.Array | pa.ChunkedArray, limit: int) -> pa.Array | pa.ChunkedArray:
    """Make strings safe to print and cut them to ``limit`` characters (vectorised).

    Tabs and line breaks become ``\\t``, ``\\n``, ``\\r``; other control and bidi characters
    become U+FFFD; a value longer than ``limit`` keeps ``limit - 1`` characters and ends with "…".
    Escaping for HTML is the renderer's job, after this.
    """
    text = pc.replace_substring(values, "\t", "\\t")
    text = pc.replace_substring(text, "\n", "\\n")
    text = pc.replace_substring(text, "\r", "\\r")
    text = pc.replace_substring_regex(text, _UNSAFE, "\ufffd")
    long = pc.fill_null(pc.greater(pc.utf8_length(text), limit), False)
    cut = pc.binary_join_element_wise(pc.utf8_slice_codeunits(text, 0, limit - 1), _ELLIPSIS, "")
    return pc.if_else(long, cut, text)


def clip_text(text: str, limit: int) -> str:
    """:func:`clip_values` for one string."""
    return str(clip_values(pa.array([text], pa.string()), limit)[0].as_py())


#: A list position or map key of a reason path (``[3]``, ``["k"]``, and ``[]`` for every element
#: in a whole column's problem); inference's list elements and map values (``[]``, ``{}``).
_REASON_PLACE = re.compile(r'\[(\d+|"[^"]*")?\]')
_INFERENCE_PLACE = re.compile(r"\[\]|\{\}")
_DECODER = json.JSONDecoder()


def _star(path: str, place: re.Pattern[str]) -> str:
    """``path`` with each ``place`` as ``[*]``, leaving quoted names (``"a[1]"``) as they are."""
    out, i = [], 0
    while i < len(path):
        found = place.match(path, i)
        if found is not None:
            out.append("[*]")
            i = found.end()
            continue
        if path[i] == '"' and (i == 0 or path[i - 1] == "."):  # a quoted name, see path_name
            try:
                end = _DECODER.raw_decode(path, i)[1]
            except ValueError:
                end = len(path)
            out.append(path[i:end])
            i = end
            continue
        out.append(path[i])
        i += 1
    return "".join(out)


def _normalise_paths(paths: pa.Array) -> pa.Array:
    """List positions and map keys become ``[*]`` so one place in the schema counts once."""
    starred = pc.replace_substring_regex(paths, _REASON_PLACE.pattern, "[*]")
    quoted = pc.match_substring_regex(paths, r'(^|\.)"')  # a quoted name may hold "[1]" itself
    if not pc.any(quoted).as_py():
        return starred
    exact = [
        _star(p, _REASON_PLACE) if q else s
        for p, q, s in zip(paths.to_pylist(), quoted.to_pylist(), starred.to_pylist(), strict=True)
    ]
    return pa.array(exact, paths.type)


# ---------------------------------------------------------------------------------------------
# Per batch: the partial counts (runs on the engine's workers)
# ---------------------------------------------------------------------------------------------


def _chunk(col: pa.ChunkedArray | pa.Array) -> pa.Array:
    if isinstance(col, pa.ChunkedArray):
        return col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
    return col


def _count(table: pa.Table, keys: list[str]) -> pa.Table:
    """Rows per distinct ``keys``, as a ``n`` column."""
    counted = table.group_by(keys, use_threads=False).aggregate([([], "count_all")])
    return counted.rename_columns([*keys, "n"]) if "count_all" in counted.column_names else counted


def _distinct(table: pa.Table, keys: list[str]) -> pa.Table:
    return table.group_by(keys, use_threads=False).aggregate([])


def _agg_rows(kind: str, size: int, **columns: Any) -> pa.Table:
    """A block of AGG_SCHEMA rows of one kind (missing columns are null)."""
    arrays = []
    for f in AGG_SCHEMA:
        if f.name == "kind":
            arrays.append(pa.array([kind] * size, pa.string()))
        elif f.name in columns:
            arrays.append(_chunk(columns[f.name]).cast(f.type))
        else:
            arrays.append(pa.nulls(size, f.type))
    return pa.Table.from_arrays(arrays, schema=AGG_SCHEMA)


def _head_per_group(table: pa.Table, group: str, order: list[tuple[str, str]], k: int) -> pa.Table:
    """The first ``k`` rows of each ``group`` value under ``order`` (vectorised)."""
    if table.num_rows == 0:
        return table
    ordered = table.sort_by([(group, "ascending"), *order])
    codes = np.asarray(_chunk(pc.dictionary_encode(ordered.column(group))).indices)
    positions = np.arange(len(codes))
    starts = np.maximum.accumulate(np.where(np.r_[True, codes[1:] != codes[:-1]], positions, 0))
    return ordered.filter(pa.array(positions - starts < k))


def batch_aggregates(batch: pa.Table | pa.RecordBatch, options: AuditOptions | None = None) -> pa.Table:
    """The partial counts of one quarantine batch (:data:`AGG_SCHEMA`).

    ``batch`` holds ``_sigbatch_errors``, ``_sigbatch_stage``, optionally ``_sigbatch_row``, and the
    adapter's :data:`FILE_COLUMN` / :data:`INDEX_COLUMN` (where each row sits). A row's reasons are
    all in its batch, so per-row distinct counts here sum exactly across batches.

    Example:
        >>> import pyarrow as pa
        >>> from sigbatch.quarantine import REASON_TYPE
        >>> t = pa.table({"_sigbatch_errors": pa.array([[{"path": "a", "code": "TYPE_MISMATCH",
        ...     "expected": "long", "actual": "str 'x'", "message": "m"}]], pa.list_(REASON_TYPE)),
        ...     "_sigbatch_stage": ["input"], "_sigbatch_audit_file": ["f"], "_sigbatch_audit_index": [0]})
        >>> batch_aggregates(t).filter(pa.compute.equal(pa.compute.field("kind"), "code")).column("n").to_pylist()
        [1]
    """
    opts = options or AuditOptions()
    table = pa.Table.from_batches([batch]) if isinstance(batch, pa.RecordBatch) else batch
    n = table.num_rows
    blocks: list[pa.Table] = []
    stages = pc.fill_null(_chunk(table.column(STAGE_COLUMN)).cast(pa.string()), "unknown")
    per_stage = _count(pa.table({"key": stages}), ["key"])
    blocks.append(_agg_rows(STAGE, per_stage.num_rows, key=per_stage["key"], n=per_stage["n"]))

    errors = _chunk(table.column(ERRORS_COLUMN))
    flat = pc.list_flatten(errors)
    parents = pc.list_parent_indices(errors)
    code = pc.fill_null(flat.field("code"), "UNKNOWN")
    actual = pc.fill_null(flat.field("actual"), "")
    message = pc.fill_null(flat.field("message"), "")
    value = clip_values(pc.if_else(pc.equal(code, _MODEL_ERROR), message, actual), opts.value_chars)
    path = _normalise_paths(pc.fill_null(flat.field("path"), ""))
    reasons = pa.table({"parent": parents, "path": path, "code": code, "value": value})

    per_code = _count(_distinct(reasons, ["parent", "code"]), ["code"])
    blocks.append(_agg_rows(CODE, per_code.num_rows, key=per_code["code"], n=per_code["n"]))
    row_paths = _distinct(reasons, ["parent", "path"])
    per_path = _count(row_paths, ["path"])
    blocks.append(_agg_rows(PATH, per_path.num_rows, key=per_path["path"], n=per_path["n"]))
    per_pair = _count(_distinct(reasons, ["parent", "code", "path"]), ["code", "path"])
    blocks.append(
        _agg_rows(CODE_PATH, per_pair.num_rows, key=per_pair["code"], sub=per_pair["path"], n=per_pair["n"])
    )
    per_value = _count(reasons, ["path", "value"])
    blocks.append(
        _agg_rows(VALUE, per_value.num_rows, key=per_value["path"], sub=per_value["value"], n=per_value["n"])
    )

    # Example candidates: per path, the first rows of this batch by (file, position).
    where = row_paths.column("parent")
    files = (
        _chunk(table.column(FILE_COLUMN)).cast(pa.string())
        if FILE_COLUMN in table.column_names
        else pa.nulls(n, pa.string())
    )
    index = (
        _chunk(table.column(INDEX_COLUMN)).cast(pa.int64())
        if INDEX_COLUMN in table.column_names
        else pa.array(np.arange(n, dtype=np.int64))
    )
    rows = (
        _chunk(table.column(ROW_COLUMN)).cast(pa.int64())
        if ROW_COLUMN in table.column_names
        else pa.nulls(n, pa.int64())
    )
    candidates = pa.table(
        {
            "key": row_paths.column("path"),
            "file": pc.take(files, where),
            "index": pc.take(index, where),
            "row": pc.take(rows, where),
        }
    )
    candidates = _head_per_group(
        candidates, "key", [("file", "ascending"), ("index", "ascending")], opts.examples
    )
    ones = pa.array(np.ones(candidates.num_rows, dtype=np.int64))
    blocks.append(
        _agg_rows(
            EXAMPLE,
            candidates.num_rows,
            key=candidates["key"],
            file=candidates["file"],
            index=candidates["index"],
            row=candidates["row"],
            n=ones,
        )
    )
    return pa.concat_tables(blocks)


def reduce_aggregates(partials: pa.Table, options: AuditOptions | None = None) -> pa.Table:
    """Sum partial counts, keep the top values and the first examples per path (in memory).

    The Dask and Spark adapters do exactly this on their engine; the result feeds
    :func:`finish_audit`.
    """
    opts = options or AuditOptions()
    kind = partials.column("kind")
    counts = partials.filter(pc.invert(pc.is_in(kind, pa.array([VALUE, EXAMPLE]))))
    summed = counts.group_by(["kind", "key", "sub"], use_threads=False).aggregate([("n", "sum")])
    summed = summed.rename_columns(["kind", "key", "sub", "n"])
    blocks = [_conform(summed)]
    values = partials.filter(pc.equal(kind, VALUE))
    values = (
        values.group_by(["key", "sub"], use_threads=False)
        .aggregate([("n", "sum")])
        .rename_columns(["key", "sub", "n"])
    )
    values = _head_per_group(values, "key", [("n", "descending"), ("sub", "ascending")], opts.top_values)
    blocks.append(_agg_rows(VALUE, values.num_rows, key=values["key"], sub=values["sub"], n=values["n"]))
    examples = partials.filter(pc.equal(kind, EXAMPLE))
    examples = _head_per_group(
        examples, "key", [("file", "ascending"), ("index", "ascending")], opts.examples
    )
    blocks.append(_conform(examples))
    return pa.concat_tables(blocks)


def _conform(table: pa.Table) -> pa.Table:
    """``table`` with AGG_SCHEMA's columns, in order (absent ones null)."""
    return pa.Table.from_arrays(
        [
            _chunk(table.column(f.name)).cast(f.type)
            if f.name in table.column_names
            else pa.nulls(table.num_rows, f.type)
            for f in AGG_SCHEMA
        ],
        schema=AGG_SCHEMA,
    )


# ---------------------------------------------------------------------------------------------
# Reading an output directory
# ---------------------------------------------------------------------------------------------


# Counts a manifest records: whole numbers of rows (a damaged manifest is refused, not guessed at).
_MANIFEST_COUNTS = ("rows_in", "rows_scored", "rows_quarantined")
_REPLAY_COUNTS = ("rows_considered", "rows_replayed", "rows_still_quarantined", "rows_replayed_total")


def _check_count(target: Path, where: str, value: Any) -> None:
    """A count in the manifest is a JSON integer, not negative."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        msg = (
            f"{target}: {where} is {clip_text(json.dumps(value, default=str), 40)}, not a row count "
            "(a whole number, 0 or more); the manifest is damaged: restore it or score the job again"
        )
        raise ConfigError(msg)


def read_manifest_doc(output: str | Path) -> dict[str, Any]:
    """The raw manifest of a job (any version of the layout; only ``counts.rows_in`` is required).

    The counts it holds (``counts.rows_in``, ``rows_scored``, ``rows_quarantined`` and those of
    each replay) are checked to be whole numbers of rows; anything else is a :class:`ConfigError`.
    """
    target = Path(output) / MANIFEST_NAME
    if not target.is_file():
        msg = f"{target}: no manifest (is {output} the output directory of a sigbatch job?)"
        raise ConfigError(msg)
    try:
        doc = json.loads(target.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        msg = f"{target}: invalid JSON ({exc})"
        raise ConfigError(msg) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("counts"), dict) or "rows_in" not in doc["counts"]:
        msg = f"{target}: not a sigbatch manifest (no counts.rows_in)"
        raise ConfigError(msg)
    for key in _MANIFEST_COUNTS:
        if key in doc["counts"]:
            _check_count(target, f"counts.{key}", doc["counts"][key])
    replays = doc.get("replays") or []
    if not isinstance(replays, list) or not all(isinstance(r, dict) for r in replays):
        msg = f"{target}: replays is not a list of replay records; the manifest is damaged: restore it"
        raise ConfigError(msg)
    for number, entry in enumerate(replays):
        for key in _REPLAY_COUNTS:
            if key in entry:
                _check_count(target, f"replays[{number}].{key}", entry[key])
    return doc


def _parquet_files(directory: Path) -> list[Path]:
    """Data files under ``directory`` (names starting with ``_`` or ``.`` are not data)."""
    if not directory.is_dir():
        return []
    return sorted(
        p
        for p in directory.rglob("*.parquet")
        if not any(part.startswith(("_", ".")) for part in p.relative_to(directory).parts)
    )


@contextmanager
def _reading(path: str | Path) -> Iterator[None]:
    """A file Arrow cannot read becomes one :class:`ConfigError` line naming it (no traceback)."""
    try:
        yield
    except (pa.ArrowException, OSError) as exc:
        problem = " ".join(str(exc).split())  # one line, whatever Arrow's message looks like
        msg = f"{path}: not a readable Parquet file ({problem}); restore it or score the job again"
        raise ConfigError(msg) from None


def footer_rows(paths: Iterable[str | Path]) -> int:
    """Rows in Parquet files, from their footers alone (no data is read).

    Raises:
        ConfigError: a file is not Parquet or cannot be read; the message names it.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     pq.write_table(pa.table({"x": [1, 2, 3]}), f"{tmp}/a.parquet")
        ...     footer_rows([f"{tmp}/a.parquet", f"{tmp}/a.parquet"])
        6
    """
    total = 0
    for path in paths:
        with _reading(path):
            total += pq.read_metadata(str(path)).num_rows
    return total


def _is_text(dtype: pa.DataType) -> bool:
    return bool(pa.types.is_string(dtype) or pa.types.is_large_string(dtype))


def _quarantine_problem(schema: pa.Schema) -> str | None:
    """Why ``schema`` is not that of a quarantine file sigbatch writes (``None``: it is).

    Its reason columns must be there, in the types sigbatch writes them: ``_sigbatch_errors`` a
    list of reasons (``path``, ``code``, ``expected``, ``actual``, ``message``: strings),
    ``_sigbatch_stage`` a string and, where present, ``_sigbatch_row`` an integer.
    """
    for name in (ERRORS_COLUMN, STAGE_COLUMN, ROW_COLUMN):
        if schema.names.count(name) > 1:
            return f"{schema.names.count(name)} {name} columns"
    for name in (ERRORS_COLUMN, STAGE_COLUMN):
        if name not in schema.names:
            return f"no {name} column"
    errors = schema.field(ERRORS_COLUMN).type
    reason = errors.value_type if pa.types.is_list(errors) or pa.types.is_large_list(errors) else None
    if not (
        reason is not None
        and pa.types.is_struct(reason)
        and all(
            reason.get_field_index(f.name) >= 0 and _is_text(reason.field(f.name).type) for f in REASON_TYPE
        )
    ):
        fields = ", ".join(f.name for f in REASON_TYPE)
        return f"{ERRORS_COLUMN} is {clip_text(str(errors), 60)}, not a list of reasons with string {fields}"
    stage = schema.field(STAGE_COLUMN).type
    if not _is_text(stage):
        return f"{STAGE_COLUMN} is {clip_text(str(stage), 60)}, not a string"
    if ROW_COLUMN in schema.names and not pa.types.is_integer(schema.field(ROW_COLUMN).type):
        return f"{ROW_COLUMN} is {clip_text(str(schema.field(ROW_COLUMN).type), 60)}, not an integer"
    return None


def quarantine_footer_rows(paths: Iterable[str | Path]) -> int:
    """Rows in quarantine files, from their footers, each checked to be a quarantine file sigbatch wrote.

    A file another tool left in a quarantine directory stops an audit or a replay here, before any
    work, rather than deep in the engine's reduction.

    Raises:
        ConfigError: a file is not readable Parquet, or lacks sigbatch's reason columns
            (``_sigbatch_errors``, ``_sigbatch_stage``) or holds them in other types; the message
            names the file and the problem.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as tmp:
        ...     pq.write_table(pa.table({"x": [1, 2, 3]}), f"{tmp}/a.parquet")
        ...     try:
        ...         quarantine_footer_rows([f"{tmp}/a.parquet"])
        ...     except ConfigError as exc:
        ...         print(str(exc).replace(tmp, "TMP"))
        TMP/a.parquet: not a sigbatch quarantine file (no _sigbatch_errors column); move it out of the quarantine or score the job again
    """
    total = 0
    for path in paths:
        with _reading(path):
            metadata = pq.read_metadata(str(path))
            schema = metadata.schema.to_arrow_schema()
        problem = _quarantine_problem(schema)
        if problem is not None:
            msg = (
                f"{path}: not a sigbatch quarantine file ({problem}); "
                "move it out of the quarantine or score the job again"
            )
            raise ConfigError(msg)
        total += metadata.num_rows
    return total


def read_parquet(path: str | Path, columns: list[str] | None = None) -> pa.Table:
    """One Parquet file (``columns`` of it); a file that cannot be read is a :class:`ConfigError` naming it."""
    with _reading(path):
        return pq.read_table(str(path), columns=columns)


@dataclass(frozen=True)
class AuditContext:
    """What an audit reads: the manifest, the signature, the quarantine files, and the rows on disk.

    The row counts come from the Parquet footers of the job's outputs, never from the manifest:
    ``scored_rows`` of ``scored/``, ``quarantine_rows`` of the audited quarantine directory, and
    ``replayed_rows`` of ``replayed/`` when the current quarantine is audited (``None`` when the
    original one is: replayed rows are not part of that run's books).
    """

    output: Path
    manifest: dict[str, Any]
    signature: ModelSignature | None
    quarantine_dir: Path
    files: tuple[str, ...]  # relative to quarantine_dir, posix
    scored_rows: int
    replayed_rows: int | None
    quarantine_rows: int

    @property
    def paths(self) -> list[str]:
        """The quarantine files as full paths."""
        return [str(self.quarantine_dir / f) for f in self.files]


def audit_context(output: str | Path, quarantine: str = "current") -> AuditContext:
    """Read the manifest, list the quarantine to audit (``current``: after the last replay), and
    count the rows on disk from the footers (so a file that is not Parquet, or a quarantine file
    sigbatch did not write, stops the audit here, before any engine work, with an error naming it)."""
    out = Path(output)
    doc = read_manifest_doc(out)
    replays = doc.get("replays") or []
    name = REPLAY_QUARANTINE_DIR if quarantine == "current" and replays else QUARANTINE_DIR
    qdir = out / name
    signature = None
    from sigbatch.wire import signature_from_dict

    manifest = str(out / MANIFEST_NAME)
    if doc.get("signature"):
        signature = signature_from_dict(doc["signature"], source=manifest, key="signature")
    if replays and quarantine == "current" and replays[-1].get("signature"):
        key = f"replays[{len(replays) - 1}].signature"
        signature = signature_from_dict(replays[-1]["signature"], source=manifest, key=key)
    quarantined = _parquet_files(qdir)
    files = tuple(p.relative_to(qdir).as_posix() for p in quarantined)
    return AuditContext(
        out,
        doc,
        signature,
        qdir,
        files,
        scored_rows=footer_rows(_parquet_files(out / SCORED_DIR)),
        replayed_rows=footer_rows(_parquet_files(out / REPLAYED_DIR)) if quarantine == "current" else None,
        quarantine_rows=quarantine_footer_rows(quarantined),
    )


def read_audit_file(path: str, relative: str, columns: list[str] | None = None) -> pa.Table:
    """One quarantine file's reason columns (or ``columns``) plus where each row sits."""
    with _reading(path):
        f = pq.ParquetFile(path)
        names = f.schema_arrow.names
        wanted = [c for c in (columns if columns is not None else _REASON_COLUMNS) if c in names]
        table = f.read(columns=wanted)
    n = table.num_rows
    table = table.append_column(FILE_COLUMN, pa.array([relative] * n, pa.string()))
    return table.append_column(INDEX_COLUMN, pa.array(np.arange(n, dtype=np.int64)))


def source_columns(names: list[str]) -> list[str]:
    """The source columns of a quarantine table (everything but sigbatch's own columns)."""
    return [n for n in names if not n.startswith("_sigbatch_")]


# ---------------------------------------------------------------------------------------------
# Drift: what the quarantined rows look like, against the signature
# ---------------------------------------------------------------------------------------------


def json_encoded_columns(table: pa.Table | pa.Schema, schema: Schema | None) -> list[str]:
    """Columns the quarantine stored as JSON text because Arrow could not type their values.

    A quarantine keeps a column whose values have no common Arrow type (e.g. lists and strings
    from a list of dicts) as JSON text. Such a column is recognised as a string column where the
    signature expects an Array, Object or Map, or a string column whose every value is JSON and
    some value is a JSON string (``"x"`` with its quotes), which a plain text column never is.
    """
    arrow_schema = table if isinstance(table, pa.Schema) else table.schema
    expected = (
        {s.name: s.type for s in schema.inputs} if schema is not None and not schema.is_tensor_spec() else {}
    )
    found = []
    for f in arrow_schema:
        if f.name.startswith("_sigbatch_") or not (
            pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
        ):
            continue
        if (f.metadata or {}).get(b"sigbatch.encoding") == b"json":
            found.append(f.name)
            continue
        if isinstance(table, pa.Schema):
            continue
        values = [v for v in table.column(f.name).to_pylist() if v is not None]
        if not values or not all(_is_json(v) for v in values):
            continue
        if isinstance(expected.get(f.name), (Array, Object, Map)) or any(
            v.lstrip().startswith('"') for v in values
        ):
            found.append(f.name)
    return found


def _is_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


def _observed_partial(table: pa.Table, schema: Schema | None) -> Any:
    """The partial schema of a table's source columns (JSON-encoded ones read as Python values)."""
    from sigbatch.infer.partial import Partial, partial_from_records, partial_from_table

    names = source_columns(table.column_names)
    source = table.select(names)
    encoded = json_encoded_columns(source, schema)
    fields = list(partial_from_table(source.drop_columns(encoded)).fields)
    for name in encoded:
        values = [None if v is None else json.loads(v) for v in source.column(name).to_pylist()]
        fields += list(partial_from_records([{name: v} for v in values]).fields)
    first = tuple(sorted((n, (0, 0, i)) for i, n in enumerate(names)))
    return Partial(rows=source.num_rows, fields=tuple(sorted(fields)), first=first)


def drift_partials(batch: pa.Table | pa.RecordBatch, signature_json: str | None) -> pa.Table:
    """The partial schema (:mod:`sigbatch.infer.partial`) of one quarantine batch, as JSON text.

    ``signature_json`` is the signature's inputs as MLflow JSON (to recognise JSON-encoded
    columns). The partials of all batches merge (in any order) in :func:`finish_audit`.
    """
    table = pa.Table.from_batches([batch]) if isinstance(batch, pa.RecordBatch) else batch
    schema = Schema.from_json(signature_json) if signature_json else None
    return pa.table({"partial": [_observed_partial(table, schema).to_json()]}, schema=DRIFT_SCHEMA)


@dataclass(frozen=True, slots=True)
class DriftChange:
    """One difference between the quarantined rows and the signature.

    ``kind``: ``changed_type``, ``appeared``, ``disappeared``, ``became_nullable`` or
    ``mixed_types``; ``rows``: quarantined rows with a reason at (or under) ``path``; ``verdict``:
    ``data changed``, ``bad records`` or ``unrelated`` (no quarantined row is refused there).
    """

    path: str
    kind: str
    expected: str
    observed: str
    rows: int
    verdict: str


@dataclass(frozen=True, slots=True)
class Drift:
    """The drift diagnosis: the inferred schema of the quarantined rows against the signature.

    ``inferred`` is the inferred schema as printed, empty when there is none to infer (no row is
    quarantined, or the quarantined rows have no source columns).
    """

    verdict: str  # "data changed" | "bad records" | "clean" | "unknown"
    explanation: str
    inferred: str
    changes: tuple[DriftChange, ...] = ()


# Conversions MLflow's enforcement accepts: not a change worth reporting.
_WIDENS = {
    (DataType.long, DataType.integer),
    (DataType.double, DataType.integer),
    (DataType.double, DataType.long),
    (DataType.float, DataType.integer),
    (DataType.double, DataType.float),
}


class _Differ:
    """Walks the signature and the inferred schema side by side, using the inference report."""

    def __init__(self, report: Any) -> None:
        self.report = report
        self.conflicts = {c.path: c for c in report.conflicts}
        self.found: list[tuple[str, str, str, str]] = []

    def typed(self, path: str) -> int:
        """Values of some type seen at ``path`` (inference notation)."""
        stats = self.report.field(path)
        return sum(n for _, n in stats.types) if stats is not None else 0

    def add(self, path: str, kind: str, expected: str, observed: str) -> None:
        # inference writes list elements as a[] and map values as m{}; reasons write a[3], m["k"]
        self.found.append((_star(path, _INFERENCE_PLACE), kind, expected, observed))

    def mixed(self, path: str, expected: ColumnType) -> bool:
        conflict = self.conflicts.get(path)
        if conflict is None:
            return False
        seen = ", ".join(f"{kind} in {n:,}" for kind, n in conflict.types)
        self.add(path, "mixed_types", repr(expected), seen)
        return True

    def column(self, spec: ColSpec, got: ColSpec | None) -> None:
        name = path_name(spec.name)
        stats = self.report.field(name)
        if got is None or stats is None or self.typed(name) == 0:
            if spec.required:
                self.add(name, "disappeared", repr(spec.type), "absent" if got is None else "always null")
            return
        if self.mixed(name, spec.type):
            return
        if spec.required and self.typed(name) < stats.rows:
            gaps = stats.rows - self.typed(name)
            self.add(
                name,
                "became_nullable",
                f"{spec.type!r} (required)",
                f"null or missing in {gaps:,} of {stats.rows:,} rows",
            )
        self.types(name, spec.type, got.type)

    def types(self, path: str, expected: ColumnType, got: ColumnType) -> None:
        if isinstance(expected, AnyType) or isinstance(got, AnyType):
            return
        if isinstance(expected, Object) and isinstance(got, Object):
            self.object(path, expected, got)
        elif isinstance(expected, Array) and isinstance(got, Array):
            if not self.mixed(f"{path}[]", expected.dtype):
                self.types(f"{path}[]", expected.dtype, got.dtype)
        elif isinstance(expected, Map) and isinstance(got, Map):
            if not self.mixed(f"{path}{{}}", expected.value_type):
                self.types(f"{path}{{}}", expected.value_type, got.value_type)
        elif expected != got and (expected, got) not in _WIDENS:
            self.add(path, "changed_type", repr(expected), repr(got))

    def object(self, path: str, expected: Object, got: Object) -> None:
        objects = self.typed(path)
        for prop in expected.properties:
            child = child_path(path, prop.name)
            seen = got.property(prop.name)
            if seen is None or self.typed(child) == 0:
                if prop.required:
                    self.add(child, "disappeared", repr(prop.dtype), "absent")
                continue
            if self.mixed(child, prop.dtype):
                continue
            if prop.required and self.typed(child) < objects:
                gaps = objects - self.typed(child)
                self.add(
                    child,
                    "became_nullable",
                    f"{prop.dtype!r} (required)",
                    f"null or missing in {gaps:,} of {objects:,} objects",
                )
            self.types(child, prop.dtype, seen.dtype)
        for seen in got.properties:
            child = child_path(path, seen.name)
            if expected.property(seen.name) is None and self.typed(child):
                self.add(child, "appeared", "absent", repr(seen.dtype))


_NULL_CODES = frozenset({"NULL_REQUIRED", "MISSING_REQUIRED"})


def _rows_refused(
    path: str, kind: str, by_code_path: dict[tuple[str, str], int], by_path: dict[str, int]
) -> int:
    """Rows refused for the reasons a change explains: a null or absent value at ``path`` for
    ``became_nullable`` and ``disappeared``; any other reason at ``path`` or inside it (the largest
    count of one path) for a type change, a mixed type or an appeared property."""
    nulls = kind in ("became_nullable", "disappeared")
    best = 0
    for p, total in by_path.items():
        if p != path and (nulls or not p.startswith((path + ".", path + "["))):
            continue
        n = sum(m for (code, q), m in by_code_path.items() if q == p and (code in _NULL_CODES) == nulls)
        best = max(best, min(n, total))
    return best


def diff_drift(
    partials: pa.Table,
    signature: ModelSignature | None,
    by_path: dict[str, int],
    by_code_path: dict[tuple[str, str], int],
    rows_quarantined: int,
    threshold: float,
) -> Drift:
    """Merge the drift partials, infer (policy ``majority``), diff against the signature, judge.

    A change is "data changed" when the quarantined rows agree on it (no conflicting types
    there) and the rows it explains (refused at its path, for the matching reasons) are at least
    ``threshold`` of the quarantine; "bad records" otherwise; "unrelated" when it explains none.
    """
    from sigbatch.infer.finalize import finalize
    from sigbatch.infer.partial import Partial, merge_all

    if not rows_quarantined:  # a schema inferred from no rows would call every field required
        return Drift("clean", "nothing is quarantined", "")
    merged = merge_all(Partial.from_json(text) for text in partials.column("partial").to_pylist())
    if not merged.fields:
        return Drift("unknown", "the quarantined rows have no source columns to infer a schema from", "")
    inferred, report = finalize(merged, "majority")
    if signature is None or signature.inputs is None or signature.inputs.is_tensor_spec():
        return Drift(
            "unknown", "no column-based input signature in the manifest to compare with", repr(inferred)
        )
    differ = _Differ(report)
    got = {str(s.name): s for s in inferred.inputs if isinstance(s, ColSpec)}
    specs = [s for s in signature.inputs.inputs if isinstance(s, ColSpec)]  # not a tensor spec: all are
    expected = {str(s.name) for s in specs}
    for spec in specs:
        differ.column(spec, got.get(str(spec.name)))
    for name, spec in got.items():
        if name not in expected and differ.typed(path_name(name)):
            differ.add(path_name(name), "appeared", "absent", repr(spec.type))
    changes = []
    for path, kind, exp, obs in differ.found:
        rows = _rows_refused(path, kind, by_code_path, by_path)
        if rows == 0:
            verdict = "unrelated"
        elif kind != "mixed_types" and rows >= threshold * max(rows_quarantined, 1):
            verdict = "data changed"
        else:
            verdict = "bad records"
        changes.append(DriftChange(path, kind, exp, obs, rows, verdict))
    changes.sort(key=lambda c: (-c.rows, c.path, c.kind))
    changed = [c for c in changes if c.verdict == "data changed"]
    if changed:
        where = ", ".join(
            f"{c.path} ({c.kind.replace('_', ' ')}: {c.expected} -> {c.observed})" for c in changed
        )
        explanation = (
            f"the data changed: {where}, in at least {threshold:.0%} of the quarantined rows; "
            "if the new form is right, correct the signature and run `sigbatch replay`"
        )
        verdict = "data changed"
    else:
        explanation = (
            "bad records: no consistent schema change explains most quarantined rows; fix the "
            "records at their source (see the examples), or the model for MODEL_ERROR rows"
        )
        verdict = "bad records"
    return Drift(verdict, explanation, repr(inferred), tuple(changes))


# ---------------------------------------------------------------------------------------------
# The summary
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ValueCount:
    """An offending value (safe, cut to ``value_chars``) and how many reasons carry it."""

    value: str
    count: int


@dataclass(frozen=True, slots=True)
class ExampleRow:
    """A quarantined row: where it sits, why it was refused, and its source values (safe, cut).

    ``file`` is relative to the quarantine directory, ``index`` the row's position in that file,
    ``row`` its ``_sigbatch_row``; ``source`` the source location columns the scoring job wrote
    (:data:`LOCATION_COLUMNS`: source file, split offset, row), as text.
    """

    file: str
    index: int
    row: int | None
    stage: str
    reasons: tuple[tuple[str, str, str], ...]  # (code, exact path, value)
    values: tuple[tuple[str, str], ...]  # (column, value as JSON text)
    source: tuple[tuple[str, str], ...] = ()

    def where(self) -> str:
        """Where the row is: quarantine file and position, then its source location."""
        source = ", ".join(f"{k.removeprefix('_sigbatch_')}={v}" for k, v in self.source)
        return f"{self.file}#{self.index} ({source or 'row ' + str(self.row)}, {self.stage})"


@dataclass(frozen=True, slots=True)
class PathDetail:
    """One of the top paths: its rows, its codes, its frequent values and example rows."""

    path: str
    rows: int
    codes: tuple[tuple[str, int], ...]
    top_values: tuple[ValueCount, ...]
    examples: tuple[ExampleRow, ...]


@dataclass(frozen=True, slots=True)
class AuditSummary:
    """What :func:`audit` found. ``to_dict()`` is the JSON summary; ``text()`` the terminal table.

    Counts are rows (see the module docstring). ``rows_in`` comes from the manifest; the others
    from what is on disk: ``rows_scored`` from the footers of ``scored/``, ``rows_replayed`` from
    those of ``replayed/`` (when the current quarantine is audited), ``rows_quarantined`` from the
    audited quarantine files. ``mismatches`` says, one line each, where these disagree with the
    manifest or with ``rows_in == scored + replayed + quarantined``; ``accounting_ok`` is true when
    there is none.
    """

    output: str
    quarantine: str
    engine: str
    rows_in: int
    rows_scored: int
    rows_replayed: int
    rows_quarantined: int
    quarantine_rate: float
    accounting_ok: bool
    by_stage: tuple[tuple[str, int], ...]
    by_code: tuple[tuple[str, int], ...]
    by_path: tuple[tuple[str, int], ...]
    by_code_path: tuple[tuple[str, str, int], ...]
    paths: tuple[PathDetail, ...]
    drift: Drift | None = None
    options: AuditOptions = field(default_factory=AuditOptions)
    mismatches: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The JSON summary: plain dicts and lists; counts keyed by stage, code and path."""
        return {
            "output": self.output,
            "quarantine": self.quarantine,
            "engine": self.engine,
            "rows_in": self.rows_in,
            "rows_scored": self.rows_scored,
            "rows_replayed": self.rows_replayed,
            "rows_quarantined": self.rows_quarantined,
            "quarantine_rate": self.quarantine_rate,
            "accounting_ok": self.accounting_ok,
            "mismatches": list(self.mismatches),
            "by_stage": dict(self.by_stage),
            "by_code": dict(self.by_code),
            "by_path": dict(self.by_path),
            "by_code_path": [{"code": c, "path": p, "rows": n} for c, p, n in self.by_code_path],
            "paths": [
                {
                    "path": d.path,
                    "rows": d.rows,
                    "codes": dict(d.codes),
                    "top_values": [asdict(v) for v in d.top_values],
                    "examples": [
                        {
                            "file": e.file,
                            "index": e.index,
                            "row": e.row,
                            "stage": e.stage,
                            "reasons": [{"code": c, "path": p, "value": v} for c, p, v in e.reasons],
                            "values": dict(e.values),
                            "source": dict(e.source),
                        }
                        for e in d.examples
                    ],
                }
                for d in self.paths
            ],
            "drift": None
            if self.drift is None
            else {
                "verdict": self.drift.verdict,
                "explanation": self.drift.explanation,
                "inferred": self.drift.inferred or None,
                "changes": [asdict(c) for c in self.drift.changes],
            },
            "options": asdict(self.options),
        }

    def to_json(self) -> str:
        """:meth:`to_dict` as indented JSON text."""
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False) + "\n"

    def text(self) -> str:
        """A terminal report: totals, then tables by stage, code and path, then details."""
        lines = [
            f"sigbatch audit: {self.output}  ({self.quarantine}/, engine {self.engine})",
            f"  rows in          {self.rows_in:>12,}",
            f"  rows scored      {self.rows_scored:>12,}",
        ]
        if self.rows_replayed:
            lines.append(f"  rows replayed    {self.rows_replayed:>12,}")
        lines.append(f"  rows quarantined {self.rows_quarantined:>12,}  ({self.quarantine_rate:.2%})")
        total = self.rows_scored + self.rows_replayed + self.rows_quarantined
        lines.append(
            f"  accounting       {'ok' if self.accounting_ok else 'MISMATCH'} ({self.rows_in:,} in, {total:,} accounted for)"
        )
        lines += [f"    {m}" for m in self.mismatches]
        for title, rows in (("stage", self.by_stage), ("code", self.by_code), ("path", self.by_path)):
            if not rows:
                continue
            width = max(len(title), *(len(_label(k)) for k, _ in rows))
            lines += ["", f"  {'by ' + title:<{width + 3}} {'rows':>10}  share"]
            for key, n in rows:
                share = n / self.rows_quarantined if self.rows_quarantined else 0.0
                lines.append(f"  {_label(key):<{width + 3}} {n:>10,}  {share:>5.1%}")
        for d in self.paths:
            codes = ", ".join(f"{c} {n:,}" for c, n in d.codes)
            lines += ["", f"  {_label(d.path)}: {d.rows:,} rows ({codes})"]
            for v in d.top_values:
                lines.append(f"    {v.count:>8,} x {v.value}")
            for e in d.examples:
                why = "; ".join(f"{c} {_label(p)}: {v}" for c, p, v in e.reasons)
                vals = ", ".join(f"{k}={v}" for k, v in e.values)
                lines.append(f"    e.g. {e.where()}: {why}")
                lines.append(f"         {vals}")
        if self.drift is not None:
            lines += ["", f"  drift: {self.drift.verdict} - {self.drift.explanation}"]
            if self.drift.inferred:
                lines.append(f"    inferred: {self.drift.inferred}")
            for c in self.drift.changes:
                lines.append(
                    f"    {c.verdict:<13} {c.kind:<15} {_label(c.path)}: {c.expected} -> {c.observed} ({c.rows:,} rows)"
                )
        return "\n".join(lines) + "\n"


def _label(path: str) -> str:
    """How a path is shown: the empty path (the whole row, e.g. MODEL_ERROR) is ``(row)``."""
    return path if path else ROW_PATH_LABEL


def _ranked(pairs: dict[str, int]) -> tuple[tuple[str, int], ...]:
    return tuple(sorted(pairs.items(), key=lambda kv: (-kv[1], kv[0])))


def _render_value(value: Any, limit: int) -> str:
    if value is None:
        text = "null"
    elif isinstance(value, str):
        text = value
    else:
        text = json.dumps(value, default=str, ensure_ascii=False)
    return clip_text(text, limit)


def _fetch_examples(
    ctx: AuditContext, wanted: list[tuple[str, int]], limit: int
) -> dict[tuple[str, int], ExampleRow]:
    """Read the example rows by (file, position): only the row groups that hold them."""
    found: dict[tuple[str, int], ExampleRow] = {}
    by_file: dict[str, list[int]] = {}
    for file, index in wanted:
        by_file.setdefault(file, []).append(index)
    for file, indexes in sorted(by_file.items()):
        path = ctx.quarantine_dir / file
        with _reading(path):
            pf = pq.ParquetFile(str(path))
            bounds = np.cumsum([0] + [pf.metadata.row_group(i).num_rows for i in range(pf.num_row_groups)])
            group_of = {i: int(np.searchsorted(bounds, i, side="right") - 1) for i in indexes}
            groups = sorted(set(group_of.values()))
            part = pf.read_row_groups(groups)
        # read_row_groups concatenates the groups in order: where each group starts in `part`
        starts = dict(
            zip(groups, np.cumsum([0] + [int(bounds[g + 1] - bounds[g]) for g in groups]), strict=False)
        )
        local = [int(starts[group_of[i]] + i - bounds[group_of[i]]) for i in indexes]
        rows = part.take(pa.array(local, pa.int64())).to_pylist()
        for index, rec in zip(indexes, rows, strict=True):
            reasons = tuple(
                (
                    str(r.get("code")),
                    str(r.get("path") or ""),
                    clip_text(
                        str(r.get("message") if r.get("code") == _MODEL_ERROR else r.get("actual")), limit
                    ),
                )
                for r in rec.get(ERRORS_COLUMN) or []
            )
            values = tuple(
                (k, _render_value(v, limit))
                for k, v in rec.items()
                if not k.startswith("_sigbatch_") or k == RAW_COLUMN
            )
            source = tuple((k, _render_value(rec[k], limit)) for k in LOCATION_COLUMNS if k in rec)
            stage = str(rec.get(STAGE_COLUMN) or "unknown")
            found[(file, index)] = ExampleRow(
                file, index, rec.get(ROW_COLUMN), stage, reasons, values, source
            )
    return found


def finish_audit(
    ctx: AuditContext,
    reduced: pa.Table,
    engine: str,
    options: AuditOptions | None = None,
    drift: pa.Table | None = None,
) -> AuditSummary:
    """Turn an engine's reduced aggregates (and drift partials) into the :class:`AuditSummary`."""
    opts = options or AuditOptions()
    counts: dict[str, dict[str, int]] = {STAGE: {}, CODE: {}, PATH: {}}
    pairs: dict[tuple[str, str], int] = {}
    values: dict[str, list[ValueCount]] = {}
    examples: dict[str, list[tuple[str, int]]] = {}
    for rec in reduced.sort_by(
        [("kind", "ascending"), ("key", "ascending"), ("file", "ascending"), ("index", "ascending")]
    ).to_pylist():
        kind, key = rec["kind"], rec["key"] if rec["key"] is not None else ""
        if kind in counts:
            counts[kind][key] = counts[kind].get(key, 0) + int(rec["n"])
        elif kind == CODE_PATH:
            pairs[(key, rec["sub"] or "")] = pairs.get((key, rec["sub"] or ""), 0) + int(rec["n"])
        elif kind == VALUE:
            values.setdefault(key, []).append(ValueCount(rec["sub"] or "", int(rec["n"])))
        elif kind == EXAMPLE:
            examples.setdefault(key, []).append((rec["file"], int(rec["index"])))
    by_path = _ranked(counts[PATH])
    top = [p for p, _ in by_path[: opts.top_paths]]
    wanted = sorted({loc for p in top for loc in examples.get(p, [])[: opts.examples]})
    fetched = _fetch_examples(ctx, wanted, opts.value_chars)
    details = []
    for p in top:
        vals = sorted(values.get(p, []), key=lambda v: (-v.count, v.value))[: opts.top_values]
        codes = _ranked({c: n for (c, q), n in pairs.items() if q == p})
        exs = tuple(fetched[loc] for loc in examples.get(p, [])[: opts.examples] if loc in fetched)
        details.append(PathDetail(p, counts[PATH][p], codes, tuple(vals), exs))
    quarantined = sum(counts[STAGE].values())
    rows_in = int(ctx.manifest["counts"]["rows_in"])
    replayed = ctx.replayed_rows or 0
    mismatches = _mismatches(ctx, quarantined)
    drift_result = None
    if opts.drift and drift is not None:
        drift_result = diff_drift(
            drift, ctx.signature, dict(counts[PATH]), pairs, quarantined, opts.drift_threshold
        )
    return AuditSummary(
        output=str(ctx.output),
        quarantine=ctx.quarantine_dir.name,
        engine=engine,
        rows_in=rows_in,
        rows_scored=ctx.scored_rows,
        rows_replayed=replayed,
        rows_quarantined=quarantined,
        quarantine_rate=round(quarantined / rows_in, 6) if rows_in else 0.0,
        accounting_ok=not mismatches,
        by_stage=_ranked(counts[STAGE]),
        by_code=_ranked(counts[CODE]),
        by_path=by_path,
        by_code_path=tuple(
            sorted(((c, p, n) for (c, p), n in pairs.items()), key=lambda t: (-t[2], t[0], t[1]))
        ),
        paths=tuple(details),
        drift=drift_result,
        options=opts,
        mismatches=mismatches,
    )


def _holds(ctx: AuditContext, name: str, rows: int) -> str:
    """A directory's rows, as a mismatch names them (``scored/ holds 14,522 rows``)."""
    if not (ctx.output / name).is_dir():
        return f"{name}/ is missing"
    return f"{name}/ holds {rows:,} row{'' if rows == 1 else 's'}"


def _mismatches(ctx: AuditContext, quarantined: int) -> tuple[str, ...]:
    """Where the rows on disk, the manifest and rows in disagree, one line each (empty: the books balance).

    Each directory of the audited run is compared with what the manifest says it holds: ``scored/``
    with ``counts.rows_scored``; ``quarantine/`` with ``counts.rows_quarantined``, or, after a
    replay, ``replayed/`` with the replays' ``rows_replayed`` and ``quarantine_after_replay/`` with
    the last replay's ``rows_still_quarantined``. Then rows in must equal the rows on disk.
    """
    counts = ctx.manifest["counts"]
    replays = ctx.manifest.get("replays") or []
    name = ctx.quarantine_dir.name
    claims: list[tuple[str, int, int, str]] = []  # (directory, rows on disk, rows claimed, by whom)
    if "rows_scored" in counts:
        claims.append((SCORED_DIR, ctx.scored_rows, counts["rows_scored"], "the manifest says"))
    if ctx.replayed_rows is not None:
        claimed = sum(r.get("rows_replayed", 0) for r in replays)
        claims.append((REPLAYED_DIR, ctx.replayed_rows, claimed, "the manifest's replays say"))
    if name == REPLAY_QUARANTINE_DIR:
        if "rows_still_quarantined" in replays[-1]:
            claimed = replays[-1]["rows_still_quarantined"]
            claims.append((name, ctx.quarantine_rows, claimed, "the manifest's last replay says"))
    elif "rows_quarantined" in counts:
        claims.append((name, ctx.quarantine_rows, counts["rows_quarantined"], "the manifest says"))
    found = [
        f"{_holds(ctx, directory, on_disk)} but {whose} {claimed:,}"
        for directory, on_disk, claimed, whose in claims
        if on_disk != claimed
    ]
    if ctx.quarantine_rows != quarantined:  # the engine read other rows than the footers hold
        found.append(
            f"{name}/ holds {ctx.quarantine_rows:,} rows by its footers but the audit read {quarantined:,}"
        )
    rows_in = int(counts["rows_in"])
    replayed = ctx.replayed_rows or 0
    total = ctx.scored_rows + replayed + quarantined
    if rows_in != total:
        terms = [f"{ctx.scored_rows:,} scored"]
        if replayed or name == REPLAY_QUARANTINE_DIR:
            terms.append(f"{replayed:,} replayed")
        terms.append(f"{quarantined:,} quarantined")
        gap = rows_in - total
        found.append(
            f"{rows_in:,} rows in but {' + '.join(terms)} = {total:,} "
            f"({abs(gap):,} row{'' if abs(gap) == 1 else 's'} {'missing' if gap > 0 else 'too many'})"
        )
    return tuple(found)


# ---------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------


def _signature_json(ctx: AuditContext) -> str | None:
    sig = ctx.signature
    return sig.inputs.to_json() if sig is not None and sig.inputs is not None else None


def _audit_local(ctx: AuditContext, options: AuditOptions) -> AuditSummary:
    """In memory, one file at a time: the partials of every file, reduced with pyarrow."""
    partials = [
        batch_aggregates(read_audit_file(p, f), options) for p, f in zip(ctx.paths, ctx.files, strict=True)
    ]
    reduced = reduce_aggregates(pa.concat_tables(partials) if partials else AGG_SCHEMA.empty_table(), options)
    drift = None
    if options.drift:
        sig_json = _signature_json(ctx)
        parts = [drift_partials(read_parquet(p), sig_json) for p in ctx.paths]
        drift = pa.concat_tables(parts) if parts else DRIFT_SCHEMA.empty_table()
    return finish_audit(ctx, reduced, "local", options, drift)


def audit(
    output: str | Path,
    *,
    engine: str = "local",
    options: AuditOptions | None = None,
    spark: Any = None,
) -> AuditSummary:
    """Audit a scoring job's output directory on ``engine`` (``local``, ``dask`` or ``spark``).

    ``local`` reads one quarantine file at a time in this process; ``dask`` and ``spark`` run the
    same per-batch reduction on the engine and sum the partials there (``spark`` uses ``spark``
    or the active session). All three return the same summary for the same output.

    Example:
        summary = audit("sigbatch-demo")
        print(summary.text())
    """
    opts = options or AuditOptions()
    if engine not in ENGINES:
        msg = f"engine {engine!r}: expected one of {', '.join(ENGINES)}"
        raise ConfigError(msg)
    ctx = audit_context(output, opts.quarantine)
    if engine == "local":
        return _audit_local(ctx, opts)
    # The adapters import their engine; the core never does (see tests/test_core_imports.py).
    module = importlib.import_module(f"sigbatch.{engine}.audit")
    if engine == "spark":
        return module.audit_spark(ctx, opts, spark=spark)  # type: ignore[no-any-return]
    return module.audit_dask(ctx, opts)  # type: ignore[no-any-return]
