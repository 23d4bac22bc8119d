"""Signature types against MLflow's golden files: printed form, construction errors, values."""

from __future__ import annotations

import datetime
import json
from dataclasses import make_dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import pytest

import sigbatch
import sigbatch.types
from sigbatch import (
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
    TensorSpec,
)

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(p for p in GOLDEN.glob("*.json") if p.name != "errors.json")


def _golden(path: Path) -> dict:
    return json.loads(path.read_text())


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_golden_repr(path):
    """str() and repr() of a signature read from MLflow's JSON equal MLflow's, part by part."""
    g = _golden(path)
    sig = ModelSignature.from_dict(g["signature_dict"])
    assert repr(sig) == g["repr"]
    assert str(sig) == g["repr"]
    assert repr(sig.inputs) == str(g["inputs_repr"]) if g["inputs_repr"] else sig.inputs is None
    assert repr(sig.params) == str(g["params_repr"]) if g["params_repr"] else sig.params is None
    specs = getattr(sig, g["specs_of"])
    assert [repr(s) for s in specs] == g["spec_reprs"]
    types = [s.type if isinstance(s, ColSpec) else None for s in specs]
    assert [None if t is None else repr(t) for t in types] == g["type_reprs"]
    assert [None if t is None else str(t) for t in types] == g["type_strs"]
    if sig.params is not None:
        assert [repr(p) for p in sig.params] == g["param_reprs"]


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_golden_wire_round_trip(path):
    """to_dict() writes exactly the JSON strings MLflow wrote (what MLflow reads back equal)."""
    g = _golden(path)
    sig = ModelSignature.from_dict(g["signature_dict"])
    expected = g.get("reserialized_json")
    out = sig.to_dict()
    if expected is None:
        assert out == g["signature_dict"]
    else:
        part = "params" if g["signature_dict"]["params"] else "inputs"
        assert out[part] == expected
    assert ModelSignature.from_dict(out) == sig


def _eval_call(call: str):
    namespace = {name: getattr(sigbatch.types, name) for name in sigbatch.types.__all__}
    namespace["np"] = np
    return eval(call, namespace)  # calls written by tests/golden/make_golden.py


ERRORS = json.loads((GOLDEN / "errors.json").read_text())


@pytest.mark.parametrize("case", ERRORS, ids=lambda c: c["case"])
def test_construction_errors_match_mlflow(case):
    """Building an invalid type fails with MLflow's exact message, as a ValueError or TypeError."""
    with pytest.raises((ValueError, TypeError)) as info:
        _eval_call(case["call"])
    assert str(info.value) == case["message"]
    assert isinstance(info.value, sigbatch.SigbatchError)


def test_values_are_immutable_and_hashable():
    """Types compare by value, hash, and cannot be changed after construction."""
    a = Schema([ColSpec(Array(Object([Property("x", "long")])), "a"), ColSpec(Map("double"), "m", False)])
    b = Schema(
        [
            ColSpec(Array(Object([Property("x", DataType.long)])), "a"),
            ColSpec(Map(DataType.double), "m", False),
        ]
    )
    assert a == b and hash(a) == hash(b)
    assert len({a, b}) == 1
    with pytest.raises(AttributeError):
        a.inputs = ()  # type: ignore[misc]
    p1 = ParamSpec("stop", "string", ["a", "b"], (-1,))
    p2 = ParamSpec("stop", "string", ["a", "b"], (-1,))
    assert p1 == p2 and hash(p1) == hash(p2)
    assert ParamSchema([p1]) != ParamSchema([ParamSpec("stop", "string", ["a"], (-1,))])
    obj = Object([Property("a", "long"), Property("b", "long")])
    o1, o2 = ParamSpec("p", obj, {"a": 1, "b": 2}), ParamSpec("p", obj, {"b": 2, "a": 1})
    assert o1 == o2 and hash(o1) == hash(o2)  # dict defaults compare as dicts, as in MLflow
    assert ParamSchema([o1]) == ParamSchema([o2])
    assert o1 != ParamSpec("p", obj, {"a": 1, "b": 3})


def test_schema_refuses_what_is_not_a_spec_with_its_own_error():
    """A value that is not a ColSpec or TensorSpec is one SignatureTypeError (MLflow: AttributeError)."""
    for inputs in ([1], [ColSpec("long", "a"), "b"], [None]):
        with pytest.raises(sigbatch.SignatureTypeError) as info:
            Schema(inputs)  # type: ignore[list-item]
        assert str(info.value) == "Schema inputs must be ColSpec or TensorSpec values"


