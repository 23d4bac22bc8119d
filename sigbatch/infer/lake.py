"""Lake-scale inference on files: listing, deterministic sampling, one partial per file.

Everything here is engine-neutral: the Spark and Dask backends plan the same tasks with
:func:`plan_files`, run :func:`read_task` (as :func:`read_task_dict`, JSON-able in and out) on their
executors or workers, and merge the partials that come back; :func:`infer_files` does the same in
this process. Every engine therefore reads each file the same way and gives the same result.

* **Listing**: a file, or every file under a directory (recursively, in sorted order), skipping
  names that start with ``_`` or ``.`` (``_SUCCESS``, ``.crc``); the format comes from the file
  extensions (``.parquet``/``.pq``, ``.json``/``.jsonl``/``.ndjson``, ``.csv``; text compressed
  as ``.gz``, ``.bz2``, ``.zst`` or ``.lz4`` too, as the Dask scoring job reads it) unless given.
* **Sampling** (:func:`choose_partitions`): each file is ranked by a SHA-256 hash of the seed and its
  path relative to the source, and the first ``ceil(fraction * n)`` (at most ``max_partitions``)
  are read: deterministic for a seed, on any machine, and a file's chance does not depend on the
  others. ``rows_per_partition`` stops reading each file after that many rows (its first rows).
* **Parquet**: flat columns are answered from the footer (Arrow type, and the null count of every
  row group's statistics) without reading data, for all the file's rows; nested columns (and
  flat ones without statistics) are read, projected. Where ``rows_per_partition`` leaves rows out,
  every column is read from the first rows instead, so that each file counts the same rows for
  every field (a footer's counts beside a sample would skew presence and null rates).
* **JSON lines**: values keep their nesting (lists are Arrays, objects are Objects, integers
  ``long``, decimals ``double``, everything else ``string``). A file is read by Arrow's JSON reader
  (vectorised, typed per column) when that typing is MLflow's: if the reader fails (values of two
  types under one key, a bad line, text that is not UTF-8), a line does not start with ``{`` (Arrow
  never sees it: a ``null`` line crashes pyarrow), text may nest deeper than 1,000 levels (Arrow
  never sees it either: it crashes the process near 17,000), a line holds more than one value, or a
  ``double`` column holds an integral value (which may have been an integer literal, a conflict for
  MLflow), the file is parsed line by line with Python's ``json`` and typed value by value
  instead, where a bad line or a line that is not an object is counted ``unreadable`` (but a line
  ``null`` is a row with every key absent, as the scoring jobs read it as a row of nulls). Through
  Arrow, a key absent from a line reads as null; without a ``null`` in the text it is counted
  absent, and with one, a null where objects are sends the file to the values (MLflow makes every
  property of a ``None`` object optional, not of an absent one), so the schema is the same either
  way; an object whose keys all read as null was then ``{}``, an empty object, as the values count
  it (with a ``null`` in the text it may be ``{"k": null}``, and the values decide). Data nested
  deeper than :data:`~sigbatch.infer.partial.MAX_NESTING` levels is refused.
* **CSV**: a header (parsed by Arrow as the rows are), then every cell read as text and typed by
  what it spells (see :func:`~sigbatch.infer.partial.partial_from_text`); only an empty cell is
  null; a column with no typed cell (a header-only file, only empty cells) is a string; a malformed
  row is counted ``unreadable``. The text must be UTF-8 (Arrow's reader refuses anything else, even
  in a malformed row): the first byte that is not is an error naming its line. A file with a row
  longer than the 1 MiB blocks allow is read again in larger ones (up to 64 MiB).

An error reading one file names it; an error raised on a Spark executor is raised on the driver as
itself. The records skipped as ``unreadable`` are counted, and the earliest few (by file, then
line) located by file name and the line they start on (blank lines count), which the report prints.
A file without rows whose format declares columns (a Parquet schema, a CSV header) gives those
columns, present in none of its rows (so optional unless other files hold them), as pandas reads
it for MLflow; an empty JSON lines file declares nothing.

Example:
    result = infer_files("lake/", rows_per_partition=1000)
    print(result.schema, result.report.text())
"""

from __future__ import annotations

import bz2
import codecs
import csv
import gzip
import hashlib
import io
import json
import math
import os
import re
import zlib
from codecs import BOM_UTF8
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass, replace
from itertools import islice
from pathlib import Path
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sigbatch.arrow import nesting
from sigbatch.errors import ConfigError, InferenceError
from sigbatch.infer.finalize import POLICIES, InferenceResult, Selection, finalize
from sigbatch.infer.partial import (
    EMPTY,
    MAX_LOCATED,
    MAX_NESTING,
    FieldPartial,
    Partial,
    Sample,
    UnreadableRecord,
    _arrow_examples,
    _records_partial,
    arrow_kind,
    earliest_unreadable,
    example_text,
    merge,
    merge_all,
    partial_from_table,
    partial_from_text,
)
from sigbatch.json_text import dates_as_text
from sigbatch.manifest import visible_files
from sigbatch.quarantine import path_name

__all__ = [
    "COMPRESSIONS",
    "FORMATS",
    "FileTask",
    "check_options",
    "choose_partitions",
    "finish",
    "infer_files",
    "list_files",
    "merge_dicts",
    "plan_files",
    "read_task",
    "read_task_dict",
    "too_deep_for_arrow",
]

#: Source formats read by lake inference.
FORMATS = ("parquet", "json", "csv")
_SUFFIXES = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".json": "json",
    ".jsonl": "json",
    ".ndjson": "json",
    ".csv": "csv",
}
#: Compressed text files by suffix (in any case), as Arrow names their codecs: what inference and
#: the Dask scoring reader decompress.
COMPRESSIONS = {".gz": "gzip", ".bz2": "bz2", ".zst": "zstd", ".lz4": "lz4"}
# JSON lines parsed per call of json.loads (one array of many lines is much faster than a call each).
_JSON_BATCH = 20_000
_PARQUET_BATCH = 65_536
# Arrow's CSV reader holds a row within two blocks: a file with a longer row than the usual block
# allows is read again in blocks four times as large, up to the largest.
_CSV_BLOCK = 1 << 20
_CSV_MAX_BLOCK = 64 << 20
# Line starts in JSON lines text ("\n" then JSON's blanks): one whose first byte is not `{`, one
# with blanks before its first byte, any that is not blank, and one whose first byte is unread.
_NOT_OBJECT_LINE = re.compile(rb"\n[ \t\r]*[^{ \t\r\n]")
_INDENTED_LINE = re.compile(rb"\n[ \t\r]")
_LINE = re.compile(rb"\n[ \t\r]*[^ \t\r\n]")
_OPEN_LINE = re.compile(rb"\n[ \t\r]*\Z")
# Arrow's JSON reader recurses once per level of nesting and crashes the process on text nested
# deep enough (near 17,000 levels on an 8 MiB stack, 2,500 on 1 MiB): it never sees text that may
# nest deeper than this. That is far beyond MAX_NESTING, where the values decide after Arrow anyway.
_ARROW_DEPTH = 1000
# The end of an object at the end of a line: the next line starts with `{` (or the text ends), so a
# value still open there is an error, and text between two such ends nests no deeper than it is long.
_OBJECT_END = re.compile(rb"\}[ \t\r]*\n")
# Text is searched for object ends in windows this long: with one in each, no stretch is too deep.
_DEPTH_WINDOW = _ARROW_DEPTH // 2
# Windows compared at a time: arrays below malloc's 128 KiB come back from its pool, not the kernel.
_DEPTH_SLICE = 200 * _DEPTH_WINDOW
# A stretch longer than this without an object end is not read again with every block: the values decide.
_STRETCH_CAP = 4 << 20
# JSON's escapes, none across a line break (a string fails there, and Arrow may start a block after
# one); the bytes that shape the text once they are gone; each bracket as a step of depth.
_ESCAPE = re.compile(rb"\\[^\r\n]")
_NOT_SHAPING = bytes(c for c in range(256) if c not in b'"[]{}\r\n')
_DEPTH_STEP = np.zeros(256, np.int8)
_DEPTH_STEP[list(b"[{")] = 1
_DEPTH_STEP[list(b"]}")] = -1


