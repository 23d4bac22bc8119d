"""Lake inference on awkward files: every path reads the same data the same way, and fails clearly."""

from __future__ import annotations

import datetime
import decimal
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import textwrap
from typing import Any

import mlflow.types.utils
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from mlflow.exceptions import MlflowException

from sigbatch import Array, ColSpec, ConfigError, InferenceError, Object, Property, Schema
from sigbatch.infer import finalize, infer_files, partial_from_records, partial_from_table, plan_files
from sigbatch.infer.lake import _NotObjectLine, _ObjectLines, _read_json_arrow, _read_json_values
from sigbatch.infer.partial import MAX_NESTING
from sigbatch.infer.values import MULTIPLE_TYPES_ERROR_MSG
from sigbatch.types import AnyType, DataType
from tests.strategies import conflicting_types, inferable_objects, inferable_types, inferable_values


def _task(path):
    """The one task reading ``path``."""
    (task,), _ = plan_files(path)
    return task


# --- JSON lines: lines that are not objects --------------------------------------------------------


def test_null_first_line_is_a_row_without_keys_not_a_crash(tmp_path):
    """A `null` first line (which crashes pyarrow's JSON reader) is a row without keys, as the
    scoring jobs read it (a row of nulls): every field is optional."""
    (tmp_path / "nullline.jsonl").write_text('null\n{"a":1}\n')
    code = textwrap.dedent(
        f"""
        from sigbatch.infer import infer_files
        r = infer_files({str(tmp_path / "nullline.jsonl")!r})
        print(r.schema, r.report.rows, r.report.unreadable)
        """
    )
    # In a child process: were the crash back, it must not take the test run down with it.
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "['a': long (optional)] 2 0\n"


@pytest.mark.parametrize("b", ['"x", "y"', "1.0, 2.0", "1.5, 2.5"])
def test_null_line_is_a_row_without_keys_on_every_path(tmp_path, b):
    """A `null` line is a row without keys whether the file goes through Arrow or value by value
    (it was counted unreadable, so the signature refused the row of nulls the jobs read)."""
    first, second = b.split(", ")
    path = tmp_path / "n.jsonl"
    path.write_text(f'{{"a":1,"b":{first}}}\n{{"a":2,"b":{second}}}\nnull\n')
    result = infer_files(path)
    kind = "string" if '"' in b else "double"
    assert result.schema == Schema([ColSpec("long", "a", required=False), ColSpec(kind, "b", required=False)])
    assert (result.report.rows, result.report.unreadable) == (3, 0)


@pytest.mark.parametrize(
    "text",
    [
        '{"a":1}\n{"a":2}\n[1]\n',
        '{"a":1}\n{"a":2}\n  5\n',
        '{"a":1} {"a":3}\n{"a":1}\n{"a":2}\n',
        '{"a":1}\n{"a":1,\n"b":2}\n{"a":2}\n',
    ],
)
def test_arrow_and_values_agree_on_bad_lines(tmp_path, text):
    """A line that is not one object is unreadable, never rows of Arrow's making."""
    path = tmp_path / "x.jsonl"
    path.write_text(text)
    result = infer_files(path)
    unreadable = 2 if '"b":2' in text else 1
    assert result.schema == Schema([ColSpec("long", "a")])
    assert (result.report.rows, result.report.unreadable) == (2, unreadable)
    task = _task(path)
    assert _arrow_declines(task)
    assert finalize(_read_json_values(task))[0] == result.schema


def _arrow_declines(task) -> bool:
    """Whether the Arrow path leaves the file to the values path (by None or by refusing a line)."""
    try:
        return _read_json_arrow(task) is None
    except _NotObjectLine:
        return True


def test_empty_objects_keep_their_rows(tmp_path):
    """Lines of `{}` only are rows without fields (Arrow's table of no columns would lose them)."""
    (tmp_path / "e.jsonl").write_text("{}\n{}\n")
    with pytest.raises(InferenceError, match=r"^Nothing to infer a schema from: no field in 2 rows\.$"):
        infer_files(tmp_path)


def test_invalid_utf8_line_is_unreadable(tmp_path):
    """A line that is not UTF-8 is one unreadable record, on the Arrow path as on the values path."""
    (tmp_path / "u.jsonl").write_bytes(b'{"a":1,"b":"x\xff\xfe"}\n{"a":2,"b":"y"}\n{"a":3,"b":"z"}\n')
    result = infer_files(tmp_path)
    assert result.schema == Schema([ColSpec("long", "a"), ColSpec("string", "b")])
    assert (result.report.rows, result.report.unreadable) == (2, 1)


