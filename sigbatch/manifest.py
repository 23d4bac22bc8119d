"""The job manifest and its accounting: counts come from what was written, never from intentions.

Every scoring job writes ``<output>/_sigbatch_manifest.json`` last. The counts are read from the
Parquet footers of ``<output>/scored/`` and ``<output>/quarantine/`` (the reasons by stage and code
from the quarantine's own columns), and the job fails loudly when
``rows_in != rows_scored + rows_quarantined``.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from sigbatch.errors import ConfigError, JobError, QuarantineRateError, SigbatchError
from sigbatch.quarantine import ERRORS_COLUMN, IDENTITY_COLUMNS, STAGE_COLUMN
from sigbatch.types import ModelSignature

__all__ = [
    "MANIFEST_NAME",
    "AccountingError",
    "Counts",
    "Manifest",
    "Stopwatch",
    "check_source_columns",
    "count_outputs",
    "finish_job",
    "is_uri",
    "prepare_output",
    "read_manifest",
    "replace_outputs",
    "signature_hash",
    "staging_dir",
    "visible_files",
]

MANIFEST_NAME = "_sigbatch_manifest.json"
SCORED_DIR = "scored"
QUARANTINE_DIR = "quarantine"
REPLAYED_DIR = "replayed"  # a replay's rows that now pass
REPLAY_QUARANTINE_DIR = "quarantine_after_replay"  # the rows still quarantined after replays
#: What a scoring job and the replays after it leave in an output directory; an overwrite
#: replaces all of them.
JOB_ENTRIES = (SCORED_DIR, QUARANTINE_DIR, MANIFEST_NAME, REPLAYED_DIR, REPLAY_QUARANTINE_DIR)
#: Where a running job writes, inside its output directory, until it replaces the old outputs.
STAGING_PREFIX = "_sigbatch_tmp_"


class AccountingError(SigbatchError, RuntimeError):
    """Rows in != rows scored + rows quarantined: something was lost or duplicated."""


def signature_hash(signature: ModelSignature) -> str:
    """A stable hash of a signature's MLflow JSON (sha256, hex)."""
    text = json.dumps(signature.to_dict(), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Counts:
    """Row counts of a job, as read back from its outputs."""

    rows_in: int
    rows_scored: int
    rows_quarantined: int
    quarantined_by_stage: dict[str, int] = field(default_factory=dict)
    quarantined_by_code: dict[str, int] = field(default_factory=dict)

    def check(self) -> None:
        """Raise :class:`AccountingError` unless rows in = scored + quarantined."""
        if self.rows_in != self.rows_scored + self.rows_quarantined:
            lost = self.rows_in - self.rows_scored - self.rows_quarantined
            what = "lost" if lost > 0 else "duplicated"
            msg = (
                f"accounting failed: {self.rows_in} rows in, {self.rows_scored} scored + "
                f"{self.rows_quarantined} quarantined ({abs(lost)} row{'' if abs(lost) == 1 else 's'} {what})"
            )
            raise AccountingError(msg)


def _parquet_files(directory: Path) -> list[Path]:
    return sorted(
        p
        for p in directory.rglob("*.parquet")
        if not any(part.startswith(("_", ".")) for part in p.relative_to(directory).parts)
    )


def _written(path: Path) -> pq.ParquetFile:
    """A file the job wrote, opened to read its footer.

    Raises:
        JobError: pyarrow cannot read it back (e.g. a column nested deeper than its schema
            metadata allows).
    """
    try:
        return pq.ParquetFile(path)
    except (OSError, pa.ArrowException) as exc:
        msg = f"cannot read back {path}, which the job wrote, to count its rows: {exc}"
        raise JobError(msg) from None


def count_outputs(output: str | Path, rows_in: int) -> Counts:
    """Counts from the written outputs: footers for row counts, the quarantine's columns for reasons."""
    out = Path(output)
    scored = sum(_written(p).metadata.num_rows for p in _parquet_files(out / SCORED_DIR))
    quarantined = 0
    by_stage: Counter[str] = Counter()
    by_code: Counter[str] = Counter()
    for p in _parquet_files(out / QUARANTINE_DIR):
        f = _written(p)
        quarantined += f.metadata.num_rows
        if f.metadata.num_rows == 0:
            continue
        table = f.read(columns=[ERRORS_COLUMN, STAGE_COLUMN])
        by_stage.update(table.column(STAGE_COLUMN).to_pylist())
        for reasons in table.column(ERRORS_COLUMN).to_pylist():
            # a row counts once per code it carries
            by_code.update({r["code"] for r in reasons or []})
    return Counts(rows_in, scored, quarantined, dict(sorted(by_stage.items())), dict(sorted(by_code.items())))


def _warn_null_keys(out: Path, keys: list[str]) -> None:
    """Say on stderr how many quarantined rows have a null key: those cannot be traced to a record."""
    untraceable = 0
    for p in _parquet_files(out / QUARANTINE_DIR):
        f = pq.ParquetFile(p)
        if f.metadata.num_rows:
            table = f.read(columns=keys)
            nulls = np.zeros(table.num_rows, dtype=bool)
            for column in table.columns:
                nulls |= np.asarray(column.is_null())
            untraceable += int(nulls.sum())
    if untraceable:
        print(
            f"sigbatch: warning: {untraceable:,} quarantined row(s) have a null in output.key_columns "
            f"{keys}: they cannot be traced to their source record by key",
            file=sys.stderr,
        )


_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:/")


def visible_files(root: Path, accept: Callable[[str], bool] | None = None) -> list[Path]:
    """The files below a directory, sorted, that Spark and Dask read: names starting with ``_`` or
    ``.`` (``_SUCCESS``, ``.crc``, staging directories) are skipped at any depth, and linked
    directories are followed (each real directory once, under its own name where the tree has it).
    ``accept`` keeps the file names it is true for (a format's suffixes; None: all).

    Raises:
        ConfigError: A link to nothing whose name is accepted, or has no suffix (it may have been a
            directory, ``year=2024``): its data would be skipped without a word.
    """
    found = []
    seen: set[str] = set()
    for here, dirs, names in os.walk(root, followlinks=True):
        real = os.path.realpath(here)
        if real in seen:  # a link back up the tree, or two links to one directory
            dirs[:] = []
            continue
        seen.add(real)
        # real directories before links, so that a file reached both ways keeps its own path
        dirs[:] = sorted(
            (d for d in dirs if not d.startswith(("_", "."))),
            key=lambda d: (os.path.islink(os.path.join(here, d)), d),
        )
        for name in names:
            if name.startswith(("_", ".")):
                continue
            path = Path(here) / name
            wanted = accept is None or accept(name)
            if path.is_file():
                if wanted:
                    found.append(path)
            elif path.is_symlink() and not path.exists() and (wanted or not path.suffix):
                msg = f"{path}: a link to {os.readlink(path)}, which does not exist; fix or remove the link"
                raise ConfigError(msg)
    return sorted(found)


def is_uri(path: str | Path) -> bool:
    """Whether an output path names a filesystem scheme (``hdfs://``, ``s3a://``, ``file:/``, ...).

    A one-letter scheme is a Windows drive (``C:/data``), not a filesystem.

    Example:
        >>> is_uri("s3a://bucket/out"), is_uri("file:/tmp/out"), is_uri("out/run1"), is_uri("C:/data")
        (True, True, False, False)
    """
    return bool(_URI.match(str(path)))


def check_source_columns(names: list[str]) -> None:
    """Refuse a job's source that has a column named as one of the row identity columns.

    Raises:
        ConfigError: naming the columns.
    """
    clash = [n for n in names if n in IDENTITY_COLUMNS]
    if clash:
        msg = (
            f"the source has column(s) {clash} named as the columns a job adds to identify each "
            "row; rename or drop them before scoring"
        )
        raise ConfigError(msg)


def prepare_output(output: str | Path, mode: str) -> Path:
    """Check the output directory for ``mode`` and create it; nothing in it is deleted yet.

    ``error`` refuses a directory that holds anything (a stale staging directory of a job that was
    killed does not count); ``overwrite`` accepts it, and the old outputs stay until the new job
    has written its own (:func:`replace_outputs`), so a job that fails or is interrupted leaves
    the previous run as it was.
    """
    out = Path(output)
    if out.exists() and not out.is_dir():
        msg = f"output.path {out} is a file, not a directory"
        raise ConfigError(msg)
    exists = out.exists() and any(not e.name.startswith(STAGING_PREFIX) for e in out.iterdir())
    if exists and mode == "error":
        msg = (
            f"output {out} already exists and output.mode is 'error'; choose another output.path "
            "or set output.mode=overwrite"
        )
        raise ConfigError(msg)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        msg = f"output.path {out}: cannot create it ({exc.strerror or exc})"
        raise ConfigError(msg) from None
    return out


def staging_dir(out: Path) -> Path:
    """A new directory inside ``out`` for a job to write into (hidden from Parquet readers: ``_``)."""
    staging = out / f"{STAGING_PREFIX}{uuid.uuid4().hex[:12]}"
    staging.mkdir()
    return staging


def replace_outputs(out: Path, staging: Path, names: tuple[str, ...] = (SCORED_DIR, QUARANTINE_DIR)) -> None:
    """Replace an earlier run's outputs (all of :data:`JOB_ENTRIES`) with ``staging``'s ``names``."""
    remove_entries(out, JOB_ENTRIES)
    for name in names:
        (staging / name).mkdir(parents=True, exist_ok=True)  # a job without rows still has both
        (staging / name).replace(out / name)
    shutil.rmtree(staging, ignore_errors=True)


def remove_entries(output: Path, names: tuple[str, ...]) -> None:
    """Delete these entries (directories or files) of an output directory, where they exist."""
    for name in names:
        target = output / name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()


@dataclass(frozen=True)
class Manifest:
    """What a job did: its config, signature, engine, counts and timings."""

    job_id: str
    engine: str
    engine_version: str
    model: str
    signature: dict[str, Any]
    signature_hash: str
    config: dict[str, Any]
    counts: Counts
    timings: dict[str, float]
    created: str
    sigbatch_version: str
    replays: tuple[dict[str, Any], ...] = ()

    @classmethod
    def build(
        cls,
        *,
        engine: str,
        engine_version: str,
        model: str,
        signature: ModelSignature,
        config: dict[str, Any],
        counts: Counts,
        timings: dict[str, float],
    ) -> Manifest:
        """A new manifest with a fresh job id and the current time."""
        from sigbatch import __version__

        return cls(
            job_id=uuid.uuid4().hex,
            engine=engine,
            engine_version=engine_version,
            model=model,
            signature=signature.to_dict(),
            signature_hash=signature_hash(signature),
            config=config,
            counts=counts,
            timings={k: round(v, 3) for k, v in timings.items()},
            created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            sigbatch_version=__version__,
        )

    def to_json(self) -> str:
        """The manifest file's text."""
        return json.dumps(asdict(self), indent=2, default=str) + "\n"

    def write(self, output: str | Path) -> Path:
        """Write ``<output>/_sigbatch_manifest.json`` (atomically)."""
        target = Path(output) / MANIFEST_NAME
        tmp = target.with_suffix(".tmp")
        tmp.write_text(self.to_json(), encoding="utf-8")
        tmp.replace(target)
        return target


class Stopwatch:
    """A job's timings: ``lap(name)`` records the time since the previous lap (or the start)."""

    def __init__(self) -> None:
        self.began = self._clock = time.perf_counter()
        self.timings: dict[str, float] = {}

    def lap(self, name: str) -> None:
        """Record the seconds since the last lap under ``name``."""
        now = time.perf_counter()
        self.timings[name] = now - self._clock
        self._clock = now


def finish_job(
    output: str | Path,
    rows_in: int,
    *,
    engine: str,
    engine_version: str,
    config: Any,
    signature: ModelSignature,
    clock: Stopwatch,
    written: str | Path | None = None,
    publish: Callable[[], None] | None = None,
    counter: Callable[[str | Path, int], Counts] | None = None,
    writer: Callable[[str | Path, Manifest], None] | None = None,
) -> Manifest:
    """The last step of every scoring job: count what was written, check, publish, write the manifest.

    ``config`` is the job's :class:`~sigbatch.config.ScoreConfig`; ``clock`` its stopwatch (it
    gains ``count_outputs`` and ``total``). ``written`` is where the outputs are (the job's staging
    directory; default ``output``), and ``publish`` moves them into ``output`` once the counts
    add up, so a job whose counts do not add up leaves an earlier run's outputs as they were.
    ``counter`` and ``writer`` replace :func:`count_outputs` and :meth:`Manifest.write` for outputs
    that are not local directories (the Spark job's ``hdfs://`` or ``s3a://`` outputs). Raises
    :class:`AccountingError` when rows in != scored + quarantined.
    """
    counts = (counter or count_outputs)(output if written is None else written, rows_in)
    clock.lap("count_outputs")
    counts.check()
    if publish is not None:
        publish()
    if counter is None and getattr(config, "key_columns", None):
        _warn_null_keys(Path(output), list(config.key_columns))
    timings = dict(clock.timings)
    timings["total"] = time.perf_counter() - clock.began
    manifest = Manifest.build(
        engine=engine,
        engine_version=engine_version,
        model=config.model,
        signature=signature,
        config=config.as_dict(),
        counts=counts,
        timings=timings,
    )
    if writer is None:
        manifest.write(output)
    else:
        writer(output, manifest)
    _check_rate(manifest, getattr(config, "max_quarantine_rate", None), output)
    return manifest


def _check_rate(manifest: Manifest, limit: float | None, output: str | Path) -> None:
    """Raise :class:`QuarantineRateError` when more than ``limit`` of the rows were quarantined."""
    counts = manifest.counts
    if limit is None or not counts.rows_in or counts.rows_quarantined / counts.rows_in <= limit:
        return
    codes = sorted(counts.quarantined_by_code.items(), key=lambda kv: (-kv[1], kv[0]))
    shown = ", ".join(f"{code} {n:,}" for code, n in codes[:3])
    msg = (
        f"{counts.rows_quarantined / counts.rows_in:.2%} of rows quarantined ({counts.rows_quarantined:,} "
        f"of {counts.rows_in:,}: {shown}), above max_quarantine_rate {limit:.2%}; the outputs and the "
        f"manifest are in {output} (see `sigbatch audit {output}`)"
    )
    raise QuarantineRateError(msg, manifest)


def read_manifest(output: str | Path) -> Manifest:
    """Read a job's manifest back."""
    target = Path(output) / MANIFEST_NAME
    if not target.is_file():
        msg = f"{target}: no manifest (is {output} the output directory of a sigbatch job?)"
        raise ConfigError(msg)
    doc = json.loads(target.read_text(encoding="utf-8"))
    doc["counts"] = Counts(**doc["counts"])
    doc["replays"] = tuple(doc.get("replays", ()))
    return Manifest(**doc)
