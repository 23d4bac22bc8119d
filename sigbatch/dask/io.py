"""Reading a scoring job's source into Dask partitions of Arrow-backed pandas frames, and writing outputs.

Every format is read with pyarrow, one partition per file (Parquet files larger than the block
size are split by row groups; JSON-lines files by byte ranges cut at line ends when
``dask.blocksize`` is set). Partitions hold ``pd.ArrowDtype`` columns, so nested values (lists,
structs, maps) keep their Arrow types all the way to the core and back.

Row identity, as the Spark job has it (:mod:`sigbatch.spark.io`): unless asked not to, each
partition carries three more columns:

* ``_sigbatch_file``: the source file (its absolute path);
* ``_sigbatch_file_offset``: the byte offset of the split the row was read from (0 for a whole
  file, always 0 for Parquet and ORC);
* ``_sigbatch_row``: the row's index in its file (Parquet, ORC, whole text files), or counted from
  the split's offset (a JSON-lines file cut by ``dask.blocksize``).

The job knows, before scoring, how many rows the source holds: Parquet and ORC footers give it
without reading data; JSON lines and CSV are read once up front to infer and unify the files'
schemas (as Spark's JSON reader does by default), which also counts their rows.

Text sources read as Spark's default reader reads them, so both engines score the same rows:

* JSON lines are PERMISSIVE: a line that is not a JSON object (truncated, a bare number, an
  array) is a row whose columns are all null and whose ``_corrupt_record`` holds the line's text.
  That column is in the schema only when some line was corrupt. A field whose values disagree on
  their kind (numbers and text, an object and a list) is text, each value its raw JSON text
  (:mod:`sigbatch.json_text`).
* CSV columns are all strings unless ``source.options`` sets ``inferSchema: true``, and only an
  empty field is null (``null_values`` changes that). A record with too few or too many fields
  keeps its first fields (missing ones null, extra ones dropped) and its text in
  ``_corrupt_record``, as Spark's reader does once :mod:`sigbatch.spark.io` gives it that column.
* An empty file holds no rows.

Example:
    from sigbatch.config import SourceConfig
    source = read_source(SourceConfig("lake/", None, "json"))
    source.rows, source.frame.npartitions
    # -> (20000, 4)
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import threading
from codecs import BOM_UTF8
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from sigbatch.arrow import nesting, retyped
from sigbatch.config import SourceConfig, local_path
from sigbatch.errors import ConfigError
from sigbatch.infer.lake import COMPRESSIONS, too_deep_for_arrow
from sigbatch.infer.partial import MAX_NESTING
from sigbatch.json_text import (
    dates_as_text,
    empty_objects_as_text,
    fields_by_name,
    merged_type,
    mixed_as_text,
    nulls_as_text,
)
from sigbatch.manifest import visible_files
from sigbatch.quarantine import FILE_COLUMN, IDENTITY_COLUMNS, OFFSET_COLUMN, ROW_COLUMN

__all__ = [
    "CORRUPT_COLUMN",
    "FILE_COLUMN",
    "IDENTITY_COLUMNS",
    "OFFSET_COLUMN",
    "Piece",
    "Source",
    "list_files",
    "read_piece",
    "read_source",
    "write_parquet",
]

# Spark's columnNameOfCorruptRecord: the raw text of a JSON line or CSV record that does not parse.
CORRUPT_COLUMN = "_corrupt_record"

# Parquet: split a file by row groups when it holds more than this, uncompressed.
DEFAULT_BLOCKSIZE = 256 * 2**20
_SUFFIXES = {
    "parquet": (".parquet", ".parq", ".pq"),
    "json": (".json", ".jsonl", ".ndjson"),
    "csv": (".csv", ".tsv", ".txt"),
    "orc": (".orc",),
}
# Compressed text files (COMPRESSIONS, the suffixes inference reads too) are known by suffix in any
# case (pyarrow's own detection knows lower case only); they are decompressed whole (never split).
_COMPRESSED = tuple(COMPRESSIONS)
_CSV_OPTIONS = ("header", "delimiter", "sep", "quote", "null_values", "inferSchema")
_CSV_FLAGS = {"header": True, "inferSchema": False}  # yes/no options and their defaults
_JSON_SPACE = b" \t\r\n"


@dataclass(frozen=True)
class Piece:
    """One partition of the source: a file, and which part of it (row groups or a byte range)."""

    path: str
    format: str
    rows: int
    groups: tuple[int, ...] | None = None  # Parquet row groups; None: the whole file
    byte_range: tuple[int, int] | None = None  # JSON lines: [start, end) cut at line ends
    first_row: int = 0  # index in the file (or split) of the piece's first row

    @property
    def offset(self) -> int:
        """The byte offset of the split (``_sigbatch_file_offset``)."""
        return 0 if self.byte_range is None else self.byte_range[0]


@dataclass(frozen=True)
class Source:
    """A source ready to score: its partitions, schema and row counts.

    Attributes:
        frame: a lazy Dask DataFrame, one partition per piece, Arrow-backed dtypes, with the
            identity columns last (unless ``identity=False``).
        schema: the Arrow schema of the source's own columns.
        rows: rows in the whole source.
        pieces: what each partition reads.
        options: the reader options (checked).
        identity: whether the partitions carry the identity columns.
    """

    frame: dd.DataFrame
    schema: pa.Schema
    rows: int
    pieces: tuple[Piece, ...]
    options: dict[str, Any] = field(default_factory=dict)
    identity: bool = False


def list_files(path: str | os.PathLike[str], fmt: str) -> list[str]:
    """The data files of a source path: the file itself, or a directory's files, sorted.

    Hidden and underscore-prefixed names (``_SUCCESS``, ``.crc``, ``_sigbatch_manifest.json``)
    are skipped, as Spark and Dask skip them; in a directory, only files with the format's
    usual suffixes count. A ``file:`` URI names its local path (``file:///data/lake``).
    """
    text = str(path)
    local = local_path(text)
    if local is None:
        msg = (
            f"source.path {text!r}: the Dask engine reads local paths only; copy the data locally "
            "or use the Spark engine"
        )
        raise ConfigError(msg)
    p = Path(local).resolve()  # absolute: _sigbatch_file must name the file from anywhere
    if p.is_file():
        return [str(p)]
    if not p.is_dir():
        msg = f"source.path {text!r} does not exist"
        raise ConfigError(msg)
    files = [str(f) for f in visible_files(p, lambda name: _base_name(name).endswith(_SUFFIXES[fmt]))]
    if not files:
        msg = f"source.path {text!r} holds no {fmt} files (looked for {', '.join(_SUFFIXES[fmt])})"
        raise ConfigError(msg)
    return files


def _base_name(name: str) -> str:
    """A file name without its compression suffix, lower case (``a.jsonl.gz`` -> ``a.jsonl``)."""
    lower = name.lower()
    for suffix in _COMPRESSED:
        if lower.endswith(suffix):
            return lower[: -len(suffix)]
    return lower


def read_source(
    source: SourceConfig,
    *,
    blocksize: int | str | None = None,
    compute: Callable[..., Sequence[Any]] = dask.compute,
    identity: bool = True,
) -> Source:
    """Plan the partitions of a source and build the lazy frame that reads them.

    Args:
        source: the ``source.*`` part of a job config (a path; ``source.table`` needs Spark).
        blocksize: a partition size (``"64MB"`` or bytes): Parquet files above it are split by
            row groups, JSON-lines files by line-aligned byte ranges. Default: 256 MiB for
            Parquet; one partition per file for JSON lines, CSV and ORC.
        compute: how to run the schema pass of text formats (the job's scheduler).
        identity: add the row identity columns (the job leaves them out when the config names
            ``output.key_columns``). A source that has a column of one of those names is read
            as it is, without identity (the scoring job refuses such a source; see
            :func:`sigbatch.manifest.check_source_columns`).

    Raises:
        ConfigError: no such path, no files, unknown reader options, a Parquet or ORC file whose
            footer cannot be read (not such a file, or cut short), or files whose schemas cannot
            be unified.
    """
    if source.path is None:
        msg = f"source.table {source.table!r}: reading tables needs the Spark engine; set source.path instead"
        raise ConfigError(msg)
    size = dask.utils.parse_bytes(blocksize) if isinstance(blocksize, str) else blocksize
    options = _check_options(source.format, source.options)
    files = list_files(source.path, source.format)
    if source.format == "parquet":
        pieces, schemas = _parquet_pieces(files, size or DEFAULT_BLOCKSIZE)
    elif source.format == "orc":
        pieces, schemas = _orc_pieces(files)
    else:
        ranges = [(f, r) for f in files for r in _byte_ranges(f, size if source.format == "json" else None)]
        found = compute(*[dask.delayed(_text_schema)(f, r, source.format, options) for f, r in ranges])
        pieces = [
            Piece(f, source.format, rows, None, r) for (f, r), (_, rows) in zip(ranges, found, strict=True)
        ]
        schemas = [s for s, _ in found]
    schema = _unify(schemas, pieces)
    if source.format == "json":
        # Spark's JSON inference orders fields by name at every depth (``_corrupt_record`` too)
        schema = pa.schema(fields_by_name(pa.struct(list(schema))))
    elif source.format == "csv" and schema.get_field_index(CORRUPT_COLUMN) >= 0:
        # last, wherever the first piece with a corrupt record had it
        i = schema.get_field_index(CORRUPT_COLUMN)
        schema = schema.remove(i).append(schema.field(i))
    deep = [f"{f.name!r} ({nesting(f.type)} levels)" for f in schema if nesting(f.type) > MAX_NESTING]
    if deep:
        msg = (
            f"source columns nested deeper than {MAX_NESTING} levels of arrays and objects: "
            f"{', '.join(deep)}; flatten them, or drop them from the source"
        )
        raise ConfigError(msg)
    identity = identity and not any(schema.get_field_index(c) >= 0 for c in (*IDENTITY_COLUMNS, "_metadata"))
    frame = dd.from_map(
        read_piece,
        pieces,
        args=(schema, options, identity),
        meta=_frame(
            _with_identity(schema.empty_table(), Piece("", source.format, 0))
            if identity
            else schema.empty_table()
        ),
        divisions=None,
        label="sigbatch-read",
        enforce_metadata=False,
    )
    return Source(frame, schema, sum(p.rows for p in pieces), tuple(pieces), options, identity)


def read_piece(
    piece: Piece, schema: pa.Schema, options: dict[str, Any] | None = None, identity: bool = True
) -> pd.DataFrame:
    """Read one piece as an Arrow table conformed to ``schema``, then as an Arrow-backed frame."""
    return _frame(read_piece_table(piece, schema, options, identity))


def read_piece_table(
    piece: Piece, schema: pa.Schema, options: dict[str, Any] | None = None, identity: bool = True
) -> pa.Table:
    """Read one piece as an Arrow table conformed to ``schema`` (identity columns last)."""
    table = _conform(_read_arrow(piece, options or {}, schema), schema, piece)
    return _with_identity(table, piece) if identity else table


def _with_identity(table: pa.Table, piece: Piece) -> pa.Table:
    """``table`` with the file, split offset and row index columns appended."""
    n = table.num_rows
    file = pa.DictionaryArray.from_arrays(
        pa.array(np.zeros(n, dtype=np.int32)), pa.array([piece.path], pa.string())
    )
    table = table.append_column(FILE_COLUMN, file)
    table = table.append_column(OFFSET_COLUMN, pa.array(np.full(n, piece.offset, dtype=np.int64)))
    return table.append_column(
        ROW_COLUMN, pa.array(np.arange(piece.first_row, piece.first_row + n, dtype=np.int64))
    )


# --- planning ---------------------------------------------------------------------------------


def _check_options(fmt: str, options: dict[str, Any]) -> dict[str, Any]:
    allowed = _CSV_OPTIONS if fmt == "csv" else ()
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        known = f"known options for {fmt}: {list(allowed)}" if allowed else f"{fmt} takes no options"
        msg = f"source.options: unknown option(s) {unknown} for the Dask engine ({known})"
        raise ConfigError(msg)
    checked = dict(options)
    if fmt == "csv":
        for name, default in _CSV_FLAGS.items():
            checked[name] = _flag(name, checked.get(name, default))
        for name in ("delimiter", "sep", "quote"):
            if name in checked:
                checked[name] = _character(name, checked[name])
        nulls = checked.get("null_values", "")
        if not (
            isinstance(nulls, str) or (isinstance(nulls, list) and all(isinstance(v, str) for v in nulls))
        ):
            msg = f"source.options: null_values must be a text or a list of texts, got {nulls!r}"
            raise ConfigError(msg)
    return checked


def _character(name: str, value: Any) -> str:
    """A one-character reader option; ``\\t`` (a backslash and a t, as Spark takes it) is a tab."""
    text = {"\\t": "\t", "\\n": "\n"}.get(value, value) if isinstance(value, str) else value
    if not isinstance(text, str) or len(text) != 1:
        msg = f"source.options: {name} must be one character (\\t for a tab), got {value!r}"
        raise ConfigError(msg)
    return text


def _flag(name: str, value: Any) -> bool:
    """A yes/no reader option: a YAML boolean, or ``"true"``/``"false"`` as Spark spells them."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    msg = f"source.options.{name}: expected true or false, got {value!r}"
    raise ConfigError(msg)


def _parquet_pieces(files: list[str], blocksize: int) -> tuple[list[Piece], list[pa.Schema]]:
    import pyarrow.parquet as pq

    pieces, schemas = [], []
    for path in files:
        with _footer_errors(path, "parquet"):
            meta = pq.ParquetFile(path).metadata
            schemas.append(meta.schema.to_arrow_schema())
        sizes = [
            (meta.row_group(i).num_rows, meta.row_group(i).total_byte_size)
            for i in range(meta.num_row_groups)
        ]
        pieces += _group_pieces(path, "parquet", sizes, blocksize)
    return pieces, schemas


def _orc_pieces(files: list[str]) -> tuple[list[Piece], list[pa.Schema]]:
    from pyarrow import orc

    pieces, schemas = [], []
    for path in files:
        with _footer_errors(path, "orc"):
            f = orc.ORCFile(path)
            schemas.append(f.schema)
            pieces.append(Piece(path, "orc", f.nrows))  # one partition per file
    return pieces, schemas


@contextlib.contextmanager
def _footer_errors(path: str, fmt: str) -> Iterator[None]:
    """A file whose footer cannot be read (not ``fmt``, cut short) as a ConfigError naming it."""
    try:
        yield
    except (OSError, pa.ArrowException) as exc:
        msg = f"{path}: cannot read it as {fmt}: {exc}"
        raise ConfigError(msg) from None


def _group_pieces(path: str, fmt: str, sizes: list[tuple[int, int]], blocksize: int) -> list[Piece]:
    """Consecutive row groups of one file, packed into pieces of about ``blocksize`` bytes."""
    if sum(b for _, b in sizes) <= blocksize or len(sizes) <= 1:
        return [Piece(path, fmt, sum(r for r, _ in sizes))]
    pieces: list[Piece] = []
    groups: list[int] = []
    first = rows = size = 0
    for i, (r, b) in enumerate(sizes):
        if groups and size + b > blocksize:
            pieces.append(Piece(path, fmt, rows, tuple(groups), first_row=first))
            first, groups, rows, size = first + rows, [], 0, 0
        groups.append(i)
        rows += r
        size += b
    pieces.append(Piece(path, fmt, rows, tuple(groups), first_row=first))
    return pieces


def _byte_ranges(path: str, blocksize: int | None) -> list[tuple[int, int] | None]:
    """Line-aligned byte ranges of about ``blocksize`` (``[None]``: the whole file)."""
    total = os.path.getsize(path)
    if not blocksize or total <= blocksize or _base_name(path) != path.lower():
        return [None]
    ranges: list[tuple[int, int] | None] = []
    with open(path, "rb") as f:
        start = 0
        while start < total:
            end = min(start + blocksize, total)
            if end < total:
                f.seek(end)
                f.readline()  # finish the line that straddles the cut
                end = f.tell()
            ranges.append((start, end))
            start = end
    return ranges


def _text_schema(
    path: str, byte_range: tuple[int, int] | None, fmt: str, options: dict[str, Any]
) -> tuple[pa.Schema, int]:
    """The inferred schema and row count of one text piece (the schema pass)."""
    table = _read_text(Piece(path, fmt, 0, None, byte_range), options, None)
    if fmt == "json":  # Spark's JSON inference leaves dates as text; pyarrow's makes timestamps
        return pa.schema([f.with_type(dates_as_text(f.type)) for f in table.schema]), table.num_rows
    return table.schema, table.num_rows


def _unify(schemas: list[pa.Schema], pieces: list[Piece]) -> pa.Schema:
    """One schema for every file; struct fields are merged by name, ``null`` columns take a type."""
    try:
        unified = pa.unify_schemas(schemas, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        if pieces and all(p.format in ("json", "csv") for p in pieces):
            # text files that disagree on a field's type: text there, as Spark's inference has it
            unified = _merged_text_schema(schemas)
        else:
            files = sorted({p.path for p in pieces})
            shown = ", ".join(files[:3]) + (f" and {len(files) - 3} more" if len(files) > 3 else "")
            msg = f"the source files ({shown}) have schemas that cannot be unified: {exc}"
            raise ConfigError(msg) from None
    # A field that is null in every file has no type to find; keep it as (nullable) string, as
    # Spark's inference does (also a property, or the elements of lists that are always empty).
    # Dictionary-encoded columns (pandas' categoricals) are read as their values, as Spark reads them.
    # A JSON field that is only ever {} is its text ({}): Parquet cannot store a struct without fields.
    return pa.schema(
        [f.with_type(empty_objects_as_text(nulls_as_text(_decoded(f.type)))) for f in unified], metadata=None
    )


def _decoded(t: pa.DataType) -> pa.DataType:
    """``t`` with each dictionary type in it (at any depth) replaced by its value type."""
    return retyped(t, lambda leaf: leaf.value_type if pa.types.is_dictionary(leaf) else leaf)


def _merged_text_schema(schemas: list[pa.Schema]) -> pa.Schema:
    """JSON-lines or CSV files' schemas merged field by field as Spark merges them (see
    :func:`merged_type`)."""
    fields: dict[str, pa.DataType] = {}
    for schema in schemas:
        for f in schema:
            fields[f.name] = merged_type(fields[f.name], f.type) if f.name in fields else f.type
    return pa.schema([pa.field(n, t) for n, t in fields.items()])


# --- reading ----------------------------------------------------------------------------------


def _read_arrow(piece: Piece, options: dict[str, Any], schema: pa.Schema | None) -> pa.Table:
    if piece.format not in ("parquet", "orc"):
        return _read_text(piece, options, schema)
    try:
        if piece.format == "parquet":
            import pyarrow.parquet as pq

            f = pq.ParquetFile(piece.path)
            return f.read() if piece.groups is None else f.read_row_groups(list(piece.groups))
        from pyarrow import orc

        return orc.ORCFile(piece.path).read()
    except (OSError, pa.ArrowException) as exc:  # a damaged page (its footer was read when planning)
        msg = f"{piece.path}: cannot read it as {piece.format}: {exc}"
        raise ConfigError(msg) from None


def _read_text(piece: Piece, options: dict[str, Any], schema: pa.Schema | None) -> pa.Table:
    """A JSON-lines or CSV piece; with ``schema``, values are parsed straight to its types."""
    try:
        if piece.byte_range is None:
            with pa.input_stream(piece.path, compression=_compression(piece.path)) as f:
                data = f.read()
        else:
            start, end = piece.byte_range
            with open(piece.path, "rb") as f:
                f.seek(start)
                data = f.read(end - start)
    except OSError as exc:  # a truncated or damaged compressed file, an unreadable one
        msg = f"{piece.path}: cannot read it: {exc}"
        raise ConfigError(msg) from None
    try:
        if piece.format == "json":
            if piece.byte_range is None or piece.byte_range[0] == 0:
                data = data.removeprefix(BOM_UTF8)  # as Spark's reader, which skips it
            return _read_json(data, schema)
        return _read_csv(data, options, schema)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
        where = "" if piece.byte_range is None else f" (bytes {piece.byte_range[0]}-{piece.byte_range[1]})"
        msg = f"{piece.path}{where}: cannot read it as {piece.format}: {exc}"
        raise ConfigError(msg) from None


def _compression(path: str) -> str | None:
    """How a text file is compressed, from its suffix (None: not)."""
    return COMPRESSIONS.get(Path(path).suffix.lower())


def _empty(schema: pa.Schema | None) -> pa.Table:
    """No rows: ``schema``'s columns when reading, none when planning."""
    return schema.empty_table() if schema is not None else pa.table({})


def _parse_json(data: bytes, schema: pa.Schema | None) -> pa.Table:
    import pyarrow.json as pj

    parse = pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="error") if schema else None

    def read(text: bytes) -> pa.Table:
        try:
            return pj.read_json(io.BytesIO(text), parse_options=parse)
        except pa.ArrowInvalid as exc:
            if "straddl" not in str(exc):
                raise
        # a line longer than pyarrow's block (1 MiB): blocks as large as the longest line
        block = pj.ReadOptions(block_size=max(map(len, text.splitlines())) + 1)
        return pj.read_json(io.BytesIO(text), read_options=block, parse_options=parse)

    try:
        return read(data)
    except pa.ArrowInvalid:
        # values whose kinds disagree (numbers and text): text, as Spark reads them
        text = mixed_as_text(data, schema)
        if text is None:
            raise
    return read(text)


#: A line that does not start with "{" (blank lines aside): not an object, or not on one line.
_OTHER_LINE = re.compile(rb"^[ \t\r]*[^{ \t\r\n]", re.MULTILINE)
_OBJECT_LINE = re.compile(rb"^[ \t\r]*\{", re.MULTILINE)


def _read_json(data: bytes, schema: pa.Schema | None) -> pa.Table:
    """JSON lines in one pyarrow pass; a piece that pass refuses is read again line by line.

    pyarrow only sees pieces whose every line starts with "{" (it crashes the process on some
    others, such as a first line ``null``) and that nest no deeper than 1,000 levels (its reader
    recurses per level and crashes the process near 17,000; Python's ``json`` then refuses such a
    line, a corrupt record), and its rows are kept only when they are one per line (it reads
    ``{...}{...}`` on one line as two rows; Spark and the line-by-line pass do not).
    """
    if not data.strip(_JSON_SPACE):
        return _empty(schema)  # pyarrow refuses an empty file; Spark reads no rows from it
    error: pa.ArrowInvalid | None = None
    if _OTHER_LINE.search(data) is None and not too_deep_for_arrow(data):
        try:
            table = _parse_json(data, schema)
        except pa.ArrowInvalid as exc:
            error = exc
        else:
            if table.num_rows == len(_OBJECT_LINE.findall(data)):
                return table
    table = _read_json_lines(data, schema)
    if table is None:
        # every line is one object: the lines disagree on a type, no line is corrupt
        raise error if error is not None else pa.ArrowInvalid("the lines could not be read as JSON objects")
    return table


def _read_json_lines(data: bytes, schema: pa.Schema | None) -> pa.Table | None:
    """Spark's PERMISSIVE mode: a line that is not a JSON object is a row of nulls whose
    ``_corrupt_record`` is the line's text (a line ``null`` only when other lines are corrupt, as
    Spark's own schema inference has it); the other lines are parsed as in a clean file.
    None when every line is an object.
    """
    lines = [line for line in data.splitlines() if line.strip(_JSON_SPACE)]  # blank lines are no rows
    good = np.fromiter((_is_object(line) for line in lines), dtype=bool, count=len(lines))
    if good.all():
        return None
    try:
        good_lines = b"\n".join(line for line, ok in zip(lines, good, strict=True) if ok)
        parsed = _parse_json(good_lines, schema) if good.any() else _empty(schema)
    except pa.ArrowInvalid as exc:
        msg = f"{exc} (rows counted without the {int((~good).sum())} line(s) that are not JSON objects)"
        raise pa.ArrowInvalid(msg) from None
    # the good rows at their own positions, null rows at the corrupt lines'
    index = pa.array(np.cumsum(good) - 1, mask=~good)
    # Spark reads a line `null` as a row of nulls, and as a corrupt record only when the source has
    # other corrupt lines too (its schema then has the column: here, the planning pass's schema)
    nulls = np.fromiter((line.strip(_JSON_SPACE) == b"null" for line in lines), dtype=bool, count=len(lines))
    others = bool((~good & ~nulls).any())
    with_column = others or (schema is not None and CORRUPT_COLUMN in schema.names)
    corrupt = ~good if with_column else np.zeros(len(lines), dtype=bool)
    raw = pa.array(
        [line.decode("utf-8", "replace") if bad else None for line, bad in zip(lines, corrupt, strict=True)],
        pa.string(),
    )
    names, columns = [], []
    for name, column in zip(parsed.column_names, parsed.columns, strict=True):
        taken = column.take(index)
        if name == CORRUPT_COLUMN:  # in the read pass's schema, or a key of the data itself
            taken = pc.coalesce(raw, taken.combine_chunks().cast(pa.string()))
        names.append(name)
        columns.append(taken)
    if CORRUPT_COLUMN not in names and with_column:
        names.append(CORRUPT_COLUMN)
        columns.append(raw)
    if not columns:  # only `null` lines: rows of nulls, no field (a table of no columns keeps its rows)
        return pa.table({"": pa.nulls(len(lines))}).select([])
    return pa.Table.from_arrays(columns, names=names)


def _is_object(line: bytes) -> bool:
    """Whether a line is one JSON object in UTF-8 (a lone surrogate, which pyarrow refuses, is not)
    that pyarrow may read (one nested deeper than 1,000 levels is not: it would crash the process).

    A repeated key passes: pyarrow then refuses the piece and the job fails, as Spark's does.
    """
    if too_deep_for_arrow(line):  # Python's json refuses it too, unless the recursion limit is raised
        return False
    try:
        value = json.loads(line.decode("utf-8"))
        if b"\\u" in line:  # json.loads keeps a surrogate without its pair; encoding refuses it
            json.dumps(value, ensure_ascii=False).encode("utf-8")
    except (ValueError, RecursionError):  # UnicodeError is a ValueError
        return False
    return isinstance(value, dict)


def _read_csv(data: bytes, options: dict[str, Any], schema: pa.Schema | None) -> pa.Table:
    """CSV in one pyarrow pass; rows with the wrong number of fields become corrupt rows (see
    :func:`_with_ragged_rows`), at their own positions."""
    from pyarrow import csv

    if not data.strip(b"\r\n"):
        return _empty(schema)  # pyarrow refuses a file without lines; Spark reads no rows from it
    header = options.get("header", True)
    names = None
    if not header and schema is not None:
        names = [n for n in schema.names if n != CORRUPT_COLUMN]  # the column the reader adds
    delimiter, quote = options.get("delimiter", options.get("sep", ",")), options.get("quote", '"')
    ragged: list[Any] = []  # pyarrow's InvalidRow of each record with the wrong number of fields

    def skip(row: Any) -> str:
        ragged.append(row)
        return "skip"

    def read_options(threads: bool = True) -> Any:
        return csv.ReadOptions(
            column_names=names, autogenerate_column_names=not header and names is None, use_threads=threads
        )

    # a quoted value may hold line breaks: without this, a block of Arrow's reader may start inside
    # one, and its pieces become rows that are not in the file
    parse = csv.ParseOptions(
        delimiter=delimiter, quote_char=quote, newlines_in_values=True, invalid_row_handler=skip
    )
    types: pa.Schema | dict[str, pa.DataType] | None = schema
    if types is None and not options.get("inferSchema", False):
        # as Spark: every column is text unless asked to infer ("02134" stays "02134")
        names_found = csv.open_csv(
            io.BytesIO(data), read_options=read_options(), parse_options=parse
        ).schema.names
        types = dict.fromkeys(names_found, pa.string())
        ragged.clear()  # the first block again, below
    nulls = options.get("null_values", "")  # as Spark: only an empty field is null
    null_values = [nulls] if isinstance(nulls, str) else list(nulls)
    convert = csv.ConvertOptions(
        column_types=types,
        null_values=null_values,
        strings_can_be_null=True,
        # as Spark infers them: only true/false are booleans (1 and 0 stay numbers)
        true_values=["true", "True", "TRUE"],
        false_values=["false", "False", "FALSE"],
    )
    if types is None:  # inferred: the types Spark's inference would give (see _spark_inferred)
        convert = _spark_inferred(data, read_options(), parse, convert)
    table = csv.read_csv(
        io.BytesIO(data), read_options=read_options(), parse_options=parse, convert_options=convert
    )
    if not ragged:
        return table
    if any(row.number is None for row in ragged):  # pyarrow numbers rows only when single-threaded
        ragged.clear()
        table = csv.read_csv(
            io.BytesIO(data), read_options=read_options(False), parse_options=parse, convert_options=convert
        )
    first = 2 if header else 1  # pyarrow numbers records from 1, the header included
    rows = [(row.number - first, row.text) for row in ragged]
    return _with_ragged_rows(table, rows, delimiter, quote, set(null_values))


def _spark_inferred(data: bytes, read: Any, parse: Any, convert: Any) -> Any:
    """``convert`` with the column types pyarrow infers for CSV ``data``, moved to Spark's where they
    differ: integers that fit 32 bits are ints; a time of day is text; a double column that holds
    `NaN` or `Infinity` is text, and one of integers too large for a long is a decimal (pyarrow
    made doubles of both, the second losing digits)."""
    from pyarrow import csv

    quiet = csv.ParseOptions(
        delimiter=parse.delimiter,
        quote_char=parse.quote_char,
        newlines_in_values=True,
        invalid_row_handler=lambda row: "skip",
    )
    inferred = csv.read_csv(io.BytesIO(data), read_options=read, parse_options=quiet, convert_options=convert)
    types = dict(zip(inferred.column_names, inferred.schema.types, strict=True))
    doubles = [n for n, t in types.items() if pa.types.is_floating(t)]
    for name, t in types.items():
        if pa.types.is_time(t):
            types[name] = pa.string()
        elif t == pa.int64():  # Spark's inference tries int before long
            low, high = pc.min_max(inferred.column(name)).values()
            if low.as_py() is None or (-(2**31) <= low.as_py() and high.as_py() < 2**31):
                types[name] = pa.int32()
    if doubles:
        as_text = csv.ConvertOptions(
            column_types=dict.fromkeys(doubles, pa.string()),
            include_columns=doubles,
            null_values=convert.null_values,
            strings_can_be_null=True,
        )
        text = csv.read_csv(io.BytesIO(data), read_options=read, parse_options=quiet, convert_options=as_text)
        for name in doubles:
            values = pc.drop_null(text.column(name))
            if bool(
                pc.any(
                    pc.match_substring_regex(values, r"^[+-]?(nan|inf|infinity)$", ignore_case=True)
                ).as_py()
            ):
                types[name] = pa.string()
            elif len(values) and bool(pc.all(pc.match_substring_regex(values, r"^[+-]?\d{1,38}$")).as_py()):
                digits = pc.utf8_length(pc.replace_substring_regex(values, r"^[+-]", ""))
                types[name] = pa.decimal128(pc.max(digits).as_py(), 0)  # as Spark: the widest value's digits
    return csv.ConvertOptions(
        column_types=types,
        null_values=convert.null_values,
        strings_can_be_null=True,
        true_values=convert.true_values,
        false_values=convert.false_values,
    )


def _with_ragged_rows(
    table: pa.Table, ragged: list[tuple[int, str]], delimiter: str, quote: str, nulls: set[str]
) -> pa.Table:
    """``table`` (the well-formed records) with the ragged ones put back at their positions.

    As Spark's PERMISSIVE CSV reader with a ``_corrupt_record`` column: a record with too few or
    too many fields keeps its first fields in the first columns (the missing ones null, the extra
    ones dropped) and its text in ``_corrupt_record``, so the core quarantines it.
    """
    import csv as pycsv

    n = table.num_rows + len(ragged)
    at = np.array([i for i, _ in ragged], dtype=np.int64)
    bad = np.zeros(n, dtype=bool)
    bad[at] = True
    # position -> row of concat(well-formed, ragged)
    order = np.empty(n, dtype=np.int64)
    order[~bad] = np.arange(table.num_rows)
    order[at] = table.num_rows + np.arange(len(ragged))
    fields = [
        next(pycsv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quotechar=quote), [])
        for _, text in ragged
    ]
    columns = []
    for j, f in enumerate(table.schema):
        values = [row[j] if j < len(row) and row[j] not in nulls else None for row in fields]
        columns.append(_cast_or_null(values, f.type))
    extra = pa.Table.from_arrays(columns, schema=table.schema)
    whole = pa.concat_tables([table.replace_schema_metadata(None), extra]).take(pa.array(order))
    texts: list[str | None] = [None] * n
    for i, text in ragged:
        texts[i] = text
    raw = pa.array(texts, pa.string())
    if CORRUPT_COLUMN in whole.column_names:  # a column of the file itself: the raw text first
        i = whole.schema.get_field_index(CORRUPT_COLUMN)
        merged = pc.coalesce(raw, whole.column(i).combine_chunks().cast(pa.string()))
        return whole.set_column(i, pa.field(CORRUPT_COLUMN, pa.string()), merged)
    return whole.append_column(CORRUPT_COLUMN, raw)


def _cast_or_null(values: list[str | None], target: pa.DataType) -> pa.Array:
    """Field texts as ``target`` (a text that does not convert is null, as a partial Spark row has it)."""
    text = pa.array(values, pa.string())
    try:
        return text.cast(target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        out = []
        for v in values:
            try:
                out.append(pa.scalar(v, pa.string()).cast(target).as_py())
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                out.append(None)
        return pa.array(out, target)


def _conform(table: pa.Table, schema: pa.Schema, piece: Piece) -> pa.Table:
    """The piece's table with exactly ``schema``'s columns and types (absent ones all-null)."""
    if table.schema.equals(schema, check_metadata=False):
        return table.replace_schema_metadata(None)
    extra = [n for n in table.column_names if schema.get_field_index(n) < 0]
    if extra:
        msg = f"{piece.path}: columns {extra} are not in the source schema found when planning the job"
        raise ConfigError(msg)
    columns = []
    for target in schema:
        if target.name in table.column_names:
            column = table.column(target.name)
            try:
                columns.append(column.cast(target.type))
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:  # files whose types disagree
                msg = (
                    f"{piece.path}: column {target.name!r} is {column.type} here and {target.type} in the "
                    f"source's schema, and its values do not convert ({exc})"
                )
                raise ConfigError(msg) from None
        else:
            columns.append(pa.chunked_array([pa.nulls(table.num_rows, target.type)], type=target.type))
    return pa.Table.from_arrays(columns, schema=schema)


def write_parquet(frame: dd.DataFrame, directory: str | os.PathLike[str], schema: pa.Schema) -> dd.DataFrame:
    """A lazy write of ``frame`` as ``directory/part.NNNNN.parquet``, one file per partition.

    Each partition is converted to Arrow with ``schema`` (and no pandas metadata: pandas cannot
    read back the names of nested Arrow dtypes) and written to a hidden temporary name, then
    renamed, so a task that is killed and retried never leaves a partial file. Compute the result
    (one row per partition: ``rows`` written) together with the other sinks of the same graph.
    """
    return frame.map_partitions(
        _write_partition,
        directory=str(directory),
        schema=schema,
        meta=pd.DataFrame({"rows": pd.Series([], dtype="int64")}),
        enforce_metadata=False,
    )


def _write_partition(
    frame: pd.DataFrame, *, directory: str, schema: pa.Schema, partition_info: dict[str, Any] | None = None
) -> pd.DataFrame:
    """Write one partition; the file name comes from the partition number, so a retry overwrites."""
    number = int(partition_info["number"]) if partition_info else 0
    table = pa.Table.from_pandas(frame, schema=schema, preserve_index=False).replace_schema_metadata(None)
    return pd.DataFrame({"rows": [write_table(table, directory, number)]})


def write_table(table: pa.Table, directory: str | os.PathLike[str], number: int) -> int:
    """Write ``table`` as ``directory/part.NNNNN.parquet`` through a temporary name; its row count.

    The name comes from the partition number, so a retried task overwrites its own file.
    """
    import pyarrow.parquet as pq

    target = Path(directory) / f"part.{number:05d}.parquet"
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, target)
    return table.num_rows


def _frame(table: pa.Table) -> pd.DataFrame:
    """An Arrow table as a pandas frame of ``pd.ArrowDtype`` columns (no copies, no re-typing)."""
    return pd.DataFrame(
        {name: pd.arrays.ArrowExtensionArray(table.column(name)) for name in table.column_names},
        index=pd.RangeIndex(table.num_rows),
    )
