"""Per-row enforcement in the core: verdicts, reasons, layouts, profiles, preflight and accounting."""

from __future__ import annotations

import datetime as dt
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import sigbatch
from sigbatch import ColSpec, ModelSignature, Schema, SchemaMismatchError, enforce, preflight
from tests.cases.enforce_cases import CASES


def _codes(result, row):
    return [(r.path, r.code.value) for r in result.reasons[row]]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["id"])
def test_case_verdicts_and_reasons(case):
    """Each behavioural case gives exactly the expected valid rows and (path, code) reasons."""
    schema = Schema.from_json(case["inputs"])
    result = enforce(case["rows"], schema, profile=case["profile"])
    assert result.valid_mask.tolist() == case["valid"]
    assert {row: _codes(result, row) for row in result.reasons} == case["reasons"]
    assert result.valid.num_rows + result.quarantine.num_rows == len(case["rows"])
    assert (
        result.quarantine.column("_sigbatch_row").to_pylist() == np.flatnonzero(~result.valid_mask).tolist()
    )


def test_quarantine_layout_keeps_source_columns_and_types():
    """Quarantined rows keep their original columns in source types plus errors, stage and row."""
    table = pa.table(
        {"n": pa.array([1, None, 3], pa.int32()), "x": [1.0, 2.0, None], "extra": ["p", "q", "r"]}
    )
    schema = Schema([ColSpec("long", "n"), ColSpec("double", "x")])
    result = enforce(table, schema, profile="strict")
    q = result.quarantine
    assert q.column_names == ["n", "x", "extra", "_sigbatch_errors", "_sigbatch_stage", "_sigbatch_row"]
    assert q.schema.field("n").type == pa.int32()
    assert q.column("extra").to_pylist() == ["q", "r"]
    assert q.column("_sigbatch_stage").to_pylist() == ["input", "input"]
    assert q.column("_sigbatch_errors").to_pylist()[0] == [
        {
            "path": "n",
            "code": "NULL_REQUIRED",
            "expected": "long",
            "actual": "null",
            "message": "column n is required and the value is null",
        }
    ]
    assert result.valid.schema == pa.schema([("n", pa.int64()), ("x", pa.float64())])
    assert result.valid.to_pylist() == [{"n": 1, "x": 1.0}]


def test_mlflow_profile_int_column_with_null():
    """A null in a required integer column is refused (MLflow's float64 problem); optional accepts it."""
    table = pa.table({"n": pa.array([1, None], pa.int64())})
    required = enforce(table, Schema([ColSpec("long", "n")]))
    assert required.valid_mask.tolist() == [True, False]
    assert _codes(required, 1) == [("n", "NULL_REQUIRED")]
    optional = enforce(table, Schema([ColSpec("long", "n", required=False)]))
    assert optional.valid_mask.tolist() == [True, True]
    frame = optional.to_pandas()
    assert str(frame["n"].dtype) == "float64" and frame["n"].isna().tolist() == [False, True]


def test_int64_to_double_only_zero_and_one():
    """MLflow lets an int64 column become double only for 0/1 values; other rows are unsafe casts."""
    result = enforce(pa.table({"x": pa.array([0, 1, 2], pa.int64())}), Schema([ColSpec("double", "x")]))
    assert result.valid_mask.tolist() == [True, True, False]
    assert _codes(result, 2) == [("x", "UNSAFE_CAST")]


def test_upcasts_reach_the_model_with_mlflow_dtypes():
    """int32 -> long and float32 -> double are upcast; the model frame has MLflow's numpy dtypes."""
    table = pa.table(
        {
            "n": pa.array([1, 2], pa.int32()),
            "x": pa.array([1.5, 2.5], pa.float32()),
            "t": pa.array([dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 2)]),
        }
    )
    schema = Schema([ColSpec("long", "n"), ColSpec("double", "x"), ColSpec("datetime", "t")])
    frame = enforce(table, schema).to_pandas()
    assert [str(d) for d in frame.dtypes] == ["int64", "float64", "datetime64[ns]"]
    assert frame["n"].tolist() == [1, 2]


def test_a_float_column_with_nulls_keeps_its_dtype_for_the_model():
    """A float column with a null reaches the model as float32 with NaN, as MLflow hands it (not
    float64); a long column with a null is float64 with NaN, as pandas holds it."""
    table = pa.table({"f": pa.array([1.5, None], pa.float32()), "n": pa.array([1, None], pa.int64())})
    schema = Schema([ColSpec("float", "f"), ColSpec("long", "n", required=False)])
    frame = enforce(table, schema).to_pandas()
    assert [str(d) for d in frame.dtypes] == ["float32", "float64"]
    assert np.isnan(frame["f"].to_numpy()).tolist() == [False, True]


def test_preflight_names_each_column_and_suggests_lenient():
    """Preflight lists every whole-column problem with a hint; enforce fails fast on them."""
    source = pa.schema([("user_idd", pa.int64()), ("amount", pa.string()), ("tags", pa.string())])
    schema = Schema(
        [ColSpec("long", "user_id"), ColSpec("double", "amount"), ColSpec(sigbatch.Array("string"), "tags")]
    )
    result = preflight(source, schema)
    assert [(p.column, p.code.value) for p in result.problems] == [
        ("user_id", "MISSING_REQUIRED"),
        ("amount", "TYPE_MISMATCH"),
        ("tags", "INVALID_ARRAY"),
    ]
    assert "did you mean 'user_idd'?" in result.message()
    assert "profile='lenient'" in result.message()
    assert (
        preflight(source.remove(0).insert(0, pa.field("user_id", pa.int64())), schema, profile="lenient")
        .problems[0]
        .column
        == "tags"
    )
    with pytest.raises(
        SchemaMismatchError, match="amount: type string can not be safely converted to double"
    ):
        enforce(pa.table({"user_id": [1], "amount": ["1.5"], "tags": ["x"]}), schema)


