"""MLflow's exception messages for a refused batch (``enforce(..., on_error="raise")``).

MLflow stops at the first problem of a batch and raises one message; sigbatch finds every problem
of every row. For callers who want MLflow's behaviour exactly, this module reproduces the message
MLflow's ``pyfunc.predict`` raises for the same batch, by the same order of checks.
"""

from __future__ import annotations

import copy
from typing import Any

import pandas as pd
import pyarrow as pa

from sigbatch.errors import EnforcementError
from sigbatch.pyvalues import ColumnViolation, check_value, conform_series, mlflow_error
from sigbatch.types import DataType, Schema

__all__ = ["mlflow_failure", "raise_like_mlflow"]


def _as_frame(data: Any) -> pd.DataFrame:
    if isinstance(data, pa.RecordBatch):
        data = pa.Table.from_batches([data])
    if isinstance(data, pa.Table):
        return pd.DataFrame({name: data.column(name).to_pylist() for name in data.column_names})
    if isinstance(data, pd.DataFrame):
        return data
    if isinstance(data, dict):
        return pd.DataFrame([data])
    return pd.DataFrame(data)


def _inner_failure(data: Any, schema: Schema) -> str | None:
    try:
        df = _as_frame(data)
    except Exception as exc:
        return str(exc)
    if schema.has_input_names():
        names = schema.input_names()
        missing = [n for n in schema.required_input_names() if n not in df.columns]
        if missing:
            message = f"Model is missing inputs {missing}."
            # MLflow lists extra columns in the iteration order of a set of the column names
            optional = set(schema.optional_input_names())
            extra = [c for c in set(df.columns) if c not in set(names) and c not in optional]
            if extra:
                message += f" Note that there were extra inputs: {extra}."
            return message
        columns: dict[Any, pd.Series] = {
            spec.name: df[spec.name] for spec in schema.inputs if spec.name in df.columns
        }
    else:
        if len(df.columns) < len(schema.inputs):
            return (
                "Model inference is missing inputs. The model signature declares "
                f"{len(schema.inputs)} inputs  but the provided value only has "
                f"{len(df.columns)} inputs. Note: the inputs were not named in the signature so we can "
                "only verify their count."
            )
        columns = {i: df[df.columns[i]] for i in range(len(schema.inputs))}
    for i, spec in enumerate(schema.inputs):
        key = spec.name if spec.name is not None else i
        if key not in columns:
            continue
        series = columns[key]
        if isinstance(spec.type, DataType):
            try:
                conform_series(str(key), series, spec.type)
            except ColumnViolation as exc:
                return exc.message
            continue
        for value in series:
            failure = mlflow_error(value, spec.type, bool(spec.required))
            if failure is not None:
                return failure
            # MLflow converts a valid dict in place (its message then prints the converted data)
            check_value(value, spec.type, bool(spec.required))
    return None


def mlflow_failure(data: Any, schema: Schema) -> str | None:
    """MLflow's full ``predict`` error message for ``data``, or None if MLflow would accept it."""
    work = copy.deepcopy(data)  # MLflow edits the caller's dicts; we edit a copy
    inner = _inner_failure(work, schema)
    if inner is None:
        return None
    return f"Failed to enforce schema of data '{work}' with schema '{schema!r}'. Error: {inner}"


def raise_like_mlflow(data: Any, schema: Schema) -> None:
    """Raise :class:`EnforcementError` with MLflow's message if MLflow would refuse ``data``."""
    message = mlflow_failure(data, schema)
    if message is not None:
        raise EnforcementError(message)
