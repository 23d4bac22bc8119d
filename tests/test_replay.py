"""Replay: a corrected signature scores exactly the rows it admits, and the accounting holds throughout."""

from __future__ import annotations

import io
import json
import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from sigbatch.audit import AuditOptions, audit
from sigbatch.cli import main
from sigbatch.demo import DEMO_SIGNATURE, run_demo
from sigbatch.manifest import AccountingError
from sigbatch.replay import replay, stale_temporaries
from sigbatch.types import Array, ColSpec, ModelSignature, Object, Property, Schema
from tests.test_audit import injected_faults, source_location
from tests.test_audit_errors import corrupt_pages

ROWS = 2_000
# The demo's signature, corrected to accept the extra property c.z that some records carry.
CORRECTED = ModelSignature(
    Schema(
        [
            ColSpec(Array("string"), "a"),
            ColSpec("string", "b", required=False),
            ColSpec(
                Object(
                    [
                        Property("d", "string"),
                        Property("e", "string", required=False),
                        Property("z", "string", required=False),
                    ]
                ),
                "c",
            ),
        ]
    ),
    DEMO_SIGNATURE.outputs,
)


def fixed_counter(frame: pd.DataFrame) -> pd.Series:
    """The demo model after a fix: it scores the value 'boom' instead of raising."""
    return pd.Series(
        [float(len(t) + len(c.get("d") or "")) for t, c in zip(frame["a"], frame["c"], strict=True)],
        name="score",
    )


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One demo output with known faults, copied for each test (replay changes it)."""
    out = tmp_path_factory.mktemp("replay") / "demo"
    run_demo(out, rows=ROWS)
    return out


@pytest.fixture
def output(pristine: Path, tmp_path: Path) -> Path:
    """A fresh copy of the demo output."""
    return Path(shutil.copytree(pristine, tmp_path / "demo"))


def _accounting(out: Path) -> tuple[int, int, int, int]:
    """(rows in, scored, replayed, still quarantined), counted from the files themselves."""
    doc = json.loads((out / "_sigbatch_manifest.json").read_text())

    def rows(name: str) -> int:
        return sum(pq.ParquetFile(p).metadata.num_rows for p in (out / name).glob("*.parquet"))

    return doc["counts"]["rows_in"], rows("scored"), rows("replayed"), rows("quarantine_after_replay")


def test_corrected_signature_replays_exactly_the_rows_it_admits(output):
    """Admitting c.z scores exactly the records that carry it; the rest stay quarantined; rows in = sum."""
    faults = injected_faults(output)
    admitted = {loc for loc, (path, _, _) in faults.items() if path == "c.z"}
    result = replay(output, CORRECTED)
    assert (result.rows_considered, result.rows_replayed) == (len(faults), len(admitted))
    assert result.rows_still_quarantined == len(faults) - len(admitted)

    replayed = pq.read_table(output / "replayed")
    assert {source_location(r) for r in replayed.to_pylist()} == admitted
    assert replayed.column("score").null_count == 0
    still = pq.read_table(output / "quarantine_after_replay")
    assert {source_location(r) for r in still.to_pylist()} == set(faults) - admitted
    expected_codes = Counter(code for path, code, _ in faults.values() if path != "c.z")
    assert dict(result.still_quarantined_by_code) == dict(expected_codes)

    rows_in, scored, replayed_rows, still_rows = _accounting(output)
    assert rows_in == ROWS and rows_in == scored + replayed_rows + still_rows
    entry = json.loads((output / "_sigbatch_manifest.json").read_text())["replays"][-1]
    assert entry["rows_replayed"] == len(admitted) and entry["rows_still_quarantined"] == still_rows
    assert entry["accounting"] == {
        "rows_in": rows_in,
        "rows_scored": scored,
        "rows_replayed": replayed_rows,
        "rows_still_quarantined": still_rows,
    }
    assert len(entry["signature_hash"]) == 64 and entry["time"].endswith("Z")
    # the original run's record is untouched
    assert pq.read_table(output / "quarantine").num_rows == len(faults)


def test_same_signature_admits_nothing_and_a_model_fix_admits_model_errors(output):
    """Replaying unchanged admits no row; after a model fix only the MODEL_ERROR rows are scored."""
    faults = injected_faults(output)
    first = replay(output, DEMO_SIGNATURE)
    assert first.rows_replayed == 0 and first.rows_still_quarantined == len(faults)
    second = replay(output, DEMO_SIGNATURE, model="python:tests.test_replay:fixed_counter")
    model_errors = {loc for loc, (_, code, _) in faults.items() if code == "MODEL_ERROR"}
    assert second.source == "quarantine_after_replay" and second.rows_replayed == len(model_errors)
    assert {source_location(r) for r in pq.read_table(output / "replayed").to_pylist()} == model_errors
    third = replay(output, CORRECTED, model="python:tests.test_replay:fixed_counter")
    assert third.rows_replayed_total == second.rows_replayed + third.rows_replayed
    rows_in, scored, replayed_rows, still_rows = _accounting(output)
    assert rows_in == scored + replayed_rows + still_rows
    assert [r["replay"] for r in json.loads((output / "_sigbatch_manifest.json").read_text())["replays"]] == [
        1,
        2,
        3,
    ]
    # the audit reads the current quarantine and keeps the books across the replays
    summary = audit(output)
    assert summary.quarantine == "quarantine_after_replay" and summary.accounting_ok
    assert (summary.rows_replayed, summary.rows_quarantined) == (replayed_rows, still_rows)
    original = audit(output, options=AuditOptions(quarantine="original"))
    assert original.rows_quarantined == len(faults)


def test_broken_accounting_raises_and_changes_nothing(output):
    """When rows in != scored + replayed + still quarantined, replay raises AccountingError and leaves no trace."""
    before = (output / "_sigbatch_manifest.json").read_text()
    next(iter(sorted((output / "scored").glob("*.parquet")))).unlink()  # rows went missing
    with pytest.raises(AccountingError, match="accounting failed"):
        replay(output, CORRECTED)
    assert (output / "_sigbatch_manifest.json").read_text() == before
    assert not (output / "quarantine_after_replay").exists()
    assert not list((output / "replayed").glob("*"))
    assert not [p for p in output.iterdir() if p.name.startswith(".")]


def test_files_left_by_an_interrupted_replay_are_refused(output):
    """Replayed rows on disk that the manifest does not account for stop the next replay."""
    replay(output, CORRECTED)
    stray = output / "replayed" / "replay-009-part.00000.parquet"
    shutil.copy(next(iter((output / "replayed").glob("*.parquet"))), stray)
    with pytest.raises(AccountingError) as err:
        replay(output, CORRECTED)
    assert "interrupted" in str(err.value)
    assert "(replay-009-part.00000.parquet) and run again" in str(err.value)


def test_replay_uses_the_job_s_profile_unless_told(output):
    """A replay enforces with the profile the job ran with (from the manifest), or the one given."""
    manifest = output / "_sigbatch_manifest.json"
    doc = json.loads(manifest.read_text())
    doc["config"]["profile"] = "strict"
    manifest.write_text(json.dumps(doc))
    replay(output, CORRECTED)
    replay(output, CORRECTED, profile="lenient")
    assert [r["profile"] for r in json.loads(manifest.read_text())["replays"]] == ["strict", "lenient"]


def test_cli_replay(output, tmp_path, capsys):
    """``sigbatch replay OUTPUT --signature FILE`` replays and prints the accounting."""
    sig_file = tmp_path / "corrected.json"
    sig_file.write_text(json.dumps(CORRECTED.to_dict()))
    assert main(["replay", str(output), "--signature", str(sig_file)]) == 0
    text = capsys.readouterr().out
    assert "rows replayed" in text and "accounting ok" in text
    assert main(["replay", str(output / "nope"), "--signature", str(sig_file)]) == 2


def test_read_manifest_reads_a_replayed_output(output):
    """``read_manifest`` still reads the manifest once a replay added its ``replays`` entry."""
    from sigbatch.manifest import read_manifest

    replay(output, CORRECTED)
    manifest = read_manifest(output)
    assert manifest.counts.rows_in == ROWS
    assert len(manifest.replays) == 1


class Terminal(io.StringIO):
    """A stderr that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def test_cli_replay_shows_a_line_per_quarantine_file_on_a_terminal(output, tmp_path, capsys, monkeypatch):
    """On a terminal, replay redraws one progress line per quarantine file on stderr; off it, or --quiet: nothing."""
    sig_file = tmp_path / "corrected.json"
    sig_file.write_text(json.dumps(CORRECTED.to_dict()))
    sizes = [pq.ParquetFile(p).metadata.num_rows for p in sorted((output / "quarantine").glob("*.parquet"))]
    assert sizes == [14, 11, 15, 17]
    terminal = Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(["replay", str(output), "--signature", str(sig_file)]) == 0
    assert terminal.getvalue() == (
        "\rsigbatch replay: 0/4 quarantine files, 0 rows"
        "\rsigbatch replay: 1/4 quarantine files, 14 rows"
        "\rsigbatch replay: 2/4 quarantine files, 25 rows"
        "\rsigbatch replay: 3/4 quarantine files, 40 rows"
        "\rsigbatch replay: 4/4 quarantine files, 57 rows\n"
    )
    assert capsys.readouterr().out.startswith("sigbatch replay #1: ")
    quiet = Terminal()
    monkeypatch.setattr(sys, "stderr", quiet)
    assert main(["replay", str(output), "--signature", str(sig_file), "--quiet"]) == 0
    assert quiet.getvalue() == ""
    monkeypatch.undo()
    assert main(["replay", str(output), "--signature", str(sig_file)]) == 0
    assert capsys.readouterr().err == ""