def test_capped_arrow_read_stops_at_the_cap(tmp_path):
    """Arrow gets only the first rows_per_partition lines: a bad line after them is never read."""
    path = tmp_path / "c.jsonl"
    path.write_text('{"a":1}\n\n  {"a":2}\n{"a":3}\nnull\n')
    task = _task(path)
    capped = _read_json_arrow(type(task)(task.path, task.name, 0, "json", 3))
    assert capped is not None
    assert (capped.rows, capped.samples[0].rows_read, capped.samples[0].exhausted) == (3, 3, False)
    result = infer_files(path, rows_per_partition=3)
    assert result.schema == Schema([ColSpec("long", "a")]) and result.report.unreadable == 0
    four = infer_files(path, rows_per_partition=4)  # the null line is a row without keys
    assert (four.report.rows, four.report.unreadable) == (4, 0)
    assert four.schema == Schema([ColSpec("long", "a", required=False)])


_LINES = st.lists(
    st.sampled_from(['{"a":1}', '  {"b":[2]}', "\t{}", "", "   ", "\r", '{"c":"x\\ny"}']), max_size=12
)


@given(
    lines=_LINES,
    bad=st.sampled_from([None, "null", "5", ' "s"', "[1]"]),
    at=st.integers(0, 12),
    sizes=st.lists(st.integers(1, 9), min_size=1, max_size=5),
    cap=st.one_of(st.none(), st.integers(1, 8)),
    bom=st.booleans(),
)
def test_object_lines_stream(lines, bad, at, sizes, cap, bom):
    """The stream Arrow reads hands over whole object lines up to the cap, and refuses other lines."""
    if bad is not None:
        lines = [*lines[:at], bad, *lines[at:]]
    data = (b"\xef\xbb\xbf" if bom else b"") + "\n".join(lines).encode() + b"\n"
    stream = _ObjectLines(io.BytesIO(data), cap)
    objects = [i for i, line in enumerate(lines) if line.strip()]
    first_bad = lines.index(bad) if bad is not None else None
    limit = objects[cap - 1] if cap is not None and len(objects) > cap else None
    got = b""
    try:
        for i in range(10_000):
            chunk = stream.read(sizes[i % len(sizes)])
            if not chunk:
                break
            got += chunk
    except _NotObjectLine:
        assert first_bad is not None and (limit is None or first_bad < objects[cap])
        return
    assert first_bad is None or (limit is not None and first_bad > limit)
    handed = [i for i in objects if limit is None or i <= limit]
    assert stream.lines == len(handed)
    assert stream.truncated == (limit is not None)
    # What Arrow got is the file up to the end of the last line handed over (blank lines aside).
    text = got.removeprefix(b"\xef\xbb\xbf").decode()
    assert [line for line in text.split("\n") if line.strip()] == [lines[i] for i in handed]


def test_absent_keys_are_not_nulls_where_objects_are(tmp_path):
    """Through Arrow, an absent object keeps its properties required (MLflow's rule); a null does not."""
    cases = {
        '{"a":{"x":{"x":1}}}\n{"b":"s"}\n': "['a': {x: {x: long (required)} (required)} (optional), 'b': string (optional)]",
        '{"a":{"x":1}}\n{"b":null}\n': "['a': {x: long (required)} (optional), 'b': Any (optional)]",
        '{"a":{"x":1}}\n{"a":null}\n': "['a': {x: long (optional)} (optional)]",
        '{"c":[{"y":{"z":true}},{}]}\n': "['c': Array({y: {z: boolean (required)} (optional)}) (required)]",
    }
    for i, (text, expected) in enumerate(cases.items()):
        path = tmp_path / f"{i}.jsonl"
        path.write_text(text)
        assert repr(infer_files(path).schema) == expected
        assert repr(finalize(_read_json_values(_task(path)))[0]) == expected


_JSON_LEAVES = {
    DataType.long: st.integers(-5, 5),
    DataType.double: st.sampled_from([0.5, 2.0, -1.25]),
    DataType.string: st.sampled_from(["s", "2020-01-01"]),
    DataType.boolean: st.booleans(),
}
_JSON_TYPES = inferable_types(scalars=list(_JSON_LEAVES), keys="xyz")
_JSON_CONFLICT = st.sampled_from([False, False, False, True])  # shrinks to no conflict


def _json_values(dtype: Any, *, nullable: bool = True) -> st.SearchStrategy[Any]:
    """JSON values MLflow infers as ``dtype`` (or as Any)."""
    return inferable_values(dtype, _JSON_LEAVES, st.none(), nullable=nullable)