def test_arrow_paths_quote_names_with_path_punctuation():
    """Arrow columns and struct fields named with dots or nothing are quoted in reason paths."""
    schema = Schema(
        [
            ColSpec("long", "a.b"),
            ColSpec(
                sigbatch.Object([sigbatch.Property("x.y", "string"), sigbatch.Property("", "long")]), "c"
            ),
            ColSpec("string", "a"),
        ]
    )
    c_type = pa.struct([("x.y", pa.string()), ("", pa.int64())])
    table = pa.table(
        {
            "a.b": pa.array([1, None], pa.int64()),
            "c": pa.array([{"x.y": "s", "": 1}, {"x.y": None, "": None}], c_type),
            "a": ["x", "y"],
        }
    )
    result = enforce(table, schema, profile="strict")
    assert result.valid_mask.tolist() == [True, False]
    assert _codes(result, 1) == [
        ('"a.b"', "NULL_REQUIRED"),
        ('c."x.y"', "NULL_REQUIRED"),
        ('c.""', "NULL_REQUIRED"),
    ]
    checked = preflight(pa.schema([("a", pa.string()), ("c", pa.struct([("", pa.string())]))]), schema)
    assert [(p.column, p.code.value) for p in checked.problems] == [
        ('"a.b"', "MISSING_REQUIRED"),
        ('c.""', "TYPE_MISMATCH"),
        ('c."x.y"', "MISSING_REQUIRED"),
    ]


def test_on_schema_mismatch_quarantine_refuses_every_row():
    """With on_schema_mismatch='quarantine', column problems become reasons on every row."""
    table = pa.table({"x": [1.0, 2.0]})
    result = enforce(
        table, Schema([ColSpec("double", "x"), ColSpec("long", "y")]), on_schema_mismatch="quarantine"
    )
    assert result.valid_mask.tolist() == [False, False]
    assert _codes(result, 0) == [("y", "MISSING_REQUIRED")]


def test_lenient_keeps_original_values_in_quarantine():
    """Lenient conversions are lossless; refused values keep their original text in quarantine."""
    table = pa.table({"n": ["1", "2147483648", "x"], "t": ["2024-01-02T03:04:05", "2024-01-02", "yesterday"]})
    schema = Schema([ColSpec("integer", "n"), ColSpec("datetime", "t")])
    result = enforce(table, schema, profile="lenient")
    assert result.valid_mask.tolist() == [True, False, False]
    assert _codes(result, 1) == [("n", "UNSAFE_CAST")]
    assert _codes(result, 2) == [("n", "TYPE_MISMATCH"), ("t", "TYPE_MISMATCH")]
    assert result.quarantine.column("n").to_pylist() == ["2147483648", "x"]
    assert result.valid.to_pylist() == [{"n": 1, "t": dt.datetime(2024, 1, 2, 3, 4, 5)}]


def test_lenient_refuses_numbers_beyond_a_double_and_reads_zoned_times_as_utc():
    """Text beyond a double's range ("1e400" would be inf, "1e-400" 0.0) is UNSAFE_CAST; ISO text with
    a zone (Z, +02:00, -0530) is its UTC time, as a zoned timestamp is; an impossible date is refused."""
    table = pa.table({"x": ["1.5", "1e400", "-1e999", "1e-400", "0.000e-999", "2.5e3"]})
    result = enforce(table, Schema([ColSpec("double", "x")]), profile="lenient")
    assert result.valid.column("x").to_pylist() == [1.5, 0.0, 2500.0]
    assert [_codes(result, i) for i in (1, 2, 3)] == [[("x", "UNSAFE_CAST")]] * 3
    as_float = enforce(table, Schema([ColSpec("float", "x")]), profile="lenient")
    assert as_float.valid_mask.tolist() == [True, False, False, False, True, True]
    times = [
        "2024-01-01T12:00:01+02:00",
        "2024-01-01T12:00:02Z",
        "2024-01-01 12:00-0530",
        "2024-01-01T12:00:03",
    ]
    result = enforce(pa.table({"t": times}), Schema([ColSpec("datetime", "t")]), profile="lenient")
    assert result.valid.column("t").to_pylist() == [
        dt.datetime(2024, 1, 1, 10, 0, 1),
        dt.datetime(2024, 1, 1, 12, 0, 2),
        dt.datetime(2024, 1, 1, 17, 30),
        dt.datetime(2024, 1, 1, 12, 0, 3),
    ]
    result = enforce(
        pa.table({"t": ["2024-13-01T00:00:00Z", times[0]]}),
        Schema([ColSpec("datetime", "t")]),
        profile="lenient",
    )
    assert result.valid.column("t").to_pylist() == [dt.datetime(2024, 1, 1, 10, 0, 1)]
    assert _codes(result, 0) == [("t", "TYPE_MISMATCH")]
    # a datetime holds microseconds: nanoseconds that are not 0 would be lost
    fractions = ["2024-01-01T12:00:00.123456789Z", "2024-01-01 12:00:00.123456000", "2024-01-01T12:00:00.1"]
    result = enforce(pa.table({"t": fractions}), Schema([ColSpec("datetime", "t")]), profile="lenient")
    assert result.valid.column("t").to_pylist() == [
        dt.datetime(2024, 1, 1, 12, 0, 0, 123456),
        dt.datetime(2024, 1, 1, 12, 0, 0, 100000),
    ]
    assert _codes(result, 0) == [("t", "UNSAFE_CAST")]


def test_on_error_raise_reproduces_mlflow_message():
    """on_error='raise' raises MLflow's predict message for the seed's missing-inputs batch."""
    schema = sigbatch.load_signature("examples/seed_model")
    with pytest.raises(sigbatch.EnforcementError) as info:
        enforce([{"b": "b"}], schema, on_error="raise")
    assert str(info.value) == (
        "Failed to enforce schema of data '[{'b': 'b'}]' with schema "
        "'['a': Array(string) (required), 'b': string (optional), 'c': {d: string (required), e: string (optional)} (required)]'. "
        "Error: Model is missing inputs ['a', 'c']."
    )


