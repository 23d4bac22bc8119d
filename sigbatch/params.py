"""Inference parameters: validation and defaults exactly as MLflow applies them.

Bad parameters are the caller's mistake, so they raise (:class:`~sigbatch.errors.SignatureError`)
with MLflow's messages; they never become quarantine records.
"""

from __future__ import annotations

import copy
import logging
from typing import TYPE_CHECKING, Any

import numpy as np

from sigbatch.errors import SignatureError
from sigbatch.types import DataType, Object

if TYPE_CHECKING:
    from sigbatch.types import ParamSchema, ParamSpec

__all__ = ["enforce_params", "validate_param_value"]

_log = logging.getLogger(__name__)

_WIDENINGS = {
    DataType.long: (DataType.integer,),
    DataType.float: (DataType.integer, DataType.long),
    DataType.double: (DataType.integer, DataType.long, DataType.float),
}
# The exact Python/numpy types MLflow accepts for each DataType (its `DataType.check_type`).
_EXACT_TYPES: dict[DataType, tuple[type, ...]] = {
    DataType.boolean: (np.bool_, bool),
    DataType.integer: (np.int32, int),
    DataType.long: (np.int64, int),
    DataType.float: (np.float32, float),
    DataType.double: (np.float64, float),
    DataType.string: (np.str_, str),
}


def _is_type(value: Any, dtype: DataType) -> bool:
    return type(value) in _EXACT_TYPES.get(dtype, ())


def _param_scalar(value: Any, dtype: DataType | Object) -> Any:
    """Check one scalar param value and convert it to its Python form (MLflow's rules).

    An Object dtype gets here for each item of a list (shape ``(-1,)``) param: as in MLflow, only
    None passes, a dict is "not a scalar", and any other value fails MLflow's type check.
    """
    if value is None:
        return None
    if dtype is DataType.datetime:
        try:
            converted = np.datetime64(value).item()
        except (ValueError, TypeError) as exc:
            msg = f"Failed to convert value `{value}` from type `{type(value)}` to `{dtype}`"
            raise SignatureError(msg) from exc
        if isinstance(converted, int):
            msg = (
                f"Failed to convert value to `{dtype}`. "
                f"It must be convertible to datetime.date/datetime, got `{value}`"
            )
            raise SignatureError(msg)
        return converted
    if not np.isscalar(value):
        msg = f"Value must be a scalar for type `{dtype}`, got `{value}`"
        raise SignatureError(msg)
    if isinstance(dtype, Object):
        # MLflow fails here on its own type check (an Object has no `to_numpy`); say what is wrong
        msg = f"Can not safely convert `{type(value)}` to `{dtype}` for value `{value}`"  # type: ignore[str-bytes-safe]
        raise SignatureError(msg)
    if _is_type(value, dtype) or any(_is_type(value, t) for t in _WIDENINGS.get(dtype, ())):
        return dtype.to_python()(value)
    msg = f"Can not safely convert `{type(value)}` to `{dtype}` for value `{value}`"  # type: ignore[str-bytes-safe]
    raise SignatureError(msg)


def validate_param_value(spec: ParamSpec, value: Any) -> Any:
    """Validate ``value`` for ``spec`` and return it in the form the model receives.

    Example:
        >>> from sigbatch import ParamSpec
        >>> validate_param_value(ParamSpec("k", "double", 1.0), 3)
        3.0
    """
    if spec.shape == (-1,):
        is_list = isinstance(value, (list, np.ndarray))
        try:
            ndim = np.array(value).ndim if is_list else np.array(value, dtype=object).ndim
        except ValueError as exc:  # MLflow lets numpy's "inhomogeneous shape" error escape
            msg = (
                f"Value must be a 1D array with shape (-1,) for param {spec!r}, received a ragged "
                f"{type(value).__name__} (its items have different shapes); give a flat list of scalars"
            )
            raise SignatureError(msg) from exc
        if not (is_list and ndim == 1):
            msg = (
                f"Value must be a 1D array with shape (-1,) for param {spec!r}, "
                f"received {type(value).__name__} with ndim {ndim}"
            )
            raise SignatureError(msg)
    elif spec.shape is not None:
        msg = (
            "Shape must be None for scalar or dictionary value, or (-1,) for 1D array value "
            f"for ParamSpec {spec!r}), received {spec.shape}"
        )
        raise SignatureError(msg)
    try:
        if spec.shape is None and isinstance(spec.dtype, Object):
            from sigbatch.pyvalues import mlflow_error

            # Validated on a copy; the model receives the caller's value unchanged, as in MLflow.
            error = mlflow_error(copy.deepcopy(value), spec.dtype, required=True)
            if error is not None:
                raise SignatureError(error)
            return value
        if spec.shape is None:
            return _param_scalar(value, spec.dtype)
        return [_param_scalar(v, spec.dtype) for v in value]
    except (SignatureError, ValueError, TypeError) as exc:
        msg = f"Failed to validate type and shape for {spec!r}, error: {exc}"
        raise SignatureError(msg) from exc


def enforce_params(params: dict[str, Any] | None, schema: ParamSchema | None) -> dict[str, Any] | None:
    """Validate ``params`` against ``schema`` and fill in defaults, as MLflow's predict does.

    Unknown params are dropped with a warning; invalid ones raise one error listing them all.

    Example:
        >>> from sigbatch import ParamSchema, ParamSpec
        >>> enforce_params({"k": 5}, ParamSchema([ParamSpec("k", "long", 3), ParamSpec("t", "double", 0.5)]))
        {'k': 5, 't': 0.5}
    """
    if schema is None:
        if params in (None, {}):
            return params
        info = (
            f"Ignoring provided params: {list(params)}"
            if isinstance(params, dict)
            else "Ignoring invalid params (not a dictionary)."
        )
        _log.warning(
            "`params` can only be specified at inference time if the model signature defines a "
            "params schema. This model does not define a params schema. %s",
            info,
        )
        return {}
    params = {} if params is None else params
    if not isinstance(params, dict):
        msg = f"Parameters must be a dictionary. Got type '{type(params).__name__}'."
        raise SignatureError(msg)
    if any(not isinstance(k, str) for k in params):
        _log.warning("Keys in parameters should be of type `str`; converting all keys to string.")
        params = {str(k): v for k, v in params.items()}
    allowed = {spec.name for spec in schema.params}
    if ignored := set(params) - allowed:
        _log.warning(
            "Unrecognized params %s are ignored for inference. Supported params are: %s. "
            "To enable them, please add corresponding schema in ModelSignature.",
            list(ignored),
            allowed,
        )
    given = {k: v for k, v in params.items() if k in allowed}
    invalid = set()
    result: dict[str, Any] = {}
    for spec in schema.params:
        if spec.name in given:
            try:
                result[spec.name] = validate_param_value(spec, given[spec.name])
            except SignatureError as exc:
                invalid.add((spec.name, str(exc)))
        else:
            result[spec.name] = spec.default
    if invalid:
        msg = f"Invalid parameters found: {invalid!r}"
        raise SignatureError(msg)
    # MLflow keeps the caller's key order for given params, then appends defaults.
    ordered = {k: result[k] for k in given}
    ordered.update({k: v for k, v in result.items() if k not in ordered})
    return ordered
