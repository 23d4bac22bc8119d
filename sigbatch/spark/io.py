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
from sigbatch.quarantine import ROW_COLUMN

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

    from sigbatch.config import SourceConfig

__all__ = [
    "FILE_COLUMN",
    "IDENTITY_COLUMNS",
    "OFFSET_COLUMN",
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
