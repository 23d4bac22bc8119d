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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from sigbatch.enforce import ABSENT, LENIENT_HINT, Profile, checked_schema, enforce
from sigbatch.errors import (
    ConfigError,
    DependencyError,
    JobError,
    ModelLoadError,
    SignatureError,
    SignatureTypeError,
)
from sigbatch.params import enforce_params
from sigbatch.quarantine import (
    CORRUPT_COLUMN,
    ERRORS_COLUMN,
    KIND_COLUMN,
    PRED_PREFIX,
    REASON_TYPE,
    ROW_COLUMN,
    STAGE_COLUMN,
    Reason,
    ReasonCode,
    Stage,
)
from sigbatch.types import ColSpec, ModelSignature, Schema, repeated_names

__all__ = [
    "KIND_COLUMN",
    "PRED_PREFIX",
    "Model",
    "ScoreResult",
    "combined_schema",
    "load_model",
    "output_schema",
    "prediction_schema",
    "quarantine_part",
    "score_batch",
    "score_combined",
    "scored_part",
    "split_combined",
]

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


def _params_passing(fn: Callable[..., Any]) -> str | None:
    """How ``fn`` takes params: ``keyword`` (a parameter named ``params``, or ``**kwargs``),
    ``positional`` (a positional-only ``params``, or a second positional parameter of another
    name), or None (it takes none)."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    params = list(sig.parameters.values())
    named = sig.parameters.get("params")
    if named is not None:  # by its name, wherever it is (def f(df, threshold=0.5, *, params=None))
        return "positional" if named.kind is named.POSITIONAL_ONLY else "keyword"
    if len([p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]) >= 2:
        return "positional"
    if any(p.kind is p.VAR_KEYWORD for p in params):
        return "keyword"
    return None


def from_callable(obj: Any, uri: str = "<callable>", signature: ModelSignature | None = None) -> Model:
    """Wrap a callable ``f(df[, params])`` or an object with ``predict(df[, params])``.

    A class is instantiated first, without arguments: its instances are the model.
    """
    if inspect.isclass(obj):
        try:
            obj = obj()
        except Exception as exc:
            msg = f"model {uri!r}: cannot create an instance of class {obj.__name__}() ({_cause(exc)})"
            raise ModelLoadError(msg) from exc
    fn = obj.predict if hasattr(obj, "predict") and callable(obj.predict) else obj
    if not callable(fn):
        msg = f"model {uri!r} is neither callable nor has a predict() method (got {type(obj).__name__})"
        raise ModelLoadError(msg)
    passing = _params_passing(fn)
    if passing == "positional":

        def call(frame: pd.DataFrame, params: dict[str, Any] | None) -> Any:
            return fn(frame, params)
    elif passing == "keyword":

        def call(frame: pd.DataFrame, params: dict[str, Any] | None) -> Any:
            return fn(frame, params=params)
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
    except Exception as exc:  # an ImportError, or whatever the module's own code raises
        msg = f"model URI {uri!r}: cannot import module {module_name!r} ({_cause(exc)})"
        raise ModelLoadError(msg) from exc
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            msg = f"model URI {uri!r}: module {module_name!r} has no attribute {attr!r}"
            raise ModelLoadError(msg)
        obj = getattr(obj, part)
    return from_callable(obj, uri)


def _cause(exc: BaseException) -> str:
    """An exception as one line: its type and the first line of its message."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__


def _load_mlflow(uri: str) -> Model:
    try:
        import mlflow.pyfunc
    except ImportError as exc:
        msg = (
            f"loading the MLflow model {uri!r} needs MLflow; install it with `pip install 'sigbatch[mlflow]'`"
        )
        raise DependencyError(msg) from exc
    from sigbatch.wire import signature_from_dict

    try:
        pyfunc = mlflow.pyfunc.load_model(uri)
    except Exception as exc:  # MLflow's own errors (no MLmodel, unknown run) or the model's load_context
        msg = f"model URI {uri!r}: MLflow cannot load it ({_cause(exc)})"
        raise ModelLoadError(msg) from exc
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
        elif os.path.isfile(uri):
            msg = f"model {uri!r} is a file; give the MLflow model directory that holds the MLmodel file"
            raise SignatureError(msg)
        elif os.sep in uri or uri.startswith("."):
            msg = (
                f"model {uri!r}: no such directory (a local MLflow model is a directory with an MLmodel file)"
            )
            raise SignatureError(msg)
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


