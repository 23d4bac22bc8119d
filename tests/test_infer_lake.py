"""Lake-scale inference: the same lake gives the same signature on every engine, sampled or not."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import re

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sigbatch import Array, ColSpec, ConfigError, InferenceError, Object, Property, Schema
from sigbatch.infer import (
    EMPTY,
    Partial,
    Sample,
    choose_partitions,
    finalize,
    infer_files,
    merge_all,
    plan_files,
)

FILES, ROWS = 8, 240

# What every engine must find: `note` is null in whole files (0-2), `attrs` has key e in even
# files and n in odd ones, `name` has scattered nulls.
EXPECTED = Schema(
    [
        ColSpec("long", "id"),
        ColSpec("string", "name", required=False),
        ColSpec("double", "score"),
        ColSpec("boolean", "flag"),
        ColSpec(Array("string"), "tags"),
        ColSpec(
            Object([Property("d", "string"), Property("e", "string", False), Property("n", "long", False)]),
            "attrs",
        ),
        ColSpec("string", "note", required=False),
    ]
)


def _rows(file: int) -> list[dict]:
    """The rows of one file of the test lake."""
    out = []
    for r in range(ROWS):
        i = file * ROWS + r
        attrs: dict = {"d": f"d{i % 7}"}
        if file % 2 == 0:
            attrs["e"] = f"e{i % 5}"
        else:
            attrs["n"] = i
        out.append(
            {
                "id": i,
                "name": None if i % 11 == 0 else f"user{i}",
                # File 6 writes integral doubles (12.0): its JSON is read value by value, the
                # others through Arrow's JSON reader; both must agree.
                "score": float(i) if file == 6 else i + 0.5,
                "flag": i % 2 == 0,
                "tags": [f"t{j}" for j in range(i % 3)],
                "attrs": attrs,
                "note": None if file < 3 else f"n{i}",
            }
        )
    return out


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    """The same 8-file lake as Parquet and as JSON lines (one gzip-compressed)."""
    root = tmp_path_factory.mktemp("lake")
    (root / "parquet").mkdir()
    (root / "json").mkdir()
    for f in range(FILES):
        rows = _rows(f)
        pq.write_table(
            pa.Table.from_pylist(rows), root / "parquet" / f"part-{f:03d}.parquet", row_group_size=100
        )
        text = "".join(json.dumps(r) + "\n" for r in rows)
        if f == 5:
            with gzip.open(root / "json" / f"part-{f:03d}.json.gz", "wt") as fh:
                fh.write(text)
        else:
            (root / "json" / f"part-{f:03d}.json").write_text(text)
    (root / "json" / "_SUCCESS").write_text("")
    return root


# --- sampling ------------------------------------------------------------------------------------


def test_choice_is_deterministic_and_sized():
    """The same seed picks the same partitions; fraction and max_partitions bound how many."""
    keys = [f"part-{i:03d}" for i in range(40)]
    first = choose_partitions(keys, fraction=0.25, seed=7)
    assert first == choose_partitions(keys, fraction=0.25, seed=7)
    assert len(first) == 10 and first == tuple(sorted(first))
    assert first != choose_partitions(keys, fraction=0.25, seed=8)
    assert len(choose_partitions(keys, fraction=0.25, max_partitions=3, seed=7)) == 3
    assert choose_partitions(keys) == tuple(range(40))
    with pytest.raises(ConfigError, match="fraction must be in"):
        choose_partitions(keys, fraction=0)
    with pytest.raises(ConfigError, match="max_partitions must be at least 1"):
        choose_partitions(keys, max_partitions=0)


def test_plan_lists_data_files_only(lake):
    """Files are listed in order, `_SUCCESS` skipped, compressed JSON lines included."""
    tasks, selection = plan_files(lake / "json", max_partitions=3, seed=1)
    assert selection.partitions == FILES and selection.format == "json"
    assert len(tasks) == 3 and [t.name for t in tasks] == list(selection.chosen)
    with pytest.raises(InferenceError, match="no such file or directory"):
        plan_files(lake / "nope")


def test_a_lake_of_several_formats_names_the_ways_to_choose_one(tmp_path):
    """Mixed formats: the error counts them and names the flag, the config key and the argument."""
    (tmp_path / "a.jsonl").write_text('{"k": 1}\n')
    (tmp_path / "b.csv").write_text("k\n1\n")
    with pytest.raises(InferenceError) as info:
        plan_files(tmp_path)
    assert str(info.value) == (
        f"{tmp_path}: files of several formats (1 csv, 1 json). "
        "Hint: choose one (--format, or source.format in a config; format= in Python)."
    )


def test_samples_are_listed_by_the_numbers_in_their_names():
    """Partitions 2 and 10 are listed in that order, whichever way partials merge."""
    parts = [Partial(rows=1, samples=(Sample(f"partition {i}", 1),)) for i in (10, 2, 1, 0)]
    expected = ["partition 0", "partition 1", "partition 2", "partition 10"]
    assert [s.source for s in merge_all(parts).samples] == expected
    assert [s.source for s in merge_all(parts[::-1]).samples] == expected
    assert [s.source for s in Partial.from_dict(merge_all(parts).to_dict()).samples] == expected
    odd = [Partial(rows=1, samples=(Sample(name, 1),)) for name in ("a10.json", "a1²3.json", "a٣.json")]
    assert [s.source for s in merge_all(odd).samples] == ["a1²3.json", "a10.json", "a٣.json"]


def test_a_strict_conflict_carries_the_report_of_what_was_read(tmp_path):
    """The error of a strict conflict holds the run's report, with the files that were read."""
    (tmp_path / "a.jsonl").write_text('{"k": 1}\n{"k": 2}\n')
    (tmp_path / "b.jsonl").write_text('{"k": "x"}\n')
    with pytest.raises(InferenceError) as info:
        infer_files(tmp_path)
    report = info.value.report
    assert (report.rows, report.policy, report.selection.chosen) == (3, "strict", ("a.jsonl", "b.jsonl"))
    assert [(f.path, f.types) for f in report.fields] == [("k", (("long", 2), ("string", 1)))]
    assert "  b.jsonl: 1 row read\n" in report.text()
    with pytest.raises(InferenceError) as info:  # nothing read: no report
        finalize(EMPTY)
    assert info.value.report is None


def test_a_footer_zero_is_shown_as_zero(tmp_path):
    """Parquet writers store a float minimum of zero as -0.0: the example is 0.0, a value of the data."""
    pq.write_table(pa.table({"w": pa.array([0.0, 499.0, 7.0])}), tmp_path / "p.parquet")
    pq.write_table(pa.table({"w": pa.array(["a"])}), tmp_path / "q.parquet")
    with pytest.raises(
        InferenceError, match=r"'w': double in 3 rows \(e\.g\. 0\.0, 499\.0\); string in 1 row"
    ):
        infer_files(tmp_path)


