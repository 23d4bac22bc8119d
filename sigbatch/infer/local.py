"""In-memory inference: MLflow's ``infer_signature`` and schema inference, on sigbatch types.

Every input kind MLflow accepts gives MLflow's schema, printed form, integer warning and errors:
an empty list, a list of dicts (records), a dict of numpy arrays (named tensors), a dict of values,
a pandas DataFrame or Series, a numpy array or scipy sparse matrix (a tensor), a list of values,
a single value, and a dataclass (in :func:`infer_signature` only). sigbatch also accepts an Arrow
table or record batch, typed as MLflow types ``table.to_pandas()`` (see
:mod:`sigbatch.infer.columns`). Spark DataFrames are typed by the Spark backend, never here.

Example:
    >>> infer_signature([{"a": "x", "b": [1.5]}, {"a": "y"}]).inputs
    ['a': string (required), 'b': Array(double) (optional)]
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as _dt
import logging
import sys
import warnings
from typing import Any

import numpy as np
import pandas as pd

from sigbatch.errors import InferenceError, SigbatchError, SignatureError, SignatureTypeError
from sigbatch.infer.columns import (
    ObjectDtypeError,
    arrow_column_spec,
    infer_dtype_type,
    series_spec,
)
from sigbatch.infer.finalize import mlflow_schema
from sigbatch.infer.hints import dataclass_schema
from sigbatch.infer.partial import Partial, _records_partial
from sigbatch.infer.values import (
    _PydanticInputError,
    has_missing,
    infer_element_type,
    infer_value_type,
    is_missing,
)
from sigbatch.types import (
    AnyType,
    ColSpec,
    ColumnType,
    DataType,
    ModelSignature,
    ParamSchema,
    ParamSpec,
    Schema,
    TensorSpec,
)

__all__ = ["INTEGER_COLUMNS_HINT", "infer_param_schema", "infer_schema", "infer_signature"]

_log = logging.getLogger(__name__)

#: MLflow's UserWarning when an inferred column-based schema has integer or long top-level columns.
INTEGER_COLUMNS_HINT = (
    "Hint: Inferred schema contains integer column(s). Integer columns in "
    "Python cannot represent missing values. If your input data contains "
    "missing values at inference time, it will be encoded as floats and will "
    "cause a schema enforcement error. The best way to avoid this problem is "
    "to infer the model schema based on a realistic data sample (training "
    "dataset) that includes missing values. Alternatively, you can declare "
    "integer columns as doubles (float64) whenever these columns may have "
    "missing values. See `Handling Integers With Missing Values "
    "<https://www.mlflow.org/docs/latest/models.html#"
    "handling-integers-with-missing-values>`_ for more details."
)

_UNSUPPORTED_INPUT = (
    "Failed to infer schema. Expected one of the following types:\n"
    "- pandas.DataFrame\n"
    "- pandas.Series\n"
    "- numpy.ndarray\n"
    "- dictionary of (name -> numpy.ndarray)\n"
    "- pyspark.sql.DataFrame\n"
    "- scipy.sparse.csr_matrix\n"
    "- scipy.sparse.csc_matrix\n"
    "- DataType\n"
    "- List[DataType]\n"
    "- Dict[str, Union[DataType, List, Dict]]\n"
    "- List[Dict[str, Union[DataType, List, Dict]]]\n"
    "but got '{data}'.\n"
    "Error: {error}"
)

_DATETIME_TYPES = (_dt.date, _dt.datetime, np.datetime64)


def infer_schema(data: Any) -> Schema:
    """The schema MLflow infers for ``data`` (MLflow's ``mlflow.types.utils._infer_schema``).

    Warns (``UserWarning``) with :data:`INTEGER_COLUMNS_HINT` when a top-level column is an integer
    or long, as MLflow does.

    Raises:
        InferenceError: the data has no schema; for values of conflicting types the message is
            MLflow's "Expected all values in the list to be of the same type. ...".

    Example:
        >>> infer_schema(pd.DataFrame({"x": [0.5, None], "tags": [["a"], []]}))
        ['x': double (optional), 'tags': Array(string) (required)]
    """
    schema = _infer_schema(data)
    if not schema.is_tensor_spec() and any(
        t is DataType.integer or t is DataType.long for t in schema.input_types()
    ):
        warnings.warn(INTEGER_COLUMNS_HINT, UserWarning, stacklevel=2)
    return schema


def infer_signature(
    model_input: Any = None, model_output: Any = None, params: dict[str, Any] | None = None
) -> ModelSignature:
    """The signature MLflow infers from an input example, an output example and parameters.

    Inputs and outputs are inferred with :func:`infer_schema` (a dataclass instance or class is
    read from its type hints instead). A part whose inference fails does not raise: as in MLflow a
    warning is logged and the part becomes ``[Any (required)]``. Only Pydantic objects inside the
    data, and invalid ``params``, raise.

    Raises:
        InferenceError: Pydantic objects in the data, or parameters that cannot be inferred.

    Example:
        >>> sig = infer_signature(["a", "b"], [0.5, 0.7], {"k": 3})
        >>> print(sig.inputs, sig.outputs, sig.params)
        [string (required)] [double (required)] ['k': long (default: 3)]
    """
    schemas: dict[str, Schema | None] = {"inputs": None, "outputs": None}
    for key, data in (("inputs", model_input), ("outputs", model_output)):
        if data is None:
            continue
        try:
            schemas[key] = dataclass_schema(data) if dataclasses.is_dataclass(data) else infer_schema(data)
        except _PydanticInputError:
            raise
        except Exception:
            extra = (
                "Note that MLflow doesn't validate data types during inference for AnyType. "
                if key == "inputs"
                else ""
            )
            _log.warning(
                "Failed to infer schema for %s. Setting schema to `Schema([ColSpec(type=AnyType())]` "
                "as default. %sTo see the full traceback, set logging level to DEBUG.",
                key,
                extra,
                exc_info=_log.isEnabledFor(logging.DEBUG),
            )
            schemas[key] = Schema([ColSpec(AnyType())])
    param_schema = infer_param_schema(params) if params else None
    return ModelSignature(schemas["inputs"], schemas["outputs"], param_schema)


def infer_param_schema(params: dict[str, Any]) -> ParamSchema:
    """The parameter schema MLflow infers from example parameters (defaults are the examples).

    Scalars take the type numpy gives them (``int`` -> long, ``float`` -> double, ``str`` -> string,
    ``bool`` -> boolean), 1-D lists and arrays get shape ``(-1,)``, dates and datetimes are
    ``datetime`` and dicts are Objects. Every parameter is tried; the failures are reported together.

    Raises:
        InferenceError: ``params`` is not a dict, or some parameters cannot be typed
            ("Failed to infer schema for parameters: [(name, value, error), ...]").

    Example:
        >>> infer_param_schema({"temperature": 0.5, "stop": ["a"]})
        ['temperature': double (default: 0.5), 'stop': string (default: ['a']) (shape: (-1,))]
    """
    if not isinstance(params, dict):
        msg = f"Expected parameters to be dict, got {type(params).__name__}"
        raise InferenceError(msg)
    specs = []
    invalid = []
    for name, value in params.items():
        try:
            dtype, shape = _param_type_and_shape(value)
            specs.append(ParamSpec(name, dtype, copy.deepcopy(value), shape))
        except Exception as exc:
            invalid.append((name, value, exc))
    if invalid:
        listed = ", ".join(f"({name!r}, {value!r}, {_mlflow_repr(exc)})" for name, value, exc in invalid)
        msg = f"Failed to infer schema for parameters: [{listed}]"
        raise InferenceError(msg)
    return ParamSchema(specs)


def _mlflow_repr(exc: BaseException) -> str:
    """An exception as MLflow's message shows it: sigbatch's classes by MLflow's names for them
    (see :mod:`sigbatch.errors`), so a failure's text is MLflow's."""
    if isinstance(exc, ObjectDtypeError):
        return exc.MLFLOW_REPR
    if isinstance(exc, SignatureTypeError):
        return f"TypeError({str(exc)!r})"
    if isinstance(exc, SigbatchError):
        return f"MlflowException({str(exc)!r})"
    return repr(exc)


def _param_type_and_shape(value: Any) -> tuple[Any, tuple[int, ...] | None]:
    """Type and shape of one example parameter value."""
    if isinstance(value, (list, np.ndarray)):
        ndim = _nesting_depth(value)
        if ndim != 1:
            msg = f"Expected parameters to be 1D array or scalar, got {ndim}D array"
            raise InferenceError(msg)
        # An empty list passes this test too, so it is a datetime list (as in MLflow).
        if all(type(v) in _DATETIME_TYPES for v in value):
            return DataType.datetime, (-1,)
        return infer_dtype_type(np.array(value).dtype), (-1,)
    if type(value) in _DATETIME_TYPES:
        return DataType.datetime, None
    if np.isscalar(value):
        try:
            return infer_dtype_type(np.array(value).dtype), None
        except Exception as exc:
            msg = f"Failed to infer schema for parameter {value!s}: {_mlflow_repr(exc)}"
            raise InferenceError(msg) from exc
    if isinstance(value, dict):
        return _infer_schema({"value": value}).inputs[0].type, None
    msg = f"Expected parameters to be 1D array or scalar, got {type(value).__name__}"
    raise InferenceError(msg)


def _nesting_depth(value: Any) -> int:
    """Number of nested list levels (a numpy array counts its dimensions)."""
    if isinstance(value, np.ndarray):
        return value.ndim
    if isinstance(value, list):
        return 1 + max(map(_nesting_depth, value)) if value else 1
    return 0


def _infer_schema(data: Any) -> Schema:
    """The schema of ``data``, without the integer warning."""
    if isinstance(data, list) and not data:
        # An empty list has been a string column since MLflow 2.9; kept for compatibility.
        return Schema([ColSpec(DataType.string)])
    if isinstance(data, list) and isinstance(data[0], dict):
        records = _records_schema(data)
        if records is not None:
            return records
    if isinstance(data, dict):
        return _dict_schema(data)
    if isinstance(data, pd.Series):
        column_type, required = series_spec(data)
        return _schema([ColSpec(column_type, data.name, required=required)])
    if isinstance(data, pd.DataFrame):
        return _frame_schema(data)
    if isinstance(data, np.ndarray):
        return _schema([TensorSpec(_tensor_dtype(data.dtype), _tensor_shape(data))])
    if _is_sparse_matrix(data):
        return _schema([TensorSpec(_tensor_dtype(data.data.dtype), _tensor_shape(data))])
    if _is_instance_of(data, "pyspark.sql", "DataFrame"):
        msg = (
            "Spark DataFrames are not inferred in memory: use the Spark backend's inference "
            "(`pip install 'sigbatch[spark]'`)."
        )
        raise InferenceError(msg)
    if _is_instance_of(data, "pyarrow", "Table") or _is_instance_of(data, "pyarrow", "RecordBatch"):
        return _arrow_schema(data)
    if isinstance(data, list):
        return _schema([ColSpec(_element_type(data))])
    try:
        dtype = infer_value_type(data)
    except InferenceError as exc:
        raise InferenceError(_UNSUPPORTED_INPUT.format(data=data, error=exc)) from exc
    if dtype is None:  # only numpy arrays are undetermined, and they are tensors above
        raise InferenceError(_empty_arrays_message(data))
    return _schema([ColSpec(dtype)])


def _records_schema(rows: list[Any]) -> Schema | None:
    """One named column per key of a list of dicts, in first-seen order; None when some row is not
    a dict (the list is then read as a list of values).

    The partial engine reads the records column by column (see :func:`mlflow_schema`); where it
    cannot vouch for MLflow's answer, the value-by-value reading below gives it. The engine's
    count of rows that are not dicts tells whether the list is records, without a pass of its own.
    """

    def build(lists: set[type]) -> Partial:
        partial = _records_partial(rows, 0, 0, lists)
        if partial.unreadable:  # not a list of records: mlflow_schema gives None
            raise InferenceError("a row is not a dict")
        return partial

    schema = mlflow_schema(build)
    if schema is not None:
        return schema
    if not all(isinstance(row, dict) for row in rows):
        return None
    return _records_schema_by_value(rows)


def _records_schema_by_value(rows: list[dict[Any, Any]]) -> Schema:
    """:func:`_records_schema` value by value, in MLflow's order (and with its errors)."""
    columns: dict[Any, list[Any]] = {}
    for row in rows:
        for key, value in row.items():
            columns.setdefault(key, []).append(value)
    specs = []
    for name, values in columns.items():
        # A key missing from some row, or holding None, is optional (a NaN value is not checked).
        required = len(values) == len(rows) and not any(v is None for v in values)
        specs.append(ColSpec(_element_type(values), name, required=required))
    return _schema(specs)


def _dict_schema(data: dict[Any, Any]) -> Schema:
    """Named tensors for a dict of numpy arrays, else one named column per key."""
    if all(isinstance(v, np.ndarray) for v in data.values()):
        return _schema(
            [TensorSpec(_tensor_dtype(v.dtype), _tensor_shape(v), name) for name, v in data.items()]
        )
    if any(not isinstance(key, str) for key in data):
        raise InferenceError("The dictionary keys are not all strings.")
    specs = []
    for name, value in data.items():
        dtype = infer_value_type(value)
        if dtype is None:
            raise InferenceError(_empty_arrays_message(value))
        if isinstance(value, (list, pd.Series)):
            required = not has_missing(value)
        else:
            required = not is_missing(value)
        specs.append(ColSpec(dtype, name, required=required))
    return _schema(specs)


def _frame_schema(frame: pd.DataFrame) -> Schema:
    """One named column per DataFrame column."""
    specs = []
    for name in frame.columns:
        column = frame[name]
        if not isinstance(column, pd.Series):
            # Duplicated column names select a DataFrame.
            msg = f"Expected pandas.Series, got '{type(column)}'."
            raise InferenceError(msg)
        dtype, required = series_spec(column)
        specs.append(ColSpec(dtype, name, required=required))
    return _schema(specs)


def _arrow_schema(table: Any) -> Schema:
    """The schema of ``table.to_pandas()``, from the Arrow types where they decide it."""
    names = table.schema.names
    metadata = table.schema.metadata or {}
    if b"pandas" in metadata or len(set(names)) != len(names):
        # pandas metadata restores dtypes and indexes, duplicate names select frames: convert all.
        return _frame_schema(table.to_pandas())
    specs = []
    for name, column in zip(names, table.columns, strict=True):
        dtype, required = arrow_column_spec(column)
        specs.append(ColSpec(dtype, name, required=required))
    return _schema(specs)


def _element_type(values: list[Any]) -> ColumnType:
    """The common type of a non-empty list's elements."""
    array = infer_element_type(values)
    if array is None:
        raise InferenceError(_empty_arrays_message(values))
    return array.dtype


def _empty_arrays_message(data: Any) -> str:
    """MLflow's error for values made only of empty numpy arrays."""
    return f"Numpy array must include at least one non-empty item. Invalid input `{data}`."


def _schema(specs: list[Any]) -> Schema:
    """A Schema, its construction errors reported as inference errors."""
    try:
        return Schema(specs)
    except SignatureError as exc:
        raise InferenceError(str(exc)) from exc


def _tensor_dtype(dtype: np.dtype) -> np.dtype:
    """A tensor dtype without the size of flexible types (``<U5`` -> ``str``, ``S3`` -> ``bytes``)."""
    if dtype.char == "U":
        return np.dtype("str")
    if dtype.char == "S":
        return np.dtype("bytes")
    return dtype


def _tensor_shape(data: Any) -> tuple[int, ...]:
    """A tensor shape with a variable first dimension."""
    shape = list(data.shape)
    if not shape:
        msg = (
            "The specified variable_dimension 0 is out of bounds with respect to the number of "
            f"dimensions {data.ndim} in the input dataset"
        )
        raise InferenceError(msg)
    shape[0] = -1
    return tuple(shape)


def _is_instance_of(data: Any, module: str, name: str) -> bool:
    """Whether ``data`` is an instance of a class called ``name`` defined under ``module``."""
    return any(
        cls.__name__ == name and (cls.__module__ == module or cls.__module__.startswith(module + "."))
        for cls in type(data).__mro__
    )


def _is_sparse_matrix(data: Any) -> bool:
    """Whether ``data`` is a scipy CSR or CSC matrix (scipy is only looked at if already imported)."""
    sparse = sys.modules.get("scipy.sparse")
    return sparse is not None and isinstance(data, (sparse.csr_matrix, sparse.csc_matrix))
