"""Signature <-> Spark type mapping (sigbatch.spark.types), and pandas 3 with pyspark 4."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyspark.ml.linalg import VectorUDT
from pyspark.sql.types import (
    ArrayType,
    BinaryType,
    BooleanType,
    ByteType,
    DateType,
    DecimalType,
    DoubleType,
    FloatType,
    IntegerType,
    LongType,
    MapType,
    ShortType,
    StringType,
    StructField,
    StructType,
    TimestampNTZType,
    TimestampType,
)

from sigbatch import (
    AnyType,
    Array,
    ColSpec,
    Map,
    ModelSignature,
    Object,
    Property,
    Schema,
    SignatureError,
    SparkMLVector,
    TensorSpec,
)
from sigbatch.arrow import from_arrow, to_arrow
from sigbatch.spark import from_spark_type, from_struct_type, to_spark_type, to_struct_type
from tests.strategies import colspec_schemas, names, scalar_types

GOLDEN_DIR = Path(__file__).parent / "golden"
SPARK_GOLDEN = [
    p
    for p in sorted(GOLDEN_DIR.glob("*.json"))
    if p.name != "errors.json" and json.loads(p.read_text())["as_spark_schema"] is not None
]


@pytest.mark.parametrize("path", SPARK_GOLDEN, ids=lambda p: p.stem)
def test_agrees_with_mlflow_golden_as_spark_schema(path):
    """to_spark_type gives exactly the JSON of MLflow's as_spark_schema() for every golden file."""
    golden = json.loads(path.read_text())
    inputs = ModelSignature.from_dict(golden["signature_dict"]).inputs
    assert to_spark_type(inputs).json() == golden["as_spark_schema"]


def test_golden_files_cover_struct_and_bare_forms():
    """The golden set holds both MLflow forms: a struct and a single unnamed column's bare type."""
    forms = [json.loads(json.loads(p.read_text())["as_spark_schema"]) for p in SPARK_GOLDEN]
    assert "string" in forms
    assert any(isinstance(f, dict) and f["type"] == "struct" for f in forms)


@st.composite
def scalar_schemas(draw: st.DrawFn) -> Schema:
    """Schemas of scalar columns only (the ones MLflow maps to Spark)."""
    if draw(st.booleans()):
        cols = draw(
            st.lists(
                st.tuples(names(), scalar_types(), st.booleans()),
                min_size=1,
                max_size=5,
                unique_by=lambda c: c[0],
            )
        )
        return Schema([ColSpec(t, n, required=r) for n, t, r in cols])
    return Schema([ColSpec(t) for t in draw(st.lists(scalar_types(), min_size=1, max_size=5))])


@pytest.mark.mlflow
@settings(max_examples=60, deadline=None)
@given(scalar_schemas())
def test_agrees_with_live_mlflow_on_scalar_schemas(schema):
    """For every scalar schema, to_spark_type equals real MLflow's as_spark_schema() (.json())."""
    from mlflow.types.schema import Schema as MlflowSchema

    expected = MlflowSchema.from_json(schema.to_json()).as_spark_schema().json()
    assert to_spark_type(schema).json() == expected


def test_to_struct_type_is_always_a_struct():
    """A single unnamed column is a struct with field '0' from to_struct_type, the bare type from to_spark_type."""
    schema = Schema([ColSpec("string")])
    assert to_struct_type(schema) == StructType([StructField("0", StringType(), False)])
    assert to_spark_type(schema) == StringType()
    assert from_spark_type(StringType()) == schema


def test_nested_types_map_exactly():
    """Array, Object (required properties non-nullable) and Map map to Spark as their Arrow types say."""
    obj = Object([Property("z", "string"), Property("a", "long", required=False)])
    schema = Schema(
        [
            ColSpec(Array("string"), "tags"),
            ColSpec(obj, "obj", required=False),
            ColSpec(Map(Array("double")), "scores"),
            ColSpec("datetime", "ts"),
            ColSpec("binary", "raw", required=False),
        ]
    )
    assert to_struct_type(schema) == StructType(
        [
            StructField("tags", ArrayType(StringType(), True), False),
            StructField(
                "obj",
                StructType([StructField("a", LongType(), True), StructField("z", StringType(), False)]),
                True,
            ),
            StructField("scores", MapType(StringType(), ArrayType(DoubleType(), True), True), False),
            StructField("ts", TimestampType(), False),
            StructField("raw", BinaryType(), True),
        ]
    )