def test_bad_arguments_are_caller_errors():
    """Unknown profiles, inputs of the wrong kind and tensor schemas raise clear errors."""
    schema = Schema([ColSpec("long", "n")])
    with pytest.raises(sigbatch.SignatureError, match="unknown profile 'loose'"):
        enforce([{"n": 1}], schema, profile="loose")  # type: ignore[arg-type]
    with pytest.raises(sigbatch.SignatureError, match="got str"):
        enforce("n=1", schema)
    with pytest.raises(sigbatch.SignatureError, match="no input schema"):
        enforce([{"n": 1}], ModelSignature(outputs=schema))


def test_map_columns_and_lists_with_data_behind_null_slots():
    """Arrow map columns are checked per entry; elements stored behind a null list slot are ignored."""
    maps = pa.array([[("k", 1.5)], None, [("z", None)], []], pa.map_(pa.string(), pa.float64()))
    result = enforce(pa.table({"m": maps}), Schema([ColSpec(sigbatch.Map("double"), "m", required=False)]))
    assert result.valid_mask.tolist() == [True, True, True, True]
    required = enforce(pa.table({"m": maps}), Schema([ColSpec(sigbatch.Map("double"), "m")]))
    assert required.valid_mask.tolist() == [True, False, False, True]
    assert _codes(required, 2) == [('m["z"]', "NULL_REQUIRED")]
    lists = pa.ListArray.from_arrays(
        pa.array([0, 1, 3, 4]), pa.array(["a", None, "c", "d"]), mask=pa.array([False, True, False])
    )
    result = enforce(pa.table({"l": lists}), Schema([ColSpec(sigbatch.Array("string"), "l", required=False)]))
    assert result.valid_mask.tolist() == [True, True, True]
    assert result.valid.column("l").to_pylist() == [["a"], None, ["d"]]


def test_lenient_is_suggested_and_applied_to_columns_only():
    """Preflight suggests 'lenient' for a column of numbers stored as text, which lenient converts;
    not for text inside an object or array, which no profile converts: lenient refuses that too."""
    source = pa.schema(
        [("n", pa.string()), ("obj", pa.struct([("e", pa.string())])), ("xs", pa.list_(pa.string()))]
    )
    schema = Schema(
        [
            ColSpec("long", "n"),
            ColSpec(sigbatch.Object([sigbatch.Property("e", "long")]), "obj"),
            ColSpec(sigbatch.Array("long"), "xs"),
        ]
    )
    assert [(p.column, p.message) for p in preflight(source, schema).problems] == [
        ("n", "type string can not be safely converted to long; it could with profile 'lenient'"),
        ("obj.e", "type string can not be safely converted to long"),
        ("xs[]", "type string can not be safely converted to long"),
    ]
    assert [p.column for p in preflight(source, schema, profile="lenient").problems] == ["obj.e", "xs[]"]


def test_a_field_no_record_has_is_no_problem_where_optional():
    """Arrow's null type (a column or property no record of a file or partition has) passes where
    the signature makes it optional, each null accepted; where required, it is a column problem."""
    table = pa.table(
        {
            "n": pa.nulls(2),
            "o": pa.array(
                [{"d": "a", "e": None}, {"d": "b", "e": None}],
                pa.struct([("d", pa.string()), ("e", pa.null())]),
            ),
        }
    )
    optional = Schema(
        [
            ColSpec("long", "n", required=False),
            ColSpec(
                sigbatch.Object([sigbatch.Property("d", "string"), sigbatch.Property("e", "long", False)]),
                "o",
            ),
        ]
    )
    result = enforce(table, optional)
    assert result.valid_mask.tolist() == [True, True]
    assert result.to_pandas()["n"].isna().tolist() == [True, True]
    required = Schema([ColSpec("long", "n")])
    assert [(p.column, p.message) for p in preflight(table.schema, required).problems] == [
        ("n", "type null can not be safely converted to long")
    ]


def test_strict_refuses_null_elements_that_mlflow_would_hand_on_as_text():
    """MLflow hands a null element of Array(string) to the model as 'n'; strict quarantines the row
    with NULL_REQUIRED at the element (in a column or below a property), from Arrow or records."""
    schema = Schema(
        [
            ColSpec(sigbatch.Array("string"), "t"),
            ColSpec(
                sigbatch.Object([sigbatch.Property("o", sigbatch.Array("string"), required=False)]),
                "p",
                required=False,
            ),
        ]
    )
    records = [{"t": ["a", None], "p": {"o": ["q"]}}, {"t": ["b"], "p": {"o": ["q", None]}}, {"t": ["c"]}]
    for data in (records, pa.Table.from_pylist(records)):
        assert enforce(data, schema).valid_mask.tolist() == [True, True, True]
        strict = enforce(data, schema, profile="strict")
        assert strict.valid_mask.tolist() == [False, False, True]
        assert (_codes(strict, 0), _codes(strict, 1)) == (
            [("t[1]", "NULL_REQUIRED")],
            [("p.o[1]", "NULL_REQUIRED")],
        )


def test_enforcement_leaves_the_callers_records_as_they_were():
    """Converting an Object's values for the model works on a copy: the caller's dicts (records or
    a DataFrame's column) are not changed (MLflow's own enforcement changes them in place)."""
    schema = Schema([ColSpec(sigbatch.Object([sigbatch.Property("o", sigbatch.Array("string"))]), "p")])
    records = [{"p": {"o": ["q", None]}}, {"p": {"o": [1, "x"]}}]
    frame = pd.DataFrame({"p": [{"o": ["q", None]}]})
    enforce(records, schema).to_pandas()
    enforce(frame, schema).to_pandas()
    assert records == [{"p": {"o": ["q", None]}}, {"p": {"o": [1, "x"]}}]
    assert frame["p"][0] == {"o": ["q", None]}


