"""Regenerate the MLflow golden files used by sigbatch's wire-format tests.

Run by hand, from the repository root, with real MLflow (and pyspark) installed::

    python tests/golden/make_golden.py

For every case below the script builds a ``ModelSignature`` with real MLflow and
writes ``tests/golden/<case>.json`` holding:

* ``case``            - the case name;
* ``signature_dict``  - ``ModelSignature.to_dict()`` exactly as MLflow returns it;
* ``repr``            - ``repr(signature)`` (equal to ``str(signature)``);
* ``inputs_repr`` / ``outputs_repr`` / ``params_repr`` - repr of each part, or null;
* ``spec_reprs``      - repr of every ColSpec/TensorSpec of the inputs (of the
  outputs when the signature has no inputs; see ``specs_of``);
* ``type_reprs`` / ``type_strs`` - repr()/str() of each ColSpec's ``.type``
  (null entries for TensorSpecs);
* ``param_reprs``     - repr of every ParamSpec (empty list without params);
* ``mlmodel_yaml``    - the ``signature:`` block of the MLmodel file written by
  ``mlflow.pyfunc.save_model`` (key line plus its indented lines);
* ``as_spark_schema`` - ``inputs.as_spark_schema().json()``, or null when MLflow
  cannot map the schema to Spark (it raises for non-scalar and tensor schemas).

Cases built from hand-written JSON additionally store ``source_json`` (the text
fed to MLflow's reader) and ``reserialized_json`` (MLflow's ``to_json()`` of what
it read).

It also writes ``tests/golden/errors.json``: a list of
``{"case", "call", "exception_type", "message"}`` records for MLflow's
construction errors (``message`` is ``str(exc)``).

The script only uses MLflow's public classes; nothing of MLflow is copied here.
"""

from __future__ import annotations

import datetime
import json
import os
import sys
import tempfile

import mlflow
import mlflow.pyfunc
import numpy as np
from mlflow.models.signature import ModelSignature
from mlflow.types import DataType
from mlflow.types.schema import (
    AnyType,
    Array,
    ColSpec,
    Map,
    Object,
    ParamSchema,
    ParamSpec,
    Property,
    Schema,
    TensorSpec,
)

GOLDEN_DIR = os.path.dirname(os.path.abspath(__file__))


# --------------------------------------------------------------------------- cases


def seed_schema() -> Schema:
    return Schema(
        [
            ColSpec(Array(DataType.string), "a", required=True),
            ColSpec(DataType.string, "b", required=False),
            ColSpec(
                Object([Property("d", DataType.string), Property("e", DataType.string, required=False)]),
                "c",
                required=True,
            ),
        ]
    )


def case_scalars():
    return ModelSignature(
        inputs=Schema(
            [
                ColSpec(DataType.string, "s_string"),
                ColSpec(DataType.integer, "s_integer", required=False),
                ColSpec(DataType.long, "s_long"),
                ColSpec(DataType.float, "s_float", required=False),
                ColSpec(DataType.double, "s_double"),
                ColSpec(DataType.boolean, "s_boolean", required=False),
                ColSpec(DataType.datetime, "s_datetime"),
                ColSpec(DataType.binary, "s_binary", required=False),
            ]
        )
    )


def case_unnamed_scalar():
    return ModelSignature(inputs=Schema([ColSpec(DataType.string)]))


def case_optional_columns():
    return ModelSignature(
        inputs=Schema(
            [
                ColSpec("double", "x", required=False),
                ColSpec("long", "y", required=False),
                ColSpec("string", "z", required=True),
            ]
        )
    )


def case_array_of_array():
    return ModelSignature(inputs=Schema([ColSpec(Array(Array(DataType.string)), "tokens")]))


def case_array_of_object():
    obj = Object([Property("tag", DataType.string, required=False), Property("id", DataType.long)])
    return ModelSignature(
        inputs=Schema(
            [
                ColSpec(Array(obj), "items"),
                ColSpec(Array(obj), "maybe_items", required=False),
            ]
        )
    )


