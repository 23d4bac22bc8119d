"""The quarantine audit: counts equal the injected faults, engines agree, values are safe, drift is judged."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sigbatch.audit import (
    AGG_SCHEMA,
    AuditOptions,
    audit,
    batch_aggregates,
    clip_text,
    clip_values,
    reduce_aggregates,
)
from sigbatch.cli import main
from sigbatch.demo import make_rows, run_demo
from sigbatch.errors import ConfigError
from sigbatch.manifest import Manifest, count_outputs, read_manifest
from sigbatch.models import score_batch
from sigbatch.quarantine import REASON_TYPE
from sigbatch.types import ColSpec, ModelSignature, Object, Property, Schema

DEMO_ROWS = 3_000


def fault_of(row: dict[str, Any]) -> tuple[str, str, str] | None:
    """(path, code, stage) of the fault ``sigbatch.demo.make_rows`` put in a record, if any.

    Read from the record itself, independently of enforcement: a broken record carries exactly
    one of the demo's five faults.
    """
    c = row.get("c")
    if "a" not in row:
        return ("a", "NULL_REQUIRED", "input")
    if c is None:
        return ("c", "NULL_REQUIRED", "input")
    if "d" not in c:
        return ("c.d", "NULL_REQUIRED", "input")
    if "z" in c:
        return ("c.z", "INVALID_OBJECT", "input")
    if c["d"] == "boom":
        return ("", "MODEL_ERROR", "model")
    return None


def injected_faults(out: Path) -> dict[tuple[str, int], tuple[str, str, str]]:
    """(source file name, line) -> fault, for every broken record of the demo's lake (the source data)."""
    faults = {}
    for path in sorted((out / "lake").glob("*.jsonl")):
        for line, text in enumerate(path.read_text().splitlines()):
            fault = fault_of(json.loads(text))
            if fault is not None:
                faults[(path.name, line)] = fault
    return faults


def source_location(values: dict[str, Any]) -> tuple[str, int]:
    """(source file name, line) from a quarantined or replayed row's location columns."""
    assert values.get("_sigbatch_file_offset", 0) in (0, "0")  # whole files, no splits
    return Path(str(values["_sigbatch_file"])).name, int(values["_sigbatch_row"])


@pytest.fixture(scope="module")
def demo_output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real scoring output with known injected faults (``sigbatch demo``)."""
    out = tmp_path_factory.mktemp("audit") / "demo"
    run_demo(out, rows=DEMO_ROWS)
    return out


def make_output(
    out: Path, rows: list[dict[str, Any]], signature: ModelSignature, model: Any, files: int = 2
) -> Path:
    """A scoring output (scored/, quarantine/, manifest) from records, ``files`` files of each."""
    per = -(-len(rows) // files)
    for name in ("scored", "quarantine"):
        (out / name).mkdir(parents=True, exist_ok=True)
    for k in range(files):
        chunk = rows[k * per : (k + 1) * per]
        result = score_batch(chunk, model, signature)
        pq.write_table(result.scored, out / "scored" / f"part-{k}.parquet")
        pq.write_table(result.quarantine, out / "quarantine" / f"part-{k}.parquet")
    counts = count_outputs(out, len(rows))
    counts.check()
    model_name = model if isinstance(model, str) else "python:tests"
    Manifest.build(
        engine="local",
        engine_version=pa.__version__,
        model=model_name,
        signature=signature,
        config={},
        counts=counts,
        timings={},
    ).write(out)
    return out


def test_json_summary_counts_equal_injected_faults(demo_output, tmp_path):
    """Every count in the JSON summary (via the CLI) equals the injected faults, by stage, code and path."""
    faults = injected_faults(demo_output)
    assert faults and len(faults) == sum(fault_of(r) is not None for r in make_rows(DEMO_ROWS))
    target = tmp_path / "summary.json"
    assert main(["audit", str(demo_output), "--json", str(target)]) == 0
    doc = json.loads(target.read_text())
    assert doc["rows_in"] == DEMO_ROWS
    assert doc["rows_quarantined"] == len(faults)
    assert doc["rows_scored"] == DEMO_ROWS - len(faults)
    assert doc["accounting_ok"] is True
    assert doc["quarantine_rate"] == pytest.approx(len(faults) / DEMO_ROWS, abs=1e-6)
    assert doc["by_code"] == dict(Counter(code for _, code, _ in faults.values()))
    assert doc["by_path"] == dict(Counter(path for path, _, _ in faults.values()))
    assert doc["by_stage"] == dict(Counter(stage for _, _, stage in faults.values()))
    pairs = Counter((code, path) for path, code, _ in faults.values())
    assert {(p["code"], p["path"]): p["rows"] for p in doc["by_code_path"]} == dict(pairs)
    # every path is detailed (five paths < top_paths), with its code counts
    assert {d["path"]: d["codes"] for d in doc["paths"]} == {
        path: {code: n} for (code, path), n in pairs.items()
    }


def test_summary_agrees_with_the_manifest(demo_output):
    """The audit's counts by stage and code are the ones the scoring job wrote in its manifest."""
    manifest = json.loads((demo_output / "_sigbatch_manifest.json").read_text())
    summary = audit(demo_output)
    assert dict(summary.by_code) == manifest["counts"]["quarantined_by_code"]
    assert dict(summary.by_stage) == manifest["counts"]["quarantined_by_stage"]
    assert summary.rows_quarantined == manifest["counts"]["rows_quarantined"]


