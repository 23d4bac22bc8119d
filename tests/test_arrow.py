"""Signature <-> Arrow schema mapping (sigbatch.arrow)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings

from sigbatch import (
    AnyType,
    Array,
    ColSpec,
    DataType,
    Map,
    ModelSignature,
    Object,
    Property,
    Schema,
    SignatureError,
    SparkMLVector,
    TensorSpec,
)
from sigbatch.arrow import (
    TYPE_KEY,
    UNNAMED_KEY,
    arrow_field,
    arrow_type,
    from_arrow,
    from_arrow_field,
    from_arrow_type,
    to_arrow,
)
from tests.strategies import colspec_schemas, conforming_tables

GOLDEN = sorted(p for p in (Path(__file__).parent / "golden").glob("*.json") if p.name != "errors.json")


def _marker(type_json: dict) -> dict[bytes, bytes]:
    return {TYPE_KEY: json.dumps(type_json).encode()}


def _item(t: pa.DataType, nullable: bool = True) -> pa.Field:
    return pa.field("item", t, nullable=nullable)


SCALARS = [
    ("string", pa.string()),
    ("integer", pa.int32()),
    ("long", pa.int64()),
    ("float", pa.float32()),
    ("double", pa.float64()),
    ("boolean", pa.bool_()),
    ("datetime", pa.timestamp("us")),
    ("binary", pa.binary()),
]


@pytest.mark.parametrize(("name", "expected"), SCALARS)
def test_scalar_types_map_exactly(name, expected):
    """Each scalar maps to its Arrow type; required is non-nullable, optional nullable."""
    schema = Schema([ColSpec(name, "req"), ColSpec(name, "opt", required=False)])
    assert arrow_type(DataType[name]) == expected
    assert to_arrow(schema).equals(
        pa.schema([pa.field("req", expected, nullable=False), pa.field("opt", expected)]),
        check_metadata=True,
    )
    assert from_arrow(to_arrow(schema)) == schema


def test_nested_types_map_exactly():
    """Array -> list (nullable items), Object -> sorted struct by required, Map -> map<string, T>."""
    obj = Object(
        [Property("z", "string"), Property("a", "long", required=False), Property("m", Array("double"))]
    )
    schema = Schema(
        [
            ColSpec(Array("string"), "tags"),
            ColSpec(obj, "obj", required=False),
            ColSpec(Map("double"), "scores"),
            ColSpec(Array(Map(Array("long"))), "deep"),
        ]
    )
    expected_struct = pa.struct(
        [
            pa.field("a", pa.int64(), nullable=True),
            pa.field("m", pa.list_(_item(pa.float64())), nullable=False),
            pa.field("z", pa.string(), nullable=False),
        ]
    )
    expected = pa.schema(
        [
            pa.field("tags", pa.list_(_item(pa.string())), nullable=False),
            pa.field("obj", expected_struct, nullable=True),
            pa.field("scores", pa.map_(pa.string(), pa.float64()), nullable=False),
            pa.field(
                "deep",
                pa.list_(_item(pa.map_(pa.string(), pa.list_(_item(pa.int64()))))),
                nullable=False,
            ),
        ]
    )
    got = to_arrow(schema)
    assert got.equals(expected, check_metadata=True)
    assert got.field("tags").type.value_field.nullable is True
    assert got.field("scores").type.key_field.nullable is False
    assert got.field("scores").type.item_field.nullable is True
    assert from_arrow(got) == schema


def test_any_type_is_marked_json_string():
    """AnyType columns are string fields marked with MLflow's type JSON, and read back as AnyType."""
    schema = Schema(
        [
            ColSpec(AnyType(), "any_req"),
            ColSpec(AnyType(), "any_opt", required=False),
            ColSpec(Array(AnyType()), "any_list"),
            ColSpec(Map(AnyType()), "any_map", required=False),
        ]
    )
    expected = pa.schema(
        [
            pa.field("any_req", pa.string(), nullable=False, metadata=_marker({"type": "any"})),
            pa.field("any_opt", pa.string(), metadata=_marker({"type": "any"})),
            pa.field(
                "any_list",
                pa.list_(_item(pa.string())),
                nullable=False,
                metadata=_marker({"type": "array", "items": {"type": "any"}}),
            ),
            pa.field(
                "any_map",
                pa.map_(pa.string(), pa.string()),
                metadata=_marker({"type": "map", "values": {"type": "any"}}),
            ),
        ]
    )
    assert to_arrow(schema).equals(expected, check_metadata=True)
    assert from_arrow(to_arrow(schema)) == schema


