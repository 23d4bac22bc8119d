"""Schemas read from dataclass type hints, as MLflow's ``infer_signature`` reads a dataclass example.

Only the hints matter, never the field values. Each annotated field of the dataclass (and of its
dataclass bases) is a named column; ``Optional[X]`` (``X | None``) makes it optional; ``list[X]`` is
an ``Array``; a nested dataclass is an ``Object``. Scalar hints: ``bool`` -> boolean, ``int`` -> long,
``float`` -> **float** (not double, unlike inference from values), ``str`` -> string, ``bytes`` ->
binary, ``datetime.date`` -> datetime. Hints written as strings (``from __future__ import
annotations`` in the module defining the dataclass) are not resolved, so they are unsupported, as in
MLflow.

Example:
    >>> from dataclasses import make_dataclass
    >>> Query = make_dataclass("Query", [("text", str), ("top_k", int | None)])
    >>> dataclass_schema(Query("hi", None))
    ['text': string (required), 'top_k': long (optional)]
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import types
import typing
from typing import Any

from sigbatch.errors import InferenceError, SignatureError
from sigbatch.types import Array, ColSpec, DataType, Object, Property, Schema

__all__ = ["dataclass_schema"]

_FIELD_TYPES: dict[Any, DataType] = {
    bool: DataType.boolean,
    int: DataType.long,
    float: DataType.float,
    str: DataType.string,
    bytes: DataType.binary,
    _dt.date: DataType.datetime,
}
_UNION_ORIGINS = (typing.Union, types.UnionType)
_NONE_TYPE = type(None)


def dataclass_schema(dataclass: Any) -> Schema:
    """The schema of a dataclass (instance or class), from its fields' type hints.

    Raises:
        InferenceError: a hint has no signature type (or is a union other than ``Optional``).

    Example:
        >>> from dataclasses import make_dataclass
        >>> dataclass_schema(make_dataclass("Point", [("x", float), ("tags", list[str])]))
        ['x': float (required), 'tags': Array(string) (required)]
    """
    name = getattr(dataclass, "__name__", type(dataclass).__name__)
    specs = []
    for field_name, hint in _annotations(dataclass).items():
        optional = False
        if typing.get_origin(hint) in _UNION_ORIGINS:
            args = typing.get_args(hint)
            if _NONE_TYPE not in args or len(args) != 2:
                msg = "Only Optional[...] is supported as a Union type in dataclass fields"
                raise InferenceError(msg)
            optional = True
            hint = next(a for a in args if a is not _NONE_TYPE)
        if typing.get_origin(hint) is list:
            item = typing.get_args(hint)[0]
            if dataclasses.is_dataclass(item):
                dtype: Any = Array(_object(item))
            elif (scalar := _scalar(item)) is not None:
                dtype = Array(scalar)
            else:
                msg = f"List field type {item} is not supported in dataclass {name}"
                raise InferenceError(msg)
        elif dataclasses.is_dataclass(hint):
            dtype = _object(hint)
        elif (scalar := _scalar(hint)) is not None:
            dtype = scalar
        else:
            msg = f"Unsupported field type {hint} in dataclass {name}"
            raise InferenceError(msg)
        specs.append(ColSpec(dtype, field_name, required=not optional))
    try:
        return Schema(specs)
    except SignatureError as exc:
        raise InferenceError(str(exc)) from exc


def _annotations(dataclass: Any) -> dict[str, Any]:
    """The raw annotations of a dataclass and its dataclass bases, subclasses last."""
    cls = dataclass if isinstance(dataclass, type) else type(dataclass)
    hints: dict[str, Any] = {}
    for base in reversed(cls.__mro__):
        if dataclasses.is_dataclass(base):
            hints.update(getattr(base, "__annotations__", {}))
    return hints


def _scalar(hint: Any) -> DataType | None:
    """The DataType of a scalar hint, or None."""
    try:
        return _FIELD_TYPES.get(hint)
    except TypeError:  # an unhashable hint
        return None


def _object(dataclass: Any) -> Object:
    """The Object type of a nested dataclass, one property per field."""
    return Object([_property(f.name, f.type) for f in dataclasses.fields(dataclass)])


def _property(name: str, hint: Any) -> Property:
    """One property of a nested dataclass (here any union with None is optional)."""
    optional = False
    if typing.get_origin(hint) in _UNION_ORIGINS and _NONE_TYPE in typing.get_args(hint):
        optional = True
        hint = next(a for a in typing.get_args(hint) if a is not _NONE_TYPE)
    if typing.get_origin(hint) is list:
        dtype: Any = Array(_require(_scalar(typing.get_args(hint)[0]), hint))
    elif dataclasses.is_dataclass(hint):
        dtype = _object(hint)
    else:
        dtype = _require(_scalar(hint), hint)
    return Property(name, dtype, required=not optional)


def _require(dtype: DataType | None, hint: Any) -> DataType:
    """``dtype``, or an error naming the hint that has none."""
    if dtype is None:
        msg = f"Unsupported field type {hint} in a nested dataclass"
        raise InferenceError(msg)
    return dtype