@dataclass(frozen=True, slots=True)
class FileTask:
    """One unit of per-partition work: read one file (at most ``rows_per_partition`` rows)."""

    path: str
    name: str
    origin: int
    format: str
    rows_per_partition: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (what is shipped to executors)."""
        return {
            "path": self.path,
            "name": self.name,
            "origin": self.origin,
            "format": self.format,
            "rows_per_partition": self.rows_per_partition,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> FileTask:
        """Read :meth:`to_dict`'s form."""
        return cls(**d)


# --- listing and sampling ---------------------------------------------------------------------


def _format_of(path: Path) -> str | None:
    """The format a file name says (compression suffixes looked through)."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] in COMPRESSIONS:
        suffixes.pop()
    return _SUFFIXES.get(suffixes[-1]) if suffixes else None


def list_files(source: str | os.PathLike[str], format: str | None = None) -> tuple[list[Path], str]:
    """The data files of a source (a file or a directory) in sorted order, and their format.

    Raises:
        InferenceError: The source does not exist, holds no data file, or mixes formats while
            ``format`` is not given.

    Example:
        files, fmt = list_files("lake/")
    """
    if format is not None and format not in FORMATS:
        msg = f"Unknown format {format!r}; expected one of {list(FORMATS)}"
        raise ConfigError(msg)
    root = Path(source)
    if not root.exists():
        msg = f"{source}: no such file or directory"
        raise InferenceError(msg)
    if root.is_file():
        candidates = [root]
    else:
        candidates = visible_files(root)
    by_format: dict[str, list[Path]] = {}
    for f in candidates:
        fmt = _format_of(f)
        if fmt is not None:
            by_format.setdefault(fmt, []).append(f)
    if format is None:
        if len(by_format) > 1:
            counts = ", ".join(f"{len(v)} {k}" for k, v in sorted(by_format.items()))
            msg = f"{source}: files of several formats ({counts}). Hint: choose one (--format, or source.format in a config; format= in Python)."
            raise InferenceError(msg)
        if not by_format:
            msg = (
                f"{source}: no Parquet, JSON lines or CSV file found (by extension). "
                "Hint: give the format explicitly."
            )
            raise InferenceError(msg)
        format = next(iter(by_format))
    # With an explicit format, files without a known extension (Spark's part files may have none) count.
    files = by_format.get(format) or [f for f in candidates if _format_of(f) is None]
    if not files:
        msg = f"{source}: no {format} file found"
        raise InferenceError(msg)
    return files, format


def choose_partitions(
    keys: Sequence[str],
    *,
    fraction: float | None = None,
    max_partitions: int | None = None,
    seed: int = 0,
) -> tuple[int, ...]:
    """The indices of the partitions to read, deterministic for a seed.

    Each key is ranked by SHA-256 of ``seed`` and the key; the ``ceil(fraction * n)`` best (at
    most ``max_partitions``, at least one) are chosen. Neither set means all.

    Raises:
        ConfigError: ``fraction`` not in (0, 1], or ``max_partitions`` below 1.

    Example:
        >>> choose_partitions(["a", "b", "c", "d"], max_partitions=2, seed=1)
        (0, 1)
    """
    _check_sampling(fraction, max_partitions)
    n = len(keys)
    k = n if fraction is None else max(1, math.ceil(fraction * n))
    if max_partitions is not None:
        k = min(k, max_partitions)
    if k >= n:
        return tuple(range(n))
    ranked = sorted(range(n), key=lambda i: (hashlib.sha256(f"{seed}\x00{keys[i]}".encode()).digest(), i))
    return tuple(sorted(ranked[:k]))


def check_options(
    *,
    format: str | None = None,
    fraction: float | None = None,
    max_partitions: int | None = None,
    rows_per_partition: int | None = None,
    seed: int = 0,
    policy: str = "strict",
) -> None:
    """Refuse invalid inference options before any file is read (every engine calls this first).

    Raises:
        ConfigError: An option of the wrong type or out of range, an unknown format or policy.

    Example:
        >>> check_options(fraction="0.5")
        Traceback (most recent call last):
        ...
        sigbatch.errors.ConfigError: fraction must be in (0, 1], got str '0.5'
    """
    if format is not None and format not in FORMATS:
        msg = f"Unknown format {format!r}; expected one of {list(FORMATS)}"
        raise ConfigError(msg)
    if policy not in POLICIES:
        msg = f"Unknown policy {policy!r}; expected one of {list(POLICIES)}"
        raise ConfigError(msg)
    _check_integer("seed", seed)
    _check_sampling(fraction, max_partitions)
    _check_rows(rows_per_partition)


def _check_integer(name: str, value: Any) -> None:
    """Refuse a value that is not an integer (a bool is not one here)."""
    if isinstance(value, bool) or not isinstance(value, int):
        msg = f"{name} must be an integer, got {type(value).__name__} {value!r}"
        raise ConfigError(msg)


def _check_sampling(fraction: Any, max_partitions: Any) -> None:
    """Refuse a fraction outside (0, 1] or a partition cap below 1 (or either of the wrong type)."""
    if fraction is not None and (
        isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 < fraction <= 1
    ):
        msg = f"fraction must be in (0, 1], got {type(fraction).__name__} {fraction!r}"
        raise ConfigError(msg)
    if max_partitions is not None:
        _check_integer("max_partitions", max_partitions)
        if max_partitions < 1:
            msg = f"max_partitions must be at least 1, got {max_partitions!r}"
            raise ConfigError(msg)


def _check_rows(rows_per_partition: Any) -> None:
    """Refuse a row cap below 1 (or not an integer)."""
    if rows_per_partition is not None:
        _check_integer("rows_per_partition", rows_per_partition)
        if rows_per_partition < 1:
            msg = f"rows_per_partition must be at least 1, got {rows_per_partition!r}"
            raise ConfigError(msg)


def plan_files(
    source: str | os.PathLike[str],
    *,
    format: str | None = None,
    fraction: float | None = None,
    max_partitions: int | None = None,
    rows_per_partition: int | None = None,
    seed: int = 0,
    engine: str = "local",
) -> tuple[tuple[FileTask, ...], Selection]:
    """The files to read and how, plus the :class:`Selection` the report records.

    Example:
        tasks, selection = plan_files("lake/", fraction=0.5, seed=7)
    """
    check_options(
        format=format,
        fraction=fraction,
        max_partitions=max_partitions,
        rows_per_partition=rows_per_partition,
        seed=seed,
    )
    files, fmt = list_files(source, format)
    root = Path(source)
    names = [f.name if root.is_file() else f.relative_to(root).as_posix() for f in files]
    chosen = choose_partitions(names, fraction=fraction, max_partitions=max_partitions, seed=seed)
    tasks = tuple(FileTask(str(files[i].resolve()), names[i], i, fmt, rows_per_partition) for i in chosen)
    selection = Selection(
        source=str(source),
        format=fmt,
        engine=engine,
        partitions=len(files),
        chosen=tuple(t.name for t in tasks),
        fraction=fraction,
        max_partitions=max_partitions,
        rows_per_partition=rows_per_partition,
        seed=seed,
    )
    return tasks, selection


# --- reading one file -------------------------------------------------------------------------


def read_task(task: FileTask) -> Partial:
    """The partial of one file (the per-partition work every engine runs).

    Raises:
        InferenceError: The file cannot be opened or is not of its format at all.
    """
    readers = {"parquet": _read_parquet, "json": _read_json, "csv": _read_csv}
    try:
        return readers[task.format](task)
    except InferenceError as exc:  # what the data says (a column's type, its names): name the file
        msg = f"{task.name}: {exc}"
        raise InferenceError(msg) from exc
    except (OSError, EOFError, zlib.error, pa.ArrowException, UnicodeDecodeError, csv.Error) as exc:
        # (a truncated .gz is an EOFError, a damaged one a zlib.error; a damaged .zst or .lz4 an OSError)
        msg = f"{task.name}: cannot read as {task.format}: {exc}"
        raise InferenceError(msg) from exc


def read_task_dict(task: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`read_task` with JSON-able input and output, for shipping between processes."""
    return read_task(FileTask.from_dict(task)).to_dict()