def case_nested_object():
    inner = Object(
        [
            Property("city", DataType.string),
            Property("zip", DataType.string, required=False),
            Property("tags", Array(DataType.string), required=False),
        ]
    )
    outer = Object(
        [
            Property("name", DataType.string),
            Property("address", inner),
            Property("age", DataType.integer, required=False),
        ]
    )
    return ModelSignature(inputs=Schema([ColSpec(outer, "person")]))


def case_maps():
    return ModelSignature(
        inputs=Schema(
            [
                ColSpec(Map(DataType.double), "scores", required=False),
                ColSpec(Map(Array(DataType.long)), "ids"),
                ColSpec(
                    Map(
                        Object(
                            [Property("v", DataType.double), Property("u", DataType.string, required=False)]
                        )
                    ),
                    "objs",
                ),
            ]
        )
    )


def case_any_type():
    return ModelSignature(
        inputs=Schema(
            [
                ColSpec(AnyType(), "any_req"),
                ColSpec(AnyType(), "any_opt", required=False),
                ColSpec(Array(AnyType()), "any_list"),
                ColSpec(Map(AnyType()), "any_map", required=False),
            ]
        )
    )


def case_tensor_unnamed():
    return ModelSignature(inputs=Schema([TensorSpec(np.dtype("float64"), (-1, 4))]))


def case_tensor_named():
    return ModelSignature(
        inputs=Schema(
            [
                TensorSpec(np.dtype("float32"), (-1, 28, 28), "img"),
                TensorSpec(np.dtype("int64"), (-1,), "label"),
            ]
        ),
        outputs=Schema([TensorSpec(np.dtype("float32"), (-1, 10))]),
    )


def case_tensor_str():
    return ModelSignature(
        inputs=Schema([TensorSpec(np.dtype(str), (-1,))]),
        outputs=Schema([TensorSpec(np.dtype(bytes), (-1, 2))]),
    )


def params_schema() -> ParamSchema:
    return ParamSchema(
        [
            ParamSpec("p_string", DataType.string, "hello"),
            ParamSpec("p_integer", DataType.integer, np.int32(3)),
            ParamSpec("p_long", DataType.long, 10),
            ParamSpec("p_float", DataType.float, np.float32(0.5)),
            ParamSpec("p_double", DataType.double, 0.7),
            ParamSpec("p_boolean", DataType.boolean, True),
            ParamSpec("p_datetime", DataType.datetime, datetime.datetime(2024, 1, 2, 3, 4, 5)),
            ParamSpec("stop", DataType.string, ["a", "b"], (-1,)),
            ParamSpec(
                "config",
                Object([Property("top_k", DataType.long), Property("mode", DataType.string, required=False)]),
                {"top_k": 5, "mode": "fast"},
            ),
            ParamSpec("p_none", DataType.string, None),
        ]
    )


def case_params():
    return ModelSignature(inputs=Schema([ColSpec(DataType.string, "prompt")]), params=params_schema())


def case_inputs_outputs_params():
    return ModelSignature(
        inputs=Schema(
            [ColSpec(DataType.double, "x"), ColSpec(Array(DataType.string), "tags", required=False)]
        ),
        outputs=Schema([ColSpec(DataType.double)]),
        params=ParamSchema(
            [
                ParamSpec("temperature", DataType.double, 0.5),
                ParamSpec("max_tokens", "long", 128),
            ]
        ),
    )


def case_outputs_only():
    return ModelSignature(outputs=Schema([ColSpec(DataType.long, "prediction")]))


def case_seed():
    return ModelSignature(inputs=seed_schema(), outputs=seed_schema())


def case_property_sorting():
    obj = Object(
        [
            Property("z", DataType.string),
            Property("a", DataType.long, required=False),
            Property("m", Object([Property("y", DataType.double), Property("b", DataType.boolean)])),
        ]
    )
    return ModelSignature(inputs=Schema([ColSpec(obj, "obj")]))