# A replay that dies by SIGTERM while replaying its third quarantine file (after two were written).
_KILLED_REPLAY = """
import os, signal, sys
import sigbatch.replay as r
from tests.test_replay import CORRECTED
real, calls = r._replay_file, []
def dying(*args, **kwargs):
    calls.append(1)
    if len(calls) == 3:
        os.kill(os.getpid(), signal.SIGTERM)
    return real(*args, **kwargs)
r._replay_file = dying
r.replay(sys.argv[1], CORRECTED)
"""


def _hidden(out: Path) -> list[str]:
    """Hidden entries anywhere under ``out``, relative to it."""
    return sorted(p.relative_to(out).as_posix() for p in out.rglob(".*"))


def test_the_next_replay_removes_what_a_replay_killed_by_sigterm_left(output):
    """A replay killed by SIGTERM leaves hidden temporaries; the next replay removes them (and only them) and names them."""
    before = (output / "_sigbatch_manifest.json").read_text()
    killed = subprocess.run(
        [sys.executable, "-c", _KILLED_REPLAY, str(output)],
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        check=False,
    )
    assert killed.returncode == -signal.SIGTERM
    left = _hidden(output)
    assert [re.sub(r"tmp-[0-9a-f]{8}", "tmp-X", name) for name in left] == [
        ".quarantine_after_replay.tmp-X",
        "replayed/.replay-001-part.00000.parquet.tmp-X",
        "replayed/.replay-001-part.00001.parquet.tmp-X",
    ]
    assert [p.as_posix() for p in stale_temporaries(output)] == [(output / name).as_posix() for name in left]
    assert (output / "_sigbatch_manifest.json").read_text() == before
    # Names like a replay's that a replay never writes are not touched.
    keep = [output / ".quarantine_after_replay.tmp-notours", output / "replayed" / ".replay-notes.txt"]
    for path in keep:
        path.write_text("mine")

    result = replay(output, CORRECTED)
    assert result.removed_temporaries == tuple(left)
    assert result.replay == 1 and result.rows_replayed == 13
    assert result.text().endswith(f"  removed 3 temporaries an interrupted replay left: {', '.join(left)}\n")
    assert _hidden(output) == sorted(p.relative_to(output).as_posix() for p in keep)
    rows_in, scored, replayed_rows, still_rows = _accounting(output)
    assert rows_in == scored + replayed_rows + still_rows
    assert replay(output, CORRECTED).removed_temporaries == ()