def _predictions_frame(out: Any, n: int, signature: ModelSignature | None, inputs: Any = ()) -> pd.DataFrame:
    """The model's output as a frame with one row per input row.

    A Series keeps its name as the prediction column's, unless that is the name of one of the
    model's ``inputs`` (``df["x"] * 2`` is named ``x``) and not a declared output: the prediction
    would then replace that source column in the scored rows, so it takes the default name instead.
    """
    names = None
    if signature is not None and signature.outputs is not None and signature.outputs.has_input_names():
        names = [s.name for s in signature.outputs.inputs]
    if isinstance(out, pd.DataFrame):
        frame = out.reset_index(drop=True)
    elif isinstance(out, pd.Series):
        own = out.name
        if own is not None and str(own) in set(map(str, inputs)) and str(own) not in (names or []):
            own = None
        frame = pd.DataFrame(
            {own if own is not None else (names[0] if names else "prediction"): out.reset_index(drop=True)}
        )
    elif isinstance(out, np.ndarray) and out.ndim == 2 and names and out.shape[1] == len(names):
        frame = pd.DataFrame(out, columns=names)
    else:
        values = list(out) if isinstance(out, (list, tuple, np.ndarray)) and np.ndim(out) > 0 else None
        if values is None:
            kind = "a 0-d array" if isinstance(out, np.ndarray) else type(out).__name__
            msg = f"the model returned {kind}; expected a DataFrame, Series, array or list"
            raise ModelOutputError(msg)
        frame = pd.DataFrame({names[0] if names else "prediction": values})
    if len(frame) != n:
        returned = f"{len(frame)} row" if len(frame) == 1 else f"{len(frame)} rows"
        msg = f"the model returned {returned} for {n} input row{'' if n == 1 else 's'}"
        raise ModelOutputError(msg)
    frame.columns = [str(c) for c in frame.columns]
    twice = repeated_names(frame.columns)
    if twice:
        msg = f"the model returned more than one column named {', '.join(map(repr, twice))}"
        raise ModelOutputError(msg)
    return frame


class ModelOutputError(Exception):
    """The model's output cannot be matched to its input rows (the name is part of the reason)."""


def _predict_isolating(
    model: Model, frame: pd.DataFrame, params: dict[str, Any] | None, signature: ModelSignature | None
) -> tuple[list[tuple[np.ndarray, pd.DataFrame]], dict[int, str], dict[int, str]]:
    """Predict; when a call raises, bisect to find the rows that make it raise.

    Returns the predictions of the calls that worked (with their rows), the rows whose call
    raised (by row: the exception), and the rows of a call whose output does not match its input
    (a wrong row count or kind): that is the model's answer for the whole call, never bisected,
    since smaller calls could happen to match (a model that always returns one value).
    """
    done: list[tuple[np.ndarray, pd.DataFrame]] = []
    failed: dict[int, str] = {}
    mismatched: dict[int, str] = {}
    stack = [np.arange(len(frame))]
    while stack:
        rows = stack.pop()
        if len(rows) == 0:
            continue
        part = frame.iloc[rows].reset_index(drop=True)
        try:
            answer = model.predict(part, params)
        except SystemExit as exc:  # not the rows' fault, and not to end the job without a word
            msg = f"the model called sys.exit({exc.code!r}) while predicting; a model returns predictions or raises"
            raise JobError(msg) from None
        except KeyboardInterrupt:
            raise
        except Exception as exc:
            if len(rows) == 1:
                failed[int(rows[0])] = f"{type(exc).__name__}: {exc}"
            else:
                mid = len(rows) // 2
                stack += [rows[mid:], rows[:mid]]
            continue
        except BaseException as exc:  # GeneratorExit and the like: meant to stop the caller, not a row
            msg = (
                f"the model raised {type(exc).__name__}({str(exc)!r}) while predicting, which is not an "
                "Exception; a model returns predictions or raises an Exception"
            )
            raise JobError(msg) from None
        try:
            out = _predictions_frame(answer, len(rows), signature, part.columns)
        except ModelOutputError as exc:
            mismatched.update(dict.fromkeys(map(int, rows), str(exc)))
            continue
        done.append((rows, out))
    return done, failed, mismatched


