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

from pyspark.errors import AnalysisException
from pyspark.sql import functions as F

from sigbatch.errors import ConfigError, DependencyError
from sigbatch.manifest import is_uri
from sigbatch.quarantine import ROW_COLUMN

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from sigbatch.config import SourceConfig

__all__ = [
    "FILE_COLUMN",
    "IDENTITY_COLUMNS",
    "OFFSET_COLUMN",
    "HadoopOutput",
    "is_uri",
    "quoted",
    "read_source",
    "with_source_identity",
    "write_output",
]

FILE_COLUMN = "_sigbatch_file"
OFFSET_COLUMN = "_sigbatch_file_offset"
IDENTITY_COLUMNS = (FILE_COLUMN, OFFSET_COLUMN, ROW_COLUMN)


def quoted(name: str) -> str:
    """A column name as Spark SQL reads it literally (dots and backticks included)."""
    return "`" + name.replace("`", "``") + "`"


def _options(options: dict[str, Any]) -> dict[str, str]:
    """Reader options as Spark wants them (YAML booleans as ``true``/``false``)."""
    return {k: (str(v).lower() if isinstance(v, bool) else str(v)) for k, v in options.items()}


def read_source(spark: SparkSession, source: SourceConfig) -> DataFrame:
    """The source rows, as the config describes them (a path and format, or a table name).

    Example:
        from sigbatch.config import SourceConfig
        df = read_source(spark, SourceConfig("lake/", None, "parquet"))
    """
    reader = spark.read.options(**_options(source.options))
    if source.table is not None:
        return reader.table(source.table)
    if source.path is None:  # pragma: no cover - the config loader refuses this
        msg = "set 'source.path' or 'source.table'"
        raise ConfigError(msg)
    return reader.format(source.format).load(source.path)


def with_source_identity(df: DataFrame, fmt: str) -> DataFrame:
    """``df`` (a file scan) with the identity columns appended; unchanged when Spark has no file metadata.

    ``fmt`` is the source format; Parquet gets the exact row index of each row in its file.
    """
    clash = [c for c in (*IDENTITY_COLUMNS, "_metadata") if c in df.columns]
    if clash:
        # a source column shadows the metadata column or an identity column: keep the data as is
        return df
    columns = [F.col("_metadata.file_path").alias(FILE_COLUMN)]
    if fmt == "parquet":
        columns += [
            F.lit(0).cast("bigint").alias(OFFSET_COLUMN),
            F.col("_metadata.row_index").alias(ROW_COLUMN),
        ]
    else:
        columns.append(F.col("_metadata.file_block_start").alias(OFFSET_COLUMN))
    try:
        return df.select(*[F.col(quoted(c)) for c in df.columns], *columns)
    except AnalysisException:
        # not a file scan (a view, a Hive serde table): no file identity to add
        if fmt == "parquet":
            return with_source_identity(df, "")
        return df


def write_output(df: DataFrame, path: str, fmt: str) -> None:
    """Write one output directory through Spark's committer (``error`` mode: never over data).

    ``fmt`` is ``parquet`` or ``delta`` (needs the ``delta-spark`` package and its jars).
    """
    if fmt == "delta" and importlib.util.find_spec("delta") is None:
        msg = (
            "output.format 'delta' needs Delta Lake: `pip install delta-spark` and start Spark with "
            "its package (see https://docs.delta.io/latest/quick-start.html), or use output.format=parquet"
        )
        raise DependencyError(msg)
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
        self._fs = self._path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())

    def child(self, name: str) -> str:
        """The URI of an entry of the directory."""
        return f"{self.uri}/{name}"

    def prepare(self, mode: str, names: tuple[str, ...]) -> None:
        """Check the directory for ``mode``: ``error`` refuses a non-empty one, ``overwrite``
        deletes the job's own entries (``names``) and leaves the rest."""
        from sigbatch.errors import ConfigError

        fs, path = self._fs, self._path
        if fs.exists(path) and len(fs.listStatus(path)) > 0:
            if mode == "error":
                msg = (
                    f"output {self.uri} already exists and output.mode is 'error'; choose another "
                    "output.path or set output.mode=overwrite"
                )
                raise ConfigError(msg)
            if mode == "overwrite":
                for name in names:
                    fs.delete(self._entry(name), True)
        fs.mkdirs(path)

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