def test_top_values_and_examples_point_at_real_rows(demo_output):
    """Top values are counted per path; each example's file, position and row lead back to that row."""
    faults = injected_faults(demo_output)
    summary = audit(demo_output, options=AuditOptions(examples=2))
    detail = {d.path: d for d in summary.paths}
    z_rows = sum(1 for path, _, _ in faults.values() if path == "c.z")
    assert [(v.value, v.count) for v in detail["c.z"].top_values] == [("str 'extra'", z_rows)]
    assert detail[""].top_values[0].value == "ValueError: cannot score 'boom'"
    for d in summary.paths:
        assert 1 <= len(d.examples) <= 2
        for e in d.examples:
            row = pq.read_table(demo_output / "quarantine" / e.file).slice(e.index, 1).to_pylist()[0]
            assert row["_sigbatch_row"] == e.row
            assert any(p == d.path for _, p, _ in e.reasons)
            assert dict(e.source)["_sigbatch_row"] == str(e.row)
            # the source location leads to the source record, which carries this path's fault
            assert faults[source_location(dict(e.source))][0] == d.path


@pytest.mark.dask
@pytest.mark.spark
def test_local_dask_and_spark_summaries_are_identical(demo_output, spark):
    """The three engines give the same summary (counts, values, examples, drift) for one output."""
    local = audit(demo_output).to_dict()
    assert local.pop("engine") == "local"
    for engine in ("dask", "spark"):
        other = audit(demo_output, engine=engine, spark=spark).to_dict()
        assert other.pop("engine") == engine
        assert other == local


@pytest.mark.dask
@pytest.mark.spark
def test_spark_job_output_audits_as_the_dask_jobs(demo_output, spark, tmp_path):
    """The Spark job over the demo's lake (its quarantine written by the driver) audits to the same
    counts, values and drift as the Dask job's output; only the example rows' locations differ."""
    from sigbatch.config import load_score_config
    from sigbatch.demo import MODEL_URI
    from sigbatch.spark import run_scoring

    config = load_score_config(
        None,
        [
            f"source.path={demo_output / 'lake'}",
            "source.format=json",
            f"model={MODEL_URI}",
            f"signature={demo_output / 'signature.json'}",
            f"output.path={tmp_path / 'spark'}",
        ],
    )
    assert run_scoring(spark, config).counts == read_manifest(demo_output).counts
    dask_summary, spark_summary = audit(demo_output).to_dict(), audit(tmp_path / "spark").to_dict()
    for summary in (dask_summary, spark_summary):
        summary.pop("output")
        for path in summary["paths"]:
            path.pop("examples")
    assert spark_summary == dask_summary


