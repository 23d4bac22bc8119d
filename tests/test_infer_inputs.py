"""Lake inference on awkward files: every path reads the same data the same way, and fails clearly."""

from __future__ import annotations

import datetime
import decimal

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sigbatch import ColSpec, ConfigError, InferenceError, Schema
from sigbatch.infer import infer_files, partial_from_records, partial_from_table
from sigbatch.infer.partial import MAX_NESTING

# --- nesting -----------------------------------------------------------------------------------------


def test_too_deep_line_for_json_is_unreadable(tmp_path):
    """A line nested deeper than Python's json can parse is an unreadable record, not a RecursionError."""
    (tmp_path / "d.jsonl").write_text('{"a":1}\n{"a":' + "[" * 3000 + "]" * 3000 + "}\n")
    result = infer_files(tmp_path)
    assert result.schema == Schema([ColSpec("long", "a")])
    assert (result.report.rows, result.report.unreadable) == (1, 1)


@pytest.mark.parametrize(
    "opener, closer, path", [("[", "]", "a" + "[]" * 29), ('{"b":', "}", "a" + ".b" * 29)]
)
def test_deeper_than_the_limit_is_refused_with_the_path(tmp_path, opener, closer, path):
    """Data nested MAX_NESTING levels is inferred; one level more is an error naming the path and depth."""
    ok = tmp_path / "ok" / "d.jsonl"
    ok.parent.mkdir()
    ok.write_text('{"a":' + opener * MAX_NESTING + "1" + closer * MAX_NESTING + "}\n")
    result = infer_files(ok)
    shown = str(result.signature)  # printing the type recurses too
    assert shown.count("Array(" if opener == "[" else "{b:") == MAX_NESTING
    deep = tmp_path / "deep" / "d.jsonl"
    deep.parent.mkdir()
    deep.write_text('{"a":' + opener * 150 + "1" + closer * 150 + "}\n")
    message = (
        f"d.jsonl: Field '{path}…' is nested 101 levels deep; sigbatch infers at most 100 levels of "
        "arrays, objects and maps. Hint: flatten the data, or store the deep part as a JSON string."
    )
    with pytest.raises(InferenceError) as info:
        infer_files(deep)
    assert str(info.value) == message


def test_deep_arrow_and_records_are_refused():
    """An Arrow column or records nested past the limit fail with the path, not a RecursionError."""
    t: pa.DataType = pa.int64()
    for _ in range(MAX_NESTING + 1):
        t = pa.list_(t)
    with pytest.raises(InferenceError, match=r"^Field 'x\[\]\[\].*' is nested 101 levels deep"):
        partial_from_table(pa.table({"x": pa.array([None], t)}))
    value: object = 1
    for _ in range(600):
        value = {"k": value}
    with pytest.raises(InferenceError, match=r"^Field 'c\.k\.k.*' is nested 101 levels deep"):
        partial_from_records([{"c": value}])


@pytest.mark.parametrize(
    "name, array, arrow",
    [
        ("dec", pa.array([decimal.Decimal("1.5")]), "decimal128(2, 1)"),
        ("u64", pa.array([1], pa.uint64()), "uint64"),
        ("t", pa.array([datetime.time(1, 2)]), "time64[us]"),
        ("dur", pa.array([datetime.timedelta(1)]), "duration[us]"),
    ],
)
def test_parquet_unsupported_types_name_file_and_column(tmp_path, name, array, arrow):
    """A Parquet type with no signature type: the error names the file, the column and the type."""
    pq.write_table(pa.table({"ok": [1], name: array}), tmp_path / "t.parquet")
    with pytest.raises(InferenceError) as info:
        infer_files(tmp_path)
    assert str(info.value).startswith(f"t.parquet: Field '{name}' has Arrow type {arrow}, which has no")


# --- options ---------------------------------------------------------------------------------------------


@pytest.fixture
def unreadable(tmp_path):
    """A lake whose only file cannot be read: any error but a ConfigError means it was read."""
    (tmp_path / "b.parquet").write_bytes(b"not parquet at all")
    return tmp_path


@pytest.mark.parametrize(
    "options, message",
    [
        ({"policy": "bogus"}, "Unknown policy 'bogus'; expected one of ['strict', 'widen', 'majority']"),
        ({"fraction": "0.5"}, "fraction must be in (0, 1], got str '0.5'"),
        ({"fraction": True}, "fraction must be in (0, 1], got bool True"),
        ({"max_partitions": 0.5}, "max_partitions must be an integer, got float 0.5"),
        ({"rows_per_partition": 1.5}, "rows_per_partition must be an integer, got float 1.5"),
        ({"seed": "1"}, "seed must be an integer, got str '1'"),
        ({"format": "xml"}, "Unknown format 'xml'; expected one of ['parquet', 'json', 'csv']"),
    ],
)
def test_options_are_checked_before_reading(unreadable, options, message):
    """A bad option is a ConfigError naming it, raised before any file is read."""
    with pytest.raises(ConfigError) as info:
        infer_files(unreadable, **options)
    assert str(info.value) == message


@pytest.mark.dask
def test_dask_checks_options_before_reading(unreadable):
    """The Dask engine checks the policy before any task runs."""
    from sigbatch.dask import infer_schema

    with pytest.raises(ConfigError, match=r"^Unknown policy 'bogus'"):
        infer_schema(unreadable, policy="bogus", scheduler="synchronous")
