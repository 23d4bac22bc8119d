"""Enforcement cases: rows, a signature (MLflow JSON), the expected verdicts and reasons.

Each case: ``rows`` (a list of dicts, the records of a batch), ``inputs`` (MLflow's input schema
JSON), ``profile``, ``valid`` (the expected valid mask) and ``reasons`` (per refused row index, the
expected ``(path, code)`` pairs, in order).
"""

from __future__ import annotations

SEED = (
    '[{"type": "array", "items": {"type": "string"}, "name": "a", "required": true}, '
    '{"type": "string", "name": "b", "required": false}, '
    '{"type": "object", "properties": {"d": {"type": "string", "required": true}, '
    '"e": {"type": "string", "required": false}}, "name": "c", "required": true}]'
)
NESTED = (
    '[{"type": "long", "name": "id", "required": true}, '
    '{"type": "array", "items": {"type": "object", "properties": {"g": {"type": "string", "required": true}, '
    '"h": {"type": "long", "required": false}}}, "name": "f", "required": true}, '
    '{"type": "map", "values": {"type": "double"}, "name": "m", "required": false}]'
)
#: Names a path must quote: a dotted column, a dotted property, an empty property, an empty column
#: whose records have a property with a leading space.
PUNCTUATED = (
    '[{"type": "long", "name": "a.b", "required": true}, '
    '{"type": "object", "properties": {"x.y": {"type": "string", "required": true}, '
    '"": {"type": "long", "required": true}}, "name": "c", "required": true}, '
    '{"type": "array", "items": {"type": "object", "properties": {" k": {"type": "long", "required": true}}}, '
    '"name": "", "required": false}]'
)
SCALARS = (
    '[{"type": "long", "name": "n", "required": true}, {"type": "double", "name": "x", "required": true}, '
    '{"type": "string", "name": "s", "required": false}, {"type": "boolean", "name": "flag", "required": false}]'
)

CASES = [
    {
        "id": "seed_valid_row_scores",
        "inputs": SEED,
        "profile": "mlflow",
        "rows": [{"a": ["a", "b", "c"], "b": "b", "c": {"d": "d"}}, {"a": ["a"], "c": {"d": "d", "e": "e"}}],
        "valid": [True, True],
        "reasons": {},
    },
    {
        "id": "seed_missing_required_a_and_c",
        "inputs": SEED,
        "profile": "mlflow",
        "rows": [{"b": "b"}],
        "valid": [False],
        "reasons": {0: [("a", "MISSING_REQUIRED"), ("c", "MISSING_REQUIRED")]},
    },
    {
        "id": "seed_list_row_among_dicts",
        "inputs": '[{"type": "string", "name": "a", "required": true}, {"type": "string", "name": "b", "required": false}]',
        "profile": "mlflow",
        "rows": [{"a": "we are expecting strings", "b": "and only strings"}, [1, 2, 3]],
        "valid": [True, False],
        "reasons": {1: [("", "INVALID_OBJECT")]},
    },
    {
        "id": "nested_paths_name_the_element",
        "inputs": NESTED,
        "profile": "mlflow",
        "rows": [
            {"id": 1, "f": [{"g": "x"}, {"g": "y", "h": 2}], "m": {"k": 1.5}},
            {"id": 2, "f": [{"g": "x"}, {"h": 1}], "m": None},
            {"id": 3, "f": [{"g": "x", "z": 1}], "m": {"k": "high"}},
            {"id": 4, "f": "not a list"},
        ],
        "valid": [True, False, False, False],
        "reasons": {
            1: [("f[1].g", "MISSING_REQUIRED")],
            2: [("f[0].z", "INVALID_OBJECT"), ('m["k"]', "TYPE_MISMATCH")],
            3: [("f", "INVALID_ARRAY")],
        },
    },
    {
        "id": "scalar_types_and_nulls",
        "inputs": SCALARS,
        "profile": "mlflow",
        "rows": [
            {"n": 1, "x": 1.5, "s": "a", "flag": True},
            {"n": 2, "x": None, "s": None, "flag": None},
            {"n": 3, "x": 2.5},
            {"x": 1.0},
        ],
        "valid": [True, True, True, False],
        "reasons": {3: [("n", "MISSING_REQUIRED")]},
    },
    {
        "id": "names_with_path_punctuation_are_quoted_in_paths",
        "inputs": PUNCTUATED,
        "profile": "mlflow",
        "rows": [
            {"a.b": 1, "c": {"x.y": "s", "": 2}},
            {"a.b": "x", "c": {"x.y": 1, "": "z"}},
            {"c": {"": 3}, "": [{" k": "v"}]},
            {"a.b": 2, "c": {"x.y": "s", "": 2, "q.r": 1}},
        ],
        "valid": [True, False, False, False],
        "reasons": {
            1: [('"a.b"', "TYPE_MISMATCH"), ('c."x.y"', "TYPE_MISMATCH"), ('c.""', "TYPE_MISMATCH")],
            2: [
                ('"a.b"', "MISSING_REQUIRED"),
                ('c."x.y"', "MISSING_REQUIRED"),
                ('""[0]." k"', "TYPE_MISMATCH"),
            ],
            3: [('c."q.r"', "INVALID_OBJECT")],
        },
    },
    {
        "id": "strict_refuses_null_in_required_column",
        "inputs": SCALARS,
        "profile": "strict",
        "rows": [{"n": 1, "x": 1.5}, {"n": 2, "x": None}],
        "valid": [True, False],
        "reasons": {1: [("x", "NULL_REQUIRED")]},
    },
    {
        "id": "lenient_converts_text_that_converts_without_loss",
        "inputs": SCALARS,
        "profile": "lenient",
        "rows": [
            {"n": "7", "x": "2.5", "flag": "true"},
            {"n": "7.0", "x": "1e3", "flag": "False"},
            {"n": "7.5", "x": "n/a", "flag": "yes"},
        ],
        "valid": [True, True, False],
        "reasons": {2: [("n", "UNSAFE_CAST"), ("x", "TYPE_MISMATCH"), ("flag", "TYPE_MISMATCH")]},
    },
]