def merge_dicts(left: Mapping[str, Any], right: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`~sigbatch.infer.partial.merge` on the dict forms of two partials."""
    return merge(Partial.from_dict(left), Partial.from_dict(right)).to_dict()


def _read_parquet(task: FileTask) -> Partial:
    """Flat columns from the footer and the others read, for all rows; or, where the row cap
    leaves rows out, every column read from the first rows."""
    pf = pq.ParquetFile(task.path)
    meta, schema = pf.metadata, pf.schema_arrow
    total = meta.num_rows
    _check_unique(schema.names)
    cap = task.rows_per_partition
    # A footer speaks for all of a file's rows: beside a sample of the first rows, its columns would
    # count other rows than the columns read, and a column missing from other files would count
    # every row of those, but only the rows read where it is present.
    leaves = _flat_leaves(schema, meta) if cap is None or cap >= total else {}
    answered: dict[str, FieldPartial] = {}
    to_read: list[str] = []
    for i, f in enumerate(schema):
        kind = arrow_kind(f.type, path_name(f.name))
        node = None
        if i in leaves:
            node = _footer_node(meta, leaves[i], kind, total, task.origin)
        if node is None:
            to_read.append(f.name)
        else:
            answered[f.name] = node
    rows_read = 0
    data = EMPTY
    if to_read:
        projected = pa.schema([schema.field(n) for n in to_read])
        data = partial_from_table(projected.empty_table(), origin=task.origin)
        batch_size = min(cap or _PARQUET_BATCH, _PARQUET_BATCH)
        for batch in pf.iter_batches(batch_size=batch_size, columns=to_read, use_threads=False):
            if cap is not None and rows_read + batch.num_rows > cap:
                batch = batch.slice(0, cap - rows_read)
            data = merge(data, partial_from_table(batch, origin=task.origin, first_row=rows_read))
            rows_read += batch.num_rows
            if cap is not None and rows_read >= cap:
                break
    fields = {**dict(data.fields), **answered}
    sample = Sample(
        task.name,
        rows_read,
        footer_rows=total if answered else 0,
        exhausted=not to_read or rows_read >= total,
    )
    # The file's rows: all of them, or the first ones the row cap samples (every column read there).
    return Partial(
        rows=total if cap is None else min(cap, total),
        fields=tuple(sorted(fields.items())),
        first=tuple(sorted((n, (task.origin, 0, i)) for i, n in enumerate(schema.names))),
        samples=(sample,),
    )


def _check_unique(names: Sequence[str]) -> None:
    """Refuse a file whose columns repeat a name (a schema, and Arrow's projection, need unique ones)."""
    seen: set[str] = set()
    for name in names:
        if name in seen:
            msg = (
                f"column {name!r} appears {list(names).count(name)} times; a signature needs unique "
                "column names. Hint: rename one of them when writing the file."
            )
            raise InferenceError(msg)
        seen.add(name)


def _flat_leaves(schema: pa.Schema, meta: Any) -> dict[int, int]:
    """The Parquet leaf column of each flat top-level field, by schema position.

    Leaves are numbered depth first in schema order, so each field's first leaf follows from the
    leaf counts of the fields before it; dotted paths cannot say it (a column named ``a.b`` and the
    field ``b`` of a struct ``a`` share one). Each answer is checked against the footer's own leaf
    (top level, same name); if the counts disagree with the footer, no field is answered there.
    """
    found: dict[int, int] = {}
    leaf = 0
    for i, f in enumerate(schema):
        count = _leaf_count(f.type)
        if count == 1 and not pa.types.is_nested(f.type):
            if leaf >= meta.num_columns:
                return {}
            column = meta.schema.column(leaf)
            if column.path == f.name and column.name == f.name and column.max_repetition_level == 0:
                found[i] = leaf
        leaf += count
    return found if leaf == meta.num_columns else {}


def _leaf_count(t: pa.DataType) -> int:
    """How many Parquet leaf columns a field of Arrow type ``t`` is stored as."""
    count, stack = 0, [t]
    while stack:
        t = stack.pop()
        if isinstance(t, pa.ExtensionType):
            stack.append(t.storage_type)
        elif pa.types.is_dictionary(t):
            stack.append(t.value_type)
        elif pa.types.is_map(t):
            stack.extend((t.key_type, t.item_type))
        elif pa.types.is_nested(t):
            stack.extend(t.field(i).type for i in range(t.num_fields))
        else:
            count += 1
    return count


def _footer_node(meta: Any, column: int, kind: str | None, total: int, origin: int) -> FieldPartial | None:
    """A flat column's partial from row-group statistics, or None when they do not say enough."""
    nulls = 0
    bounds: list[Any] = []
    for g in range(meta.num_row_groups):
        stats = meta.row_group(g).column(column).statistics
        if stats is None or not stats.has_null_count:
            return None
        nulls += stats.null_count
        if not bounds and stats.has_min_max:
            try:
                bounds = [stats.min, stats.max] if stats.min != stats.max else [stats.min]
            except (ValueError, TypeError, pa.ArrowException):  # a logical type pyarrow cannot convert
                bounds = []
    if kind is None:
        return FieldPartial(nulls=total)
    # Footer statistics give the smallest and largest values, not the first ones: good examples still
    # (a zero as 0.0: writers store a float minimum of zero as -0.0, whatever the zero's sign was).
    bounds = [0.0 if isinstance(v, float) and v == 0 else v for v in bounds]
    examples = tuple((origin, 0, i, example_text(v)) for i, v in enumerate(bounds))
    return FieldPartial(
        nulls=nulls,
        types=((kind, total - nulls),),
        examples=((kind, examples),) if examples else (),
    )


def _open_text(path: str) -> IO[bytes] | gzip.GzipFile | bz2.BZ2File:
    """A binary file handle, decompressing by extension."""
    codec = COMPRESSIONS.get(Path(path).suffix.lower())
    if codec == "gzip":
        return gzip.open(path, "rb")
    if codec == "bz2":
        return bz2.open(path, "rb")
    if codec is not None:
        # Python has no zstd or lz4 module (before 3.14): Arrow decompresses, as the scoring reader
        # does; the buffer gives its stream the lines and iteration the readers use.
        return io.BufferedReader(pa.input_stream(path, compression=codec))
    return open(path, "rb")


def _read_json(task: FileTask) -> Partial:
    """JSON lines through Arrow's JSON reader where that is faithful, else parsed value by value."""
    try:
        partial = _read_json_arrow(task)
    except (pa.ArrowException, UnicodeDecodeError, _NotObjectLine, _DeepText):
        # A type conflict, a bad line, a line that is not an object, an object that changes shape,
        # text that is not UTF-8, text that may be too deep for Arrow: the values decide.
        partial = None
    return partial if partial is not None else _read_json_values(task)


class _NotObjectLine(Exception):
    """A JSON line that does not start with ``{``: the file is read value by value instead."""


class _DeepText(Exception):
    """JSON text that may nest deeper than :data:`_ARROW_DEPTH` (or runs too long to tell): the file
    is read value by value instead."""


class _RawFile:
    """A file object over an opened file ``_raw`` (what pyarrow reads through): closing it closes that."""

    _raw: IO[bytes] | gzip.GzipFile | bz2.BZ2File

    @property
    def closed(self) -> bool:
        """Whether the file is closed."""
        return bool(self._raw.closed)

    def close(self) -> None:
        """Close the file."""
        self._raw.close()


class _ObjectLines(_RawFile):
    """A JSON lines file's bytes as Arrow's reader pulls them, checked on the way, up to ``cap`` lines.

    pyarrow's JSON reader crashes the process on some lines that are not objects (``null`` as the
    first line) and reads others as a row of nulls, where Python's json counts them unreadable: so
    it only ever gets lines that start with ``{`` (the first other line raises
    :class:`_NotObjectLine` before Arrow sees it). The lines handed over are counted, so that a table
    of another length (two objects on a line) is not trusted either, and reading stops after the
    ``cap``-th (``truncated`` then says more lines follow). ``null`` says whether the text handed
    over spells ``null`` anywhere: if not, every null Arrow reads is an absent key.

    Arrow's reader also crashes the process on text nested some 17,000 levels deep, so text that
    may nest deeper than :data:`_ARROW_DEPTH` raises :class:`_DeepText` before Arrow sees it. What
    lies between two objects' ends at line ends nests no deeper than it is long: an end found in
    every window of :data:`_DEPTH_WINDOW` bytes (a vectorised comparison) clears ordinary lines;
    only a longer stretch with more brackets than the limit has its depth measured.
    """

    def __init__(self, raw: IO[bytes] | gzip.GzipFile | bz2.BZ2File, cap: int | None) -> None:
        self._raw = raw
        self._cap = cap
        self._open = b"\n"  # a line start whose first byte is still to come (b"" mid-line)
        head = raw.read(len(BOM_UTF8))
        self._ahead = b"" if head == BOM_UTF8 else head  # read to look for a BOM (dropped), not yet handed
        self.lines = 0
        self.truncated = False
        self.null = False
        self._last = b""  # the end of the previous read (a `null` may straddle two)
        self._stretch = b""  # the text handed since the last object's end at a line end

    def read(self, size: int = -1) -> bytes:
        """The next bytes, at most ``size``; b"" at the end or once the cap is reached."""
        if self.truncated:
            return b""
        if self._ahead:
            data, self._ahead = (self._ahead, b"") if size < 0 else (self._ahead[:size], self._ahead[size:])
            if size < 0 or len(data) < size:
                data += self._raw.read(size - len(data) if size >= 0 else -1)
        else:
            data = self._raw.read(size)
        text = self._open + data
        bad = _NOT_OBJECT_LINE.search(text)
        # Lines (as rows_per_partition counts them: not blank) start here; when all start with `{`
        # at once (the common case), counting is quick.
        plain = bad is None and not _INDENTED_LINE.search(text)
        starts = text.count(b"\n{") if plain else len(_LINE.findall(text))
        if self._cap is not None and self.lines + starts > self._cap:
            # Hand over the text up to the newline before line cap + 1, then stop.
            after = next(islice(_LINE.finditer(text), self._cap - self.lines, None))
            if bad is not None and bad.start() < after.start():
                raise _NotObjectLine
            self.lines = self._cap
            self.truncated = True
            return self._handed(data[: max(after.start() + 1 - len(self._open), 0)])
        if bad is not None:
            raise _NotObjectLine
        self.lines += starts
        tail = _OPEN_LINE.search(text)
        self._open = tail.group() if tail else b""
        return self._handed(data)

    def _handed(self, data: bytes) -> bytes:
        """``data``, noting whether it spells ``null``, once it is known not to nest too deep."""
        self._check_depth(data)
        self.null = self.null or b"null" in self._last + data[:3] or b"null" in data
        self._last = data[-3:]
        return data

    def _check_depth(self, data: bytes) -> None:
        """Raise :class:`_DeepText` if text handed so far, ``data`` last, may nest deeper than
        :data:`_ARROW_DEPTH` levels (``data`` continues the stretch handed before it)."""
        if not data:
            return
        found = _OBJECT_END.search(data)
        if found is None:  # all of it goes on the stretch (a long line, or no line ends like that)
            self._stretch += data
            if len(self._stretch) > _STRETCH_CAP:
                raise _DeepText
            _check_stretch(self._stretch, 0, len(self._stretch))
            return
        end, first = found.group(), found.end()
        if len(self._stretch) + first > _ARROW_DEPTH:
            head = self._stretch + data[:first]
            _check_stretch(head, 0, len(head))
        _check_after(data, found)
        self._stretch = data[data.rfind(end) + len(end) :]


def _check_after(data: bytes, found: re.Match[bytes]) -> None:
    """Raise :class:`_DeepText` if a stretch of ``data`` after its first object end (``found``) may
    nest deeper than :data:`_ARROW_DEPTH` levels."""
    for start, stop in _crowded_stretches(data, found.end(), found.group()):
        _check_stretch(data, start, stop)


def _crowded_stretches(data: bytes, first: int, end: bytes) -> list[tuple[int, int]]:
    """The stretches of ``data`` from ``first`` (just after an ``end``) on, between two ``end``s, that
    may hold more than :data:`_ARROW_DEPTH` brackets ``{`` and ``[``, as (start, stop) offsets.

    ``data`` is read in windows of :data:`_DEPTH_WINDOW` bytes (compared byte by byte, a slice of
    windows at a time): where an ``end`` starts in each, the usual answer, no stretch is longer
    than :data:`_ARROW_DEPTH`. Windows i to j without one lie in one stretch, which holds no more
    brackets than windows i - 1 to j + 1 together (the bytes after the last window count as one).
    """
    w = _DEPTH_WINDOW
    stop = first + (len(data) - first - len(end) + 1) // w * w
    text = np.frombuffer(data, np.uint8)
    slices = [(low, min(_DEPTH_SLICE, stop - low)) for low in range(first, stop, _DEPTH_SLICE)]
    if not slices:
        return []
    ended = np.concatenate([_windows_ended(text, low, size, end) for low, size in slices])
    if ended.all():
        return []
    tail = data.count(b"{", stop) + data.count(b"[", stop)
    opens = np.concatenate([[0], *(_windows_opened(text, low, size) for low, size in slices), [tail]])
    # runs of windows without an end, numbered from 1 (0 and the last: the edges counted as ended)
    change = np.diff(np.concatenate([[0], ~ended, [0]]).astype(np.int8))
    firsts, lasts = np.flatnonzero(change == 1) + 1, np.flatnonzero(change == -1)
    total = np.concatenate([[0], np.cumsum(opens)])
    crowded = firsts[total[lasts + 2] - total[firsts - 1] > _ARROW_DEPTH]
    stretches = []
    for window in crowded.tolist():
        start = first + (window - 1) * w
        after = data.find(end, start)
        stretches.append((data.rfind(end, 0, start) + len(end), len(data) if after < 0 else after + len(end)))
    return stretches


def _windows_ended(text: np.ndarray, low: int, size: int, end: bytes) -> np.ndarray:
    """For each window of ``text[low:low + size]``, whether an ``end`` starts in it."""
    hit = text[low : low + size] == end[0]
    for i in range(1, len(end)):
        hit &= text[low + i : low + i + size] == end[i]
    return np.maximum.reduceat(hit.view(np.uint8), np.arange(0, size, _DEPTH_WINDOW)).view(bool)


def _windows_opened(text: np.ndarray, low: int, size: int) -> np.ndarray:
    """For each window of ``text[low:low + size]``, how many ``{`` and ``[`` it holds."""
    part = text[low : low + size]
    opened = ((part == ord("{")) | (part == ord("["))).view(np.uint8)
    return np.add.reduceat(opened, np.arange(0, size, _DEPTH_WINDOW), dtype=np.uint16)


def too_deep_for_arrow(data: bytes) -> bool:
    """Whether JSON lines ``data``, whole lines that each start with ``{``, may nest deeper than
    :data:`_ARROW_DEPTH` levels, which Arrow's JSON reader must not see (it crashes the process).

    The check :class:`_ObjectLines` makes on the way, on all of ``data`` at once: nearly free where
    objects end at line ends, as in ordinary files; only a stretch with more than
    :data:`_ARROW_DEPTH` brackets has its depth measured.

    Example:
        too_deep_for_arrow(b'{"a": 1}\\n'), too_deep_for_arrow(b'{"d": ' + b"[" * 2000 + b"]" * 2000 + b"}")
        # -> (False, True)
    """
    found = _OBJECT_END.search(data)
    try:
        _check_stretch(data, 0, len(data) if found is None else found.end())
        if found is not None:
            _check_after(data, found)
    except _DeepText:
        return True
    return False


def _check_stretch(text: bytes, start: int, end: int) -> None:
    """Raise :class:`_DeepText` if ``text[start:end]`` may nest deeper than :data:`_ARROW_DEPTH`."""
    if end - start <= _ARROW_DEPTH:
        return
    if text.count(b"{", start, end) + text.count(b"[", start, end) <= _ARROW_DEPTH:
        return
    if _deepest(text[start:end]) > _ARROW_DEPTH:
        raise _DeepText


def _deepest(text: bytes) -> int:
    """The deepest a JSON parser can nest in ``text`` (at most), starting at the start of a line.

    With the escapes dropped, a bracket is in a string where an odd number of quotes precede it on
    its line; the others are steps up and down. A parse starts at a line's start (the text's, or
    after a line break, where Arrow may start a block) and may go on across line breaks, so the depth
    at a point is measured from the lowest line start before it.
    """
    if b"\\" in text:
        text = _ESCAPE.sub(b"", text)
    marks = np.frombuffer(text.translate(None, _NOT_SHAPING), np.uint8)
    if not len(marks):
        return 0
    breaks = np.flatnonzero((marks == ord("\n")) | (marks == ord("\r")))
    lines = np.diff(np.concatenate([[0], breaks + 1, [len(marks)]]))
    quotes = np.cumsum(marks == ord('"'), dtype=np.int8)  # wraps, but keeps its parity
    before = np.repeat(np.concatenate([np.zeros(1, np.int8), quotes[breaks]]), lines)
    depth = np.cumsum(_DEPTH_STEP[marks] * (((quotes - before) & 1) == 0), dtype=np.int64)
    lowest = np.minimum.accumulate(np.concatenate([[0], depth[breaks]]))
    return max(int((depth - np.repeat(lowest, lines)).max()), 0)


def _read_json_arrow(task: FileTask) -> Partial | None:
    """The file read by Arrow's JSON reader, or None when its typing would not be MLflow's.

    Arrow reads a column holding both integer and decimal literals as double; MLflow calls that a
    conflict. Any double column holding an integral value may hide one, so the values decide
    then. JSON has no timestamp type: strings Arrow parsed as timestamps are typed string again.

    Raises:
        _NotObjectLine: A line does not hold an object.
        pyarrow.ArrowException: Arrow cannot read the lines (or they are not UTF-8).
    """
    import pyarrow.json as pj

    with _open_text(task.path) as raw:
        stream = _ObjectLines(raw, task.rows_per_partition)
        table = pj.read_json(pa.PythonFile(stream, mode="r"))
    if (
        table.num_rows != stream.lines
        or table.num_columns == 0
        or any(nesting(t) > MAX_NESTING for t in table.schema.types)
    ):
        # A line Arrow read as several rows, only empty objects (whose rows a table of no columns
        # cannot count), or data too deep for the steps below: the values decide.
        return None
    table.validate(full=True)  # Arrow's JSON reader does not check UTF-8
    columns = [_one_column(c) for c in table.columns]
    if any(_has_integral_doubles(c) or _may_hold_empty_objects(c) for c in columns):
        return None
    table = pa.Table.from_arrays([_timestamps_as_text(c) for c in columns], names=table.column_names)
    partial = partial_from_table(table, origin=task.origin)
    # A {} reads as an object whose keys are all null: without a `null` in the text it is an empty
    # object, as the values count it; with one it may be {"k": null}, and the values decide.
    fields = _with_empty_objects(partial.fields, table, task.origin)
    if stream.null and fields != partial.fields:
        return None
    partial = replace(partial, fields=fields)
    # Arrow reads an absent key as null; MLflow tells them apart where Objects are (a None object
    # makes every property optional, an absent one does not). Without a `null` in the text, every
    # null is an absent key; with one, a null where objects are leaves the decision to the values.
    if not stream.null:
        partial = replace(partial, fields=tuple((n, _nulls_as_missing(f)) for n, f in partial.fields))
    elif any(_null_objects(f) for _, f in partial.fields):
        return None
    else:
        # which nulls are written and which are absent keys, for the report's presence and null rates
        lines = stream.lines if stream.truncated else None
        split = _split_nulls(partial.fields, lambda: _written_nulls(task.path, lines))
        if split is None:
            return None
        partial = replace(partial, fields=split)
    return replace(partial, samples=(Sample(task.name, table.num_rows, exhausted=not stream.truncated),))


def _with_empty_objects(
    fields: tuple[tuple[str, FieldPartial], ...], table: pa.Table, origin: int
) -> tuple[tuple[str, FieldPartial], ...]:
    """``fields``, Arrow's partials of ``table`` (JSON lines read by Arrow), with each object
    whose keys all read as null counted as an empty object (untyped, as the values count ``{}``)."""
    return tuple((n, _empty_objects(f, _one_column(table.column(n)), origin)) for n, f in fields)


def _empty_objects(node: FieldPartial, arr: pa.Array, origin: int) -> FieldPartial:
    """``node``, the partial of ``arr``, with the objects whose every key is null, at any depth,
    counted as empty objects: untyped, not objects (their properties keep them as slots, where
    they are absent)."""
    t = arr.type
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        if node.items is None:
            return node
        return replace(node, items=_empty_objects(node.items, arr.flatten(), origin))
    if not pa.types.is_struct(t) or t.num_fields == 0:
        return node
    valid = arr.is_valid()
    children = arr.flatten()  # the fields, null where the object is null
    # the properties were read from the objects that are not null, as partial_from_table reads them
    present = [c.filter(valid) for c in children] if arr.null_count else children
    by_name = {t.field(i).name: child for i, child in enumerate(present)}
    properties = tuple((n, _empty_objects(p, by_name[n], origin)) for n, p in node.properties)
    empty_rows = _empty_rows(arr, children)
    empties = int(pc.sum(empty_rows).as_py() or 0)
    if not empties:
        return replace(node, properties=properties)
    # an Arrow struct node counts only objects: its types, examples and empties are of that kind
    objects = node.count("object") - empties
    examples = _arrow_examples(arr, pc.and_not(valid, empty_rows), origin, 0)
    return replace(
        node,
        untyped=node.untyped + empties,
        empty=(("object", node.empty_count("object") + empties),),
        types=(("object", objects),) if objects else (),
        examples=(("object", examples),) if examples else (),
        properties=properties,
    )


def _keyed_nodes(fields: tuple[tuple[str, FieldPartial], ...]) -> Iterator[tuple[str, FieldPartial]]:
    """Every (key, partial) at or below ``fields``: columns and properties, also those of elements."""
    for name, node in fields:
        yield name, node
        yield from _keyed_nodes(node.properties)
        below = node
        while below.items is not None:  # a list's elements: their properties are keys too
            below = below.items
            yield from _keyed_nodes(below.properties)


def _split_nulls(
    fields: tuple[tuple[str, FieldPartial], ...], written: Callable[[], dict[str, int]]
) -> tuple[tuple[str, FieldPartial], ...] | None:
    """``fields`` with each key's Arrow nulls split into written nulls and absent keys.

    ``written`` counts each key's ``"key": null`` in the text (called only when some key has
    nulls). None when that cannot be told apart: a key with nulls at two places, or more written
    nulls than Arrow read.
    """
    with_nulls: dict[str, int] = {}
    for name, node in _keyed_nodes(fields):
        if node.nulls:
            if name in with_nulls:
                return None
            with_nulls[name] = node.nulls
    if not with_nulls:
        return fields
    counts = written()
    if any(counts.get(name, 0) > nulls for name, nulls in with_nulls.items()):
        return None

    def split(node: FieldPartial, name: str | None) -> FieldPartial:
        """``node`` split; ``name`` None for a list's elements (whose nulls are all written)."""
        own = node.nulls if name is None else counts.get(name, 0) if node.nulls else 0
        return replace(
            node,
            missing=node.missing + node.nulls - own,
            nulls=own,
            properties=tuple((n, split(p, n)) for n, p in node.properties),
            items=None if node.items is None else split(node.items, None),
        )

    return tuple((n, split(f, n)) for n, f in fields)


_WRITTEN_NULL = re.compile(rb":[ \t\r\n]*null")
# the same, read backwards (the regex then starts at a literal, which is quick to find), with the
# key's text up to its first quote or backslash, that character, and the one before the key (a
# plain key: no backslash in it, and its opening quote not escaped)
_NULL_AFTER_KEY = re.compile(rb'llun[ \t\r\n]*:[ \t\r\n]*"([^"\\]*)(.?)(.?)', re.DOTALL)


def _written_nulls(path: str, lines: int | None) -> dict[str, int]:
    """How often each key is written with a null value in the first ``lines`` lines (not blank, a
    BOM aside, as :class:`_ObjectLines` counts them; None: all), read in blocks of whole lines."""
    counts: Counter[str] = Counter()
    with _open_text(path) as fh:
        for block in _line_blocks(fh, lines):
            counts.update(_written_nulls_in(block))
    return dict(counts)


def _line_blocks(fh: IO[bytes] | gzip.GzipFile | bz2.BZ2File, lines: int | None) -> Iterator[bytes]:
    """A file's text in blocks of whole lines (about 16 MB each), a leading BOM dropped, stopping
    after ``lines`` lines that are not blank (None: at the end)."""
    if lines is not None:  # a sample: count the lines
        yield b"".join(islice((line for _, line in _record_lines(fh)), lines))
        return
    carry = b""
    data = fh.read(_BLOCK)
    data = data.removeprefix(BOM_UTF8)
    while data:
        more = fh.read(_BLOCK)
        if not more:  # the last block: whole lines already (no copy when it is the only one)
            yield carry + data if carry else data
            return
        cut = data.rfind(b"\n") + 1
        if cut:
            yield carry + data[:cut]
            carry = data[cut:]
        else:
            carry += data
        data = more
    if carry:
        yield carry


_BLOCK = 16 << 20


def _written_nulls_in(data: bytes) -> dict[str, int]:
    """:func:`_written_nulls` of whole lines of text."""
    found = Counter(_NULL_AFTER_KEY.findall(data[::-1]))
    if all(end == b'"' and before != b"\\" for _, end, before in found):
        try:
            counts: Counter[str] = Counter()
            for (key, _, _), n in found.items():
                counts[key[::-1].decode("utf-8")] += n
            return dict(counts)
        except UnicodeDecodeError:
            pass
    return _written_nulls_slowly(data)


def _written_nulls_slowly(data: bytes) -> dict[str, int]:
    """:func:`_written_nulls` of text with escapes in keys or strings: each match read back to its key."""
    counts: dict[str, int] = {}
    for match in _WRITTEN_NULL.finditer(data):
        end = match.start()
        while end > 0 and data[end - 1] in b" \t\r\n":
            end -= 1
        if end == 0 or data[end - 1] != 0x22 or _escaped(data, end - 1):  # not a key's closing quote
            continue
        start = end - 2
        while start >= 0 and (data[start] != 0x22 or _escaped(data, start)):
            start -= 1
        try:
            key = json.loads(data[start:end])
        except ValueError:
            continue
        if isinstance(key, str):
            counts[key] = counts.get(key, 0) + 1
    return counts


def _escaped(data: bytes, at: int) -> bool:
    """Whether the byte at ``at`` follows an odd number of backslashes."""
    slashes = 0
    while at - slashes - 1 >= 0 and data[at - slashes - 1] == 0x5C:
        slashes += 1
    return slashes % 2 == 1


def _nulls_as_missing(node: FieldPartial) -> FieldPartial:
    """``node`` with its nulls, and those at any depth below it, counted as absent keys."""
    return replace(
        node,
        missing=node.missing + node.nulls,
        nulls=0,
        properties=tuple((n, _nulls_as_missing(p)) for n, p in node.properties),
        items=None if node.items is None else _nulls_as_missing(node.items),
        values=None if node.values is None else _nulls_as_missing(node.values),
    )


def _null_objects(node: FieldPartial) -> bool:
    """Whether a null sits where objects with properties are, at ``node`` or below."""
    if node.properties and node.nulls:
        return True
    children = [p for _, p in node.properties] + [c for c in (node.items, node.values) if c is not None]
    return any(_null_objects(c) for c in children)


def _one_column(column: pa.ChunkedArray) -> pa.Array:
    """A column as one array."""
    return column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)


def _has_integral_doubles(arr: pa.Array) -> bool:
    """Whether a double somewhere in ``arr`` is integral (it may have been written as an integer)."""
    t = arr.type
    if pa.types.is_floating(t):
        values = pc.drop_null(arr)
        return len(values) > 0 and bool(pc.any(pc.equal(pc.trunc(values), values)).as_py())
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return _has_integral_doubles(arr.flatten())
    if pa.types.is_struct(t):
        return any(_has_integral_doubles(child) for child in arr.flatten())
    return False


def _may_hold_empty_objects(arr: pa.Array, in_object: bool = False) -> bool:
    """Whether an object that is a property of an object (``in_object``), somewhere in ``arr``, has
    every property null: it may be ``{}``, which MLflow types as Any there (the property optional),
    where Arrow makes it an object whose keys are all absent. (A column's or an element's ``{}`` is
    an object with absent keys for MLflow too.)"""
    t = arr.type
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        return _may_hold_empty_objects(arr.flatten())
    if not pa.types.is_struct(t):
        return False
    children = arr.flatten()  # the fields, null where the object is null
    if in_object and bool(pc.any(_empty_rows(arr, children)).as_py()):
        return True
    return any(_may_hold_empty_objects(child, True) for child in children)


def _empty_rows(arr: pa.Array, children: list[pa.Array]) -> pa.Array:
    """Which objects of a struct array (not null) have every field null (``children``, its
    flattened fields): all its objects where it has no field."""
    empty = arr.is_valid()
    for child in children:
        empty = pc.and_(empty, child.is_null())
    return empty


def _timestamps_as_text(arr: pa.Array) -> pa.Array:
    """``arr`` with the timestamps Arrow's JSON reader parsed turned back into strings."""
    target = dates_as_text(arr.type)
    return arr if target == arr.type else arr.cast(target)


def _read_json_values(task: FileTask) -> Partial:
    """JSON lines parsed with Python's json, read as records, stopping after the row cap; the
    earliest unreadable lines are located by their numbers in the file."""
    cap = task.rows_per_partition
    partials = []
    unreadable: list[int] = []  # the earliest unreadable records, as indices among the records
    rows_read = 0
    exhausted = True
    with _open_text(task.path) as fh:
        lines: Iterator[bytes] = (line for _, line in _record_lines(fh))
        while True:
            want = _JSON_BATCH if cap is None else min(_JSON_BATCH, cap - rows_read)
            if want <= 0:
                exhausted = next(lines, None) is None
                break
            chunk = list(islice(lines, want))
            if not chunk:
                break
            records = _parse_lines(chunk)
            partials.append(_records_partial(records, task.origin, rows_read, None, wide=True))
            if partials[-1].unreadable and len(unreadable) < MAX_LOCATED:
                # what the records partial counts unreadable
                bad = (rows_read + i for i, record in enumerate(records) if not isinstance(record, dict))
                unreadable += islice(bad, MAX_LOCATED - len(unreadable))
            rows_read += len(chunk)
    partial = merge_all(partials)
    located = (UnreadableRecord(task.origin, n, task.name) for n in _line_numbers(task.path, unreadable))
    return replace(
        partial,
        samples=(Sample(task.name, rows_read, exhausted=exhausted),),
        unreadable_at=earliest_unreadable(located),
    )


def _line_numbers(path: str, records: list[int]) -> list[int]:
    """The 1-based numbers in a JSON lines file of the lines holding ``records`` (ascending
    indices among the lines that are not blank): read again, only where a record was unreadable."""
    if not records:
        return []
    with _open_text(path) as fh:
        return _lines_of(records, (n for n, _ in _record_lines(fh)))


def _record_lines(fh: IO[bytes] | gzip.GzipFile | bz2.BZ2File) -> Iterator[tuple[int, bytes]]:
    """The lines of JSON lines text that are not blank, with their 1-based numbers in the file (a
    byte order mark is no text of the first line, which may then be blank)."""
    for number, line in enumerate(fh, 1):
        if number == 1:
            line = line.removeprefix(BOM_UTF8)
        if line.strip():
            yield number, line


def _lines_of(records: list[int], starts: Iterator[int]) -> list[int]:
    """The first lines of ``records`` (ascending 0-based indices) among all records, whose first
    lines ``starts`` gives in order; read only as far as the last record wanted."""
    wanted = set(records)
    return [line for i, line in enumerate(islice(starts, records[-1] + 1)) if i in wanted]


def _parse_lines(chunk: list[bytes]) -> list[Any]:
    """Each line's JSON value; a line that does not parse becomes None (then counted unreadable).

    A line ``null`` is a record without keys: the scoring jobs read it as a row of nulls, on both
    engines, so every field is absent there. Not parsing includes text that is not UTF-8 (a
    ValueError) and values nested too deep for Python's json (a RecursionError).
    """
    try:
        values = json.loads(b"[" + b",".join(chunk) + b"]")
        if len(values) == len(chunk):
            return [{} if v is None else v for v in values]
    except (ValueError, RecursionError):
        pass
    out: list[Any] = []
    for line in chunk:
        try:
            value = json.loads(line)
        except (ValueError, RecursionError):
            out.append(None)
        else:
            out.append({} if value is None else value)
    return out


def _read_csv(task: FileTask) -> Partial:
    """A header, then text cells typed per cell, stopping after the row cap (in larger blocks where
    a row is longer than the usual block)."""
    names = _csv_header(task.path)
    if not names:
        return Partial(samples=(Sample(task.name, 0),))
    _check_unique(names)
    block = _CSV_BLOCK
    while True:
        try:
            return _read_csv_rows(task, names, block)
        except pa.ArrowInvalid as exc:
            if not _straddles(exc):
                raise
            block = _larger_block(block, exc)


def _read_csv_rows(task: FileTask, names: list[str], block: int) -> Partial:
    """The rows of a CSV file with columns ``names``, read in blocks of ``block`` bytes."""
    import pyarrow.csv as pacsv

    malformed: list[int | None] = []  # the malformed rows' numbers, as Arrow counts records

    def skip(row: Any) -> str:
        malformed.append(row.number)
        return "skip"

    cap = task.rows_per_partition
    rows_read = 0
    partial = partial_from_text(pa.table({n: pa.array([], pa.string()) for n in names}), origin=task.origin)
    exhausted = True
    with closing(_Utf8Text(task.path)) as text:
        reader = pacsv.open_csv(
            pa.PythonFile(text, mode="r"),
            read_options=pacsv.ReadOptions(use_threads=False, block_size=block),
            parse_options=pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=skip),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names}, strings_can_be_null=True, null_values=[""]
            ),
        )
        for batch in reader:
            if cap is not None and rows_read >= cap:
                exhausted = False
                break
            if cap is not None and rows_read + batch.num_rows > cap:
                batch = batch.slice(0, cap - rows_read)
                exhausted = False
            table = pa.Table.from_batches([batch])
            partial = merge(partial, partial_from_text(table, origin=task.origin, first_row=rows_read))
            rows_read += batch.num_rows
    unreadable = len(malformed)
    numbers = sorted(n for n in malformed if n is not None)
    if not exhausted and len(numbers) == unreadable:  # Arrow read on: count the sample's only
        numbers = _malformed_before(numbers, rows_read)
        unreadable = len(numbers)
    found = _csv_line_numbers(task.path, numbers[:MAX_LOCATED])
    located = (UnreadableRecord(task.origin, n, task.name) for n in found)
    return replace(
        partial,
        unreadable=unreadable,
        samples=(Sample(task.name, rows_read, exhausted=exhausted),),
        unreadable_at=earliest_unreadable(located),
    )