def test_arrow_view_columns_are_read_as_text_and_bytes():
    """string_view and binary_view columns (what newer Arrow writers produce) are checked as text
    and bytes; they stopped enforce with an ArrowNotImplementedError from a take kernel."""
    table = pa.table(
        {
            "a": pa.array(["x", None, "z"], pa.string_view()),
            "b": pa.array([b"y", b"w", None], pa.binary_view()),
        }
    )
    schema = Schema([ColSpec("string", "a", required=False), ColSpec("binary", "b")])
    result = enforce(table, schema)
    assert result.valid_mask.tolist() == [True, True, True]  # a null in a required column: as MLflow
    assert result.to_pandas()["b"].tolist() == [b"y", b"w", None]
    strict = enforce(table, schema, profile="strict")
    assert strict.valid_mask.tolist() == [True, True, False]
    assert [r.code.value for r in strict.reasons[2]] == ["NULL_REQUIRED"]
    # at any depth, from a DataFrame too, and preflight agrees (it refused binary_view)
    nested = pa.table(
        {
            "l": pa.array([["a"]], pa.list_(pa.string_view())),
            "s": pa.array([{"a": "x"}], pa.struct([("a", pa.string_view())])),
            "m": pa.array([[("k", "v")]], pa.map_(pa.string_view(), pa.string_view())),
            "b": pa.array([b"x"], pa.binary_view()),
        }
    )
    nested_schema = Schema(
        [
            ColSpec(sigbatch.Array("string"), "l"),
            ColSpec(sigbatch.Object([sigbatch.Property("a", "string")]), "s"),
            ColSpec(sigbatch.Map("string"), "m"),
            ColSpec("binary", "b"),
        ]
    )
    assert preflight(nested.schema, nested_schema).problems == ()
    row = enforce(nested, nested_schema).to_pandas().iloc[0].tolist()
    assert [row[0].tolist(), *row[1:]] == [["a"], {"a": "x"}, {"k": "v"}, b"x"]
    frame = pd.DataFrame({"a": pd.Series(["x"], dtype=pd.ArrowDtype(pa.string_view()))})
    assert enforce(frame, Schema([ColSpec("string", "a")])).valid_mask.tolist() == [True]


def test_schemas_rows_cannot_be_checked_against_are_refused_in_one_line():
    """A tensor signature (also given as a ModelSignature) and one with two inputs of one name are
    one SignatureError before any row is read; they were an 'unsupported signature type' from deep
    inside and a KeyError from pyarrow."""
    table = pa.table({"a": pa.array([["x"]], pa.list_(pa.string()))})
    tensor = ModelSignature(Schema([sigbatch.TensorSpec(np.dtype("float64"), (-1, 3))]))
    twice = ModelSignature(
        Schema([ColSpec(sigbatch.Array("string"), "a"), ColSpec(sigbatch.Array("string"), "a")])
    )
    cases = [
        (
            tensor,
            "row enforcement supports column-based schemas (ColSpec); this schema is made of TensorSpecs",
        ),
        (twice, "the schema has more than one input named 'a'; rows cannot be checked against it"),
    ]
    for signature, message in cases:
        for call in (enforce, preflight):
            with pytest.raises(sigbatch.SignatureError) as info:
                call(table if call is enforce else table.schema, signature)
            assert str(info.value) == message
        with pytest.raises(sigbatch.SignatureError, match="^" + re.escape(message) + "$"):
            sigbatch.score_batch(table, lambda df: [0] * len(df), signature)
    # an output schema with two outputs of one name: refused before the model runs
    calls = []
    outputs = ModelSignature(
        Schema([ColSpec(sigbatch.Array("string"), "a")]),
        Schema([ColSpec("double", "y"), ColSpec("double", "y")]),
    )
    with pytest.raises(sigbatch.SignatureError) as info:
        sigbatch.score_batch(table, lambda df: calls.append(1) or [0] * len(df), outputs)
    assert (
        str(info.value)
        == "the schema has more than one output named 'y'; predictions cannot be checked against it"
    )
    assert calls == []


def test_times_pandas_cannot_hold_are_quarantined_from_every_input_kind():
    """A datetime outside pandas' nanosecond range (the year 2300) is refused as MLflow refuses it
    in a record, from Arrow, a DataFrame and lenient text too; those rows were accepted and then
    stopped the batch with OutOfBoundsDatetime."""
    schema = Schema([ColSpec("datetime", "t")])
    message = "Out of bounds nanosecond timestamp: 2300-01-01 00:00:00"
    stamps = pa.array([dt.datetime(2020, 1, 1), dt.datetime(2300, 1, 1)], pa.timestamp("us"))
    for data in ([{"t": dt.datetime(2020, 1, 1)}, {"t": dt.datetime(2300, 1, 1)}], pa.table({"t": stamps})):
        result = enforce(data, schema)
        assert result.valid_mask.tolist() == [True, False]
        assert [(r.code.value, r.message) for r in result.reasons[1]] == [("TYPE_MISMATCH", message)]
        assert result.to_pandas()["t"].tolist() == [pd.Timestamp("2020-01-01")]
    frame = pd.DataFrame({"t": pd.Series(stamps.to_pandas(types_mapper=None)).astype("datetime64[us]")})
    assert enforce(frame, schema).valid_mask.tolist() == [True, False]
    lenient = enforce([{"t": "2020-01-01"}, {"t": "2300-01-01"}], schema, profile="lenient")
    assert lenient.valid_mask.tolist() == [True, False]
    assert [(r.code.value, r.message) for r in lenient.reasons[1]] == [
        ("UNSAFE_CAST", "value '2300-01-01' does not convert without loss to datetime")
    ]
    assert lenient.to_pandas()["t"].tolist() == [pd.Timestamp("2020-01-01")]


def test_integers_beyond_64_bits_in_records():
    """2**64 as a datetime is refused (it raised OverflowError); as a double, MLflow accepts it and
    the model gets the number (it got NaN)."""
    refused = enforce([{"t": 2**64}], Schema([ColSpec("datetime", "t")]))
    assert [(r.code.value, r.message) for r in refused.reasons[0]] == [
        ("TYPE_MISMATCH", "Python int too large to convert to C long")
    ]
    accepted = enforce([{"x": 2**64}], Schema([ColSpec("double", "x")]))
    assert accepted.valid_mask.tolist() == [True]
    assert accepted.to_pandas()["x"].tolist() == [float(2**64)]


