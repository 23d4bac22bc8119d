"""The inference job's configuration (``conf/infer.yaml``), validated on load, and the job itself.

Keys are dotted paths (``sample.rows_per_partition``), written nested in YAML. A file is read
first, then ``--set key=value`` overrides (values read as YAML), then explicit command-line flags.
An unknown key, a wrong type or an out-of-range value fails with a
:class:`~sigbatch.errors.ConfigError` naming the key (and the closest known key for a typo).

Example:
    >>> cfg = load_infer_config(None, ["sample.seed=3"], {"source.path": "."})
    >>> cfg.engine, cfg.seed, cfg.policy
    ('local', 3, 'strict')
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from sigbatch.config import flatten_keys, local_path, parse_overrides, read_config_file, unknown_key
from sigbatch.errors import ConfigError, DependencyError, SigbatchError
from sigbatch.infer.finalize import POLICIES, InferenceResult, json_target_problem
from sigbatch.infer.lake import FORMATS, infer_files
from sigbatch.progress import progress_line

__all__ = ["DASK_SCHEDULERS", "ENGINES", "INFER_KEYS", "InferConfig", "load_infer_config", "run_infer"]

#: Where the per-partition work runs.
ENGINES = ("local", "dask", "spark")
#: Dask's names for its local schedulers (``dask.base.named_schedulers``; the core cannot import dask).
DASK_SCHEDULERS = (
    "threads",
    "threading",
    "processes",
    "multiprocessing",
    "synchronous",
    "sync",
    "single-threaded",
)
_NONE = type(None)

# key: (accepted types, default, allowed values or None, help). A default of ... means required.
INFER_KEYS: dict[str, tuple[tuple[type, ...], Any, tuple[Any, ...] | None, str]] = {
    "source.path": ((str,), ..., None, "a file or directory of Parquet, JSON lines or CSV files"),
    "source.format": ((str, _NONE), None, (*FORMATS, None), "file format; null: from the extensions"),
    "engine": ((str,), "local", ENGINES, "where the per-file work runs"),
    "sample.fraction": ((float, int, _NONE), None, None, "share of files read, in (0, 1]; null: all"),
    "sample.max_partitions": ((int, _NONE), None, None, "at most this many files; null: no limit"),
    "sample.rows_per_partition": ((int, _NONE), None, None, "stop reading each file after N rows"),
    "sample.seed": ((int,), 0, None, "chooses the files, deterministically"),
    "policy": ((str,), "strict", POLICIES, "conflicting types: strict, widen or majority"),
    "output": ((str, _NONE), None, None, "write MLflow's signature JSON to this file"),
    "set_on": ((str, _NONE), None, None, "write the signature into this model directory's MLmodel"),
    "dask.scheduler": (
        (str, _NONE),
        None,
        (*DASK_SCHEDULERS, None),
        "threads, processes or synchronous (no active client)",
    ),
}


@dataclass(frozen=True, slots=True)
class InferConfig:
    """A validated inference-job configuration."""

    source: str
    format: str | None = None
    engine: str = "local"
    fraction: float | None = None
    max_partitions: int | None = None
    rows_per_partition: int | None = None
    seed: int = 0
    policy: str = "strict"
    output: str | None = None
    set_on: str | None = None
    dask_scheduler: str | None = None
    origin: str = "<command line>"


def _check(origin: str, values: Mapping[str, Any]) -> dict[str, Any]:
    """Each key known, of an accepted type, among the allowed values."""
    for key, value in values.items():
        if key not in INFER_KEYS:
            raise unknown_key(origin, key, INFER_KEYS)
        types, _, choices, _ = INFER_KEYS[key]
        if isinstance(value, bool) or not isinstance(value, types):
            wanted = " or ".join("null" if t is _NONE else t.__name__ for t in types)
            msg = f"{origin}: key '{key}' must be {wanted}, got {type(value).__name__} {value!r}"
            raise ConfigError(msg)
        if choices is not None and value not in choices:
            allowed = [c for c in choices if c is not None]
            msg = f"{origin}: key '{key}' must be one of {allowed}, got {value!r}"
            raise ConfigError(msg)
    return dict(values)


def load_infer_config(
    path: str | os.PathLike[str] | None,
    overrides: Sequence[str] | None = None,
    flags: Mapping[str, Any] | None = None,
    defaults: Mapping[str, Any] | None = None,
) -> InferConfig:
    """Read and validate an inference config: the file, then ``key=value`` overrides, then flags.

    Args:
        path: A YAML file (see ``conf/infer.yaml``), or None.
        overrides: ``key=value`` strings (``--set``); values are YAML.
        flags: Values by key, already typed (the command line's explicit options).
        defaults: Values by key for keys none of the above gives, in place of the built-in
            defaults (a job script's engine).

    Raises:
        ConfigError: The file is unreadable, a key unknown, a value of the wrong type or range, a
            required key missing, a path empty, or the source path absent.
    """
    values: dict[str, Any] = {}
    set_by: dict[str, str] = {}  # what gave each key its value: the file, --set or the command line

    def add(label: str, found: Mapping[str, Any]) -> None:
        values.update(_check(label, found))
        set_by.update(dict.fromkeys(found, label))

    origin = "<command line>"
    if path is not None:
        origin, doc = read_config_file(path)
        add(origin, flatten_keys(doc, INFER_KEYS))
    add("--set", parse_overrides(overrides))
    add("<command line>", dict(flags or {}))

    def where(key: str) -> str:
        return set_by.get(key, origin)

    for key, (_, default, _, help_text) in INFER_KEYS.items():
        default = (defaults or {}).get(key, default)
        if key not in values:
            if default is ...:
                msg = f"{origin}: missing required key '{key}' ({help_text})"
                raise ConfigError(msg)
            values[key] = default
    fraction = values["sample.fraction"]
    if fraction is not None and not (0 < fraction <= 1):
        msg = f"{where('sample.fraction')}: key 'sample.fraction' must be in (0, 1], got {fraction!r}"
        raise ConfigError(msg)
    for key in ("sample.max_partitions", "sample.rows_per_partition"):
        if values[key] is not None and values[key] < 1:
            msg = f"{where(key)}: key '{key}' must be at least 1, got {values[key]!r}"
            raise ConfigError(msg)
    source = str(values["source.path"])
    local = local_path(source)
    if local == "":  # Path("") is the working directory ("file://" names it too)
        msg = f"{where('source.path')}: key 'source.path' is empty; give {INFER_KEYS['source.path'][3]}"
        raise ConfigError(msg)
    if local is None:
        msg = (
            f"{where('source.path')}: key 'source.path': {source} is a {source.split(':', 1)[0]}:// URI; sigbatch infer "
            "reads the lake's files as paths that the driver (and, with --engine spark, every executor) "
            "can open: a local disk or a shared mount. For a lake on HDFS or S3, read it with Spark and "
            "call sigbatch.spark.infer_schema(spark.read.format(...).load(path)) (see docs/spark.md)"
        )
        raise ConfigError(msg)
    values["source.path"] = local
    if not Path(local).exists():
        msg = f"{where('source.path')}: key 'source.path': {local} does not exist"
        raise ConfigError(msg)
    if values["output"] is not None:
        _check_output(where("output"), values["output"])
    if values["set_on"] is not None:
        _check_set_on(where("set_on"), values["set_on"])
    return InferConfig(
        source=values["source.path"],
        format=values["source.format"],
        engine=values["engine"],
        fraction=None if fraction is None else float(fraction),
        max_partitions=values["sample.max_partitions"],
        rows_per_partition=values["sample.rows_per_partition"],
        seed=values["sample.seed"],
        policy=values["policy"],
        output=values["output"],
        set_on=values["set_on"],
        dask_scheduler=values["dask.scheduler"],
        origin=origin,
    )


def _check_output(origin: str, output: str) -> None:
    """Refuse an output path that cannot become a file: empty, a directory, or in a missing one."""
    if not output:
        msg = f"{origin}: key 'output' is empty; give a file path for the signature JSON, or leave it out"
        raise ConfigError(msg)
    problem = json_target_problem(output)
    if problem is not None:
        where = "" if problem.startswith("directory ") else f"{output} "  # it names the directory
        msg = f"{origin}: key 'output': {where}{problem}"
        raise ConfigError(msg)


def _check_set_on(origin: str, set_on: str) -> None:
    """Refuse a --set-on target that is not a model directory with an MLmodel file, or that file."""
    target = Path(set_on)
    if not set_on:
        msg = f"{origin}: key 'set_on' is empty; give a model directory, or leave it out"
        raise ConfigError(msg)
    mlmodel = target / "MLmodel" if target.is_dir() else target
    if mlmodel.name != "MLmodel" or not mlmodel.is_file():
        msg = (
            f"{origin}: key 'set_on': {set_on} is not a model directory (a directory with an "
            "MLmodel file) nor an MLmodel file"
        )
        raise ConfigError(msg)
    from sigbatch.wire import check_set_signature

    try:  # before any work: a broken MLmodel would fail the command after the inference
        check_set_signature(target, keep_existing=True)
    except SigbatchError as exc:
        msg = f"{origin}: key 'set_on': {exc}"
        raise ConfigError(msg) from None


def terminal_progress(out: IO[str], every: float = 0.2) -> Callable[[int, int, int], None]:
    """The progress line of ``sigbatch infer`` (see :func:`sigbatch.progress.progress_line`)."""
    return progress_line(out, "sigbatch infer", "files", every)


def run_infer(config: InferConfig) -> InferenceResult:
    """Run the inference a config describes on its engine, then write the outputs it names.

    Raises:
        InferenceError: As the engine's inference raises (``strict`` conflicts included).
        DependencyError: The engine's extra is not installed.
    """
    sampling: dict[str, Any] = {
        "format": config.format,
        "fraction": config.fraction,
        "max_partitions": config.max_partitions,
        "rows_per_partition": config.rows_per_partition,
        "seed": config.seed,
        "policy": config.policy,
    }
    if config.engine == "local":
        result = infer_files(
            config.source, **sampling, progress=terminal_progress(sys.stderr) if sys.stderr.isatty() else None
        )
    elif config.engine == "dask":
        try:
            from sigbatch.dask.infer import infer_schema as dask_infer
        except ImportError as exc:
            msg = f"engine 'dask' needs Dask: install with `pip install 'sigbatch[dask]'` ({exc})"
            raise DependencyError(msg) from exc
        if sys.stderr.isatty():  # Dask's own bar (local schedulers; long runs only)
            from dask.diagnostics import ProgressBar

            with ProgressBar(minimum=2.0, out=sys.stderr):
                result = dask_infer(config.source, scheduler=config.dask_scheduler, **sampling)
        else:
            result = dask_infer(config.source, scheduler=config.dask_scheduler, **sampling)
    else:
        try:
            from sigbatch.spark.infer import infer_schema as spark_infer
        except ImportError as exc:
            msg = f"engine 'spark' needs PySpark: install with `pip install 'sigbatch[spark]'` ({exc})"
            raise DependencyError(msg) from exc
        result = spark_infer(config.source, **sampling)
    if config.output:
        result.write_json(config.output)
    if config.set_on:
        result.set_on(config.set_on)
    return result
