"""Value-level type inference: a Python value to a signature type, and the merge of two types.

These are the building blocks of every inference in sigbatch. In-memory inference
(:func:`sigbatch.infer.infer_schema`) folds them over one list or column; lake-scale inference folds
them per partition and merges the partial results, so they know nothing about schemas, columns or
where the values came from.

The rules are MLflow's (``mlflow.types.utils._infer_datatype`` and the ``_merge`` methods of its
types), reimplemented:

* ``None``, a float NaN (``float`` and ``np.float64`` only), ``pd.NA``, ``pd.NaT``, ``[]`` and ``{}``
  are :class:`~sigbatch.types.AnyType`; an empty numpy array is *undetermined* (``None``).
* A dict is an :class:`~sigbatch.types.Object` (never a ``Map``); a property is required unless its
  type is ``AnyType``.
* A list or numpy array is an :class:`~sigbatch.types.Array` of the merge of its elements.
* Scalars are typed by their exact Python type (a ``bool`` is not an ``int``); there is no numeric
  widening, so ``[1, 2.5]`` is a conflict.

Example:
    >>> infer_value_type({"a": [1, 2], "b": None})
    {a: Array(long) (required), b: Any (optional)}
    >>> merge_types(Object([Property("a", "long")]), Object([Property("b", "string")]))
    {a: long (optional), b: string (optional)}
"""

from __future__ import annotations

import datetime as _dt
import math
import sys
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from sigbatch.errors import InferenceError
from sigbatch.types import AnyType, Array, ColumnType, DataType, Map, Object, Property, SparkMLVector

__all__ = [
    "MULTIPLE_TYPES_ERROR_MSG",
    "ColumnType",
    "has_missing",
    "infer_element_type",
    "infer_value_type",
    "is_missing",
    "merge_types",
]

#: MLflow's message for a list (or column) whose elements do not share one type.
MULTIPLE_TYPES_ERROR_MSG = (
    "Expected all values in the list to be of the same type. To specify a model signature "
    "with a list containing elements of multiple types, define the signature manually "
    "using the Array(AnyType()) type from mlflow.models.schema."
)

# Exact Python type -> DataType (no isinstance: MLflow looks types up by identity, so subclasses of
# these, `pd.Timestamp` included, are not supported scalars).
_SCALAR_TYPES: dict[type, DataType] = {
    bool: DataType.boolean,
    np.bool_: DataType.boolean,
    int: DataType.long,
    np.int64: DataType.long,
    np.int32: DataType.integer,
    float: DataType.double,
    np.float64: DataType.double,
    np.float32: DataType.float,
    str: DataType.string,
    np.str_: DataType.string,
    # A bare `object()` is typed string in MLflow: kept so both infer the same signature.
    object: DataType.string,
    bytes: DataType.binary,
    np.bytes_: DataType.binary,
    bytearray: DataType.binary,
    _dt.date: DataType.datetime,
    _dt.datetime: DataType.datetime,
    np.datetime64: DataType.datetime,
}
# Types whose NaN values count as missing (MLflow tests `isinstance(x, float)`; np.float32 is not one).
_NAN_TYPES = (float, np.float64)
_NONE_TYPE = type(None)
_MISSING_MARKER_TYPES = (_NONE_TYPE, type(pd.NA), type(pd.NaT))


class _PydanticInputError(InferenceError):
    """A Pydantic object was found in the data; ``infer_signature`` lets this one through."""


def _reject_pydantic(value: Any) -> None:
    """Raise for Pydantic objects, which MLflow refuses to infer from."""
    # If pydantic was never imported, no value can be one of its models.
    pydantic = sys.modules.get("pydantic")
    if pydantic is not None and isinstance(value, pydantic.BaseModel):
        msg = (
            "MLflow does not support inferring model signature from input example "
            "with Pydantic objects. To use Pydantic objects, define your PythonModel's "
            "`predict` method with a Pydantic type hint, and model signature will be automatically "
            "inferred when logging the model. e.g. "
            "`def predict(self, model_input: list[PydanticType])`. Check "
            "https://mlflow.org/docs/latest/model/python_model.html#type-hint-usage-in-pythonmodel "
            "for more details."
        )
        raise _PydanticInputError(msg)