@st.composite
def _json_records(draw: st.DrawFn) -> list[dict[str, Any]]:
    """1-5 records of one random Object type (optional keys, nulls, nested lists and objects); a
    quarter of them get a value of a conflicting type under a key another record has typed values
    for (a conflict, unless those values are all null, empty or NaN)."""
    conflict = draw(_JSON_CONFLICT)
    record_type = draw(inferable_objects(_JSON_TYPES, keys="abc", required_first=not conflict))
    records = draw(
        st.lists(_json_values(record_type, nullable=False), min_size=2 if conflict else 1, max_size=5)
    )
    if conflict:
        i = draw(st.integers(0, len(records) - 1))
        types = {p.name: p.dtype for p in record_type.properties}
        others = sorted(
            {k for j, r in enumerate(records) if j != i for k in r if not isinstance(types[k], AnyType)}
        )
        if others:  # else every other value is null or empty: nothing to conflict with
            key = draw(st.sampled_from(others))
            other = draw(
                conflicting_types(types[key], list(_JSON_LEAVES), keys="xyz").flatmap(
                    lambda t: _json_values(t, nullable=False)
                )
            )
            records[i] = {**records[i], key: other}
    return records


# The lake's documented error for values of different types under policy strict: every path, one
# line each (sigbatch.infer.finalize), where MLflow's in-memory inference gives one fixed sentence.
_STRICT_CONFLICTS = re.compile(
    r"Values of different types at (\d+) field path\(s\) \(policy strict\):\n"
    r"((?:  '[^\n]*': [a-z]+ in \d+ [^\n]*; [^\n]*\n)+)"
    + re.escape(
        "Hint: use policy 'widen' (Spark's widening: integer < long < float < double, anything else mixed "
        "becomes string) or 'majority' (keep the dominant type; the rest is expected to be quarantined), "
        "or fix the data."
    )
)


def _lake_message(mlflow_message: str, rows: int, ours: str) -> str:
    """What the lake says where MLflow's ``_infer_schema`` says ``mlflow_message`` about ``rows``
    records (``ours`` is the lake's message, to check a conflict list against its template)."""
    if mlflow_message == MULTIPLE_TYPES_ERROR_MSG:
        match = _STRICT_CONFLICTS.fullmatch(ours)
        assert match is not None, ours
        assert int(match.group(1)) == match.group(2).count("\n") >= 1, ours
        return ours
    if mlflow_message == "Creating Schema with empty inputs is not allowed.":
        return f"Nothing to infer a schema from: no field in {rows} rows."
    return mlflow_message


@settings(max_examples=60, deadline=None)
@given(_json_records())
def test_json_lines_match_mlflow(records):
    """A JSON lines file infers MLflow's schema of its records, or refuses them where MLflow does,
    with the lake's form of MLflow's error (a conflict names its paths), on either path."""
    try:
        oracle = ("ok", repr(mlflow.types.utils._infer_schema(records)))
    except MlflowException as exc:
        oracle = ("raise", str(exc))
    event(
        "mlflow accepts" if oracle[0] == "ok" else "mlflow raises"
    )  # see the share accepted with --hypothesis-show-statistics
    with tempfile.TemporaryDirectory() as root:
        path = os.path.join(root, "r.jsonl")
        with open(path, "w") as fh:
            fh.write("".join(json.dumps(r) + "\n" for r in records))
        try:
            ours = ("ok", repr(infer_files(path).schema))
        except InferenceError as exc:
            ours = ("raise", str(exc))
    if oracle[0] == "raise" and ours[0] == "raise":
        oracle = ("raise", _lake_message(oracle[1], len(records), ours[1]))
    assert ours == oracle


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


# --- Parquet -------------------------------------------------------------------------------------------


def test_parquet_footer_is_read_by_position_not_dotted_name(tmp_path):
    """A flat column `a.b` beside a struct `a{b}` gets its own null count from the footer."""
    table = pa.table({"a.b": pa.array(["x", None, None]), "a": pa.array([{"b": 1}, {"b": 2}, {"b": 3}])})
    pq.write_table(table, tmp_path / "p.parquet")
    result = infer_files(tmp_path)
    assert result.schema == Schema(
        [ColSpec("string", "a.b", required=False), ColSpec(Object([Property("b", "long")]), "a")]
    )
    assert result.report.fields[0].nulls == 2 and result.report.samples[0].footer_rows == 3


def test_parquet_repeated_column_names_are_refused(tmp_path):
    """Two Parquet columns of one name: an error naming the file and the column."""
    table = pa.Table.from_arrays([pa.array([1]), pa.array(["a"])], names=["a", "a"])
    pq.write_table(table, tmp_path / "dup.parquet")
    with pytest.raises(InferenceError) as info:
        infer_files(tmp_path)
    assert str(info.value) == (
        "dup.parquet: column 'a' appears 2 times; a signature needs unique column names. "
        "Hint: rename one of them when writing the file."
    )


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


