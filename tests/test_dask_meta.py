"""Dask meta frames and the partition conversion that matches them (sigbatch.dask.types)."""

from __future__ import annotations

import datetime as dt

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings

from sigbatch import AnyType, Array, ColSpec, Map, Object, Property, Schema, SchemaMismatchError, TensorSpec
from sigbatch.arrow import to_arrow
from sigbatch.dask import to_meta, to_pandas
from tests.strategies import colspec_schemas, conforming_tables

OBJ = Object([Property("d", "string"), Property("e", "long", required=False)])
SCHEMA = Schema(
    [
        ColSpec("boolean", "b"),
        ColSpec("integer", "i"),
        ColSpec("long", "l"),
        ColSpec("float", "f"),
        ColSpec("double", "x"),
        ColSpec("long", "l_opt", required=False),
        ColSpec("double", "x_opt", required=False),
        ColSpec("string", "s"),
        ColSpec("datetime", "t"),
        ColSpec("binary", "raw", required=False),
        ColSpec(Array("string"), "tags"),
        ColSpec(OBJ, "obj", required=False),
        ColSpec(Map("double"), "scores"),
        ColSpec(AnyType(), "extra", required=False),
    ]
)
ROWS = [
    {
        "b": True,
        "i": 1,
        "l": 2**40,
        "f": 0.5,
        "x": 1.25,
        "l_opt": None,
        "x_opt": 2.5,
        "s": "a",
        "t": dt.datetime(2024, 1, 2, 3, 4, 5),
        "raw": b"\x00",
        "tags": ["p", "q"],
        "obj": {"d": "x", "e": None},
        "scores": [("k", 1.0)],
        "extra": '{"any": [1]}',
    },
    {
        "b": False,
        "i": -1,
        "l": -5,
        "f": -1.5,
        "x": 0.0,
        "l_opt": 7,
        "x_opt": None,
        "s": "",
        "t": dt.datetime(1999, 12, 31),
        "raw": None,
        "tags": [],
        "obj": None,
        "scores": [],
        "extra": None,
    },
    {
        "b": True,
        "i": 3,
        "l": 0,
        "f": 2.0,
        "x": -3.5,
        "l_opt": -8,
        "x_opt": 0.25,
        "s": "zz",
        "t": dt.datetime(2000, 6, 1, 12),
        "raw": b"ab",
        "tags": ["r"],
        "obj": {"d": "", "e": 4},
        "scores": [("a", -1.0), ("b", 2.0)],
        "extra": "3",
    },
    {
        "b": False,
        "i": 0,
        "l": 9,
        "f": 8.0,
        "x": 1e300,
        "l_opt": None,
        "x_opt": -0.5,
        "s": "w",
        "t": dt.datetime(2030, 1, 1),
        "raw": b"",
        "tags": ["s", "t", "u"],
        "obj": {"d": "y", "e": 1},
        "scores": [("z", 0.0)],
        "extra": '"text"',
    },
]


def test_meta_dtypes_are_exact():
    """Required numbers/bools get numpy dtypes; optional scalars, strings, datetime, binary, nested, Any get ArrowDtype."""
    meta = to_meta(SCHEMA)
    assert len(meta) == 0
    assert isinstance(meta.index, pd.RangeIndex)
    assert meta.dtypes.to_dict() == {
        "b": np.dtype("bool"),
        "i": np.dtype("int32"),
        "l": np.dtype("int64"),
        "f": np.dtype("float32"),
        "x": np.dtype("float64"),
        "l_opt": pd.ArrowDtype(pa.int64()),
        "x_opt": pd.ArrowDtype(pa.float64()),
        "s": pd.ArrowDtype(pa.string()),
        "t": pd.ArrowDtype(pa.timestamp("us")),
        "raw": pd.ArrowDtype(pa.binary()),
        "tags": pd.ArrowDtype(pa.list_(pa.string())),
        "obj": pd.ArrowDtype(
            pa.struct([pa.field("d", pa.string(), nullable=False), pa.field("e", pa.int64())])
        ),
        "scores": pd.ArrowDtype(pa.map_(pa.string(), pa.float64())),
        "extra": pd.ArrowDtype(pa.string()),
    }


