"""MLflow's wire format: signature JSON, the MLmodel ``signature:`` section, signature files.

What sigbatch writes, MLflow reads back to an equal signature, and the other way round: the JSON is
``json.dumps`` of the spec dicts with MLflow's key order, and the MLmodel section holds one JSON string
per part. Reading follows MLflow's rules, including its quirks (a complex column without ``required``
reads as ``required=None``, params may use the legacy ``dtype`` key), but a malformed document gets a
:class:`~sigbatch.errors.SignatureFileError` that names the file, the key and the problem.

Example:
    >>> from sigbatch import ColSpec, Schema
    >>> schema_to_json(Schema([ColSpec("double", "x")]))
    '[{"type": "double", "name": "x", "required": true}]'
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from sigbatch.errors import SignatureError, SignatureFileError, read_utf8, yaml_problem
from sigbatch.types import (
    AnyType,
    Array,
    ColSpec,
    DataType,
    Map,
    ModelSignature,
    Object,
    ParamSchema,
    ParamSpec,
    Property,
    Schema,
    SparkMLVector,
    TensorSpec,
)

__all__ = [
    "load_signature",
    "param_schema_from_json",
    "param_schema_to_json",
    "schema_from_json",
    "schema_to_json",
    "set_signature",
    "signature_from_dict",
    "signature_to_dict",
]

_PARTS = ("inputs", "outputs", "params")


class _Bad(Exception):
    """A problem at a key path inside a document; turned into a SignatureFileError by the caller."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(where, problem)
        self.where = where
        self.problem = problem


def schema_to_json(schema: Schema) -> str:
    """MLflow's JSON text of a schema."""
    return json.dumps(schema.to_dict())


def param_schema_to_json(params: ParamSchema) -> str:
    """MLflow's JSON text of a parameter schema."""
    return json.dumps(params.to_dict())


def signature_to_dict(signature: ModelSignature) -> dict[str, str | None]:
    """MLflow's ``signature:`` mapping: each part as a JSON string, or None when absent."""
    return {
        "inputs": schema_to_json(signature.inputs) if signature.inputs else None,
        "outputs": schema_to_json(signature.outputs) if signature.outputs else None,
        "params": param_schema_to_json(signature.params) if signature.params else None,
    }


# --- reading ---------------------------------------------------------------------------------


