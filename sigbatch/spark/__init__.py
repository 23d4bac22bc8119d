"""Spark backend: signature schemas as Spark types (more to come: scoring, inference, I/O).

Example:
    >>> from sigbatch import ColSpec, Schema
    >>> from sigbatch.spark import to_struct_type
    >>> to_struct_type(Schema([ColSpec("long", "n")])).simpleString()
    'struct<n:bigint>'
"""

from __future__ import annotations

from sigbatch.spark.types import from_spark_type, from_struct_type, to_spark_type, to_struct_type

__all__ = [
    "from_spark_type",
    "from_struct_type",
    "to_spark_type",
    "to_struct_type",
]
from sigbatch.spark.infer import infer_schema as infer_schema  # issue 4: lake-scale inference
from sigbatch.spark.score import run_scoring, score  # noqa: F401  (issue 5: Spark scoring)
