"""Job configuration and manifests: validation that names the key, and accounting from outputs."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sigbatch import ColSpec, ConfigError, ModelSignature, Schema
from sigbatch.config import load_score_config
from sigbatch.manifest import (
    MANIFEST_NAME,
    AccountingError,
    Counts,
    Manifest,
    count_outputs,
    prepare_output,
    read_manifest,
    replace_outputs,
    staging_dir,
)
from sigbatch.quarantine import REASON_TYPE


def _write(tmp_path, text):
    path = tmp_path / "score.yaml"
    path.write_text(text)
    return path


def test_config_file_with_overrides(tmp_path):
    """A config file is read, nested keys flattened, and --set overrides win with YAML-typed values."""
    (tmp_path / "lake").mkdir()
    path = _write(
        tmp_path,
        f"source:\n  path: {tmp_path / 'lake'}\n  format: json\nmodel: python:m:f\noutput:\n  path: out\n",
    )
    cfg = load_score_config(path, ["profile=lenient", "spark.batch_size=500", "output.keep_columns=[id, ts]"])
    assert (cfg.source.format, cfg.profile, cfg.spark_batch_size, cfg.keep_columns) == (
        "json",
        "lenient",
        500,
        ["id", "ts"],
    )
    assert cfg.mode == "error" and cfg.on_schema_mismatch == "fail"
    assert cfg.as_dict()["output.path"] == "out"


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["profil=strict"], r"unknown key 'profil' \(did you mean 'profile'\?\)"),
        (["profile=loose"], r"key 'profile' must be one of \['mlflow', 'strict', 'lenient'\], got 'loose'"),
        (["spark.batch_size=many"], r"key 'spark.batch_size' must be int, got str 'many'"),
        (["progress=3"], r"key 'progress' must be bool, got int 3"),
        (["source.path=/no/such/lake"], r"key 'source.path': /no/such/lake does not exist"),
        (["novalue"], r"--set 'novalue': expected key=value"),
        (["output.keep_columns=[b, a, b]"], r"key 'output.keep_columns' names 'b' more than once"),
        (["output.key_columns=[id, id]"], r"key 'output.key_columns' names 'id' more than once"),
        (["dask.workers=-2"], r"key 'dask.workers' must be at least 1, got -2"),
        (["dask.blocksize=abc"], r"key 'dask.blocksize' must be a size such as '64MB' or '1GiB', got 'abc'"),
        (["dask.blocksize=0MB"], r"key 'dask.blocksize' must be a size such as '64MB' or '1GiB', got '0MB'"),
    ],
)
def test_config_errors_name_the_key(tmp_path, overrides, message):
    """Unknown keys, wrong types, bad choices and missing paths fail with the key named."""
    base = [f"source.path={tmp_path}", "model=python:m:f", "output.path=out"]
    with pytest.raises(ConfigError, match=message):
        load_score_config(None, base + overrides)


def test_config_errors_name_what_set_the_key(tmp_path):
    """A missing path given with --set is blamed on --set, one in the file on the file; a section
    left empty is no key at all; invalid YAML is one line saying where."""
    path = _write(tmp_path, f"source:\n  path: {tmp_path}\nmodel: python:m:f\noutput:\n  path: out\ndask:\n")
    assert load_score_config(path).dask_scheduler == "threads"
    with pytest.raises(ConfigError) as err:
        load_score_config(path, ["source.path=/no/such/lake"])
    assert str(err.value) == "--set: key 'source.path': /no/such/lake does not exist"
    in_file = _write(tmp_path, "source:\n  path: /no/such/lake\nmodel: python:m:f\noutput:\n  path: out\n")
    with pytest.raises(ConfigError) as err:
        load_score_config(in_file)
    assert str(err.value) == f"{in_file}: key 'source.path': /no/such/lake does not exist"
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"source:\n  path: caf\xe9\n")
    with pytest.raises(ConfigError) as err:
        load_score_config(latin)
    assert str(err.value) == (
        f"{latin}: not UTF-8 text (invalid continuation byte at byte offset 19); save the config as UTF-8"
    )
    broken = _write(tmp_path, "source:\n  path: [x\n")
    with pytest.raises(ConfigError) as err:
        load_score_config(broken)
    assert str(err.value) == (
        f"{broken}: invalid YAML: expected ',' or ']', but got '<stream end>' at line 3, column 1 "
        "(while parsing a flow sequence)"
    )
    with pytest.raises(ConfigError) as err:
        load_score_config(None, ["params={a: 1"])
    assert str(err.value) == (
        "--set params: cannot read the value '{a: 1' (expected ',' or '}', but got '<stream end>' at line 1, "
        "column 6 (while parsing a flow mapping))"
    )


@pytest.mark.parametrize(
    ("key", "hint"),
    [
        ("source.path", "give the file or directory of the data to score"),
        ("source.table", "give a table name, or leave it out and set source.path"),
        ("model", "give an MLflow URI, a model directory or python:module:attr"),
        ("signature", "give a signature file, or leave it out to enforce the model's own"),
        ("output.path", "give the directory for scored/, quarantine/ and the manifest"),
    ],
)
def test_empty_paths_are_refused_naming_the_key(tmp_path, key, hint):
    """An empty path, table or model, in the file or with --set, names the key: an empty path was
    read as the working directory (a job read, or wrote into, everything there)."""
    base = [f"source.path={tmp_path}", "model=python:m:f", "output.path=out"]
    with pytest.raises(ConfigError) as err:
        load_score_config(None, [*base, f'{key}=""'])
    assert str(err.value) == f"--set: key '{key}' is empty; {hint}"
    section, _, name = key.rpartition(".")
    path = _write(tmp_path, f"{section}:\n  {name}: ''\n" if section else f"{name}: ''\n")
    with pytest.raises(ConfigError) as err:
        load_score_config(path, base)
    assert str(err.value) == f"{path}: key '{key}' is empty; {hint}"
    if key in ("source.path", "output.path"):  # a file: URI naming no path is the working directory too
        for uri in ("file://", "file://localhost"):
            with pytest.raises(ConfigError) as err:
                load_score_config(None, [*base, f"{key}={uri}"])
            assert str(err.value) == f"--set: key '{key}' is empty; {hint}"


def test_source_path_and_table_name_what_set_each(tmp_path):
    """A path in the file and a table from --set (or the other way round) are blamed on both, with
    the way to clear the file's; both in one place blame that place alone."""
    path = _write(tmp_path, f"source:\n  path: {tmp_path}\nmodel: python:m:f\noutput:\n  path: out\n")
    with pytest.raises(ConfigError) as err:
        load_score_config(path, ["source.table=t"])
    assert str(err.value) == (
        f"set only one of 'source.path' (from {path}) and 'source.table' (from --set); "
        f"--set source.path=null clears the one in {path}"
    )
    assert load_score_config(path, ["source.table=t", "source.path=null"]).source.table == "t"
    table = _write(tmp_path, "source:\n  table: t\nmodel: python:m:f\noutput:\n  path: out\n")
    with pytest.raises(ConfigError) as err:
        load_score_config(table, [f"source.path={tmp_path}"])
    assert str(err.value) == (
        f"set only one of 'source.path' (from --set) and 'source.table' (from {table}); "
        f"--set source.table=null clears the one in {table}"
    )
    with pytest.raises(ConfigError) as err:
        load_score_config(path, [f"source.path={tmp_path}", "source.table=t"])
    assert str(err.value) == "--set: set only one of 'source.path' and 'source.table'"
    both = _write(tmp_path, f"source:\n  path: {tmp_path}\n  table: t\nmodel: m\noutput:\n  path: o\n")
    with pytest.raises(ConfigError) as err:
        load_score_config(both)
    assert str(err.value) == f"{both}: set only one of 'source.path' and 'source.table'"


