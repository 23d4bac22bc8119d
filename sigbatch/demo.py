"""``sigbatch demo``: a small seed-shaped lake with bad rows, scored end to end with Dask on this machine.

What it does, in the order a user would:

1. writes a lake of JSON-lines files under ``<output>/lake/`` shaped like the seed notebook's
   nested example (``a``: list of strings, ``b``: optional string, ``c``: object with a required
   ``d`` and an optional ``e``), a few percent of the rows broken in one of five ways;
2. infers the model's signature with :func:`sigbatch.infer_signature` from a clean training
   sample (as a signature is inferred when a model is logged) and writes it to
   ``<output>/signature.json``;
3. scores the lake with :func:`sigbatch.dask.run_scoring` (threads scheduler) and the example
   model ``python:sigbatch.examples.models:tag_counter``, which also refuses one value on purpose:
   ``scored/`` and ``quarantine/`` Parquet plus the manifest, rows in = scored + quarantined checked;
4. writes ``<output>/score_dask.yaml``, the job's config, so the next run is one command.

It also writes ``<output>/_sigbatch_demo.json``, a small marker that says the directory holds a
demo's output: ``overwrite=True`` replaces only such a directory (or an empty one), never a
directory of other files.
"""

from __future__ import annotations

import importlib.util
import json
import random
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from sigbatch.errors import ConfigError, DependencyError
from sigbatch.progress import progress_line
from sigbatch.types import Array, ColSpec, ModelSignature, Object, Property, Schema

__all__ = [
    "DEMO_MARKER",
    "DEMO_SIGNATURE",
    "MODEL_URI",
    "DemoSummary",
    "infer_demo_signature",
    "is_demo_output",
    "make_rows",
    "run_demo",
]

MODEL_URI = "python:sigbatch.examples.models:tag_counter"
#: The file that marks a directory as a demo's output (``overwrite`` replaces only such a directory).
DEMO_MARKER = "_sigbatch_demo.json"
_WRITTEN_BY = "sigbatch demo"
# What inference finds on clean seed-shaped rows (checked in the tests).
DEMO_SIGNATURE = ModelSignature(
    Schema(
        [
            ColSpec(Array("string"), "a"),
            ColSpec("string", "b", required=False),
            ColSpec(Object([Property("d", "string"), Property("e", "string", required=False)]), "c"),
        ]
    ),
    Schema([ColSpec("double", "score")]),
)
TRAINING_ROWS = 1_000
_WORDS = ["alpha", "beta", "gamma", "delta", "omega", "sigma"]


def _good_row(rng: random.Random) -> dict[str, Any]:
    row: dict[str, Any] = {"a": rng.sample(_WORDS, rng.randint(1, 3))}
    if rng.random() < 0.7:
        row["b"] = rng.choice(_WORDS)
    row["c"] = {"d": rng.choice(_WORDS)}
    if rng.random() < 0.5:
        row["c"]["e"] = rng.choice(_WORDS)
    return row


# Faults a JSON-lines lake can hold with consistent column types (a value of another kind, e.g. a
# string where a list belongs, makes the file unreadable as typed columns and fails the job).
_FAULTS = (
    lambda row: row.pop("a"),  # a missing: NULL_REQUIRED a
    lambda row: row.pop("c"),  # c missing: NULL_REQUIRED c
    lambda row: row.__setitem__("c", {"e": "no d"}),  # NULL_REQUIRED c.d
    lambda row: row["c"].__setitem__("z", "extra"),  # INVALID_OBJECT c.z
    lambda row: row["c"].__setitem__("d", "boom"),  # MODEL_ERROR (the model refuses it)
)


def _iter_rows(n: int, bad_fraction: float, seed: int) -> Iterator[dict[str, Any]]:
    """The records of :func:`make_rows`, one at a time (the lake is written file by file)."""
    rng = random.Random(seed)
    for _ in range(n):
        row = _good_row(rng)
        if rng.random() < bad_fraction:
            rng.choice(_FAULTS)(row)
        yield row


def make_rows(n: int, bad_fraction: float = 0.03, seed: int = 7) -> list[dict[str, Any]]:
    """Seed-shaped records, about ``bad_fraction`` of them broken in one of five ways."""
    return list(_iter_rows(n, bad_fraction, seed))


def infer_demo_signature(rows: int = TRAINING_ROWS, seed: int = 11) -> ModelSignature:
    """The signature :func:`sigbatch.infer_signature` gives on a clean sample and the model's output."""
    import pandas as pd

    from sigbatch.examples.models import tag_counter
    from sigbatch.infer import infer_signature

    training = pd.DataFrame(make_rows(rows, bad_fraction=0.0, seed=seed), columns=["a", "b", "c"])
    return infer_signature(training, tag_counter(training))


