"""Signature schemas as Spark types, and back, derived through the Arrow schema.

There is no Spark type table here: a signature goes to its Arrow schema (:mod:`sigbatch.arrow`) and
pyspark's own Arrow conversion (``pyspark.sql.pandas.types``) turns that into a ``StructType``, and
the other way round. So Spark agrees with Arrow by construction, and with MLflow's
``Schema.as_spark_schema()`` wherever MLflow defines one (scalar columns; a required column is a
non-nullable field; ``datetime`` is ``TimestampType``).

* ``sigbatch.type`` markers (AnyType, SparkMLVector, tensors; see :mod:`sigbatch.arrow`) become the
  Spark field metadata ``{"sigbatch.type": "<MLflow type JSON>"}`` on the same field, so they
  survive a ``StructType`` too. Unmarked fields keep empty metadata, as MLflow's do.
* Reading accepts ``TimestampType``, ``TimestampNTZType`` and ``DateType`` as ``datetime``
  (Spark 4 reads a Parquet timestamp without time zone as ``timestamp_ntz``), ``ByteType`` and
  ``ShortType`` as ``integer``, and Spark ML's ``VectorUDT`` as ``SparkMLVector``, at any depth.
* A ``StructType`` has no place for "these columns have no names": :func:`to_struct_type` names
  unnamed columns ``"0"``, ``"1"``, ... exactly as MLflow does, and :func:`from_struct_type` gives
  named specs unless told ``unnamed=True``. :func:`to_spark_type` follows MLflow's rule that a
  single unnamed column is the bare Spark type; :func:`from_spark_type` reads that back.

Example:
    >>> from sigbatch import ColSpec, Schema
    >>> to_struct_type(Schema([ColSpec("datetime", "t", required=False)])).simpleString()
    'struct<t:timestamp>'
"""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

import pyarrow as pa
from pyspark.errors import PySparkTypeError
from pyspark.sql.pandas.types import (
    from_arrow_metadata,
    from_arrow_schema,
    to_arrow_metadata,
    to_arrow_schema,
)
from pyspark.sql.types import (
    ArrayType,
    DataType,
    DoubleType,
    MapType,
    StructField,
    StructType,
    UserDefinedType,
)

from sigbatch.arrow import TYPE_KEY, UNNAMED_KEY, from_arrow, to_arrow
from sigbatch.errors import SignatureError
from sigbatch.types import (
    Array,
    ColSpec,
    ColumnType,
    Map,
    Object,
    Property,
    Schema,
    SparkMLVector,
    TensorSpec,
)

__all__ = ["from_spark_type", "from_struct_type", "to_spark_type", "to_struct_type"]

_SPARK_TYPE_KEY = TYPE_KEY.decode()


def to_struct_type(schema: Schema) -> StructType:
    """The Spark ``StructType`` of data conforming to a signature schema.

    Args:
        schema: A column-based (or row-tensor) signature schema.

    Returns:
        One field per spec; required specs are non-nullable; unnamed specs are named by position.

    Raises:
        SignatureError: A spec has no Spark type (e.g. a uint64 or float16 tensor).

    Example:
        >>> from sigbatch import Array, ColSpec, Schema
        >>> to_struct_type(Schema([ColSpec(Array("string"), "tags")])).simpleString()
        'struct<tags:array<string>>'
    """
    fields = []
    for field in to_arrow(schema):
        tagged = _retag_field(field, _to_spark_metadata)
        try:
            fields.extend(from_arrow_schema(pa.schema([tagged]), prefer_timestamp_ntz=False).fields)
        except PySparkTypeError as exc:
            msg = f"Column {field.name!r} has Arrow type {field.type}, which Spark cannot hold: {exc}"
            raise SignatureError(msg) from exc
    return StructType(fields)


def from_struct_type(struct_type: StructType, *, unnamed: bool = False) -> Schema:
    """The signature schema of a Spark ``StructType``.

    Args:
        struct_type: The Spark schema, e.g. ``df.schema``.
        unnamed: Read the fields as unnamed specs (their names are positions), the inverse of
            :func:`to_struct_type` for an unnamed schema.

    Returns:
        One spec per field; a non-nullable field is required.

    Raises:
        SignatureError: A field has no signature type (the message names it and its type).

    Example:
        >>> from pyspark.sql.types import StructType, StructField, TimestampNTZType
        >>> from_struct_type(StructType([StructField("t", TimestampNTZType(), False)]))
        ['t': datetime (required)]
    """
    plain = cast(StructType, _replace_vectors(struct_type))
    arrow = to_arrow_schema(plain, timezone="UTC")
    arrow = pa.schema(
        [_retag_field(f, _from_spark_metadata) for f in arrow],
        metadata={UNNAMED_KEY: b"true"} if unnamed else None,
    )
    schema = from_arrow(arrow)
    if plain is struct_type:
        return schema
    return Schema(
        [_restore_vectors(spec, f.dataType) for spec, f in zip(_specs(schema), struct_type, strict=True)]
    )


