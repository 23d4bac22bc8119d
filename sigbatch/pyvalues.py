"""MLflow's enforcement rules applied to Python values and pandas columns.

This is the reference implementation of MLflow's semantics, used where Arrow cannot type the data
(columns of mixed Python objects), for Object-typed params, and to reproduce MLflow's exception
messages (``enforce(..., on_error="raise")``). The vectorised Arrow path in :mod:`sigbatch.enforce`
must agree with it; the differential tests check both against real MLflow.

Two entry points:

* :func:`conform_series` -- MLflow's whole-column conversion matrix for a scalar column.
* :func:`check_value` -- one value against a (possibly nested) type; returns the value as MLflow
  would hand it to the model and every reason the value is refused (not just the first).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from sigbatch.errors import SignatureError
from sigbatch.quarantine import Reason, ReasonCode, child_path, describe_value, index_path, key_path
from sigbatch.types import AnyType, Array, DataType, Map, Object

__all__ = ["ColumnViolation", "check_value", "conform_series", "enforce_value", "is_none_or_nan"]


class ColumnViolation(Exception):
    """A scalar column (or list) that MLflow's conversion matrix refuses."""

    def __init__(self, message: str, code: ReasonCode) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def is_none_or_nan(value: Any) -> bool:
    """None, float NaN, pd.NA or NaT (MLflow's ``_is_none_or_nan``)."""
    if isinstance(value, float):  # Python floats and np.float64, not np.float32 (as in MLflow)
        return bool(np.isnan(value))
    return value is None or value is pd.NA or value is pd.NaT


def _integral_with_nans(values: pd.Series) -> bool:
    finite = values.dropna()
    return bool(values.isna().any()) and bool((finite == finite.round()).all())


def conform_series(name: str, values: pd.Series, t: DataType) -> pd.Series:
    """Convert a column to ``t`` by MLflow's matrix, or raise :class:`ColumnViolation`.

    Example:
        >>> conform_series("x", pd.Series([1, 2], dtype="int32"), DataType.long).dtype
        dtype('int64')
    """
    if values.dtype == object and t not in (DataType.binary, DataType.string):
        values = values.infer_objects()
    if t is DataType.string and (values.dtype == object or isinstance(values.dtype, pd.StringDtype)):
        return values
    if t is DataType.binary and isinstance(values.dtype, pd.StringDtype):
        return values
    if t.to_pandas() == values.dtype or t.to_numpy() == values.dtype:
        return values
    kind = getattr(values.dtype, "kind", "O")
    if t is DataType.binary and kind == "S":
        return values
    if t is DataType.datetime and kind == "M":
        try:
            return values.astype(np.dtype("datetime64[ns]"))
        except TypeError as exc:
            msg = (
                "Please ensure that the input data of datetime column only contains timezone-naive "
                f"datetime objects. Error: {exc}"
            )
            raise ColumnViolation(msg, ReasonCode.TYPE_MISMATCH) from exc
    if t is DataType.datetime and values.dtype == object:
        try:
            return values.astype(np.dtype("datetime64[ns]"), errors="raise")
        except ValueError as exc:
            msg = f"Failed to convert column {name} from type {values.dtype} to {t}."
            raise ColumnViolation(msg, ReasonCode.TYPE_MISMATCH) from exc
        except TypeError as exc:  # MLflow lets this one through unwrapped
            raise ColumnViolation(str(exc), ReasonCode.TYPE_MISMATCH) from exc
    if t is DataType.boolean and values.dtype == object:
        return values
    if t is DataType.double and values.dtype == object:
        # MLflow means this for Decimal columns, but its test (`dtype == decimal.Decimal`) is
        # true for every object column: any object column goes through pd.to_numeric.
        try:
            return pd.to_numeric(values, errors="raise")
        except ValueError as exc:
            msg = f"Failed to convert column {name} from type {values.dtype} to {t}."
            raise ColumnViolation(msg, ReasonCode.TYPE_MISMATCH) from exc
        except TypeError as exc:  # MLflow lets this one through unwrapped
            raise ColumnViolation(str(exc), ReasonCode.TYPE_MISMATCH) from exc
    target = t.to_numpy()
    # pandas' extension dtypes (Int64, Float64, boolean, int64[pyarrow]) have a kind and an item
    # size too, and MLflow reads them as numpy's
    itemsize = getattr(values.dtype, "itemsize", None)
    if itemsize is None:
        is_upcast = False
    elif kind == target.kind:
        is_upcast = itemsize <= target.itemsize
    elif kind == "u" and target.kind == "i":
        is_upcast = itemsize < target.itemsize
    elif kind in ("i", "u") and target == np.float64:
        is_upcast = itemsize <= 6
    else:
        is_upcast = False
    if is_upcast:
        try:
            return values.astype(target, errors="raise")
        except (ValueError, TypeError) as exc:  # an extension dtype's NA: "cannot convert NA to integer"
            raise ColumnViolation(str(exc), ReasonCode.UNSAFE_CAST) from exc
    if (
        values.dtype == np.int64
        and target in (np.float32, np.float64)
        and all(pd.isnull(x) or x in (0, 1) for x in values)
    ):
        return values.astype(target, errors="raise")
    msg = f"Incompatible input types for column {name}. Can not safely convert {values.dtype} to {target}."
    if values.dtype == np.float64 and target.kind in ("i", "u") and _integral_with_nans(values):
        msg += (
            " Hint: the type mismatch is likely caused by missing values. Integer columns in python "
            "can not represent missing values and are therefore encoded as floats. The best way to "
            "avoid this problem is to infer the model schema based on a realistic data sample "
            "(training dataset) that includes missing values. Alternatively, you can declare "
            "integer columns as doubles (float64) whenever these columns may have missing values. "
            "See `Handling Integers With Missing Values "
            "<https://www.mlflow.org/docs/latest/models.html#handling-integers-with-missing-values>`_ "
            "for more details."
        )
    # Numeric narrowing (float -> int, int64 -> int32, double -> float) is an unsafe cast;
    # anything else (text, bool, dates to numbers) is the wrong type altogether.
    same_family = kind in ("i", "u", "f") and target.kind in ("i", "u", "f")
    raise ColumnViolation(msg, ReasonCode.UNSAFE_CAST if same_family else ReasonCode.TYPE_MISMATCH)


