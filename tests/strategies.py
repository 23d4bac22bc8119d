"""Hypothesis strategies for signature types, schemas and data that conforms to them.

Shared by the test modules: ``data_types()`` draws nested signature types, ``colspec_schemas()``
draws column-based schemas (named with required/optional columns, or unnamed and all required),
and ``conforming_tables(schema)`` draws small pyarrow tables with the schema's Arrow type holding
values that MLflow's enforcement would accept (``None`` only where the signature allows it; AnyType
values are JSON text, as sigbatch stores them).

For inference, ``inferable_types()`` draws the types MLflow infers from Python values (scalars,
Array, Object, Any) and ``inferable_values(dtype, leaves, missing)`` draws Python values of one
such type, built from the caller's leaf values: many of them together still infer one schema, so
the differential tests mostly compare results rather than two errors.

Example:
    >>> from hypothesis import given
    >>> @given(colspec_schemas())
    ... def test_len(schema):
    ...     assert len(schema) >= 1
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pyarrow as pa
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from sigbatch.arrow import to_arrow
from sigbatch.types import (
    AnyType,
    Array,
    ColSpec,
    DataType,
    Map,
    Object,
    Property,
    Schema,
    SparkMLVector,
)

__all__ = [
    "colspec_schemas",
    "conflicting_types",
    "conforming_tables",
    "data_types",
    "inferable_objects",
    "inferable_types",
    "inferable_values",
    "names",
    "scalar_types",
    "values_of",
]

_NAME_ALPHABET = "abcdefghijklmnopqrstuvwxyz_0123456789"


def names() -> st.SearchStrategy[str]:
    """Short non-empty column or property names."""
    return st.text(alphabet=_NAME_ALPHABET, min_size=1, max_size=6)


def scalar_types() -> st.SearchStrategy[DataType]:
    """One of MLflow's eight scalar types."""
    return st.sampled_from(list(DataType))


def _leaf_types() -> st.SearchStrategy[Any]:
    """Scalars (most often), AnyType and SparkMLVector."""
    return st.one_of(scalar_types(), scalar_types(), st.just(AnyType()), st.just(SparkMLVector()))


def _objects(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Object]:
    """Objects of 1-4 uniquely named properties, each required or optional."""
    props = st.lists(
        st.tuples(names(), inner, st.booleans()), min_size=1, max_size=4, unique_by=lambda p: p[0]
    )
    return props.map(lambda ps: Object([Property(n, t, required=r) for n, t, r in ps]))


def data_types(max_depth: int = 2) -> st.SearchStrategy[Any]:
    """Signature types nested up to ``max_depth`` containers deep (Array, Object, Map)."""
    if max_depth <= 0:
        return _leaf_types()
    inner = st.deferred(lambda: data_types(max_depth - 1))
    return st.one_of(_leaf_types(), st.builds(Array, inner), st.builds(Map, inner), _objects(inner))


def colspec_schemas(max_columns: int = 4, max_depth: int = 2) -> st.SearchStrategy[Schema]:
    """Column-based schemas: named (required or optional columns) or unnamed (all required)."""
    named = st.lists(
        st.tuples(names(), data_types(max_depth), st.booleans()),
        min_size=1,
        max_size=max_columns,
        unique_by=lambda c: c[0],
    ).map(lambda cols: Schema([ColSpec(t, n, required=r) for n, t, r in cols]))
    unnamed = st.lists(data_types(max_depth), min_size=1, max_size=max_columns).map(
        lambda types: Schema([ColSpec(t) for t in types])
    )
    return st.one_of(named, unnamed)


_SCALAR_VALUES: dict[DataType, st.SearchStrategy[Any]] = {
    DataType.boolean: st.booleans(),
    DataType.integer: st.integers(-(2**31), 2**31 - 1),
    DataType.long: st.integers(-(2**63), 2**63 - 1),
    DataType.float: st.floats(width=32, allow_nan=False, allow_infinity=False),
    DataType.double: st.floats(allow_nan=False, allow_infinity=False),
    DataType.string: st.text(max_size=5),
    DataType.binary: st.binary(max_size=5),
    DataType.datetime: st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2200, 1, 1)),
}

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-1000, 1000) | st.text(max_size=4),
    lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=3), inner, max_size=2),
    max_leaves=4,
)


def values_of(dtype: Any, required: bool) -> st.SearchStrategy[Any]:
    """Python values of ``dtype`` as pyarrow takes them; ``None`` only when not ``required``.

    ``required`` is inherited the way MLflow enforces it: Array elements and Map values are
    checked with the flag of the enclosing column or property.
    """
    value: st.SearchStrategy[Any]
    if isinstance(dtype, DataType):
        value = _SCALAR_VALUES[dtype]
    elif isinstance(dtype, AnyType):
        value = _JSON.map(json.dumps)
    elif isinstance(dtype, SparkMLVector):
        value = st.lists(_SCALAR_VALUES[DataType.double], max_size=3)
    elif isinstance(dtype, Array):
        value = st.lists(values_of(dtype.dtype, required), max_size=3)
    elif isinstance(dtype, Map):
        # pyarrow builds map values from (key, value) pairs.
        value = st.dictionaries(st.text(max_size=3), values_of(dtype.value_type, required), max_size=3).map(
            lambda d: list(d.items())
        )
    elif isinstance(dtype, Object):
        value = st.fixed_dictionaries(
            {p.name: values_of(p.dtype, bool(p.required)) for p in dtype.properties}
        )
    else:
        msg = f"no value strategy for {dtype!r}"
        raise TypeError(msg)
    return value if required else st.none() | value