def test_file_uri_source_paths_are_checked_as_local_paths(tmp_path):
    """A file: URI source (file:///abs or file:/abs) must exist, as a plain path must; other URIs are
    left to the engine."""
    base = ["model=python:m:f", "output.path=out"]
    for uri in (tmp_path.as_uri(), f"file:{tmp_path}", f"file://localhost{tmp_path}"):
        assert load_score_config(None, [*base, f"source.path={uri}"]).source.path == uri
    with pytest.raises(ConfigError) as err:
        load_score_config(None, [*base, f"source.path=file:{tmp_path / 'nope'}"])
    assert str(err.value) == f"--set: key 'source.path': file:{tmp_path / 'nope'} does not exist"
    assert (
        load_score_config(None, [*base, "source.path=s3a://bucket/lake"]).source.path == "s3a://bucket/lake"
    )


def test_config_missing_required_key(tmp_path):
    """A config without a model says which key is missing and what it is for."""
    path = _write(tmp_path, f"source:\n  path: {tmp_path}\noutput:\n  path: out\n")
    with pytest.raises(ConfigError, match=r"missing required key 'model' \(model URI"):
        load_score_config(path)


def test_accounting_counts_come_from_written_files(tmp_path):
    """count_outputs reads row counts from footers and reasons from the quarantine; check() fails loudly."""
    (tmp_path / "scored").mkdir()
    (tmp_path / "quarantine").mkdir()
    pq.write_table(pa.table({"id": [1, 2, 3]}), tmp_path / "scored" / "part-0.parquet")
    errors = pa.array(
        [
            [
                {"path": "a", "code": "NULL_REQUIRED", "expected": "x", "actual": "null", "message": "m"},
                {"path": "c", "code": "NULL_REQUIRED", "expected": "x", "actual": "null", "message": "m"},
            ],
            [{"path": "", "code": "MODEL_ERROR", "expected": "x", "actual": "e", "message": "m"}],
        ],
        pa.list_(REASON_TYPE),
    )
    pq.write_table(
        pa.table({"id": [4, 5], "_sigbatch_errors": errors, "_sigbatch_stage": ["input", "model"]}),
        tmp_path / "quarantine" / "part-0.parquet",
    )
    counts = count_outputs(tmp_path, rows_in=5)
    assert counts == Counts(5, 3, 2, {"input": 1, "model": 1}, {"MODEL_ERROR": 1, "NULL_REQUIRED": 1})
    counts.check()
    with pytest.raises(AccountingError, match=r"6 rows in, 3 scored \+ 2 quarantined \(1 row lost\)"):
        count_outputs(tmp_path, rows_in=6).check()
    with pytest.raises(AccountingError) as info:  # more rows written than read: some twice
        count_outputs(tmp_path, rows_in=4).check()
    assert str(info.value) == "accounting failed: 4 rows in, 3 scored + 2 quarantined (1 row duplicated)"
    sig = ModelSignature(Schema([ColSpec("long", "id")]))
    manifest = Manifest.build(
        engine="local",
        engine_version="0",
        model="python:m:f",
        signature=sig,
        config={"output.path": str(tmp_path)},
        counts=counts,
        timings={"total": 1.23456},
    )
    manifest.write(tmp_path)
    back = read_manifest(tmp_path)
    assert (
        back.counts == counts
        and back.signature_hash == manifest.signature_hash
        and back.timings == {"total": 1.235}
    )
    assert json.loads((tmp_path / "_sigbatch_manifest.json").read_text())["counts"]["rows_in"] == 5