def to_spark_type(schema: Schema) -> DataType:
    """MLflow's ``as_spark_schema()``: the bare type of a single unnamed column, else the struct.

    Example:
        >>> from sigbatch import ColSpec, Schema
        >>> to_spark_type(Schema([ColSpec("string")]))
        StringType()
    """
    struct = to_struct_type(schema)
    if len(schema.inputs) == 1 and not schema.has_input_names():
        return struct.fields[0].dataType
    return struct


def from_spark_type(spark_type: DataType) -> Schema:
    """The inverse of :func:`to_spark_type`: a struct is read by name, a bare type as one unnamed column.

    Example:
        >>> from pyspark.sql.types import LongType
        >>> from_spark_type(LongType())
        [long (required)]
    """
    if isinstance(spark_type, StructType):
        return from_struct_type(spark_type)
    return from_struct_type(StructType([StructField("0", spark_type, nullable=False)]), unnamed=True)


# --- markers between Arrow field metadata and Spark field metadata ----------------------------


def _to_spark_metadata(metadata: dict[bytes, bytes] | None) -> dict[bytes, bytes] | None:
    """A sigbatch marker as the Spark metadata pyspark reads from Arrow."""
    if not metadata or TYPE_KEY not in metadata:
        return None
    return to_arrow_metadata({_SPARK_TYPE_KEY: metadata[TYPE_KEY].decode()})


def _from_spark_metadata(metadata: dict[bytes, bytes] | None) -> dict[bytes, bytes] | None:
    """The sigbatch marker inside Spark field metadata, if any."""
    spark = from_arrow_metadata(metadata) or {}
    text = spark.get(_SPARK_TYPE_KEY)
    return {TYPE_KEY: text.encode()} if isinstance(text, str) else None


_Retag = Callable[[dict[bytes, bytes] | None], dict[bytes, bytes] | None]


def _retag_field(field: pa.Field, retag: _Retag) -> pa.Field:
    """The field with its metadata, and that of every struct field inside it, rewritten."""
    new = field.with_type(_retag_type(field.type, retag)).remove_metadata()
    metadata = retag(field.metadata)
    return new.with_metadata(metadata) if metadata else new


def _retag_type(t: pa.DataType, retag: _Retag) -> pa.DataType:
    """The type with the metadata of every struct field inside it rewritten."""
    if pa.types.is_struct(t):
        return pa.struct([_retag_field(f, retag) for f in t])
    if pa.types.is_map(t):
        return pa.map_(t.key_field, t.item_field.with_type(_retag_type(t.item_type, retag)))
    if pa.types.is_fixed_size_list(t):
        return pa.list_(t.value_field.with_type(_retag_type(t.value_type, retag)), t.list_size)
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        value = t.value_field.with_type(_retag_type(t.value_type, retag))
        return pa.list_(value) if pa.types.is_list(t) else pa.large_list(value)
    return t


# --- Spark ML vectors ----------------------------------------------------------------------------


def _is_vector(dt: DataType) -> bool:
    """Spark ML's vector type (a UDT stored as a struct)."""
    return isinstance(dt, UserDefinedType) and type(dt).__name__ == "VectorUDT"


def _replace_vectors(dt: DataType) -> DataType:
    """The type with each vector as array<double>; the same object when it holds no vector."""
    if _is_vector(dt):
        return ArrayType(DoubleType(), containsNull=False)
    if isinstance(dt, ArrayType):
        element = _replace_vectors(dt.elementType)
        return dt if element is dt.elementType else ArrayType(element, dt.containsNull)
    if isinstance(dt, MapType):
        value = _replace_vectors(dt.valueType)
        return dt if value is dt.valueType else MapType(dt.keyType, value, dt.valueContainsNull)
    if isinstance(dt, StructType):
        types = [_replace_vectors(f.dataType) for f in dt.fields]
        if all(new is f.dataType for new, f in zip(types, dt.fields, strict=True)):
            return dt
        return StructType(
            [
                StructField(f.name, new, f.nullable, f.metadata)
                for new, f in zip(types, dt.fields, strict=True)
            ]
        )
    return dt


def _specs(schema: Schema) -> tuple[ColSpec | TensorSpec, ...]:
    """The specs of a schema, typed for iteration."""
    return schema.inputs


def _restore_vectors(spec: ColSpec | TensorSpec, dt: DataType) -> ColSpec | TensorSpec:
    """The spec with SparkMLVector wherever the original Spark type had a vector."""
    if isinstance(spec, TensorSpec):
        return spec
    return ColSpec(_vector_type(spec.type, dt), spec.name, spec.required)


def _vector_type(sig: ColumnType, dt: DataType) -> ColumnType:
    """Walk a signature type and the Spark type it came from together, putting vectors back."""
    if _is_vector(dt):
        return SparkMLVector()
    if isinstance(dt, ArrayType) and isinstance(sig, Array):
        return Array(_vector_type(sig.dtype, dt.elementType))
    if isinstance(dt, MapType) and isinstance(sig, Map):
        return Map(_vector_type(sig.value_type, dt.valueType))
    if isinstance(dt, StructType) and isinstance(sig, Object):
        by_name = {f.name: f.dataType for f in dt.fields}
        return Object(
            [Property(p.name, _vector_type(p.dtype, by_name[p.name]), p.required) for p in sig.properties]
        )
    return sig
