"""Spark backend: signature types as Spark types, scoring with per-row quarantine (:func:`score`,
:func:`run_scoring`) and lake-scale inference (:func:`infer_schema`).

Example:
    >>> from sigbatch import ColSpec, Schema
    >>> from sigbatch.spark import to_struct_type
    >>> to_struct_type(Schema([ColSpec("long", "n")])).simpleString()
    'struct<n:bigint>'
"""

from __future__ import annotations

from sigbatch.spark.infer import infer_schema
from sigbatch.spark.score import run_scoring, score
from sigbatch.spark.types import from_spark_type, from_struct_type, to_spark_type, to_struct_type

__all__ = [
    "from_spark_type",
    "from_struct_type",
    "infer_schema",
    "run_scoring",
    "score",
    "to_spark_type",
    "to_struct_type",
]