def _malformed_before(numbers: list[int], rows: int) -> list[int]:
    """The malformed records among ``numbers`` (ascending, numbered as Arrow does: the header is 1)
    that come before the ``rows``-th well-formed record, the last one a capped read kept."""
    kept = 0
    for number in numbers:
        if number > 1 + rows + kept:  # the header, ``rows`` well-formed records and these come first
            break
        kept += 1
    return numbers[:kept]


def _csv_line_numbers(path: str, records: list[int]) -> list[int]:
    """The 1-based numbers of the lines where CSV ``records`` start (ascending, numbered as Arrow's
    reader numbers them: the header is 1, empty lines do not count, a quoted line break does not
    end one): read again with Python's csv, only where a row was malformed. Where that reader
    fails (a cell longer than its limit), Arrow's numbers stand."""
    if not records:
        return []
    with io.TextIOWrapper(_open_text(path), encoding="utf-8-sig", newline="") as text:
        reader = csv.reader(text)

        def starts() -> Iterator[int]:  # the line each row that is not empty starts on
            start = 1
            for row in reader:
                if row:
                    yield start
                start = reader.line_num + 1

        try:
            return _lines_of([r - 1 for r in records], starts())
        except csv.Error:
            return records


def _csv_header(path: str) -> list[str]:
    """The column names of a CSV file, parsed as the rows are (quoted commas and newlines, a BOM).

    Arrow's reader parses the header; opening it also types a first block, so a small one is tried
    first (a header longer than that needs the usual block, a longer first row a larger one). An
    empty or blank file has no columns.
    """
    import pyarrow.csv as pacsv

    block = 1 << 16
    while True:
        with closing(_Utf8Text(path)) as text:
            try:
                reader = pacsv.open_csv(
                    pa.PythonFile(text, mode="r"),
                    read_options=pacsv.ReadOptions(use_threads=False, block_size=block),
                    parse_options=pacsv.ParseOptions(
                        newlines_in_values=True, invalid_row_handler=lambda _row: "skip"
                    ),
                )
            except pa.ArrowInvalid as exc:
                if block < _CSV_BLOCK:
                    block = _CSV_BLOCK
                    continue
                if _straddles(exc):
                    block = _larger_block(block, exc)
                    continue
                with _open_text(path) as fh:
                    if not fh.read(1 << 16).strip():
                        return []
                raise
            names = list(reader.schema.names)
            reader.close()
            return names


