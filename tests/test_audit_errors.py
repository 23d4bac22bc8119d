"""A damaged output or a bad report path: the audit counts what is on disk, says what differs, and fails cleanly."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sigbatch.audit import AuditOptions, audit
from sigbatch.cli import main
from sigbatch.errors import ConfigError
from sigbatch.replay import replay
from sigbatch.report import render_html, write_html, write_json
from sigbatch.types import ColSpec, ModelSignature, Schema
from tests.test_audit import make_output

SIGNATURE = ModelSignature(Schema([ColSpec("long", "id"), ColSpec("string", "b")]))
# The same columns with b a number: admits the rows the original signature refused.
CORRECTED = ModelSignature(Schema([ColSpec("long", "id"), ColSpec("long", "b")]))
MODEL = "python:tests.test_audit_errors:double_id"
ENGINES = ["local", pytest.param("dask", marks=pytest.mark.dask)]
MAGIC = "Parquet magic bytes not found"
WAY_OUT = "; restore it or score the job again"


def double_id(frame: pd.DataFrame) -> pd.Series:
    """The model: the id as a double."""
    return frame["id"] * 1.0


@pytest.fixture
def output(tmp_path: Path) -> Path:
    """12 rows in two files of six: each file scores 5 rows and quarantines 1 (b is a number)."""
    rows = [{"id": i, "b": 7 if i in (3, 9) else "x"} for i in range(12)]
    return make_output(tmp_path / "out", rows, SIGNATURE, MODEL)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``sigbatch audit ARGV`` -> (exit status, stdout, stderr)."""
    status = main(["audit", *argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def hidden_files(directory: Path) -> list[str]:
    """Names starting with '.' anywhere under ``directory`` (where temporary files would hide)."""
    return sorted(p.name for p in directory.rglob(".*"))


def corrupt_pages(path: Path) -> None:
    """Overwrite a Parquet file's data pages, keeping its footer readable."""
    data = bytearray(path.read_bytes())
    footer = int.from_bytes(data[-8:-4], "little")
    data[4 : len(data) - 8 - footer] = b"\xab" * (len(data) - 12 - footer)
    path.write_bytes(bytes(data))


# --- the books: what is on disk, against the manifest and rows in -----------------------------


@pytest.mark.parametrize("engine", ENGINES)
def test_a_missing_scored_file_is_a_mismatch_named_on_every_engine(output, engine, capsys):
    """A scored file gone: the counts come from the footers, each difference is one line, and the exit is 1."""
    (output / "scored" / "part-1.parquet").unlink()
    status, out, err = run(capsys, str(output), "--no-drift", "--engine", engine)
    assert status == 1
    assert "  rows scored                 5\n" in out
    assert "  accounting       MISMATCH (12 in, 7 accounted for)\n" in out
    assert err == (
        "sigbatch audit: accounting mismatch: scored/ holds 5 rows but the manifest says 10\n"
        "sigbatch audit: accounting mismatch: 12 rows in but 5 scored + 2 quarantined = 7 (5 rows missing)\n"
    )
    summary = audit(output, engine=engine, options=AuditOptions(drift=False))
    assert (summary.rows_in, summary.rows_scored, summary.rows_quarantined) == (12, 5, 2)
    assert summary.accounting_ok is False
    assert summary.mismatches == (
        "scored/ holds 5 rows but the manifest says 10",
        "12 rows in but 5 scored + 2 quarantined = 7 (5 rows missing)",
    )


def test_a_missing_scored_directory_is_named_in_every_report(output, tmp_path, capsys):
    """No scored/ at all: the table, the JSON summary and the HTML page all say so; exit 1."""
    shutil.rmtree(output / "scored")
    status, out, err = run(capsys, str(output), "--json", "-", "--html", str(tmp_path / "r.html"))
    assert status == 1
    doc = json.loads(out)
    expected = [
        "scored/ is missing but the manifest says 10",
        "12 rows in but 0 scored + 2 quarantined = 2 (10 rows missing)",
    ]
    assert (doc["rows_scored"], doc["accounting_ok"], doc["mismatches"]) == (0, False, expected)
    assert err.splitlines() == [
        f"html report: {tmp_path / 'r.html'}",
        *(f"sigbatch audit: accounting mismatch: {line}" for line in expected),
    ]
    page = (tmp_path / "r.html").read_text()
    assert f'<ul class="bad"><li>{expected[0]}</li><li>{expected[1]}</li></ul>' in page


def test_quarantine_rows_missing_or_duplicated_are_counted(output, capsys):
    """A lost quarantine file and a duplicated scored file are both found, with the rows too many or missing."""
    (output / "quarantine" / "part-0.parquet").unlink()
    shutil.copy(output / "scored" / "part-0.parquet", output / "scored" / "part-2.parquet")
    summary = audit(output, options=AuditOptions(drift=False))
    assert (summary.rows_scored, summary.rows_quarantined) == (15, 1)
    assert summary.mismatches == (
        "scored/ holds 15 rows but the manifest says 10",
        "quarantine/ holds 1 row but the manifest says 2",
        "12 rows in but 15 scored + 1 quarantined = 16 (4 rows too many)",
    )
    assert run(capsys, str(output), "--no-drift")[0] == 1


def test_an_intact_output_balances(output, capsys):
    """Nothing changed on disk: no mismatch, exit 0, and the JSON summary says so."""
    status, out, err = run(capsys, str(output), "--no-drift", "--json", "-")
    assert (status, err) == (0, "")
    doc = json.loads(out)
    assert (doc["rows_in"], doc["rows_scored"], doc["rows_quarantined"]) == (12, 10, 2)
    assert (doc["accounting_ok"], doc["mismatches"]) == (True, [])


def test_after_a_replay_the_replayed_rows_are_counted_on_disk(output, capsys):
    """After a replay the books are scored/ + replayed/ + quarantine_after_replay/, each from its footers."""
    result = replay(output, CORRECTED)
    assert (result.rows_replayed, result.rows_still_quarantined) == (2, 0)
    summary = audit(output, options=AuditOptions(drift=False))
    assert (summary.quarantine, summary.rows_scored, summary.rows_replayed, summary.rows_quarantined) == (
        "quarantine_after_replay",
        10,
        2,
        0,
    )
    assert summary.accounting_ok and summary.mismatches == ()
    next(iter(sorted((output / "replayed").glob("*.parquet")))).unlink()
    status, _, err = run(capsys, str(output), "--no-drift")
    assert status == 1
    assert err == (
        "sigbatch audit: accounting mismatch: replayed/ holds 1 row but the manifest's replays say 2\n"
        "sigbatch audit: accounting mismatch: 12 rows in but 10 scored + 1 replayed + 0 quarantined = 11 "
        "(1 row missing)\n"
    )
    # the original run's books do not include the replay, and still balance
    original = audit(output, options=AuditOptions(drift=False, quarantine="original"))
    assert (original.rows_replayed, original.rows_quarantined, original.mismatches) == (0, 2, ())


# --- a damaged output: one line naming the file and the problem, exit 2 ------------------------


@pytest.mark.parametrize(
    ("where", "value", "shown"),
    [
        (("counts", "rows_in"), "many", '"many"'),
        (("counts", "rows_scored"), 1.5, "1.5"),
        (("counts", "rows_quarantined"), -1, "-1"),
        (("counts", "rows_in"), True, "true"),
        (("replays", "rows_replayed"), "2", '"2"'),
    ],
)
def test_manifest_counts_that_are_not_row_counts_are_refused(output, capsys, where, value, shown):
    """A count that is not a whole number of rows names the manifest, the key and the value; exit 2."""
    manifest = output / "_sigbatch_manifest.json"
    doc = json.loads(manifest.read_text())
    section, key = where
    if section == "replays":
        doc["replays"] = [{key: value}]
        label = f"replays[0].{key}"
    else:
        doc["counts"][key] = value
        label = f"counts.{key}"
    manifest.write_text(json.dumps(doc))
    status, out, err = run(capsys, str(output), "--no-drift")
    assert (status, out) == (2, "")
    assert err == (
        f"sigbatch audit: error: {manifest}: {label} is {shown}, not a row count (a whole number, 0 or more); "
        "the manifest is damaged: restore it or score the job again\n"
    )
    with pytest.raises(ConfigError, match="not a row count"):
        audit(output)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("directory", ["quarantine", "scored"])
def test_a_file_that_is_not_parquet_is_named(output, capsys, engine, directory):
    """A file of garbage in quarantine/ or scored/ stops the audit with one line naming it; exit 2."""
    damaged = output / directory / "part-1.parquet"
    damaged.write_text("garbage\n")
    status, out, err = run(capsys, str(output), "--engine", engine)
    assert (status, out) == (2, "")
    assert err.startswith(f"sigbatch audit: error: {damaged}: not a readable Parquet file (")
    assert MAGIC in err and err.endswith(f"){WAY_OUT}\n") and err.count("\n") == 1


@pytest.mark.parametrize("engine", ENGINES)
def test_a_quarantine_file_with_damaged_pages_is_named(output, capsys, engine):
    """A quarantine file whose footer reads but whose pages do not is named when the engine reads it; exit 2."""
    damaged = output / "quarantine" / "part-1.parquet"
    corrupt_pages(damaged)
    status, out, err = run(capsys, str(output), "--engine", engine)
    assert (status, out) == (2, "")
    assert err.startswith(f"sigbatch audit: error: {damaged}: not a readable Parquet file (")
    assert err.endswith(f"){WAY_OUT}\n") and err.count("\n") == 1


def rewrite_column(path: Path, name: str, values: list[object] | None) -> None:
    """Replace (or, with ``None``, drop) column ``name`` of a Parquet file, as another tool might."""
    table = pq.read_table(path)
    index = table.column_names.index(name)
    table = table.remove_column(index) if values is None else table.set_column(index, name, pa.array(values))
    pq.write_table(table, path)


FOREIGN = "; move it out of the quarantine or score the job again"


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    ("name", "values", "problem"),
    [
        ("_sigbatch_stage", None, "no _sigbatch_stage column"),
        ("_sigbatch_errors", None, "no _sigbatch_errors column"),
        (
            "_sigbatch_errors",
            ["[{'code': 'TYPE_MISMATCH'}]"],
            "_sigbatch_errors is string, not a list of reasons with string path, code, expected, actual, message",
        ),
        (
            "_sigbatch_errors",
            [[{"path": "b", "code": 1}]],
            "_sigbatch_errors is list<element: struct<path: string, code: int64>>, not a list of reasons "
            "with string path, code, expected, actual, message",
        ),
        ("_sigbatch_stage", [1], "_sigbatch_stage is int64, not a string"),
        ("_sigbatch_row", ["9"], "_sigbatch_row is string, not an integer"),
    ],
)
def test_a_quarantine_file_another_tool_wrote_is_named(output, capsys, engine, name, values, problem):
    """A quarantine file without sigbatch's reason columns (or with other types) is one line naming it; exit 2."""
    foreign = output / "quarantine" / "part-1.parquet"
    rewrite_column(foreign, name, values)
    status, out, err = run(capsys, str(output), "--engine", engine)
    assert (status, out) == (2, "")
    assert err == f"sigbatch audit: error: {foreign}: not a sigbatch quarantine file ({problem}){FOREIGN}\n"


# --- report paths: checked before the audit starts, nothing left behind ------------------------


@pytest.fixture
def no_audit(monkeypatch: pytest.MonkeyPatch) -> None:
    """The audit itself must not run (a bad report path is found before it)."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the audit ran before the report paths were checked")

    monkeypatch.setattr("sigbatch.audit.audit", refuse)


def test_a_json_path_in_a_missing_directory_is_refused_first(output, tmp_path, capsys, no_audit):
    """--json in a directory that does not exist: one line naming it, exit 2, before any audit work."""
    target = tmp_path / "nonexistent" / "dir" / "r.json"
    status, out, err = run(capsys, str(output), "--json", str(target))
    assert (status, out) == (2, "")
    assert err == (
        f"sigbatch audit: error: json summary {target}: the directory {target.parent} does not exist; "
        "create it first or choose another path\n"
    )


def test_an_html_path_that_is_a_directory_is_refused_and_leaves_nothing(
    output, tmp_path, capsys, monkeypatch, no_audit
):
    """--html naming a directory: one line naming it, exit 2, and no temporary file anywhere."""
    (tmp_path / "reports").mkdir()
    monkeypatch.chdir(tmp_path)
    status, out, err = run(capsys, str(output), "--html", "reports")
    assert (status, out) == (2, "")
    assert (
        err
        == "sigbatch audit: error: html report reports: is a directory; give the path of a file to write\n"
    )
    assert hidden_files(tmp_path) == []


def test_a_json_path_under_a_file_is_refused(output, tmp_path, capsys, no_audit):
    """--json under a path that is a file, not a directory: one line naming both; exit 2."""
    (tmp_path / "notes.txt").write_text("x")
    target = tmp_path / "notes.txt" / "r.json"
    status, _, err = run(capsys, str(output), "--json", str(target))
    assert status == 2
    assert err == (
        f"sigbatch audit: error: json summary {target}: {target.parent} is not a directory; "
        "choose another path\n"
    )


@pytest.mark.parametrize("failure", [OSError(28, "No space left on device"), KeyboardInterrupt()])
@pytest.mark.parametrize("writer", [write_html, write_json])
def test_a_failed_write_leaves_no_temporary_file(output, tmp_path, monkeypatch, failure, writer):
    """A report whose write fails (disk full, interrupted) leaves neither the report nor its temporary file."""
    summary = audit(output, options=AuditOptions(drift=False))
    reports = tmp_path / "reports"
    reports.mkdir()

    def fail(self: Path, target: Path) -> None:
        raise failure

    monkeypatch.setattr(Path, "replace", fail)
    target = reports / "r.out"
    if isinstance(failure, OSError):
        what = "html report" if writer is write_html else "json summary"
        with pytest.raises(ConfigError) as caught:
            writer(summary, target)
        assert str(caught.value) == f"{what} {target}: cannot be written (No space left on device)"
    else:
        with pytest.raises(KeyboardInterrupt):
            writer(summary, target)
    assert list(reports.iterdir()) == []


# --- '-' for stdout --------------------------------------------------------------------------


def test_html_dash_writes_the_report_to_stdout(output, tmp_path, capsys, monkeypatch):
    """``--html -`` prints the HTML report on stdout (no table), and writes no file named '-'."""
    monkeypatch.chdir(tmp_path)
    status, out, err = run(capsys, str(output), "--html", "-")
    assert (status, err) == (0, "")
    assert out == render_html(audit(output))
    assert not (tmp_path / "-").exists()
    status, out, err = run(capsys, str(output), "--html", "-", "--json", "summary.json")
    assert (status, err) == (0, "json summary: summary.json\n")
    assert out == render_html(audit(output))
    assert json.loads((tmp_path / "summary.json").read_text()) == json.loads(audit(output).to_json())


def test_json_dash_and_html_dash_together_are_refused_first(output, tmp_path, capsys, monkeypatch, no_audit):
    """``--json - --html -`` cannot both go to stdout: one line, exit 2, before any audit work, no file."""
    monkeypatch.chdir(tmp_path)
    status, out, err = run(capsys, str(output), "--json", "-", "--html", "-")
    assert (status, out) == (2, "")
    assert err == (
        "sigbatch audit: error: --json - and --html - both ask for stdout; write one of them to a file "
        "(--json PATH or --html PATH)\n"
    )
    assert not (tmp_path / "-").exists()


@pytest.mark.parametrize(
    ("html", "json_path"), [("r.out", "r.out"), ("r.out", "./sub/../r.out"), ("r.out", "link.out")]
)
def test_json_and_html_to_one_file_are_refused_first(
    output, tmp_path, capsys, monkeypatch, no_audit, html, json_path
):
    """``--json`` and ``--html`` naming one file (also through ``..`` or a link): one line, exit 2, no file written."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    (tmp_path / "link.out").symlink_to(tmp_path / "r.out")
    status, out, err = run(capsys, str(output), "--html", html, "--json", json_path)
    assert (status, out) == (2, "")
    assert err == (
        f"sigbatch audit: error: --json {json_path} and --html {html} name the same file; the JSON summary "
        "would overwrite the HTML report: give them different paths\n"
    )
    assert not (tmp_path / "r.out").exists()


def test_a_broken_signature_in_the_manifest_names_the_manifest_and_key(output, capsys):
    """A manifest whose signature cannot be read is one error naming the manifest file and the
    key (it said only 'signature: key inputs[0].type ...')."""
    manifest = output / "_sigbatch_manifest.json"
    doc = json.loads(manifest.read_text())
    doc["signature"]["inputs"] = '[{"type": "strin", "name": "id"}]'
    manifest.write_text(json.dumps(doc))
    status, out, err = run(capsys, str(output))
    assert (status, out) == (2, "")
    assert err.startswith(
        f"sigbatch audit: error: {manifest}: key signature.inputs[0].type: unsupported type 'strin'"
    )
