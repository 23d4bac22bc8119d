"""Where the demo and replay commands write: only their own outputs, clear errors, progress on a terminal only."""

from __future__ import annotations

import io
import json
import re
import sys
from pathlib import Path

import pytest

from sigbatch.cli import main
from sigbatch.demo import DEMO_MARKER, DEMO_SIGNATURE, run_demo
from sigbatch.errors import ConfigError, SignatureError
from sigbatch.replay import replay

ROWS = "100"
# Dask's own bar (dask.diagnostics.ProgressBar), which appears only when scoring takes over 2 s.
DASK_BAR = re.compile(r"(\r\[[# ]{40}\] \| +\d+% Completed \| [\d.]+ [a-z]+)*\n?")


class Terminal(io.StringIO):
    """A stderr that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def demo(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``sigbatch demo --rows 100 ARGV`` -> (exit status, stdout, stderr)."""
    status = main(["demo", "--rows", ROWS, *argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def tree(directory: Path) -> dict[str, bytes]:
    """Every file under ``directory`` with its content."""
    return {p.relative_to(directory).as_posix(): p.read_bytes() for p in directory.rglob("*") if p.is_file()}


# --- demo --overwrite replaces only an earlier demo's output ----------------------------------


def test_demo_overwrite_refuses_a_directory_the_demo_did_not_write(tmp_path, capsys):
    """--overwrite on a directory of the user's files: one line naming what is there, exit 2, nothing touched."""
    mine = tmp_path / "mine"
    (mine / "lake").mkdir(parents=True)
    (mine / "lake" / "events.jsonl").write_text('{"id": 1}\n')
    (mine / "scored").mkdir()
    (mine / "scored" / "keep.parquet").write_text("not really parquet")
    (mine / "notes.txt").write_text("my notes")
    before = tree(mine)
    status, out, err = demo(capsys, "--output", str(mine), "--overwrite")
    assert (status, out) == (2, "")
    assert err == (
        f"sigbatch demo: error: --output {mine} holds files that `sigbatch demo` did not write "
        "(lake/, notes.txt, scored/); choose a new or empty directory "
        "(--overwrite replaces only an earlier demo's output)\n"
    )
    assert tree(mine) == before


def test_demo_refuses_many_entries_naming_the_first_five(tmp_path, capsys):
    """A directory of many entries is named by its first five, sorted, and how many more."""
    for name in "abcdefg":
        (tmp_path / f"{name}.txt").write_text(name)
    status, _, err = demo(capsys, "--output", str(tmp_path), "--overwrite")
    assert status == 2
    assert err == (
        f"sigbatch demo: error: --output {tmp_path} holds files that `sigbatch demo` did not write "
        "(a.txt, b.txt, c.txt, d.txt, e.txt and 2 more); choose a new or empty directory "
        "(--overwrite replaces only an earlier demo's output)\n"
    )


def test_demo_overwrite_replaces_an_earlier_demo_s_output(tmp_path, capsys):
    """A demo's own output (marked by _sigbatch_demo.json) needs --overwrite, which replaces it."""
    out = tmp_path / "demo"
    assert demo(capsys, "--output", str(out))[0] == 0
    assert json.loads((out / DEMO_MARKER).read_text()) == {
        "written_by": "sigbatch demo",
        "model": "python:sigbatch.examples.models:tag_counter",
        "rows": 100,
        "files": 4,
    }
    status, out_text, err = demo(capsys, "--output", str(out))
    assert (status, out_text) == (2, "")
    assert err == (
        f"sigbatch demo: error: {out} holds an earlier demo's output; pass --overwrite to replace it "
        "or choose another --output\n"
    )
    status, out_text, err = demo(capsys, "--output", str(out), "--overwrite")
    assert (status, err) == (0, "")
    assert json.loads((out / "_sigbatch_manifest.json").read_text())["counts"]["rows_in"] == 100


def test_demo_overwrite_recognises_a_demo_output_from_before_the_marker(tmp_path, capsys):
    """An earlier version's demo output (no marker) is recognised by its manifest: the demo's model and lake."""
    out = tmp_path / "demo"
    run_demo(out, rows=100)
    (out / DEMO_MARKER).unlink()
    status, _, err = demo(capsys, "--output", str(out), "--overwrite")
    assert (status, err) == (0, "")


def test_demo_overwrite_recognises_an_old_demo_run_from_another_directory(tmp_path, capsys, monkeypatch):
    """The old manifest holds the lake's path as given (relative to where that demo ran): the
    output is still recognised when the new demo runs from elsewhere."""
    monkeypatch.chdir(tmp_path)
    run_demo("demo", rows=100)
    (tmp_path / "demo" / DEMO_MARKER).unlink()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    status, _, err = demo(capsys, "--output", str(tmp_path / "demo"), "--overwrite")
    assert (status, err) == (0, "")


def test_demo_writes_into_an_empty_directory(tmp_path, capsys):
    """An empty directory needs no --overwrite."""
    status, _, err = demo(capsys, "--output", str(tmp_path))
    assert (status, err) == (0, "")
    assert (tmp_path / DEMO_MARKER).is_file()


# --- demo --output that cannot be a directory --------------------------------------------------


def test_demo_output_that_is_a_file_is_one_error_line(tmp_path, capsys):
    """--output naming a file: one line, exit 2, the file untouched."""
    target = tmp_path / "report.txt"
    target.write_text("keep")
    status, out, err = demo(capsys, "--output", str(target))
    assert (status, out) == (2, "")
    assert (
        err
        == f"sigbatch demo: error: --output {target} is a file, not a directory; choose another --output\n"
    )
    assert target.read_text() == "keep"


@pytest.mark.parametrize(
    ("under", "problem"), [("file", "Not a directory"), ("proc", "No such file or directory")]
)
def test_demo_output_that_cannot_be_created_is_one_error_line(tmp_path, capsys, under, problem):
    """--output below a file, or in /proc: one line saying it cannot be created, exit 2, no traceback."""
    if under == "file":
        (tmp_path / "f").write_text("x")
        target = str(tmp_path / "f" / "sub")
    else:
        target = "/proc/sigbatch-demo-test"
    status, out, err = demo(capsys, "--output", target)
    assert (status, out) == (2, "")
    assert err == (
        f"sigbatch demo: error: --output {target}: cannot create it or write in it ({problem}); "
        "choose another --output\n"
    )


# --- demo progress: on a terminal only ---------------------------------------------------------

DEMO_STEPS = (
    "\rsigbatch demo: writing the lake: 1/4 files, 25 rows"
    "\rsigbatch demo: writing the lake: 2/4 files, 50 rows"
    "\rsigbatch demo: writing the lake: 3/4 files, 75 rows"
    "\rsigbatch demo: writing the lake: 4/4 files, 100 rows\n"
    "sigbatch demo: inferring the signature from 1,000 clean training rows\n"
    "sigbatch demo: scoring the lake with Dask (python:sigbatch.examples.models:tag_counter)\n"
)


def test_demo_shows_its_steps_on_a_terminal(tmp_path, capsys, monkeypatch):
    """On a terminal the demo shows each step on stderr (and Dask's bar on long runs); stdout is the summary."""
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(["demo", "--rows", ROWS, "--output", str(tmp_path / "demo")]) == 0
    err = terminal.getvalue()
    assert err[: len(DEMO_STEPS)] == DEMO_STEPS
    assert DASK_BAR.fullmatch(err[len(DEMO_STEPS) :])
    assert capsys.readouterr().out.startswith(
        "sigbatch demo: scored a 100-row seed-shaped lake (4 JSON-lines files) with Dask in "
    )


def test_demo_is_quiet_off_a_terminal_and_with_quiet(tmp_path, capsys, monkeypatch):
    """stderr not a terminal, or --quiet: nothing on stderr."""
    assert demo(capsys, "--output", str(tmp_path / "a"))[2] == ""
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(["demo", "--rows", ROWS, "--output", str(tmp_path / "b"), "--quiet"]) == 0
    assert terminal.getvalue() == ""


def test_run_demo_progress_goes_to_the_stream_given(tmp_path):
    """``run_demo(progress=stream)`` writes the steps there; the rows are make_rows' (file by file)."""
    stream = io.StringIO()
    summary = run_demo(tmp_path / "demo", rows=100, progress=stream)
    assert stream.getvalue() == DEMO_STEPS
    assert summary.rows_in == 100 and summary.files == 4


# --- replay --signature without inputs ---------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        'outputs: [{"type": "double", "name": "score"}]\n',
        'params: [{"name": "t", "type": "double", "default": 1.0}]\n',
    ],
)
def test_replay_signature_file_without_inputs_is_named(tmp_path, capsys, text):
    """A signature file with only outputs or only params: the file has no input schema; replay needs one."""
    sig = tmp_path / "fixed.yaml"
    sig.write_text(text)
    out = tmp_path / "demo"
    run_demo(out, rows=100)
    before = tree(out)
    assert main(["replay", str(out), "--signature", str(sig)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        f"sigbatch replay: error: --signature {sig}: the signature file has no input schema (no 'inputs'); "
        "replay enforces the quarantined rows against the input schema, so it needs one: "
        "give a signature with inputs\n"
    )
    assert tree(out) == before


def test_replay_of_a_signature_without_inputs_raises_before_reading(tmp_path):
    """``replay()`` refuses a signature without inputs before it reads the output."""
    with pytest.raises(SignatureError) as caught:
        replay(tmp_path / "nothing-here", type(DEMO_SIGNATURE)(None, DEMO_SIGNATURE.outputs))
    assert str(caught.value) == (
        "the signature has no input schema (inputs); replay enforces the quarantined rows against it"
    )


@pytest.mark.parametrize("rows", ["0", "-5"])
def test_demo_rows_below_one_names_only_the_option(tmp_path, capsys, rows):
    """``demo --rows 0``: one line naming --rows and its value (not the files, which is no option); exit 2, nothing written."""
    out = tmp_path / "demo"
    assert main(["demo", "--rows", rows, "--output", str(out)]) == 2
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == (
        "",
        f"sigbatch demo: error: --rows must be at least 1, got {rows}\n",
    )
    assert not out.exists()
    with pytest.raises(ConfigError) as caught:
        run_demo(out, rows=10, files=0)
    assert str(caught.value) == "files must be at least 1, got 0"


@pytest.mark.parametrize("model", ["", "  "])
def test_replay_with_an_empty_model_is_refused(tmp_path, capsys, model):
    """``replay --model ""`` is an error (not the manifest's model): one line, exit 2, nothing written."""
    sig = tmp_path / "fixed.json"
    sig.write_text(json.dumps(DEMO_SIGNATURE.to_dict()))
    out = tmp_path / "demo"
    run_demo(out, rows=100)
    before = tree(out)
    assert main(["replay", str(out), "--signature", str(sig), "--model", model]) == 2
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == (
        "",
        "sigbatch replay: error: --model is empty: give a model URI, or leave --model out to use the one "
        "in the manifest\n",
    )
    assert tree(out) == before
    assert not (out / "replayed").exists()