def test_output_mode_error_refuses_to_overwrite(tmp_path):
    """Mode 'error' refuses a non-empty output; 'overwrite' deletes nothing until the new outputs
    replace the old ones, and then every entry a job or a replay wrote, and only those."""
    out = tmp_path / "out"
    for name in ("scored", "quarantine", "replayed", "quarantine_after_replay"):
        (out / name).mkdir(parents=True)
        (out / name / "old.parquet").write_text("old")
    (out / MANIFEST_NAME).write_text("{}")
    (out / "notes.txt").write_text("keep me")
    with pytest.raises(ConfigError, match=r"already exists and output\.mode is 'error'"):
        prepare_output(out, "error")
    assert prepare_output(out, "overwrite") == out
    assert (out / "scored" / "old.parquet").exists() and (out / MANIFEST_NAME).exists()
    staging = staging_dir(out)
    assert staging.parent == out and staging.name.startswith("_sigbatch_tmp_")
    (staging / "scored").mkdir()
    (staging / "scored" / "new.parquet").write_text("new")
    replace_outputs(out, staging)
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt", "quarantine", "scored"]
    assert [p.name for p in (out / "scored").iterdir()] == ["new.parquet"]
    assert list((out / "quarantine").iterdir()) == []  # a job without quarantined rows still has it


def test_output_path_problems_are_config_errors(tmp_path):
    """A stale staging directory does not count as an earlier output; a file or an uncreatable
    path is named in the error."""
    out = tmp_path / "out"
    (out / "_sigbatch_tmp_0123456789ab").mkdir(parents=True)
    assert prepare_output(out, "error") == out
    (tmp_path / "afile").write_text("x")
    with pytest.raises(ConfigError, match=r"output\.path .*afile is a file, not a directory"):
        prepare_output(tmp_path / "afile", "overwrite")
    with pytest.raises(ConfigError, match=r"output\.path .*afile/sub: cannot create it"):
        prepare_output(tmp_path / "afile" / "sub", "error")


def test_a_directory_given_as_config_file_says_so(tmp_path):
    """A directory is not 'no such config file': the message says what it is."""
    with pytest.raises(ConfigError) as info:
        load_score_config(tmp_path)
    assert str(info.value) == f"{tmp_path}: a directory, not a config file"