def _straddles(exc: pa.ArrowInvalid) -> bool:
    """Whether Arrow's CSV reader failed on a row longer than its blocks allow."""
    return "straddl" in str(exc)


def _larger_block(block: int, exc: pa.ArrowInvalid) -> int:
    """The block to read a CSV file in again after a row straddled blocks of ``block`` bytes.

    Raises:
        InferenceError: ``block`` is the largest already.
    """
    if block >= _CSV_MAX_BLOCK:
        msg = (
            f"a row is too long to read: Arrow's CSV reader holds a row within two blocks, and sigbatch "
            f"reads in blocks of at most {_CSV_MAX_BLOCK >> 20} MiB. Hint: keep cells this long out of "
            "CSV (Parquet holds them), or split them."
        )
        raise InferenceError(msg) from exc
    return min(block * 4, _CSV_MAX_BLOCK)


class _Utf8Text(_RawFile):
    """A text file's bytes as Arrow's CSV reader pulls them, checked to be UTF-8 before it sees them.

    pyarrow refuses text that is not UTF-8 in the cells it keeps ("invalid UTF8 data"), and cannot
    hand such a row to the invalid-row handler at all: it decodes the row's text first, prints the
    failure as an ignored exception and then calls the row malformed. So the bytes are checked as
    they are read (ASCII at C speed, the rest by an incremental decoder, which also sees a character
    cut by a read), and the first byte that is not UTF-8 raises an :class:`InferenceError`.
    """

    def __init__(self, path: str) -> None:
        self._path = path
        self._raw = _open_text(path)
        self._decoder = codecs.getincrementaldecoder("utf-8")()
        self._offset = 0  # of the next byte read

    def read(self, size: int = -1) -> bytes:
        """The next bytes, at most ``size``, once they are known to be UTF-8 (b"" at the end)."""
        data = self._raw.read(size)
        held = self._decoder.getstate()[0]  # the start of a character cut by the last read
        if held or not data.isascii():
            try:
                self._decoder.decode(data, final=not data)
            except UnicodeDecodeError as exc:
                at = self._offset - len(held) + exc.start
                raise InferenceError(_not_utf8(self._path, at, (held + data)[exc.start])) from None
        self._offset += len(data)
        return data