def test_any_type_inside_object_marks_the_struct_field():
    """An AnyType property is marked on its struct field, so it survives inside arrays of objects."""
    obj = Object([Property("extra", Array(AnyType()), required=False), Property("id", "long")])
    schema = Schema([ColSpec(Array(obj), "items")])
    struct = to_arrow(schema).field("items").type.value_type
    assert struct.field("extra").metadata == _marker({"type": "array", "items": {"type": "any"}})
    assert struct.field("id").metadata is None
    assert to_arrow(schema).field("items").metadata is None
    assert from_arrow(to_arrow(schema)) == schema


def test_unmarked_string_reads_as_string():
    """Without a marker a string field is a string column, not AnyType."""
    assert from_arrow(pa.schema([pa.field("a", pa.string())])) == Schema([ColSpec("string", "a", False)])


def test_spark_ml_vector_round_trips():
    """SparkMLVector is list<double> with a marker; an unmarked list<double> is Array(double)."""
    schema = Schema([ColSpec(SparkMLVector(), "features")])
    field = to_arrow(schema).field("features")
    assert field.type == pa.list_(pa.float64())
    assert field.metadata == _marker({"type": "sparkml_vector"})
    assert from_arrow(to_arrow(schema)) == schema
    assert from_arrow_field(field.remove_metadata()) == ColSpec(Array("double"), "features")


def test_unnamed_schema_named_by_position_and_marked():
    """Unnamed specs become fields '0', '1', ... with schema metadata restoring name=None."""
    schema = Schema([ColSpec("string"), ColSpec(Array("long"))])
    expected = pa.schema(
        [
            pa.field("0", pa.string(), nullable=False),
            pa.field("1", pa.list_(_item(pa.int64())), nullable=False),
        ],
        metadata={UNNAMED_KEY: b"true"},
    )
    assert to_arrow(schema).equals(expected, check_metadata=True)
    assert from_arrow(to_arrow(schema)) == schema
    assert from_arrow(expected.remove_metadata()) == Schema(
        [ColSpec("string", "0"), ColSpec(Array("long"), "1")]
    )