def test_lenient_converts_integers_to_doubles_from_every_input_kind():
    """Under lenient, 3 in a double column is converted from records, a DataFrame and Arrow alike
    (the last two refused it, as MLflow does for ints other than 0 and 1); an int a double cannot
    hold exactly is UNSAFE_CAST."""
    schema = Schema([ColSpec("double", "a")])
    for data in (
        [{"a": 3}, {"a": 2**53 + 1}],
        pd.DataFrame({"a": [3, 2**53 + 1]}),
        pa.table({"a": [3, 2**53 + 1]}),
    ):
        result = enforce(data, schema, profile="lenient")
        assert result.valid_mask.tolist() == [True, False]
        assert [r.code.value for r in result.reasons[1]] == ["UNSAFE_CAST"]
        assert result.to_pandas()["a"].tolist() == [3.0]


def test_object_columns_of_mixed_kinds_are_judged_value_by_value():
    """A DataFrame object column whose values are of several kinds is judged row by row as MLflow
    judges each row alone; Arrow had coerced them to one type (5 became a time, True 1.0, an aware
    datetime a shifted naive one, '1' b'1'), or refused the whole batch."""
    aware = dt.datetime(2021, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    cases = [
        ("datetime", [dt.datetime(2020, 1, 1), 5], [True, False], [pd.Timestamp("2020-01-01")]),
        ("double", [1.5, True], [True, False], [1.5]),
        ("long", [1, 2.5], [True, False], [1]),
        ("boolean", [-3, np.True_], [False, True], [True]),
        ("datetime", [pd.Timestamp("2021-01-01"), aware], [True, False], [pd.Timestamp("2021-01-01")]),
        (sigbatch.AnyType(), [b"ab", "1"], [True, True], [b"ab", "1"]),
        (
            sigbatch.Array(sigbatch.AnyType()),
            [[], [dt.datetime(2020, 1, 2), 1.5]],
            [True, True],
            [[], [dt.datetime(2020, 1, 2), 1.5]],
        ),
        # an int32 array beside a list of Python ints: Arrow widened both to int64 (every row refused)
        (sigbatch.Array("integer"), [np.array([1, 2], np.int32), [1, 2]], [True, False], [[1, 2]]),
    ]
    for t, values, valid, seen in cases:
        result = enforce(pd.DataFrame({"a": pd.Series(values, dtype=object)}), Schema([ColSpec(t, "a")]))
        assert result.valid_mask.tolist() == valid, (t, values)
        got = [list(v) if isinstance(v, (list, np.ndarray)) else v for v in result.to_pandas()["a"]]
        assert got == seen, (t, values)


def test_maps_that_are_not_maps_of_text_keys_are_invalid_map():
    """A value that is not a dict, or a dict with a key that is not text, is INVALID_MAP at the map's
    path; an Arrow map with integer keys is a preflight problem of the whole column."""
    schema = Schema([ColSpec(sigbatch.Map("double"), "m")])
    result = enforce([{"m": 5}, {"m": {"k": 1.0}}, {"m": {1: 2.0}}], schema)
    assert result.valid_mask.tolist() == [False, True, False]
    assert {i: [(r.path, r.code.value) for r in rs] for i, rs in result.reasons.items()} == {
        0: [("m", "INVALID_MAP")],
        2: [('m["1"]', "INVALID_MAP")],
    }
    problems = preflight(pa.schema([("m", pa.map_(pa.int64(), pa.float64()))]), schema).problems
    assert [(p.column, p.code.value, p.message) for p in problems] == [
        ("m", "INVALID_MAP", "map keys are int64, the signature's maps have string keys")
    ]


def test_fixed_size_lists_reach_the_model_as_lists_of_their_columns_do():
    """A fixed_size_list column (numbers or text) reaches the model as numpy arrays, as list columns
    do and as pandas reads it from Parquet (text lists came as Python lists)."""
    table = pa.table(
        {
            "a": pa.array([[1, 2], [3, 4]], pa.list_(pa.int32(), 2)),
            "b": pa.array([["x"], ["y"]], pa.list_(pa.string(), 1)),
        }
    )
    schema = Schema([ColSpec(sigbatch.Array("integer"), "a"), ColSpec(sigbatch.Array("string"), "b")])
    frame = enforce(table, schema).to_pandas()
    assert [(type(v).__name__, v.dtype.name, v.tolist()) for v in frame["a"]] == [
        ("ndarray", "int32", [1, 2]),
        ("ndarray", "int32", [3, 4]),
    ]
    assert [(type(v).__name__, v.tolist()) for v in frame["b"]] == [("ndarray", ["x"]), ("ndarray", ["y"])]


def test_lists_in_a_map_are_python_lists_and_lists_of_records_numpy_arrays():
    """In a map everything is a Python value (a list<int32> there holds int64s, refused for
    integer, as MLflow refuses it); a record in a column's list keeps numpy lists (accepted)."""
    obj = sigbatch.Object([sigbatch.Property("a", sigbatch.Array("integer"))])
    in_map = pa.array(
        [[("k", {"a": [1, 2]})]], pa.map_(pa.string(), pa.struct([("a", pa.list_(pa.int32()))]))
    )
    assert enforce(
        pa.table({"m": in_map}), Schema([ColSpec(sigbatch.Map(obj), "m")])
    ).valid_mask.tolist() == [False]
    in_list = pa.array([[{"a": [1, 2]}]], pa.list_(pa.struct([("a", pa.list_(pa.int32()))])))
    assert enforce(
        pa.table({"l": in_list}), Schema([ColSpec(sigbatch.Array(obj), "l")])
    ).valid_mask.tolist() == [True]


def test_times_beyond_pandas_or_python_are_quarantined_without_wrapping_around():
    """Times in seconds, milliseconds or days far outside pandas' range are refused, compared in
    their own unit (a cast to microseconds wrapped 2**62 ms around to 1970), also beyond the year
    9999 where Python has no datetime, and in lists."""
    schema = Schema([ColSpec("datetime", "t")])
    cases = [
        (pa.array([2**62, 0], pa.timestamp("ms")), "4611686018427387904 ms from 1970-01-01"),
        (pa.array([10**14, 0], pa.timestamp("s")), "100000000000000 s from 1970-01-01"),
        (pa.array([300_000 * 366, 0], pa.date32()), "109800000 days from 1970-01-01"),
        (
            pa.array([dt.datetime(1600, 1, 1), dt.datetime(1970, 1, 1)], pa.timestamp("s")),
            "1600-01-01 00:00:00",
        ),
    ]
    for arr, text in cases:
        result = enforce(pa.table({"t": arr}), schema)
        assert result.valid_mask.tolist() == [False, True], arr.type
        assert [r.message for r in result.reasons[0]] == [f"Out of bounds nanosecond timestamp: {text}"]
        assert result.to_pandas()["t"].tolist() == [pd.Timestamp("1970-01-01")]
    lists = pa.array([[10**13], [2**62], [0]], pa.list_(pa.timestamp("ms")))  # 2286, beyond 9999, 1970
    result = enforce(pa.table({"t": lists}), Schema([ColSpec(sigbatch.Array("datetime"), "t")]))
    assert result.valid_mask.tolist() == [False, False, True]
    assert (
        result.reasons[1][0].message
        == "value cannot be read as Array(datetime): Python int too large to convert to C int"
    )


def test_integers_beyond_64_bits_are_judged_each_alone():
    """2**64 and 10**400 as doubles: each is judged alone whatever the order (the first decided
    for both); 10**400 is refused, since no double holds it."""
    schema = Schema([ColSpec("double", "x")])
    for rows, valid in (
        ([{"x": 2**64}, {"x": 10**400}], [True, False]),
        ([{"x": 10**400}, {"x": 2**64}], [False, True]),
    ):
        result = enforce(rows, schema)
        assert result.valid_mask.tolist() == valid
        assert [r.message for rs in result.reasons.values() for r in rs] == [
            "int too large to convert to float"
        ]
        assert result.to_pandas()["x"].tolist() == [float(2**64)]


def test_a_missing_cell_does_not_make_a_list_column_mixed():
    """A NaN or NA cell in a DataFrame column of int32 arrays is a null (accepted in an optional
    column), not a second kind of cell: the column stays vectorised (it was judged row by row,
    86 times slower, and the NaN row refused)."""
    for missing in (np.nan, pd.NA, None):
        frame = pd.DataFrame({"a": pd.Series([np.array([1, 2], np.int32), missing], dtype=object)})
        result = enforce(frame, Schema([ColSpec(sigbatch.Array("integer"), "a", required=False)]))
        assert result.valid_mask.tolist() == [True, True], missing
    assert (
        sys.modules["sigbatch.enforce"]._mixed_scalars(
            frame["a"], pa.array([[1, 2], None], pa.list_(pa.int32()))
        )
        is False
    )


def test_a_null_in_a_list_of_float32_is_nan_as_pandas_reads_it():
    """list<float32> with a null is a float32 array with NaN to pandas, which MLflow accepts for
    Array(float): the row is scored (it was judged as Python floats, float64, and refused); strict
    still refuses the null element; a null in a text column handed on untouched is pandas' NaN."""
    table = pa.table({"c": pa.array([[1.5, None], [2.0], None], pa.list_(pa.float32()))})
    schema = Schema([ColSpec(sigbatch.Array("float"), "c", required=False)])
    result = enforce(table, schema)
    assert result.valid_mask.tolist() == [True, True, True]
    first = result.to_pandas()["c"].iloc[0]
    assert first[0] == 1.5 and np.isnan(first[1])
    strict = enforce(table, schema, profile="strict")
    assert strict.valid_mask.tolist() == [False, True, True]
    assert ("c[1]", "NULL_REQUIRED") in [(r.path, r.code.value) for r in strict.reasons[0]]
    text = enforce(
        pa.table({"a": pa.array([None, "x"], pa.string())}), Schema([ColSpec("binary", "a", required=False)])
    )
    handed = text.to_pandas()["a"].tolist()
    assert np.isnan(handed[0]) and handed[1] == "x"


def test_strict_refuses_null_float_elements_at_every_depth_with_one_reason_each():
    """Strict refuses a null element in float lists below the top level too (the NaN rule for
    float lists had let them through), and a float32 list, in a column, a list or a record, is
    judged as pandas holds it, so the only reason is the null (it also said UNSAFE_CAST for each
    float)."""
    cases = [
        (
            pa.array([[[1.5, None]]], pa.list_(pa.list_(pa.float64()))),
            sigbatch.Array(sigbatch.Array("double")),
            "c[0][1]",
        ),
        (
            pa.array([{"v": [1.5, None]}], pa.struct([("v", pa.list_(pa.float64()))])),
            sigbatch.Object([sigbatch.Property("v", sigbatch.Array("double"))]),
            "c.v[1]",
        ),
        (pa.array([[0.1, 1.5, None]], pa.list_(pa.float32())), sigbatch.Array("float"), "c[2]"),
        (
            pa.array([{"v": [0.1, None]}], pa.struct([("v", pa.list_(pa.float32()))])),
            sigbatch.Object([sigbatch.Property("v", sigbatch.Array("float"))]),
            "c.v[1]",
        ),
        (
            pa.array([[[0.1, None]]], pa.list_(pa.list_(pa.float32()))),
            sigbatch.Array(sigbatch.Array("float")),
            "c[0][1]",
        ),
    ]
    for arr, t, path in cases:
        result = enforce(pa.table({"c": arr}), Schema([ColSpec(t, "c")]), profile="strict")
        assert [(r.path, r.code.value) for r in result.reasons[0]] == [(path, "NULL_REQUIRED")], t
        assert enforce(pa.table({"c": arr}), Schema([ColSpec(t, "c")])).valid_mask.tolist() == [True]


def test_a_dataframe_text_column_is_handed_on_as_it_is_and_its_missing_cells_are_nulls():
    """A DataFrame's column MLflow hands on untouched keeps its own values (None stays None); a
    missing cell (NaN of any float type, NA, NaT) in a list column is a null whatever its
    neighbours hold (beside float arrays it was refused, beside int arrays accepted)."""
    frame = pd.DataFrame({"c": pd.Series(["a", None], dtype=object)})
    handed = enforce(frame, Schema([ColSpec("binary", "c", required=False)])).to_pandas()["c"]
    assert (handed.tolist(), str(handed.dtype)) == (["a", None], "object")
    for missing in (np.nan, np.float32("nan"), pd.NA, pd.NaT, np.datetime64("NaT")):
        for first in (np.array([1.5]), np.array([1], np.int64), [1.5]):
            lists = pd.DataFrame({"a": pd.Series([first, missing], dtype=object)})
            result = enforce(lists, Schema([ColSpec(sigbatch.Array("double"), "a", required=False)]))
            assert result.valid_mask.tolist() == [True, True], (missing, first)


def test_times_pandas_cannot_hold_inside_arrays_objects_and_maps_are_quarantined():
    """A numpy datetime64 of any unit (or a Python datetime in a list) beyond pandas' nanoseconds,
    inside an Array, Object or Map, in records or a DataFrame, is refused with pandas' text, as
    MLflow refuses it and as a top-level time is (OutOfBoundsDatetime had escaped enforce)."""
    ok = np.datetime64("2020-01-01", "us")
    late = "Out of bounds nanosecond timestamp: 2300-06-01 00:00:00"
    cases = [
        (sigbatch.Array("datetime"), [ok, np.datetime64("2300-06-01", "us")], "a[1]", late),
        (sigbatch.Array("datetime"), [ok, np.datetime64("2300-06-01", "D")], "a[1]", late),
        (sigbatch.Array("datetime"), [dt.datetime(2020, 1, 1), dt.datetime(2300, 6, 1)], "a[1]", late),
        (
            sigbatch.Array("datetime"),
            [np.datetime64("1600-06-01", "ms")],
            "a[0]",
            "Out of bounds nanosecond timestamp: 1600-06-01 00:00:00",
        ),
        (
            sigbatch.Array("datetime"),
            [dt.datetime(9999, 6, 1)],
            "a[0]",
            "Out of bounds nanosecond timestamp: 9999-06-01 00:00:00",
        ),
        (sigbatch.Array(sigbatch.Array("datetime")), [[np.datetime64("2300-06-01", "s")]], "a[0][0]", late),
        (
            sigbatch.Object([sigbatch.Property("p", "datetime")]),
            {"p": np.datetime64("2300", "Y")},
            "a.p",
            "Out of bounds nanosecond timestamp: 2300-01-01 00:00:00",
        ),
        (sigbatch.Map("datetime"), {"k": np.datetime64("2300-06-01", "us")}, 'a["k"]', late),
    ]
    for t, value, path, message in cases:
        good = [ok] if isinstance(t, sigbatch.Array) else {next(iter(value)): ok}
        if isinstance(t, sigbatch.Array) and isinstance(t.dtype, sigbatch.Array):
            good = [good]
        result = enforce([{"a": value}, {"a": good}], Schema([ColSpec(t, "a")]))
        assert result.valid_mask.tolist() == [False, True], value
        assert [(r.path, r.code.value, r.message) for r in result.reasons[0]] == [
            (path, "TYPE_MISMATCH", message)
        ]
    stamps = pa.array([[dt.datetime(2300, 6, 1)], [dt.datetime(2020, 1, 1)]], pa.list_(pa.timestamp("us")))
    frame = pa.table({"a": stamps}).to_pandas()  # object column of datetime64[us] arrays
    result = enforce(frame, Schema([ColSpec(sigbatch.Array("datetime"), "a")]))
    assert result.valid_mask.tolist() == [False, True]
    assert [(r.path, r.code.value, r.message) for r in result.reasons[0]] == [("a[0]", "TYPE_MISMATCH", late)]
    assert result.to_pandas()["a"].iloc[0].astype(str).tolist() == ["2020-01-01T00:00:00.000000000"]


def test_ragged_numpy_arrays_of_arrays_are_quarantined():
    """A numpy array of arrays of different shapes (pandas' reading of a ragged list<list<double>>)
    for Array(Array(...)) is refused as MLflow's np.array refuses it, and list<map> (pandas' lists
    of pairs) is refused per element; both raised numpy's "inhomogeneous shape" error out of
    enforce. A record's ragged Python list of lists stays accepted, as MLflow accepts it."""
    ragged = (
        "setting an array element with a sequence. The requested array has an inhomogeneous shape "
        "after 1 dimensions. The detected shape was (2,) + inhomogeneous part."
    )
    twice = Schema([ColSpec(sigbatch.Array(sigbatch.Array("double")), "a")])
    lists = pa.array([[[1.5], [1.5, 2.5]], [[1.5], [2.5]]], pa.list_(pa.list_(pa.float64())))
    for data in (
        pa.table({"a": lists}).to_pandas(),
        [
            {"a": np.array([np.array([1.5]), np.array([1.5, 2.5])], dtype=object)},
            {"a": np.array([[1.5], [2.5]])},
        ],
    ):
        result = enforce(data, twice)
        assert result.valid_mask.tolist() == [False, True]
        assert [(r.path, r.code.value, r.message) for r in result.reasons[0]] == [
            ("a", "INVALID_ARRAY", ragged)
        ]
        assert result.to_pandas()["a"].iloc[0].tolist() == [[1.5], [2.5]]
    thrice = Schema([ColSpec(sigbatch.Array(sigbatch.Array(sigbatch.Array("double"))), "a")])
    deep = pa.array(
        [[[[1.5], [1.5, 2.5]]], [[[1.5]], [[1.5], [2.5]]]], pa.list_(pa.list_(pa.list_(pa.float64())))
    )
    result = enforce(pa.table({"a": deep}).to_pandas(), thrice)
    assert result.valid_mask.tolist() == [False, False]
    assert _codes(result, 0) == [("a[0]", "INVALID_ARRAY")]
    assert _codes(result, 1) == [("a", "INVALID_ARRAY")]
    maps = pa.array([[[("k", 1.5)], [("k", 1.5), ("j", 2.5)]]], pa.list_(pa.map_(pa.string(), pa.float64())))
    result = enforce(
        pa.table({"a": maps}).to_pandas(), Schema([ColSpec(sigbatch.Array(sigbatch.Map("double")), "a")])
    )
    assert result.valid_mask.tolist() == [False]
    assert [(r.path, r.code.value, r.message) for r in result.reasons[0]] == [
        ("a[0]", "INVALID_MAP", "Expected data to be a dict, got list"),
        ("a[1]", "INVALID_MAP", "Expected data to be a dict, got list"),
    ]
    result = enforce([{"a": [[1.5], [1.5, 2.5]]}], twice)
    assert result.valid_mask.tolist() == [True]
    assert result.to_pandas()["a"].tolist() == [[[1.5], [1.5, 2.5]]]


def test_a_frame_of_nested_datetime_lists_does_not_crash_pyarrow():
    """A DataFrame as pandas reads list<list<timestamp>> for Array(Array(datetime)): MLflow makes
    the row a 2-D datetime64 array, which pyarrow 25 crashed the process on when enforce built
    the column; now the column is built from Python lists, in a child process that must live."""
    import subprocess

    code = """
import datetime as dt
import pyarrow as pa
from sigbatch import Array, ColSpec, Schema, enforce
t = pa.list_(pa.list_(pa.timestamp("ms")))
df = pa.table({"c": pa.array([[[dt.datetime(2020, 1, 1)]], [], None], t)}).to_pandas()
for inner in ("datetime", "long"):
    r = enforce(df, Schema([ColSpec(Array(Array(inner)), "c")]))
    print(r.valid_mask.tolist(), {i: [(x.path, x.code.value) for x in rs] for i, rs in r.reasons.items()})
    print(r.valid.column("c").to_pylist(), r.quarantine.column("c").to_pylist())
"""
    root = str(Path(__file__).resolve().parents[1])
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=root)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "[True, True, False] {2: [('c', 'NULL_REQUIRED')]}",
        "[[[datetime.datetime(2020, 1, 1, 0, 0)]], []] [None]",
        "[False, True, False] {0: [('c[0][0]', 'TYPE_MISMATCH')], 2: [('c', 'NULL_REQUIRED')]}",
        "[[]] [[[datetime.datetime(2020, 1, 1, 0, 0)]], None]",
    ]