def test_partials_of_any_split_reduce_to_the_same_counts():
    """Per-batch partial counts summed over any split of the quarantine equal the counts of the whole."""
    reasons = pa.array(
        [
            [
                {
                    "path": "a[3].x",
                    "code": "TYPE_MISMATCH",
                    "expected": "long",
                    "actual": "str 'q'",
                    "message": "m",
                }
            ],
            [
                {
                    "path": "a[7].x",
                    "code": "TYPE_MISMATCH",
                    "expected": "long",
                    "actual": "str 'q'",
                    "message": "m",
                },
                {
                    "path": "a[9].x",
                    "code": "TYPE_MISMATCH",
                    "expected": "long",
                    "actual": "str 'r'",
                    "message": "m",
                },
            ],
            [
                {
                    "path": 'm["k"]',
                    "code": "UNSAFE_CAST",
                    "expected": "long",
                    "actual": "float 1.5",
                    "message": "m",
                }
            ],
            [
                {
                    "path": "",
                    "code": "MODEL_ERROR",
                    "expected": "a prediction",
                    "actual": "exception",
                    "message": "E",
                }
            ],
        ],
        pa.list_(REASON_TYPE),
    )
    table = pa.table(
        {
            "_sigbatch_errors": reasons,
            "_sigbatch_stage": ["input", "input", "input", "model"],
            "_sigbatch_audit_file": ["f"] * 4,
            "_sigbatch_audit_index": [0, 1, 2, 3],
        }
    )

    def counts(parts: list[pa.Table]) -> dict[tuple[str, str, str | None], int]:
        reduced = reduce_aggregates(pa.concat_tables([batch_aggregates(p) for p in parts]))
        return {
            (r["kind"], r["key"], r["sub"]): r["n"] for r in reduced.to_pylist() if r["kind"] != "example"
        }

    whole = counts([table])
    assert counts([table.slice(0, 1), table.slice(1, 2), table.slice(3)]) == whole
    assert counts([table.slice(i, 1) for i in range(4)]) == whole
    # list positions and map keys are grouped; a row with two reasons of one code counts once
    assert whole[("path", "a[*].x", None)] == 2
    assert whole[("code", "TYPE_MISMATCH", None)] == 2
    assert whole[("value", "a[*].x", "str 'q'")] == 2
    assert whole[("path", "m[*]", None)] == 1
    assert whole[("value", "", "E")] == 1
    assert reduce_aggregates(AGG_SCHEMA.empty_table()).num_rows == 0


def test_values_are_made_printable_and_cut_safely():
    """Control and bidi characters are neutralised and long values cut by characters, never mid-character."""
    assert clip_text("a\nb\tc\x1b[31m", 80) == "a\\nb\\tc\ufffd[31m"
    assert clip_text("abc\u202edef", 80) == "abc\ufffddef"
    assert clip_text("😀" * 100, 10) == "😀" * 9 + "…"
    assert clip_text("short", 10) == "short"
    cut = clip_values(pa.array(["x" * 500, None]), 80).to_pylist()
    assert len(cut[0]) == 80 and cut[0].endswith("…") and cut[1] is None


def test_drift_tells_changed_data_from_bad_records(tmp_path):
    """A type change shared by most quarantined rows is "data changed"; scattered faults are "bad records"."""
    sig = ModelSignature(Schema([ColSpec("long", "id"), ColSpec("string", "b")]))
    good = [{"id": i, "b": "x"} for i in range(40)]
    changed = [{"id": 100 + i, "b": i} for i in range(16)]  # upstream now sends b as a number
    bad = [{"id": "oops"}, {"id": "?"}]  # scattered bad records
    out = make_output(tmp_path / "out", good + changed + bad, sig, lambda df: df["id"] * 1.0)
    drift = audit(out).drift
    assert drift is not None and drift.verdict == "data changed"
    change = next(c for c in drift.changes if c.path == "b" and c.kind == "changed_type")
    assert (change.expected, change.observed, change.rows, change.verdict) == (
        "string",
        "long",
        16,
        "data changed",
    )
    id_change = next(c for c in drift.changes if c.path == "id")
    assert id_change.kind == "mixed_types" and id_change.verdict == "bad records"
    # at the threshold: a change shared by exactly half the quarantined rows is still "data changed"
    half = [{"id": 100 + i, "b": i} for i in range(8)] + [{"id": "oops"}] * 8
    drift = audit(make_output(tmp_path / "half", good + half, sig, lambda df: df["id"] * 1.0)).drift
    assert drift is not None and drift.verdict == "data changed"
    change = next(c for c in drift.changes if c.path == "b" and c.kind == "changed_type")
    assert (change.rows, change.verdict) == (8, "data changed")


