"""`sigbatch infer` and the inference job: print, write, set on a model, fail clearly."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest

from sigbatch import load_signature
from sigbatch.cli import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def lake(tmp_path):
    """Three small JSON lines files: an optional column and an object with varying keys."""
    root = tmp_path / "lake"
    root.mkdir()
    for f in range(3):
        rows = [{"id": f * 10 + i, "tags": ["a"] * i, "o": {"k": "v", f"x{f % 2}": i}} for i in range(10)]
        if f == 1:
            rows[0]["extra"] = 1.5
        (root / f"part-{f}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return root


def test_infer_prints_signature_and_report(lake, capsys):
    """`sigbatch infer DIR` prints MLflow's form of the signature, then the report."""
    assert main(["infer", str(lake)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(
        "inputs: \n  ['id': long (required), 'tags': Array(string) (required), "
        "'o': {k: string (required), x0: long (optional), x1: long (optional)} (required), "
        "'extra': double (optional)]\n"
    )
    assert "Inferred from 30 rows (policy strict)." in out
    assert "Sampled 3 of 3 partitions" in out and "Conflicts: none." in out


def test_infer_report_says_where_unreadable_lines_are(tmp_path, capsys):
    """The printed report names the file and line of each unreadable record it skipped."""
    (tmp_path / "a.jsonl").write_text('{"v": 1}\n{"v": \n\n{"v": 2}\noops\n')
    assert main(["infer", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "\nUnreadable records skipped: 2 (a.jsonl line 2, a.jsonl line 5).\n" in out


def test_output_and_set_on_write_mlflow_signatures(lake, tmp_path, capsys):
    """--output writes MLflow's signature JSON; --set-on replaces the inputs in MLmodel, keeping outputs."""
    model = tmp_path / "model"
    shutil.copytree(ROOT / "examples" / "seed_model", model)
    before = load_signature(model)
    out_file = tmp_path / "sig.json"
    args = [
        "infer",
        str(lake),
        "--rows-per-partition",
        "5",
        "--output",
        str(out_file),
        "--set-on",
        str(model),
    ]
    assert main(args) == 0
    written = load_signature(out_file)
    assert [c.name for c in written.inputs] == ["id", "tags", "o", "extra"]
    after = load_signature(model)
    assert after.inputs == written.inputs and after.outputs == before.outputs
    assert json.loads(out_file.read_text())["outputs"] is None
    out = capsys.readouterr().out
    assert f"Signature JSON written to {out_file}\n" in out
    assert out.endswith(f"Signature inputs set in {model / 'MLmodel'}\n")
    assert main(["infer", str(lake), "--set-on", str(model / "MLmodel")]) == 0
    assert capsys.readouterr().out.endswith(f"Signature inputs set in {model / 'MLmodel'}\n")


def test_strict_conflict_fails_with_the_fields(tmp_path, capsys):
    """A conflict under the default policy exits 2 naming the field and the types; widen succeeds."""
    (tmp_path / "a.jsonl").write_text('{"v": 1}\n{"v": "one"}\n')
    assert main(["infer", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    # the report of what was read comes first (the run need not be repeated to see it), the error last
    report, error = captured.err.split("sigbatch infer: error: ")
    assert report.startswith(
        "Inferred from 2 rows (policy strict).\n"
        f"Sampled 1 of 1 partitions of {tmp_path} (json, engine local, seed 0), all rows.\n"
        "  a.jsonl: 2 rows read\n"
    )
    assert "  v                2    100.0%     0.0%  long 1, string 1\n" in report
    assert error.startswith("Values of different types at 1 field path(s)")
    assert """'v': long in 1 row (e.g. 1); string in 1 row (e.g. "one")""" in error
    assert main(["infer", str(tmp_path), "--policy", "widen"]) == 0
    assert "'v': string (required)" in capsys.readouterr().out


def test_config_file_overrides_and_errors(lake, tmp_path, capsys):
    """A config file is read, --set and flags override it; a typo names the key and the closest one."""
    conf = tmp_path / "infer.yaml"
    conf.write_text(f"source:\n  path: {lake}\nengine: local\nsample:\n  max_partitions: 1\n  seed: 4\n")
    assert main(["infer", "--config", str(conf), "--set", "sample.max_partitions=2"]) == 0
    assert "Sampled 2 of 3 partitions" in capsys.readouterr().out
    assert main(["infer", "--config", str(conf), "--set", "sample.seeds=1"]) == 2
    assert "unknown key 'sample.seeds' (did you mean 'sample.seed'?)" in capsys.readouterr().err
    assert main(["infer", "--config", str(conf), "--fraction", "1.5"]) == 2
    assert "key 'sample.fraction' must be in (0, 1]" in capsys.readouterr().err
    assert main(["infer"]) == 2
    assert "missing required key 'source.path'" in capsys.readouterr().err


def test_shipped_config_is_valid():
    """conf/infer.yaml loads and validates (its source is the demo lake, absent until `sigbatch demo`)."""
    from sigbatch.infer.config import load_infer_config

    config = load_infer_config(ROOT / "conf" / "infer.yaml", [f"source.path={ROOT}"])
    assert (config.engine, config.policy, config.rows_per_partition) == ("spark", "strict", 10_000)


@pytest.mark.dask
def test_dask_engine_from_the_command_line(lake, capsys):
    """--engine dask runs the same inference on Dask and prints the same signature."""
    assert main(["infer", str(lake), "--set", "dask.scheduler=threads"]) == 0
    local = capsys.readouterr().out.split("\n\n")[0]
    assert main(["infer", str(lake), "--engine", "dask", "--set", "dask.scheduler=threads"]) == 0
    assert capsys.readouterr().out.split("\n\n")[0].replace("engine dask", "engine local") == local


def test_job_main_runs_the_cli(lake, capsys):
    """jobs/infer_signature.py's main(argv) is `sigbatch infer --engine spark`; a later --engine wins."""
    spec = importlib.util.spec_from_file_location("infer_signature_job", ROOT / "jobs" / "infer_signature.py")
    job = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(job)
    assert job.main([str(lake), "--engine", "local"]) == 0
    assert "engine local" in capsys.readouterr().out
    # its own parser: usage and errors name the script, and the help says Spark is its default
    assert job.main(["/no/such/lake"]) == 2
    assert capsys.readouterr().err == (
        "jobs/infer_signature.py: error: <command line>: key 'source.path': /no/such/lake does not exist\n"
    )
    with pytest.raises(SystemExit):
        job.main(["--help"])
    help_text = capsys.readouterr().out
    assert help_text.startswith("usage: jobs/infer_signature.py ")
    assert "where the per-file work runs (default: the config's engine, else spark)" in " ".join(
        help_text.split()
    )


def test_job_script_engine_yields_to_the_config(lake, tmp_path, capsys):
    """jobs/infer_signature.py runs Spark unless its config (or --engine, or --set) names an engine:
    a config saying `engine: local` runs locally, as `sigbatch infer --config` does."""
    from sigbatch.infer.config import load_infer_config

    spec = importlib.util.spec_from_file_location("infer_signature_job", ROOT / "jobs" / "infer_signature.py")
    job = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(job)
    config = tmp_path / "infer.yaml"
    config.write_text(f"source:\n  path: {lake}\nengine: local\n", encoding="utf-8")
    assert job.main(["--config", str(config)]) == 0
    assert "engine local" in capsys.readouterr().out
    script = {"engine": "spark"}
    assert load_infer_config(config, None, None, script).engine == "local"
    assert load_infer_config(None, None, {"source.path": str(lake)}, script).engine == "spark"
    assert load_infer_config(None, ["engine=dask"], {"source.path": str(lake)}, script).engine == "dask"
    assert load_infer_config(None, None, {"source.path": str(lake)}).engine == "local"


def test_config_checks_scheduler_and_output_paths_before_inferring(lake, tmp_path, capsys):
    """dask.scheduler, output and set_on are checked on load, naming the key; nothing is inferred."""
    from sigbatch import ConfigError
    from sigbatch.infer.config import load_infer_config

    def error(**flags: str) -> str:
        with pytest.raises(ConfigError) as info:
            load_infer_config(None, None, {"source.path": str(lake), **flags})
        return str(info.value)

    assert error(**{"dask.scheduler": "bogus"}) == (
        "<command line>: key 'dask.scheduler' must be one of ['threads', 'threading', 'processes', "
        "'multiprocessing', 'synchronous', 'sync', 'single-threaded'], got 'bogus'"
    )
    assert load_infer_config(
        None, ["dask.scheduler=synchronous"], {"source.path": str(lake)}
    ).dask_scheduler == ("synchronous")
    assert error(output="") == (
        "<command line>: key 'output' is empty; give a file path for the signature JSON, or leave it out"
    )
    assert error(output=str(tmp_path)) == (
        f"<command line>: key 'output': {tmp_path} is a directory; give a file path for the signature JSON"
    )
    # a trailing slash says "a directory", also where none exists (a file named results was written)
    assert error(output=f"{tmp_path / 'results'}/") == (
        f"<command line>: key 'output': {tmp_path / 'results'}/ names a directory (it ends with a slash); "
        "give a file path for the signature JSON"
    )
    missing = tmp_path / "nope" / "sig.json"
    assert error(output=str(missing)) == (
        f"<command line>: key 'output': directory {missing.parent} does not exist (create it first)"
    )
    assert (
        error(set_on="") == "<command line>: key 'set_on' is empty; give a model directory, or leave it out"
    )
    victim = tmp_path / "victim.yaml"
    victim.write_text("# keep me\nengine: spark\n")
    for target in (victim, tmp_path):
        assert error(set_on=str(target)) == (
            f"<command line>: key 'set_on': {target} is not a model directory (a directory with an "
            "MLmodel file) nor an MLmodel file"
        )
    assert victim.read_text() == "# keep me\nengine: spark\n"
    model = tmp_path / "model"
    model.mkdir()
    (model / "MLmodel").write_text("flavors: [unclosed\n")
    assert error(set_on=str(model)) == (
        f"<command line>: key 'set_on': {model / 'MLmodel'}: invalid YAML: expected ',' or ']', but got "
        "'<stream end>' at line 2, column 1 (while parsing a flow sequence)"
    )
    (model / "MLmodel").write_text('signature:\n  inputs: \'[{"type": "strin", "name": "a"}]\'\n')
    assert error(set_on=str(model)).startswith(
        f"<command line>: key 'set_on': {model / 'MLmodel'}: key signature.inputs[0].type: unsupported type "
        "'strin'"
    )
    written = tmp_path / "sig.json"
    assert main(["infer", str(lake), "--set-on", str(model), "--output", str(written)]) == 2
    assert not written.exists()  # refused before any work: nothing written
    assert capsys.readouterr().err.startswith("sigbatch infer: error: <command line>: key 'set_on': ")
    assert main(["infer", str(lake), "--output", ""]) == 2
    assert capsys.readouterr().err == (
        "sigbatch infer: error: <command line>: key 'output' is empty; give a file path for the "
        "signature JSON, or leave it out\n"
    )


def test_an_empty_source_is_refused_naming_the_key_and_where_it_came_from(lake, tmp_path, capsys):
    """`sigbatch infer ""`, source.path: "" in --config and --set source.path="" are refused: an
    empty path was read as the working directory. An error names what set the key, not the file."""
    empty = "key 'source.path' is empty; give a file or directory of Parquet, JSON lines or CSV files"
    for source in ("", "file://", "file://localhost"):  # a file: URI naming no path is empty too
        assert main(["infer", source]) == 2
        assert capsys.readouterr().err == f"sigbatch infer: error: <command line>: {empty}\n"
    conf = tmp_path / "infer.yaml"
    conf.write_text("source:\n  path: ''\nengine: local\n")
    assert main(["infer", "--config", str(conf)]) == 2
    assert capsys.readouterr().err == f"sigbatch infer: error: {conf}: {empty}\n"
    assert main(["infer", "--config", str(conf), "--set", "source.path=''"]) == 2
    assert capsys.readouterr().err == f"sigbatch infer: error: --set: {empty}\n"
    assert main(["infer", "--config", str(conf), ""]) == 2
    assert capsys.readouterr().err == f"sigbatch infer: error: <command line>: {empty}\n"
    assert main(["infer", str(lake), "--config", str(conf), "--output", ""]) == 2
    assert capsys.readouterr().err == (
        "sigbatch infer: error: <command line>: key 'output' is empty; give a file path for the "
        "signature JSON, or leave it out\n"
    )
    assert main(["infer", str(lake), "--config", str(conf), "--set", "sample.fraction=2"]) == 2
    assert (
        capsys.readouterr().err
        == "sigbatch infer: error: --set: key 'sample.fraction' must be in (0, 1], got 2\n"
    )


def test_source_uris_file_is_read_others_are_refused_clearly(lake, capsys):
    """A file: URI names a local lake; hdfs:// or s3a:// is refused with what to do instead."""
    from sigbatch.infer.config import load_infer_config

    assert load_infer_config(None, None, {"source.path": lake.as_uri()}).source == str(lake)
    assert main(["infer", "s3a://bucket/lake"]) == 2
    assert capsys.readouterr().err == (
        "sigbatch infer: error: <command line>: key 'source.path': s3a://bucket/lake is a s3a:// URI; "
        "sigbatch infer reads the lake's files as paths that the driver (and, with --engine spark, every "
        "executor) can open: a local disk or a shared mount. For a lake on HDFS or S3, read it with Spark "
        "and call sigbatch.spark.infer_schema(spark.read.format(...).load(path)) (see docs/spark.md)\n"
    )


def test_write_json_to_a_directory_or_a_missing_one_is_clear(lake, tmp_path):
    """InferenceResult.write_json names the path when it cannot be a file there."""
    from sigbatch import SignatureFileError
    from sigbatch.infer import infer_files

    result = infer_files(lake)
    with pytest.raises(SignatureFileError) as info:
        result.write_json(tmp_path)
    assert str(info.value) == f"{tmp_path}: is a directory; give a file path for the signature JSON"
    with pytest.raises(SignatureFileError) as info:
        result.write_json(f"{tmp_path}/results/")
    assert str(info.value) == (
        f"{tmp_path}/results/: names a directory (it ends with a slash); give a file path for the signature JSON"
    )
    assert not (tmp_path / "results").exists()
    with pytest.raises(SignatureFileError) as info:
        result.write_json(tmp_path / "nope" / "s.json")
    assert (
        str(info.value)
        == f"{tmp_path / 'nope' / 's.json'}: directory {tmp_path / 'nope'} does not exist (create it first)"
    )