def test_markers_become_spark_field_metadata():
    """AnyType and SparkMLVector markers are kept as Spark field metadata, also on nested struct fields."""
    obj = Object([Property("extra", AnyType(), required=False), Property("id", "long")])
    schema = Schema([ColSpec(Array(AnyType()), "anys"), ColSpec(obj, "obj"), ColSpec(SparkMLVector(), "v")])
    struct = to_struct_type(schema)
    assert struct["anys"].metadata == {"sigbatch.type": '{"type": "array", "items": {"type": "any"}}'}
    assert struct["obj"].metadata == {}
    assert struct["obj"].dataType["extra"].metadata == {"sigbatch.type": '{"type": "any"}'}
    assert struct["obj"].dataType["id"].metadata == {}
    assert struct["v"].metadata == {"sigbatch.type": '{"type": "sparkml_vector"}'}
    assert struct["v"].dataType == ArrayType(DoubleType(), True)
    assert from_struct_type(struct) == schema


@settings(max_examples=100, deadline=None)
@given(colspec_schemas())
def test_round_trip_property(schema):
    """from_struct_type(to_struct_type(s)) == s (unnamed schemas read back with unnamed=True)."""
    unnamed = not schema.has_input_names()
    assert from_struct_type(to_struct_type(schema), unnamed=unnamed) == schema


@pytest.mark.parametrize(
    ("spark_type", "expected"),
    [
        (TimestampNTZType(), "datetime"),
        (TimestampType(), "datetime"),
        (DateType(), "datetime"),
        (ByteType(), "integer"),
        (ShortType(), "integer"),
        (IntegerType(), "integer"),
        (LongType(), "long"),
        (FloatType(), "float"),
        (DoubleType(), "double"),
        (BooleanType(), "boolean"),
        (StringType(), "string"),
        (BinaryType(), "binary"),
    ],
)
def test_from_struct_type_reads_spark_scalars(spark_type, expected):
    """Spark scalar types read as MLflow's Spark inference reads them (TimestampNTZ and Date as datetime)."""
    struct = StructType([StructField("c", spark_type, nullable=False)])
    assert from_struct_type(struct) == Schema([ColSpec(expected, "c")])


def test_timestamp_ntz_nested_reads_as_datetime():
    """A timestamp_ntz inside arrays and structs (as Spark 4 reads Parquet) is datetime too."""
    struct = StructType(
        [StructField("e", ArrayType(StructType([StructField("at", TimestampNTZType(), True)])), True)]
    )
    expected = Schema(
        [ColSpec(Array(Object([Property("at", "datetime", required=False)])), "e", required=False)]
    )
    assert from_struct_type(struct) == expected


def test_vector_udt_reads_as_spark_ml_vector():
    """Spark ML's VectorUDT reads as SparkMLVector, directly and inside arrays and structs."""
    struct = StructType(
        [
            StructField("features", VectorUDT(), False),
            StructField("many", ArrayType(VectorUDT()), True),
            StructField("nested", StructType([StructField("v", VectorUDT(), True)]), True),
        ]
    )
    assert from_struct_type(struct) == Schema(
        [
            ColSpec(SparkMLVector(), "features"),
            ColSpec(Array(SparkMLVector()), "many", required=False),
            ColSpec(Object([Property("v", SparkMLVector(), required=False)]), "nested", required=False),
        ]
    )


def test_unmappable_spark_type_raises_naming_the_field():
    """A Spark decimal has no signature type: SignatureError naming the field and its Arrow type."""
    struct = StructType([StructField("price", DecimalType(10, 2), True)])
    with pytest.raises(SignatureError) as info:
        from_struct_type(struct)
    assert str(info.value) == (
        "Field 'price' has Arrow type decimal128(10, 2), which has no MLflow signature type. "
        "Hint: cast it to float64 (double) or string."
    )


def test_tensor_round_trips_through_spark():
    """Row tensors become nested Spark arrays with a marker and read back as the same TensorSpec."""
    schema = Schema(
        [TensorSpec(np.dtype("float32"), (-1, 2, 3), "img"), TensorSpec(np.dtype("int64"), (-1,), "y")]
    )
    struct = to_struct_type(schema)
    assert struct["img"].dataType == ArrayType(ArrayType(FloatType(), False), False)
    assert struct["y"].dataType == LongType()
    assert from_struct_type(struct) == schema


def test_tensor_without_spark_type_is_refused():
    """A uint64 tensor has no Spark type: SignatureError naming the column."""
    schema = Schema([TensorSpec(np.dtype("uint64"), (-1,), "ids")])
    with pytest.raises(SignatureError, match=r"^Column 'ids' has Arrow type uint64, which Spark cannot hold"):
        to_struct_type(schema)


# --- pandas 3 + pyspark 4, end to end on a real session ------------------------------------------