LEGACY_PARAM_JSON = '[{"name": "x", "dtype": "double", "default": 1.0, "shape": null}]'


def case_legacy_param_dtype():
    params = ParamSchema.from_json(LEGACY_PARAM_JSON)
    sig = ModelSignature(inputs=Schema([ColSpec(DataType.double, "x_in")]), params=params)
    return sig, {"source_json": LEGACY_PARAM_JSON, "reserialized_json": params.to_json()}


MISSING_REQUIRED_JSON = json.dumps(
    [
        {"type": "array", "items": {"type": "string"}, "name": "a"},
        {
            "type": "object",
            "properties": {"d": {"type": "string"}, "e": {"type": "string", "required": False}},
            "name": "c",
        },
        {"type": "map", "values": {"type": "double"}, "name": "m"},
        {"type": "any", "name": "x"},
        {"type": "string", "name": "s"},
    ]
)


def case_colspec_missing_required():
    schema = Schema.from_json(MISSING_REQUIRED_JSON)
    sig = ModelSignature(inputs=schema)
    return sig, {
        "source_json": MISSING_REQUIRED_JSON,
        "reserialized_json": schema.to_json(),
        "required_values": [spec.required for spec in schema.inputs],
    }


CASES = {
    "scalars": case_scalars,
    "unnamed_scalar": case_unnamed_scalar,
    "optional_columns": case_optional_columns,
    "array_of_array": case_array_of_array,
    "array_of_object": case_array_of_object,
    "nested_object": case_nested_object,
    "maps": case_maps,
    "any_type": case_any_type,
    "tensor_unnamed": case_tensor_unnamed,
    "tensor_named": case_tensor_named,
    "tensor_str": case_tensor_str,
    "params": case_params,
    "inputs_outputs_params": case_inputs_outputs_params,
    "outputs_only": case_outputs_only,
    "seed": case_seed,
    "property_sorting": case_property_sorting,
    "legacy_param_dtype": case_legacy_param_dtype,
    "colspec_missing_required": case_colspec_missing_required,
}


# --------------------------------------------------------------------------- capture


