"""In-memory inference: the seed notebook's signatures and MLflow's edge cases, as exact values."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import warnings

import numpy as np
import pandas as pd
import pyarrow as pa
import pydantic
import pytest

import sigbatch
from sigbatch import AnyType, Array, DataType, InferenceError, Map, Object, Property, TensorSpec
from sigbatch.infer import (
    INTEGER_COLUMNS_HINT,
    MULTIPLE_TYPES_ERROR_MSG,
    infer_dtype_type,
    infer_element_type,
    infer_param_schema,
    infer_schema,
    infer_series_type,
    infer_signature,
    infer_value_type,
    merge_types,
    series_required,
)

_FALLBACK_INPUTS = (
    "Failed to infer schema for inputs. Setting schema to `Schema([ColSpec(type=AnyType())]` as "
    "default. Note that MLflow doesn't validate data types during inference for AnyType. To see the "
    "full traceback, set logging level to DEBUG."
)
_FALLBACK_OUTPUTS = (
    "Failed to infer schema for outputs. Setting schema to `Schema([ColSpec(type=AnyType())]` as "
    "default. To see the full traceback, set logging level to DEBUG."
)


def _printed(inputs: str, outputs: str = "None", params: str = "None") -> str:
    """The text MLflow prints for a signature (two-space indented parts)."""
    return f"inputs: \n  {inputs}\noutputs: \n  {outputs}\nparams: \n  {params}\n"


def _infer(*args, **kwargs):
    """``infer_signature`` and the integer hints it warned."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        signature = infer_signature(*args, **kwargs)
    hints = [w for w in caught if str(w.message) == INTEGER_COLUMNS_HINT]
    assert all(w.category is UserWarning for w in hints)
    return signature, len(hints)