E2E_SCHEMA = Schema(
    [
        ColSpec(Array("string"), "tags"),
        ColSpec(Object([Property("d", "string"), Property("e", "string", required=False)]), "obj"),
        ColSpec(Map("double"), "scores", required=False),
        ColSpec("datetime", "ts", required=False),
        ColSpec("long", "n", required=False),
    ]
)
E2E_ROWS = [
    {
        "tags": ["a", "b"],
        "obj": {"d": "x", "e": None},
        "scores": [("p", 0.5), ("q", -2.25)],
        "ts": dt.datetime(2024, 1, 2, 3, 4, 5, 6),
        "n": 2**62 + 1,  # not representable as float64: proves the Arrow path keeps int64 exact
    },
    {"tags": [], "obj": {"d": "y", "e": "z"}, "scores": None, "ts": None, "n": None},
    {"tags": ["c"], "obj": {"d": "", "e": "w"}, "scores": [], "ts": dt.datetime(1999, 12, 31), "n": -1},
]


def _e2e_table() -> pa.Table:
    return pa.Table.from_pylist(E2E_ROWS, schema=to_arrow(E2E_SCHEMA))


def _naive(table: pa.Table) -> pa.Table:
    """Spark's TimestampType comes back as UTC timestamps; drop the zone to compare with the input."""
    return table.cast(to_arrow(E2E_SCHEMA))


def test_pandas3_pyspark4_nested_arrow_round_trip(spark):
    """An Arrow table with nested types goes into Spark, through mapInArrow and back out unchanged."""
    df = spark.createDataFrame(_e2e_table(), schema=to_struct_type(E2E_SCHEMA))
    out = df.mapInArrow(lambda batches: batches, df.schema)
    result = out.toArrow()
    assert from_arrow(result.schema) == E2E_SCHEMA
    assert result.schema.field("ts").type == pa.timestamp("us", tz="UTC")
    assert _naive(result).to_pylist() == E2E_ROWS

    pdf = out.toPandas()
    assert pdf.dtypes.to_dict() == {
        "tags": np.dtype("O"),
        "obj": np.dtype("O"),
        "scores": np.dtype("O"),
        "ts": np.dtype("datetime64[us]"),
        "n": np.dtype("float64"),  # pyspark's toPandas turns a long column with nulls into float64
    }
    assert [list(v) for v in pdf["tags"]] == [["a", "b"], [], ["c"]]
    assert list(pdf["obj"]) == [{"d": "x", "e": None}, {"d": "y", "e": "z"}, {"d": "", "e": "w"}]
    assert list(pdf["scores"]) == [{"p": 0.5, "q": -2.25}, None, {}]
    assert list(pdf["ts"]) == [pd.Timestamp("2024-01-02 03:04:05.000006"), pd.NaT, pd.Timestamp("1999-12-31")]
    assert pdf["n"].isna().tolist() == [False, True, False]
    assert pdf["n"].iloc[2] == -1.0


def test_pandas3_pyspark4_from_pandas_frames(spark):
    """pandas 3 frames go into Spark: object columns (maps as dicts), and ArrowDtype columns without maps."""
    table = _e2e_table()
    # integer_object_nulls keeps the long column exact (pandas would otherwise make it float64).
    objects = table.to_pandas(maps_as_pydicts="strict", integer_object_nulls=True)
    df = spark.createDataFrame(objects, schema=to_struct_type(E2E_SCHEMA))
    assert _naive(df.mapInArrow(lambda b: b, df.schema).toArrow()).to_pylist() == E2E_ROWS

    no_map = Schema([c for c in E2E_SCHEMA.inputs if c.name != "scores"])
    arrow_frame = table.drop_columns(["scores"]).to_pandas(types_mapper=pd.ArrowDtype)
    df = spark.createDataFrame(arrow_frame, schema=to_struct_type(no_map))
    rows = [{k: v for k, v in r.items() if k != "scores"} for r in E2E_ROWS]
    assert df.mapInArrow(lambda b: b, df.schema).toArrow().cast(to_arrow(no_map)).to_pylist() == rows


def test_pyspark4_refuses_arrow_dtype_map_columns_from_pandas(spark):
    """Known pyspark 4.3 limit: an ArrowDtype map column in a pandas frame fails createDataFrame (pass Arrow)."""
    frame = _e2e_table().select(["scores"]).to_pandas(types_mapper=pd.ArrowDtype)
    schema = to_struct_type(Schema([E2E_SCHEMA.inputs[2]]))
    with pytest.raises(AttributeError, match="'list' object has no attribute 'items'"):
        spark.createDataFrame(frame, schema=schema).collect()
