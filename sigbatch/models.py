"""Model adapters and ``score_batch``: enforce, predict, check outputs, quarantine what fails.

A model is an MLflow model (a ``runs:/``, ``models:/`` or other MLflow URI, or a local MLflow
model directory; needs the ``mlflow`` extra) or a plain Python object named
``python:package.module:attr`` (a callable ``f(df[, params])`` or an object with
``predict(df[, params])``). The model receives the pandas frame MLflow's enforcement would hand it;
MLflow's own enforcement is not run a second time. Models are loaded once per process and cached.
"""

from __future__ import annotations

import importlib
import inspect
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from sigbatch.enforce import Profile, enforce
from sigbatch.errors import DependencyError, SignatureError
from sigbatch.params import enforce_params
from sigbatch.quarantine import ERRORS_COLUMN, Reason, ReasonCode, Stage
from sigbatch.types import ModelSignature

__all__ = ["Model", "ScoreResult", "load_model", "score_batch"]

_CACHE: dict[str, Model] = {}
_LOCK = threading.Lock()


@dataclass(frozen=True)
class Model:
    """A loaded model: how to call it, its signature (if any) and where it came from."""

    uri: str
    predict_fn: Callable[[pd.DataFrame, dict[str, Any] | None], Any]
    signature: ModelSignature | None = None

    def predict(self, frame: pd.DataFrame, params: dict[str, Any] | None = None) -> Any:
        """Call the model on an already-enforced frame."""
        return self.predict_fn(frame, params)