def test_one_replay_at_a_time_and_its_temporaries_are_safe(output):
    """While a replay runs (it holds the output's lock), another is refused before touching
    anything, so it can never take the running one's temporaries for an interrupted one's."""
    from sigbatch.errors import ConfigError
    from sigbatch.replay import _replay_lock

    live = output / ".quarantine_after_replay.tmp-0123abcd"
    live.mkdir()
    with _replay_lock(output):
        with pytest.raises(ConfigError) as err:
            replay(output, CORRECTED)
        assert str(err.value) == f"another replay of {output} is running; wait for it to finish"
        assert live.exists()
    result = replay(output, CORRECTED)
    assert result.removed_temporaries == (".quarantine_after_replay.tmp-0123abcd",)
    assert not live.exists()


def test_replay_of_a_named_pipe_is_an_error_not_a_hang(tmp_path):
    """A path that is a named pipe is not an output: one clear error (opening it must not block)."""
    import os

    from sigbatch.errors import ConfigError

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(ConfigError, match="no manifest"):
        replay(fifo, CORRECTED)


def test_replay_without_file_locks_warns_and_runs(output, monkeypatch):
    """On a file system without locks the replay warns that it cannot lock and still runs."""
    import errno
    import fcntl

    def no_locks(fd, operation):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_locks)
    with pytest.warns(
        UserWarning, match=r"cannot lock .*\(No locks available\): run one replay of it at a time"
    ):
        result = replay(output, CORRECTED)
    assert result.rows_replayed > 0


