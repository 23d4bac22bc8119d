"""sigbatch: MLflow-compatible model signatures for distributed data.

Signatures (types, wire format, printed form) identical to MLflow's; per-row enforcement with a
quarantine instead of failed batches; signature inference at lake scale; Spark and Dask jobs.

Example:
    >>> import sigbatch
    >>> sig = sigbatch.ModelSignature(sigbatch.Schema([sigbatch.ColSpec("string", "a")]))
    >>> sig.to_dict()["inputs"]
    '[{"type": "string", "name": "a", "required": true}]'
"""

from __future__ import annotations

import importlib
from typing import Any

# Imported eagerly: the submodule `sigbatch.enforce` would otherwise shadow the function.
from sigbatch.enforce import EnforceResult, enforce, preflight
from sigbatch.errors import (
    ConfigError,
    DependencyError,
    EnforcementError,
    InferenceError,
    ModelLoadError,
    QuarantineRateError,
    SchemaMismatchError,
    SigbatchError,
    SignatureError,
    SignatureFileError,
    SignatureTypeError,
)
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
from sigbatch.wire import load_signature, set_signature

__version__ = "0.1.0"

# Heavier parts load on first use, so `import sigbatch` stays light.
_LAZY = {
    "infer_signature": "sigbatch.infer",
    "infer_schema": "sigbatch.infer",
    "Reason": "sigbatch.quarantine",
    "ReasonCode": "sigbatch.quarantine",
    "score_batch": "sigbatch.models",
    "ScoreResult": "sigbatch.models",
    "load_model": "sigbatch.models",
}

__all__ = [
    "AnyType",
    "Array",
    "ColSpec",
    "ConfigError",
    "DataType",
    "DependencyError",
    "EnforceResult",
    "EnforcementError",
    "InferenceError",
    "Map",
    "ModelLoadError",
    "ModelSignature",
    "Object",
    "ParamSchema",
    "ParamSpec",
    "Property",
    "QuarantineRateError",
    "Reason",
    "ReasonCode",
    "Schema",
    "SchemaMismatchError",
    "ScoreResult",
    "SigbatchError",
    "SignatureError",
    "SignatureFileError",
    "SignatureTypeError",
    "SparkMLVector",
    "TensorSpec",
    "enforce",
    "infer_schema",
    "infer_signature",
    "load_model",
    "load_signature",
    "preflight",
    "score_batch",
    "set_signature",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        msg = f"module 'sigbatch' has no attribute {name!r}"
        raise AttributeError(msg)
    return getattr(importlib.import_module(module), name)