def test_integers_beyond_long_are_counted_and_cautioned(tmp_path):
    """JSON integers beyond 64 bits are long (MLflow's answer for them), counted per path, and the
    report cautions that the scoring readers make them doubles; digits in text are no integers."""
    (tmp_path / "x.json").write_text(
        '{"a": 1, "o": {"n": [5, 98765432109876543210]}}\n'
        '{"a": 123456789012345678901234, "o": {"n": []}}\n'
        '{"a": -9223372036854775808, "s": "12345678901234567890123"}\n'
    )
    result = infer_files(tmp_path)
    assert str(result.schema) == (
        "['a': long (required), 'o': {n: Array(long) (optional)} (optional), 's': string (optional)]"
    )
    assert result.partial.wide_ints == (("a", 1), ("o.n[]", 1))
    assert result.report.cautions == (
        "a: 1 integer(s) beyond the 64 bits of long, which no Arrow or Spark integer holds: the Dask "
        "scoring job reads them as double, which the signature refuses (profile 'lenient' converts "
        "the column's other values and quarantines these rows)",
        "o.n[]: 1 integer(s) beyond the 64 bits of long, which no Arrow or Spark integer holds: the "
        "Dask scoring job reads them as double, which the signature refuses",
    )
    from sigbatch.dask import infer_schema

    assert infer_schema(tmp_path, scheduler="threads").report.cautions == result.report.cautions


# --- one lake, one signature ---------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["parquet", "json"])
def test_local_full_and_sampled_reads_agree(lake, fmt):
    """A full read and a sample of every file's first rows give the lake's signature."""
    full = infer_files(lake / fmt)
    sampled = infer_files(lake / fmt, rows_per_partition=30, seed=3)
    assert full.schema == sampled.schema == EXPECTED
    assert full.report.rows == FILES * ROWS
    assert {s.source for s in sampled.report.samples} == set(sampled.report.selection.chosen)


def test_parquet_flat_columns_come_from_footers(lake):
    """A full Parquet read answers flat columns from footers for all rows; only nested columns are read."""
    result = infer_files(lake / "parquet")
    sample = result.report.samples[0]
    assert (sample.rows_read, sample.footer_rows, sample.exhausted) == (ROWS, ROWS, True)
    assert result.report.field("name").rows == result.report.field("tags").rows == FILES * ROWS
    flat = pa.table({"x": pa.array([1, None] * 50, pa.int64())})
    pq.write_table(flat, lake / "flat.parquet")
    only_footer = infer_files(lake / "flat.parquet")
    assert only_footer.schema == Schema([ColSpec("long", "x", required=False)])
    assert (only_footer.report.samples[0].rows_read, only_footer.report.samples[0].footer_rows) == (0, 100)
    # With a row cap below the file's rows, the first rows are read for every column.
    capped = infer_files(lake / "flat.parquet", rows_per_partition=5)
    assert capped.schema == only_footer.schema
    assert (capped.report.rows, capped.report.samples[0].rows_read, capped.report.footer_rows) == (5, 5, 0)
    assert capped.report.field("x").nulls == 2


def test_parquet_sampled_rates_count_the_same_rows_in_every_file(tmp_path):
    """With a row cap, every file counts the rows it was sampled for: a nested column in half of the
    files is present in half of the rows, whether a file's other columns had a footer or not."""
    for i in range(4):
        cols = {"k": pa.array(range(1000))}
        if i >= 2:
            cols["o"] = pa.array([{"x": j} for j in range(1000)])
        pq.write_table(pa.table(cols), tmp_path / f"p{i}.parquet")
    report = infer_files(tmp_path, rows_per_partition=10).report
    assert (report.rows, report.rows_read, report.footer_rows) == (40, 40, 0)
    assert [(f.path, f.rows, f.present) for f in report.fields] == [
        ("k", 40, 40),
        ("o", 40, 20),
        ("o.x", 20, 20),
    ]
    full = infer_files(tmp_path).report
    assert [(f.path, f.rows, f.present) for f in full.fields] == [
        ("k", 4_000, 4_000),
        ("o", 4_000, 2_000),
        ("o.x", 2_000, 2_000),
    ]


def _capped_parquet_lake(root):
    """A file of nested columns only, and a pair where ``o.k`` (read) and ``id`` (from the footer)
    are long in one file of 1,000 rows and string in the other of 600."""
    (root / "nested").mkdir(parents=True)
    (root / "pair").mkdir()
    nested = pa.table({"o": [{"k": i} for i in range(1000)], "l": [[i] for i in range(1000)]})
    pq.write_table(nested, root / "nested" / "a.parquet")
    a = pa.table({"id": list(range(1000)), "o": [{"k": i} for i in range(1000)]})
    b = pa.table({"id": [str(i) for i in range(600)], "o": [{"k": str(i)} for i in range(600)]})
    pq.write_table(a, root / "pair" / "a.parquet")
    pq.write_table(b, root / "pair" / "b.parquet")
    return root


def test_parquet_capped_rows_and_rates_count_what_was_read(tmp_path):
    """With a row cap, a Parquet file counts the rows read, for flat and nested columns alike; the
    quarantine bound divides each conflict's minority by the rows of its column."""
    lake = _capped_parquet_lake(tmp_path)
    nested = infer_files(lake / "nested", rows_per_partition=10).report
    assert (nested.rows, nested.rows_read, nested.footer_rows) == (10, 10, 0)
    assert [(f.path, f.rows) for f in nested.fields] == [("o", 10), ("o.k", 10), ("l", 10), ("l[]", 10)]
    assert nested.text().startswith("Inferred from 10 rows (policy strict).\n")

    capped = infer_files(lake / "pair", rows_per_partition=10, policy="majority").report
    assert (capped.rows, capped.rows_read, capped.footer_rows) == (20, 20, 0)
    assert [(c.path, c.minority, c.rows, c.quarantine_rate) for c in capped.conflicts] == [
        ("id", 10, 20, 0.5),
        ("o.k", 10, 20, 0.5),
    ]
    assert capped.expected_quarantine_rate == 1.0
    text = capped.text()
    assert text.startswith("Inferred from 20 rows (policy majority).\n")
    assert "Expected quarantine rate: at most 100.00% of rows.\n" in text

    full = infer_files(lake / "pair", policy="majority").report
    assert (full.rows, full.rows_read, full.footer_rows) == (1_600, 1_600, 1_600)
    assert full.text().startswith(
        "Inferred from 1,600 rows (policy majority): flat columns from Parquet footers (1,600 rows), "
        "the others from 1,600 rows read.\n"
    )
    assert [(c.path, c.minority, c.rows) for c in full.conflicts] == [("id", 600, 1_600), ("o.k", 600, 1_600)]
    assert full.expected_quarantine_rate == 0.75


@pytest.mark.dask
def test_dask_gives_the_same_signature(lake):
    """Dask, over files (one task per file) and over a DataFrame (3 partitions), finds the same signature."""
    import dask
    import dask.dataframe as dd
    import pandas as pd

    from sigbatch.dask import infer_schema

    for fmt in ("parquet", "json"):
        assert infer_schema(lake / fmt, scheduler="threads").schema == EXPECTED
        sampled = infer_schema(lake / fmt, rows_per_partition=30, seed=3, scheduler="threads")
        assert sampled.schema == EXPECTED
        assert sampled.report.selection.chosen == infer_files(lake / fmt, seed=3).report.selection.chosen
    # Dask turns object columns into strings unless told not to; nested values must stay values.
    with dask.config.set({"dataframe.convert-string": False}):
        frame = pd.DataFrame([r for f in range(FILES) for r in _rows(f)])
        ddf = dd.from_pandas(frame, npartitions=3)
        result = infer_schema(ddf, scheduler="threads")
    assert result.schema == EXPECTED
    assert [s.source for s in result.report.samples] == ["partition 0", "partition 1", "partition 2"]