@dataclass(frozen=True)
class DemoSummary:
    """What the demo did: counts, reasons and where the outputs are."""

    output: Path
    files: int
    rows_in: int
    rows_scored: int
    rows_quarantined: int
    by_code: dict[str, int]
    by_stage: dict[str, int]
    signature: ModelSignature
    seconds: float

    def text(self) -> str:
        """A short readable report."""
        out = self.output
        lines = [
            f"sigbatch demo: scored a {self.rows_in:,}-row seed-shaped lake ({self.files} JSON-lines files) "
            f"with Dask in {self.seconds:.1f} s",
            f"  signature        inferred from {TRAINING_ROWS:,} clean training rows:",
            f"    {self.signature.inputs}",
            f"  model            {MODEL_URI}",
            f"  rows in          {self.rows_in:>10,}",
            f"  rows scored      {self.rows_scored:>10,}",
            f"  rows quarantined {self.rows_quarantined:>10,}  ({self.rows_quarantined / max(self.rows_in, 1):.1%})",
        ]
        for code, count in sorted(self.by_code.items(), key=lambda kv: (-kv[1], kv[0])):
            lines.append(f"    {code:<18} {count:>8,}")
        lines += [
            f"  lake:             {out / 'lake'}",
            f"  signature:        {out / 'signature.json'}",
            f"  scored rows:      {out / 'scored'}",
            f"  quarantined rows: {out / 'quarantine'}",
            f"  manifest:         {out / '_sigbatch_manifest.json'}",
            "next:",
            *_audit_hint(out),
            "  score the lake again with your own settings (edit the config first):",
            f"    sigbatch score --engine dask --config {out / 'score_dask.yaml'}",
        ]
        return "\n".join(lines)


def _audit_hint(out: Path) -> list[str]:
    """How to see why rows were quarantined: ``sigbatch audit`` when this install has it."""
    if importlib.util.find_spec("sigbatch.audit") is not None:
        return [
            "  see why rows were quarantined, with example rows and where they came from:",
            f"    sigbatch audit {out}",
        ]
    read = f"import pyarrow.parquet as pq; print(pq.read_table('{out / 'quarantine'}').to_pandas())"
    return ["  read the quarantined rows and their reasons:", f'    python -c "{read}"']


def _config_text(out: Path) -> str:
    """The demo job's config, as a user would write it (see conf/score_dask.yaml)."""
    return (
        "# Written by `sigbatch demo`: score the demo lake on Dask.\n"
        f"# Run: sigbatch score --engine dask --config {out / 'score_dask.yaml'}\n"
        "source:\n"
        f"  path: {json.dumps(str(out / 'lake'))}\n"
        "  format: json\n"
        f"model: {json.dumps(MODEL_URI)}\n"
        f"signature: {json.dumps(str(out / 'signature.json'))}\n"
        "output:\n"
        f"  path: {json.dumps(str(out / 'rescored'))}\n"
        "  mode: overwrite\n"
        "profile: mlflow\n"
        "dask:\n"
        "  scheduler: threads\n"
    )


def _listing(out: Path, limit: int = 5) -> str:
    """The entries of ``out``, sorted, directories with a ``/``, the first ``limit`` of them."""
    names = sorted(e.name + ("/" if e.is_dir() else "") for e in out.iterdir())
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def is_demo_output(output: str | Path) -> bool:
    """Whether ``output`` holds what an earlier :func:`run_demo` wrote.

    A demo writes :data:`DEMO_MARKER` first; an output of a demo from before the marker is
    recognised by its manifest (the demo's model, scoring this directory's ``lake/``).
    """
    out = Path(output)
    try:
        marker = json.loads((out / DEMO_MARKER).read_text(encoding="utf-8"))
        return isinstance(marker, dict) and marker.get("written_by") == _WRITTEN_BY
    except (OSError, ValueError):
        pass
    try:
        manifest = json.loads((out / "_sigbatch_manifest.json").read_text(encoding="utf-8"))
        source = Path(manifest["config"]["source.path"])
        # the manifest holds the path as given: relative to where that demo ran, which may not
        # be here; its last two parts are the output's name and lake/ either way
        here = source.resolve() == (out / "lake").resolve()
        return bool(
            manifest["model"] == MODEL_URI and (here or source.parts[-2:] == (out.resolve().name, "lake"))
        )
    except (OSError, ValueError, KeyError, TypeError):
        return False


def _check_output(out: Path, overwrite: bool) -> None:
    """Refuse an ``out`` the demo cannot write, or must not replace, before any work."""
    if out.exists() and not out.is_dir():
        msg = f"--output {out} is a file, not a directory; choose another --output"
        raise ConfigError(msg)
    try:
        empty = not out.exists() or not any(out.iterdir())
    except OSError as exc:
        msg = f"--output {out}: cannot read it ({exc.strerror or exc}); choose another --output"
        raise ConfigError(msg) from None
    if empty:
        return
    if not is_demo_output(out):
        msg = (
            f"--output {out} holds files that `sigbatch demo` did not write ({_listing(out)}); "
            "choose a new or empty directory (--overwrite replaces only an earlier demo's output)"
        )
        raise ConfigError(msg)
    if not overwrite:
        msg = (
            f"{out} holds an earlier demo's output; pass --overwrite to replace it or choose another --output"
        )
        raise ConfigError(msg)


