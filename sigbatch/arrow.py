"""Signature schemas as Arrow schemas, and back.

Arrow is the hub of sigbatch: the Spark ``StructType`` and the Dask meta frame of a signature are
derived from the Arrow schema built here, and enforcement casts batches to it. The mapping:

============================  ==========================================================
signature                     Arrow
============================  ==========================================================
``string``                    ``string`` (read: also ``large_string``, ``string_view``)
``integer`` / ``long``        ``int32`` / ``int64`` (read: ``int8``, ``int16``, ``uint8``,
                              ``uint16`` -> integer; ``uint32`` -> long)
``float`` / ``double``        ``float32`` / ``float64`` (read: ``float16`` -> float)
``boolean``                   ``bool``
``datetime``                  ``timestamp[us]`` without time zone (read: any unit, with or
                              without time zone, ``date32``, ``date64``)
``binary``                    ``binary`` (read: ``large_binary``, ``binary_view``,
                              ``fixed_size_binary``)
``Array(T)``                  ``list<item: T>``, items nullable (read: any list kind)
``Object([...])``             ``struct`` with one field per property, in the Object's sorted
                              order; a required property is a non-nullable field
``Map(T)``                    ``map<string, T>``, values nullable
``AnyType()``                 ``string`` holding JSON text, marked (see below)
``SparkMLVector()``           ``list<item: double>``, marked
``ColSpec``                   a field, non-nullable when required
``TensorSpec``                a field of nested lists, marked (see below)
============================  ==========================================================

Other Arrow types are read as MLflow's inference would read them: a dictionary column as its
values, a ``null`` column (all values missing) as ``AnyType``. ``decimal``, ``uint64``, time,
duration, interval and union types have no signature type and raise a
:class:`~sigbatch.errors.SignatureError` naming the field and its Arrow type.

**Nullability.** A column or property is nullable exactly when it is optional. List items and map
values are always nullable: the signature has no flag for them, and MLflow accepts ``None``
elements in optional arrays, so the Arrow type must be able to hold what MLflow accepts (MLflow
refuses ``None`` elements inside a *required* array; enforcement checks that, not the type). When
reading, item and value nullability is ignored. ``required=None`` (MLflow's reading of a complex
column without a ``required`` key) behaves as optional and reads back as ``required=False``.

**Markers.** Arrow has no "any" type and no vector type, so a field whose type reaches an
``AnyType`` or a ``SparkMLVector`` through Array items or Map values carries the metadata key
``sigbatch.type`` with MLflow's JSON text of the field's type, e.g.
``{"type": "array", "items": {"type": "any"}}``. Markers sit only on fields (columns and struct
fields, the places Spark can keep metadata too), so AnyType nested at any depth round-trips:
:func:`from_arrow` reads the marker, after checking that the field's Arrow type can hold the
marked type. :func:`arrow_type` gives the storage type alone; use :func:`arrow_field` and
:func:`from_arrow_field` when the marker matters.

**Tensors.** A ``TensorSpec`` whose first dimension is ``-1`` maps to one row per tensor slice:
the numpy dtype's Arrow type, wrapped in one list per remaining dimension
(``fixed_size_list`` for a fixed size, ``list`` for ``-1``; items non-nullable), on a
non-nullable field marked with MLflow's tensor JSON (``{"type": "tensor", "tensor-spec": ...}``)
so dtype and shape round-trip. A tensor without a leading ``-1`` (one whole tensor, not rows) or
with ``object`` dtype raises a :class:`~sigbatch.errors.SignatureError` naming the column.

**Unnamed schemas.** Fields are named by position (``"0"``, ``"1"``, ...) and the Arrow schema
metadata holds ``sigbatch.unnamed = true``, so :func:`from_arrow` restores ``name=None``.

For every column-based schema ``s``: ``from_arrow(to_arrow(s)) == s``.

Example:
    >>> from sigbatch import Array, ColSpec, Schema
    >>> print(to_arrow(Schema([ColSpec(Array("string"), "tags"), ColSpec("long", "n", False)])))
    tags: list<item: string> not null
      child 0, item: string
    n: int64
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa

from sigbatch.errors import SignatureError
from sigbatch.quarantine import child_path, path_name
from sigbatch.types import (
    AnyType,
    Array,
    ColSpec,
    ColumnType,
    DataType,
    Map,
    Object,
    Property,
    Schema,
    SparkMLVector,
    TensorSpec,
)

__all__ = [
    "TYPE_KEY",
    "UNNAMED_KEY",
    "arrow_field",
    "arrow_type",
    "from_arrow",
    "from_arrow_field",
    "from_arrow_type",
    "nesting",
    "retyped",
    "to_arrow",
]

#: Field metadata key holding MLflow's JSON of a type Arrow cannot express by itself.
TYPE_KEY = b"sigbatch.type"
#: Schema metadata key set to ``b"true"`` when the signature schema has no column names.
UNNAMED_KEY = b"sigbatch.unnamed"

_SCALARS: dict[DataType, pa.DataType] = {
    DataType.boolean: pa.bool_(),
    DataType.integer: pa.int32(),
    DataType.long: pa.int64(),
    DataType.float: pa.float32(),
    DataType.double: pa.float64(),
    DataType.string: pa.string(),
    DataType.binary: pa.binary(),
    DataType.datetime: pa.timestamp("us"),
}


# --- signature -> Arrow ----------------------------------------------------------------------


def arrow_type(dtype: ColumnType | str) -> pa.DataType:
    """The Arrow storage type of a signature type.

    AnyType and SparkMLVector need a field marker to round-trip (see :func:`arrow_field`);
    struct fields inside the result already carry theirs.

    Args:
        dtype: A ``DataType`` (or its name), ``Array``, ``Object``, ``Map`` or ``AnyType``.

    Returns:
        The Arrow type of conforming values.

    Example:
        >>> from sigbatch import Map
        >>> arrow_type(Map("double"))
        MapType(map<string, double>)
    """
    if isinstance(dtype, str):
        if dtype not in DataType.__members__:
            msg = f"Unknown type name {dtype!r}; expected one of {list(DataType.__members__)}"
            raise SignatureError(msg)
        dtype = DataType[dtype]
    if isinstance(dtype, DataType):
        return _SCALARS[dtype]
    if isinstance(dtype, AnyType):
        return pa.string()
    if isinstance(dtype, Array):  # SparkMLVector included: an Array of double
        return pa.list_(pa.field("item", arrow_type(dtype.dtype), nullable=True))
    if isinstance(dtype, Object):
        return pa.struct([_property_field(p) for p in dtype.properties])
    if isinstance(dtype, Map):
        return pa.map_(pa.string(), pa.field("value", arrow_type(dtype.value_type), nullable=True))
    msg = f"Expected a signature type (DataType, Array, Object, Map or AnyType), got {dtype!r}"
    raise SignatureError(msg)


def arrow_field(spec: ColSpec | TensorSpec, name: str | None = None) -> pa.Field:
    """The Arrow field of one column spec, marker included.

    Args:
        spec: The column or tensor spec.
        name: The field name for an unnamed spec (ignored when the spec has a name).

    Returns:
        A field, non-nullable when the spec is required.

    Example:
        >>> from sigbatch import AnyType, ColSpec
        >>> arrow_field(ColSpec(AnyType(), "extra", required=False))
        pyarrow.Field<extra: string>
    """
    # an integer name (a DataFrame's label, as MLflow writes it) is the column's text name in Arrow
    field_name = str(spec.name) if spec.name is not None else name
    if field_name is None:
        msg = f"The spec {spec!r} has no name; pass name= (sigbatch uses its position, e.g. '0')"
        raise SignatureError(msg)
    if isinstance(spec, TensorSpec):
        return pa.field(
            field_name, _tensor_type(spec, field_name), nullable=False, metadata=_tensor_marker(spec)
        )
    return pa.field(
        field_name, arrow_type(spec.type), nullable=not spec.required, metadata=_marker(spec.type)
    )


def to_arrow(schema: Schema) -> pa.Schema:
    """The Arrow schema of data that conforms to a signature schema.

    Args:
        schema: A column-based or tensor-based signature schema.

    Returns:
        One field per spec, in order; unnamed specs are named by position and the schema metadata
        marks them unnamed.

    Example:
        >>> from sigbatch import ColSpec, Schema
        >>> to_arrow(Schema([ColSpec("double", "x")])).field("x")
        pyarrow.Field<x: double not null>
    """
    specs: tuple[ColSpec | TensorSpec, ...] = schema.inputs
    fields = [arrow_field(spec, str(i)) for i, spec in enumerate(specs)]
    metadata = None if schema.has_input_names() else {UNNAMED_KEY: b"true"}
    return pa.schema(fields, metadata=metadata)


def _property_field(prop: Property) -> pa.Field:
    """The struct field of an Object property."""
    return pa.field(
        prop.name, arrow_type(prop.dtype), nullable=not prop.required, metadata=_marker(prop.dtype)
    )


def _needs_marker(dtype: ColumnType) -> bool:
    """True when the Arrow type alone would read back as a different signature type."""
    if isinstance(dtype, (AnyType, SparkMLVector)):
        return True
    if isinstance(dtype, Array):
        return _needs_marker(dtype.dtype)
    if isinstance(dtype, Map):
        return _needs_marker(dtype.value_type)
    return False  # scalars; Objects mark their own fields


def _type_json(dtype: ColumnType) -> dict[str, Any]:
    """MLflow's JSON dict of a type."""
    return {"type": dtype.name} if isinstance(dtype, DataType) else dtype.to_dict()