def _accepts_params(fn: Callable[..., Any]) -> bool:
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return False
    params = list(sig.parameters.values())
    return "params" in sig.parameters or any(p.kind is p.VAR_KEYWORD for p in params) or len(
        [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    ) >= 2


def from_callable(obj: Any, uri: str = "<callable>", signature: ModelSignature | None = None) -> Model:
    """Wrap a callable ``f(df[, params])`` or an object with ``predict(df[, params])``."""
    fn = obj.predict if hasattr(obj, "predict") and callable(obj.predict) else obj
    if not callable(fn):
        msg = f"model {uri!r} is neither callable nor has a predict() method (got {type(obj).__name__})"
        raise SignatureError(msg)
    if _accepts_params(fn):

        def call(frame: pd.DataFrame, params: dict[str, Any] | None) -> Any:
            return fn(frame, params)
    else:

        def call(frame: pd.DataFrame, params: dict[str, Any] | None) -> Any:
            return fn(frame)

    sig = signature if signature is not None else getattr(obj, "signature", None)
    if sig is not None and not isinstance(sig, ModelSignature):
        sig = None
    return Model(uri, call, sig)


def _load_python(uri: str) -> Model:
    target = uri[len("python:") :]
    module_name, sep, attr = target.partition(":")
    if not sep or not module_name or not attr:
        msg = f"model URI {uri!r}: expected 'python:package.module:attr'"
        raise SignatureError(msg)
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        msg = f"model URI {uri!r}: cannot import module {module_name!r} ({exc})"
        raise SignatureError(msg) from exc
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            msg = f"model URI {uri!r}: module {module_name!r} has no attribute {attr!r}"
            raise SignatureError(msg)
        obj = getattr(obj, part)
    return from_callable(obj, uri)


def _load_mlflow(uri: str) -> Model:
    try:
        import mlflow.pyfunc
    except ImportError as exc:
        msg = (
            f"loading the MLflow model {uri!r} needs MLflow; install it with "
            "`pip install 'sigbatch[mlflow]'`"
        )
        raise DependencyError(msg) from exc
    from sigbatch.wire import signature_from_dict

    pyfunc = mlflow.pyfunc.load_model(uri)
    # Call the flavour's predict directly: sigbatch has already enforced the signature.
    raw = getattr(pyfunc, "_predict_fn", None) or pyfunc._model_impl.predict
    takes_params = "params" in inspect.signature(raw).parameters

    def call(frame: pd.DataFrame, params: dict[str, Any] | None) -> Any:
        return raw(frame, params=params) if takes_params else raw(frame)

    mlflow_sig = pyfunc.metadata.signature
    sig = signature_from_dict(mlflow_sig.to_dict()) if mlflow_sig is not None else None
    return Model(uri, call, sig)


def load_model(uri: str) -> Model:
    """Load a model once per process (later calls with the same URI reuse it).

    Example:
        >>> m = load_model("python:sigbatch.examples.models:identity")
        >>> m.uri
        'python:sigbatch.examples.models:identity'
    """
    if not isinstance(uri, str) or not uri:
        msg = f"a model URI must be a non-empty string, got {uri!r}"
        raise SignatureError(msg)
    with _LOCK:
        cached = _CACHE.get(uri)
        if cached is not None:
            return cached
        if uri.startswith("python:"):
            model = _load_python(uri)
        elif "://" in uri or uri.startswith(("runs:", "models:")) or os.path.isdir(uri):
            model = _load_mlflow(uri)
        else:
            msg = (
                f"model URI {uri!r}: expected an MLflow URI (runs:/, models:/, ...), a local MLflow "
                "model directory, or 'python:package.module:attr'"
            )
            raise SignatureError(msg)
        _CACHE[uri] = model
        return model


def _resolve(model: Any) -> Model:
    if isinstance(model, Model):
        return model
    if isinstance(model, str):
        return load_model(model)
    return from_callable(model)


@dataclass(frozen=True)
class ScoreResult:
    """The outcome of :func:`score_batch`.

    Attributes:
        scored: the scored rows: their source columns (all, or those asked for) plus the
            prediction column(s), which replace a source column of the same name.
        quarantine: the refused rows with reasons, at every stage (input, model, output).
    """

    scored: pa.Table
    quarantine: pa.Table

    @property
    def rows(self) -> int:
        """Rows in = scored + quarantined."""
        return self.scored.num_rows + self.quarantine.num_rows


def _predictions_frame(out: Any, n: int, signature: ModelSignature | None) -> pd.DataFrame:
    """The model's output as a frame with one row per input row."""
    names = None
    if signature is not None and signature.outputs is not None and signature.outputs.has_input_names():
        names = [s.name for s in signature.outputs.inputs]
    if isinstance(out, pd.DataFrame):
        frame = out.reset_index(drop=True)
    elif isinstance(out, pd.Series):
        frame = pd.DataFrame({out.name if out.name is not None else (names[0] if names else "prediction"): out.reset_index(drop=True)})
    elif isinstance(out, np.ndarray) and out.ndim == 2 and names and out.shape[1] == len(names):
        frame = pd.DataFrame(out, columns=names)
    else:
        values = list(out) if isinstance(out, (list, tuple, np.ndarray)) else None
        if values is None:
            msg = f"the model returned {type(out).__name__}; expected a DataFrame, Series, array or list"
            raise _BadOutput(msg)
        frame = pd.DataFrame({names[0] if names else "prediction": values})
    if len(frame) != n:
        msg = f"the model returned {len(frame)} rows for {n} input rows"
        raise _BadOutput(msg)
    frame.columns = [str(c) for c in frame.columns]
    return frame


class _BadOutput(Exception):
    """The model's output cannot be matched to its input rows."""


def _predict_isolating(
    model: Model, frame: pd.DataFrame, params: dict[str, Any] | None, signature: ModelSignature | None
) -> tuple[list[tuple[np.ndarray, pd.DataFrame]], dict[int, str]]:
    """Predict; when a call raises, bisect to find the rows that make it raise."""
    done: list[tuple[np.ndarray, pd.DataFrame]] = []
    failed: dict[int, str] = {}
    stack = [np.arange(len(frame))]
    while stack:
        rows = stack.pop()
        if len(rows) == 0:
            continue
        part = frame.iloc[rows].reset_index(drop=True)
        try:
            out = _predictions_frame(model.predict(part, params), len(rows), signature)
        except Exception as exc:
            if len(rows) == 1:
                failed[int(rows[0])] = f"{type(exc).__name__}: {exc}"
            else:
                mid = len(rows) // 2
                stack += [rows[mid:], rows[:mid]]
            continue
        done.append((rows, out))
    return done, failed


def score_batch(
    data: Any,
    model: Any,
    signature: ModelSignature | None = None,
    params: dict[str, Any] | None = None,
    *,
    profile: Profile = "mlflow",
    on_schema_mismatch: str = "fail",
    keep_columns: list[str] | None = None,
) -> ScoreResult:
    """Enforce the signature on every row, score the valid rows, and quarantine the rest.

    Args:
        data: a pandas DataFrame, pyarrow Table/RecordBatch or list of dicts.
        model: a model URI (see :func:`load_model`), a :class:`Model`, or a callable.
        signature: defaults to the model's signature.
        params: inference parameters, validated and defaulted as MLflow does (bad params raise).
        profile: enforcement profile: ``mlflow``, ``strict`` or ``lenient``.
        on_schema_mismatch: ``fail`` or ``quarantine`` (see :func:`sigbatch.enforce`).
        keep_columns: the source columns the scored rows keep (default: all).

    Rows in = scored + quarantined, always.

    Example:
        >>> from sigbatch import ColSpec, ModelSignature, Schema
        >>> sig = ModelSignature(Schema([ColSpec("double", "x")]))
        >>> r = score_batch([{"x": 1.0}, {"x": "a"}], lambda df: df["x"] * 2, sig)
        >>> r.scored.column("prediction").to_pylist(), r.quarantine.num_rows
        ([2.0], 1)
    """
    resolved = _resolve(model)
    sig = signature if signature is not None else resolved.signature
    if sig is None or sig.inputs is None:
        msg = f"model {resolved.uri!r} has no input signature; pass signature=..."
        raise SignatureError(msg)
    params = enforce_params(params, sig.params)
    result = enforce(data, sig, profile=profile, on_schema_mismatch=on_schema_mismatch)  # type: ignore[arg-type]
    valid_rows = np.flatnonzero(result.valid_mask)
    frame = result.to_pandas()
    done, failed = _predict_isolating(resolved, frame, params, sig)
    model_reasons = {
        int(valid_rows[i]): [Reason("", ReasonCode.MODEL_ERROR, "a prediction", "exception", message)]
        for i, message in failed.items()
    }
    pieces: list[tuple[np.ndarray, pd.DataFrame]] = [(valid_rows[rows], out) for rows, out in done]
    output_reasons: dict[int, list[Reason]] = {}
    if pieces:
        rows_scored = np.concatenate([r for r, _ in pieces])
        preds = pd.concat([p for _, p in pieces], ignore_index=True)
    else:
        rows_scored = np.zeros(0, dtype=np.int64)
        preds = pd.DataFrame()
    order = np.argsort(rows_scored, kind="stable")
    rows_scored = rows_scored[order]
    preds = preds.iloc[order].reset_index(drop=True)
    if sig.outputs is not None and len(preds) and not sig.outputs.is_tensor_spec():
        check = enforce(preds, sig.outputs, on_schema_mismatch="quarantine")
        for local, rs in check.reasons.items():
            output_reasons[int(rows_scored[local])] = [
                Reason(r.path, ReasonCode.OUTPUT_MISMATCH, r.expected, r.actual, f"{r.code.value}: {r.message}")
                for r in rs
            ]
        keep = check.valid_mask
        rows_scored = rows_scored[keep]
        preds = preds[keep].reset_index(drop=True)
    source = result.source_rows(rows_scored, keep_columns)
    pred_table = _to_arrow(preds, len(rows_scored))
    for name in pred_table.column_names:
        if name in source.column_names:
            source = source.remove_column(source.column_names.index(name))
        source = source.append_column(name, pred_table.column(name))
    if model_reasons or output_reasons:
        # one table for every stage, so each source column keeps one type
        all_reasons = {**result.reasons, **model_reasons, **output_reasons}
        stages = {**dict.fromkeys(model_reasons, Stage.MODEL), **dict.fromkeys(output_reasons, Stage.OUTPUT)}
        quarantine = result.quarantine_rows(np.array(sorted(all_reasons), dtype=np.int64), all_reasons, stages)
    else:
        quarantine = result.quarantine
    total = source.num_rows + quarantine.num_rows
    n_in = len(result.valid_mask)
    if total != n_in:  # pragma: no cover - a broken invariant is a bug, never bad data
        msg = f"internal accounting error: {n_in} rows in, {source.num_rows} scored + {quarantine.num_rows} quarantined"
        raise AssertionError(msg)
    assert ERRORS_COLUMN in quarantine.column_names
    return ScoreResult(source, quarantine)


def _to_arrow(frame: pd.DataFrame, n: int) -> pa.Table:
    if frame.shape[1] == 0:
        return pa.table({"prediction": pa.nulls(n)})
    try:
        return pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        import json

        return pa.table({c: pa.array([json.dumps(v, default=str) for v in frame[c]], pa.string()) for c in frame.columns})