@st.composite
def _tables(draw: st.DrawFn, schema: Schema, max_rows: int) -> pa.Table:
    """A table of conforming rows for ``schema``."""
    n_rows = draw(st.integers(0, max_rows))
    target = to_arrow(schema)
    arrays = []
    specs: tuple[ColSpec, ...] = schema.inputs  # type: ignore[assignment]  # column-based schemas only
    for spec, field in zip(specs, target, strict=True):
        column = draw(st.lists(values_of(spec.type, bool(spec.required)), min_size=n_rows, max_size=n_rows))
        arrays.append(pa.array(column, type=field.type))
    return pa.Table.from_arrays(arrays, schema=target)


def conforming_tables(schema: Schema, max_rows: int = 6) -> st.SearchStrategy[pa.Table]:
    """Tables of 0-``max_rows`` rows with ``to_arrow(schema)`` as schema and conforming values."""
    return _tables(schema, max_rows)


# --- Python values whose schema MLflow infers -----------------------------------------------------


@st.composite
def inferable_objects(
    draw: st.DrawFn, inner: st.SearchStrategy[Any], keys: str = "xyz", required_first: bool = False
) -> Object:
    """An Object of 1-``len(keys)`` properties named from ``keys``, each required or optional
    (the first drawn always required if ``required_first``)."""
    chosen = draw(st.permutations(keys))[: draw(st.integers(1, len(keys)))]
    return Object(
        [
            Property(n, draw(inner), required=(required_first and i == 0) or draw(st.booleans()))
            for i, n in enumerate(chosen)
        ]
    )


def inferable_types(
    scalars: Sequence[DataType] = tuple(DataType), keys: str = "xyz", max_depth: int = 2
) -> st.SearchStrategy[Any]:
    """Types MLflow infers from Python values: one of ``scalars``, Array, Object (a dict is always an
    Object, never a Map), or AnyType for a place that only ever holds missing or empty values."""
    leaf = st.sampled_from([*scalars, AnyType()])
    if max_depth <= 0:
        return leaf
    inner = st.deferred(lambda: inferable_types(scalars, keys, max_depth - 1))
    return st.one_of(leaf, st.builds(Array, inner), inferable_objects(inner, keys))


def conflicting_types(
    dtype: Any, scalars: Sequence[DataType] = tuple(DataType), keys: str = "xyz", max_depth: int = 2
) -> st.SearchStrategy[Any]:
    """Types (as ``inferable_types`` draws them) whose values MLflow never merges with values of
    ``dtype``: another scalar, or another kind of container. ``dtype`` must not be Any."""
    if isinstance(dtype, AnyType):
        msg = "every type merges with Any"
        raise ValueError(msg)
    inner = inferable_types(scalars, keys, max_depth - 1)
    kinds = []
    if others := [s for s in scalars if s != dtype]:
        kinds.append(st.sampled_from(others))
    if not isinstance(dtype, Array):
        kinds.append(st.builds(Array, inner))
    if not isinstance(dtype, Object):
        kinds.append(inferable_objects(inner, keys))
    return st.one_of(kinds)


def _numpy_arrays(dtype: Array, numpy_dtypes: Mapping[DataType, Any]) -> st.SearchStrategy[Any] | None:
    """Non-empty 1-d or 2-d numpy arrays of an Array (of Array) of a scalar, where numpy has one."""
    dims, element = 1, dtype.dtype
    if isinstance(element, Array):
        dims, element = 2, element.dtype
    if not isinstance(element, DataType) or element not in numpy_dtypes:
        return None
    # Not empty: MLflow refuses an empty numpy array as a dict value.
    shapes = hnp.array_shapes(min_dims=dims, max_dims=dims, min_side=1, max_side=2)
    return hnp.arrays(np.dtype(numpy_dtypes[element]), shapes)


def inferable_values(
    dtype: Any,
    leaves: Mapping[DataType, st.SearchStrategy[Any]],
    missing: st.SearchStrategy[Any],
    *,
    numpy_dtypes: Mapping[DataType, Any] | None = None,
    nullable: bool = True,
) -> st.SearchStrategy[Any]:
    """Python values that MLflow infers as ``dtype`` (or as Any, which merges with it).

    Scalars come from ``leaves``; Arrays are lists (or numpy arrays of ``numpy_dtypes``, if given)
    of any length; Objects are dicts holding every required property and some optional ones, in
    any order. A value is sometimes drawn from ``missing`` (anywhere when ``nullable``; nested
    values always may be): MLflow reads those, and ``[]`` and ``{}``, as Any.
    """
    value: st.SearchStrategy[Any]

    def inner(t: Any) -> st.SearchStrategy[Any]:
        return inferable_values(t, leaves, missing, numpy_dtypes=numpy_dtypes)

    if isinstance(dtype, DataType):
        value = leaves[dtype]
    elif isinstance(dtype, AnyType):
        value = st.one_of(st.builds(list), st.builds(dict))
    elif isinstance(dtype, Array):
        value = st.lists(inner(dtype.dtype), max_size=3)
        arrays = _numpy_arrays(dtype, numpy_dtypes or {})
        if arrays is not None:
            value = st.one_of(value, arrays)
    elif isinstance(dtype, Object):
        value = _object_values(dtype, inner)
    else:
        msg = f"no inferable value strategy for {dtype!r}"
        raise TypeError(msg)
    return st.one_of(value, value, missing) if nullable else value


@st.composite
def _object_values(draw: st.DrawFn, dtype: Object, inner: Any) -> dict[str, Any]:
    """A dict of the required properties of ``dtype`` and some optional ones, in any order."""
    present = [p for p in dtype.properties if p.required or draw(st.booleans())]
    if draw(st.booleans()):
        present = draw(st.permutations(present))
    return {p.name: draw(inner(p.dtype)) for p in present}