def test_dask_frame_read_from_parquet_with_text_columns(tmp_path):
    """A Dask frame read from pyarrow-written Parquet (text columns of pandas' string dtype, whose
    empty meta Arrow gives as no chunks) is inferred, not a crash of the interpreter."""
    import dask.dataframe as dd

    from sigbatch.dask import infer_schema

    pq.write_table(pa.table({"id": [1, 2, 3], "name": ["a", None, "c"]}), tmp_path / "a.parquet")
    result = infer_schema(dd.read_parquet(tmp_path), scheduler="threads")
    assert str(result.schema) == "['id': long (required), 'name': string (optional)]"


def test_an_empty_nested_object_is_typed_as_mlflow_types_it(tmp_path):
    """A nested ``{}`` is MLflow's Any (the property optional), in a file Arrow reads as in one read
    value by value; an object whose every property is null is read value by value too."""
    import sigbatch

    rows = [{"c": {"p": {}}}, {"c": {"p": {"q": "b"}}}]
    (tmp_path / "a.json").write_text("".join(json.dumps(r) + "\n" for r in rows))
    expected = "['c': {p: {q: string (optional)} (optional)} (required)]"
    assert str(sigbatch.infer_signature(rows).inputs) == expected
    assert str(infer_files(tmp_path).schema) == expected
    rows = [{"c": {"p": {"q": None}}}, {"c": {"p": {"q": "b"}}}]
    (tmp_path / "a.json").write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert str(infer_files(tmp_path).schema) == str(sigbatch.infer_signature(rows).inputs)


@pytest.mark.parametrize(
    "lines",
    [
        ['{"a": 1, "b": null}', '{"b": 2}', '{"a": 3, "b": 4}', '{"b": 5}'],
        ['{"a": 1, "s": "nullable: null"}', '{"s": "x"}'],
        ['{"o": {"p": 1, "q": null}, "l": [{"x": null}, {}]}', '{"o": {"q": 2}, "l": [{"x": 1}, null]}'],
        ['{"caf\\u00e9": null, "k\\"ey": null}', '{"caf\\u00e9": 1}', '{"k\\"ey": 2}', '{"z": 1}'],
        ['{"id": null, "o": {"id": 1}}', '{"o": {"id": null}}', '{"id": 2}'],
    ],
    ids=["absent-and-null", "null-in-text", "nested", "escaped-keys", "one-key-two-places"],
)
def test_json_report_tells_absent_keys_from_nulls(tmp_path, lines):
    """Where the text writes ``null``, the report's presence and null rates still count absent keys
    as absent: a file Arrow reads reports what one read value by value reports."""
    from sigbatch.infer import finalize
    from sigbatch.infer.lake import _read_json, _read_json_values

    (tmp_path / "a.jsonl").write_text("\n".join(lines) + "\n")
    (task,), _ = plan_files(tmp_path)
    fast, exact = finalize(_read_json(task))[1], finalize(_read_json_values(task))[1]
    assert [(f.path, f.rows, f.present, f.nulls) for f in fast.fields] == [
        (f.path, f.rows, f.present, f.nulls) for f in exact.fields
    ]


@pytest.mark.parametrize(
    ("lines", "through_arrow"),
    [
        (['{"o": {"k": 1}}', '{"o": {}}', '{"o": {"k": 2}}'], True),
        (['{"o": {"k": 1}, "z": 1.0}', '{"o": {}, "z": 1.0}', '{"o": {"k": 2}, "z": 1.0}'], False),
        (['{"o": {"k": 1}, "n": null}', '{"o": {}}', '{"o": {"k": 2}}'], False),
    ],
    ids=["arrow", "integral-double", "null-in-text"],
)
def test_json_report_counts_empty_objects_on_both_readers(tmp_path, lines, through_arrow):
    """A {} is an empty object, one of the rows of its object's properties (where they are absent):
    Arrow's reader and the value-by-value one report it alike, and the signature stays MLflow's."""
    import sigbatch
    from sigbatch.infer import finalize
    from sigbatch.infer.lake import _read_json, _read_json_arrow, _read_json_values

    (tmp_path / "a.jsonl").write_text("\n".join(lines) + "\n")
    (task,), _ = plan_files(tmp_path)
    assert (_read_json_arrow(task) is not None) == through_arrow
    (fast_schema, fast), (exact_schema, exact) = finalize(_read_json(task)), finalize(_read_json_values(task))
    rows = [json.loads(line) for line in lines]
    assert fast_schema == exact_schema == sigbatch.infer_signature(rows).inputs
    assert _fields(fast) == _fields(exact)
    assert _fields(fast)[:2] == [
        ("o", 3, 3, 0, (("object", 2),), 1, (("object", 1),)),
        ("o.k", 3, 2, 0, (("long", 2),), 0, ()),
    ]
    text = infer_files(tmp_path).report.text().splitlines()
    assert text[5:7] == [
        "  o                3    100.0%     0.0%  object 2, empty object 1",
        "  o.k              3     66.7%     0.0%  long 2",
    ]


def test_json_report_counts_empty_objects_and_lists_in_lists(tmp_path):
    """An empty list, and an empty object as an element or in a list in an object, read by Arrow's
    reader give the report of the values (and Dask, reading the same file, the same one)."""
    from sigbatch.dask import infer_schema
    from sigbatch.infer import finalize
    from sigbatch.infer.lake import _read_json_arrow, _read_json_values

    lines = [
        '{"l": [{"a": 1}, {}], "o": {"m": [{"b": 1}, {}]}, "n": [[{"c": 1}], [{}], []]}',
        '{"l": [{}], "o": {"m": []}, "n": []}',
        '{"l": [], "o": {"m": [{"b": 2}]}, "n": [[]]}',
    ]
    (tmp_path / "a.jsonl").write_text("\n".join(lines) + "\n")
    (task,), _ = plan_files(tmp_path)
    arrow = _read_json_arrow(task)
    assert arrow is not None
    fast, exact = finalize(arrow)[1], finalize(_read_json_values(task))[1]
    assert (
        _fields(fast)
        == _fields(exact)
        == [
            ("l", 3, 3, 0, (("array", 2),), 1, (("array", 1),)),
            ("l[]", 3, 3, 0, (("object", 1),), 2, (("object", 2),)),
            ("l[].a", 3, 1, 0, (("long", 1),), 0, ()),
            ("o", 3, 3, 0, (("object", 3),), 0, ()),
            ("o.m", 3, 3, 0, (("array", 2),), 1, (("array", 1),)),
            ("o.m[]", 3, 3, 0, (("object", 2),), 1, (("object", 1),)),
            ("o.m[].b", 3, 2, 0, (("long", 2),), 0, ()),
            ("n", 3, 3, 0, (("array", 2),), 1, (("array", 1),)),
            ("n[]", 4, 4, 0, (("array", 2),), 2, (("array", 2),)),
            ("n[][]", 2, 2, 0, (("object", 1),), 1, (("object", 1),)),
            ("n[][].c", 2, 1, 0, (("long", 1),), 0, ()),
        ]
    )
    dask = infer_schema(tmp_path, scheduler="sync").report
    assert _fields(dask) == _fields(infer_files(tmp_path).report) == _fields(fast)


def _fields(report):
    """Each field's (path, rows, present, nulls, types, untyped, empty) in a report."""
    return [(f.path, f.rows, f.present, f.nulls, f.types, f.untyped, f.empty) for f in report.fields]


