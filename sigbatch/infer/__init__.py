"""Signature inference: MLflow's rules, on sigbatch types.

* :func:`infer_signature` / :func:`infer_schema` / :func:`infer_param_schema`: in-memory inference
  giving exactly MLflow's results (:mod:`sigbatch.infer.local`).
* :func:`infer_value_type` / :func:`infer_element_type` / :func:`merge_types`: the value-level
  rules and the type merge they share with lake-scale inference (:mod:`sigbatch.infer.values`).
* :func:`infer_series_type` / :func:`series_required` / :func:`infer_dtype_type`: pandas columns,
  typed from their dtype where it decides (:mod:`sigbatch.infer.columns`).
* :class:`Partial` and :func:`merge`: what one partition's rows say, mergeable in any order
  (:mod:`sigbatch.infer.partial`); :func:`finalize` turns a partial into a schema and a
  :class:`Report` under a conflict policy (:mod:`sigbatch.infer.finalize`).
* :func:`infer_files`: lake-scale inference over Parquet, JSON lines or CSV files on this machine
  (:mod:`sigbatch.infer.lake`); ``sigbatch.spark.infer_schema`` and ``sigbatch.dask.infer_schema``
  run the same per-partition work on a cluster.

Example:
    >>> from sigbatch.infer import infer_schema
    >>> infer_schema([{"a": "x"}, {"a": "y", "b": True}])
    ['a': string (required), 'b': boolean (optional)]
"""

from __future__ import annotations

from sigbatch.infer.columns import (
    arrow_column_spec,
    infer_dtype_type,
    infer_series_type,
    series_required,
)
from sigbatch.infer.finalize import (
    POLICIES,
    Conflict,
    FieldStats,
    InferenceResult,
    Report,
    Selection,
    finalize,
)
from sigbatch.infer.hints import dataclass_schema
from sigbatch.infer.lake import choose_partitions, infer_files, plan_files, read_task
from sigbatch.infer.local import (
    INTEGER_COLUMNS_HINT,
    infer_param_schema,
    infer_schema,
    infer_signature,
)
from sigbatch.infer.partial import (
    EMPTY,
    FieldPartial,
    Partial,
    Sample,
    merge,
    merge_all,
    partial_from_frame,
    partial_from_records,
    partial_from_table,
    partial_from_text,
)
from sigbatch.infer.values import (
    MULTIPLE_TYPES_ERROR_MSG,
    has_missing,
    infer_element_type,
    infer_value_type,
    is_missing,
    merge_types,
)

__all__ = [
    "EMPTY",
    "INTEGER_COLUMNS_HINT",
    "MULTIPLE_TYPES_ERROR_MSG",
    "POLICIES",
    "Conflict",
    "FieldPartial",
    "FieldStats",
    "InferenceResult",
    "Partial",
    "Report",
    "Sample",
    "Selection",
    "arrow_column_spec",
    "choose_partitions",
    "dataclass_schema",
    "finalize",
    "has_missing",
    "infer_dtype_type",
    "infer_element_type",
    "infer_files",
    "infer_param_schema",
    "infer_schema",
    "infer_series_type",
    "infer_signature",
    "infer_value_type",
    "is_missing",
    "merge",
    "merge_all",
    "merge_types",
    "partial_from_frame",
    "partial_from_records",
    "partial_from_table",
    "partial_from_text",
    "plan_files",
    "read_task",
    "series_required",
]
