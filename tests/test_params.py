"""Inference params: MLflow's validation messages for Object params and list params, exactly."""

from __future__ import annotations

import json

import numpy as np
import pytest

import sigbatch
from sigbatch import Array, Object, ParamSchema, ParamSpec, Property
from sigbatch.params import enforce_params

K_LONG = Object([Property("k", "long")])
SPECS = {
    "simple": ParamSpec("cfg", K_LONG, {"k": 1}),
    "nested": ParamSpec("cfg", Object([Property("inner", K_LONG)]), {"inner": {"k": 1}}),
    "array": ParamSpec("cfg", Object([Property("ids", Array("long"))]), {"ids": [1]}),
    "arrobj": ParamSpec("cfg", Object([Property("items", Array(K_LONG))]), {"items": [{"k": 1}]}),
    "optional": ParamSpec(
        "cfg", Object([Property("k", "long", required=False), Property("s", "string")]), {"s": "a"}
    ),
}

# (spec, value, MLflow's message from `_enforce_params_schema`, recorded with MLflow 3)
OBJECT_VALUE_ERRORS = [
    (
        "simple",
        {"k": 1.5},
        "Invalid parameters found: {('cfg', \"Failed to validate type and shape for 'cfg': {k: long (required)} (default: {'k': 1}), error: Failed to enforce schema for key `k`. Expected type long, received type float\")}",
    ),
    (
        "simple",
        {"k": None},
        "Invalid parameters found: {('cfg', \"Failed to validate type and shape for 'cfg': {k: long (required)} (default: {'k': 1}), error: Failed to enforce schema for key `k`. Expected type long, received type NoneType\")}",
    ),
    (
        "simple",
        {"k": "a"},
        "Invalid parameters found: {('cfg', \"Failed to validate type and shape for 'cfg': {k: long (required)} (default: {'k': 1}), error: Failed to enforce schema for key `k`. Expected type long, received type str\")}",
    ),
    (
        "simple",
        {"k": True},
        "Invalid parameters found: {('cfg', \"Failed to validate type and shape for 'cfg': {k: long (required)} (default: {'k': 1}), error: Failed to enforce schema for key `k`. Expected type long, received type bool\")}",
    ),
    (
        "simple",
        {},
        "Invalid parameters found: {('cfg', \"Failed to validate type and shape for 'cfg': {k: long (required)} (default: {'k': 1}), error: Missing required properties: {'k'}\")}",
    ),
    (
        "simple",
        {"k": 1, "z": 2},
        "Invalid parameters found: {('cfg', \"Failed to validate type and shape for 'cfg': {k: long (required)} (default: {'k': 1}), error: Invalid properties not defined in the schema found: {'z'}\")}",
    ),
    (
        "nested",
        {"inner": {"k": 1.5}},
        "Invalid parameters found: {('cfg', \"Failed to validate type and shape for 'cfg': {inner: {k: long (required)} (required)} (default: {'inner': {'k': 1}}), error: Failed to enforce schema for key `inner`. Expected type object, received type dict\")}",
    ),
    (
        "nested",
        {"inner": None},
        "Invalid parameters found: {('cfg', \"Failed to validate type and shape for 'cfg': {inner: {k: long (required)} (required)} (default: {'inner': {'k': 1}}), error: Failed to enforce schema for key `inner`. Expected type object, received type NoneType\")}",
    ),
    (
        "array",
        {"ids": [1, "a"]},
        "Invalid parameters found: {('cfg', \"Failed to validate type and shape for 'cfg': {ids: Array(long) (required)} (default: {'ids': [1]}), error: Failed to enforce schema for key `ids`. Expected type array, received type list\")}",
    ),
    (
        "array",
        {"ids": None},
        "Invalid parameters found: {('cfg', \"Failed to validate type and shape for 'cfg': {ids: Array(long) (required)} (default: {'ids': [1]}), error: Failed to enforce schema for key `ids`. Expected type array, received type NoneType\")}",
    ),
    (
        "arrobj",
        {"items": [{"k": 1.5}]},
        "Invalid parameters found: {('cfg', \"Failed to validate type and shape for 'cfg': {items: Array({k: long (required)}) (required)} (default: {'items': [{'k': 1}]}), error: Failed to enforce schema for key `items`. Expected type array, received type list\")}",
    ),
    (
        "arrobj",
        {"items": {"k": 1}},
        "Invalid parameters found: {('cfg', \"Failed to validate type and shape for 'cfg': {items: Array({k: long (required)}) (required)} (default: {'items': [{'k': 1}]}), error: Failed to enforce schema for key `items`. Expected type array, received type dict\")}",
    ),
    (
        "optional",
        {"s": None},
        "Invalid parameters found: {('cfg', \"Failed to validate type and shape for 'cfg': {k: long (optional), s: string (required)} (default: {'s': 'a'}), error: Failed to enforce schema for key `s`. Expected type string, received type NoneType\")}",
    ),
    (
        "optional",
        {"s": "a", "k": 1.5},
        "Invalid parameters found: {('cfg', \"Failed to validate type and shape for 'cfg': {k: long (optional), s: string (required)} (default: {'s': 'a'}), error: Failed to enforce schema for key `k`. Expected type long, received type float\")}",
    ),
]