class _Identity(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return model_input


def mlmodel_signature_block(sig: ModelSignature) -> str:
    """Save a trivial pyfunc model and cut the ``signature:`` block out of MLmodel."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model")
        mlflow.pyfunc.save_model(path, python_model=_Identity(), signature=sig, pip_requirements=["mlflow"])
        with open(os.path.join(path, "MLmodel"), encoding="utf-8") as fh:
            lines = fh.read().splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.startswith("signature:"))
    end = start + 1
    while end < len(lines) and lines[end].startswith((" ", "\t")):
        end += 1
    return "".join(lines[start:end])


def spark_json(schema):
    if schema is None:
        return None
    try:
        return schema.as_spark_schema().json()
    except Exception:
        return None


def capture(name: str, sig: ModelSignature) -> dict:
    specs_of = "inputs" if sig.inputs is not None else "outputs"
    schema = sig.inputs if sig.inputs is not None else sig.outputs
    specs = schema.inputs
    return {
        "case": name,
        "signature_dict": sig.to_dict(),
        "repr": repr(sig),
        "inputs_repr": None if sig.inputs is None else repr(sig.inputs),
        "outputs_repr": None if sig.outputs is None else repr(sig.outputs),
        "params_repr": None if sig.params is None else repr(sig.params),
        "specs_of": specs_of,
        "spec_reprs": [repr(s) for s in specs],
        "type_reprs": [repr(s.type) if isinstance(s, ColSpec) else None for s in specs],
        "type_strs": [str(s.type) if isinstance(s, ColSpec) else None for s in specs],
        "param_reprs": [] if sig.params is None else [repr(p) for p in sig.params.params],
        "mlmodel_yaml": mlmodel_signature_block(sig),
        "as_spark_schema": spark_json(sig.inputs),
    }


# --------------------------------------------------------------------------- errors

ERROR_CASES = [
    ("empty_schema", "Schema([])", lambda: Schema([])),
    (
        "mixed_named_unnamed",
        "Schema([ColSpec('string', 'a'), ColSpec('string')])",
        lambda: Schema([ColSpec("string", "a"), ColSpec("string")]),
    ),
    (
        "mixed_colspec_tensorspec",
        "Schema([ColSpec('double', 'a'), TensorSpec(np.dtype('float64'), (-1,), 'b')])",
        lambda: Schema([ColSpec("double", "a"), TensorSpec(np.dtype("float64"), (-1,), "b")]),
    ),
    (
        "two_unnamed_tensors",
        "Schema([TensorSpec(np.dtype('float64'), (-1,)), TensorSpec(np.dtype('int64'), (-1,))])",
        lambda: Schema([TensorSpec(np.dtype("float64"), (-1,)), TensorSpec(np.dtype("int64"), (-1,))]),
    ),
    (
        "unnamed_optional_colspec",
        "Schema([ColSpec('string', required=False)])",
        lambda: Schema([ColSpec("string", required=False)]),
    ),
    ("colspec_bad_type", "ColSpec('notatype')", lambda: ColSpec("notatype")),
    ("array_bad_type", "Array('notatype')", lambda: Array("notatype")),
    ("map_bad_type", "Map('notatype')", lambda: Map("notatype")),
    ("property_non_str_name", "Property(1, 'string')", lambda: Property(1, "string")),
    ("object_empty", "Object([])", lambda: Object([])),
    (
        "object_duplicate_properties",
        "Object([Property('a', 'string'), Property('a', 'long')])",
        lambda: Object([Property("a", "string"), Property("a", "long")]),
    ),
    ("paramspec_binary", "ParamSpec('p', 'binary', b'x')", lambda: ParamSpec("p", "binary", b"x")),
    ("paramspec_bad_type", "ParamSpec('p', 'notatype', 1)", lambda: ParamSpec("p", "notatype", 1)),
    ("paramspec_wrong_default", "ParamSpec('p', 'long', 'x')", lambda: ParamSpec("p", "long", "x")),
    (
        "paramspec_shape_scalar_default",
        "ParamSpec('p', 'long', 1, (-1,))",
        lambda: ParamSpec("p", "long", 1, (-1,)),
    ),
    (
        "paramschema_duplicate_names",
        "ParamSchema([ParamSpec('p', 'long', 1), ParamSpec('p', 'double', 2.0)])",
        lambda: ParamSchema([ParamSpec("p", "long", 1), ParamSpec("p", "double", 2.0)]),
    ),
    (
        "tensorspec_sized_flexible_dtype",
        "TensorSpec(np.dtype('<U10'), (-1,))",
        lambda: TensorSpec(np.dtype("<U10"), (-1,)),
    ),
    ("signature_all_none", "ModelSignature()", lambda: ModelSignature()),
]


def capture_errors() -> list:
    records = []
    for name, call, fn in ERROR_CASES:
        try:
            fn()
        except Exception as exc:
            records.append(
                {"case": name, "call": call, "exception_type": type(exc).__name__, "message": str(exc)}
            )
        else:
            raise SystemExit(f"error case {name!r} ({call}) did not raise with MLflow {mlflow.__version__}")
    return records


# --------------------------------------------------------------------------- main


def write_json(filename: str, payload) -> str:
    path = os.path.join(GOLDEN_DIR, filename)
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(payload, fh, indent=2, ensure_ascii=False)
        fh.write("\n")
    return path


def main() -> int:
    written = []
    for name, build in CASES.items():
        built = build()
        extra = {}
        if isinstance(built, tuple):
            built, extra = built
        record = capture(name, built)
        record.update(extra)
        record["mlflow_version"] = mlflow.__version__
        written.append(write_json(f"{name}.json", record))
    written.append(write_json("errors.json", capture_errors()))
    for path in written:
        print(os.path.relpath(path))
    return 0


if __name__ == "__main__":
    sys.exit(main())