def _marker(dtype: ColumnType) -> dict[bytes, bytes] | None:
    """The field metadata that lets ``dtype`` round-trip, or None when none is needed."""
    if not _needs_marker(dtype):
        return None
    return {TYPE_KEY: json.dumps(_type_json(dtype)).encode()}


def _tensor_marker(spec: TensorSpec) -> dict[bytes, bytes]:
    """The field metadata holding a tensor's dtype and shape."""
    body = {"type": "tensor", "tensor-spec": {"dtype": spec.type.name, "shape": list(spec.shape)}}
    return {TYPE_KEY: json.dumps(body).encode()}


def _tensor_type(spec: TensorSpec, column: str) -> pa.DataType:
    """Nested lists of the tensor's dtype, one list per dimension after the batch dimension."""
    if not spec.shape or spec.shape[0] != -1:
        msg = (
            f"Tensor column {column!r} has shape {spec.shape}: only tensors whose first dimension is "
            "-1 (one row per slice) map to Arrow. Hint: declare the batch dimension as -1."
        )
        raise SignatureError(msg)
    if spec.type.kind == "O":
        msg = (
            f"Tensor column {column!r} has numpy dtype 'object', which has no Arrow type. "
            "Hint: declare the element dtype (e.g. float64 or str)."
        )
        raise SignatureError(msg)
    try:
        storage = pa.from_numpy_dtype(spec.type)
    except (pa.ArrowNotImplementedError, TypeError) as exc:
        msg = f"Tensor column {column!r} has numpy dtype {spec.type.name!r}, which has no Arrow type."
        raise SignatureError(msg) from exc
    for size in reversed(spec.shape[1:]):
        item = pa.field("item", storage, nullable=False)
        storage = pa.list_(item) if size < 0 else pa.list_(item, size)
    return storage