def is_missing(value: Any) -> bool:
    """Whether ``value`` is a missing value: None, a float NaN, ``pd.NA`` or ``pd.NaT``.

    Deliberately narrower than ``pd.isna``: a ``np.float32`` NaN or a ``np.datetime64("NaT")`` is a
    value, as in MLflow.

    Example:
        >>> is_missing(float("nan")), is_missing(np.float32("nan")), is_missing(pd.NA)
        (True, False, True)
    """
    if isinstance(value, float):
        return math.isnan(value)
    return value is None or value is pd.NA or value is pd.NaT


def has_missing(values: Iterable[Any]) -> bool:
    """Whether any element of ``values`` is missing (see :func:`is_missing`).

    Example:
        >>> has_missing(["a", None]), has_missing([1, 2])
        (True, False)
    """
    if isinstance(values, list):
        return _has_missing_of_kinds(values, set(map(type, values)))
    return any(is_missing(v) for v in values)


def _has_missing_of_kinds(values: Iterable[Any], kinds: set[type]) -> bool:
    """:func:`has_missing` of values whose exact types are ``kinds``."""
    if _NONE_TYPE in kinds:  # None is the one value of its type
        return True
    # Most columns hold no candidate for a missing value at all: skip the per-value test.
    if not any(issubclass(k, float) or k in _MISSING_MARKER_TYPES for k in kinds):
        return False
    return any(is_missing(v) for v in values)


def infer_value_type(value: Any) -> ColumnType | None:
    """The signature type of one value, or None when undetermined (an empty numpy array).

    Raises:
        InferenceError: the value (or a value nested in it) has no signature type, the elements of
            a list conflict, or a nested dict has a key that is not a string.

    Example:
        >>> infer_value_type([1, None]), infer_value_type(np.float32(1)), infer_value_type(None)
        (Array(long), float, Any)
    """
    scalar = _SCALAR_TYPES.get(type(value))
    if scalar is not None:
        if scalar is DataType.double and math.isnan(value):
            return AnyType()
        return scalar
    _reject_pydantic(value)
    if is_missing(value):
        return AnyType()
    if isinstance(value, dict):
        return _infer_object(value) if value else AnyType()
    if isinstance(value, list):
        return infer_element_type(value) if value else AnyType()
    if isinstance(value, np.ndarray):
        return infer_element_type(value)
    msg = f"Data {value} is not one of the supported DataType"
    raise InferenceError(msg)


def _infer_object(value: dict[Any, Any]) -> Object:
    """The Object type of a non-empty dict."""
    properties = []
    for key, item in value.items():
        dtype = infer_value_type(item)
        if dtype is None:
            raise InferenceError("Dictionary value must not be an empty numpy array.")
        if not isinstance(key, str):
            msg = f"Expected name to be a string, got type {type(key).__name__}"
            raise InferenceError(msg)
        properties.append(Property(key, dtype, required=not isinstance(dtype, AnyType)))
    return Object(properties)


def infer_element_type(values: Iterable[Any]) -> Array | None:
    """The Array type of a sequence: its elements' types merged, or None if none is determined.

    Elements are folded left to right as MLflow does: undetermined elements (empty numpy arrays) are
    skipped, the first determined one fixes the type, a scalar type accepts only itself and
    ``AnyType``, and complex types (Array, Object, Map, Any) are merged with :func:`merge_types`.

    Raises:
        InferenceError: with :data:`MULTIPLE_TYPES_ERROR_MSG` when two elements' types conflict, or
            the error of the first element that has no type.

    Example:
        >>> infer_element_type([{"a": 1}, {"b": "x"}])
        Array({a: long (optional), b: string (optional)})
        >>> infer_element_type(np.zeros((2, 3)))
        Array(Array(double))
    """
    if isinstance(values, np.ndarray):
        if values.ndim == 0:
            # numpy refuses to iterate a 0-d array; MLflow's fold fails on it the same way.
            raise InferenceError("iteration over a 0-d array")
        if values.dtype.kind != "O":
            return _infer_typed_ndarray(values)
    if isinstance(values, list) and values:
        fast = _infer_homogeneous_scalars(values) or _infer_by_partial(values)
        if fast is not None:
            return fast
    return _fold_element_types(values)