def _claim_output(out: Path, rows: int, files: int) -> None:
    """Create ``out`` and write the marker that makes it a demo's output (a failed write is a ConfigError)."""
    marker = {"written_by": _WRITTEN_BY, "model": MODEL_URI, "rows": rows, "files": files}
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / DEMO_MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        msg = f"--output {out}: cannot create it or write in it ({exc.strerror or exc}); choose another --output"
        raise ConfigError(msg) from None


def _write_lake(lake: Path, rows: int, files: int, progress: IO[str] | None) -> int:
    """The JSON-lines lake, file by file (a line per file on ``progress``); returns the files written."""
    records = _iter_rows(rows, 0.03, 7)  # make_rows' defaults, so the lake is make_rows(rows)
    per_file = -(-rows // files)
    parts = -(-rows // per_file)  # files that get rows
    show = (
        progress_line(progress, "sigbatch demo: writing the lake", "files") if progress is not None else None
    )
    done = 0
    for part in range(parts):
        count = min(per_file, rows - done)
        chunk = [next(records) for _ in range(count)]
        (lake / f"part-{part:03d}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in chunk))
        done += count
        if show is not None:
            show(part + 1, parts, done)
    return parts


def _step(progress: IO[str] | None, text: str) -> None:
    """One line on ``progress`` (when there is one) for a step of the demo."""
    if progress is not None:
        progress.write(f"sigbatch demo: {text}\n")
        progress.flush()


def run_demo(
    output: str | Path = "sigbatch-demo",
    rows: int = 20_000,
    files: int = 4,
    overwrite: bool = False,
    progress: IO[str] | None = None,
) -> DemoSummary:
    """Generate the lake under ``output/lake``, infer the signature, score the lake with Dask.

    Args:
        output: the directory to write; it must be new, empty, or (with ``overwrite``) an earlier
            demo's output (see :func:`is_demo_output`).
        rows: rows in the lake.
        files: JSON-lines files in the lake.
        overwrite: replace an earlier demo's output in ``output``.
        progress: where to show progress (the command line passes stderr on a terminal): a line
            per step, redrawn per file while writing the lake; the Dask job then shows its bar on
            a terminal too. ``None`` (the default): quiet.

    Raises:
        ConfigError: ``output`` holds files that are not an earlier demo's output, holds a demo's
            output and ``overwrite`` is false, is a file or cannot be created; or ``rows``/``files`` < 1.
        DependencyError: dask is not installed.

    Example:
        summary = run_demo("sigbatch-demo", rows=2_000)
        summary.rows_in == summary.rows_scored + summary.rows_quarantined
        # -> True
    """
    out = Path(output)
    if rows < 1:
        msg = f"--rows must be at least 1, got {rows}"
        raise ConfigError(msg)
    if files < 1:  # not a command-line option: only a caller of run_demo can get this wrong
        msg = f"files must be at least 1, got {files}"
        raise ConfigError(msg)
    _check_output(out, overwrite)
    try:
        from sigbatch.dask.score import run_scoring
    except ImportError as exc:
        msg = f"the demo scores with Dask ({exc}); install it with `pip install 'sigbatch[dask]'`"
        raise DependencyError(msg) from exc
    from sigbatch.config import load_score_config

    start = time.perf_counter()
    _claim_output(out, rows, files)
    lake = out / "lake"
    shutil.rmtree(lake, ignore_errors=True)
    lake.mkdir(parents=True)
    written = _write_lake(lake, rows, files, progress)
    _step(progress, f"inferring the signature from {TRAINING_ROWS:,} clean training rows")
    signature = infer_demo_signature()
    (out / "signature.json").write_text(json.dumps(signature.to_dict(), indent=2) + "\n")
    (out / "score_dask.yaml").write_text(_config_text(out))
    config = load_score_config(
        None,
        [
            f"source.path={json.dumps(str(lake))}",
            "source.format=json",
            f"model={MODEL_URI}",
            f"signature={json.dumps(str(out / 'signature.json'))}",
            f"output.path={json.dumps(str(out))}",
            "output.mode=overwrite",  # the lake and signature live here too; only outputs are replaced
            "dask.scheduler=threads",
            f"progress={'true' if progress is not None else 'false'}",  # Dask's bar, on a terminal only
        ],
    )
    _step(progress, f"scoring the lake with Dask ({MODEL_URI})")
    manifest = run_scoring(config)
    c = manifest.counts
    return DemoSummary(
        out,
        written,
        c.rows_in,
        c.rows_scored,
        c.rows_quarantined,
        dict(c.quarantined_by_code),
        dict(c.quarantined_by_stage),
        signature,
        time.perf_counter() - start,
    )
