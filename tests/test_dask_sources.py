"""The Dask engine reads JSON lines and CSV as Spark's default readers do: PERMISSIVE JSON with
``_corrupt_record``, empty files as no rows, CSV columns as text with only the empty field null."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sigbatch import AnyType, ColSpec, ModelSignature, Schema, SchemaMismatchError
from sigbatch.config import SourceConfig, load_score_config
from sigbatch.dask import run_scoring
from sigbatch.dask.io import CORRUPT_COLUMN, Source, read_piece_table, read_source
from sigbatch.errors import ConfigError
from tests.jobs import IDENTITY, job_config

pytestmark = pytest.mark.dask

GOOD = '{"a": ["x"], "b": "p", "c": {"d": "q"}}\n'
TRUNCATED = '{"a": ["x"], "c": {"d": '
# one good line, then a truncated one, a bare number, an array, a blank line, bad UTF-8, a good one
MIXED = (
    GOOD.encode()
    + f"{TRUNCATED}\n42\n[1, 2]\n   \n".encode()
    + b'{"b": "caf\xc3\xa9 \xff"}\n'
    + b'{"b": "t"}\n'
)


def _read(path: Path, fmt: str, options: dict | None = None, **kwargs) -> Source:
    return read_source(SourceConfig(str(path), None, fmt, options or {}), **kwargs)


def _rows(source: Source) -> list[dict]:
    """Every piece's rows as the job reads them, identity columns included (file names shortened)."""
    rows = []
    for piece in source.pieces:
        for row in read_piece_table(piece, source.schema, source.options).to_pylist():
            row["_sigbatch_file"] = Path(row["_sigbatch_file"]).name
            rows.append(row)
    return rows


def _rows_plain(source: Source) -> list[dict]:
    """Every piece's rows, without identity columns."""
    return [
        r
        for p in source.pieces
        for r in read_piece_table(p, source.schema, source.options, False).to_pylist()
    ]


def _null_row(raw: str, row: int, file: str = "b.jsonl") -> dict:
    return {
        "a": None,
        "b": None,
        "c": None,
        CORRUPT_COLUMN: raw,
        "_sigbatch_file": file,
        "_sigbatch_file_offset": 0,
        "_sigbatch_row": row,
    }


def _good_row(row: int, file: str = "b.jsonl", **values) -> dict:
    base = {"a": None, "b": None, "c": None, CORRUPT_COLUMN: None}
    ids = {"_sigbatch_file": file, "_sigbatch_file_offset": 0, "_sigbatch_row": row}
    return base | values | ids


# --- JSON lines: PERMISSIVE ------------------------------------------------------------------------


def test_corrupt_json_lines_are_rows_of_nulls_with_the_raw_line(tmp_path):
    """Each line that is not a JSON object is one null row holding its text, at its own position."""
    (tmp_path / "a.jsonl").write_text(GOOD)
    (tmp_path / "b.jsonl").write_bytes(MIXED)
    source = _read(tmp_path, "json")
    assert source.schema == pa.schema(
        [
            (CORRUPT_COLUMN, pa.string()),
            ("a", pa.list_(pa.string())),
            ("b", pa.string()),
            ("c", pa.struct([("d", pa.string())])),
        ]
    )
    assert source.rows == 7 and [p.rows for p in source.pieces] == [1, 6]
    assert _rows(source) == [
        _good_row(0, "a.jsonl", a=["x"], b="p", c={"d": "q"}),
        _good_row(0, a=["x"], b="p", c={"d": "q"}),
        _null_row(TRUNCATED, 1),
        _null_row("42", 2),
        _null_row("[1, 2]", 3),
        _null_row('{"b": "caf\u00e9 \ufffd"}', 4),  # bad UTF-8 decoded with replacement
        _good_row(5, b="t"),
    ]
    # the Dask frame (one partition per file) holds the same rows
    frame = source.frame.compute(scheduler="threads")
    assert frame[CORRUPT_COLUMN].isna().tolist() == [True, True, False, False, False, False, True]
    assert frame["_sigbatch_row"].tolist() == [0, 0, 1, 2, 3, 4, 5]


def test_clean_json_has_no_corrupt_record_column(tmp_path):
    """The column exists only when some line was corrupt, as with Spark's schema inference."""
    (tmp_path / "a.jsonl").write_text(GOOD * 2)
    source = _read(tmp_path, "json")
    assert source.schema.names == ["a", "b", "c"]
    assert source.rows == 2


def test_null_lines_and_lines_with_two_objects(tmp_path):
    """A line `null` is a row of nulls, and a corrupt record only where the source has other corrupt
    lines (as Spark reads it); pyarrow never sees such a line (a first line `null` crashed it). A
    line holding two objects is one corrupt record (pyarrow would read it as two rows; Spark reads
    the first object only)."""
    (tmp_path / "only_null").mkdir()
    (tmp_path / "only_null" / "a.jsonl").write_text('null\n{"id": 1, "v": 1.0}\n{"id": 2, "v": 2.0}\n')
    source = _read(tmp_path / "only_null", "json")
    assert source.schema.names == ["id", "v"]  # no _corrupt_record column
    assert [(r["id"], r["v"], r["_sigbatch_row"]) for r in _rows(source)] == [
        (None, None, 0),
        (1, 1.0, 1),
        (2, 2.0, 2),
    ]
    (tmp_path / "mixed").mkdir()
    (tmp_path / "mixed" / "a.jsonl").write_text('null\n{"id": 1, "v": 1.0}\n')
    (tmp_path / "mixed" / "b.jsonl").write_text(
        '{"id": 2, "v": 2.0}{"id": 3, "v": 3.0}\n5\n{"id": 4, "v": 4.0}\n'
    )
    assert [
        (r["_sigbatch_file"], r["_sigbatch_row"], r["id"], r[CORRUPT_COLUMN])
        for r in _rows(_read(tmp_path / "mixed", "json"))
    ] == [
        ("a.jsonl", 0, None, "null"),
        ("a.jsonl", 1, 1, None),
        ("b.jsonl", 0, None, '{"id": 2, "v": 2.0}{"id": 3, "v": 3.0}'),
        ("b.jsonl", 1, None, "5"),
        ("b.jsonl", 2, 4, None),
    ]