def test_object_sorts_properties_and_any_prints():
    """Object properties print sorted by name; AnyType prints 'Any'; Map uses str() for scalars."""
    obj = Object([Property("z", "long"), Property("a", "string", required=False), Property("m", AnyType())])
    assert repr(obj) == "{a: string (optional), m: Any (required), z: long (required)}"
    assert repr(Map(Array("long"))) == "Map(str -> Array(long))"
    assert repr(Map("string")) == "Map(str -> DataType.string)"
    assert repr(TensorSpec(np.dtype("float64"), (-1, 4))) == "Tensor('float64', (-1, 4))"


def test_param_defaults_are_converted_like_mlflow():
    """Param defaults are validated and widened as MLflow does (int -> double, numpy -> Python)."""
    assert ParamSpec("t", "double", 1).default == 1.0
    assert type(ParamSpec("t", "long", np.int64(3)).default) is int
    with pytest.raises(ValueError, match=r"Can not safely convert `<class 'bool'>` to `DataType.long`"):
        ParamSpec("t", "long", True)
    with pytest.raises(ValueError, match=r"Missing required properties: \{'k'\}"):
        ParamSpec("cfg", Object([Property("k", "long")]), {"x": 1})


# Built with make_dataclass: this module's `from __future__ import annotations` would turn class-body
# hints into strings, which neither MLflow nor sigbatch resolve. `Optional[X]` is kept on purpose
# beside `X | None`: the two have different union origins (typing.Union, types.UnionType).
_Req = make_dataclass("Req", [("text", str), ("n", int)])
_Inner = make_dataclass("Inner", [("k", int), ("v", Optional[str]), ("xs", list[int])])  # noqa: UP045
DATACLASS_SCHEMAS = [
    (_Req, "['text': string (required), 'n': long (required)]"),
    (
        make_dataclass(
            "Opt",
            [("a", Optional[int]), ("b", float | None), ("c", bool), ("d", bytes), ("e", datetime.date)],  # noqa: UP045
        ),
        "['a': long (optional), 'b': float (optional), 'c': boolean (required), "
        "'d': binary (required), 'e': datetime (required)]",
    ),
    (
        make_dataclass("Lists", [("tags", list[str]), ("maybe", Optional[list[float]])]),  # noqa: UP045
        "['tags': Array(string) (required), 'maybe': Array(float) (optional)]",
    ),
    (
        make_dataclass("Outer", [("inner", _Inner), ("items", list[_Inner]), ("opt", Optional[_Inner])]),  # noqa: UP045
        "['inner': {k: long (required), v: string (optional), xs: Array(long) (required)} (required), "
        "'items': Array({k: long (required), v: string (optional), xs: Array(long) (required)}) (required), "
        "'opt': {k: long (required), v: string (optional), xs: Array(long) (required)} (optional)]",
    ),
    (
        make_dataclass("Child", [("extra", bool)], bases=(_Req,)),
        "['text': string (required), 'n': long (required), 'extra': boolean (required)]",
    ),
]


@pytest.mark.parametrize(
    ("dataclass", "expected"), DATACLASS_SCHEMAS, ids=lambda x: getattr(x, "__name__", "")
)
def test_signature_reads_a_dataclass_like_mlflow(dataclass, expected):
    """A dataclass given as inputs or outputs becomes the schema MLflow makes of it (printed alike)."""
    assert repr(ModelSignature(inputs=dataclass).inputs) == expected
    assert repr(ModelSignature(outputs=dataclass).outputs) == expected


def test_signature_reads_dataclass_instances_and_keeps_schemas():
    """A dataclass instance works like its class; a Schema (itself a dataclass here) is kept as given."""
    sig = ModelSignature(inputs=_Req("a", 1), outputs=_Req)
    assert sig.inputs == sig.outputs == Schema([ColSpec("string", "text"), ColSpec("long", "n")])
    assert ModelSignature(inputs=sig.inputs).inputs is sig.inputs
    assert ModelSignature.from_dict(sig.to_dict()) == sig


def test_signature_refuses_types_and_unsupported_dataclasses_like_mlflow():
    """sigbatch's own types are not dataclass inputs (MLflow's message); a bad hint is a SignatureError."""
    with pytest.raises(sigbatch.SignatureTypeError) as info:
        ModelSignature(inputs=ColSpec("long"))
    assert str(info.value) == (
        "inputs must be either None, mlflow.models.signature.Schema, or a dataclass,got 'ColSpec'"
    )
    with pytest.raises(sigbatch.SignatureError) as info:
        ModelSignature(outputs=make_dataclass("Bad", [("x", int | str)]))
    assert str(info.value) == "Only Optional[...] is supported as a Union type in dataclass fields"