def test_drift_and_counts_keep_quoted_names_apart(tmp_path):
    """Column "a.b" and property b of column a are two paths in reasons, counts and drift alike."""
    sig = ModelSignature(
        Schema(
            [ColSpec("long", "id"), ColSpec("string", "a.b"), ColSpec(Object([Property("b", "string")]), "a")]
        )
    )
    good = [{"id": i, "a.b": "x", "a": {"b": "y"}} for i in range(40)]
    changed = [{"id": 100 + i, "a.b": i, "a": {"b": "y"}} for i in range(16)]  # "a.b" is now a number
    bad = [{"id": 200, "a.b": 5, "a": {"b": 1.5}}]  # and one row with a number in a.b too
    summary = audit(make_output(tmp_path / "out", good + changed + bad, sig, lambda df: df["id"] * 1.0))
    assert summary.by_path == (('"a.b"', 17), ("a.b", 1))
    drift = summary.drift
    assert drift is not None and drift.verdict == "data changed"
    assert [(c.path, c.kind, c.expected, c.observed, c.rows, c.verdict) for c in drift.changes] == [
        ('"a.b"', "changed_type", "string", "long", 17, "data changed"),
        ("a.b", "mixed_types", "string", "double in 1, string in 16", 1, "bad records"),
    ]


def test_quoted_names_are_kept_whole_when_positions_are_grouped():
    """A quoted name holding brackets is not mistaken for a list position or map key."""
    reason = {"code": "TYPE_MISMATCH", "expected": "long", "actual": "str 'q'", "message": "m"}
    paths = ['"x[1]"[3]', '"x[1]"[4]', 'c."{}"["k"]', "d[2]", "n.m[].r"]
    table = pa.table(
        {
            "_sigbatch_errors": pa.array([[{"path": p, **reason}] for p in paths], pa.list_(REASON_TYPE)),
            "_sigbatch_stage": ["input"] * 5,
            "_sigbatch_audit_file": ["f"] * 5,
            "_sigbatch_audit_index": [0, 1, 2, 3, 4],
        }
    )
    reduced = reduce_aggregates(batch_aggregates(table)).to_pylist()
    assert {r["key"]: r["n"] for r in reduced if r["kind"] == "path"} == {
        '"x[1]"[*]': 2,
        'c."{}"[*]': 1,
        "d[*]": 1,
        "n.m[*].r": 1,  # a whole column's problem names every element as []
    }


@pytest.mark.parametrize("engine", ["local", pytest.param("dask", marks=pytest.mark.dask)])
def test_an_empty_quarantine_is_clean_with_no_inferred_schema(tmp_path, capsys, engine):
    """A job that quarantined nothing: drift is clean, and no schema inferred from zero rows is shown anywhere."""
    sig = ModelSignature(Schema([ColSpec("long", "id"), ColSpec("string", "b")]))
    out = make_output(
        tmp_path / "out", [{"id": i, "b": "x"} for i in range(12)], sig, lambda df: df["id"] * 1.0
    )
    page = tmp_path / "r.html"
    assert main(["audit", str(out), "--engine", engine, "--html", str(page)]) == 0
    assert capsys.readouterr().out == (
        f"sigbatch audit: {out}  (quarantine/, engine {engine})\n"
        "  rows in                    12\n"
        "  rows scored                12\n"
        "  rows quarantined            0  (0.00%)\n"
        "  accounting       ok (12 in, 12 accounted for)\n"
        "\n"
        "  drift: clean - nothing is quarantined\n"
    )
    assert main(["audit", str(out), "--engine", engine, "--json", "-"]) == 0
    assert json.loads(capsys.readouterr().out)["drift"] == {
        "verdict": "clean",
        "explanation": "nothing is quarantined",
        "inferred": None,
        "changes": [],
    }
    html = page.read_text()
    assert "nothing is quarantined" in html and "(required)" not in html
    assert "inferred from the quarantined rows" not in html


def test_demo_faults_are_bad_records(demo_output):
    """The demo's scattered faults are diagnosed as bad records, naming the appeared property c.z."""
    drift = audit(demo_output).drift
    assert drift is not None and drift.verdict == "bad records"
    kinds = {(c.path, c.kind) for c in drift.changes}
    assert ("c.z", "appeared") in kinds and ("c.d", "became_nullable") in kinds
    assert all(c.verdict != "data changed" for c in drift.changes)


def test_terminal_table_and_caller_mistakes(demo_output, capsys):
    """The default output is a terminal table; a directory without a manifest is a clear error (exit 2)."""
    assert main(["audit", str(demo_output), "--no-drift"]) == 0
    text = capsys.readouterr().out
    assert "rows quarantined" in text and "by code" in text and "INVALID_OBJECT" in text
    assert main(["audit", str(demo_output / "scored")]) == 2
    assert "no manifest" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="engine"):
        audit(demo_output, engine="pandas")
    with pytest.raises(ConfigError, match="top_paths"):
        AuditOptions(top_paths=0)