def test_json_fields_are_ordered_by_name_as_on_spark(tmp_path):
    """Spark's JSON inference orders the columns and every struct's fields by name, ``_corrupt_record``
    included, whichever file had them first; so does the Dask reader."""
    (tmp_path / "a.jsonl").write_text('{"x": 1, "s": {"b": 1, "a": [{"d": 1, "c": 2}]}}\nnot json\n')
    (tmp_path / "b.jsonl").write_text('{"y": "z", "Z": true}\n')
    source = _read(tmp_path, "json")
    assert source.schema.names == ["Z", CORRUPT_COLUMN, "s", "x", "y"]
    assert str(source.schema.field("s").type) == "struct<a: list<item: struct<c: int64, d: int64>>, b: int64>"
    assert [
        {k: v for k, v in r.items() if k in ("x", "y", "s", CORRUPT_COLUMN, "_sigbatch_row")}
        for r in _rows(source)
    ] == [
        {CORRUPT_COLUMN: None, "s": {"a": [{"c": 2, "d": 1}], "b": 1}, "x": 1, "y": None, "_sigbatch_row": 0},
        {CORRUPT_COLUMN: "not json", "s": None, "x": None, "y": None, "_sigbatch_row": 1},
        {CORRUPT_COLUMN: None, "s": None, "x": None, "y": "z", "_sigbatch_row": 0},
    ]


def test_only_corrupt_lines(tmp_path):
    """A file of corrupt lines only gives the corrupt-record column alone, one row a line."""
    (tmp_path / "a.jsonl").write_text('oops\n"text"\nnull\n')
    source = _read(tmp_path, "json", identity=False)
    assert source.schema == pa.schema([(CORRUPT_COLUMN, pa.string())])
    assert _rows_plain(source) == [
        {CORRUPT_COLUMN: "oops"},
        {CORRUPT_COLUMN: '"text"'},
        {CORRUPT_COLUMN: "null"},
    ]


def test_a_lone_surrogate_is_corrupt_though_python_reads_it(tmp_path):
    """A line with an unpaired surrogate escape (json.loads accepts it, pyarrow does not) is corrupt."""
    lines = ['{"k": 1}', '{"k": 2, "o": {"s": "\\ud800"}}', '{"k": 3, "o": {"s": "\\ud83d\\ude00"}}']
    (tmp_path / "a.jsonl").write_text("\n".join(lines) + "\nnot json\n")
    source = _read(tmp_path, "json", identity=False)
    assert source.schema.names == [CORRUPT_COLUMN, "k", "o"]
    assert _rows_plain(source) == [
        {"k": 1, "o": None, CORRUPT_COLUMN: None},
        {"k": None, "o": None, CORRUPT_COLUMN: lines[1]},
        {"k": 3, "o": {"s": "\U0001f600"}, CORRUPT_COLUMN: None},  # a paired surrogate is one character
        {"k": None, "o": None, CORRUPT_COLUMN: "not json"},
    ]


def test_a_repeated_key_fails_the_read_as_on_spark(tmp_path):
    """Spark refuses a source with a repeated key (COLUMN_ALREADY_EXISTS); so does the Dask reader."""
    (tmp_path / "a.jsonl").write_text('{"k": 1}\n{"k": 1, "k": 2}\nnot json\n')
    with pytest.raises(ConfigError, match=r"a\.jsonl: cannot read it as json: .*specified twice"):
        _read(tmp_path, "json")


# values whose kinds disagree between lines: numbers and text, an object and a number, a list
# mixing numbers and text, a boolean and a number, an object whose property mixes kinds
MIXED_KINDS = (
    '{"a": 1, "b": [1, "x"], "c": {"d": 1}, "e": true, "f": 1.50, "g": 1e20}\n'
    '{"a": "x", "b": [2.5], "c": {"d": "q"}, "e": 1, "f": "s", "g": 7}\n'
    '{"a": [1, 2], "b": null, "c": 5, "e": null, "f": {"k": [1, {"z": null}]}}\n'
    '{"h": {"i": [ 1 , "y" ], "j": "k"}}\n'
    '{"h": {"i": [], "j": 2}}\n'
)
# what Spark's reader gives (spark.read.json, checked by the test below): raw JSON text where kinds mix
MIXED_KINDS_ROWS = [
    {"a": "1", "b": ["1", "x"], "c": '{"d": 1}', "e": "true", "f": "1.50", "g": 1e20, "h": None},
    {"a": "x", "b": ["2.5"], "c": '{"d": "q"}', "e": "1", "f": "s", "g": 7.0, "h": None},
    {"a": "[1, 2]", "b": None, "c": "5", "e": None, "f": '{"k": [1, {"z": null}]}', "g": None, "h": None},
    {"a": None, "b": None, "c": None, "e": None, "f": None, "g": None, "h": {"i": ["1", "y"], "j": "k"}},
    {"a": None, "b": None, "c": None, "e": None, "f": None, "g": None, "h": {"i": [], "j": "2"}},
]


def test_values_of_mixed_kinds_are_their_raw_json_text(tmp_path):
    """A field whose values disagree on their kind between lines is text, each value its raw JSON, as on Spark."""
    (tmp_path / "a.jsonl").write_text(MIXED_KINDS)
    source = _read(tmp_path, "json")
    assert str(source.schema.field("h").type) == "struct<i: list<item: string>, j: string>"
    assert str(source.schema.field("g").type) == "double"
    assert _rows_plain(source) == MIXED_KINDS_ROWS


# files that each agree with themselves but not with each other
FILES_A = '{"n": 1.50, "o": {"p": 1}, "q": 1}\n{"n": 2, "o": {"p": 2}, "q": 2.5}\n'
FILES_B = '{"n": "abc", "o": "flat", "q": 3}\n'
FILES_ROWS = [
    {"n": "1.50", "o": '{"p": 1}', "q": 1.0},
    {"n": "2", "o": '{"p": 2}', "q": 2.5},
    {"n": "abc", "o": "flat", "q": 3.0},
]


def test_files_whose_kinds_disagree_are_unified_as_text(tmp_path):
    """Files whose kinds disagree with each other: text where they disagree, as on Spark."""
    (tmp_path / "a.jsonl").write_text(FILES_A)
    (tmp_path / "b.jsonl").write_text(FILES_B)
    source = _read(tmp_path, "json")
    assert [(f.name, str(f.type)) for f in source.schema] == [
        ("n", "string"),
        ("o", "string"),
        ("q", "double"),
    ]
    assert _rows_plain(source) == FILES_ROWS


