"""Scoring cases every engine runs (core, Spark, Dask): typed Arrow data with injected faults.

Each case builds a pyarrow Table with an ``id`` column, a signature, a model URI and the expected
result: which ids are scored, and for each quarantined id its stage and ``(path, code)`` reasons.
``profile`` is the enforcement profile (default ``mlflow``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa

from sigbatch import Array, ColSpec, Map, ModelSignature, Object, Property, Schema

SEED_INPUTS = Schema(
    [
        ColSpec("long", "id"),
        ColSpec(Array("string"), "a"),
        ColSpec("string", "b", required=False),
        ColSpec(Object([Property("d", "string"), Property("e", "string", required=False)]), "c"),
    ]
)


def seed_table() -> pa.Table:
    """Ten seed-shaped rows: ids 3..9 carry one fault each (kinds Arrow can hold)."""
    c_type = pa.struct([("d", pa.string()), ("e", pa.string()), ("z", pa.string())])
    rows: list[dict[str, Any]] = [
        {"id": 0, "a": ["x", "y"], "b": "b", "c": {"d": "d0", "e": None, "z": None}},
        {"id": 1, "a": [], "b": None, "c": {"d": "d1", "e": "e1", "z": None}},
        {"id": 2, "a": ["z"], "b": "b", "c": {"d": "d2", "e": None, "z": None}},
        {"id": 3, "a": None, "b": "b", "c": {"d": "d3", "e": None, "z": None}},  # a: NULL_REQUIRED
        {"id": 4, "a": ["q"], "b": "b", "c": None},  # c: NULL_REQUIRED
        {"id": 5, "a": ["q"], "b": "b", "c": {"d": None, "e": "e", "z": None}},  # c.d: NULL_REQUIRED
        {"id": 6, "a": ["q"], "b": "b", "c": {"d": "d6", "e": None, "z": "zz"}},  # c.z: INVALID_OBJECT
        {"id": 7, "a": ["q"], "b": "b", "c": {"d": "boom", "e": None, "z": None}},  # MODEL_ERROR
        {"id": 8, "a": None, "b": "b", "c": None},  # two reasons
        {"id": 9, "a": ["q"], "b": None, "c": {"d": "d9", "e": None, "z": None}},
    ]
    schema = pa.schema([("id", pa.int64()), ("a", pa.list_(pa.string())), ("b", pa.string()), ("c", c_type)])
    return pa.Table.from_pylist(rows, schema=schema)


def scalar_table() -> pa.Table:
    """Scalar columns: an int64 score cast to double (0/1 only), a null in a required long."""
    return pa.table(
        {
            "id": pa.array([0, 1, 2, 3, 4], pa.int64()),
            "n": pa.array([1, 2, None, 4, 5], pa.int64()),
            "flag": pa.array([0, 1, 1, 7, 0], pa.int64()),
            "t": pa.array([dt.datetime(2024, 1, d) for d in range(1, 6)]),
            "m": pa.array(
                [[("k", 1.0)], None, [], [("k", None)], [("j", 2.5)]], pa.map_(pa.string(), pa.float64())
            ),
        }
    )


SCALAR_INPUTS = Schema(
    [
        ColSpec("long", "id"),
        ColSpec("long", "n"),
        ColSpec("double", "flag"),
        ColSpec("datetime", "t"),
        ColSpec(Map("double"), "m", required=False),
    ]
)


def nulls_table() -> pa.Table:
    """Nulls in required columns: an integer one (refused by every profile) and a float one."""
    return pa.table(
        {
            "id": pa.array([0, 1, 2, 3, 4], pa.int64()),
            "n": pa.array([1, None, 3, 4, 5], pa.int64()),
            "flag": pa.array([0.0, 1.0, None, 1.0, 0.0], pa.float64()),
        }
    )


def text_table() -> pa.Table:
    """A landing zone's numbers stored as text."""
    return pa.table(
        {
            "id": pa.array([0, 1, 2, 3, 4], pa.int64()),
            "n": pa.array(["7", "7.0", "7.5", "x", "8"]),
            "flag": pa.array(["1", "0.5", "1", "1", "1e3"]),
        }
    )


def number_lists_table() -> pa.Table:
    """Lists of narrow numbers, as Parquet holds them: judged as the numpy arrays pandas reads."""
    return pa.table(
        {
            "id": pa.array([0, 1, 2, 3], pa.int64()),
            "i": pa.array([[1, 2], [3], [4, None], []], pa.list_(pa.int32())),
            "f": pa.array([[1.5], [], [2.5], [0.5, 1.0]], pa.list_(pa.float32())),
            # a record's float32 list in rows judged value by value (b's ints decide per value)
            "o": pa.array(
                [{"v": [1.5], "b": 1}, {"v": [2.5, None], "b": 0}, {"v": [0.5], "b": 1}, {"v": [], "b": 0}],
                pa.struct([("v", pa.list_(pa.float32())), ("b", pa.int64())]),
            ),
        }
    )


NUMBER_LISTS = ModelSignature(
    Schema(
        [
            ColSpec("long", "id"),
            ColSpec(Array("integer"), "i"),
            ColSpec(Array("float"), "f"),
            ColSpec(Object([Property("v", Array("float")), Property("b", "double")]), "o"),
        ]
    ),
    Schema([ColSpec("long", "id")]),
)