def _not_utf8(path: str, at: int, byte: int) -> str:
    """The error for a text file whose byte at offset ``at`` (``byte``) is not UTF-8, naming its line."""
    line = 1
    with _open_text(path) as fh:
        while at > 0:
            data = fh.read(min(at, _CSV_BLOCK))
            if not data:
                break
            line += data.count(b"\n")
            at -= len(data)
    return (
        f"not UTF-8 text: byte 0x{byte:02X} on line {line} does not decode (Latin-1 or cp1252 text, "
        "perhaps). Hint: re-encode the file as UTF-8, e.g. `iconv -f cp1252 -t utf-8 in.csv > out.csv`."
    )


# --- the local engine -------------------------------------------------------------------------


def finish(partial: Partial, policy: str, selection: Selection | None) -> InferenceResult:
    """Finalise a merged partial into an :class:`InferenceResult` recording the selection (also in
    the report a conflict's error carries)."""
    try:
        schema, report = finalize(partial, policy)
    except InferenceError as exc:
        if exc.report is not None:
            exc.report = replace(exc.report, selection=selection)
        raise
    return InferenceResult(schema, replace(report, selection=selection), partial)


def infer_files(
    source: str | os.PathLike[str],
    *,
    format: str | None = None,
    fraction: float | None = None,
    max_partitions: int | None = None,
    rows_per_partition: int | None = None,
    seed: int = 0,
    policy: str = "strict",
    progress: Callable[[int, int, int], None] | None = None,
) -> InferenceResult:
    """The schema of a directory of Parquet, JSON lines or CSV files, inferred in this process.

    Args:
        source: A file or a directory of files.
        format: ``parquet``, ``json`` or ``csv``; None to decide from the file extensions.
        fraction: The share of files to read (chosen by seed); None for all.
        max_partitions: At most this many files; None for no limit.
        rows_per_partition: Stop reading each file after this many rows; None for all.
        seed: Chooses the files, deterministically.
        policy: ``strict``, ``widen`` or ``majority`` (see :func:`~sigbatch.infer.finalize.finalize`).
        progress: Called after each file with (files read, files to read, rows read so far).

    Returns:
        The schema, the report (recording which files and rows were read) and the merged partial.

    Raises:
        InferenceError: No file, an unreadable file, or (``strict``) conflicting types.
        ConfigError: Invalid sampling settings or policy.

    Example:
        result = infer_files("lake/", fraction=0.2, rows_per_partition=500)
    """
    check_options(policy=policy)
    tasks, selection = plan_files(
        source,
        format=format,
        fraction=fraction,
        max_partitions=max_partitions,
        rows_per_partition=rows_per_partition,
        seed=seed,
    )
    partials = []
    rows = 0
    for task in tasks:
        partials.append(read_task(task))
        rows += partials[-1].rows + partials[-1].unreadable
        if progress is not None:
            progress(len(partials), len(tasks), rows)
    return finish(merge_all(partials), policy, selection)
