"""A damaged output: one clear line naming the file and the problem, exit 2, no traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from sigbatch.audit import audit
from sigbatch.cli import main
from sigbatch.errors import ConfigError
from sigbatch.types import ColSpec, ModelSignature, Schema
from tests.test_audit import make_output

SIGNATURE = ModelSignature(Schema([ColSpec("long", "id"), ColSpec("string", "b")]))
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


def corrupt_pages(path: Path) -> None:
    """Overwrite a Parquet file's data pages, keeping its footer readable."""
    data = bytearray(path.read_bytes())
    footer = int.from_bytes(data[-8:-4], "little")
    data[4 : len(data) - 8 - footer] = b"\xab" * (len(data) - 12 - footer)
    path.write_bytes(bytes(data))


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
@pytest.mark.parametrize("directory", ["quarantine"])
def test_a_file_that_is_not_parquet_is_named(output, capsys, engine, directory):
    """A file of garbage in quarantine/ stops the audit with one line naming it; exit 2."""
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