def punctuated_table() -> pa.Table:
    """A dotted column and a struct with a dotted and an empty field name: quoted in paths."""
    return pa.table(
        {
            "id": pa.array([0, 1, 2], pa.int64()),
            "a.b": pa.array([1.5, None, 2.5], pa.float64()),
            "c": pa.array(
                [{"x.y": "s", "": 1}, {"x.y": "t", "": 2}, {"x.y": None, "": None}],
                pa.struct([("x.y", pa.string()), ("", pa.int64())]),
            ),
        }
    )


PUNCTUATED_INPUTS = Schema(
    [
        ColSpec("long", "id"),
        ColSpec("double", "a.b"),
        ColSpec(Object([Property("x.y", "string"), Property("", "long")]), "c"),
    ]
)

SUM_INPUTS = Schema([ColSpec("long", "id"), ColSpec("long", "n"), ColSpec("double", "flag")])

CASES = [
    {
        "id": "seed_faults",
        "table": seed_table,
        "signature": ModelSignature(SEED_INPUTS, Schema([ColSpec("double", "score")])),
        "model": "python:sigbatch.examples.models:tag_counter",
        "scored": [0, 1, 2, 9],
        "quarantined": {
            3: ("input", [("a", "NULL_REQUIRED")]),
            4: ("input", [("c", "NULL_REQUIRED")]),
            5: ("input", [("c.d", "NULL_REQUIRED")]),
            6: ("input", [("c.z", "INVALID_OBJECT")]),
            7: ("model", [("", "MODEL_ERROR")]),
            8: ("input", [("a", "NULL_REQUIRED"), ("c", "NULL_REQUIRED")]),
        },
        "predictions": {0: 4.0, 1: 2.0, 2: 3.0, 9: 3.0},
    },
    {
        "id": "scalar_faults",
        "table": scalar_table,
        "signature": ModelSignature(SCALAR_INPUTS),
        "model": "python:sigbatch.examples.models:row_sum",
        "scored": [0, 1, 4],
        "quarantined": {
            2: ("input", [("n", "NULL_REQUIRED")]),
            3: ("input", [("flag", "UNSAFE_CAST")]),  # m["k"] null is fine: the map is optional
        },
        "predictions": {0: 1.0, 1: 4.0, 4: 9.0},
    },
    {
        "id": "mlflow_accepts_a_null_float",
        "table": nulls_table,
        "signature": ModelSignature(SUM_INPUTS),
        "model": "python:sigbatch.examples.models:row_sum",
        "profile": "mlflow",
        "scored": [0, 2, 3, 4],
        "quarantined": {1: ("input", [("n", "NULL_REQUIRED")])},
        "predictions": {0: 1.0, 2: None, 3: 8.0, 4: 9.0},
    },
    {
        "id": "strict_refuses_every_null_in_a_required_column",
        "table": nulls_table,
        "signature": ModelSignature(SUM_INPUTS),
        "model": "python:sigbatch.examples.models:row_sum",
        "profile": "strict",
        "scored": [0, 3, 4],
        "quarantined": {1: ("input", [("n", "NULL_REQUIRED")]), 2: ("input", [("flag", "NULL_REQUIRED")])},
        "predictions": {0: 1.0, 3: 8.0, 4: 9.0},
    },
    {
        "id": "lenient_converts_text_without_loss",
        "table": text_table,
        "signature": ModelSignature(SUM_INPUTS),
        "model": "python:sigbatch.examples.models:row_sum",
        "profile": "lenient",
        "scored": [0, 1, 4],
        "quarantined": {2: ("input", [("n", "UNSAFE_CAST")]), 3: ("input", [("n", "TYPE_MISMATCH")])},
        "predictions": {0: 8.0, 1: 8.5, 4: 1012.0},
    },
    {
        "id": "names_with_path_punctuation_are_quoted",
        "table": punctuated_table,
        "signature": ModelSignature(PUNCTUATED_INPUTS, Schema([ColSpec("long", "id")])),
        "model": "python:sigbatch.examples.models:identity",
        "prediction": "id",
        "profile": "strict",
        "scored": [0],
        "quarantined": {
            1: ("input", [('"a.b"', "NULL_REQUIRED")]),
            2: ("input", [('c."x.y"', "NULL_REQUIRED"), ('c.""', "NULL_REQUIRED")]),
        },
        "predictions": {0: 0},
    },
    {
        "id": "lists_of_narrow_numbers",
        "table": number_lists_table,
        "signature": NUMBER_LISTS,
        "model": "python:sigbatch.examples.models:identity",
        "prediction": "id",  # the identity's declared output takes the source id's place
        "scored": [0, 1, 3],
        # a null item: pandas' float64 array, which an integer list refuses; the null is named too
        "quarantined": {2: ("input", [("i[0]", "UNSAFE_CAST"), ("i[1]", "NULL_REQUIRED")])},
        "predictions": {0: 0, 1: 1, 3: 3},
    },
]


def assert_case(case: dict[str, Any], scored: pa.Table, quarantine: pa.Table) -> None:
    """The scored ids, predictions, quarantined ids, stages and (path, code) reasons are exactly the case's."""
    rows = {row["id"]: row for row in scored.to_pylist()}
    assert sorted(rows) == case["scored"]
    pred = case.get("prediction", "score" if "score" in scored.column_names else "prediction")
    assert {i: row[pred] for i, row in rows.items()} == case["predictions"]
    got = {
        row["id"]: (row["_sigbatch_stage"], [(e["path"], e["code"]) for e in row["_sigbatch_errors"]])
        for row in quarantine.to_pylist()
    }
    assert got == case["quarantined"]
    assert scored.num_rows + quarantine.num_rows == case["table"]().num_rows