def _list_type_and_kinds(values: list[Any] | np.ndarray) -> tuple[Array | None, set[type] | None]:
    """:func:`infer_element_type` of a non-empty list (or 1-D object array, typed as its list), with
    the exact types of its elements when the pass that typed it found them all (None when the fold
    typed it)."""
    kinds: set[type] = set()
    fast = _infer_homogeneous_scalars(values, kinds) or _infer_by_partial(values, kinds)
    if fast is not None:
        # The reading that answered went over every element: kinds holds all their types.
        return fast, kinds
    return _fold_element_types(_as_list(values)), None


def _as_list(values: list[Any] | np.ndarray) -> list[Any]:
    """A list, or the list of a 1-D object array's elements (the objects themselves)."""
    return values if isinstance(values, list) else values.tolist()


def _fold_element_types(values: Iterable[Any]) -> Array | None:
    """:func:`infer_element_type` by MLflow's fold, value by value (with its errors, in its order)."""
    result: ColumnType | None = None
    # Rows of records repeat a few shapes: remember what each merged into while the result holds.
    merged: dict[ColumnType, ColumnType] = {}
    for item in values:
        dtype = infer_value_type(item)
        if dtype is None:
            continue
        if result is None:
            result = dtype
        elif isinstance(result, DataType):
            if dtype is not result and not isinstance(dtype, AnyType):
                raise InferenceError(MULTIPLE_TYPES_ERROR_MSG)
        elif (known := merged.get(dtype)) is not None:
            result = known
        else:
            try:
                new = merge_types(result, dtype)
            except InferenceError as exc:
                raise InferenceError(MULTIPLE_TYPES_ERROR_MSG) from exc
            if new == result:
                merged[dtype] = result
            else:
                merged.clear()
                result = new
    return None if result is None else Array(result)


def _infer_by_partial(values: list[Any] | np.ndarray, kinds: set[type] | None = None) -> Array | None:
    """Array type of a list of values, read column-wise by the partial engine under the strict policy.

    None where that reading cannot vouch for MLflow's answer (see
    :func:`~sigbatch.infer.finalize.mlflow_schema`): the fold then runs and gives MLflow's result or
    error. ``kinds``, when given, receives the exact types of the values the reading met. A 1-D
    object array is read as its list, block by block.
    """
    from sigbatch.infer.finalize import mlflow_schema
    from sigbatch.infer.partial import Partial, _values_node

    def build(lists: set[type]) -> Partial:
        node = _values_node(values, 0, 0, lists, kinds)
        return Partial(rows=len(values), fields=(("v", node),), first=(("v", (0, 0, 0)),))

    schema = mlflow_schema(build)
    return None if schema is None else Array(schema.inputs[0].type)  # type: ignore[arg-type]


def _infer_homogeneous_scalars(
    values: list[Any] | np.ndarray, found: set[type] | None = None
) -> Array | None:
    """Array type of a list (or 1-D object array) of plain scalars of one type (and None), without
    a per-value fold.

    Returns None when the list needs the general fold (nested values, several types, NaN-able floats
    mixed with other types): the fold then also produces MLflow's errors in MLflow's order.
    ``found``, when given, receives the exact types of the values where they were looked at.
    """
    first = type(values[0])
    if first is not _NONE_TYPE and first not in _SCALAR_TYPES:  # nested values: no pass needed
        return None
    values = _as_list(values)
    kinds = set(map(type, values))
    if found is not None:
        found.update(kinds)
    kinds.discard(_NONE_TYPE)
    if not kinds:
        return Array(AnyType())
    scalars = {_SCALAR_TYPES.get(k) for k in kinds}
    scalar = scalars.pop()
    if scalars or scalar is None:
        return None
    if scalar is DataType.double:
        if not kinds.issubset(_NAN_TYPES):
            return None
        if not any(v is not None and not math.isnan(v) for v in values):
            return Array(AnyType())
    return Array(scalar)