def check_columns(key: str, wanted: Any, have: Sequence[Any] | None) -> None:
    """Refuse ``wanted`` (the value of ``key``, such as ``keep_columns``) unless it is None or a list
    of column names, each among ``have`` (when known). Every engine checks its column lists here.

    Raises:
        ConfigError: Not a list of names, or a name not among ``have``.
    """
    if wanted is None:
        return
    if not isinstance(wanted, (list, tuple)) or not all(isinstance(c, str) for c in wanted):
        msg = f"{key} must be a list of column names, got {type(wanted).__name__} {wanted!r}"
        raise ConfigError(msg)
    if have is not None:
        names = [str(c) for c in have]
        missing = [c for c in wanted if c not in names]
        if missing:
            msg = f"{key}: {missing} not in the source columns {names}"
            raise ConfigError(msg)


def given_signature(signature: ModelSignature | str | os.PathLike[str] | None) -> ModelSignature | None:
    """A ``signature=`` argument as a signature: one given, or read from the path of a signature file
    or model (None stays None: the model's own is used).

    Raises:
        SignatureTypeError: It is neither.
    """
    if isinstance(signature, (str, os.PathLike)):
        from sigbatch.wire import load_signature

        return load_signature(signature)
    if signature is not None and not isinstance(signature, ModelSignature):
        msg = f"signature must be a ModelSignature or the path of a signature file, got {type(signature).__name__}"
        raise SignatureTypeError(msg)
    return signature


def score_batch(
    data: Any,
    model: Any,
    signature: ModelSignature | str | os.PathLike[str] | None = None,
    params: dict[str, Any] | None = None,
    *,
    profile: Profile = "mlflow",
    on_schema_mismatch: str = "fail",
    keep_columns: list[str] | None = None,
) -> ScoreResult:
    """Enforce the signature on every row, score the valid rows, and quarantine the rest.

    Args:
        data: a pandas DataFrame, pyarrow Table/RecordBatch, list of dicts or dict (see
            :func:`sigbatch.enforce`).
        model: a model URI (see :func:`load_model`), a :class:`Model`, or a callable.
        signature: defaults to the model's signature; a path is read with
            :func:`~sigbatch.wire.load_signature` (a model directory, an MLmodel, a JSON or YAML file).
        params: inference parameters, validated and defaulted as MLflow does (bad params raise).
        profile: enforcement profile: ``mlflow``, ``strict`` or ``lenient``.
        on_schema_mismatch: ``fail`` or ``quarantine`` (see :func:`sigbatch.enforce`).
        keep_columns: the source columns the scored rows keep (default: all); an unknown one is a
            :class:`~sigbatch.errors.ConfigError`, raised before the model runs.

    Rows in = scored + quarantined, always.

    Example:
        >>> from sigbatch import ColSpec, ModelSignature, Schema
        >>> sig = ModelSignature(Schema([ColSpec("double", "x")]))
        >>> r = score_batch([{"x": 1.0}, {"x": "a"}], lambda df: df["x"] * 2, sig)
        >>> r.scored.column("prediction").to_pylist(), r.quarantine.num_rows
        ([2.0], 1)
    """
    scored = _score(
        data, model, signature, params, profile, on_schema_mismatch, typed=False, keep_columns=keep_columns
    )
    source = scored.enforced.source_rows(scored.rows, keep_columns)
    if keep_columns is None and CORRUPT_COLUMN in source.column_names:
        # null in every scored row (such rows are quarantined): only the quarantine keeps it
        source = source.remove_column(source.column_names.index(CORRUPT_COLUMN))
    for name in scored.predictions.column_names:  # as withColumn: a source column's place is kept
        if name in source.column_names:
            source = source.set_column(source.column_names.index(name), name, scored.predictions.column(name))
        else:
            source = source.append_column(name, scored.predictions.column(name))
    return ScoreResult(source, scored.quarantine)