def _need_dict(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Bad(where, f"expected a JSON object, got {type(value).__name__} {value!r}")
    return value


def _read_type(d: Any, where: str) -> Any:
    """Read a nested type dict (Array items, Map values, Property bodies)."""
    d = _need_dict(d, where)
    if "type" not in d:
        raise _Bad(where, "missing key 'type'")
    kind = d["type"]
    if kind == "array":
        if "items" not in d:
            raise _Bad(where, "an array needs an 'items' key")
        return Array(_read_type(d["items"], f"{where}.items"))
    if kind == "object":
        props = d.get("properties")
        if not isinstance(props, dict) or not props:
            raise _Bad(where, "an object needs a non-empty 'properties' mapping")
        return Object(
            [_read_property(name, body, f"{where}.properties.{name}") for name, body in props.items()]
        )
    if kind == "map":
        if "values" not in d:
            raise _Bad(where, "a map needs a 'values' key")
        return Map(_read_type(d["values"], f"{where}.values"))
    if kind == "any":
        return AnyType()
    if kind == "sparkml_vector":
        return SparkMLVector()
    if isinstance(kind, str) and kind in DataType.__members__:
        return DataType[kind]
    names = [t.name for t in DataType] + ["array", "object", "map", "any", "sparkml_vector"]
    raise _Bad(f"{where}.type", f"unsupported type {kind!r}; expected one of {names}")


def _required(value: Any, where: str) -> Any:
    """``required`` as written: true or false, null (MLflow's "not said" on complex columns), or 0
    and 1, which a ColSpec built with them writes and MLflow reads by truthiness. Other values are
    refused: MLflow would read the text "no" as required."""
    if value is not None and not isinstance(value, bool) and not (type(value) is int and value in (0, 1)):
        raise _Bad(f"{where}.required", f"expected true, false, 0 or 1, got {value!r}")
    return value


def _read_property(name: str, body: Any, where: str) -> Property:
    body = _need_dict(body, where)
    required = _required(body.get("required", True), where)
    dtype = _read_type({k: v for k, v in body.items() if k != "required"}, where)
    return Property(name, dtype, required=required)


def _read_colspec(d: dict[str, Any], where: str) -> ColSpec:
    kind = d.get("type")
    if kind in ("array", "object", "map", "any", "sparkml_vector"):
        # MLflow reads a missing `required` on a complex column as None (falsy: optional), and
        # ignores other keys (such as a description), as sigbatch does for nested types.
        body = {k: v for k, v in d.items() if k not in ("name", "required")}
        return ColSpec(_read_type(body, where), d.get("name"), _required(d.get("required"), where))
    extra = set(d) - {"type", "name", "required"}
    if extra:
        raise _Bad(where, f"unexpected key(s) {sorted(extra)} for a {kind!r} column")
    return ColSpec(
        _read_type({"type": kind}, where), d.get("name"), _required(d.get("required", True), where)
    )


def _read_tensor(d: dict[str, Any], where: str) -> TensorSpec:
    info = d.get("tensor-spec")
    if not isinstance(info, dict) or not {"dtype", "shape"} <= set(info):
        raise _Bad(where, "a tensor needs 'tensor-spec' with keys 'dtype' and 'shape'")
    try:
        dtype = np.dtype(info["dtype"])
    except (TypeError, ValueError, SyntaxError) as exc:  # numpy parses some text as a format
        raise _Bad(f"{where}.tensor-spec.dtype", f"not a numpy dtype: {info['dtype']!r}") from exc
    # MLflow reads null dimensions as None (any size), as a TensorSpec built with them holds
    shape = info["shape"]
    if not isinstance(shape, list) or not all(x is None or type(x) is int for x in shape):
        raise _Bad(f"{where}.tensor-spec.shape", f"expected a list of integers or nulls, got {shape!r}")
    return TensorSpec(dtype, info["shape"], d.get("name"))


def _read_schema(value: Any, where: str) -> Schema:
    specs = json.loads(value) if isinstance(value, str) else value
    if not isinstance(specs, list):
        raise _Bad(where, f"expected a list of column or tensor specs, got {type(specs).__name__}")
    out: list[ColSpec | TensorSpec] = []
    for i, spec in enumerate(specs):
        at = f"{where}[{i}]"
        spec = _need_dict(spec, at)
        if "type" not in spec:
            raise _Bad(at, "missing key 'type'")
        out.append(_read_tensor(spec, at) if spec["type"] == "tensor" else _read_colspec(spec, at))
    return Schema(out)


def _read_params(value: Any, where: str) -> ParamSchema:
    specs = json.loads(value) if isinstance(value, str) else value
    if not isinstance(specs, list):
        raise _Bad(where, f"expected a list of param specs, got {type(specs).__name__}")
    out = []
    for i, spec in enumerate(specs):
        at = f"{where}[{i}]"
        spec = _need_dict(spec, at)
        kind = spec.get("type") or spec.get("dtype")  # `dtype` is the legacy key
        if not {"name", "default"} <= set(spec) or not ({"type", "dtype"} & set(spec)):
            msg = f"missing keys: expected `name`, `type` (or `dtype`) and `default`, got {sorted(spec)}"
            raise _Bad(at, msg)
        if kind is None:
            raise _Bad(f"{at}.type", f"expected a type name, got {spec.get('type', spec.get('dtype'))!r}")
        shape = spec.get("shape")
        if shape is not None and not isinstance(shape, list):
            raise _Bad(f"{at}.shape", f"expected null or a list such as [-1], got {shape!r}")
        dtype = _read_type(
            {"type": kind, **({"properties": spec["properties"]} if "properties" in spec else {})}, at
        )
        out.append(ParamSpec(str(spec["name"]), dtype, spec["default"], spec.get("shape")))
    return ParamSchema(out)


def _wrap(where_prefix: str, fn: Any, *args: Any) -> Any:
    """Run a reader, turning problems into one SignatureFileError naming the place."""
    try:
        return fn(*args)
    except _Bad as bad:
        msg = f"{where_prefix}: key {bad.where}: {bad.problem}"
        raise SignatureFileError(msg) from None
    except json.JSONDecodeError as exc:
        msg = f"{where_prefix}: invalid JSON ({exc})"
        raise SignatureFileError(msg) from None
    except SignatureError as exc:
        msg = f"{where_prefix}: {exc}"
        raise SignatureFileError(msg) from exc


def schema_from_json(json_str: str) -> Schema:
    """Read MLflow's JSON text of a schema."""
    return _wrap("schema JSON", _read_schema, json_str, "schema")


def param_schema_from_json(json_str: str) -> ParamSchema:
    """Read MLflow's JSON text of a parameter schema."""
    return _wrap("params JSON", _read_params, json_str, "params")


def _absent(part: Any) -> bool:
    """Whether a signature part is absent: MLflow reads any empty or false value (and "null") so."""
    return not part or part == "null"


def _signature_from_mapping(
    d: Any, source: str, key_prefix: str, *, own_file: bool = False
) -> ModelSignature:
    """A signature from its mapping. Other keys are ignored, as MLflow does (a later MLflow may write
    more), except in a signature file of one's own (``own_file``), where they are likely typos."""
    if not isinstance(d, dict):
        msg = f"{source}: key {key_prefix or 'signature'}: expected a mapping, got {type(d).__name__}"
        raise SignatureFileError(msg)
    unknown = set(d) - set(_PARTS)
    if unknown and own_file:
        msg = f"{source}: key {key_prefix or 'signature'}: unexpected key(s) {sorted(unknown)}; expected {list(_PARTS)}"
        raise SignatureFileError(msg)
    parts: dict[str, Any] = {}
    for part in _PARTS:
        value = d.get(part)
        where = f"{key_prefix}.{part}" if key_prefix else part
        if _absent(value):
            parts[part] = None
        elif part == "params":
            parts[part] = _wrap(source, _read_params, value, where)
        else:
            parts[part] = _wrap(source, _read_schema, value, where)
    if all(v is None for v in parts.values()):
        msg = f"{source}: key {key_prefix or 'signature'}: none of inputs, outputs or params is set"
        raise SignatureFileError(msg)
    return ModelSignature(**parts)


def signature_from_dict(
    signature_dict: dict[str, Any], *, source: str = "signature", key: str = ""
) -> ModelSignature:
    """Read MLflow's ``signature:`` mapping (JSON strings or already-parsed lists); an error names
    ``source`` (the file it came from) and ``key`` (where it sits there)."""
    return _signature_from_mapping(signature_dict, source, key)


def _mlmodel_path(path: Path) -> Path:
    return path / "MLmodel" if path.is_dir() else path


def load_signature(path: str | os.PathLike[str]) -> ModelSignature:
    """Read a signature from a model directory, an MLmodel file, or a JSON/YAML signature file.

    A JSON or YAML signature file holds MLflow's ``signature:`` mapping (``inputs``, ``outputs``,
    ``params``, each a JSON string or a list), optionally under a top-level ``signature`` key.

    Example:
        sig = load_signature("examples/seed_model")
    """
    p = Path(path)
    target = _mlmodel_path(p)
    if not target.exists():
        hint = " (a model directory must contain an MLmodel file)" if p.is_dir() else ""
        msg = f"{target}: no such file{hint}"
        raise SignatureFileError(msg)
    try:
        text = target.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        msg = f"{target}: cannot read ({exc})"
        raise SignatureFileError(msg) from exc
    try:
        doc = json.loads(text) if target.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        kind = "JSON" if target.suffix == ".json" else "YAML"
        msg = f"{target}: invalid {kind}: {exc if kind == 'JSON' else yaml_problem(exc)}"
        raise SignatureFileError(msg) from None
    if not isinstance(doc, dict):
        msg = f"{target}: expected a mapping at the top level, got {type(doc).__name__}"
        raise SignatureFileError(msg)
    if "signature" in doc:
        if doc["signature"] is None:
            msg = f"{target}: key signature: the model has no signature (set one with `sigbatch infer --set-on`)"
            raise SignatureFileError(msg)
        return _signature_from_mapping(
            doc["signature"], str(target), "signature", own_file=target.name != "MLmodel"
        )
    if target.name == "MLmodel":
        msg = f"{target}: key signature: the model has no signature (set one with `sigbatch infer --set-on`)"
        raise SignatureFileError(msg)
    return _signature_from_mapping(doc, str(target), "", own_file=True)


_HINT_FLAGS = ("is_signature_from_type_hint", "type_hint_from_example")


def set_signature(
    model_dir: str | os.PathLike[str], signature: ModelSignature, *, keep_existing: bool = False
) -> Path:
    """Write ``signature`` into a model directory's MLmodel file, keeping every other key but
    MLflow's type-hint flags, which are set to false as MLflow's ``set_signature`` sets them (unless
    ``keep_existing`` keeps the model's own inputs).

    Returns the path of the MLmodel file. Like MLflow's ``set_signature``, this works on a local
    model directory (or its MLmodel file; not a ``models:/`` URI). With ``keep_existing``, the parts
    ``signature`` leaves unset (None) keep the model's current ones, which must then be readable.

    Raises:
        SignatureFileError: ``model_dir`` is neither a model directory nor an MLmodel file; the
            MLmodel is not UTF-8 YAML holding a mapping, or cannot be written; or (``keep_existing``)
            its current signature cannot be read.

    Example:
        set_signature("model", ModelSignature(inputs=schema), keep_existing=True)
    """
    if not isinstance(signature, ModelSignature):
        msg = f"set_signature expects a ModelSignature, got {type(signature).__name__}"
        raise SignatureError(msg)
    target, doc = _read_mlmodel(Path(model_dir))
    kept_inputs = False
    if keep_existing:
        kept_inputs = signature.inputs is None and doc.get("signature") is not None
        signature = _keep_existing(signature, doc.get("signature"), target)
    doc["signature"] = signature_to_dict(signature)
    # MLflow writes where the signature came from beside it. A signature from the model's type
    # hints makes pyfunc skip its schema check, so a signature set here is marked as not from
    # hints (as MLflow's set_signature does), unless its inputs are the model's own, kept.
    for key in _HINT_FLAGS:
        doc[key] = bool(doc.get(key, False)) if kept_inputs else False
    # MLflow writes MLmodel with safe_dump(default_flow_style=False): sorted keys, block style.
    _replace_file(target, yaml.safe_dump(doc, default_flow_style=False))
    return target


def check_set_signature(model_dir: str | os.PathLike[str], *, keep_existing: bool = False) -> None:
    """Check, before any work, that :func:`set_signature` can write into ``model_dir``: its MLmodel
    is readable YAML and (``keep_existing``) its current signature can be read.

    Raises:
        SignatureFileError: As :func:`set_signature` would.
    """
    target, doc = _read_mlmodel(Path(model_dir))
    if keep_existing:
        _existing(doc.get("signature"), target)


def _read_mlmodel(model_dir: Path) -> tuple[Path, dict[str, Any]]:
    """A model's MLmodel file and its YAML mapping."""
    target = _model_file(model_dir)
    text = read_utf8(target, SignatureFileError, "an MLmodel file is UTF-8 YAML")
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        msg = f"{target}: invalid YAML: {yaml_problem(exc)}"
        raise SignatureFileError(msg) from None
    if not isinstance(doc, dict):
        msg = f"{target}: expected a mapping at the top level, got {type(doc).__name__}"
        raise SignatureFileError(msg)
    return target, doc


def _model_file(path: Path) -> Path:
    """The MLmodel file of a model directory (or the MLmodel file given); any other target is refused."""
    target = _mlmodel_path(path)
    if target.name != "MLmodel":
        msg = (
            f"{path}: not a model directory nor an MLmodel file; set_signature writes only a model's "
            "MLmodel (give the model directory)"
        )
        raise SignatureFileError(msg)
    if not target.is_file():
        msg = f"{target}: no such file (set_signature needs a model directory with an MLmodel file)"
        raise SignatureFileError(msg)
    return target


def _existing(current: Any, target: Path) -> ModelSignature | None:
    """The model's ``current`` signature mapping, read (None when it has none)."""
    if current is None or (isinstance(current, dict) and all(_absent(current.get(p)) for p in _PARTS)):
        return None
    try:
        return _signature_from_mapping(current, str(target), "signature")
    except SignatureFileError as exc:
        msg = (
            f"{exc}; the current signature cannot be read, so its outputs and params cannot be "
            f"kept. Hint: fix or remove the signature section of {target}, then set the inputs again."
        )
        raise SignatureFileError(msg) from None


def _keep_existing(signature: ModelSignature, current: Any, target: Path) -> ModelSignature:
    """``signature`` with its unset parts taken from the model's ``current`` signature mapping."""
    existing = _existing(current, target)
    if existing is None:
        return signature  # no signature yet: nothing to keep
    return ModelSignature(
        inputs=signature.inputs if signature.inputs is not None else existing.inputs,
        outputs=signature.outputs if signature.outputs is not None else existing.outputs,
        params=signature.params if signature.params is not None else existing.params,
    )


def _replace_file(target: Path, text: str) -> None:
    """Replace ``target`` with ``text`` atomically (a temporary file beside it, renamed over it)."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".sigbatch-tmp", dir=target.parent)
    except OSError as exc:
        msg = f"{target}: cannot write in {target.parent} ({exc.strerror or exc})"
        raise SignatureFileError(msg) from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, stat.S_IMODE(target.stat().st_mode))
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        msg = f"{target}: cannot write ({exc.strerror or exc})"
        raise SignatureFileError(msg) from exc