def _infer_typed_ndarray(values: np.ndarray) -> Array | None:
    """Array type of a numpy array with a non-object dtype, from its dtype (no per-value fold)."""
    if 0 in values.shape:
        return None
    scalar = _SCALAR_TYPES.get(values.dtype.type)
    if scalar is None:
        # The first element the fold reaches is the first in C order: report that one.
        msg = f"Data {values.flat[0]} is not one of the supported DataType"
        raise InferenceError(msg)
    element: ColumnType = scalar
    if scalar is DataType.double and bool(np.isnan(values).all()):
        # NaN is missing for float64 only; an all-NaN array has no determined scalar type.
        element = AnyType()
    for _ in range(values.ndim - 1):
        element = Array(element)
    return Array(element)


def merge_types(left: ColumnType, right: ColumnType) -> ColumnType:
    """The type that describes values of both ``left`` and ``right`` (MLflow's ``_merge``).

    ``AnyType`` merges into anything (an Object merged with Any has all properties optional); a
    scalar type merges only with itself; Arrays and Maps merge their element types; Objects take the
    union of their properties, a property missing on either side becoming optional.

    Raises:
        InferenceError: the types are incompatible (naming both).

    Example:
        >>> merge_types(AnyType(), DataType.long)
        long
        >>> merge_types(Array(AnyType()), Array(Object([Property("a", "string")])))  # [[None], [{"a": "x"}]]
        Array({a: string (optional)})
    """
    if isinstance(left, DataType):
        if right is left or isinstance(right, AnyType):
            return left
        raise _incompatible(left, right)
    if isinstance(left, AnyType):
        if isinstance(right, (AnyType, DataType)):
            return right
        return merge_types(right, left)
    if isinstance(left, SparkMLVector) or isinstance(right, SparkMLVector):
        if isinstance(left, SparkMLVector) and isinstance(right, SparkMLVector):
            return left
        raise _incompatible(left, right)
    if isinstance(left, Array):
        if isinstance(right, AnyType) or left == right:
            return left
        if not isinstance(right, Array):
            raise _incompatible(left, right)
        return Array(merge_types(left.dtype, right.dtype))
    if isinstance(left, Map):
        if isinstance(right, AnyType) or left == right:
            return left
        if not isinstance(right, Map):
            raise _incompatible(left, right)
        return Map(merge_types(left.value_type, right.value_type))
    if isinstance(left, Object):
        if isinstance(right, AnyType):
            return Object([Property(p.name, p.dtype, required=False) for p in left.properties])
        if not isinstance(right, Object):
            raise _incompatible(left, right)
        if left == right:
            return left
        return _merge_objects(left, right)
    msg = f"Cannot merge {left!r}: not a signature type"
    raise InferenceError(msg)


def _merge_objects(left: Object, right: Object) -> Object:
    """Union of two Objects' properties; one-sided properties become optional."""
    theirs = {p.name: p for p in right.properties}
    merged = []
    for prop in left.properties:
        other = theirs.pop(prop.name, None)
        if other is None:
            merged.append(Property(prop.name, prop.dtype, required=False))
        else:
            try:
                dtype = merge_types(prop.dtype, other.dtype)
            except InferenceError as exc:
                msg = f"Property {prop.name!r}: {exc}"
                raise InferenceError(msg) from exc
            merged.append(Property(prop.name, dtype, required=prop.required and other.required))
    merged.extend(Property(p.name, p.dtype, required=False) for p in theirs.values())
    return Object(merged)


def _incompatible(left: ColumnType, right: ColumnType) -> InferenceError:
    """The error for two types that cannot be merged."""
    return InferenceError(f"Incompatible types: {left!r} and {right!r}")
