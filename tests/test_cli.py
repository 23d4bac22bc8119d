"""The command line: show and demo, with clear errors instead of tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from types import ModuleType

import pyarrow.parquet as pq
import pytest

from sigbatch.cli import main


def test_show_prints_mlflow_form(capsys):
    """`sigbatch show` on the shipped example prints MLflow's exact printed form."""
    assert main(["show", "examples/seed_model"]) == 0
    assert capsys.readouterr().out.startswith(
        "inputs: \n  ['a': Array(string) (required), 'b': string (optional), "
        "'c': {d: string (required), e: string (optional)} (required)]\noutputs: \n"
    )


def test_show_json_is_the_mlmodel_mapping(capsys):
    """`--format json` prints the signature mapping MLflow writes under `signature:`."""
    assert main(["show", "examples/seed_signature.json", "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["params"] is None
    assert json.loads(out["inputs"])[0] == {
        "type": "array",
        "items": {"type": "string"},
        "name": "a",
        "required": True,
    }


def test_a_closed_output_pipe_ends_the_command_quietly():
    """`sigbatch show ... | head`: when the reader of the output has gone, the command ends with
    status 141 (as SIGPIPE ends a command) and says nothing on stderr (it printed two tracebacks)."""
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first write
    try:
        done = subprocess.run(
            [sys.executable, "-m", "sigbatch.cli", "show", "examples/seed_model"],
            stdout=write_end,
            stderr=subprocess.PIPE,
            check=False,
        )
    finally:
        os.close(write_end)
    assert (done.returncode, done.stderr) == (141, b"")


def test_show_missing_file_is_a_clear_error(capsys, tmp_path):
    """A missing path exits 2 with one line naming it, no traceback."""
    assert main(["show", str(tmp_path / "nope.json")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("sigbatch show: error: ") and "nope.json: no such file" in err


def test_demo_accounts_for_every_row(tmp_path, capsys):
    """`sigbatch demo` writes scored and quarantine Parquet whose counts add up to the rows generated."""
    out = tmp_path / "demo"
    assert main(["demo", "--rows", "2000", "--output", str(out)]) == 0
    text = capsys.readouterr().out
    manifest = json.loads((out / "_sigbatch_manifest.json").read_text())
    counts = manifest["counts"]
    scored = pq.read_table(out / "scored").num_rows
    quarantined = pq.read_table(out / "quarantine").num_rows
    assert counts["rows_in"] == 2000 == scored + quarantined
    assert counts["rows_scored"] == scored and counts["rows_quarantined"] == quarantined
    # The lake is JSON lines read as Arrow: an absent key is a null, so `a`, `c` and `c.d` report
    # NULL_REQUIRED; `c.z` is INVALID_OBJECT; "boom" makes the model raise (MODEL_ERROR).
    assert set(counts["quarantined_by_code"]) == {"NULL_REQUIRED", "INVALID_OBJECT", "MODEL_ERROR"}
    assert set(counts["quarantined_by_stage"]) == {"input", "model"}
    assert manifest["engine"] == "dask" and manifest["config"]["source.format"] == "json"
    assert "rows in               2,000" in text
    assert f"sigbatch score --engine dask --config {out / 'score_dask.yaml'}" in text
    assert main(["demo", "--rows", "10", "--output", str(out)]) == 2


def test_demo_signature_is_inferred(tmp_path):
    """The demo's signature is what inference finds on clean seed-shaped rows, and is written for reuse."""
    from sigbatch import load_signature
    from sigbatch.demo import DEMO_SIGNATURE, infer_demo_signature

    assert infer_demo_signature() == DEMO_SIGNATURE
    out = tmp_path / "demo"
    assert main(["demo", "--rows", "200", "--output", str(out)]) == 0
    assert load_signature(out / "signature.json") == DEMO_SIGNATURE
    assert main(["score", "--config", str(out / "score_dask.yaml"), "--quiet"]) == 0
    assert json.loads((out / "rescored" / "_sigbatch_manifest.json").read_text())["counts"]["rows_in"] == 200


def test_show_arrow_and_spark_forms_keep_nullability(capsys):
    """`--format arrow` and `--format spark` show required columns as non-nullable."""
    assert main(["show", "examples/seed_model", "--format", "arrow"]) == 0
    out = capsys.readouterr().out
    assert "  a: list<item: string> not null\n" in out and "  b: string\n" in out
    assert main(["show", "examples/seed_model", "--format", "spark"]) == 0
    out = capsys.readouterr().out
    assert " |-- a: array (nullable = false)" in out and " |    |-- e: string (nullable = true)" in out


def _job(name: str) -> ModuleType:
    """The module of ``jobs/<name>.py``."""
    import importlib.util
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location(name, root / "jobs" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_job_scripts_name_their_engine(capsys):
    """jobs/score_dask.py runs Dask, jobs/score_spark.py and jobs/audit_quarantine.py Spark: an
    --engine flag is refused."""
    for name, engine, args in (
        ("score_dask", "dask", ["--config", "conf/score_dask.yaml"]),
        ("score_spark", "spark", ["--config", "conf/score_dask.yaml"]),
        ("audit_quarantine", "spark", ["some-output"]),  # a later --engine local ran the local audit
    ):
        module = _job(name)
        for flag in (["--engine", "spark"], ["--engine=dask"], ["--eng", "spark"], ["--en=dask"]):
            assert module.main([*args, *flag]) == 2
            assert capsys.readouterr().err == (
                f"jobs/{name}.py: error: this job runs the {engine} engine; --engine is not an option here\n"
            )


@pytest.mark.parametrize("engine", ["dask", "spark"])
def test_job_script_help_and_errors_name_the_script_and_its_options(capsys, monkeypatch, engine):
    """jobs/score_<engine>.py --help shows the script's name and its options only (no --engine); its errors name it."""
    monkeypatch.setenv("COLUMNS", "100")
    module = _job(f"score_{engine}")
    with pytest.raises(SystemExit) as done:
        module.main(["--help"])
    assert done.value.code == 0
    assert capsys.readouterr().out == (
        f"usage: jobs/score_{engine}.py [-h] [--config CONFIG] [--set KEY=VALUE] [--quiet]\n"
        "\n"
        f"The same job as `sigbatch score --engine {engine}`.\n"
        "\n"
        "options:\n"
        "  -h, --help       show this help message and exit\n"
        f"  --config CONFIG  a YAML config (see conf/score_{engine}.yaml)\n"
        "  --set KEY=VALUE  override a config key (repeatable)\n"
        "  --quiet          no progress bar\n"
    )
    with pytest.raises(SystemExit) as done:
        module.main(["--bogus"])
    assert done.value.code == 2
    assert capsys.readouterr().err == (
        f"usage: jobs/score_{engine}.py [-h] [--config CONFIG] [--set KEY=VALUE] [--quiet]\n"
        f"jobs/score_{engine}.py: error: unrecognized arguments: --bogus\n"
    )
    assert module.main(["--config", "no-such-config.yaml"]) == 2
    err = capsys.readouterr().err  # the problem's wording is sigbatch.config's; the prefix is the script's
    assert err.startswith(f"jobs/score_{engine}.py: error: no-such-config.yaml: ") and err.count("\n") == 1


def test_the_audit_job_script_names_itself_in_its_usage(capsys, monkeypatch):
    """jobs/audit_quarantine.py's usage names the script and has no --engine (it said 'sigbatch audit')."""
    monkeypatch.setenv("COLUMNS", "200")
    with pytest.raises(SystemExit) as done:
        _job("audit_quarantine").main(["--bogus"])
    assert done.value.code == 2
    assert capsys.readouterr().err == (
        "usage: jobs/audit_quarantine.py [-h] [--html PATH] [--json PATH] [--top-paths TOP_PATHS] "
        "[--top-values TOP_VALUES] [--examples EXAMPLES] [--no-drift] [--original] OUTPUT_DIR\n"
        "jobs/audit_quarantine.py: error: the following arguments are required: OUTPUT_DIR\n"
    )
    # --e is a prefix of its own --examples, not a refused --engine
    assert _job("audit_quarantine").main(["no-such-output", "--e", "2"]) == 2
    assert capsys.readouterr().err == (
        "jobs/audit_quarantine.py: error: no-such-output/_sigbatch_manifest.json: no manifest "
        "(is no-such-output the output directory of a sigbatch job?)\n"
    )


def test_ctrl_c_ends_a_dask_job_at_once(tmp_path):
    """Ctrl-C while a model call is running: the command exits with 130 at once (the worker thread
    is not waited for) and leaves no output behind."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from sigbatch.demo import DEMO_SIGNATURE, make_rows

    (tmp_path / "sleepy.py").write_text(
        "import pathlib, time\n"
        f"MARK = pathlib.Path({str(tmp_path / 'started')!r})\n"
        "def model(frame):\n"
        "    MARK.touch()\n"
        "    time.sleep(120)\n"
        "    return frame['b'].isna().astype('float64').rename('score')\n"
    )
    (tmp_path / "lake").mkdir()
    (tmp_path / "lake" / "part.jsonl").write_text("".join(json.dumps(r) + "\n" for r in make_rows(200)))
    sig = tmp_path / "signature.json"
    sig.write_text(json.dumps(DEMO_SIGNATURE.to_dict()))
    env = dict(os.environ, PYTHONPATH=str(tmp_path))
    command = [sys.executable, "-m", "sigbatch.cli", "score", "--quiet"]
    for setting in (
        f"source.path={tmp_path / 'lake'}",
        "source.format=json",
        "model=python:sleepy:model",
        f"signature={sig}",
        f"output.path={tmp_path / 'out'}",
    ):
        command += ["--set", setting]
    job = subprocess.Popen(
        command,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        for _ in range(600):  # until the model is running (or the job ended on its own)
            if (tmp_path / "started").exists() or job.poll() is not None:
                break
            time.sleep(0.1)
        assert (tmp_path / "started").exists()
        job.send_signal(signal.SIGINT)
        assert job.wait(timeout=60) == 130  # the model call alone would take 120 s
        assert job.stderr is not None and job.stderr.read().endswith("interrupted\n")
    finally:
        job.kill()
    assert [p.name for p in (tmp_path / "out").iterdir()] == []


def test_help_lists_every_command_and_the_audit_defaults(capsys, monkeypatch):
    """``sigbatch --help`` names every command (demo and replay too); ``audit --help`` shows the defaults docs/audit.md gives."""
    monkeypatch.setenv("COLUMNS", "200")
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert (
        "\nMLflow-compatible model signatures for batch data: show, infer, score, audit, replay, demo.\n"
        in out
    )
    for command in ("show", "infer", "score", "audit", "replay", "demo"):
        assert f"\n    {command} " in out
    with pytest.raises(SystemExit):
        main(["audit", "--help"])
    text = " ".join(capsys.readouterr().out.split())  # argparse wraps as the terminal's width says
    assert " --top-paths TOP_PATHS paths detailed with values and examples (default 10) " in text
    assert " --top-values TOP_VALUES most frequent offending values per path (default 5) " in text
    assert " --examples EXAMPLES example rows per path (default 3) " in text
