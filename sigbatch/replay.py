"""Replay a job's quarantine against a corrected signature (or the same one after a model fix).

``replay(output, signature)`` reads the current quarantine of a scoring job's output (``quarantine/``,
or ``quarantine_after_replay/`` after an earlier replay), drops sigbatch's reason columns, enforces
the signature and scores with :func:`sigbatch.models.score_batch`, one quarantine file at a time:

* rows that now pass are written to ``<output>/replayed/replay-NNN-<file>.parquet``: their source
  columns, the prediction column(s), and their source location as the scoring job recorded it
  (``_sigbatch_row``, and ``_sigbatch_file`` / ``_sigbatch_file_offset`` where present), so they
  join back to the source;
* rows still refused, with their new reasons, replace ``<output>/quarantine_after_replay/``
  (same file names as the quarantine they came from, source location kept);
* the manifest gains a ``replays`` entry (time, signature and its hash, model, rows considered,
  replayed and still quarantined, the cumulative total replayed).

The original ``quarantine/`` is never modified: it stays the record of the original run, and its
counts stay those of the manifest's ``counts``. Layout decision, so a replay is safe to interrupt:
new files are written under hidden names (``.``-prefixed, which readers skip), the accounting
``rows_in == rows_scored + rows_replayed (all replays) + rows_still_quarantined`` is checked on
their Parquet footers (:class:`~sigbatch.manifest.AccountingError` if it fails, and nothing becomes
visible), then the files are renamed into place, the previous ``quarantine_after_replay/`` is
swapped out by two directory renames, and the manifest is rewritten atomically last. A replay that
was killed (SIGTERM, a crash) before its commit leaves only such hidden temporaries; the next replay
removes them first (:func:`stale_temporaries`), since no accounting ever counts them.

Quarantines written from lists of dicts may hold a column as JSON text (its values had no common
Arrow type); such columns are recognised (:func:`sigbatch.audit.json_encoded_columns`) and decoded,
and the rows are replayed as records, where a null stands for an absent key, as in Parquet.

Example:
    from sigbatch.wire import load_signature
    result = replay("sigbatch-demo", load_signature("fixed_signature.json"))
    result.rows_replayed, result.rows_still_quarantined
    # -> (31, 88)
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import time
import uuid
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from sigbatch.audit import (
    LOCATION_COLUMNS,
    REPLAY_QUARANTINE_DIR,
    REPLAYED_DIR,
    _parquet_files,
    footer_rows,
    json_encoded_columns,
    quarantine_footer_rows,
    read_manifest_doc,
    read_parquet,
    source_columns,
)
from sigbatch.errors import ConfigError, SignatureError, SignatureFileError
from sigbatch.manifest import MANIFEST_NAME, QUARANTINE_DIR, SCORED_DIR, AccountingError, signature_hash
from sigbatch.progress import progress_line
from sigbatch.quarantine import ERRORS_COLUMN, ROW_COLUMN
from sigbatch.types import ModelSignature

__all__ = ["ReplayResult", "load_replay_signature", "replay", "stale_temporaries", "terminal_progress"]

# The hidden names a replay writes under until its commit (``token``: 8 hex digits).
_STALE_IN_OUTPUT = re.compile(
    rf"\.(?:{re.escape(REPLAY_QUARANTINE_DIR)}|{re.escape(MANIFEST_NAME)})\.tmp-[0-9a-f]{{8}}"
)
_STALE_IN_REPLAYED = re.compile(r"\.replay-\d{3,}-.+\.parquet\.tmp-[0-9a-f]{8}")


@dataclass(frozen=True, slots=True)
class ReplayResult:
    """What a replay did; the accounting it checked holds (else it raised)."""

    output: str
    replay: int
    source: str
    model: str
    signature_hash: str
    rows_in: int
    rows_scored: int
    rows_considered: int
    rows_replayed: int
    rows_replayed_total: int
    rows_still_quarantined: int
    still_quarantined_by_code: tuple[tuple[str, int], ...]
    files: tuple[str, ...]
    removed_temporaries: tuple[str, ...] = ()

    def text(self) -> str:
        """A short report for the terminal."""
        lines = [
            f"sigbatch replay #{self.replay}: {self.output}  ({self.source}/ against signature {self.signature_hash[:12]})",
            f"  rows considered        {self.rows_considered:>12,}",
            f"  rows replayed (scored) {self.rows_replayed:>12,}  -> {REPLAYED_DIR}/",
            f"  rows still quarantined {self.rows_still_quarantined:>12,}  -> {REPLAY_QUARANTINE_DIR}/",
        ]
        lines += [f"    {code:<20} {n:>10,}" for code, n in self.still_quarantined_by_code]
        lines.append(
            f"  accounting ok: {self.rows_in:,} in = {self.rows_scored:,} scored + {self.rows_replayed_total:,} "
            f"replayed + {self.rows_still_quarantined:,} still quarantined"
        )
        if self.removed_temporaries:
            lines.append(
                f"  removed {len(self.removed_temporaries)} temporaries an interrupted replay left: "
                + ", ".join(self.removed_temporaries)
            )
        return "\n".join(lines) + "\n"


def load_replay_signature(path: str | Path) -> ModelSignature:
    """The signature in ``path`` (a model directory, an MLmodel file, a .json or .yaml file), with inputs.

    Raises:
        SignatureFileError: ``path`` cannot be read, or its signature has no input schema (replay
            enforces the quarantined rows against the inputs).
    """
    from sigbatch.wire import load_signature

    signature = load_signature(path)
    if signature.inputs is None:
        msg = (
            f"--signature {path}: the signature file has no input schema (no 'inputs'); replay enforces "
            "the quarantined rows against the input schema, so it needs one: give a signature with inputs"
        )
        raise SignatureFileError(msg)
    return signature


def terminal_progress(out: IO[str]) -> Callable[[int, int, int], None]:
    """The progress line of ``sigbatch replay``, per quarantine file (see :func:`sigbatch.progress.progress_line`)."""
    return progress_line(out, "sigbatch replay", "quarantine files")


def stale_temporaries(output: str | Path) -> list[Path]:
    """The hidden temporaries that replays of ``output`` killed before their commit left behind.

    They are ``.quarantine_after_replay.tmp-XXXXXXXX/`` and ``._sigbatch_manifest.json.tmp-XXXXXXXX``
    in ``output`` and ``.replay-NNN-<file>.parquet.tmp-XXXXXXXX`` in ``output/replayed/``: names only
    a replay writes, renamed away at its commit, so none is counted by any accounting.
    """
    out = Path(output)
    found = [p for p in out.iterdir() if _STALE_IN_OUTPUT.fullmatch(p.name)] if out.is_dir() else []
    replayed = out / REPLAYED_DIR
    if replayed.is_dir():
        found += [p for p in replayed.iterdir() if _STALE_IN_REPLAYED.fullmatch(p.name)]
    return sorted(found)


def _strip_nulls(value: Any) -> Any:
    """A null inside a dict means an absent key (Parquet cannot tell them apart)."""
    if isinstance(value, dict):
        return {k: _strip_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_strip_nulls(v) for v in value]
    return value


def _replay_input(table: pa.Table, signature: ModelSignature) -> Any:
    """The source rows of a quarantine table, as the scoring job saw them."""
    source = table.select(source_columns(table.column_names))
    encoded = json_encoded_columns(source, signature.inputs)
    if not encoded:
        return source  # typed columns: enforce them as they are
    columns = {name: source.column(name).to_pylist() for name in source.column_names}
    for name in encoded:
        columns[name] = [None if v is None else json.loads(v) for v in columns[name]]
    names = list(columns)
    return [
        {k: _strip_nulls(v) for k, v in zip(names, values, strict=True) if v is not None}
        for values in zip(*columns.values(), strict=True)
    ]


def _codes(table: pa.Table) -> Counter[str]:
    """Rows per code (a row counts once per code it carries)."""
    errors = table.column(ERRORS_COLUMN).combine_chunks()
    flat = pc.list_flatten(errors)
    pairs = pa.table(
        {"row": pc.list_parent_indices(errors), "code": pc.fill_null(flat.field("code"), "UNKNOWN")}
    )
    counted = pairs.group_by(["row", "code"]).aggregate([]).group_by("code").aggregate([([], "count_all")])
    return Counter(
        dict(zip(counted.column("code").to_pylist(), counted.column("count_all").to_pylist(), strict=True))
    )


def _replay_file(
    table: pa.Table, model: str, signature: ModelSignature, params: dict[str, Any] | None, profile: str
) -> tuple[pa.Table, pa.Table]:
    """(rows that now pass, scored; rows still refused, with new reasons), source location kept."""
    from sigbatch.models import score_batch

    n = table.num_rows
    location = {
        name: table.column(name).combine_chunks() for name in LOCATION_COLUMNS if name in table.column_names
    }
    if ROW_COLUMN not in location:
        location[ROW_COLUMN] = pa.array(np.arange(n, dtype=np.int64))
    result = score_batch(
        _replay_input(table, signature),
        model,
        signature,
        params,
        profile=profile,  # type: ignore[arg-type]
        on_schema_mismatch="quarantine",
    )
    refused = np.asarray(result.quarantine.column(ROW_COLUMN), dtype=np.int64)
    passed = np.setdiff1d(np.arange(n, dtype=np.int64), refused)  # ascending, as score_batch keeps them
    scored = result.scored
    still = result.quarantine.drop_columns([ROW_COLUMN])
    for name, values in location.items():
        scored = scored.append_column(name, pc.take(values, pa.array(passed)))
        still = still.append_column(name, pc.take(values, pa.array(refused)))
    return scored, still


def replay(
    output: str | Path,
    signature: ModelSignature,
    *,
    model: str | None = None,
    params: dict[str, Any] | None = None,
    profile: str | None = None,
    progress: Callable[[int, int, int], None] | None = None,
) -> ReplayResult:
    """Re-enforce and score the quarantined rows of ``output`` against ``signature``.

    Args:
        output: a scoring job's output directory (with ``_sigbatch_manifest.json``).
        signature: the corrected signature (or the original one, after a model fix).
        model: the model URI (default: the manifest's ``model``).
        params: inference parameters, as for :func:`sigbatch.models.score_batch` (default: the
            job's ``params``, from the manifest).
        profile: the enforcement profile, ``mlflow``, ``strict`` or ``lenient`` (default: the job's).
        progress: called before the first quarantine file and after each with (files done, files
            to replay, rows considered so far); :func:`terminal_progress` draws it.

    One replay of an output runs at a time: it holds a lock on the output directory (released
    when it ends, or when its process dies), so the temporaries that earlier replays
    killed before their commit left (:func:`stale_temporaries`) are never a live replay's; they
    are removed first and named in the result.

    Raises:
        SignatureError: ``signature`` has no input schema.
        ConfigError: ``output`` is not a job output, ``model`` is empty or no model is known, a
            quarantine file is not one sigbatch wrote or cannot be read (the error ``sigbatch
            audit`` gives; nothing is written), or another replay of it is running.
        AccountingError: rows in != scored + replayed + still quarantined (nothing is changed).
    """
    with _replay_lock(Path(output)):
        return _replay(output, signature, model=model, params=params, profile=profile, progress=progress)


@contextlib.contextmanager
def _replay_lock(out: Path) -> Iterator[None]:
    """Hold the output's replay lock: an exclusive ``flock`` on the directory itself (nothing is
    written for it; none where the platform has no fcntl)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not on Linux or macOS
        yield
        return
    try:  # a directory only (a named pipe would block here); anything else: read_manifest_doc says
        fd = os.open(out, os.O_RDONLY | os.O_DIRECTORY | os.O_NONBLOCK)
    except OSError:
        yield
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            msg = f"another replay of {out} is running; wait for it to finish"
            raise ConfigError(msg) from None
        except OSError as exc:  # a file system without locks (NFS without lockd, some FUSE mounts)
            warnings.warn(
                f"cannot lock {out} ({exc.strerror or exc}): run one replay of it at a time", stacklevel=3
            )
        yield
    finally:
        os.close(fd)  # releases the lock


def _replay(
    output: str | Path,
    signature: ModelSignature,
    *,
    model: str | None = None,
    params: dict[str, Any] | None = None,
    profile: str | None = None,
    progress: Callable[[int, int, int], None] | None = None,
) -> ReplayResult:
    """:func:`replay`, under the output's replay lock."""
    if signature.inputs is None:
        msg = "the signature has no input schema (inputs); replay enforces the quarantined rows against it"
        raise SignatureError(msg)
    if model is not None and not model.strip():  # not "use the manifest's": that is model=None
        msg = "the model is empty: give a model URI, or leave it out to use the one in the manifest"
        raise ConfigError(msg)
    out = Path(output)
    doc = read_manifest_doc(out)
    model_uri = model or doc.get("model")
    if not model_uri:
        msg = f"{out / MANIFEST_NAME} names no model; give one (sigbatch replay --model URI)"
        raise ConfigError(msg)
    job = doc.get("config") or {}
    profile = profile or job.get("profile") or "mlflow"
    params = (job.get("params") or None) if params is None else params
    replays: list[dict[str, Any]] = list(doc.get("replays") or [])
    source_name = REPLAY_QUARANTINE_DIR if replays else QUARANTINE_DIR
    source_dir = out / source_name
    number = len(replays) + 1
    tag = f"replay-{number:03d}"
    rows_in = int(doc["counts"]["rows_in"])
    rows_scored = footer_rows(_parquet_files(out / SCORED_DIR))
    sources = _parquet_files(source_dir)
    # A file `sigbatch audit` refuses (not Parquet, a dangling link, not sigbatch's) stops the
    # replay here with the audit's error, before anything is written.
    quarantine_footer_rows(sources)
    replayed_dir = out / REPLAYED_DIR
    stale = stale_temporaries(out)
    for path in stale:  # an interrupted replay's; never counted, so removing them changes no books
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    replayed_before = footer_rows(_parquet_files(replayed_dir))
    claimed_before = sum(int(r.get("rows_replayed", 0)) for r in replays)
    if replayed_before != claimed_before:
        listed = {name for r in replays for name in r.get("files", ())}
        strays = sorted(p.name for p in _parquet_files(replayed_dir) if p.name not in listed)
        shown = ", ".join(strays[:5]) + (f" and {len(strays) - 5} more" if len(strays) > 5 else "")
        msg = (
            f"{replayed_dir} holds {replayed_before:,} rows but the manifest's replays account for "
            f"{claimed_before:,}: an earlier replay was interrupted after writing; remove the files "
            f"not listed in the manifest's replays ({shown or 'none: a listed file was changed'}) and run again"
        )
        raise AccountingError(msg)

    token = uuid.uuid4().hex[:8]
    staging = out / f".{REPLAY_QUARANTINE_DIR}.tmp-{token}"
    staging.mkdir(parents=True)
    made_replayed = not replayed_dir.exists()
    replayed_dir.mkdir(exist_ok=True)
    pending: list[tuple[Path, Path]] = []  # (hidden name, final name) of the replayed files
    try:
        considered = replayed_now = still_rows = 0
        codes: Counter[str] = Counter()
        if progress is not None and sources:
            progress(0, len(sources), 0)
        for done, path in enumerate(sources, 1):
            relative = path.relative_to(source_dir)
            table = read_parquet(path)  # pages the footer check cannot see: one error line naming it
            considered += table.num_rows
            if table.num_rows == 0:
                if progress is not None:
                    progress(done, len(sources), considered)
                continue
            scored, still = _replay_file(table, model_uri, signature, params, profile)
            if scored.num_rows:
                final = replayed_dir / f"{tag}-{relative.as_posix().replace('/', '-')}"
                hidden = final.with_name(f".{final.name}.tmp-{token}")
                pq.write_table(scored, hidden)
                pending.append((hidden, final))
            if still.num_rows:
                target = staging / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                pq.write_table(still, target)
                codes.update(_codes(still))
            if progress is not None:
                progress(done, len(sources), considered)
        # Counts come from what was written (footers), never from what we meant to write.
        replayed_now = footer_rows([h for h, _ in pending])
        still_rows = footer_rows(_parquet_files(staging))
        total = replayed_before + replayed_now
        if considered != replayed_now + still_rows or rows_in != rows_scored + total + still_rows:
            msg = (
                f"replay accounting failed: {rows_in:,} rows in, {rows_scored:,} scored + {total:,} replayed + "
                f"{still_rows:,} still quarantined ({considered:,} considered, {replayed_now:,} replayed now)"
            )
            raise AccountingError(msg)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        for hidden, _ in pending:
            hidden.unlink(missing_ok=True)
        if made_replayed:  # leave the output as it was: no empty replayed/ of a failed first replay
            with contextlib.suppress(OSError):
                replayed_dir.rmdir()
        raise

    # Commit: files into place, quarantine swapped, manifest last.
    for hidden, final in pending:
        os.replace(hidden, final)
    current = out / REPLAY_QUARANTINE_DIR
    retired = out / f".{REPLAY_QUARANTINE_DIR}.old-{token}"
    if current.exists():
        current.rename(retired)
    staging.rename(current)
    shutil.rmtree(retired, ignore_errors=True)
    sig_hash = signature_hash(signature)
    by_code = tuple(sorted(codes.items(), key=lambda kv: (-kv[1], kv[0])))
    files = tuple(final.name for _, final in pending)
    replays.append(
        {
            "replay": number,
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "source": source_name,
            "model": model_uri,
            "profile": profile,
            "signature": signature.to_dict(),
            "signature_hash": sig_hash,
            "rows_considered": considered,
            "rows_replayed": replayed_now,
            "rows_still_quarantined": still_rows,
            "rows_replayed_total": total,
            "still_quarantined_by_code": dict(by_code),
            "files": list(files),
            "accounting": {
                "rows_in": rows_in,
                "rows_scored": rows_scored,
                "rows_replayed": total,
                "rows_still_quarantined": still_rows,
            },
        }
    )
    doc["replays"] = replays
    target = out / MANIFEST_NAME
    tmp = target.with_name(f".{MANIFEST_NAME}.tmp-{token}")
    tmp.write_text(json.dumps(doc, indent=2, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, target)
    return ReplayResult(
        output=str(out),
        replay=number,
        source=source_name,
        model=model_uri,
        signature_hash=sig_hash,
        rows_in=rows_in,
        rows_scored=rows_scored,
        rows_considered=considered,
        rows_replayed=replayed_now,
        rows_replayed_total=total,
        rows_still_quarantined=still_rows,
        still_quarantined_by_code=by_code,
        files=files,
        removed_temporaries=tuple(p.relative_to(out).as_posix() for p in stale),
    )