def test_mixed_kinds_next_to_corrupt_lines(tmp_path):
    """Corrupt lines stay corrupt records; the good lines' mixed values are text."""
    (tmp_path / "a.jsonl").write_text('oops\n{"c": "x"}\n{"c": {"d": 1}}\n')
    assert _rows_plain(_read(tmp_path, "json")) == [
        {"c": None, CORRUPT_COLUMN: "oops"},
        {"c": "x", CORRUPT_COLUMN: None},
        {"c": '{"d": 1}', CORRUPT_COLUMN: None},
    ]
    # another refusal of pyarrow's still fails the read, and says how the rows were counted
    (tmp_path / "a.jsonl").write_text('oops\n{"k": 1, "k": 2}\n')
    with pytest.raises(
        ConfigError, match=r"specified twice.*without the 1 line\(s\) that are not JSON objects"
    ):
        _read(tmp_path, "json")


def test_mixed_values_keep_their_raw_text_exactly():
    """The raw text is the line's own (spaces, number spelling); escaped keys and strings are read."""
    from sigbatch.json_text import mixed_as_text

    lines = b'{ "a" : 1.0e2 , "b":[ 1 ,"x" ] }\n\n{"\\u0061": "y\\"z", "b": [{"c": [ ]}]}\n'
    assert (
        mixed_as_text(lines, None)
        == b'{"a": "1.0e2", "b": ["1", "x"]}\n{"a": "y\\"z", "b": ["{\\"c\\": [ ]}"]}'
    )
    # nothing mixed, or a line that is not one object: nothing to rewrite
    assert mixed_as_text(b'{"a": 1}\n{"a": 2.5}', None) is None
    assert mixed_as_text(b'{"a": 1}\n{"a": "x"}\n[1]', None) is None


# ISO date and time text: Spark's JSON reader keeps it as text (pyarrow's would make timestamps)
DATES = '{"ts": "2024-01-01T12:00:00", "d": {"at": ["2024-01-01", "2024-01-02T00:00:00Z"]}}\n'
DATES_ROWS = [{"ts": "2024-01-01T12:00:00", "d": {"at": ["2024-01-01", "2024-01-02T00:00:00Z"]}}]


def test_json_dates_stay_text(tmp_path):
    """ISO dates and times in JSON lines are text, at any depth, as Spark reads them."""
    (tmp_path / "a.jsonl").write_text(DATES)
    source = _read(tmp_path, "json")
    assert [(f.name, str(f.type)) for f in source.schema] == [
        ("d", "struct<at: list<item: string>>"),
        ("ts", "string"),
    ]
    assert _rows_plain(source) == DATES_ROWS


# a BOM, a property and list elements never anything but null or empty, keys beyond the BMP
EDGES = '\ufeff{"n": {"z": null, "l": []}, "\U0001f600": 1, "\uff01": 2, "a": 3}\n{"n": {"z": null, "l": []}, "a": 6}\n'
EDGES_ROWS = [
    {"a": 3, "n": {"l": [], "z": None}, "\U0001f600": 1, "\uff01": 2},
    {"a": 6, "n": {"l": [], "z": None}, "\U0001f600": None, "\uff01": None},
]


def test_json_edges_read_as_on_spark(tmp_path):
    """A BOM is skipped, a field only ever null is text (a list only ever empty, a list of text), and
    names sort as Java sorts them (UTF-16 units: U+1F600 before U+FF01)."""
    (tmp_path / "a.jsonl").write_text(EDGES, encoding="utf-8")
    source = _read(tmp_path, "json")
    assert [(f.name, str(f.type)) for f in source.schema] == [
        ("a", "int64"),
        ("n", "struct<l: list<item: string>, z: string>"),
        ("\U0001f600", "int64"),
        ("\uff01", "int64"),
    ]
    assert _rows_plain(source) == EDGES_ROWS


@pytest.mark.spark
def test_mixed_kinds_read_as_spark_reads_them(tmp_path, spark):
    """spark.read.json gives the very rows the Dask reader gives for values of mixed kinds."""
    (tmp_path / "a.jsonl").write_text(MIXED_KINDS)
    rows = [r.asDict(recursive=True) for r in spark.read.json(str(tmp_path / "a.jsonl")).collect()]
    assert rows == MIXED_KINDS_ROWS
    (tmp_path / "files").mkdir()
    (tmp_path / "files" / "a.jsonl").write_text(FILES_A)
    (tmp_path / "files" / "b.jsonl").write_text(FILES_B)
    rows = [r.asDict(recursive=True) for r in spark.read.json(str(tmp_path / "files")).collect()]
    assert sorted(rows, key=lambda r: r["n"]) == FILES_ROWS
    (tmp_path / "dates.jsonl").write_text(DATES)
    assert [
        r.asDict(recursive=True) for r in spark.read.json(str(tmp_path / "dates.jsonl")).collect()
    ] == DATES_ROWS
    (tmp_path / "edges.jsonl").write_text(EDGES, encoding="utf-8")
    edges = spark.read.json(str(tmp_path / "edges.jsonl"))
    assert edges.columns == list(EDGES_ROWS[0])
    assert [r.asDict(recursive=True) for r in edges.collect()] == EDGES_ROWS


def test_a_job_quarantines_text_in_a_number_column_with_lenient(tmp_path):
    """A JSON amount that is a number in some lines and text in others: lenient scores the numbers,
    quarantines the text, and the job does not fail (rows in = scored + quarantined)."""
    lake = tmp_path / "lake"
    lake.mkdir()
    (lake / "a.json").write_text(
        '{"id": 1, "amount": 1.5}\n{"id": 2, "amount": "abc"}\n{"id": 3, "amount": "2"}\n{"id": 4, "amount": [1]}\n'
    )
    sig = ModelSignature(
        Schema([ColSpec("long", "id"), ColSpec("double", "amount")]), Schema([ColSpec("double", "amount")])
    )
    config = job_config(tmp_path, lake, "json", sig, "profile=lenient", "progress=false")
    manifest = run_scoring(config)
    assert (manifest.counts.rows_in, manifest.counts.rows_scored, manifest.counts.rows_quarantined) == (
        4,
        2,
        2,
    )
    assert pq.read_table(tmp_path / "out" / "scored").sort_by("id").to_pylist() == [
        {"id": 1, "amount": 1.5},
        {"id": 3, "amount": 2.0},
    ]
    bad = pq.read_table(tmp_path / "out" / "quarantine").sort_by("id").to_pylist()
    assert [(r["id"], r["amount"], [e["actual"] for e in r["_sigbatch_errors"]]) for r in bad] == [
        (2, "abc", ["str 'abc'"]),
        (4, "[1]", ["str '[1]'"]),
    ]