# --- CSV -------------------------------------------------------------------------------------------------


def test_csv_header_is_parsed_as_the_rows_are(tmp_path):
    """A quoted newline in the header is one column name, not a phantom column."""
    (tmp_path / "h.csv").write_text('a,"b\nc"\n1,2\n3,4\n')
    result = infer_files(tmp_path)
    assert result.schema == Schema([ColSpec("long", "a"), ColSpec("long", "b\nc")])
    assert result.report.rows == 2


def test_csv_repeated_header_names_are_refused(tmp_path):
    """A CSV header repeating a name: an error naming the file and the column."""
    (tmp_path / "dup.csv").write_text("a,a,b\n1,x,3\n")
    with pytest.raises(InferenceError, match=r"^dup.csv: column 'a' appears 2 times; a signature needs"):
        infer_files(tmp_path)


@pytest.mark.parametrize("text", ["", "\n\n"])
def test_empty_csv_has_no_fields(tmp_path, text):
    """An empty or blank CSV file has no columns (nothing to infer), not a read error."""
    (tmp_path / "e.csv").write_text(text)
    with pytest.raises(InferenceError, match=r"^Nothing to infer a schema from: no field in 0 rows\.$"):
        infer_files(tmp_path)


def test_csv_impossible_dates_stay_strings(tmp_path):
    """Only real calendar date-times are datetime; `2020-02-30` or `25:61:99` stay strings."""
    real = ["2020-02-29", "2000-02-29", "2020-12-31T23:59:59.5+05:30", "2020-01-01 10:00Z", "0001-01-01"]
    fake = ["2019-02-29", "1900-02-29", "0000-01-01", "2020-01-01T25:61:99", "9999-99-99", "2020-04-31"]
    fake += ["2020-01-01T23:59:60", "2020-01-01 10:00+2400", "2020-01-01T10:60"]
    (tmp_path / "d.csv").write_text("d,r,f\n" + "".join(f"{v},{real[0]},{fake[0]}\n" for v in real + fake))
    result = infer_files(tmp_path, policy="widen")
    assert result.schema == Schema([ColSpec("string", "d"), ColSpec("datetime", "r"), ColSpec("string", "f")])
    assert result.report.field("d").types == (("string", len(fake)), ("datetime", len(real)))


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


@pytest.mark.spark
def test_spark_checks_options_and_raises_executor_errors_as_sigbatchs(unreadable, spark, capsys):
    """Spark checks options first; an executor's InferenceError reaches the caller as itself (one line)."""
    from sigbatch.cli import main
    from sigbatch.spark import infer_schema

    with pytest.raises(ConfigError, match=r"^Unknown policy 'bogus'"):
        infer_schema(unreadable, spark=spark, policy="bogus")
    with pytest.raises(InferenceError) as info:
        infer_schema(unreadable, spark=spark)
    assert type(info.value) is InferenceError
    assert str(info.value) == (
        "b.parquet: cannot read as parquet: Parquet magic bytes not found in footer. "
        "Either the file is corrupted or this is not a parquet file."
    )
    frame = spark.createDataFrame([(decimal.Decimal("1.50"),)], "d decimal(5,2)")
    with pytest.raises(InferenceError) as info:
        infer_schema(frame)
    assert type(info.value) is InferenceError
    assert str(info.value).startswith("Field 'd' has Arrow type decimal128(5, 2), which has no")
    (unreadable / "a.jsonl").write_text('{"a": 1}\n')
    (unreadable / "c.jsonl").write_text('{"a": ' + "[" * 150 + "]" * 150 + "}\n")
    assert main(["infer", str(unreadable), "--engine", "spark", "--format", "json"]) == 2
    assert capsys.readouterr().err == (
        "sigbatch infer: error: c.jsonl: Field 'a" + "[]" * 29 + "…' is nested 101 levels deep; sigbatch "
        "infers at most 100 levels of arrays, objects and maps. Hint: flatten the data, or store the deep "
        "part as a JSON string.\n"
    )


def test_nested_values_from_json_lines_keep_their_types(tmp_path):
    """Sanity: nested JSON values through the checked stream keep MLflow's types."""
    rows = [{"id": i, "tags": ["x"] * (i % 2 + 1), "o": {"k": i}} for i in range(5)]
    (tmp_path / "n.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert infer_files(tmp_path).schema == Schema(
        [
            ColSpec("long", "id"),
            ColSpec(Array("string"), "tags"),
            ColSpec(Object([Property("k", "long")]), "o"),
        ]
    )
