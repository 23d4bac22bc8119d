"""Signature inference: MLflow's rules, on sigbatch types.

* :func:`infer_signature` / :func:`infer_schema` / :func:`infer_param_schema`: in-memory inference
  giving exactly MLflow's results (:mod:`sigbatch.infer.local`).
* :func:`infer_value_type` / :func:`infer_element_type` / :func:`merge_types`: the value-level
  rules and the type merge they share with lake-scale inference (:mod:`sigbatch.infer.values`).
* :func:`infer_series_type` / :func:`series_required` / :func:`infer_dtype_type`: pandas columns,
  typed from their dtype where it decides (:mod:`sigbatch.infer.columns`).

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
from sigbatch.infer.hints import dataclass_schema
from sigbatch.infer.local import (
    INTEGER_COLUMNS_HINT,
    infer_param_schema,
    infer_schema,
    infer_signature,
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
    "INTEGER_COLUMNS_HINT",
    "MULTIPLE_TYPES_ERROR_MSG",
    "arrow_column_spec",
    "dataclass_schema",
    "has_missing",
    "infer_dtype_type",
    "infer_element_type",
    "infer_param_schema",
    "infer_schema",
    "infer_series_type",
    "infer_signature",
    "infer_value_type",
    "is_missing",
    "merge_types",
    "series_required",
]