def _type_name(dtype: Any) -> str:
    """The expected-type text of a reason (MLflow's repr of the type)."""
    return repr(dtype)


def _passes_as_is(value: Any, t: DataType) -> bool:
    """A value whose one-element pandas column already has ``t``'s dtype (skips building it)."""
    kind = type(value)
    if kind is int:
        return t is DataType.long and -(2**63) <= value < 2**63
    return (kind, t) in _AS_IS


_AS_IS = {
    (str, DataType.string),
    (bool, DataType.boolean),
    (float, DataType.double),
    (bytes, DataType.binary),
}


def _same(value: Any) -> Any:
    return value


_NUMPY_SCALAR = {DataType.boolean: np.bool_, DataType.long: np.int64, DataType.double: np.float64}


def _scalar(value: Any, t: DataType, required: bool, path: str, reasons: list[Reason]) -> Any:
    if not required and is_none_or_nan(value):
        return None
    if not np.isscalar(value):
        code = ReasonCode.NULL_REQUIRED if value is None else ReasonCode.TYPE_MISMATCH
        reasons.append(
            Reason(
                path,
                code,
                _type_name(t),
                describe_value(value),
                f"Expected data to be scalar, got {type(value).__name__}",
            )
        )
        return value
    if _passes_as_is(value, t):
        # MLflow hands on the element of a one-value pandas column: numpy scalars for numbers
        return _NUMPY_SCALAR.get(t, _same)(value)
    try:
        series = conform_series("", pd.Series([value]), t)
    except ColumnViolation as exc:
        reasons.append(
            Reason(
                path,
                exc.code,
                _type_name(t),
                describe_value(value),
                f"Failed to enforce schema of data `{value}` with dtype `{t.name}`",  # type: ignore[str-bytes-safe]
            )
        )
        return value
    except pd.errors.OutOfBoundsDatetime as exc:
        # a time beyond pandas' nanoseconds: MLflow lets pandas' error through, unwrapped
        reasons.append(Reason(path, ReasonCode.TYPE_MISMATCH, _type_name(t), describe_value(value), str(exc)))
        return value
    return series.iloc[0]


def _out_of_bounds(value: Any, t: Array, path: str, reasons: list[Reason]) -> None:
    """A reason for each element of a list that pandas cannot hold in nanoseconds."""
    for i, item in enumerate(value):
        try:
            conform_series("", pd.Series([item]), t.dtype)  # type: ignore[arg-type]
        except pd.errors.OutOfBoundsDatetime as exc:
            reasons.append(
                Reason(
                    index_path(path, i),
                    ReasonCode.TYPE_MISMATCH,
                    _type_name(t.dtype),
                    describe_value(item),
                    str(exc),
                )
            )
        except (ColumnViolation, ValueError, TypeError):
            continue  # not this element's problem, or one the list as a whole reports