def test_tensor_maps_to_nested_lists_with_marker():
    """A (-1, 28, 28) float32 tensor is a non-nullable fixed-size list of lists, marked with its spec."""
    schema = Schema(
        [
            TensorSpec(np.dtype("float32"), (-1, 28, 28), "img"),
            TensorSpec(np.dtype("int64"), (-1,), "label"),
            TensorSpec(np.dtype("str"), (-1, -1), "tokens"),
        ]
    )
    row = pa.list_(pa.field("item", pa.float32(), nullable=False), 28)
    expected = pa.schema(
        [
            pa.field(
                "img",
                pa.list_(pa.field("item", row, nullable=False), 28),
                nullable=False,
                metadata=_marker(
                    {"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 28, 28]}}
                ),
            ),
            pa.field(
                "label",
                pa.int64(),
                nullable=False,
                metadata=_marker({"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}),
            ),
            pa.field(
                "tokens",
                pa.list_(pa.field("item", pa.string(), nullable=False)),
                nullable=False,
                metadata=_marker({"type": "tensor", "tensor-spec": {"dtype": "str", "shape": [-1, -1]}}),
            ),
        ]
    )
    assert to_arrow(schema).equals(expected, check_metadata=True)
    assert from_arrow(to_arrow(schema)) == schema


def test_unnamed_tensor_round_trips():
    """A single unnamed tensor is field '0' and reads back unnamed."""
    schema = Schema([TensorSpec(np.dtype("float64"), (-1, 4))])
    assert to_arrow(schema).names == ["0"]
    assert from_arrow(to_arrow(schema)) == schema


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            TensorSpec(np.dtype("float32"), (3, 4), "whole"),
            "Tensor column 'whole' has shape (3, 4): only tensors whose first dimension is -1 "
            "(one row per slice) map to Arrow. Hint: declare the batch dimension as -1.",
        ),
        (
            TensorSpec(np.dtype("object"), (-1,), "objs"),
            "Tensor column 'objs' has numpy dtype 'object', which has no Arrow type. "
            "Hint: declare the element dtype (e.g. float64 or str).",
        ),
    ],
)
def test_unmappable_tensor_is_refused(spec, message):
    """Tensors without a batch dimension or with object dtype raise a SignatureError naming the column."""
    with pytest.raises(SignatureError) as info:
        to_arrow(Schema([spec]))
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("arrow", "expected"),
    [
        (pa.large_string(), DataType.string),
        (pa.string_view(), DataType.string),
        (pa.dictionary(pa.int32(), pa.string()), DataType.string),
        (pa.large_binary(), DataType.binary),
        (pa.binary(4), DataType.binary),
        (pa.timestamp("ns", tz="Europe/Paris"), DataType.datetime),
        (pa.timestamp("s"), DataType.datetime),
        (pa.date32(), DataType.datetime),
        (pa.date64(), DataType.datetime),
        (pa.int8(), DataType.integer),
        (pa.int16(), DataType.integer),
        (pa.uint8(), DataType.integer),
        (pa.uint16(), DataType.integer),
        (pa.uint32(), DataType.long),
        (pa.float16(), DataType.float),
        (pa.null(), AnyType()),
        (pa.large_list(pa.int64()), Array(DataType.long)),
        (pa.list_(pa.float64(), 3), Array(DataType.double)),
        (pa.list_(pa.field("element", pa.string(), nullable=False)), Array(DataType.string)),
        (pa.map_(pa.large_string(), pa.bool_()), Map(DataType.boolean)),
        (
            pa.struct([pa.field("b", pa.int8(), nullable=False), pa.field("a", pa.date32())]),
            Object([Property("a", "datetime", required=False), Property("b", "integer")]),
        ),
    ],
)
def test_from_arrow_type_reads_foreign_types(arrow, expected):
    """Arrow types without an exact signature twin read as MLflow's inference would read them."""
    assert from_arrow_type(arrow) == expected


@pytest.mark.parametrize(
    ("arrow", "message"),
    [
        (
            pa.decimal128(10, 2),
            "Field 'price' has Arrow type decimal128(10, 2), which has no MLflow signature type. "
            "Hint: cast it to float64 (double) or string.",
        ),
        (
            pa.uint64(),
            "Field 'price' has Arrow type uint64, which has no MLflow signature type. "
            "Hint: cast it to int64 (long) if the values fit.",
        ),
        (
            pa.duration("ms"),
            "Field 'price' has Arrow type duration[ms], which has no MLflow signature type. "
            "Hint: cast it to int64 (long) microseconds.",
        ),
        (
            pa.time64("ns"),
            "Field 'price' has Arrow type time64[ns], which has no MLflow signature type. "
            "Hint: cast it to string or to a timestamp.",
        ),
        (
            pa.map_(pa.int64(), pa.string()),
            "Field 'price' has Arrow type map<int64, string>: signature maps have string keys only. "
            "Hint: cast the keys to string.",
        ),
        (
            pa.struct([]),
            "Field 'price' is an empty struct; a signature Object needs at least one property.",
        ),
    ],
)
def test_unmappable_arrow_types_raise(arrow, message):
    """Arrow types with no signature equivalent raise a SignatureError naming the field and type."""
    with pytest.raises(SignatureError) as info:
        from_arrow(pa.schema([pa.field("price", arrow)]))
    assert str(info.value) == message