# --- Arrow -> signature ----------------------------------------------------------------------


def from_arrow_type(arrow_type: pa.DataType) -> ColumnType:
    """The signature type of an Arrow type.

    Markers on struct fields inside ``arrow_type`` are honoured; a marker on the field holding
    ``arrow_type`` is not visible here (use :func:`from_arrow_field`).

    Args:
        arrow_type: Any Arrow type with a signature equivalent.

    Returns:
        A ``DataType``, ``Array``, ``Object``, ``Map`` or ``AnyType``.

    Raises:
        SignatureError: The type (or a type inside it) has no signature equivalent.

    Example:
        >>> import pyarrow as pa
        >>> from_arrow_type(pa.large_list(pa.int16()))
        Array(integer)
    """
    return _from_type(arrow_type, "<type>")


def from_arrow_field(field: pa.Field) -> ColSpec | TensorSpec:
    """The column spec of an Arrow field, honouring its ``sigbatch.type`` marker.

    Args:
        field: An Arrow field; non-nullable means required.

    Returns:
        A named ``ColSpec`` (or ``TensorSpec`` for a field marked as a tensor).

    Example:
        >>> import pyarrow as pa
        >>> from_arrow_field(pa.field("n", pa.int64()))
        'n': long (optional)
    """
    return _spec_from_field(field, field.name)