def _plain_texts(value: Any) -> bool:
    """Whether ``value`` is a list of exact strs without NUL (numpy's text array drops a trailing
    one): MLflow's conversion of such a list for Array(string) accepts it and keeps every string."""
    return isinstance(value, list) and all(type(v) is str for v in value) and "\x00" not in "".join(value)


def _array(value: Any, t: Array, required: bool, path: str, reasons: list[Reason]) -> Any:
    if (not required or isinstance(t.dtype, AnyType)) and (
        value is None or (isinstance(value, (list, np.ndarray)) and len(value) == 0)
    ):
        return value
    if not isinstance(value, (list, np.ndarray)):
        code = ReasonCode.NULL_REQUIRED if value is None else ReasonCode.INVALID_ARRAY
        reasons.append(
            Reason(
                path,
                code,
                _type_name(t),
                describe_value(value),
                f"Expected data to be list or numpy array, got {type(value).__name__}",
            )
        )
        return value
    if isinstance(t.dtype, DataType):
        if len(value) == 0:
            return value
        if t.dtype is DataType.string and _plain_texts(value):
            return list(value)  # what numpy's text array of them gives back: the same strings
        try:
            converted = conform_series("", pd.Series(list(value)), t.dtype).to_numpy(dtype=t.dtype.to_numpy())
        except (ColumnViolation, ValueError, TypeError) as exc:
            before = len(reasons)
            if isinstance(exc, pd.errors.OutOfBoundsDatetime):
                # Python datetimes are not numpy scalars: _scalar would refuse them all as such
                _out_of_bounds(value, t, path, reasons)
            else:
                for i, item in enumerate(value):
                    _scalar(item, t.dtype, True, index_path(path, i), reasons)
            if len(reasons) == before:
                message = exc.message if isinstance(exc, ColumnViolation) else str(exc)
                code = exc.code if isinstance(exc, ColumnViolation) else ReasonCode.TYPE_MISMATCH
                reasons.append(Reason(path, code, _type_name(t), describe_value(value), message))
            return value
        return converted.tolist() if isinstance(value, list) else converted
    before = len(reasons)
    items = [_check(item, t.dtype, required, index_path(path, i), reasons) for i, item in enumerate(value)]
    if isinstance(value, list):
        return items
    if len(reasons) > before:
        return value  # refused: MLflow stops at the first bad element, before building the array
    try:
        return np.array(items)
    except ValueError as exc:
        # MLflow builds the same array: numpy refuses elements of different shapes ("inhomogeneous")
        reasons.append(Reason(path, ReasonCode.INVALID_ARRAY, _type_name(t), describe_value(value), str(exc)))
        return value


def _object(value: Any, t: Object, required: bool, path: str, reasons: list[Reason]) -> Any:
    if not required and (value is None or value == {}):
        return value
    if not isinstance(value, dict):
        code = ReasonCode.NULL_REQUIRED if value is None else ReasonCode.INVALID_OBJECT
        reasons.append(
            Reason(
                path,
                code,
                _type_name(t),
                describe_value(value),
                f"Failed to enforce schema of '{value}' with type '{t}'. "
                f"Expected data to be dictionary, got {type(value).__name__}",
            )
        )
        return value
    props = {p.name: p for p in t.properties}
    missing = [n for n, p in props.items() if p.required and n not in value]
    for name in missing:
        reasons.append(
            Reason(
                child_path(path, name),
                ReasonCode.MISSING_REQUIRED,
                _type_name(props[name].dtype),
                "missing",
                f"Missing required properties: {set(missing)}",
            )
        )
    extra = [k for k in value if k not in props]
    for key in extra:
        reasons.append(
            Reason(
                child_path(path, str(key)),
                ReasonCode.INVALID_OBJECT,
                "absent",
                describe_value(value[key]),
                f"Invalid properties not defined in the schema found: {set(extra)}",
            )
        )
    for key, item in list(value.items()):
        if key in props:
            value[key] = _check(
                item, props[key].dtype, bool(props[key].required), child_path(path, key), reasons
            )
    return value


def _map(value: Any, t: Map, required: bool, path: str, reasons: list[Reason]) -> Any:
    if (not required or isinstance(t.value_type, AnyType)) and (value is None or value == {}):
        return value
    if not isinstance(value, dict):
        code = ReasonCode.NULL_REQUIRED if value is None else ReasonCode.INVALID_MAP
        reasons.append(
            Reason(
                path,
                code,
                _type_name(t),
                describe_value(value),
                f"Expected data to be a dict, got {type(value).__name__}",
            )
        )
        return value
    bad_keys = [k for k in value if not isinstance(k, str)]
    for key in bad_keys:
        reasons.append(
            Reason(
                key_path(path, key),
                ReasonCode.INVALID_MAP,
                "str key",
                describe_value(key),
                "Expected all keys in the map type data are string type.",
            )
        )
    if bad_keys:
        return value
    return {k: _check(v, t.value_type, required, key_path(path, k), reasons) for k, v in value.items()}