@dataclass(frozen=True)
class _Scored:
    """One batch after enforcement, prediction and output checks."""

    enforced: Any  # EnforceResult
    rows: np.ndarray  # input positions of the scored rows, ascending
    predictions: pa.Table  # one row per scored row
    quarantine: pa.Table  # every refused row, all stages


def _score(
    data: Any,
    model: Any,
    signature: ModelSignature | str | os.PathLike[str] | None,
    params: dict[str, Any] | None,
    profile: Profile,
    on_schema_mismatch: str,
    *,
    typed: bool,
    keep_columns: list[str] | None = None,
) -> _Scored:
    """Enforce, predict with failure isolation, check outputs; ``typed`` fixes prediction types.

    Raises:
        ConfigError: a ``keep_columns`` entry is not an input column (before the model runs).
    """
    resolved = _resolve(model)
    signature = given_signature(signature)
    sig = signature if signature is not None else resolved.signature
    if sig is None or sig.inputs is None:
        msg = f"model {resolved.uri!r} has no input signature; pass signature=..."
        raise SignatureError(msg)
    output_schema(sig)  # an output schema predictions cannot be checked against: before the model runs
    params = enforce_params(params, sig.params)
    check_columns("keep_columns", keep_columns, None)
    result = enforce(data, sig, profile=profile, on_schema_mismatch=on_schema_mismatch)  # type: ignore[arg-type]
    if result.input_columns is not None:
        check_columns("keep_columns", keep_columns, result.input_columns)
    valid_rows = np.flatnonzero(result.valid_mask)
    frame = result.to_pandas()
    done, failed, mismatched = _predict_isolating(resolved, frame, params, sig)
    model_reasons = {
        int(valid_rows[i]): [Reason("", ReasonCode.MODEL_ERROR, "a prediction", "exception", message)]
        for i, message in failed.items()
    }
    shape_reasons = {
        int(valid_rows[i]): [
            Reason(
                "", ReasonCode.OUTPUT_MISMATCH, "one prediction per input row", "unmatched output", message
            )
        ]
        for i, message in mismatched.items()
    }
    pieces: list[tuple[np.ndarray, pd.DataFrame]] = [(valid_rows[rows], out) for rows, out in done]
    if pieces:
        rows_scored = np.concatenate([r for r, _ in pieces])
        preds = pd.concat([p for _, p in pieces], ignore_index=True)
    else:
        rows_scored = np.zeros(0, dtype=np.int64)
        preds = pd.DataFrame()
    order = np.argsort(rows_scored, kind="stable")
    rows_scored = rows_scored[order]
    preds = preds.iloc[order].reset_index(drop=True)
    out_schema = output_schema(sig) if typed else sig.outputs
    if typed and sig.outputs is None and preds.shape[1]:
        preds = preds.iloc[:, :1].set_axis(["prediction"], axis=1)
    output_reasons: dict[int, list[Reason]] = dict(shape_reasons)
    pred_table: pa.Table | None = None
    if out_schema is not None and not out_schema.is_tensor_spec() and len(rows_scored):
        checked = preds
        if out_schema.has_input_names():
            # only the declared outputs are checked (and kept when typed): converting the other
            # columns a model returns (an identity model returns its whole input) is wasted work
            declared = {s.name for s in out_schema.inputs}
            checked = preds[[c for c in preds.columns if c in declared]]
        check = enforce(checked, out_schema, on_schema_mismatch="quarantine")
        for local, rs in check.reasons.items():
            output_reasons[int(rows_scored[local])] = [
                Reason(
                    r.path,
                    ReasonCode.OUTPUT_MISMATCH,
                    r.expected,
                    r.actual,
                    f"{r.code.value}: {_of_output(r.message)}",
                )
                for r in rs
            ]
        keep = check.valid_mask
        rows_scored = rows_scored[keep]
        preds = preds[keep].reset_index(drop=True)
        if typed:
            pred_table = check.valid
    named = out_schema is not None and not out_schema.is_tensor_spec() and out_schema.has_input_names()
    if pred_table is None and not typed and named and len(rows_scored):
        # the declared outputs only, as the Dask and Spark engines keep them (an identity model
        # returns its whole input)
        assert out_schema is not None
        preds = preds[[c for c in preds.columns if c in {str(s.name) for s in out_schema.inputs}]]
    if pred_table is None:
        # no scored rows: an empty table of the declared prediction types
        pred_table = (
            prediction_schema(sig).empty_table()
            if typed or (named and not len(rows_scored))
            else _to_arrow(preds, len(rows_scored))
        )
    if out_schema is not None and not out_schema.is_tensor_spec() and len(rows_scored):
        pred_table = _required_nans(pred_table, preds, out_schema)
    if model_reasons or output_reasons:
        # one table for every stage, so each source column keeps one type
        all_reasons = {**result.reasons, **model_reasons, **output_reasons}
        stages = {**dict.fromkeys(model_reasons, Stage.MODEL), **dict.fromkeys(output_reasons, Stage.OUTPUT)}
        quarantine = result.quarantine_rows(
            np.array(sorted(all_reasons), dtype=np.int64), all_reasons, stages
        )
    else:
        quarantine = result.quarantine
    n_in = len(result.valid_mask)
    if len(rows_scored) + quarantine.num_rows != n_in:  # pragma: no cover - a bug, never bad data
        msg = f"internal accounting error: {n_in} rows in, {len(rows_scored)} scored + {quarantine.num_rows} quarantined"
        raise AssertionError(msg)
    assert ERRORS_COLUMN in quarantine.column_names
    return _Scored(result, rows_scored, pred_table, quarantine)