def test_unnamed_and_tensor_columns():
    """Unnamed columns are named '0', '1', ...; a (-1,) numeric tensor is a numpy column, a (-1, 3) one Arrow lists."""
    assert to_meta(Schema([ColSpec("long"), ColSpec(Array("double"))])).dtypes.to_dict() == {
        "0": np.dtype("int64"),
        "1": pd.ArrowDtype(pa.list_(pa.float64())),
    }
    tensors = Schema(
        [TensorSpec(np.dtype("float32"), (-1,), "y"), TensorSpec(np.dtype("int8"), (-1, 3), "img")]
    )
    assert to_meta(tensors).dtypes.to_dict() == {
        "y": np.dtype("float32"),
        "img": pd.ArrowDtype(pa.list_(pa.field("item", pa.int8(), nullable=False), 3)),
    }


def test_to_pandas_keeps_values():
    """to_pandas keeps every value: converting the frame back to Arrow gives the same table."""
    table = pa.Table.from_pylist(ROWS, schema=to_arrow(SCHEMA))
    frame = to_pandas(table, SCHEMA)
    assert frame["l"].tolist() == [2**40, -5, 0, 9]
    assert frame["l_opt"].isna().tolist() == [True, False, False, True]
    back = pa.Table.from_pandas(frame, schema=to_arrow(SCHEMA), preserve_index=False)
    assert back.to_pylist() == ROWS


def test_to_pandas_normalises_encodings():
    """large_string, dictionary and nanosecond columns convert to the same dtypes as the meta."""
    schema = Schema(
        [ColSpec("string", "s"), ColSpec("string", "c", required=False), ColSpec("datetime", "t")]
    )
    table = pa.table(
        {
            "t": pa.array([dt.datetime(2024, 1, 1)], pa.timestamp("ns", tz="UTC")),
            "s": pa.array(["a"], pa.large_string()),
            "c": pa.array(["x"]).dictionary_encode(),
            "ignored": pa.array([1]),
        }
    )
    frame = to_pandas(table, schema)
    assert list(frame.columns) == ["s", "c", "t"]
    assert frame.dtypes.equals(to_meta(schema).dtypes)


def test_absent_optional_column_is_all_missing():
    """An optional column absent from the table comes out all-missing with the meta dtype."""
    schema = Schema([ColSpec("long", "a"), ColSpec(Array("long"), "b", required=False)])
    frame = to_pandas(pa.table({"a": [1, 2]}), schema)
    assert frame.dtypes.equals(to_meta(schema).dtypes)
    assert frame["b"].isna().tolist() == [True, True]


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (pa.table({"b": [1]}), "Required column 'a' is absent; the table has ['b']."),
        (
            pa.table({"a": pa.array([1, None])}),
            "Required column 'a' holds 1 missing value(s); enforce the batch first "
            "(missing values in a required column are quarantined there).",
        ),
    ],
)
def test_non_conforming_tables_raise(table, message):
    """A missing required column, or nulls in a required numeric column, raise SchemaMismatchError."""
    with pytest.raises(SchemaMismatchError) as info:
        to_pandas(table, Schema([ColSpec("long", "a")]))
    assert str(info.value) == message


@settings(max_examples=80, deadline=None)
@given(colspec_schemas().flatmap(lambda s: conforming_tables(s).map(lambda t: (s, t))))
def test_partitions_agree_with_meta(schema_and_table):
    """For random nested schemas and conforming tables, to_pandas(table).dtypes == to_meta(schema).dtypes."""
    schema, table = schema_and_table
    frame = to_pandas(table, schema)
    meta = to_meta(schema)
    assert list(frame.columns) == list(meta.columns)
    assert frame.dtypes.equals(meta.dtypes)
    assert len(frame) == table.num_rows


def test_dask_map_partitions_with_meta():
    """A real Dask map_partitions over 2 partitions, with meta=to_meta(schema), computes the meta dtypes."""
    target = to_arrow(SCHEMA)
    source = dd.from_pandas(to_pandas(pa.Table.from_pylist(ROWS, schema=target), SCHEMA), npartitions=2)
    assert source.npartitions == 2

    def through_arrow(partition: pd.DataFrame) -> pd.DataFrame:
        table = pa.Table.from_pandas(partition, schema=target, preserve_index=False)
        return to_pandas(table, SCHEMA)

    meta = to_meta(SCHEMA)
    result = source.map_partitions(through_arrow, meta=meta)
    with dask.config.set(scheduler="threads"):
        computed = result.compute()
    assert computed.dtypes.equals(meta.dtypes)
    assert result.dtypes.equals(meta.dtypes)
    assert len(computed) == len(ROWS)
    assert pa.Table.from_pandas(computed, schema=target, preserve_index=False).to_pylist() == ROWS