def _snapshot(out: Path) -> dict[str, bytes]:
    """Every entry under ``out``: a file's bytes, a link's target, a directory's name."""
    found: dict[str, bytes] = {}
    for path in sorted(out.rglob("*")):
        key = path.relative_to(out).as_posix()
        if path.is_symlink():
            found[key] = b"-> " + str(path.readlink()).encode()
        elif path.is_dir():
            found[key + "/"] = b""
        else:
            found[key] = path.read_bytes()
    return found


def _junk(path: Path) -> None:
    path.write_text("junk\n")


def _dangling(path: Path) -> None:
    path.unlink()
    path.symlink_to(path.parent / "gone.parquet")


def _foreign(path: Path) -> None:
    table = pq.read_table(path)
    pq.write_table(table.drop_columns(["_sigbatch_stage"]), path)


@pytest.mark.parametrize("damage", [_junk, _dangling, _foreign, corrupt_pages])
def test_a_damaged_quarantine_file_is_the_audit_s_error_and_changes_nothing(output, tmp_path, capsys, damage):
    """A quarantine file audit refuses stops a replay with audit's one line, exit 2, and nothing written."""
    sig_file = tmp_path / "corrected.json"
    sig_file.write_text(json.dumps(CORRECTED.to_dict()))
    damage(output / "quarantine" / "part.00001.parquet")
    before = _snapshot(output)
    assert main(["audit", str(output)]) == 2
    audit_err = capsys.readouterr().err
    assert main(["replay", str(output), "--signature", str(sig_file)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == audit_err.replace("sigbatch audit: ", "sigbatch replay: ", 1)
    assert captured.err.startswith(
        f"sigbatch replay: error: {output / 'quarantine' / 'part.00001.parquet'}: "
    )
    assert captured.err.count("\n") == 1
    assert _snapshot(output) == before


def test_a_quarantine_file_of_junk_is_named_before_anything_is_written(output, tmp_path, capsys):
    """A file of junk in quarantine/: the exact line, exit 2, no replayed/ and no temporaries left."""
    sig_file = tmp_path / "corrected.json"
    sig_file.write_text(json.dumps(CORRECTED.to_dict()))
    junk = output / "quarantine" / "part.00001.parquet"
    _junk(junk)
    assert main(["replay", str(output), "--signature", str(sig_file)]) == 2
    assert capsys.readouterr().err == (
        f"sigbatch replay: error: {junk}: not a readable Parquet file (Parquet file size is 5 bytes, "
        "smaller than the minimum file footer (8 bytes)); restore it or score the job again\n"
    )
    assert sorted(p.name for p in output.iterdir()) == [
        "_sigbatch_demo.json",
        "_sigbatch_manifest.json",
        "lake",
        "quarantine",
        "score_dask.yaml",
        "scored",
        "signature.json",
    ]


def test_replay_needs_a_model_from_the_caller_or_the_manifest(output):
    """The library's messages speak of the model, not of the CLI's --model: an empty one is refused,
    and so is a manifest without one when none is given."""
    from sigbatch.errors import ConfigError

    with pytest.raises(ConfigError) as err:
        replay(output, CORRECTED, model="  ")
    assert (
        str(err.value)
        == "the model is empty: give a model URI, or leave it out to use the one in the manifest"
    )
    manifest = output / "_sigbatch_manifest.json"
    doc = json.loads(manifest.read_text())
    manifest.write_text(json.dumps({**doc, "model": None}))
    with pytest.raises(ConfigError) as err:
        replay(output, CORRECTED)
    assert str(err.value) == f"{manifest} names no model; give one (sigbatch replay --model URI)"