# --- the engines' view: one Arrow stream holding both outputs -------------------------------


def _of_output(message: str) -> str:
    """An input check's message about a model's output (no profile converts outputs)."""
    return message.replace(ABSENT, "is absent from the model's output").removesuffix(LENIENT_HINT)


def output_schema(signature: ModelSignature) -> Schema:
    """The output schema predictions are checked and typed against (default: one double)."""
    if signature.outputs is not None and not signature.outputs.is_tensor_spec():
        if signature.outputs.has_input_names():
            return checked_schema(signature.outputs, "output")
        specs = [
            ColSpec(s.type, "prediction" if i == 0 else f"prediction_{i}", s.required)  # type: ignore[arg-type]
            for i, s in enumerate(signature.outputs.inputs)
        ]
        return Schema(specs)
    return Schema([ColSpec("double", "prediction", required=False)])


def prediction_schema(signature: ModelSignature) -> pa.Schema:
    """The Arrow fields of the prediction columns (unprefixed names, nullable at every depth: a row
    that is not scored holds a null prediction, also where the signature requires a property)."""
    from sigbatch.arrow import arrow_type

    specs = output_schema(signature).inputs
    return pa.schema([pa.field(str(s.name), _nullable(arrow_type(s.type))) for s in specs])  # type: ignore[arg-type]


def _nullable(t: pa.DataType) -> pa.DataType:
    """``t`` with every field in it (struct fields, list elements, map values) nullable."""
    if pa.types.is_struct(t):
        return pa.struct(
            [
                t.field(i).with_type(_nullable(t.field(i).type)).with_nullable(True)
                for i in range(t.num_fields)
            ]
        )
    if pa.types.is_list(t):
        return pa.list_(t.value_field.with_type(_nullable(t.value_type)).with_nullable(True))
    if pa.types.is_large_list(t):
        return pa.large_list(t.value_field.with_type(_nullable(t.value_type)).with_nullable(True))
    if pa.types.is_map(t):
        return pa.map_(t.key_type, t.item_field.with_type(_nullable(t.item_type)).with_nullable(True))
    return t


