"""Spark sources and sinks for scoring jobs: read with row identity, write through Spark's committers.

Row identity is what lets an auditor find the original record of a quarantined row. For file
sources :func:`read_source` adds, from Spark's hidden ``_metadata`` column:

* ``_sigbatch_file``: the source file (``_metadata.file_path``);
* ``_sigbatch_file_offset``: the byte offset of the file split the row was read from;
* ``_sigbatch_row`` (Parquet only): the row's index in its file (``_metadata.row_index``).

For JSON, CSV and ORC Spark has no row index, so the scorer numbers the records of each split in
the order the split is read: ``_sigbatch_row`` is then the record's index counted from byte
``_sigbatch_file_offset`` (0 when Spark read the whole file as one split, always 0 for Parquet).
Both are functions of the file and the split, never of timing, so a retried task numbers its rows
the same way. When the config names ``output.key_columns`` those columns identify a record and no
file identity is read.

Example:
    >>> from sigbatch.spark.io import IDENTITY_COLUMNS
    >>> IDENTITY_COLUMNS
    ('_sigbatch_file', '_sigbatch_file_offset', '_sigbatch_row')
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING, Any

from py4j.protocol import Py4JJavaError
from pyspark.errors import AnalysisException
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructField, StructType

from sigbatch.errors import ConfigError, DependencyError
from sigbatch.manifest import is_uri
from sigbatch.quarantine import CORRUPT_COLUMN, FILE_COLUMN, IDENTITY_COLUMNS, OFFSET_COLUMN, ROW_COLUMN

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from sigbatch.config import SourceConfig

__all__ = [
    "FILE_COLUMN",
    "IDENTITY_COLUMNS",
    "OFFSET_COLUMN",
    "HadoopOutput",
    "file_id",
    "file_paths",
    "is_uri",
    "quoted",
    "read_source",
    "with_source_identity",
    "write_output",
]


def quoted(name: str) -> str:
    """A column name as Spark SQL reads it literally (dots and backticks included)."""
    return "`" + name.replace("`", "``") + "`"


def _options(options: dict[str, Any]) -> dict[str, str]:
    """Reader options as Spark wants them (YAML booleans as ``true``/``false``)."""
    return {k: (str(v).lower() if isinstance(v, bool) else str(v)) for k, v in options.items()}


def read_source(spark: SparkSession, source: SourceConfig) -> DataFrame:
    """The source rows, as the config describes them (a path and format, or a table name).

    A CSV source is read again with the schema of the first read (text, or the types
    ``inferSchema: true`` found) plus a ``_corrupt_record`` column, as Spark's JSON reader has
    one: a record with too few or too many
    fields keeps its first fields (missing ones null, extra ones dropped) and its text there, so
    the core quarantines it as a parse error instead of scoring a padded or cut row. Options
    ``columnNameOfCorruptRecord`` or a ``mode`` other than PERMISSIVE leave the read as asked.
    CSV is read with ``multiLine`` (a quoted field may hold a line break) and ``header`` (the first
    line names the columns), as the Dask job reads it, unless the options set them.

    Example:
        from sigbatch.config import SourceConfig
        df = read_source(spark, SourceConfig("lake/", None, "parquet"))
    """
    reader = spark.read.options(**_options(source.options))
    if source.table is not None:
        try:
            return reader.table(source.table)
        except AnalysisException as exc:
            msg = f"source.table {source.table!r}: {_first_line(exc)}"
            raise ConfigError(msg) from None
    if source.path is None:  # pragma: no cover - the config loader refuses this
        msg = "set 'source.path' or 'source.table'"
        raise ConfigError(msg)
    given = {k.lower() for k in source.options}
    if source.format.lower() == "csv":
        # as the Dask job reads CSV: a quoted field may hold a line break (each file one partition),
        # and the first line is the header
        if "multiline" not in given:
            reader = reader.option("multiLine", True)
        if "header" not in given:
            reader = reader.option("header", True)
    try:
        df = reader.format(source.format).load(source.path)
        if _csv_with_corrupt_records(source, df):
            # the header's all-text schema plus the column Spark fills for malformed records
            schema = StructType([*df.schema.fields, StructField(CORRUPT_COLUMN, StringType(), True)])
            df = (
                reader.schema(schema)
                .option("mode", "PERMISSIVE")
                .option("columnNameOfCorruptRecord", CORRUPT_COLUMN)
                .load(source.path)
            )
        return df
    except (AnalysisException, Py4JJavaError) as exc:  # no such path, no such filesystem, another format
        msg = f"source.path {source.path!r} (source.format {source.format}): {_first_line(exc)}"
        raise ConfigError(msg) from None


def _csv_with_corrupt_records(source: SourceConfig, df: DataFrame) -> bool:
    """Whether to read a CSV source again with a ``_corrupt_record`` column (see :func:`read_source`)."""
    options = {k.lower(): str(v).lower() for k, v in source.options.items()}
    return (
        source.format.lower() == "csv"
        and "columnnameofcorruptrecord" not in options
        and options.get("mode", "permissive") == "permissive"
        and bool(df.columns)  # an empty source: nothing to read
        and CORRUPT_COLUMN not in df.columns
    )


def positional(df: DataFrame) -> DataFrame:
    """``df`` with its columns renamed by position (``_sigbatch_in_0``, ...), for a ``mapInArrow``
    stage: Spark cannot resolve a column named ``a.b``, nor one with a backtick, there. The
    function run by the stage renames each batch's columns back to ``df.columns``."""
    return df.toDF(*[f"_sigbatch_in_{i}" for i in range(len(df.columns))])


