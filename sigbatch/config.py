"""Job configuration: YAML files under ``conf/``, validated on load, overridable per key.

Every key is declared once in :data:`SCORE_KEYS` with its type, default and allowed values; a file
or a ``--set key=value`` override with an unknown key, a wrong type or a missing required value
fails with a :class:`~sigbatch.errors.ConfigError` that names the key (and suggests the closest
known key for a typo). A path, table or model key given as an empty text is refused: an empty
path would mean the working directory.

Example:
    >>> cfg = load_score_config(None, ["source.table=events", "model=python:m:f", "output.path=out/"])
    >>> cfg.profile, cfg.source.format
    ('mlflow', 'parquet')
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import yaml

from sigbatch.errors import ConfigError, read_utf8, yaml_problem
from sigbatch.manifest import is_uri

__all__ = [
    "SCORE_KEYS",
    "ScoreConfig",
    "SourceConfig",
    "flatten_keys",
    "load_score_config",
    "local_path",
    "parse_overrides",
    "read_config_file",
]

_REQUIRED = object()


@dataclass(frozen=True)
class _Key:
    types: tuple[type, ...]
    default: Any
    choices: tuple[Any, ...] | None = None
    help: str = ""
    minimum: int | None = None


SCORE_KEYS: dict[str, _Key] = {
    "source.path": _Key((str, type(None)), None, help="file or directory of the data to score"),
    "source.table": _Key((str, type(None)), None, help="a table name (Spark only), instead of a path"),
    "source.format": _Key((str,), "parquet", ("parquet", "json", "csv", "orc"), "format of source.path"),
    "source.options": _Key((dict,), {}, help="reader options (e.g. header: true for CSV)"),
    "model": _Key((str,), _REQUIRED, help="model URI: MLflow URI, model directory, or python:module:attr"),
    "signature": _Key((str, type(None)), None, help="signature file; default: the model's own"),
    "params": _Key((dict,), {}, help="inference parameters"),
    "output.path": _Key((str,), _REQUIRED, help="output directory (scored/, quarantine/, manifest)"),
    "output.mode": _Key((str,), "error", ("error", "overwrite"), "what to do when output exists"),
    "output.format": _Key((str,), "parquet", ("parquet", "delta"), "format of the outputs"),
    "output.keep_columns": _Key((list, type(None)), None, help="source columns the scored rows keep"),
    "output.key_columns": _Key((list, type(None)), None, help="source columns that identify a record"),
    "profile": _Key((str,), "mlflow", ("mlflow", "strict", "lenient"), "enforcement profile"),
    "on_schema_mismatch": _Key((str,), "fail", ("fail", "quarantine"), "whole-column problems"),
    "max_quarantine_rate": _Key(
        (float, int, type(None)),
        None,
        help="fail the job (exit status 3, outputs kept) when a larger share of rows is quarantined",
    ),
    "spark.batch_size": _Key((int,), 50_000, help="rows per Arrow batch on the executors", minimum=1),
    "spark.inline_quarantine_mb": _Key(
        (int,),
        256,
        help="quarantined rows (MB) the driver takes in the single pass; above it, or 0, score via a checkpoint",
        minimum=0,
    ),
    "dask.scheduler": _Key((str,), "threads", help="threads, processes, or a dask.distributed address"),
    "dask.workers": _Key((int, type(None)), None, help="worker count for the processes scheduler", minimum=1),
    "dask.blocksize": _Key((str, type(None)), None, help="partition size when reading text sources"),
    "progress": _Key((bool,), True, help="a progress bar when the output is a terminal"),
}


#: Keys naming a path, a table or a model, and what to give instead of an empty text (an empty
#: path is the working directory: a job would read, or write into, whatever is there).
_NOT_EMPTY = {
    "source.path": "give the file or directory of the data to score",
    "source.table": "give a table name, or leave it out and set source.path",
    "model": "give an MLflow URI, a model directory or python:module:attr",
    "signature": "give a signature file, or leave it out to enforce the model's own",
    "output.path": "give the directory for scored/, quarantine/ and the manifest",
}


@dataclass(frozen=True)
class SourceConfig:
    """Where the rows come from."""

    path: str | None
    table: str | None
    format: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ScoreConfig:
    """A validated scoring-job configuration (see ``conf/score_*.yaml``)."""

    source: SourceConfig
    model: str
    signature: str | None
    params: dict[str, Any]
    output: str
    mode: str
    output_format: str
    keep_columns: list[str] | None
    key_columns: list[str] | None
    profile: str
    on_schema_mismatch: str
    spark_batch_size: int
    spark_inline_quarantine_mb: int
    dask_scheduler: str
    dask_workers: int | None
    dask_blocksize: str | None
    progress: bool
    origin: str = "<overrides>"
    max_quarantine_rate: float | None = None

    def as_dict(self) -> dict[str, Any]:
        """The configuration as flat ``key: value`` pairs (for the manifest)."""
        return _flat_values(self)


def flatten_keys(doc: Any, known: Iterable[str], prefix: str = "") -> dict[str, Any]:
    """Nested sections as dotted keys (``output: {path: x}`` -> ``output.path``).

    A mapping is opened only where known keys lie below it, so mapping-valued keys (``params``,
    ``source.options``) stay whole; such a section left empty (``dask:`` with every key below it
    commented out) sets nothing.
    """
    known = list(known)
    out: dict[str, Any] = {}
    for key, value in doc.items():
        name = f"{prefix}{key}"
        section = any(k.startswith(name + ".") for k in known)
        if section and value is None:
            continue
        if isinstance(value, dict) and section:
            out.update(flatten_keys(value, known, name + "."))
        else:
            out[name] = value
    return out


def read_config_file(path: str | os.PathLike[str]) -> tuple[str, dict[str, Any]]:
    """(origin, top-level mapping) of a YAML config file, or a ConfigError naming the file."""
    p = Path(path)
    if p.is_dir():
        msg = f"{p}: a directory, not a config file"
        raise ConfigError(msg)
    if not p.is_file():
        msg = f"{p}: no such config file"
        raise ConfigError(msg)
    text = read_utf8(p, ConfigError, "save the config as UTF-8")
    try:
        doc = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        msg = f"{p}: invalid YAML: {yaml_problem(exc)}"
        raise ConfigError(msg) from None
    if not isinstance(doc, dict):
        msg = f"{p}: expected a mapping of keys at the top level, got {type(doc).__name__}"
        raise ConfigError(msg)
    return str(p), doc


def parse_overrides(items: Sequence[str] | None) -> dict[str, Any]:
    """``key=value`` pairs; values are read as YAML (``3`` is an int, ``[a, b]`` a list, empty null)."""
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            msg = f"--set {item!r}: expected key=value"
            raise ConfigError(msg)
        try:
            out[key.strip()] = yaml.safe_load(raw) if raw.strip() else None
        except yaml.YAMLError as exc:
            msg = f"--set {key}: cannot read the value {raw!r} ({yaml_problem(exc)})"
            raise ConfigError(msg) from None
    return out


def unknown_key(origin: str, key: str, known: Iterable[str]) -> ConfigError:
    """The error for a key no config declares, with the closest known key (or all of them)."""
    known = sorted(known)
    close = difflib.get_close_matches(key, known, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else f"; known keys: {known}"
    return ConfigError(f"{origin}: unknown key '{key}'{hint}")


def _check(origin: str, values: dict[str, Any]) -> dict[str, Any]:
    resolved: dict[str, Any] = {}
    for key, value in values.items():
        if key not in SCORE_KEYS:
            raise unknown_key(origin, key, SCORE_KEYS)
        spec = SCORE_KEYS[key]
        if isinstance(value, bool) and bool not in spec.types:
            ok = False
        else:
            ok = isinstance(value, spec.types)
        if not ok:
            wanted = " or ".join("null" if t is type(None) else t.__name__ for t in spec.types)
            msg = f"{origin}: key '{key}' must be {wanted}, got {type(value).__name__} {value!r}"
            raise ConfigError(msg)
        if spec.choices is not None and value not in spec.choices:
            msg = f"{origin}: key '{key}' must be one of {list(spec.choices)}, got {value!r}"
            raise ConfigError(msg)
        if key in _NOT_EMPTY and isinstance(value, str) and local_path(value) == "":
            # an empty path, or a file: URI naming none (file://), is the working directory
            msg = f"{origin}: key '{key}' is empty; {_NOT_EMPTY[key]}"
            raise ConfigError(msg)
        if spec.minimum is not None and value is not None and value < spec.minimum:
            msg = f"{origin}: key '{key}' must be at least {spec.minimum}, got {value!r}"
            raise ConfigError(msg)
        if key in ("output.keep_columns", "output.key_columns") and value is not None:
            if not all(isinstance(v, str) for v in value):
                msg = f"{origin}: key '{key}' must be a list of column names"
                raise ConfigError(msg)
            twice = sorted({v for v in value if value.count(v) > 1})
            if twice:
                msg = f"{origin}: key '{key}' names {', '.join(map(repr, twice))} more than once"
                raise ConfigError(msg)
        if key == "max_quarantine_rate" and value is not None and not 0 <= value <= 1:
            msg = f"{origin}: key '{key}' must be a share of rows from 0 to 1 (0.05 is 5%), got {value!r}"
            raise ConfigError(msg)
        if key == "dask.blocksize" and value is not None:
            _check_size(origin, key, value)
        resolved[key] = value
    return resolved


def _check_size(origin: str, key: str, value: str) -> None:
    """A size such as "64MB" (read as Dask reads it; unchecked when Dask is not installed)."""
    try:
        from dask.utils import parse_bytes
    except ImportError:  # the Spark engine ignores the key
        return
    try:
        size = parse_bytes(value)
    except (ValueError, TypeError):
        size = 0
    if size <= 0:
        msg = f"{origin}: key '{key}' must be a size such as '64MB' or '1GiB', got {value!r}"
        raise ConfigError(msg)


def local_path(path: str) -> str | None:
    """The local path a job's path names: the path itself, or the path of a ``file:`` URI.

    None for a URI of another scheme (``hdfs://``, ``s3a://``) or a ``file:`` URI of another host.

    Example:
        >>> local_path("file:///data/my%20lake"), local_path("file:/data/lake"), local_path("lake/")
        ('/data/my lake', '/data/lake', 'lake/')
        >>> local_path("s3a://bucket/lake") is None, local_path("file://nas/lake") is None
        (True, True)
    """
    if not is_uri(path):
        return path
    uri = urlparse(path)
    if uri.scheme.lower() != "file" or uri.netloc not in ("", "localhost"):
        return None
    return unquote(uri.path)


def load_score_config(path: str | os.PathLike[str] | None, overrides: list[str] | None = None) -> ScoreConfig:
    """Read and validate a scoring config file, then apply ``key=value`` overrides."""
    values: dict[str, Any] = {}
    origin = "<overrides>"
    if path is not None:
        origin, doc = read_config_file(path)
        values.update(_check(origin, flatten_keys(doc, SCORE_KEYS)))
    overridden = _check("--set", parse_overrides(overrides))
    values.update(overridden)

    def where(key: str) -> str:  # what set the key: the file or --set
        return "--set" if key in overridden else origin

    for key, spec in SCORE_KEYS.items():
        if key not in values:
            if spec.default is _REQUIRED:
                msg = f"{origin}: missing required key '{key}' ({spec.help})"
                raise ConfigError(msg)
            values[key] = spec.default
    if values["source.path"] is None and values["source.table"] is None:
        msg = f"{origin}: set 'source.path' (a file or directory) or 'source.table' (a table name)"
        raise ConfigError(msg)
    if values["source.path"] is not None and values["source.table"] is not None:
        raise _both_sources(where("source.path"), where("source.table"))
    local = None if values["source.path"] is None else local_path(values["source.path"])
    if local is not None and not Path(local).exists():
        msg = f"{where('source.path')}: key 'source.path': {values['source.path']} does not exist"
        raise ConfigError(msg)
    if values["signature"] is not None and not Path(values["signature"]).exists():
        msg = f"{where('signature')}: key 'signature': {values['signature']} does not exist"
        raise ConfigError(msg)
    return ScoreConfig(
        source=SourceConfig(
            values["source.path"],
            values["source.table"],
            values["source.format"],
            dict(values["source.options"]),
        ),
        model=values["model"],
        signature=values["signature"],
        params=dict(values["params"]),
        output=values["output.path"],
        mode=values["output.mode"],
        output_format=values["output.format"],
        keep_columns=values["output.keep_columns"],
        key_columns=values["output.key_columns"],
        profile=values["profile"],
        on_schema_mismatch=values["on_schema_mismatch"],
        spark_batch_size=values["spark.batch_size"],
        spark_inline_quarantine_mb=values["spark.inline_quarantine_mb"],
        dask_scheduler=values["dask.scheduler"],
        dask_workers=values["dask.workers"],
        dask_blocksize=values["dask.blocksize"],
        progress=values["progress"],
        origin=origin,
        max_quarantine_rate=values["max_quarantine_rate"],
    )


def _both_sources(path_from: str, table_from: str) -> ConfigError:
    """The error for a source given both as a path and as a table, naming what set each."""
    if path_from == table_from:
        return ConfigError(f"{path_from}: set only one of 'source.path' and 'source.table'")
    in_file, file = ("source.path", path_from) if table_from == "--set" else ("source.table", table_from)
    return ConfigError(
        f"set only one of 'source.path' (from {path_from}) and 'source.table' (from {table_from}); "
        f"--set {in_file}=null clears the one in {file}"
    )


def _flat_values(cfg: ScoreConfig) -> dict[str, Any]:
    return {
        "source.path": cfg.source.path,
        "source.table": cfg.source.table,
        "source.format": cfg.source.format,
        "source.options": cfg.source.options,
        "model": cfg.model,
        "signature": cfg.signature,
        "params": cfg.params,
        "output.path": cfg.output,
        "output.mode": cfg.mode,
        "output.format": cfg.output_format,
        "output.keep_columns": cfg.keep_columns,
        "output.key_columns": cfg.key_columns,
        "profile": cfg.profile,
        "on_schema_mismatch": cfg.on_schema_mismatch,
        "max_quarantine_rate": cfg.max_quarantine_rate,
        "spark.batch_size": cfg.spark_batch_size,
        "spark.inline_quarantine_mb": cfg.spark_inline_quarantine_mb,
        "dask.scheduler": cfg.dask_scheduler,
        "dask.workers": cfg.dask_workers,
        "dask.blocksize": cfg.dask_blocksize,
        "progress": cfg.progress,
    }