def combined_schema(source: pa.Schema, signature: ModelSignature) -> pa.Schema:
    """The schema of :func:`score_combined`'s output for a source schema.

    Source columns (source types), prediction columns prefixed with ``_sigbatch_pred_``, then
    ``_sigbatch_errors``, ``_sigbatch_stage``, ``_sigbatch_row`` and ``_sigbatch_kind``
    (``scored`` or ``quarantined``).
    """
    fields = [pa.field(f.name, f.type) for f in source]
    fields += [pa.field(PRED_PREFIX + f.name, f.type) for f in prediction_schema(signature)]
    fields += [
        pa.field(ERRORS_COLUMN, pa.list_(REASON_TYPE)),
        pa.field(STAGE_COLUMN, pa.string()),
        pa.field(ROW_COLUMN, pa.int64()),
        pa.field(KIND_COLUMN, pa.string()),
    ]
    return pa.schema(fields)


def score_combined(
    batch: pa.Table | pa.RecordBatch,
    model: Any,
    signature: ModelSignature,
    params: dict[str, Any] | None = None,
    *,
    profile: Profile = "mlflow",
    on_schema_mismatch: str = "fail",
    row_offset: int = 0,
) -> pa.Table:
    """Score one Arrow batch into the single stream engines write: both outputs, one schema.

    Every input row stays where it is, with its source columns untouched: a scored row adds its
    predictions, a quarantined row its reasons (the other side's columns are null), and
    ``_sigbatch_row`` is ``row_offset`` + the position in the batch. Engines split the stream on
    ``_sigbatch_kind``; see :func:`split_combined`.
    """
    table = pa.Table.from_batches([batch]) if isinstance(batch, pa.RecordBatch) else batch
    schema = combined_schema(table.schema, signature)
    scored = _score(table, model, signature, params, profile, on_schema_mismatch, typed=True)
    n = table.num_rows
    ok = np.zeros(n, dtype=bool)
    ok[scored.rows] = True
    # Where each row's prediction (scored) or reasons (quarantined) are in their tables; null
    # indices give null values on the other side.
    bad_rows = np.asarray(scored.quarantine.column(ROW_COLUMN), dtype=np.int64)
    at = np.zeros(n, dtype=np.int64)
    at[scored.rows] = np.arange(len(scored.rows))
    at[bad_rows] = np.arange(len(bad_rows))
    pred_at = pa.array(at, mask=~ok)
    reason_at = pa.array(at, mask=ok)
    columns = []
    for f in schema:
        if f.name in table.column_names:
            columns.append(table.column(f.name))
        elif f.name.startswith(PRED_PREFIX):
            pred = (
                _chunk(scored.predictions.column(f.name[len(PRED_PREFIX) :]))
                if len(scored.rows)
                else pa.nulls(1, f.type)
            )
            columns.append(pred.take(pred_at).cast(f.type))
        elif f.name in (ERRORS_COLUMN, STAGE_COLUMN):
            reasons = _chunk(scored.quarantine.column(f.name)) if len(bad_rows) else pa.nulls(1, f.type)
            columns.append(reasons.take(reason_at).cast(f.type))
        elif f.name == ROW_COLUMN:
            columns.append(pa.array(np.arange(row_offset, row_offset + n, dtype=np.int64)))
        else:
            columns.append(pc.if_else(pa.array(ok), pa.scalar("scored"), pa.scalar("quarantined")))
    return pa.Table.from_arrays(columns, schema=schema)