def test_a_json_line_too_deep_for_arrow_is_quarantined_not_a_crash(tmp_path):
    """A JSON line nested 30,000 levels deep crashed the job (SIGSEGV in pyarrow's JSON reader,
    which recurses per level); now it never reaches that reader and is one PARSE_ERROR row holding
    its text, the other rows scored. The job runs in a child process that must live."""
    deep = '{"x": 9, "d": ' + "[" * 30_000 + "]" * 30_000 + "}"
    lake = tmp_path / "lake"
    lake.mkdir()
    (lake / "a.jsonl").write_text(f'{{"x": 1}}\n{{"x": 2}}\n{deep}\n{{"x": 3}}\n')
    code = """
import sys
from pathlib import Path
from sigbatch import ColSpec, ModelSignature, Schema
from sigbatch.dask import run_scoring
from tests.jobs import job_config
tmp = Path(sys.argv[1])
sig = ModelSignature(Schema([ColSpec("long", "x")]), Schema([ColSpec("long", "x")]))
counts = run_scoring(job_config(tmp, tmp / "lake", "json", sig, "progress=false")).counts
print(counts.rows_in, counts.rows_scored, counts.rows_quarantined)
"""
    root = str(Path(__file__).resolve().parents[1])
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, check=False, cwd=root
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.splitlines()[-1] == "4 3 1"
    assert sorted(pq.read_table(tmp_path / "out" / "scored").column("x").to_pylist()) == [1, 2, 3]
    bad = pq.read_table(tmp_path / "out" / "quarantine").to_pylist()
    assert [
        (r["_sigbatch_row"], r["x"], [e["code"] for e in r["_sigbatch_errors"]], r[CORRUPT_COLUMN] == deep)
        for r in bad
    ] == [(2, None, ["PARSE_ERROR"], True)]