def _first_line(exc: Exception) -> str:
    """An exception's message without the JVM's stack trace and SQLSTATE lines."""
    if isinstance(exc, Py4JJavaError):
        return java_cause(exc)
    text = str(getattr(exc, "getMessage", lambda: "")() or exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


def java_cause(exc: Exception) -> str:
    """What went wrong in a failed Spark call, without Java's stack trace: ``Class: message`` (the
    class without its package) of the innermost JVM cause that has a message, or of PySpark's
    captured exception; a Python worker's traceback gives its last line."""
    if isinstance(exc, Py4JJavaError):
        cause = shown = exc.java_exception
        while cause.getCause() is not None and cause.getCause() != cause:
            cause = cause.getCause()
            if str(cause.getMessage() or "").strip():  # an EOFException below a crash says nothing
                shown = cause
        text = str(shown.toString())
    else:  # pyspark.errors' captured exceptions (PythonException, ...)
        text = f"{type(exc).__name__}: {exc}"
    lines = [line for line in text.strip().splitlines() if line.strip()]
    line = lines[0] if lines else "an error in the JVM"
    name, sep, message = line.partition(": ")
    if any(x.startswith("Traceback (most recent call last)") for x in lines):  # a Python worker's
        message = lines[-1].strip()
    return f"{name.rsplit('.', 1)[-1]}{sep}{message}"


def with_source_identity(df: DataFrame, fmt: str, *, file_ids: bool = False) -> DataFrame:
    """``df`` (a file scan) with the identity columns appended; unchanged when Spark has no file metadata.

    ``fmt`` is the source format; Parquet gets the exact row index of each row in its file. With
    ``file_ids``, ``_sigbatch_file`` is the file path's 64-bit hash (``xxhash64``, see
    :func:`file_id`) instead of its text: 8 bytes a row on their way to Python instead of the whole
    path, for a job that turns the ids of its few quarantined rows back into paths.
    """
    clash = [c for c in (*IDENTITY_COLUMNS, "_metadata") if c in df.columns]
    if clash or not _has_file_metadata(df):
        # a source column shadows the metadata column or an identity column, or the source is not
        # a file scan (a view, a join): keep the data as is
        return df
    path = F.col("_metadata.file_path")
    columns = [(F.xxhash64(path) if file_ids else path).alias(FILE_COLUMN)]
    if fmt == "parquet":
        # no offset column: a Parquet row's offset is 0, which the scorer writes itself (a constant
        # column costs as much as any other on its way to the Python workers)
        columns.append(F.col("_metadata.row_index").alias(ROW_COLUMN))
    else:
        columns.append(F.col("_metadata.file_block_start").alias(OFFSET_COLUMN))
    try:
        return df.select(*[F.col(quoted(c)) for c in df.columns], *columns)
    except AnalysisException:
        # not a file scan (a view, a Hive serde table): no file identity to add
        if fmt == "parquet":
            return with_source_identity(df, "", file_ids=file_ids)
        return df


def _has_file_metadata(df: DataFrame) -> bool:
    """Whether ``df`` offers the hidden ``_metadata`` column of a file scan, asked of its plan (a
    select that fails would have Spark log the error at ERROR level, with a JVM stack trace)."""
    try:
        meta = df._jdf.queryExecution().analyzed().metadataOutput()
        return any(str(meta.apply(i).name()) == "_metadata" for i in range(meta.size()))
    except Exception:  # pragma: no cover - another Spark's plan API: the select decides
        return True


# --- file ids: Spark's xxhash64 of a path, computed on the driver -----------------------------

_P1, _P2, _P3 = 0x9E3779B185EBCA87, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9
_P4, _P5 = 0x85EBCA77C2B2AE63, 0x27D4EB2F165667C5
_M64 = (1 << 64) - 1


def _rotl(x: int, r: int) -> int:
    return ((x << r) | (x >> (64 - r))) & _M64


def _round(acc: int, lane: int) -> int:
    return (_rotl((acc + lane * _P2) & _M64, 31) * _P1) & _M64


def file_id(path: str, seed: int = 42) -> int:
    """Spark's ``xxhash64`` of a string (XXH64 of its UTF-8 bytes, seed 42, as a signed long).

    The ids :func:`with_source_identity` gives files, computed here to turn ids back into paths
    without a Spark job. (Spark's ``hash`` family is specified by its output, so the test suite
    checks this function against Spark's own on many strings.)

    Example:
        >>> file_id("")
        -7444071767201028348
    """
    data = path.encode("utf-8")
    n, i = len(data), 0
    if n >= 32:
        v = [(seed + _P1 + _P2) & _M64, (seed + _P2) & _M64, seed & _M64, (seed - _P1) & _M64]
        while i + 32 <= n:
            for j in range(4):
                v[j] = _round(v[j], int.from_bytes(data[i + 8 * j : i + 8 * j + 8], "little"))
            i += 32
        h = (_rotl(v[0], 1) + _rotl(v[1], 7) + _rotl(v[2], 12) + _rotl(v[3], 18)) & _M64
        for lane in v:
            h = ((h ^ _round(0, lane)) * _P1 + _P4) & _M64
    else:
        h = (seed + _P5) & _M64
    h = (h + n) & _M64
    while i + 8 <= n:
        h ^= _round(0, int.from_bytes(data[i : i + 8], "little"))
        h = (_rotl(h, 27) * _P1 + _P4) & _M64
        i += 8
    if i + 4 <= n:
        h ^= (int.from_bytes(data[i : i + 4], "little") * _P1) & _M64
        h = (_rotl(h, 23) * _P2 + _P3) & _M64
        i += 4
    while i < n:
        h ^= (data[i] * _P5) & _M64
        h = (_rotl(h, 11) * _P1) & _M64
        i += 1
    h ^= h >> 33
    h = (h * _P2) & _M64
    h ^= h >> 29
    h = (h * _P3) & _M64
    h ^= h >> 32
    return h - (1 << 64) if h >= 1 << 63 else h


def file_paths(scan: DataFrame, ids: set[int]) -> dict[int, str]:
    """The paths (as Spark's ``_metadata.file_path`` spells them) of the files of ``scan`` with these ids.

    From the files Spark lists for the scan (no job; it stops once every id is found); an id none
    of them gives (another spelling of a path) is looked up in the scan's own metadata (a job over
    the scan, rare). Raises :class:`ValueError` when two of the listed paths it hashed share an id.
    """
    found: dict[int, str] = {}
    wanted = set(ids)
    for uri in scan.inputFiles() if wanted else ():
        # Spark lists local files as file:///x where _metadata.file_path says file:/x: that first
        spellings = ["file:/" + uri[len("file:///") :], uri] if uri.startswith("file:///") else [uri]
        for spelling in spellings:
            key = file_id(spelling)
            if found.setdefault(key, spelling) != spelling:
                msg = f"two source files share the id {key}: {found[key]!r} and {spelling!r}"
                raise ValueError(msg)
            if key in wanted:
                wanted.discard(key)
                break
        if not wanted:
            break
    if wanted:
        path = F.col("_metadata.file_path")
        rows = scan.select(F.xxhash64(path).alias("id"), path.alias("path")).where(
            F.col("id").isin(sorted(wanted))
        )
        found.update({int(r["id"]): str(r["path"]) for r in rows.distinct().collect()})
    return {i: found[i] for i in ids if i in found}


_DELTA_HINT = (
    "start Spark with Delta's package and session settings (see "
    "https://docs.delta.io/latest/quick-start.html), or use output.format=parquet"
)


def check_output_format(spark: SparkSession, fmt: str) -> None:
    """Fail before any work when Spark cannot write ``fmt``: Delta needs the ``delta-spark``
    package on the driver and its jars in the session (``spark.jars.packages``).

    Raises:
        DependencyError: The package or the session's data source is missing.
    """
    if fmt != "delta":
        return
    if importlib.util.find_spec("delta") is None:
        msg = f"output.format 'delta' needs Delta Lake: `pip install delta-spark` and {_DELTA_HINT}"
        raise DependencyError(msg)
    jvm = spark.sparkContext._jvm
    assert jvm is not None
    try:
        jvm.org.apache.spark.sql.execution.datasources.DataSource.lookupDataSource(
            fmt, spark._jsparkSession.sessionState().conf()
        )
    except Exception as exc:  # Py4JJavaError: Spark's DATA_SOURCE_NOT_FOUND
        msg = (
            "output.format 'delta': delta-spark is installed, but this Spark session has no Delta data "
            f"source (its jars are not on the classpath): {_DELTA_HINT}"
        )
        raise DependencyError(msg) from exc


def write_output(df: DataFrame, path: str, fmt: str) -> None:
    """Write one output directory through Spark's committer (``error`` mode: never over data).

    ``fmt`` is ``parquet`` or ``delta``; the job checks it once, before any work
    (:func:`check_output_format`).
    """
    df.write.format(fmt).mode("errorifexists").save(path)


# --- outputs the driver cannot read as local paths ---------------------------------------------


class HadoopOutput:
    """An output directory reached through Spark's Hadoop filesystem (any URI Spark can write).

    The job's bookkeeping goes through it: the overwrite check, the counts (read back by Spark
    from the written files, footers for row counts) and the manifest (written to a temporary name,
    then renamed), so the output needs no local mount on the driver.
    """

    def __init__(self, spark: SparkSession, uri: str) -> None:
        self.spark = spark
        self.uri = uri.rstrip("/")
        jvm = spark.sparkContext._jvm
        assert jvm is not None
        self._path = jvm.org.apache.hadoop.fs.Path(self.uri)
        try:
            self._fs = self._path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
        except Py4JJavaError as exc:  # e.g. s3a:// without the hadoop-aws jars
            msg = f"output.path {self.uri!r}: Spark cannot reach it: {java_cause(exc)}"
            raise ConfigError(msg) from None

    def child(self, name: str) -> str:
        """The URI of an entry of the directory."""
        return f"{self.uri}/{name}"

    def prepare(self, mode: str) -> None:
        """Check the directory for ``mode`` and create it, as :func:`~sigbatch.manifest.prepare_output`
        does for a local one: ``error`` refuses a non-empty one (stale staging aside); ``overwrite``
        deletes nothing yet (see :meth:`replace`)."""
        from sigbatch.errors import ConfigError
        from sigbatch.manifest import STAGING_PREFIX

        fs, path = self._fs, self._path
        if fs.exists(path):
            if not fs.getFileStatus(path).isDirectory():
                msg = f"output.path {self.uri} is a file, not a directory"
                raise ConfigError(msg)
            entries = [s.getPath().getName() for s in fs.listStatus(path)]
            if mode == "error" and any(not e.startswith(STAGING_PREFIX) for e in entries):
                msg = (
                    f"output {self.uri} already exists and output.mode is 'error'; choose another "
                    "output.path or set output.mode=overwrite"
                )
                raise ConfigError(msg)
        fs.mkdirs(path)

    def replace(self, staging: str, names: tuple[str, ...]) -> None:
        """Replace an earlier run's outputs (all of :data:`~sigbatch.manifest.JOB_ENTRIES`) with the
        entries ``names`` of the directory's entry ``staging``, then delete ``staging``."""
        from sigbatch.manifest import JOB_ENTRIES

        self.delete(JOB_ENTRIES)
        for name in names:
            source = self._entry(f"{staging}/{name}")
            if not self._fs.exists(source):
                self._fs.mkdirs(source)
            if not self._fs.rename(source, self._entry(name)):
                msg = f"could not rename {self.child(f'{staging}/{name}')} to {self.child(name)}"
                raise OSError(msg)
        self.delete((staging,))

    def delete(self, names: tuple[str, ...]) -> None:
        """Delete these entries of the directory (recursively), where they exist."""
        for name in names:
            self._fs.delete(self._entry(name), True)

    def write_text(self, name: str, text: str) -> None:
        """Write a small file, atomically: a temporary name, then a rename over the target."""
        target, tmp = self._entry(name), self._entry(f".{name}.tmp")
        stream = self._fs.create(tmp, True)
        try:
            stream.write(bytearray(text.encode("utf-8")))
        finally:
            stream.close()
        self._fs.delete(target, False)
        if not self._fs.rename(tmp, target):
            msg = f"could not rename {tmp} to {target}"
            raise OSError(msg)

    def counts(self, scored: str, quarantine: str, fmt: str, rows_in: int) -> Any:
        """:class:`~sigbatch.manifest.Counts` of the written outputs, as Spark reads them back."""
        from sigbatch.manifest import Counts
        from sigbatch.quarantine import ERRORS_COLUMN, STAGE_COLUMN

        reader = self.spark.read.format(fmt)
        n_scored = reader.load(self.child(scored)).count()
        bad = reader.load(self.child(quarantine))
        n_bad = bad.count()
        by_stage = {r[0]: int(r[1]) for r in bad.groupBy(STAGE_COLUMN).count().collect()}
        # a row counts once per code it carries
        codes = bad.select(F.explode(F.array_distinct(F.col(f"`{ERRORS_COLUMN}`.code"))).alias("code"))
        by_code = {r[0]: int(r[1]) for r in codes.groupBy("code").count().collect()}
        return Counts(rows_in, n_scored, n_bad, dict(sorted(by_stage.items())), dict(sorted(by_code.items())))

    def _entry(self, name: str) -> Any:
        jvm = self.spark.sparkContext._jvm
        assert jvm is not None
        return jvm.org.apache.hadoop.fs.Path(self.child(name))