@pytest.mark.parametrize("cap", [None, 2])
def test_a_bom_alone_on_the_first_line_is_no_row(tmp_path, monkeypatch, cap):
    """A BOM on a line of its own is a blank line for both JSON readers, sampled or not, and the
    written nulls are counted over the same lines (also across the counter's blocks)."""
    from sigbatch.infer import finalize
    from sigbatch.infer import lake as lake_module
    from sigbatch.infer.lake import _read_json, _read_json_values

    monkeypatch.setattr(lake_module, "_BLOCK", 7)  # blocks of a line or two
    (tmp_path / "a.jsonl").write_bytes(
        b'\xef\xbb\xbf\n{"a": 1, "b": null}\n{"a": null, "b": 2}\n{"a": 3, "b": 3}\n'
    )
    (task,), _ = plan_files(tmp_path, rows_per_partition=cap)
    expected = [("a", 3, 1), ("b", 3, 1)] if cap is None else [("a", 2, 1), ("b", 2, 1)]
    for read in (_read_json, _read_json_values):
        report = finalize(read(task))[1]
        assert (report.unreadable, [(f.path, f.present, f.nulls) for f in report.fields]) == (0, expected)


def test_json_report_counts_of_a_file_with_absent_keys_and_nulls(tmp_path):
    """The rates the reviewer's file gives: a key absent from half the rows is 50% present, 0% null."""
    (tmp_path / "a.jsonl").write_text('{"a": 1, "b": null}\n{"b": 2}\n{"a": 3, "b": 4}\n{"b": 5}\n')
    report = infer_files(tmp_path).report
    assert [(f.path, f.presence_rate, f.null_rate) for f in report.fields] == [
        ("a", 0.5, 0.0),
        ("b", 1.0, 0.25),
    ]