def _required_nans(table: pa.Table, preds: pd.DataFrame, schema: Schema) -> pa.Table:
    """``table`` with the NaN of required float outputs kept as NaN.

    The output check accepts NaN in a required float column (a float value, as MLflow treats it),
    but pandas' conversion to Arrow turns it into null, which a required column must not hold.
    """
    for spec in schema.inputs:
        name = spec.name
        if not spec.required or name is None or name not in table.column_names or name not in preds.columns:
            continue
        values, field = preds[name], table.schema.field(name)
        if (
            not isinstance(values, pd.Series)
            or not pa.types.is_floating(field.type)
            or not table.column(name).null_count
        ):
            continue
        if values.dtype.kind == "f":
            nan = np.isnan(values.to_numpy())
        elif values.dtype == object:  # floats among other values (rows whose output was refused)
            nan = np.fromiter(
                (isinstance(v, (float, np.floating)) and v != v for v in values),
                dtype=bool,
                count=len(values),
            )
        else:
            continue
        if nan.any():
            kept = pc.if_else(pa.array(nan), pa.scalar(float("nan"), field.type), table.column(name))
            table = table.set_column(table.schema.get_field_index(name), field, kept)
    return table


def _chunk(col: pa.ChunkedArray | pa.Array) -> pa.Array:
    if isinstance(col, pa.ChunkedArray):
        return col.combine_chunks() if col.num_chunks else pa.array([], col.type)
    return col


def split_combined(combined: pa.Table, keep_columns: list[str] | None = None) -> tuple[pa.Table, pa.Table]:
    """Split :func:`score_combined` output into the scored and quarantine tables.

    Scored: source columns (all but ``_corrupt_record``, or ``keep_columns``) with the predictions
    added as ``withColumn`` would (a prediction replaces a source column of the same name, in its place).
    Quarantine: source columns plus ``_sigbatch_errors``, ``_sigbatch_stage`` and ``_sigbatch_row``.

    A reader's ``_corrupt_record`` is null in every scored row (a row with raw text is a parse
    error), so the scored table leaves it out unless ``keep_columns`` names it; the quarantine
    keeps it, with the text.
    """
    return scored_part(combined, keep_columns), quarantine_part(combined)


def scored_part(combined: pa.Table, keep_columns: list[str] | None = None) -> pa.Table:
    """The scored table of a :func:`score_combined` output (see :func:`split_combined`)."""
    pred_names = [n[len(PRED_PREFIX) :] for n in combined.column_names if n.startswith(PRED_PREFIX)]
    kept = (
        [n for n in _source_names(combined) if n != CORRUPT_COLUMN] if keep_columns is None else keep_columns
    )
    columns = scored_columns(kept, pred_names)
    ok = pc.equal(combined.column(KIND_COLUMN), "scored")
    # select before filtering: only the columns kept are copied
    return combined.select([c for c, _ in columns]).filter(ok).rename_columns([n for _, n in columns])


def scored_columns(kept: list[str], predictions: list[str]) -> list[tuple[str, str]]:
    """The scored output's columns as (name in the combined stream, output name): the kept source
    columns, a prediction in the place of the source column it replaces (as ``withColumn`` has
    it), then the other predictions."""
    return [
        (PRED_PREFIX + n if n in predictions else n, n)
        for n in [*kept, *(p for p in predictions if p not in kept)]
    ]


def quarantine_part(combined: pa.Table) -> pa.Table:
    """The quarantine table of a :func:`score_combined` output (see :func:`split_combined`)."""
    bad = pc.not_equal(combined.column(KIND_COLUMN), "scored")
    return combined.select([*_source_names(combined), ERRORS_COLUMN, STAGE_COLUMN, ROW_COLUMN]).filter(bad)


def _source_names(combined: pa.Table) -> list[str]:
    meta = {ERRORS_COLUMN, STAGE_COLUMN, ROW_COLUMN, KIND_COLUMN}
    return [n for n in combined.column_names if n not in meta and not n.startswith(PRED_PREFIX)]


def _to_arrow(frame: pd.DataFrame, n: int) -> pa.Table:
    if frame.shape[1] == 0:
        return pa.table({"prediction": pa.nulls(n)})
    try:
        return pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        import json

        return pa.table(
            {c: pa.array([json.dumps(v, default=str) for v in frame[c]], pa.string()) for c in frame.columns}
        )
