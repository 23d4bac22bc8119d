"""Column-level type inference: a pandas Series or an Arrow column to a type and a requiredness.

A column with a numpy (or pandas extension) dtype is typed from its dtype alone and its
requiredness found with one vectorised null test; only object columns (strings, lists, dicts,
mixed values) go through the per-value rules of :mod:`sigbatch.infer.values`.

Arrow tables: MLflow does not accept them, so sigbatch *defines* the schema of a table as MLflow's
schema of ``table.to_pandas()``. Where the Arrow type alone says what that conversion gives (flat
numeric, boolean, string, binary, timestamp, date and null columns), the type and requiredness come
straight from the Arrow type, the null count and a NaN test, without converting; an integer column
with nulls is therefore ``double`` (pandas holds it as float64). Nested and other columns (lists,
structs, maps, dictionaries, decimals, ...) are converted one at a time with ``to_pandas()`` and
typed like any pandas column, since pandas changes their values on the way (list elements become
numpy arrays, integers next to nulls become floats). Tables carrying pandas metadata are converted
whole, so that the dtypes pandas restores are the ones typed.

Example:
    >>> infer_series_type(pd.Series([[1, 2], None])), series_required(pd.Series([[1, 2], None]))
    (Array(long), False)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from pandas.api.extensions import ExtensionDtype

from sigbatch.errors import InferenceError
from sigbatch.infer.values import (
    _as_list,
    _has_missing_of_kinds,
    _list_type_and_kinds,
    has_missing,
)
from sigbatch.types import AnyType, ColumnType, DataType

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "ObjectDtypeError",
    "arrow_column_spec",
    "infer_dtype_type",
    "infer_series_type",
    "series_required",
    "series_spec",
]

_OBJECT = np.dtype("O")


class ObjectDtypeError(InferenceError):
    """:func:`infer_dtype_type` of an object dtype: only the values can tell the type.

    In a parameter's failure, MLflow words it as a plain ``Exception`` (see ``MLFLOW_REPR``).
    """

    MLFLOW_REPR = (
        "Exception('Can not infer object without looking at the values, call _map_numpy_array instead.')"
    )


def infer_dtype_type(dtype: Any) -> DataType:
    """The DataType of a numpy dtype or pandas extension dtype, from its kind and item size.

    Raises:
        InferenceError: object dtypes (their values decide), and dtypes with no DataType
            (``uint64``, complex, timedelta, ...).

    Example:
        >>> infer_dtype_type(np.dtype("int16")), infer_dtype_type(pd.Int64Dtype())
        (integer, long)
    """
    if not isinstance(dtype, (np.dtype, ExtensionDtype)):
        msg = f"Expected numpy.dtype or pandas.ExtensionDtype, got '{type(dtype)}'."
        raise InferenceError(msg)
    kind = dtype.kind
    if kind == "b":
        return DataType.boolean
    if kind in ("i", "u"):
        # Unsigned types need the next larger signed type; there is none for uint64.
        size = dtype.itemsize
        if size < 4 or (kind == "i" and size == 4):
            return DataType.integer
        if size < 8 or (kind == "i" and size == 8):
            return DataType.long
    elif kind == "f":
        if dtype.itemsize <= 4:
            return DataType.float
        if dtype.itemsize <= 8:
            return DataType.double
    elif kind == "U":
        return DataType.string
    elif kind == "S":
        return DataType.binary
    elif kind == "M":
        return DataType.datetime
    elif kind == "O":
        msg = f"Cannot infer a type from the dtype '{dtype}' alone: the values decide."
        raise ObjectDtypeError(msg)
    msg = f"Unsupported numpy data type '{dtype}', kind '{kind}'"
    raise InferenceError(msg)


def infer_series_type(series: pd.Series) -> ColumnType:
    """The type of a pandas column's values (the element type, not an Array of it).

    Raises:
        InferenceError: MLflow's "Failed to infer schema for pandas.Series ..." for object columns
            whose values conflict, or :func:`infer_dtype_type`'s error.

    Example:
        >>> infer_series_type(pd.Series([{"a": 1}, {"b": "x"}]))
        {a: long (optional), b: string (optional)}
    """
    if not isinstance(series, pd.Series):
        msg = f"Expected pandas.Series, got '{type(series)}'."
        raise InferenceError(msg)
    if len(series.values.shape) > 1:
        msg = f"Expected 1d array, got array with shape {series.shape}"
        raise InferenceError(msg)
    dtype = series.dtype
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":
        # Arrow hands its values to Python as exact strs and its nulls as the dtype's missing value
        # (NaN or pd.NA), so to_list() holds only those: strings, unless it holds no value at all
        # (empty: MLflow's fallback to string; only missing values: Any). infer_objects() keeps the
        # dtype.
        return AnyType() if 0 < len(series) == series.isna().sum() else DataType.string
    if dtype.kind == "O":
        series = series.infer_objects()
    if series.dtype.kind != "O":
        return infer_dtype_type(series.dtype)
    return _object_values_type(series, series.to_list())[0]


def _object_values_type(
    series: pd.Series, values: list[Any] | np.ndarray
) -> tuple[ColumnType, set[type] | None]:
    """The type of the values (``series.to_list()``, or the object array it is the list of) of an
    object column after ``infer_objects()``, with MLflow's fallback to string and its error; and the
    exact types of all the values where the pass that typed them found these (else None)."""
    try:
        if not len(values):
            # MLflow types an empty list as Any, then fails to take its element type.
            raise InferenceError("'AnyType' object has no attribute 'dtype'")
        array, kinds = _list_type_and_kinds(values)
        if array is None:
            shown = _as_list(values)
            msg = f"Numpy array must include at least one non-empty item. Invalid input `{shown}`."
            raise InferenceError(msg)
        return array.dtype, kinds
    except Exception as exc:
        # Kept from MLflow for backwards compatibility: a column pandas calls text is a string.
        if pd.api.types.is_string_dtype(series):
            return DataType.string, None
        msg = f"Failed to infer schema for pandas.Series {series}. Error: {exc}"
        raise InferenceError(msg) from exc


def series_required(series: pd.Series) -> bool:
    """Whether a pandas column holds no missing value (None, float NaN, ``pd.NA``, ``pd.NaT``).

    Example:
        >>> series_required(pd.Series([1.0, float("nan")])), series_required(pd.Series([1, 2]))
        (False, True)
    """
    dtype = series.dtype
    if isinstance(dtype, np.dtype):
        kind = dtype.kind
        if kind == "f":
            return not bool(np.isnan(series.to_numpy()).any())
        if kind in ("M", "m"):
            return not bool(np.isnat(series.to_numpy()).any())
        if kind != "O":
            return True
        # The objects themselves, as iterating yields them (``Series.__iter__`` calls ``item()``,
        # which returns an object array's element as it is), without a Python call per value.
        return not has_missing(series.to_numpy().tolist())
    if isinstance(dtype, pd.StringDtype):
        # A string array holds strings and its missing marker, nothing NaN-like besides: its
        # null mask says what iterating it would find.
        return not bool(series.isna().any())
    # Other extension columns: test the values exactly as iterating the Series yields them.
    return not has_missing(list(series))


def series_spec(series: pd.Series) -> tuple[ColumnType, bool]:
    """:func:`infer_series_type` and :func:`series_required` of a pandas column, an object column's
    values taken out of pandas once for both.

    Raises:
        InferenceError: as :func:`infer_series_type`.

    Example:
        >>> series_spec(pd.Series([{"a": 1}, None]))
        ({a: long (optional)}, False)
    """
    if not (
        isinstance(series, pd.Series) and isinstance(series.dtype, np.dtype) and series.dtype.kind == "O"
    ):
        return infer_series_type(series), series_required(series)
    objects = series.to_numpy()
    inferred = series.infer_objects()
    if inferred.dtype.kind != "O":
        return infer_dtype_type(inferred.dtype), series_required(series)
    # objects.tolist() is what iterating the column yields (see series_required).
    if not _same_objects(inferred.to_numpy(), objects):
        # infer_objects() made other values (strings with None become a str column whose missing
        # value is NaN): MLflow types those.
        return _object_values_type(inferred, inferred.to_list())[0], not has_missing(objects.tolist())
    # The typing pass takes the objects out of the array block by block (see _in_blocks).
    column_type, kinds = _object_values_type(inferred, objects)
    # Where the pass that typed the values found their types, these say whether one can be missing.
    missing = has_missing(objects.tolist()) if kinds is None else _has_missing_of_kinds(objects, kinds)
    return column_type, not missing


def _same_objects(left: np.ndarray, right: np.ndarray) -> bool:
    """Whether two object arrays hold the very same objects: one buffer, read the same way."""
    return (
        left.dtype == right.dtype == _OBJECT
        and left.shape == right.shape
        and left.strides == right.strides
        and left.ctypes.data == right.ctypes.data
    )


def arrow_column_spec(column: pa.ChunkedArray | pa.Array) -> tuple[ColumnType, bool]:
    """The type and requiredness of an Arrow column, as MLflow infers them after ``to_pandas()``.

    Example:
        >>> import pyarrow as pa
        >>> arrow_column_spec(pa.chunked_array([[1, None]]))
        (double, False)
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    atype = column.type
    rows, nulls = len(column), column.null_count
    if pa.types.is_integer(atype):
        if nulls:
            return DataType.double, False
        return infer_dtype_type(np.dtype(atype.to_pandas_dtype())), True
    if pa.types.is_float32(atype) or pa.types.is_float64(atype):
        dtype = infer_dtype_type(np.dtype(atype.to_pandas_dtype()))
        return dtype, nulls == 0 and not pc.any(pc.is_nan(column)).as_py()
    if pa.types.is_boolean(atype):
        if not nulls:
            return DataType.boolean, True
        # pandas holds a boolean column with nulls as objects: True/False/None.
        return (DataType.boolean if nulls < rows else AnyType()), False
    if pa.types.is_timestamp(atype):
        return DataType.datetime, nulls == 0
    if pa.types.is_null(atype):
        return _object_column(rows, nulls, DataType.string)
    # Columns pandas holds as Python scalars of one type (None for nulls).
    if pa.types.is_string(atype) or pa.types.is_large_string(atype):
        return _object_column(rows, nulls, DataType.string)
    if pa.types.is_binary(atype) or pa.types.is_large_binary(atype):
        return _object_column(rows, nulls, DataType.binary)
    if pa.types.is_date(atype):
        return _object_column(rows, nulls, DataType.datetime)
    return series_spec(column.to_pandas())


def _object_column(rows: int, nulls: int, dtype: DataType) -> tuple[ColumnType, bool]:
    """Type of a column that pandas holds as Python scalars of one type, or None for nulls."""
    if rows == 0:
        # Nothing to look at: MLflow falls back to string for an empty object or str column.
        return DataType.string, True
    if nulls == rows:
        return AnyType(), False
    return dtype, nulls == 0