def from_arrow(arrow_schema: pa.Schema) -> Schema:
    """The signature schema of an Arrow schema.

    Args:
        arrow_schema: The Arrow schema, e.g. of a Parquet dataset or of :func:`to_arrow`'s result.

    Returns:
        One spec per field; unnamed when the schema metadata says so.

    Raises:
        SignatureError: A field has no signature equivalent (the message names it and its type).

    Example:
        >>> import pyarrow as pa
        >>> from_arrow(pa.schema([pa.field("s", pa.large_string(), nullable=False)]))
        ['s': string (required)]
    """
    metadata = arrow_schema.metadata or {}
    unnamed = metadata.get(UNNAMED_KEY) == b"true"
    return Schema([_spec_from_field(f, None if unnamed else f.name) for f in arrow_schema])


def _spec_from_field(field: pa.Field, name: str | None) -> ColSpec | TensorSpec:
    """A spec from a field, named ``name``."""
    marked = _read_marker(field, path_name(field.name))
    if isinstance(marked, TensorSpec):
        return TensorSpec(marked.type, marked.shape, name)
    dtype = marked if marked is not None else _from_type(field.type, path_name(field.name))
    return ColSpec(dtype, name, required=not field.nullable)


def _from_field(field: pa.Field, path: str) -> ColumnType:
    """The signature type of a struct field (marker first)."""
    marked = _read_marker(field, path)
    if isinstance(marked, TensorSpec):
        msg = f"Field {path!r} is marked as a tensor; tensors can only be top-level columns."
        raise SignatureError(msg)
    return marked if marked is not None else _from_type(field.type, path)


def _read_marker(field: pa.Field, path: str) -> ColumnType | TensorSpec | None:
    """The type a field's ``sigbatch.type`` marker names, checked against its Arrow type."""
    text = (field.metadata or {}).get(TYPE_KEY)
    if text is None:
        return None
    try:
        body = json.loads(text)
        marked: ColumnType | TensorSpec
        if body.get("type") == "tensor":
            info = body["tensor-spec"]
            tensor = TensorSpec(np.dtype(info["dtype"]), info["shape"])
            marked, expected = tensor, _tensor_type(tensor, path)
        else:
            from sigbatch.wire import schema_from_json

            spec = schema_from_json(json.dumps([{**body, "name": "x", "required": True}])).inputs[0]
            assert isinstance(spec, ColSpec)  # the body is a column type, never a tensor here
            marked, expected = spec.type, arrow_type(spec.type)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        msg = f"Field {path!r} has an unreadable {TYPE_KEY.decode()} marker {text!r}: {exc}"
        raise SignatureError(msg) from exc
    if _skeleton(expected) != _skeleton(field.type):
        msg = (
            f"Field {path!r} is marked as {text.decode()} but its Arrow type {field.type} cannot "
            f"hold that type (expected {expected}). Hint: cast the column or drop the "
            f"{TYPE_KEY.decode()} metadata."
        )
        raise SignatureError(msg)
    return marked


def _skeleton(t: pa.DataType) -> Any:
    """A comparable form of an Arrow type that ignores encodings a reader accepts alike."""
    if pa.types.is_dictionary(t):
        return _skeleton(t.value_type)
    if _is_list_like(t):
        return ("list", _skeleton(t.value_type))
    if pa.types.is_map(t):
        return ("map", _skeleton(t.item_type))
    if pa.types.is_struct(t):
        return ("struct", tuple((f.name, _skeleton(f.type)) for f in t))
    if _is_string_like(t):
        return "string"
    if _is_binary_like(t):
        return "binary"
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        return "datetime"
    return str(t)


def _is_list_like(t: pa.DataType) -> bool:
    """Any of Arrow's list encodings."""
    return (
        pa.types.is_list(t)
        or pa.types.is_large_list(t)
        or pa.types.is_fixed_size_list(t)
        or pa.types.is_list_view(t)
        or pa.types.is_large_list_view(t)
    )


def _is_string_like(t: pa.DataType) -> bool:
    """Any of Arrow's UTF-8 string encodings."""
    return pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t)


def _is_binary_like(t: pa.DataType) -> bool:
    """Any of Arrow's binary encodings."""
    return (
        pa.types.is_binary(t)
        or pa.types.is_large_binary(t)
        or pa.types.is_binary_view(t)
        or pa.types.is_fixed_size_binary(t)
    )


