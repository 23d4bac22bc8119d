"""Signature schemas as Dask meta frames, and Arrow partitions as the pandas frames that match them.

Dask needs to know, before running anything, the pandas dtypes a ``map_partitions`` will produce.
sigbatch decides them once, from the signature's Arrow schema (:mod:`sigbatch.arrow`), and
:func:`to_pandas` is the only way a partition's Arrow table becomes pandas, so :func:`to_meta`
(which is :func:`to_pandas` of an empty table) agrees with every real partition by construction.

The dtype rule, per column:

* a **required** column whose Arrow type is boolean, integer or floating (``boolean``,
  ``integer``, ``long``, ``float``, ``double``, and row tensors of shape ``(-1,)`` of such a
  dtype) -> the numpy dtype (``bool``, ``int32``, ``int64``, ``float32``, ``float64``, ...),
  what models written for MLflow expect;
* everything else -> ``pd.ArrowDtype`` of the column's Arrow type: optional scalars (so a
  missing value stays missing instead of turning integers into floats), strings, binary,
  datetime (``timestamp[us][pyarrow]``), AnyType (JSON text), and every nested type.

Columns come out in signature order, named as in the Arrow schema (unnamed specs by position:
``"0"``, ``"1"``, ...), with a ``RangeIndex``; table columns not in the signature are dropped.

Example:
    >>> from sigbatch import ColSpec, Schema
    >>> to_meta(Schema([ColSpec("long", "n"), ColSpec("long", "m", required=False)])).dtypes.to_dict()
    {'n': dtype('int64'), 'm': int64[pyarrow]}
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from sigbatch.arrow import to_arrow
from sigbatch.errors import SchemaMismatchError
from sigbatch.types import Schema

__all__ = ["to_meta", "to_pandas"]


def to_pandas(table: pa.Table, schema: Schema) -> pd.DataFrame:
    """The pandas frame of an Arrow table holding data that conforms to ``schema``.

    Each column is cast to the signature's Arrow type first (so ``large_string``, dictionary or
    nanosecond columns give the same dtypes as the canonical types); an absent optional column
    becomes all-missing.

    Args:
        table: One partition's data.
        schema: The signature schema the data conforms to.

    Returns:
        A frame with the dtypes of :func:`to_meta` for the same schema.

    Raises:
        SchemaMismatchError: A required column is absent, holds missing values where the dtype
            cannot (a required numeric column), or cannot be cast to the signature's type.

    Example:
        >>> import pyarrow as pa
        >>> from sigbatch import Array, ColSpec, Schema
        >>> schema = Schema([ColSpec(Array("string"), "tags"), ColSpec("double", "x")])
        >>> to_pandas(pa.table({"x": [1.5], "tags": [["a", "b"]]}), schema).dtypes.to_dict()
        {'tags': list<item: string>[pyarrow], 'x': dtype('float64')}
    """
    columns: dict[str, pd.Series] = {}
    for field in to_arrow(schema):
        columns[field.name] = _column(table, field)
    return pd.DataFrame(columns, index=pd.RangeIndex(table.num_rows))


def to_meta(schema: Schema) -> pd.DataFrame:
    """The empty frame describing partitions converted with :func:`to_pandas` (Dask's ``meta``).

    Example:
        >>> from sigbatch import ColSpec, Schema
        >>> to_meta(Schema([ColSpec("string", "s")])).dtypes.to_dict()
        {'s': string[pyarrow]}
    """
    return to_pandas(to_arrow(schema).empty_table(), schema)


def _numpy_typed(field: pa.Field) -> bool:
    """True for the columns that get a numpy dtype: required booleans and numbers."""
    t = field.type
    return not field.nullable and (
        pa.types.is_boolean(t) or pa.types.is_integer(t) or pa.types.is_floating(t)
    )


def _column(table: pa.Table, field: pa.Field) -> pd.Series:
    """One signature column of ``table`` as a pandas Series with the decided dtype."""
    if field.name in table.column_names:
        data = table.column(field.name)
        try:
            data = data.cast(field.type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
            msg = (
                f"Column {field.name!r} has Arrow type {data.type}, which cannot be cast to the "
                f"signature's {field.type}: {exc}"
            )
            raise SchemaMismatchError(msg) from exc
    elif field.nullable:
        data = pa.chunked_array([pa.nulls(table.num_rows, field.type)], type=field.type)
    else:
        msg = f"Required column {field.name!r} is absent; the table has {table.column_names}."
        raise SchemaMismatchError(msg)
    if not _numpy_typed(field):
        return pd.Series(pd.arrays.ArrowExtensionArray(data), name=field.name, copy=False)
    if data.null_count:
        msg = (
            f"Required column {field.name!r} holds {data.null_count} missing value(s); enforce the "
            "batch first (missing values in a required column are quarantined there)."
        )
        raise SchemaMismatchError(msg)
    numpy_dtype = field.type.to_pandas_dtype()
    return pd.Series(data.to_numpy(), name=field.name, dtype=numpy_dtype, copy=False)