@pytest.mark.parametrize(("spec", "value", "message"), OBJECT_VALUE_ERRORS, ids=lambda x: str(x)[:30])
def test_object_param_errors_match_mlflow(spec, value, message):
    """A bad Object param value fails with MLflow's whole message (a property's failure names the key)."""
    with pytest.raises(sigbatch.SignatureError) as info:
        enforce_params({"cfg": value}, ParamSchema([SPECS[spec]]))
    assert str(info.value) == message


def test_object_param_value_reaches_the_model_unchanged():
    """A valid Object param is validated on a copy: the model gets the caller's value as given."""
    value = {"s": "a", "k": np.int32(3)}
    out = enforce_params({"cfg": value}, ParamSchema([SPECS["optional"]]))
    assert out == {"cfg": {"s": "a", "k": 3}}
    assert out is not None and out["cfg"] is value and type(value["k"]) is np.int32


def test_object_list_param_refuses_dicts_like_mlflow():
    """An Object param with shape (-1,) refuses its dict items with MLflow's message, not an assert;
    a scalar item, where MLflow fails on its own type check, gets sigbatch's conversion message."""
    with pytest.raises(sigbatch.SignatureError) as info:
        ParamSpec("cfg", K_LONG, [{"k": 1}], (-1,))
    assert str(info.value) == (
        "Failed to validate type and shape for 'cfg': {k: long (required)} (default: [{'k': 1}]) "
        "(shape: (-1,)), error: Value must be a scalar for type `{k: long (required)}`, got `{'k': 1}`"
    )
    with pytest.raises(sigbatch.SignatureError) as info:
        ParamSpec("cfg", K_LONG, [None, 5], (-1,))
    assert str(info.value) == (
        "Failed to validate type and shape for 'cfg': {k: long (required)} (default: [None, 5]) "
        "(shape: (-1,)), error: Can not safely convert `<class 'int'>` to `{k: long (required)}` for value `5`"
    )


def test_object_list_param_accepts_what_mlflow_accepts():
    """An Object list param whose items are all None, or that is empty, is valid (as in MLflow)."""
    assert ParamSpec("cfg", K_LONG, [None], (-1,)).default == [None]
    assert ParamSpec("cfg", K_LONG, [], (-1,)).default == []


def test_object_list_param_in_a_signature_file_is_a_file_error():
    """Reading such a param from JSON raises the signature-file error naming the part, not an assert."""
    js = json.dumps(
        [
            {
                "name": "cfg",
                "default": [{"k": 1}],
                "shape": [-1],
                "type": "object",
                "properties": {"k": {"type": "long", "required": True}},
            }
        ]
    )
    with pytest.raises(sigbatch.SignatureFileError) as info:
        ParamSchema.from_json(js)
    assert str(info.value) == (
        "params JSON: Failed to validate type and shape for 'cfg': {k: long (required)} "
        "(default: [{'k': 1}]) (shape: (-1,)), error: Value must be a scalar for type "
        "`{k: long (required)}`, got `{'k': 1}`"
    )


@pytest.mark.parametrize("value", [[[1], [2, 3]], [1, [2]]], ids=["lists", "mixed"])
def test_ragged_list_param_is_a_param_error(value):
    """A ragged list for a (-1,) param is listed as an invalid param (MLflow crashes in numpy)."""
    schema = ParamSchema([ParamSpec("ids", "long", [1], (-1,))])
    with pytest.raises(sigbatch.SignatureError) as info:
        enforce_params({"ids": value}, schema)
    assert str(info.value) == (
        "Invalid parameters found: {('ids', \"Value must be a 1D array with shape (-1,) for param "
        "'ids': long (default: [1]) (shape: (-1,)), received a ragged list (its items have "
        'different shapes); give a flat list of scalars")}'
    )


def test_ragged_list_default_is_a_signature_error():
    """A ragged default for a (-1,) param fails ParamSpec with one clear message naming the param."""
    with pytest.raises(sigbatch.SignatureError) as info:
        ParamSpec("ids", "long", [1, [2]], (-1,))
    assert str(info.value) == (
        "Value must be a 1D array with shape (-1,) for param 'ids': long (default: [1, [2]]) "
        "(shape: (-1,)), received a ragged list (its items have different shapes); "
        "give a flat list of scalars"
    )