def _check(value: Any, t: Any, required: bool, path: str, reasons: list[Reason]) -> Any:
    if isinstance(t, DataType):
        return _scalar(value, t, required, path, reasons)
    if isinstance(t, Array):
        return _array(value, t, required, path, reasons)
    if isinstance(t, Object):
        return _object(value, t, required, path, reasons)
    if isinstance(t, Map):
        return _map(value, t, required, path, reasons)
    if isinstance(t, AnyType):
        return value
    msg = f"Invalid data type: {t!r}"
    raise SignatureError(msg)


def check_value(value: Any, dtype: Any, required: bool = True, path: str = "") -> tuple[Any, list[Reason]]:
    """Check one value against ``dtype`` by MLflow's rules.

    Returns the value as MLflow's enforcement would pass it on, and every reason it is refused
    (empty when it conforms). Dicts are converted in place, as in MLflow.

    Example:
        >>> from sigbatch import Object, Property
        >>> _, reasons = check_value({"z": 1}, Object([Property("d", "string")]), path="c")
        >>> [(r.path, r.code.value) for r in reasons]
        [('c.d', 'MISSING_REQUIRED'), ('c.z', 'INVALID_OBJECT')]
    """
    reasons: list[Reason] = []
    out = _check(value, dtype, bool(required), path, reasons)
    return out, reasons


def enforce_value(value: Any, dtype: Any, required: bool = True) -> Any:
    """Like :func:`check_value`, but raise the first reason's message as MLflow would."""
    out, reasons = check_value(value, dtype, required)
    if reasons:
        raise SignatureError(reasons[0].message)
    return out


def mlflow_error(value: Any, dtype: Any, required: bool = True) -> str | None:
    """The message MLflow raises for ``value`` against ``dtype``, or None when it conforms.

    Works like MLflow, in place and in order: the parts of ``value`` checked before the first
    problem are converted (dicts edited), the rest is left alone, and the first problem's message
    is returned (MLflow wraps a property's failure as "Failed to enforce schema for key ...").
    :func:`check_value` reports every problem instead; both decide alike.
    """
    return _mlflow_step(value, dtype, required)[0]


def _mlflow_step(value: Any, dtype: Any, required: bool) -> tuple[str | None, Any]:
    """(first MLflow error or None, the value as converted so far)."""
    if isinstance(dtype, Object) and isinstance(value, dict) and (required or value != {}):
        props = {p.name: p for p in dtype.properties}
        # the same set operations as MLflow, so the sets print in the same order
        required_keys = {k for k, prop in props.items() if prop.required}
        missing = required_keys - set(value.keys())
        if missing:
            return f"Missing required properties: {missing}", value
        extra = value.keys() - props.keys()
        if extra:
            return f"Invalid properties not defined in the schema found: {extra}", value
        for key, item in list(value.items()):
            error, converted = _mlflow_step(item, props[key].dtype, bool(props[key].required))
            if error is not None:
                json_type = props[key].to_dict()[key]["type"]
                return (
                    f"Failed to enforce schema for key `{key}`. "
                    f"Expected type {json_type}, received type {type(item).__name__}"
                ), value
            value[key] = converted
        return None, value
    if isinstance(dtype, Array) and isinstance(value, (list, np.ndarray)) and len(value) > 0:
        if isinstance(dtype.dtype, DataType):
            try:
                conform_series("", pd.Series(list(value)), dtype.dtype).to_numpy(dtype=dtype.dtype.to_numpy())
            except ColumnViolation as exc:
                return exc.message, value
            except (ValueError, TypeError) as exc:  # numpy's own conversion error, unwrapped
                return str(exc), value
        else:
            items = []
            for item in value:
                error, converted = _mlflow_step(item, dtype.dtype, required)
                if error is not None:
                    return error, value
                items.append(converted)
    if isinstance(dtype, Map) and isinstance(value, dict) and all(isinstance(k, str) for k in value):
        for item in value.values():
            error, _ = _mlflow_step(item, dtype.value_type, required)
            if error is not None:
                return error, value
    converted, reasons = check_value(value, dtype, required)
    return (reasons[0].message if reasons else None), converted