def _schema(data):
    """``infer_schema`` and the number of integer hints it warned."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        schema = infer_schema(data)
    return schema, sum(str(w.message) == INTEGER_COLUMNS_HINT for w in caught)


_SEED_RECORDS = [{"a": ["a", "b", "c"], "b": "b", "c": {"d": "d"}}, {"a": ["a"], "c": {"d": "d", "e": "e"}}]
_SEED_RECORDS_PRINTED = (
    "['a': Array(string) (required), 'b': string (optional), "
    "'c': {d: string (required), e: string (optional)} (required)]"
)

# (id, model_input, model_output, printed inputs, printed outputs, integer hints warned)
SEED_CASES = [
    ("list_of_strings", ["a", "list", "of", "strings"], None, "[string (required)]", "None", 0),
    ("list_of_float32", [np.float32(0.117), np.float32(1.99)], None, "[float (required)]", "None", 0),
    (
        "frame_of_doubles",
        pd.DataFrame({"input_data": [np.float64(0.117), np.float64(1.99)]}),
        None,
        "['input_data': double (required)]",
        "None",
        0,
    ),
    (
        "list_of_dicts",
        [{"a": "a1", "b": "b1"}, {"a": "a2", "b": "b2"}],
        None,
        "['a': string (required), 'b': string (required)]",
        "None",
        0,
    ),
    (
        "list_of_string_lists",
        [["a", "b", "c"], ["d", "e", "f"]],
        None,
        "[Array(string) (required)]",
        "None",
        0,
    ),
    (
        "list_of_lists_of_dicts",
        [[{"a": "a", "b": "b"}, {"a": "a", "b": "b"}], [{"a": "a", "b": "b"}, {"a": "a", "b": "b"}]],
        None,
        "[Array({a: string (required), b: string (required)}) (required)]",
        "None",
        0,
    ),
    ("list_of_ints", [1, 2, 3], None, "[long (required)]", "None", 1),
    ("list_of_booleans", [True, False, False, False, True], None, "[boolean (required)]", "None", 0),
    (
        "list_of_datetimes",
        [np.datetime64("2023-12-24 11:59:59"), np.datetime64("2023-12-25 00:00:00")],
        None,
        "[datetime (required)]",
        "None",
        0,
    ),
    (
        "complex_list_of_dicts",
        [{"a": "b", "b": [1, 2, 3], "c": {"d": [4, 5, 6]}}],
        None,
        "['a': string (required), 'b': Array(long) (required), 'c': {d: Array(long) (required)} (required)]",
        "None",
        0,
    ),
    (
        "nested_frame",
        pd.DataFrame(
            [
                {"a": "a", "b": ["a", "b", "c"], "c": {"d": 1, "e": 0.1}, "f": [{"g": "g"}, {"h": 1}]},
                {"b": ["a", "b"], "c": {"d": 2, "f": "f"}, "f": [{"g": "g"}]},
            ]
        ),
        None,
        "['a': string (optional), 'b': Array(string) (required), "
        "'c': {d: long (required), e: double (optional), f: string (optional)} (required), "
        "'f': Array({g: string (optional), h: long (optional)}) (required)]",
        "None",
        0,
    ),
    ("optional_fields", _SEED_RECORDS, None, _SEED_RECORDS_PRINTED, "None", 0),
    (
        "logged_input_and_output",
        _SEED_RECORDS,
        _SEED_RECORDS,
        _SEED_RECORDS_PRINTED,
        _SEED_RECORDS_PRINTED,
        0,
    ),
    (
        "prediction_frame_as_output",
        _SEED_RECORDS,
        pd.DataFrame(_SEED_RECORDS),
        _SEED_RECORDS_PRINTED,
        _SEED_RECORDS_PRINTED,
        0,
    ),
    (
        "updated_signature",
        [{"a": "string", "b": "another string"}, {"a": "string"}],
        "Input is valid.",
        "['a': string (required), 'b': string (optional)]",
        "[string (required)]",
        0,
    ),
]


@pytest.mark.parametrize(
    ("model_input", "model_output", "inputs", "outputs", "hints"),
    [case[1:] for case in SEED_CASES],
    ids=[case[0] for case in SEED_CASES],
)
def test_seed_notebook_signatures(model_input, model_output, inputs, outputs, hints):
    """Every signature the seed notebook infers prints exactly as MLflow prints it (and warns alike)."""
    signature, warned = _infer(model_input, model_output)
    assert str(signature) == _printed(inputs, outputs)
    assert warned == hints


def test_lazy_top_level_names():
    """`sigbatch.infer_signature` and `sigbatch.infer_schema` are the functions of sigbatch.infer."""
    assert sigbatch.infer_signature is infer_signature
    assert sigbatch.infer_schema is infer_schema


# --- top-level input kinds -------------------------------------------------------------------


def test_empty_list_is_a_string_column():
    """An empty list infers `[string (required)]` (MLflow's pre-2.9 compatibility rule)."""
    assert repr(infer_schema([])) == "[string (required)]"


def test_none_then_int_is_long():
    """`[None, 1]` is a required long column: the unnamed column of a list is always required."""
    schema, hints = _schema([None, 1])
    assert repr(schema) == "[long (required)]"
    assert hints == 1


def test_none_then_int_in_records_is_optional_long():
    """A key holding None in one record is optional, typed by its other values."""
    assert _schema([{"a": None}, {"a": 1}]) == (
        sigbatch.Schema([sigbatch.ColSpec("long", "a", required=False)]),
        1,
    )


def test_all_none_column_is_optional_any():
    """A column holding only missing values is `Any (optional)`, from records and from a frame."""
    assert repr(infer_schema([{"a": None}, {"a": None}])) == "['a': Any (optional)]"
    frame = pd.DataFrame({"a": [None, None]}, dtype=object)
    assert repr(infer_schema(frame)) == "['a': Any (optional)]"


def test_nan_in_object_column_is_optional_string():
    """A NaN in an object column of strings makes it optional, not a type conflict."""
    frame = pd.DataFrame({"a": pd.Series(["x", float("nan")], dtype=object)})
    assert repr(infer_schema(frame)) == "['a': string (optional)]"


def test_nan_in_records_stays_required():
    """In a list of dicts only a missing key or None makes a column optional; NaN does not."""
    assert repr(infer_schema([{"a": "x"}, {"a": float("nan")}])) == "['a': string (required)]"


def test_missing_nested_keys_become_optional_properties():
    """Dicts merged across rows keep shared keys required and make one-sided keys optional."""
    schema = infer_schema([{"c": {"d": 1, "e": {"x": 1}}}, {"c": {"d": 2, "f": None}}])
    assert (
        repr(schema)
        == "['c': {d: long (required), e: {x: long (required)} (optional), f: Any (optional)} (required)]"
    )


def test_object_merged_with_none_has_optional_properties():
    """A None next to dicts makes every property of their Object optional."""
    assert repr(infer_schema([None, {"a": 1}])) == "[{a: long (optional)} (required)]"


def test_dict_keys_must_be_strings():
    """A dict input whose keys are not all strings is refused with MLflow's message."""
    with pytest.raises(InferenceError, match=r"^The dictionary keys are not all strings\.$"):
        infer_schema({"a": 1, 2: 3})


def test_record_keys_may_be_integers():
    """Records with integer keys give integer column names, as in MLflow."""
    assert repr(infer_schema([{1: "x"}])) == "[1: string (required)]"


def test_nested_dict_keys_must_be_strings():
    """A nested dict with a non-string key has no Object type."""
    with pytest.raises(InferenceError, match=r"^Expected name to be a string, got type int$"):
        infer_value_type({"a": {1: "x"}})


def test_dict_of_values():
    """A dict of values is one row: lists are Arrays, None or a None element makes a key optional."""
    schema = infer_schema({"a": [1, None], "b": [], "c": None, "d": "x"})
    assert (
        repr(schema)
        == "['a': Array(long) (optional), 'b': Any (required), 'c': Any (optional), 'd': string (required)]"
    )


def test_dict_of_ndarrays_is_named_tensors():
    """A dict of numpy arrays gives named TensorSpecs with sizes stripped from string dtypes."""
    schema = infer_schema({"a": np.array(["abcde"]), "b": np.zeros((2, 3), dtype=np.float32)})
    assert schema.inputs == (
        TensorSpec(np.dtype("str"), (-1,), "a"),
        TensorSpec(np.dtype("float32"), (-1, 3), "b"),
    )
    assert repr(schema) == "['a': Tensor('str', (-1,)), 'b': Tensor('float32', (-1, 3))]"


def test_ndarray_with_sized_unicode_is_str_tensor():
    """An ndarray of dtype `<U5` is an unnamed `str` tensor with a variable first dimension."""
    schema, hints = _schema(np.array(["abcde", "x"], dtype="<U5"))
    assert repr(schema) == "[Tensor('str', (-1,))]"
    assert hints == 0


def test_int_ndarray_tensor_does_not_warn():
    """The integer hint is for column-based schemas only, never tensors."""
    schema, hints = _schema(np.arange(6, dtype=np.int64).reshape(2, 3))
    assert repr(schema) == "[Tensor('int64', (-1, 3))]"
    assert hints == 0


def test_zero_dim_ndarray_has_no_tensor_shape():
    """A 0-d array has no first dimension to make variable."""
    with pytest.raises(InferenceError, match="out of bounds with respect to the number of dimensions 0"):
        infer_schema(np.array(5))


def test_scalars_are_one_unnamed_column():
    """A str, bytes or number is one required unnamed column."""
    assert repr(infer_schema("hi")) == "[string (required)]"
    assert repr(infer_schema(b"x")) == "[binary (required)]"
    assert repr(infer_schema(1.5)) == "[double (required)]"


def test_unsupported_value_message():
    """A value with no type reports MLflow's list of accepted inputs and the cause."""
    with pytest.raises(InferenceError) as info:
        infer_schema((1, 2))
    message = str(info.value)
    assert message.startswith(
        "Failed to infer schema. Expected one of the following types:\n- pandas.DataFrame\n"
    )
    assert message.endswith("but got '(1, 2)'.\nError: Data (1, 2) is not one of the supported DataType")


def test_pandas_timestamp_in_list_is_unsupported():
    """Scalar types are looked up exactly: `pd.Timestamp` (a datetime subclass) has no type."""
    with pytest.raises(
        InferenceError, match=r"^Data 2020-01-01 00:00:00 is not one of the supported DataType$"
    ):
        infer_schema([pd.Timestamp("2020-01-01")])


def test_numpy_scalar_types():
    """np.int32 is integer, np.int64 long, np.float32 float, np.float64 double; np.int8 has no type."""
    assert [infer_value_type(v) for v in (np.int32(1), np.int64(1), np.float32(1), np.float64(1))] == [
        DataType.integer,
        DataType.long,
        DataType.float,
        DataType.double,
    ]
    with pytest.raises(InferenceError, match=r"^Data 1 is not one of the supported DataType$"):
        infer_value_type(np.int8(1))


def test_float32_nan_is_a_value():
    """Only float and np.float64 NaN are missing: a np.float32 NaN is a float value."""
    assert infer_value_type(np.float32("nan")) is DataType.float
    assert infer_value_type(float("nan")) == AnyType()


# --- conflicts -------------------------------------------------------------------------------


@pytest.mark.parametrize("data", [[1, "a"], [1, 2.5], [{"a": 1}, {"a": "x"}], [[1], ["a"]], [{"a": 1}, 1]])
def test_conflicting_values_raise_mlflow_message(data):
    """Values of different types (no numeric widening) raise MLflow's exact message."""
    with pytest.raises(InferenceError) as info:
        infer_schema(data)
    assert str(info.value) == MULTIPLE_TYPES_ERROR_MSG


def test_conflicting_object_column_names_the_series():
    """A conflicting object column reports the Series and the conflict."""
    with pytest.raises(InferenceError) as info:
        infer_schema(pd.DataFrame({"a": pd.Series(["x", 1], dtype=object)}))
    assert str(info.value) == (
        "Failed to infer schema for pandas.Series 0    x\n1    1\nName: a, dtype: object. "
        f"Error: {MULTIPLE_TYPES_ERROR_MSG}"
    )


def test_signature_falls_back_to_any_on_conflict(caplog):
    """`infer_signature` logs a warning and uses `[Any (required)]` for a part it cannot infer."""
    with caplog.at_level(logging.WARNING, logger="sigbatch.infer.local"):
        signature, _ = _infer([1, "a"], [{"a": 1}, {"a": "x"}])
    assert str(signature) == _printed("[Any (required)]", "[Any (required)]")
    assert [r.getMessage() for r in caplog.records] == [_FALLBACK_INPUTS, _FALLBACK_OUTPUTS]


def test_signature_falls_back_to_any_on_uint64(caplog):
    """uint64 columns have no type: `infer_schema` raises, `infer_signature` falls back to Any."""
    frame = pd.DataFrame({"a": np.array([1, 2], dtype=np.uint64)})
    with pytest.raises(InferenceError, match=r"^Unsupported numpy data type 'uint64', kind 'u'$"):
        infer_schema(frame)
    with caplog.at_level(logging.WARNING, logger="sigbatch.infer.local"):
        signature, _ = _infer(frame)
    assert str(signature) == _printed("[Any (required)]")
    assert [r.getMessage() for r in caplog.records] == [_FALLBACK_INPUTS]


def test_unnamed_optional_series_falls_back_to_any():
    """An unnamed Series with a NaN would be an unnamed optional column, which MLflow refuses."""
    series = pd.Series([1.0, None])
    with pytest.raises(
        InferenceError, match=r"^Creating Schema with unnamed optional inputs is not supported"
    ):
        infer_schema(series)
    assert str(_infer(series)[0]) == _printed("[Any (required)]")


def test_signature_without_any_part_is_refused():
    """With no input, output or params there is no signature (as in MLflow)."""
    with pytest.raises(ValueError, match=r"^At least one of inputs, outputs or params must be provided$"):
        infer_signature(None)


# --- pandas columns --------------------------------------------------------------------------


def test_frame_numpy_and_extension_dtypes():
    """Column dtypes map by kind and size; NaN, None, pd.NA and NaT make a column optional."""
    frame = pd.DataFrame(
        {
            "i8": np.array([1, 2], dtype=np.int8),
            "u32": np.array([1, 2], dtype=np.uint32),
            "f16": np.array([1, np.nan], dtype=np.float16),
            "f32": np.array([1, 2], dtype=np.float32),
            "ts": pd.to_datetime(["2020-01-01", None]),
            "tz": pd.to_datetime(["2020-01-01", "2020-01-02"]).tz_localize("UTC"),
            "Int64": pd.array([1, None], dtype="Int64"),
            "bool": pd.array([True, None], dtype="boolean"),
            "string": pd.array(["x", None], dtype="string"),
            "cat": pd.Categorical(["x", "y"]),
        }
    )
    schema, hints = _schema(frame)
    assert repr(schema) == (
        "['i8': integer (required), 'u32': long (required), 'f16': float (optional), "
        "'f32': float (required), 'ts': datetime (optional), 'tz': datetime (required), "
        "'Int64': long (optional), 'bool': boolean (optional), 'string': string (optional), "
        "'cat': string (required)]"
    )
    assert hints == 1


def test_object_columns_of_lists_and_dicts():
    """Object columns are typed from their values: lists are Arrays, dicts Objects."""
    frame = pd.DataFrame({"l": [[1, 2], None], "d": [{"a": 1}, {"b": [True]}]})
    assert repr(infer_schema(frame)) == (
        "['l': Array(long) (optional), 'd': {a: long (optional), b: Array(boolean) (optional)} (required)]"
    )


def test_empty_object_column_is_string():
    """An empty object column falls back to string, as MLflow does for text columns."""
    assert repr(infer_schema(pd.Series([], dtype=object, name="x"))) == "['x': string (required)]"


def test_integer_hint_only_for_top_level_integers():
    """The integer hint is emitted for top-level integer/long columns, not for nested ones."""
    assert _schema(pd.DataFrame({"a": [1, 2]}))[1] == 1
    assert _schema([[1, 2]])[1] == 0
    assert _schema([{"a": {"b": 1}}])[1] == 0


def test_duplicate_frame_columns_are_refused():
    """Duplicated column names select a DataFrame, not a Series: refused as in MLflow."""
    with pytest.raises(InferenceError, match=r"^Expected pandas.Series, got"):
        infer_schema(pd.DataFrame([[1, 2]], columns=["a", "a"]))


def test_series_helpers():
    """Column helpers type from the dtype and test missing values without a per-value loop."""
    assert infer_series_type(pd.Series([1, 2], dtype=np.int16)) is DataType.integer
    assert series_required(pd.Series([1.0, np.nan])) is False
    assert series_required(pd.Series(["a", None], dtype=object)) is False
    assert infer_dtype_type(pd.BooleanDtype()) is DataType.boolean


# --- value-level machinery -------------------------------------------------------------------


def test_merge_object_with_any_makes_properties_optional():
    """Merging an Object with Any (either side) makes all its properties optional."""
    obj = Object([Property("a", "long"), Property("b", "string", required=False)])
    expected = Object([Property("a", "long", required=False), Property("b", "string", required=False)])
    assert merge_types(obj, AnyType()) == expected
    assert merge_types(AnyType(), obj) == expected


def test_merge_arrays_and_maps():
    """Arrays and Maps merge their element types; Any merges into anything."""
    assert merge_types(Array(AnyType()), Array("long")) == Array("long")
    assert merge_types(Map(Array(AnyType())), Map(Array("string"))) == Map(Array("string"))
    assert merge_types(AnyType(), DataType.double) is DataType.double


@pytest.mark.parametrize(
    ("left", "right"),
    [
        (DataType.long, DataType.double),
        (Array("long"), DataType.long),
        (Object([Property("a", "long")]), Map("long")),
    ],
)
def test_merge_incompatible_types_raises(left, right):
    """Different scalar types, and different kinds of types, do not merge."""
    with pytest.raises(InferenceError, match=r"^Incompatible types"):
        merge_types(left, right)


def test_merge_reports_the_conflicting_property():
    """An Object conflict names the property that conflicts."""
    with pytest.raises(InferenceError, match=r"^Property 'a': Incompatible types: long and string$"):
        merge_types(Object([Property("a", "long")]), Object([Property("a", "string")]))


def test_element_type_of_arrays():
    """Empty numpy arrays are undetermined; empty lists are Any; float64 NaN is missing."""
    assert infer_element_type([np.array([1, 2]), np.array([], dtype=int)]) == Array(Array("long"))
    assert infer_element_type([np.array([])]) is None
    assert infer_element_type([[], [1]]) == Array(Array("long"))
    assert infer_element_type(np.array([[np.nan], [1.0]])) == Array(Array("double"))
    assert infer_element_type(np.array([np.nan])) == Array(AnyType())


# --- Arrow tables ----------------------------------------------------------------------------


def test_arrow_table_is_typed_as_its_pandas_conversion():
    """An Arrow table gives MLflow's schema of `table.to_pandas()` (integers with nulls are double)."""
    table = pa.table(
        {
            "i": pa.array([1, None]),
            "j": pa.array([1, 2], pa.int32()),
            "f": pa.array([1.0, float("nan")]),
            "b": pa.array([True, None]),
            "s": pa.array(["a", "b"]),
            "n": pa.array([None, None], pa.string()),
            "t": pa.array([dt.datetime(2020, 1, 1), None]),
            "l": pa.array([[1, None], [2]]),
            "st": pa.array([{"x": "a"}, None]),
        }
    )
    schema, hints = _schema(table)
    assert repr(schema) == (
        "['i': double (optional), 'j': integer (required), 'f': double (optional), "
        "'b': boolean (optional), 's': string (required), 'n': Any (optional), "
        "'t': datetime (optional), 'l': Array(double) (required), 'st': {x: string (optional)} (optional)]"
    )
    assert hints == 1


def test_empty_arrow_string_column_is_string():
    """An empty Arrow string column is a required string column, as its pandas conversion is."""
    assert repr(infer_schema(pa.table({"s": pa.array([], pa.string())}))) == "['s': string (required)]"


# --- params and dataclasses ------------------------------------------------------------------


def test_param_schema():
    """Params take numpy's type for scalars, shape (-1,) for 1-D lists, Object for dicts."""
    schema = infer_param_schema(
        {"t": 0.5, "k": 3, "stop": ["a", "b"], "d": {"a": 1}, "day": dt.date(2020, 1, 1), "flag": True}
    )
    assert repr(schema) == (
        "['t': double (default: 0.5), 'k': long (default: 3), "
        "'stop': string (default: ['a', 'b']) (shape: (-1,)), "
        "'d': {a: long (required)} (default: {'a': 1}), 'day': datetime (default: 2020-01-01), "
        "'flag': boolean (default: True)]"
    )


def test_empty_list_param_is_datetime():
    """An empty list param is a datetime list: every (no) element passes the datetime test."""
    assert repr(infer_param_schema({"p": []})) == "['p': datetime (default: []) (shape: (-1,))]"


def test_invalid_params_raise_together():
    """All failing params are reported in one error, and `infer_signature` does not swallow it. The
    message is MLflow's, each failure named by MLflow's class (it showed sigbatch's)."""
    with pytest.raises(InferenceError) as info:
        infer_signature(["a"], params={"p": [[1]], "q": None, "ok": 1, "s": [None, "a"]})
    assert str(info.value) == (
        "Failed to infer schema for parameters: "
        "[('p', [[1]], MlflowException('Expected parameters to be 1D array or scalar, got 2D array')), "
        "('q', None, MlflowException('Expected parameters to be 1D array or scalar, got NoneType')), "
        "('s', [None, 'a'], Exception('Can not infer object without looking at the values, call "
        "_map_numpy_array instead.'))]"
    )


def test_empty_params_are_no_param_schema():
    """Empty params give no param schema."""
    assert infer_signature(["a"], params={}).params is None


def test_dataclass_input_is_read_from_type_hints():
    """A dataclass example is typed from its hints: float is float, Optional is optional."""
    inner = dataclasses.make_dataclass("Inner", [("n", int), ("tags", list[str] | None)])
    outer = dataclasses.make_dataclass(
        "Outer", [("x", float), ("inner", inner), ("items", list[inner] | None)]
    )
    signature, hints = _infer(outer(1.0, inner(1, None), None))
    assert str(signature) == _printed(
        "['x': float (required), 'inner': {n: long (required), tags: Array(string) (optional)} (required), "
        "'items': Array({n: long (required), tags: Array(string) (optional)}) (optional)]"
    )
    assert hints == 0


def test_pydantic_values_are_refused_not_swallowed():
    """Pydantic objects inside the data raise from `infer_signature`; alone they fall back to Any."""

    class Item(pydantic.BaseModel):
        name: str

    with pytest.raises(InferenceError, match=r"^MLflow does not support inferring model signature"):
        infer_signature([Item(name="a")])
    assert str(_infer(Item(name="a"))[0]) == _printed("[Any (required)]")


def test_numpy_array_subclasses_as_values_infer_as_arrays_do():
    """Masked arrays and record arrays as values infer as MLflow infers them (they raised a
    broadcasting ValueError from comparing an array with [])."""
    import mlflow.models

    cases = [
        [{"a": np.ma.array([1, 2])}],
        [np.ma.array([1.5, 2.0])],
        [{"a": np.array([1, 2]).view(np.recarray)}],
    ]
    for data in cases:
        ours = infer_signature(data)
        assert repr(ours.inputs) == repr(mlflow.models.infer_signature(data).inputs)
    assert repr(infer_signature(cases[0]).inputs) == "['a': Array(long) (required)]"