def _from_type(t: pa.DataType, path: str) -> ColumnType:
    """The signature type of an Arrow type found at ``path`` (for error messages)."""
    types = pa.types
    if types.is_dictionary(t):
        return _from_type(t.value_type, path)
    if types.is_boolean(t):
        return DataType.boolean
    if types.is_int8(t) or types.is_int16(t) or types.is_int32(t):
        return DataType.integer
    if types.is_uint8(t) or types.is_uint16(t):
        return DataType.integer
    if types.is_int64(t) or types.is_uint32(t):
        return DataType.long
    if types.is_float16(t) or types.is_float32(t):
        return DataType.float
    if types.is_float64(t):
        return DataType.double
    if _is_string_like(t):
        return DataType.string
    if _is_binary_like(t):
        return DataType.binary
    if types.is_timestamp(t) or types.is_date(t):
        return DataType.datetime
    if types.is_null(t):
        return AnyType()  # MLflow infers AnyType for a column that holds only None
    if _is_list_like(t):
        return Array(_from_field(t.value_field, f"{path}[]"))
    if types.is_map(t):
        if not (_is_string_like(t.key_type) or _is_dictionary_of_strings(t.key_type)):
            msg = (
                f"Field {path!r} has Arrow type {t}: signature maps have string keys only. "
                "Hint: cast the keys to string."
            )
            raise SignatureError(msg)
        return Map(_from_field(t.item_field, f"{path}{{}}"))
    if types.is_struct(t):
        if t.num_fields == 0:
            msg = f"Field {path!r} is an empty struct; a signature Object needs at least one property."
            raise SignatureError(msg)
        props = [
            Property(f.name, _from_field(f, child_path(path, f.name)), required=not f.nullable) for f in t
        ]
        try:
            return Object(props)
        except SignatureError as exc:
            msg = f"Field {path!r} cannot be a signature Object: {exc}"
            raise SignatureError(msg) from exc
    hint = _HINTS.get(t.id, "")
    msg = f"Field {path!r} has Arrow type {t}, which has no MLflow signature type.{hint}"
    raise SignatureError(msg)


def _is_dictionary_of_strings(t: pa.DataType) -> bool:
    """A dictionary-encoded string type."""
    return pa.types.is_dictionary(t) and _is_string_like(t.value_type)


_HINTS = {
    pa.uint64().id: " Hint: cast it to int64 (long) if the values fit.",
    pa.decimal128(1, 0).id: " Hint: cast it to float64 (double) or string.",
    pa.decimal256(1, 0).id: " Hint: cast it to float64 (double) or string.",
    pa.duration("us").id: " Hint: cast it to int64 (long) microseconds.",
    pa.time64("us").id: " Hint: cast it to string or to a timestamp.",
    pa.time32("s").id: " Hint: cast it to string or to a timestamp.",
}


def nesting(t: pa.DataType) -> int:
    """How many list, struct or map levels ``t`` holds (0 for a scalar), without recursion."""
    deepest, stack = 0, [(t, 0)]
    while stack:
        t, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(t, pa.ExtensionType):
            stack.append((t.storage_type, depth))
        elif pa.types.is_dictionary(t):
            stack.append((t.value_type, depth))
        elif pa.types.is_map(t):
            stack.append((t.item_type, depth + 1))
        elif pa.types.is_nested(t):
            stack.extend((t.field(i).type, depth + 1) for i in range(t.num_fields))
    return deepest


def retyped(t: pa.DataType, leaf: Callable[[pa.DataType], pa.DataType]) -> pa.DataType:
    """``t`` with ``leaf(type)`` applied to every type in it that holds no other (names,
    nullability and list kinds kept); lists of every kind, maps and structs are walked, and a
    struct without fields is a leaf.

    Example:
        >>> retyped(pa.map_(pa.string(), pa.list_(pa.null())), lambda x: pa.string() if pa.types.is_null(x) else x)
        MapType(map<string, list<item: string>>)
    """
    if pa.types.is_list(t):
        return pa.list_(t.value_field.with_type(retyped(t.value_type, leaf)))
    if pa.types.is_large_list(t):
        return pa.large_list(t.value_field.with_type(retyped(t.value_type, leaf)))
    if pa.types.is_fixed_size_list(t):
        return pa.list_(t.value_field.with_type(retyped(t.value_type, leaf)), t.list_size)
    if pa.types.is_map(t):
        return pa.map_(
            t.key_field.with_type(retyped(t.key_type, leaf)),
            t.item_field.with_type(retyped(t.item_type, leaf)),
        )
    if pa.types.is_struct(t) and t.num_fields:
        return pa.struct([f.with_type(retyped(f.type, leaf)) for f in t])
    return leaf(t)