def test_lenient_integers_beyond_int64_are_quarantined_not_raised():
    """Profile lenient: an Arrow uint64 of 2**63 or more for long raised ArrowInvalid (the bound
    was cast to int64), and a record's 2**63 raised OverflowError (pa.array of it); both are now
    out-of-range rows (UNSAFE_CAST), while a float or double that holds the integer exactly
    takes it."""
    long = Schema([ColSpec("long", "a")])
    table = pa.table({"a": pa.array([2**63, 5, 2**64 - 1], pa.uint64())})
    result = enforce(table, long, profile="lenient")
    assert result.valid_mask.tolist() == [False, True, False]
    assert {row: _codes(result, row) for row in result.reasons} == {
        0: [("a", "UNSAFE_CAST")],
        2: [("a", "UNSAFE_CAST")],
    }
    assert result.valid.column("a").to_pylist() == [5]
    rows = [{"a": 2**63}, {"a": 5}, {"a": -(2**63) - 1}, {"a": np.uint64(2**63)}, {"a": "7"}, {"a": 10**400}]
    result = enforce(rows, long, profile="lenient")
    assert result.valid_mask.tolist() == [False, True, False, False, True, False]
    assert {row: _codes(result, row) for row in result.reasons} == {
        key: [("a", "UNSAFE_CAST")] for key in (0, 2, 3, 5)
    }
    assert result.reasons[0][0].message == "value 9223372036854775808 is out of range for long"
    assert result.reasons[5][0].message == f"value {str(10**400)[:37]}... is out of range for long"
    assert result.valid.column("a").to_pylist() == [5, 7]
    result = enforce(
        [{"a": 2**63}, {"a": 10**400}, {"a": 2**200}], Schema([ColSpec("float", "a")]), profile="lenient"
    )
    assert result.valid_mask.tolist() == [True, False, False]
    assert {row: _codes(result, row) for row in result.reasons} == {
        key: [("a", "UNSAFE_CAST")] for key in (1, 2)
    }
    assert result.valid.column("a").to_pylist() == [float(2**63)]


def test_lenient_integers_beside_floats_are_converted_apart():
    """Profile lenient: 2**62 beside 0.5 raised ArrowInvalid (both went to Arrow as doubles, and a
    double does not hold 2**62 + 1 exactly); ints and floats are now converted each as their own
    type, and an int a double cannot hold exactly is an unsafe cast."""
    rows = [{"a": 2**62}, {"a": 0.5}, {"a": 2**53 + 1}, {"a": np.int8(3)}]
    result = enforce(rows, Schema([ColSpec("double", "a")]), profile="lenient")
    assert result.valid_mask.tolist() == [True, True, False, True]
    assert {row: _codes(result, row) for row in result.reasons} == {2: [("a", "UNSAFE_CAST")]}
    assert result.valid.column("a").to_pylist() == [float(2**62), 0.5, 3.0]
    result = enforce(rows, Schema([ColSpec("long", "a")]), profile="lenient")
    assert result.valid_mask.tolist() == [True, False, True, True]
    assert {row: _codes(result, row) for row in result.reasons} == {1: [("a", "UNSAFE_CAST")]}
    assert result.valid.column("a").to_pylist() == [2**62, 2**53 + 1, 3]