def test_unmappable_nested_type_names_its_path():
    """The error for a nested unmappable type names the path down to it."""
    arrow = pa.schema([pa.field("order", pa.struct([pa.field("lines", pa.list_(pa.decimal128(5, 1)))]))])
    with pytest.raises(SignatureError) as info:
        from_arrow(arrow)
    assert str(info.value) == (
        "Field 'order.lines[]' has Arrow type decimal128(5, 1), which has no MLflow signature type. "
        "Hint: cast it to float64 (double) or string."
    )


def test_marker_that_does_not_fit_the_arrow_type_raises():
    """A marker naming a type the Arrow field cannot hold is refused, not trusted."""
    field = pa.field("x", pa.int64(), metadata=_marker({"type": "any"}))
    with pytest.raises(SignatureError) as info:
        from_arrow(pa.schema([field]))
    assert str(info.value) == (
        'Field \'x\' is marked as {"type": "any"} but its Arrow type int64 cannot hold that type '
        "(expected string). Hint: cast the column or drop the sigbatch.type metadata."
    )


def test_marker_accepts_other_encodings():
    """A marked field still reads when its lists/strings were re-encoded (large_list, large_string)."""
    field = pa.field(
        "x", pa.large_list(pa.large_string()), metadata=_marker({"type": "array", "items": {"type": "any"}})
    )
    assert from_arrow_field(field) == ColSpec(Array(AnyType()), "x", required=False)


def test_required_none_reads_back_optional():
    """MLflow's required=None (complex column without the key) is nullable and reads back as False."""
    schema = Schema([ColSpec(Array("string"), "a", required=None)])
    assert to_arrow(schema).field("a").nullable is True
    assert from_arrow(to_arrow(schema)) == Schema([ColSpec(Array("string"), "a", required=False)])


def test_arrow_field_of_unnamed_spec_needs_a_name():
    """arrow_field of an unnamed spec uses the given name, and refuses to guess one."""
    assert arrow_field(ColSpec("long"), "0") == pa.field("0", pa.int64(), nullable=False)
    with pytest.raises(SignatureError):
        arrow_field(ColSpec("long"))


def test_arrow_type_accepts_type_names():
    """arrow_type takes a scalar type name as well as a DataType, and refuses unknown names."""
    assert arrow_type("long") == pa.int64()
    with pytest.raises(SignatureError):
        arrow_type("int")


@pytest.mark.parametrize("path", GOLDEN, ids=lambda p: p.stem)
def test_golden_schemas_round_trip(path):
    """Every schema in the MLflow golden files round-trips through Arrow (required=None -> False)."""
    sig = ModelSignature.from_dict(json.loads(path.read_text())["signature_dict"])
    for schema in (sig.inputs, sig.outputs):
        if schema is None:
            continue
        expected = Schema(
            [
                ColSpec(s.type, s.name, required=bool(s.required)) if isinstance(s, ColSpec) else s
                for s in schema.inputs
            ]
        )
        assert from_arrow(to_arrow(schema)) == expected


@settings(max_examples=100, deadline=None)
@given(colspec_schemas())
def test_round_trip_property(schema):
    """from_arrow(to_arrow(s)) == s for every column-based schema, required flags included."""
    assert from_arrow(to_arrow(schema)) == schema


@settings(max_examples=50, deadline=None)
@given(colspec_schemas().flatmap(lambda s: conforming_tables(s).map(lambda t: (s, t))))
def test_conforming_tables_hold_valid_data(schema_and_table):
    """Conforming tables carry the schema's Arrow schema and pass Arrow's full validation."""
    schema, table = schema_and_table
    assert table.schema.equals(to_arrow(schema), check_metadata=True)
    table.validate(full=True)
    for spec, column in zip(schema.inputs, table.columns, strict=True):
        if spec.required:
            assert column.null_count == 0


def test_integer_names_are_text_in_arrow_and_spark_forms():
    """A column named by an integer (a DataFrame label, as MLflow writes it) is that text in Arrow."""
    from sigbatch import ColSpec, Schema
    from sigbatch.arrow import to_arrow

    schema = Schema([ColSpec("long", 5), ColSpec("string", "s", required=False)])
    assert to_arrow(schema) == pa.schema(
        [pa.field("5", pa.int64(), nullable=False), pa.field("s", pa.string())]
    )