def test_a_truncated_or_damaged_gz_file_is_named(tmp_path):
    """A truncated .json.gz and a damaged one are one error naming the file, on local and Dask."""

    from sigbatch.dask import infer_schema

    data = gzip.compress("".join(json.dumps({"x": i, "s": "abc" * 10}) + "\n" for i in range(2000)).encode())
    (tmp_path / "cut").mkdir()
    (tmp_path / "cut" / "a.json.gz").write_bytes(data[: len(data) // 2])
    damaged = bytearray(data)
    damaged[200:260] = bytes(b ^ 0xFF for b in damaged[200:260])
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "a.json.gz").write_bytes(bytes(damaged))
    for lake, says in (("cut", "Compressed file ended"), ("bad", "Error -3 while decompressing")):
        for infer in (infer_files, lambda path: infer_schema(path, scheduler="sync")):
            with pytest.raises(InferenceError, match=rf"^a\.json\.gz: cannot read as json: {says}"):
                infer(tmp_path / lake)


def _compressed(path, text: str, codec: str) -> None:
    """Write ``text`` to ``path``, compressed with Arrow's ``codec`` (zstd, lz4: framed, as their tools write)."""
    with pa.output_stream(path, compression=codec) as out:
        out.write(text.encode())


@pytest.mark.dask
def test_zst_and_lz4_files_are_read_like_gz_on_local_and_dask(tmp_path):
    """.zst and .lz4 JSON lines and CSV files (a suffix in any case) are listed and decompressed as
    .gz ones are, on the local engine and Dask; a lone .json.zst read with format json is its rows."""
    from sigbatch.dask import infer_schema

    (tmp_path / "json").mkdir()
    _compressed(tmp_path / "json" / "d.json.zst", '{"a": 1, "s": "x"}\n{"a": 2, "s": "y"}\n', "zstd")
    _compressed(tmp_path / "json" / "e.JSONL.LZ4", '{"a": 3, "s": null}\n', "lz4")
    (tmp_path / "json" / "f.json").write_text('{"a": 4, "s": "z"}\n')
    (tmp_path / "csv").mkdir()
    _compressed(tmp_path / "csv" / "a.csv.zst", "a,s\n1,x\n2,\n", "zstd")
    _compressed(tmp_path / "csv" / "b.csv.lz4", "a,s\n3.5,y\n", "lz4")
    expected = {
        "json": (
            "['a': long (required), 's': string (optional)]",
            4,
            ["d.json.zst", "e.JSONL.LZ4", "f.json"],
        ),
        "csv": ("['a': double (required), 's': string (optional)]", 3, ["a.csv.zst", "b.csv.lz4"]),
    }
    for fmt, (schema, rows, names) in expected.items():
        for infer in (infer_files, lambda path, **kw: infer_schema(path, scheduler="sync", **kw)):
            result = infer(tmp_path / fmt, policy="widen")
            report = result.report
            assert (str(result.schema), report.rows, report.unreadable) == (schema, rows, 0)
            assert [s.source for s in report.samples] == names
    (tmp_path / "one").mkdir()
    _compressed(tmp_path / "one" / "d.json.zst", '{"a": 1}\n{"a": 2}\n', "zstd")
    for infer in (infer_files, lambda path, **kw: infer_schema(path, scheduler="sync", **kw)):
        result = infer(tmp_path / "one", format="json")
        assert (str(result.schema), result.report.rows, result.report.unreadable) == (
            "['a': long (required)]",
            2,
            0,
        )


def test_a_truncated_or_damaged_zst_or_lz4_file_is_named(tmp_path):
    """A truncated .json.zst, a damaged one, one that is not zstd at all, a damaged .json.lz4 and a
    damaged .csv.zst are one error naming the file, on local and Dask, as a damaged .gz is."""
    from sigbatch.dask import infer_schema

    text = "".join(json.dumps({"x": i, "s": "abc" * 10}) + "\n" for i in range(2000))
    # (file, codec, bytes flipped (None: the second half cut), what the error says); Arrow writes
    # zstd frames without a checksum, so the damage is to a block header, which is always checked
    cases = {
        "cut": ("a.json.zst", "zstd", None, "Truncated compressed stream"),
        "bad": ("a.json.zst", "zstd", (8, 40), "ZSTD decompress failed: Data corruption detected"),
        "plain": ("a.json.zst", None, None, "ZSTD decompress failed: Unknown frame descriptor"),
        "lz4": ("a.json.lz4", "lz4", (200, 260), "LZ4 decompress failed: ERROR_decompressionFailed"),
        "csv": ("a.csv.zst", "zstd", (8, 40), "ZSTD decompress failed: Data corruption detected"),
    }
    for lake, (name, codec, flipped, says) in cases.items():
        (tmp_path / lake).mkdir()
        path = tmp_path / lake / name
        fmt = name.split(".")[1]
        data = text if fmt == "json" else "x,s\n" + "1,abc\n" * 5000
        if codec is None:  # not compressed at all
            path.write_text(data)
        else:
            _compressed(path, data, codec)
            damaged = bytearray(path.read_bytes())
            if flipped is None:
                del damaged[len(damaged) // 2 :]
            else:
                start, stop = flipped
                damaged[start:stop] = bytes(b ^ 0xFF for b in damaged[start:stop])
            path.write_bytes(bytes(damaged))
        for infer in (infer_files, lambda path: infer_schema(path, scheduler="sync")):
            with pytest.raises(InferenceError, match=rf"^{re.escape(name)}: cannot read as {fmt}: {says}$"):
                infer(tmp_path / lake)


@pytest.mark.spark
def test_spark_gives_the_same_signature(lake, spark):
    """Spark, over files (one task per file) and over a DataFrame, finds the same signature."""
    from sigbatch.spark import infer_schema

    assert infer_schema(lake / "parquet", spark=spark).schema == EXPECTED
    sampled = infer_schema(lake / "json", spark=spark, rows_per_partition=30, seed=3)
    assert sampled.schema == EXPECTED
    assert sampled.report.selection.chosen == infer_files(lake / "json", seed=3).report.selection.chosen
    # Spark's own JSON reader types the same lake; its columns come back sorted by name.
    df = spark.read.json(str(lake / "json"))
    result = infer_schema(df)
    assert {c.name: c for c in result.schema} == {c.name: c for c in EXPECTED}
    one = infer_schema(df, max_partitions=1, rows_per_partition=5, seed=1)
    (sample,) = one.report.samples
    assert sample.rows_read == 5 and not sample.exhausted
    assert one.report.selection.partitions == df.rdd.getNumPartitions()


@pytest.mark.dask
def test_capped_parquet_report_same_on_dask(tmp_path):
    """Dask reads the capped Parquet lake into the same report as the local engine."""
    from sigbatch.dask import infer_schema

    lake = _capped_parquet_lake(tmp_path)
    for name in ("nested", "pair"):
        local = infer_files(lake / name, rows_per_partition=10, policy="majority").report.to_dict()
        dask = infer_schema(lake / name, rows_per_partition=10, policy="majority", scheduler="sync")
        assert {**dask.report.to_dict(), "selection": None} == {**local, "selection": None}


@pytest.mark.spark
def test_capped_parquet_report_same_on_spark(tmp_path, spark):
    """Spark reads the capped Parquet lake into the same report as the local engine."""
    from sigbatch.spark import infer_schema

    lake = _capped_parquet_lake(tmp_path)
    for name in ("nested", "pair"):
        local = infer_files(lake / name, rows_per_partition=10, policy="majority").report.to_dict()
        got = infer_schema(lake / name, spark=spark, rows_per_partition=10, policy="majority").report
        assert {**got.to_dict(), "selection": None} == {**local, "selection": None}


# --- what files say when they disagree -----------------------------------------------------------


def test_conflicts_across_files_follow_the_policy(tmp_path):
    """A field typed long in one file and string in another: strict names both, widen gives string."""
    (tmp_path / "a.jsonl").write_text('{"k": 1}\n{"k": 2}\n')
    (tmp_path / "b.jsonl").write_text('{"k": "x"}\nnot json\n[1]\n')
    with pytest.raises(InferenceError, match=r"'k': long in 2 rows \(e.g. 1, 2\); string in 1 row"):
        infer_files(tmp_path)
    widened = infer_files(tmp_path, policy="widen")
    assert widened.schema == Schema([ColSpec("string", "k")])
    assert widened.report.unreadable == 2
    majority = infer_files(tmp_path, policy="majority")
    assert majority.schema == Schema([ColSpec("long", "k")])
    assert majority.report.expected_quarantine_rate == pytest.approx(1 / 3)


def test_names_with_path_punctuation_are_quoted_in_conflicts_and_the_report(tmp_path):
    """A top-level key "a.b" and property b of a are two paths; an empty key is "", not blank."""
    (tmp_path / "a.jsonl").write_text(
        '{"a.b": 1, "a": {"b": "x"}, "": 5}\n{"a.b": "y", "a": {"b": 2}, "": 6}\n'
    )
    with pytest.raises(InferenceError) as info:
        infer_files(tmp_path)
    assert str(info.value).splitlines()[:3] == [
        "Values of different types at 2 field path(s) (policy strict):",
        """  '"a.b"': long in 1 row (e.g. 1); string in 1 row (e.g. "y")""",
        """  'a.b': long in 1 value (e.g. 2); string in 1 value (e.g. "x")""",
    ]
    report = info.value.report
    assert [f.path for f in report.fields] == ['"a.b"', "a", "a.b", '""']
    assert [c.path for c in report.conflicts] == ['"a.b"', "a.b"]
    majority = infer_files(tmp_path, policy="majority")
    assert majority.schema == Schema(
        [ColSpec("long", "a.b"), ColSpec(Object([Property("b", "long")]), "a"), ColSpec("long", "")]
    )


@pytest.mark.dask
def test_unreadable_json_lines_are_located_by_file_and_line(tmp_path):
    """The earliest three unreadable JSON lines are named by file and 1-based line (a BOM and blank
    lines counted as lines, a later file after an earlier one), in the report, its text and the
    error when nothing was readable, the same on the local engine and Dask; a row cap locates only
    lines read."""
    from sigbatch.dask import infer_schema

    (tmp_path / "lake").mkdir()
    (tmp_path / "lake" / "a.jsonl").write_bytes(
        b'\xef\xbb\xbf\n{"a": 1}\n\nnot json\n{"a": 2}\n[1]\n{"a": 3\n{"a": 4}\n'
    )
    (tmp_path / "lake" / "b.jsonl").write_text('{"a": 5}\n7\n')
    _compressed(tmp_path / "lake" / "c.jsonl.zst", '{"a": 6}\n\n{"a": \n', "zstd")
    (tmp_path / "none").mkdir()
    (tmp_path / "none" / "d.jsonl").write_text('\n"text"\n')
    for infer in (infer_files, lambda path, **kw: infer_schema(path, scheduler="sync", **kw)):
        report = infer(tmp_path / "lake").report
        assert (report.rows, report.unreadable) == (5, 5)
        assert report.to_dict()["unreadable_at"] == [
            {"source": "a.jsonl", "line": 4, "origin": 0},
            {"source": "a.jsonl", "line": 6, "origin": 0},
            {"source": "a.jsonl", "line": 7, "origin": 0},
        ]
        assert (
            "Unreadable records skipped: 5 (the first: a.jsonl line 4, a.jsonl line 6, a.jsonl line 7).\n"
            in report.text()
        )
        capped = infer(tmp_path / "lake", rows_per_partition=3).report
        assert (capped.rows, capped.unreadable) == (4, 3)
        assert "Unreadable records skipped: 3 (a.jsonl line 4, b.jsonl line 2, c.jsonl.zst line 3).\n" in (
            capped.text()
        )
        with pytest.raises(
            InferenceError, match=r"no field in 0 rows \(1 unreadable records; d\.jsonl line 2\)\.$"
        ):
            infer(tmp_path / "none")


@pytest.mark.spark
def test_unreadable_json_lines_are_located_on_spark(tmp_path, spark):
    """Spark's executors send the places of unreadable lines to the driver, as the local engine has them."""
    from sigbatch.spark import infer_schema

    (tmp_path / "a.jsonl").write_text('{"a": 1}\nnot json\n')
    (tmp_path / "b.jsonl").write_text('\n[2]\n{"a": 2}\n')
    local = infer_files(tmp_path).report
    got = infer_schema(tmp_path, spark=spark).report
    assert [(u.source, u.line) for u in got.unreadable_at] == [("a.jsonl", 2), ("b.jsonl", 2)]
    assert got.unreadable_at == local.unreadable_at


def test_csv_cells_are_typed_and_malformed_rows_counted(tmp_path):
    """CSV: per-cell types (long, double, boolean, datetime, string); a malformed row is unreadable."""
    (tmp_path / "one.csv").write_text("id,x,ok,when,s\n1,1.5,true,2026-01-01,a\n2,2,false,,b\n3,4,9\n")
    (tmp_path / "two.csv").write_text("id,x,ok,when,s\n4,2.5,TRUE,2026-01-02T10:00:00,\n")
    result = infer_files(tmp_path, policy="widen")
    assert result.schema == Schema(
        [
            ColSpec("long", "id"),
            ColSpec("double", "x"),
            ColSpec("boolean", "ok"),
            ColSpec("datetime", "when", required=False),
            ColSpec("string", "s", required=False),
        ]
    )
    assert result.report.unreadable == 1
    assert [(u.source, u.line) for u in result.report.unreadable_at] == [("one.csv", 4)]
    assert [c.path for c in result.report.conflicts] == ["x"]


@pytest.mark.dask
def test_malformed_csv_rows_are_located_by_the_line_they_start_on(tmp_path):
    """A malformed CSV row is named by the file line it starts on: empty lines (which Arrow does not
    count as rows) and quoted line breaks counted as lines, the same on the local engine and Dask."""
    from sigbatch.dask import infer_schema

    (tmp_path / "a.csv").write_text(
        '\na,b\n1,x\n\n2,"multi\nline",z\n3,y\n\r\n4\n5,"q""\n"\n6,7,8\n', newline=""
    )
    for infer in (infer_files, lambda path: infer_schema(path, scheduler="sync")):
        report = infer(tmp_path).report
        assert (report.rows, report.unreadable) == (3, 3)
        assert [(u.source, u.line) for u in report.unreadable_at] == [
            ("a.csv", 5),
            ("a.csv", 9),
            ("a.csv", 12),
        ]
        assert "Unreadable records skipped: 3 (a.csv line 5, a.csv line 9, a.csv line 12).\n" in report.text()


def test_csv_that_is_not_utf8_is_one_error_naming_its_line(tmp_path, capsys):
    """A Latin-1 CSV file, clean or with a malformed row, is one error naming the file and the line
    of its first byte that is not UTF-8, on the local engine and Dask, with nothing on stderr (pyarrow
    could not hand the malformed row to its handler); the same rows in UTF-8 are read, the malformed
    one skipped, and a character cut by a read of the file is read whole."""
    from sigbatch.dask import infer_schema

    rows = "name,city\nJosé,München,extra\nAnn,Paris\n"
    says = (
        r"^a\.csv: not UTF-8 text: byte 0xE9 on line 2 does not decode .* Hint: re-encode the file as UTF-8"
    )
    for name, text in (("malformed", rows), ("clean", rows.replace(",extra", ""))):
        (tmp_path / name).mkdir()
        (tmp_path / name / "a.csv").write_bytes(text.encode("latin-1"))
        for infer in (infer_files, lambda path: infer_schema(path, scheduler="threads")):
            with pytest.raises(InferenceError, match=says):
                infer(tmp_path / name)
    assert capsys.readouterr().err == ""
    (tmp_path / "utf8").mkdir()
    (tmp_path / "utf8" / "a.csv").write_text(rows, encoding="utf-8")
    result = infer_files(tmp_path / "utf8")
    assert str(result.schema) == "['name': string (required), 'city': string (required)]"
    assert (result.report.rows, result.report.unreadable) == (1, 1)
    # é's first byte is the last of the reader's first block (64 KiB), its second the next block's first
    (tmp_path / "utf8" / "a.csv").write_text(
        "name,city\n" + "x" * 65_524 + ",é\nAnn,Paris\n", encoding="utf-8"
    )
    assert (tmp_path / "utf8" / "a.csv").read_bytes()[65_535:65_537] == "é".encode()
    result = infer_files(tmp_path / "utf8")
    assert (result.report.rows, result.report.unreadable) == (2, 0)


def test_csv_rows_longer_than_a_block_are_read_in_larger_blocks(tmp_path, monkeypatch):
    """A CSV row of 2.5 MB (pyarrow's 1 MiB block cannot hold it), first or after 1.3 MB of short
    rows, is read in larger blocks on the local engine and Dask (what the first try read is not
    counted twice); past the largest block, one error names the file and the limit."""
    from sigbatch.dask import infer_schema
    from sigbatch.infer import lake as lake_module

    long_row = "1," + "z" * 2_500_000 + "\n"
    short_rows = "4,x,malformed\n" + "3,xxxxxxxxxx\n" * 100_000
    for name, text in (("first", long_row), ("later", short_rows + long_row)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "a.csv").write_text("id,body\n" + text + "2,short\n")
    expected = "['id': long (required), 'body': string (required)]"
    for name, rows, unreadable in (("first", 2, 0), ("later", 100_002, 1)):
        for infer in (infer_files, lambda path: infer_schema(path, scheduler="threads")):
            result = infer(tmp_path / name)
            assert (str(result.schema), result.report.rows, result.report.unreadable) == (
                expected,
                rows,
                unreadable,
            )
            # the malformed row, met again by each read in larger blocks, is located once
            assert [u.line for u in result.report.unreadable_at] == [2] * unreadable
    monkeypatch.setattr(lake_module, "_CSV_MAX_BLOCK", 1 << 20)
    for name in ("first", "later"):
        with pytest.raises(
            InferenceError, match=r"^a\.csv: a row is too long to read: .* at most 1 MiB\. Hint: "
        ):
            infer_files(tmp_path / name)


def _empty_csv_lake(root):
    """A header-only CSV file, and one whose column ``a`` has only empty cells."""
    root.mkdir()
    (root / "header.csv").write_text("a,b,c\n")
    (root / "rows.csv").write_text("a,b,c\n,1,x\n,2,y\n")
    return root


def test_csv_line_breaks_in_quoted_values_across_blocks_make_no_rows(tmp_path):
    """A quoted value with line breaks across the reader's 1 MiB blocks is one value: no phantom
    malformed rows, and the one malformed row is located at its line."""
    records = [f'{i},"l1 {i}\nl2\nl3"\n' for i in range(60_000)]
    records.insert(55_000, "1,2,3\n")
    (tmp_path / "a.csv").write_text("a,b\n" + "".join(records))
    report = infer_files(tmp_path).report
    assert (report.rows, report.unreadable) == (60_000, 1)
    assert [u.describe() for u in report.unreadable_at] == ["a.csv line 165002"]
    assert [(f.path, f.types) for f in report.fields] == [
        ("a", (("long", 60_000), ("string", 0))),
        ("b", (("string", 60_000),)),
    ]


def test_csv_row_cap_counts_the_malformed_rows_of_the_sample_only(tmp_path):
    """With a row cap, a malformed row after the last row kept is not part of the sample (Arrow's
    reader had parsed on): it is neither counted nor located, as in JSON lines."""
    (tmp_path / "a.csv").write_text("a,b\n1,2\n3,4,9\n5,6\n7,8\n9,10,11\n")
    found = {}
    for cap in (1, 2, 3, None):
        report = infer_files(tmp_path, rows_per_partition=cap).report
        found[cap] = (report.rows, report.unreadable, [u.line for u in report.unreadable_at])
    assert found == {1: (1, 0, []), 2: (2, 1, [3]), 3: (3, 2, [3, 6]), None: (3, 2, [3, 6])}


def test_csv_columns_without_a_typed_cell_are_strings(tmp_path):
    """A CSV column is text: with no rows, or only empty cells, it is a string (as pandas' read_csv
    gives MLflow for a header-only file, and as the scoring jobs read it), not Any."""
    header_only = tmp_path / "header"
    header_only.mkdir()
    (header_only / "h.csv").write_text("a,b\n")
    assert infer_files(header_only).schema == Schema([ColSpec("string", "a"), ColSpec("string", "b")])
    result = infer_files(_empty_csv_lake(tmp_path / "lake"))
    assert result.schema == Schema(
        [ColSpec("string", "a", required=False), ColSpec("long", "b"), ColSpec("string", "c")]
    )
    assert [(f.path, f.types) for f in result.report.fields] == [
        ("a", (("string", 0),)),
        ("b", (("long", 2), ("string", 0))),
        ("c", (("string", 2),)),
    ]
    # the printed report shows a declared type (count 0) only where no cell was typed
    lines = [line.split() for line in result.report.text().splitlines()]
    printed = {p[0]: p[4:] for p in lines if p and p[0] in ("a", "b", "c")}
    assert printed == {"a": ["string", "0"], "b": ["long", "2"], "c": ["string", "2"]}


def test_csv_empty_columns_same_on_dask(tmp_path):
    """Dask finds the same signature for the CSV lake with empty files and columns."""
    from sigbatch.dask import infer_schema

    lake = _empty_csv_lake(tmp_path / "lake")
    assert infer_schema(lake, scheduler="threads").schema == infer_files(lake).schema


@pytest.mark.spark
def test_csv_empty_columns_same_on_spark(tmp_path, spark):
    """Spark finds the same signature for the CSV lake with empty files and columns."""
    from sigbatch.spark import infer_schema

    lake = _empty_csv_lake(tmp_path / "lake")
    assert infer_schema(lake, spark=spark).schema == infer_files(lake).schema


def test_local_engine_reports_progress_per_file(tmp_path):
    """infer_files calls progress after each file with files read, files to read and rows read;
    the CLI's terminal line redraws in place and ends after the last file."""
    import io

    from sigbatch.infer.config import terminal_progress

    for i in range(3):
        (tmp_path / f"p{i}.jsonl").write_text('{"a": 1}\n' * (i + 1) + "[1]\n")
    calls = []
    infer_files(tmp_path, progress=lambda *a: calls.append(a))
    assert calls == [(1, 3, 2), (2, 3, 5), (3, 3, 9)]
    out = io.StringIO()
    show = terminal_progress(out, every=3600)
    for call in calls:
        show(*call)
    assert out.getvalue() == "\rsigbatch infer: 1/3 files, 2 rows\rsigbatch infer: 3/3 files, 9 rows\n"


def test_a_link_to_nothing_in_the_lake_is_an_error(tmp_path):
    """A dangling link among the data files is named, not skipped (its rows would vanish); one in a
    hidden or underscore directory is ignored like everything there. The Dask job lists the same,
    and ignores a dangling link with another format's suffix, but not one without a suffix (it may
    have been a directory of data)."""
    from sigbatch.dask.io import list_files

    (tmp_path / "a.jsonl").write_text('{"x": 1}\n')
    (tmp_path / "_tmp").mkdir()
    (tmp_path / "_tmp" / "gone.jsonl").symlink_to(tmp_path / "nowhere.jsonl")
    assert infer_files(tmp_path).report.rows == 1
    (tmp_path / "notes.md").symlink_to(tmp_path / "nowhere.md")
    assert list_files(tmp_path, "json") == [str(tmp_path / "a.jsonl")]
    (tmp_path / "notes.md").unlink()
    (tmp_path / "year=2024").symlink_to(tmp_path / "gone_dir")
    with pytest.raises(ConfigError) as err:
        list_files(tmp_path, "json")
    assert str(err.value) == (
        f"{tmp_path / 'year=2024'}: a link to {tmp_path / 'gone_dir'}, which does not exist; fix or remove the link"
    )
    (tmp_path / "year=2024").unlink()
    (tmp_path / "b.jsonl").symlink_to(tmp_path / "missing.jsonl")
    expected = f"{tmp_path / 'b.jsonl'}: a link to {tmp_path / 'missing.jsonl'}, which does not exist; fix or remove the link"
    with pytest.raises(ConfigError) as err:
        infer_files(tmp_path)
    assert str(err.value) == expected
    with pytest.raises(ConfigError) as err:
        list_files(tmp_path, "json")
    assert str(err.value) == expected


def test_files_without_an_extension_are_read_when_the_format_is_given(tmp_path):
    """Spark's part files may have no extension: with format given, they are the lake's files."""
    for i in range(2):
        pq.write_table(pa.table({"x": [i, i + 1]}), tmp_path / f"part-0000{i}")
    result = infer_files(tmp_path, format="parquet")
    assert (result.schema, result.report.rows) == (Schema([ColSpec("long", "x")]), 4)


def test_linked_directories_in_the_lake_are_read(tmp_path):
    """A directory linked into the lake is read like one in it (each real directory once), by
    inference and by the Dask job's listing."""
    from sigbatch.dask.io import list_files

    lake, outside = tmp_path / "lake", tmp_path / "outside"
    lake.mkdir()
    outside.mkdir()
    (lake / "a.jsonl").write_text('{"x": 1}\n')
    (outside / "b.jsonl").write_text('{"x": 2}\n{"x": 3}\n')
    (lake / "more").symlink_to(outside)
    (outside / "loop").symlink_to(lake)  # a cycle: followed once
    (lake / "sub").mkdir()
    (lake / "sub" / "c.jsonl").write_text('{"x": 4}\n')
    (lake / "a_alias").symlink_to(lake / "sub")  # sorts first, but the real directory keeps its files
    assert infer_files(lake).report.rows == 4
    assert list_files(lake, "json") == [
        str(lake / "a.jsonl"),
        str(lake / "more" / "b.jsonl"),
        str(lake / "sub" / "c.jsonl"),
    ]


def test_json_rows_per_partition_stops_reading(tmp_path):
    """Reading a JSON lines file stops after rows_per_partition rows and says so."""
    (tmp_path / "big.jsonl").write_text("".join(f'{{"i": {i}}}\n' for i in range(500)))
    result = infer_files(tmp_path, rows_per_partition=20)
    (sample,) = result.report.samples
    assert (sample.rows_read, sample.exhausted) == (20, False)
    assert result.report.rows == 20


def test_json_arrow_reader_is_used_only_where_faithful(tmp_path):
    """Clean JSON goes through Arrow with the value-by-value schema; an int next to a double does not."""
    from sigbatch.infer import finalize
    from sigbatch.infer.lake import _read_json_arrow, _read_json_values

    path = tmp_path / "a.jsonl"
    path.write_text(
        '{"x": 1.5, "t": "2026-01-01", "o": {"k": [1]}}\n{"x": 2.5, "t": "2026-01-02", "o": {}}\n'
    )
    (task,), _ = plan_files(tmp_path)
    fast = _read_json_arrow(task)
    assert fast is not None
    expected = Schema(
        [
            ColSpec("double", "x"),
            ColSpec("string", "t"),
            ColSpec(Object([Property("k", Array("long"), required=False)]), "o"),
        ]
    )
    assert finalize(fast)[0] == finalize(_read_json_values(task))[0] == expected
    path.write_text('{"x": 1}\n{"x": 2.0}\n')
    assert _read_json_arrow(task) is None
    with pytest.raises(InferenceError, match=r"'x': long in 1 row \(e.g. 1\); double in 1 row \(e.g. 2.0\)"):
        infer_files(tmp_path)


def _nested(depth: int) -> str:
    """A JSON object nested ``depth`` objects deep."""
    return '{"a": ' * depth + "1" + "}" * depth


def test_json_too_deep_for_arrow_is_read_as_a_deep_line_was(tmp_path):
    """A line nested 30,000 levels deep, on one line or over many (pyarrow's reader crashed the
    process on either), is unreadable as a 2,000-deep line is (Python's json gives up); a 150-deep
    line is still refused for its depth; on the local engine and on Dask."""
    from sigbatch.dask import infer_schema

    deep_over_lines = '{"x": 1, "o":\n' + '{"a":\n' * 30_000 + '{"z": 1}' + "}" * 30_001
    cases = [
        ('{"x": 1, "o": ' + _nested(2_000) + "}", 1),
        ('{"x": 1, "o": ' + _nested(30_000) + "}", 1),
        (deep_over_lines, 30_002),
    ]
    for text, unreadable in cases:
        (tmp_path / "a.jsonl").write_text(text + '\n{"x": 2}\n')
        for infer in (infer_files, lambda path: infer_schema(path, scheduler="threads")):
            result = infer(tmp_path)
            assert str(result.schema) == "['x': long (required)]"
            assert (result.report.rows, result.report.unreadable) == (1, unreadable)
    (tmp_path / "a.jsonl").write_text('{"x": 1, "o": ' + _nested(150) + "}\n")
    with pytest.raises(InferenceError, match=r"^a\.jsonl: Field 'o\.a\.a.* is nested 101 levels deep"):
        infer_files(tmp_path)


def test_json_brackets_that_are_not_depth_stay_with_arrow(tmp_path):
    """A line with many brackets but little depth (1,500 short lists; 30,000 brackets in a string,
    escaped quotes among them) is still read by Arrow's reader, to the value-by-value schema."""
    from sigbatch.infer import finalize
    from sigbatch.infer.lake import _read_json_arrow, _read_json_values

    row = {"l": [[i] for i in range(1_500)], "s": '[{\\"' * 15_000}
    (tmp_path / "a.jsonl").write_text(json.dumps(row) + "\n" + json.dumps(row) + "\n")
    (task,), _ = plan_files(tmp_path)
    fast = _read_json_arrow(task)
    assert fast is not None
    expected = "['l': Array(Array(long)) (required), 's': string (required)]"
    assert str(finalize(fast)[0]) == str(finalize(_read_json_values(task))[0]) == expected


def test_a_parquet_lake_scores_with_the_signature_inferred_from_it(tmp_path):
    """Narrow numbers inside records and maps are Python values to a model (ints are long, floats
    double), while lists of them outside maps stay numpy arrays of their own type: inference says
    so, as MLflow does on the frame pandas reads, and every row of the lake is then accepted (the
    lake's signature said integer inside records, and scoring quarantined every row)."""
    from sigbatch import ModelSignature, score_batch

    table = pa.table(
        {
            "s": pa.array(
                [{"a": 1, "f": 1.5}, {"a": 2, "f": None}], pa.struct([("a", pa.int32()), ("f", pa.float32())])
            ),
            "ls": pa.array([[{"a": 1}], []], pa.list_(pa.struct([("a", pa.int16())]))),
            "m": pa.array([[("k", 1)], []], pa.map_(pa.string(), pa.int32())),
            "ml": pa.array([[("k", [1])], [("j", [])]], pa.map_(pa.string(), pa.list_(pa.int32()))),
            "sl": pa.array([{"l": [1]}, {"l": [2, 3]}], pa.struct([("l", pa.list_(pa.int32()))])),
            "l": pa.array([[1], [2]], pa.list_(pa.int32())),
            "i": pa.array([1, 2], pa.int32()),
        }
    )
    lake = tmp_path / "lake"
    lake.mkdir()
    pq.write_table(table, lake / "part-0.parquet")
    schema = infer_files(lake).schema
    assert repr(schema) == (
        "['s': {a: long (required), f: double (optional)} (required), 'ls': Array({a: long (required)}) "
        "(required), 'm': Map(str -> DataType.long) (required), 'ml': Map(str -> Array(long)) (required), "
        "'sl': {l: Array(integer) (required)} (required), 'l': Array(integer) (required), "
        "'i': integer (required)]"
    )
    result = score_batch(pq.read_table(lake), lambda df: [0.0] * len(df), ModelSignature(schema))
    assert (result.scored.num_rows, result.quarantine.num_rows) == (2, 0)


def test_the_report_cautions_where_mlflow_refuses_what_it_inferred(tmp_path):
    """The report cautions where the signature refuses rows of the data it came from, as MLflow's
    enforcement does (a datetime in an object, integers in a list with a null, null map values and
    list elements); the signature stays what it is."""
    lake = tmp_path / "lake"
    lake.mkdir()
    stamp = dt.datetime(2020, 1, 1)
    table = pa.table(
        {
            "o": pa.array([{"t": stamp}, {"t": stamp}], pa.struct([("t", pa.timestamp("us"))])),
            "l": pa.array([[1, None], [3]], pa.list_(pa.int64())),
            "ok": pa.array([[1.5, None], [2.0]], pa.list_(pa.float64())),
        }
    )
    pq.write_table(table, lake / "p.parquet")
    result = infer_files(lake)
    assert repr(result.schema) == (
        "['o': {t: datetime (required)} (required), 'l': Array(long) (required), 'ok': Array(double) (required)]"
    )
    assert result.report.cautions == (
        "o.t: a datetime inside an object or map is refused by MLflow's enforcement: rows holding one "
        "there are quarantined (declare it a string, or keep it in a column)",
        "l[]: 1 element(s) are null; pandas makes a list of integers with a null into floats, which "
        "Array(long) refuses: those rows are quarantined",
    )
    assert result.report.to_dict()["cautions"] == list(result.report.cautions)
    assert "Cautions (rows of this data the signature refuses under profile mlflow, as MLflow does):" in (
        result.report.text()
    )
    from sigbatch import ModelSignature, score_batch

    scored = score_batch(pq.read_table(lake), lambda df: [0.0] * len(df), ModelSignature(result.schema))
    assert scored.quarantine.num_rows == 2  # the cautions are true: both rows hold such a value
    # no caution where no row is refused: a list of datetimes in a record, a datetime that is
    # always null; each of the others names what it refuses
    stamp_list = pa.array([{"t": [stamp]}], pa.struct([("t", pa.list_(pa.timestamp("us")))]))
    never = pa.array([{"t": None, "x": 1}], pa.struct([("t", pa.timestamp("us")), ("x", pa.int32())]))
    nulls = pa.table(
        {
            "sl": stamp_list,
            "sn": never,
            "m": pa.array([[("k", None), ("j", 1)]], pa.map_(pa.string(), pa.int32())),
            "lo": pa.array([[{"b": 1}, None]], pa.list_(pa.struct([("b", pa.int64())]))),
        }
    )
    pq.write_table(nulls, lake / "p.parquet")
    result = infer_files(lake)
    assert result.report.cautions == (
        "m{}: 1 map value(s) are null, which MLflow's enforcement refuses: those rows are quarantined",
        "lo[]: 1 element(s) are null, which MLflow's enforcement refuses in a list of lists, records or "
        "maps: those rows are quarantined",
    )
    scored = score_batch(pq.read_table(lake), lambda df: [0.0] * len(df), ModelSignature(result.schema))
    reasons = [
        (e["path"], e["code"]) for r in scored.quarantine.column("_sigbatch_errors").to_pylist() for e in r
    ]
    assert reasons == [('m["k"]', "NULL_REQUIRED"), ("lo[1]", "NULL_REQUIRED")]
    # a map of values never typed is Map(Any), which takes a null: no caution, no row refused
    pq.write_table(
        pa.table({"m": pa.array([[("a", None)]], pa.map_(pa.string(), pa.null()))}), lake / "p.parquet"
    )
    result = infer_files(lake)
    assert (repr(result.schema), result.report.cautions) == ("['m': Map(str -> Any) (required)]", ())
    scored = score_batch(pq.read_table(lake), lambda df: [0.0] * len(df), ModelSignature(result.schema))
    assert scored.quarantine.num_rows == 0