def test_corrupt_lines_in_a_split_count_from_the_split(tmp_path):
    """A file cut by blocksize: corrupt rows keep their index within their split, splits share the schema."""
    lines = [json.dumps({"i": i}) for i in range(6)]
    lines[4] = '{"i": 4'
    text = "\n".join(lines) + "\n"
    (tmp_path / "a.jsonl").write_text(text)
    source = _read(tmp_path, "json", blocksize=len(text) // 2)
    assert [p.byte_range for p in source.pieces] == [(0, 27), (27, 53)]
    assert source.schema.names == [CORRUPT_COLUMN, "i"] and source.rows == 6
    rows = [
        (r["i"], r[CORRUPT_COLUMN], r["_sigbatch_file_offset"], r["_sigbatch_row"]) for r in _rows(source)
    ]
    assert rows == [
        (0, None, 0, 0),
        (1, None, 0, 1),
        (2, None, 0, 2),
        (3, None, 27, 0),
        (None, '{"i": 4', 27, 1),
        (5, None, 27, 2),
    ]
    # an auditor finds the raw line from the file, the split offset and the row index
    with open(tmp_path / "a.jsonl", "rb") as f:
        f.seek(27)
        assert f.read().splitlines()[1].decode() == '{"i": 4'


# --- empty files ---------------------------------------------------------------------------------


def test_damaged_files_are_one_error_naming_them(tmp_path):
    """A truncated .json.gz and a Parquet file with a damaged page (its footer is sound) stop the job
    with one error naming the file, not a traceback from inside a Dask task."""
    import gzip

    sig = ModelSignature(Schema([ColSpec("long", "x")]), Schema([ColSpec("long", "x")]))
    (tmp_path / "gz").mkdir()
    data = gzip.compress("".join(json.dumps({"x": i}) + "\n" for i in range(5000)).encode())
    (tmp_path / "gz" / "a.json.gz").write_bytes(data[: len(data) // 2])
    (tmp_path / "pq").mkdir()
    pq.write_table(pa.table({"x": list(range(1000))}), tmp_path / "pq" / "a.parquet")
    damaged = bytearray((tmp_path / "pq" / "a.parquet").read_bytes())
    damaged[100:300] = b"\xff" * 200
    (tmp_path / "pq" / "a.parquet").write_bytes(bytes(damaged))
    for lake, fmt, says in (
        ("gz", "json", "cannot read it: Truncated compressed stream"),
        ("pq", "parquet", "cannot read it as parquet: Corrupt snappy compressed data"),
    ):
        config = job_config(tmp_path, tmp_path / lake, fmt, sig, "progress=false", output=f"out-{lake}")
        with pytest.raises(ConfigError, match=rf"a\.{'json.gz' if lake == 'gz' else 'parquet'}: {says}"):
            run_scoring(config)


def test_files_whose_footer_cannot_be_read_are_one_error_naming_them(tmp_path, capsys):
    """A file that is not Parquet, a Parquet file cut short and a file that is not ORC stop the job
    while it plans, with one line naming the file and exit status 2, and nothing written."""
    from sigbatch.cli import main

    sig = ModelSignature(Schema([ColSpec("long", "x")]), Schema([ColSpec("long", "x")]))
    for lake in ("text", "short", "orc"):
        (tmp_path / lake).mkdir()
    (tmp_path / "text" / "x.parquet").write_text("not parquet\n")
    pq.write_table(pa.table({"x": list(range(100))}), tmp_path / "whole.parquet")
    (tmp_path / "short" / "x.parquet").write_bytes((tmp_path / "whole.parquet").read_bytes()[:500])
    (tmp_path / "orc" / "x.orc").write_text("not orc\n")
    no_magic = (
        "Parquet magic bytes not found in footer. Either the file is corrupted or this is not a parquet file."
    )
    for lake, fmt, says in (
        ("text", "parquet", f"cannot read it as parquet: {no_magic}"),
        ("short", "parquet", f"cannot read it as parquet: {no_magic}"),
        ("orc", "orc", "cannot read it as orc: Not an ORC file"),
    ):
        config = job_config(tmp_path, tmp_path / lake, fmt, sig, output=f"out-{lake}")
        with pytest.raises(ConfigError) as err:
            run_scoring(config)
        assert str(err.value) == f"{tmp_path / lake / ('x.' + fmt)}: {says}"
        assert not (tmp_path / f"out-{lake}").exists()
    args = ["score", "--set", f"source.path={tmp_path / 'text'}", "--set", f"output.path={tmp_path / 'cli'}"]
    args += ["--set", f"model={IDENTITY}", "--set", f"signature={config.signature}"]  # the last one written
    assert main(args) == 2
    assert capsys.readouterr().err == (
        f"sigbatch score: error: {tmp_path / 'text' / 'x.parquet'}: cannot read it as parquet: {no_magic}\n"
    )


def test_a_piece_of_null_lines_only_counts_its_rows(tmp_path):
    """A file (or a blocksize split) whose lines are all `null` holds that many rows of nulls; the
    job's accounting failed on it (its planning pass counted a table of no columns as no rows)."""
    (tmp_path / "a.jsonl").write_text('{"x": 1.0}\n')
    (tmp_path / "b.jsonl").write_text("null\nnull\n")
    source = _read(tmp_path, "json")
    assert source.rows == 3 and [p.rows for p in source.pieces] == [1, 2]
    assert _rows_plain(source) == [{"x": 1.0}, {"x": None}, {"x": None}]


def test_compression_suffixes_in_any_case(tmp_path):
    """A.JSONL.GZ is decompressed as a.jsonl.gz is (its bytes were read as text, its rows lost)."""
    import gzip

    (tmp_path / "A.JSONL.GZ").write_bytes(gzip.compress(b'{"x": 1}\n{"x": 2}\n'))
    assert _rows_plain(_read(tmp_path, "json")) == [{"x": 1}, {"x": 2}]


def test_categorical_parquet_columns_are_read_as_their_values(tmp_path):
    """A pandas categorical written to Parquet (dictionary<string>) is read as strings, as Spark and
    the inference read it (the job refused it: dictionary values never convert to string)."""
    pd.DataFrame({"id": [1, 2, 3], "cat": pd.Categorical(["a", "b", "a"])}).to_parquet(tmp_path / "a.parquet")
    source = _read(tmp_path, "parquet")
    assert str(source.schema.field("cat").type) == "string"
    assert _rows_plain(source) == [{"id": 1, "cat": "a"}, {"id": 2, "cat": "b"}, {"id": 3, "cat": "a"}]


def test_a_json_line_longer_than_pyarrows_block_is_read(tmp_path):
    """A line of 3 MiB (pyarrow reads 1 MiB blocks by default) is one row, as on Spark."""
    (tmp_path / "a.jsonl").write_text(json.dumps({"s": "x" * (3 << 20)}) + "\n" + '{"s": "y"}\n')
    assert [len(r["s"]) for r in _rows_plain(_read(tmp_path, "json"))] == [3 << 20, 1]


def test_csv_reader_options_as_spark_takes_them(tmp_path):
    """delimiter "\\t" (as Spark spells a tab) reads a TSV; a delimiter of two characters or a
    null_values that is not text is one ConfigError naming the option."""
    (tmp_path / "a.csv").write_text("id\tx\n1\t1.5\n")
    assert _rows_plain(_read(tmp_path, "csv", {"delimiter": "\\t"})) == [{"id": "1", "x": "1.5"}]
    with pytest.raises(ConfigError, match=r"^source.options: delimiter must be one character"):
        _read(tmp_path, "csv", {"delimiter": ";;"})
    with pytest.raises(
        ConfigError, match=r"^source.options: null_values must be a text or a list of texts, got 5$"
    ):
        _read(tmp_path, "csv", {"null_values": 5})


def test_csv_inferred_types_follow_spark(tmp_path):
    """With inferSchema, 1 and 0 are numbers (ints, as Spark tries int before long) and only true/false
    booleans; a time of day stays text."""
    (tmp_path / "a.csv").write_text("flag,ok,at\n1,true,10:00:00\n0,FALSE,11:30:00\n")
    source = _read(tmp_path, "csv", {"inferSchema": True})
    assert [(f.name, str(f.type)) for f in source.schema] == [
        ("flag", "int32"),
        ("ok", "bool"),
        ("at", "string"),
    ]
    assert _rows_plain(source) == [
        {"flag": 1, "ok": True, "at": "10:00:00"},
        {"flag": 0, "ok": False, "at": "11:30:00"},
    ]


def test_csv_inferred_doubles_that_spark_reads_otherwise(tmp_path):
    """Integers beyond a long are decimals of their digits (pyarrow made lossy doubles), and a column
    holding NaN is text, as Spark infers them; other doubles stay doubles."""
    (tmp_path / "a.csv").write_text("big,r,n\n9223372036854775808,1.5,NaN\n12,2,1.0\n")
    source = _read(tmp_path, "csv", {"inferSchema": True})
    assert [(f.name, str(f.type)) for f in source.schema] == [
        ("big", "decimal128(19, 0)"),
        ("r", "double"),
        ("n", "string"),
    ]
    assert [r["big"] for r in _rows_plain(source)] == [Decimal("9223372036854775808"), Decimal("12")]


def test_parquet_files_whose_values_do_not_convert_are_one_error(tmp_path):
    """A column that is double in one file and int64 beyond 2**53 in another: one error naming the
    file and column, not pyarrow's traceback from inside a task."""
    pq.write_table(pa.table({"y": [1.5]}), tmp_path / "a.parquet")
    pq.write_table(pa.table({"y": pa.array([2**60 + 1], pa.int64())}), tmp_path / "b.parquet")
    source = _read(tmp_path, "parquet")
    with pytest.raises(
        ConfigError, match=r"b\.parquet: column 'y' is int64 here and double in the source's schema"
    ):
        _rows_plain(source)


def test_a_column_nested_too_deeply_is_refused_before_any_work(tmp_path):
    """A JSON field nested 150 levels deep (pyarrow cannot read such a column back from Parquet) is
    one error naming it when the job plans its source, as inference refuses it."""
    deep = '{"a": ' * 150 + "1" + "}" * 150
    (tmp_path / "a.jsonl").write_text('{"x": 0.5}\n{"x": 1.0, "deep": ' + deep + "}\n")
    with pytest.raises(
        ConfigError,
        match=r"^source columns nested deeper than 100 levels of arrays and objects: 'deep' \(150 levels\)",
    ):
        _read(tmp_path, "json")


def test_empty_json_file_adds_no_rows(tmp_path):
    """A 0-byte (or blank) JSON-lines file among others contributes no rows and no columns."""
    (tmp_path / "a.jsonl").write_text("")
    (tmp_path / "b.jsonl").write_text('{"k": 1}\n')
    (tmp_path / "c.jsonl").write_text("\n  \n")
    source = _read(tmp_path, "json")
    assert source.schema.names == ["k"]
    assert [p.rows for p in source.pieces] == [0, 1, 0]
    assert [(r["k"], r["_sigbatch_file"]) for r in _rows(source)] == [(1, "b.jsonl")]
    assert len(source.frame.compute(scheduler="threads")) == 1


def test_only_empty_json_files(tmp_path):
    """A source of empty files has no rows and no columns (as Spark's schema of an empty read)."""
    (tmp_path / "a.jsonl").write_text("")
    source = _read(tmp_path / "a.jsonl", "json", identity=False)
    assert (source.rows, source.schema.names, _rows_plain(source)) == (0, [], [])


def _multiline_csv(path: Path, rows: int, bad_at: int) -> None:
    """A CSV of ``rows`` records whose second field spans three lines, over 1 MiB (Arrow's reader
    reads in blocks of 1 MiB), with one record of three fields before record ``bad_at``."""
    records = [f'{i},"l1 {i}\nl2\nl3"\n' for i in range(rows)]
    records.insert(bad_at, "1,2,3\n")
    path.write_text("a,b\n" + "".join(records))
    assert path.stat().st_size > 1 << 20


def test_csv_line_breaks_in_quoted_values_across_blocks_make_no_rows(tmp_path):
    """A quoted value's line breaks are no record ends, also where Arrow's block ends in one: the
    file's records are read, and no piece of a value becomes a row of its own."""
    _multiline_csv(tmp_path / "a.csv", 60_000, 55_000)
    rows = _rows(_read(tmp_path, "csv"))
    assert len(rows) == 60_001
    corrupt = [i for i, r in enumerate(rows) if r[CORRUPT_COLUMN] is not None]
    assert corrupt == [55_000] and rows[55_000][CORRUPT_COLUMN] == "1,2,3"
    assert rows[55_001]["b"] == "l1 55000\nl2\nl3" and rows[-1]["a"] == "59999"


def test_empty_and_header_only_csv_files_add_no_rows(tmp_path):
    """A 0-byte CSV file and one holding only its header contribute no rows."""
    (tmp_path / "a.csv").write_text("")
    (tmp_path / "b.csv").write_text("id,zip\n")
    (tmp_path / "c.csv").write_text("id,zip\n7,02134\n")
    source = _read(tmp_path, "csv", identity=False)
    assert source.schema == pa.schema([("id", pa.string()), ("zip", pa.string())])
    assert [p.rows for p in source.pieces] == [0, 0, 1]
    assert _rows_plain(source) == [{"id": "7", "zip": "02134"}]
    # header only, with inference: no values to type, the column is a nullable string
    (tmp_path / "c.csv").unlink()
    assert _read(tmp_path, "csv", {"inferSchema": True}).schema == pa.schema(
        [("id", pa.string()), ("zip", pa.string())]
    )


# --- CSV: text columns, only the empty field null -------------------------------------------------

CSV_TEXT = 'id,zip,price,name\n1,02134,n/a,NA\n2,,3.5,null\n3,10001,-,NaN\n4,"",,""\n'


def test_csv_columns_are_text_and_only_empty_fields_are_null(tmp_path):
    """As Spark: "02134" keeps its zero, "n/a", "NA", "null", "NaN", "-" are values; empty fields are null."""
    (tmp_path / "a.csv").write_text(CSV_TEXT)
    (tmp_path / "b.csv").write_text("id,zip,price,name\n5,00501,1e3,x\n")
    source = _read(tmp_path, "csv", identity=False)
    assert source.schema == pa.schema([(n, pa.string()) for n in ("id", "zip", "price", "name")])
    assert _rows_plain(source) == [
        {"id": "1", "zip": "02134", "price": "n/a", "name": "NA"},
        {"id": "2", "zip": None, "price": "3.5", "name": "null"},
        {"id": "3", "zip": "10001", "price": "-", "name": "NaN"},
        {"id": "4", "zip": None, "price": None, "name": None},
        {"id": "5", "zip": "00501", "price": "1e3", "name": "x"},
    ]


def test_csv_infer_schema_types_the_columns(tmp_path):
    """inferSchema: true (YAML boolean or Spark's "true") types the columns; "n/a" keeps price text."""
    (tmp_path / "a.csv").write_text(CSV_TEXT)
    for flag in (True, "true", "TRUE"):
        source = _read(tmp_path, "csv", {"inferSchema": flag}, identity=False)
        assert source.schema == pa.schema(
            [("id", pa.int32()), ("zip", pa.int32()), ("price", pa.string()), ("name", pa.string())]
        )
    assert _rows_plain(source)[:2] == [
        {"id": 1, "zip": 2134, "price": "n/a", "name": "NA"},
        {"id": 2, "zip": None, "price": "3.5", "name": "null"},
    ]
    assert _read(tmp_path, "csv", {"inferSchema": "false"}).schema.field("id").type == pa.string()
    with pytest.raises(ConfigError, match=r"source.options.inferSchema: expected true or false, got 'yes'"):
        _read(tmp_path, "csv", {"inferSchema": "yes"})


def test_csv_files_whose_inferred_types_disagree_are_text_there(tmp_path):
    """With inferSchema, a column that is a number in one file and text in another is text, as on Spark."""
    (tmp_path / "a.csv").write_text("id,x,t\n1,5,2026-01-01\n")
    (tmp_path / "b.csv").write_text("id,x,t\n2,abc,hello\n")
    source = _read(tmp_path, "csv", {"inferSchema": True})
    assert [(f.name, str(f.type)) for f in source.schema] == [
        ("id", "int32"),
        ("x", "string"),
        ("t", "string"),
    ]
    assert _rows_plain(source) == [
        {"id": 1, "x": "5", "t": "2026-01-01"},
        {"id": 2, "x": "abc", "t": "hello"},
    ]


def test_csv_null_values_option_overrides(tmp_path):
    """null_values replaces the default: the listed spellings are null, an empty field is then text."""
    (tmp_path / "a.csv").write_text(CSV_TEXT)
    source = _read(tmp_path, "csv", {"null_values": ["n/a", "-"]}, identity=False)
    assert [r["price"] for r in _rows_plain(source)] == [None, "3.5", None, ""]
    source = _read(tmp_path, "csv", {"null_values": "NA"}, identity=False)
    assert [r["name"] for r in _rows_plain(source)] == [None, "null", "NaN", ""]


def test_csv_header_false_as_text(tmp_path):
    """header: "false" (Spark's spelling) reads the first line as a row, not as names."""
    (tmp_path / "a.csv").write_text("1,02134\n2,x\n")
    source = _read(tmp_path, "csv", {"header": "false"}, identity=False)
    assert _rows_plain(source) == [{"f0": "1", "f1": "02134"}, {"f0": "2", "f1": "x"}]


# --- the job over a CSV source ---------------------------------------------------------------------


def zip_model(frame: pd.DataFrame) -> pd.Series:
    """Score = the zip code's leading digit plus the id (an integer model input)."""
    return (frame["zip"].str[0].astype("int64") + frame["id"]).astype("float64").rename("score")


def _csv_job(tmp_path: Path, name: str, *extra: str):
    lake = tmp_path / "lake"
    if not lake.exists():
        lake.mkdir()
        (lake / "a.csv").write_text("id,zip,price\n1,02134,1.5\n2,10001,n/a\n")
        (lake / "b.csv").write_text("id,zip,price\n3,00501,2\n")
    sig = ModelSignature(
        Schema([ColSpec("long", "id"), ColSpec("string", "zip"), ColSpec("double", "price")]),
        Schema([ColSpec("double", "score")]),
    )
    config = job_config(
        tmp_path,
        lake,
        "csv",
        sig,
        "progress=false",
        *extra,
        model="python:tests.test_dask_sources:zip_model",
        output=name,
    )
    return run_scoring(config), tmp_path / name


def test_csv_job_keeps_zip_codes_and_quarantines_what_spark_quarantines(tmp_path):
    """Zip codes stay text; lenient converts "1" and "1.5"; price "n/a" is quarantined, not nulled."""
    with pytest.raises(SchemaMismatchError, match=r"Hint: id, price hold values looser"):
        _csv_job(tmp_path, "mlflow")
    manifest, out = _csv_job(tmp_path, "lenient", "profile=lenient")
    assert (manifest.counts.rows_in, manifest.counts.rows_quarantined) == (3, 1)
    scored = pq.read_table(out / "scored").sort_by("id").to_pylist()
    assert [(r["id"], r["zip"], r["score"]) for r in scored] == [("1", "02134", 1.0), ("3", "00501", 3.0)]
    (bad,) = pq.read_table(out / "quarantine").to_pylist()
    assert (bad["price"], [e["code"] for e in bad["_sigbatch_errors"]]) == ("n/a", ["TYPE_MISMATCH"])


# --- CSV: records with the wrong number of fields ---------------------------------------------------

# a short record, a long one (its quoted field holds the delimiter), good records between them
RAGGED = 'id,name\n1,a\n2\n3,"c, d",extra\n4,"e, f"\n'


def test_ragged_csv_records_are_corrupt_rows_at_their_positions(tmp_path):
    """A record with too few or too many fields keeps its first fields and its text in _corrupt_record,
    at its own position; the column comes last, clean files get it null."""
    (tmp_path / "a.csv").write_text(RAGGED)
    (tmp_path / "b.csv").write_text("id,name\n5,g\n")
    source = _read(tmp_path, "csv")
    assert source.schema == pa.schema(
        [("id", pa.string()), ("name", pa.string()), (CORRUPT_COLUMN, pa.string())]
    )
    assert source.rows == 5 and [p.rows for p in source.pieces] == [4, 1]
    assert [{k: v for k, v in r.items() if k != "_sigbatch_file_offset"} for r in _rows(source)] == [
        {"id": "1", "name": "a", CORRUPT_COLUMN: None, "_sigbatch_file": "a.csv", "_sigbatch_row": 0},
        {"id": "2", "name": None, CORRUPT_COLUMN: "2", "_sigbatch_file": "a.csv", "_sigbatch_row": 1},
        {
            "id": "3",
            "name": "c, d",
            CORRUPT_COLUMN: '3,"c, d",extra',
            "_sigbatch_file": "a.csv",
            "_sigbatch_row": 2,
        },
        {"id": "4", "name": "e, f", CORRUPT_COLUMN: None, "_sigbatch_file": "a.csv", "_sigbatch_row": 3},
        {"id": "5", "name": "g", CORRUPT_COLUMN: None, "_sigbatch_file": "b.csv", "_sigbatch_row": 0},
    ]
    frame = source.frame.compute(scheduler="threads")
    assert frame["_sigbatch_row"].tolist() == [0, 1, 2, 3, 0]


def test_clean_csv_has_no_corrupt_record_column(tmp_path):
    """Without a ragged record the CSV schema is the header's, as before."""
    (tmp_path / "a.csv").write_text('id,name\n1,a\n2,"b\nc"\n')
    assert _read(tmp_path, "csv").schema.names == ["id", "name"]


def test_ragged_csv_positions_count_records_with_quoted_newlines(tmp_path):
    """A quoted field spanning lines is one record, so a ragged record after it keeps its record index;
    without a header the first record is row 0, and an empty field of a ragged record is null."""
    (tmp_path / "a.csv").write_text('1,"x\ny"\n2,,z\n3,w\n')
    source = _read(tmp_path, "csv", {"header": False}, identity=False)
    assert _rows_plain(source) == [
        {"f0": "1", "f1": "x\ny", CORRUPT_COLUMN: None},
        {"f0": "2", "f1": None, CORRUPT_COLUMN: "2,,z"},
        {"f0": "3", "f1": "w", CORRUPT_COLUMN: None},
    ]


def test_ragged_csv_with_infer_schema_types_the_fields_it_can(tmp_path):
    """With inferSchema the first fields of a ragged record take the column types; one that does not
    convert is null (the record is quarantined either way)."""
    (tmp_path / "a.csv").write_text("id,n\n1,2\nx,3,4\n5\n")
    source = _read(tmp_path, "csv", {"inferSchema": True}, identity=False)
    assert source.schema == pa.schema([("id", pa.int32()), ("n", pa.int32()), (CORRUPT_COLUMN, pa.string())])
    assert _rows_plain(source) == [
        {"id": 1, "n": 2, CORRUPT_COLUMN: None},
        {"id": None, "n": 3, CORRUPT_COLUMN: "x,3,4"},
        {"id": 5, "n": None, CORRUPT_COLUMN: "5"},
    ]


def test_only_ragged_csv_records(tmp_path):
    """A file whose every record is ragged still reads, one corrupt row a record."""
    (tmp_path / "a.csv").write_text("id,name\n1\n2,b,c\n")
    source = _read(tmp_path, "csv", identity=False)
    assert _rows_plain(source) == [
        {"id": "1", "name": None, CORRUPT_COLUMN: "1"},
        {"id": "2", "name": "b", CORRUPT_COLUMN: "2,b,c"},
    ]


def _ids_job(tmp_path: Path, lake: Path, fmt: str, name: str):
    """Score ``lake`` with the identity model on id (string) and name; the manifest and both outputs."""
    sig_file = tmp_path / "ids.json"
    sig_file.write_text(
        json.dumps(
            ModelSignature(
                Schema([ColSpec("string", "id"), ColSpec("string", "name", required=False)]),
                Schema([ColSpec("string", "id")]),
            ).to_dict()
        )
    )
    out = tmp_path / name
    config = load_score_config(
        None,
        [
            f"source.path={lake}",
            f"source.format={fmt}",
            "model=python:sigbatch.examples.models:identity",
            f"signature={sig_file}",
            f"output.path={out}",
            "progress=false",
        ],
    )
    return run_scoring(config), pq.read_table(out / "scored"), pq.read_table(out / "quarantine")


def test_ragged_csv_job_quarantines_parse_errors_and_scores_the_rest(tmp_path):
    """The job does not fail on ragged records: each is one PARSE_ERROR with its text and position;
    the scored output has no _corrupt_record column."""
    lake = tmp_path / "lake"
    lake.mkdir()
    (lake / "a.csv").write_text(RAGGED)
    manifest, scored, quarantine = _ids_job(tmp_path, lake, "csv", "out")
    counts = manifest.counts
    assert (counts.rows_in, counts.rows_scored, counts.rows_quarantined) == (4, 2, 2)
    assert counts.quarantined_by_code == {"PARSE_ERROR": 2}
    assert scored.column_names == [
        "id",
        "name",
    ]  # the prediction "id" replaces the source column, in its place
    assert sorted(scored.column("id").to_pylist()) == ["1", "4"]
    bad = sorted(quarantine.to_pylist(), key=lambda r: r["_sigbatch_row"])
    assert [
        (
            r["id"],
            r["name"],
            r[CORRUPT_COLUMN],
            r["_sigbatch_row"],
            [e["code"] for e in r["_sigbatch_errors"]],
        )
        for r in bad
    ] == [
        ("2", None, "2", 1, ["PARSE_ERROR"]),
        ("3", "c, d", '3,"c, d",extra', 2, ["PARSE_ERROR"]),
    ]


def test_scored_output_has_no_corrupt_record_column(tmp_path):
    """A clean CSV and a JSON source with a corrupt line both score to outputs without _corrupt_record;
    the JSON quarantine keeps it with the line's text."""
    (tmp_path / "csv").mkdir()
    (tmp_path / "csv" / "a.csv").write_text("id,name\n1,a\n2,b\n")
    manifest, scored, quarantine = _ids_job(tmp_path, tmp_path / "csv", "csv", "out-csv")
    assert (manifest.counts.rows_scored, manifest.counts.rows_quarantined) == (2, 0)
    assert scored.column_names == [
        "id",
        "name",
    ]  # the prediction "id" replaces the source column, in its place
    (tmp_path / "json").mkdir()
    (tmp_path / "json" / "a.jsonl").write_text('{"id": "1", "name": "a"}\n{"id": "2", "name": \n')
    manifest, scored, quarantine = _ids_job(tmp_path, tmp_path / "json", "json", "out-json")
    assert (manifest.counts.rows_scored, manifest.counts.rows_quarantined) == (1, 1)
    assert scored.column_names == [
        "id",
        "name",
    ]  # the prediction "id" replaces the source column, in its place
    assert quarantine.column(CORRUPT_COLUMN).to_pylist() == ['{"id": "2", "name": ']


def test_a_json_field_only_ever_empty_is_its_text_and_the_job_writes_it(tmp_path):
    """A field that is {} in every line (Any to inference) is read as its JSON text, '{}', also
    inside an object or a list; Parquet cannot store a struct without fields, so the job died
    writing its outputs with pyarrow's ArrowNotImplementedError."""
    lake = tmp_path / "lake"
    lake.mkdir()
    (lake / "a.jsonl").write_text(
        '{"o": {}, "p": {"q": {}}, "l": [{}], "a": 1}\n{"o": {}, "p": {"q": {}}, "l": [], "a": 2}\n'
    )
    source = _read(lake, "json")
    assert (
        str(source.schema)
        == "a: int64\nl: list<item: string>\n  child 0, item: string\no: string\np: struct<q: string>\n  child 0, q: string"
    )
    assert _rows_plain(source) == [
        {"a": 1, "l": ["{}"], "o": "{}", "p": {"q": "{}"}},
        {"a": 2, "l": [], "o": "{}", "p": {"q": "{}"}},
    ]
    sig = ModelSignature(
        Schema([ColSpec(AnyType(), "o"), ColSpec("long", "a")]), Schema([ColSpec("long", "a")])
    )
    manifest = run_scoring(job_config(tmp_path, lake, "json", sig))
    assert (manifest.counts.rows_scored, manifest.counts.rows_quarantined) == (2, 0)
    assert pq.read_table(tmp_path / "out" / "scored").column("o").to_pylist() == ["{}", "{}"]
