"""pandas and dict inputs as MLflow reads them: column labels, dict columns, extension dtypes, text
dtypes and dicts of columns. Each case states its exact expected result and checks it against real
MLflow's ``_enforce_schema`` (the dev extra)."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pandas as pd
import pytest
from mlflow.models.utils import _enforce_schema
from mlflow.types.schema import Schema as MlflowSchema

import sigbatch
from sigbatch import (
    Array,
    ColSpec,
    Map,
    ModelSignature,
    Object,
    Property,
    Schema,
    SchemaMismatchError,
    enforce,
)

pytestmark = pytest.mark.mlflow


def _mlflow(data: Any, schema: Schema) -> Any:
    """What MLflow hands the model for ``data`` (or the exception it raises)."""
    try:
        return _enforce_schema(copy.deepcopy(data), MlflowSchema.from_json(schema.to_json()))
    except Exception as exc:
        return exc


def _per_row(df: pd.DataFrame, schema: Schema) -> list[bool]:
    """MLflow's verdict for each row of ``df`` alone."""
    return [
        not isinstance(_mlflow(df.iloc[[i]].reset_index(drop=True), schema), Exception)
        for i in range(len(df))
    ]


def test_map_column_of_dicts_is_accepted_and_passed_as_dicts():
    """A DataFrame column of dicts under a Map signature: every row valid, the model gets the dicts."""
    schema = Schema([ColSpec(Map("long"), "feats")])
    df = pd.DataFrame({"feats": [{"a": 1}, {"a": 2, "b": 3}]})
    result = enforce(df, schema)
    assert result.valid_mask.tolist() == [True, True]
    assert result.to_pandas()["feats"].tolist() == [{"a": 1}, {"a": 2, "b": 3}]
    assert _mlflow(df, schema)["feats"].tolist() == [{"a": 1}, {"a": 2, "b": 3}]


def test_object_column_gives_the_model_each_record_s_own_keys():
    """Dicts in a DataFrame column reach the model with their own keys (no added null properties)."""
    schema = Schema([ColSpec(Object([Property("a", "long"), Property("b", "string", required=False)]), "x")])
    df = pd.DataFrame({"x": [{"a": 1}, {"a": 2, "b": "s"}]})
    got = enforce(df, schema).to_pandas()["x"].tolist()
    assert got == [{"a": 1}, {"a": 2, "b": "s"}]
    assert got == _mlflow(df, schema)["x"].tolist()
    nested = Schema(
        [ColSpec(Array(Object([Property("a", "long"), Property("b", "long", required=False)])), "y")]
    )
    df2 = pd.DataFrame({"y": [[{"a": 1}], [{"a": 2, "b": 3}]]})
    got2 = [list(v) for v in enforce(df2, nested).to_pandas()["y"]]
    assert got2 == [[{"a": 1}], [{"a": 2, "b": 3}]]
    assert got2 == [list(v) for v in _mlflow(df2, nested)["y"]]


def test_integer_column_labels_bind_by_label():
    """A frame with integer labels (``pd.DataFrame(array)``) fits the signature inferred from it; a
    signature naming ``'0'`` does not bind the label ``0``, and says why."""
    df = pd.DataFrame(np.array([[1.5, 2.0], [3.0, 4.0]]))
    sig = sigbatch.infer_signature(df)
    assert sig.inputs.to_dict() == [
        {"type": "double", "name": 0, "required": True},
        {"type": "double", "name": 1, "required": True},
    ]
    result = enforce(df, sig)
    assert result.valid_mask.tolist() == [True, True]
    assert result.to_pandas().columns.tolist() == [0, 1]
    scored = sigbatch.score_batch(df, lambda frame: frame[0] * 2, sig)
    assert scored.scored.column("prediction").to_pylist() == [3.0, 6.0]
    text_named = Schema([ColSpec("double", "0")])
    with pytest.raises(SchemaMismatchError) as err:
        enforce(pd.DataFrame({0: [1.5]}), text_named)
    assert str(err.value) == (
        "The source does not fit the signature (1 column problem(s)):\n"
        "  - 0: required column '0' is absent from the source (Hint: the data labels that column 0 (int), "
        "the signature names it '0' (str))"
    )
    assert isinstance(_mlflow(pd.DataFrame({0: [1.5]}), text_named), Exception)


@pytest.mark.parametrize(
    ("dtype", "values", "target", "valid"),
    [
        ("Int64", [1, 2], "long", [True, True]),
        ("Int64", [1, None], "long", [True, False]),
        ("Int64", [1, 2], "double", [False, False]),
        ("Int64", [0, 1], "float", [False, False]),
        ("Float64", [1.5, None], "double", [True, True]),
        ("boolean", [True, None], "boolean", [True, False]),
        ("int64[pyarrow]", [1, 2], "long", [True, True]),
    ],
)
def test_extension_dtypes_get_mlflow_s_verdicts(dtype, values, target, valid):
    """pandas' nullable and Arrow-backed dtypes: MLflow reads them by dtype (no 0/1 rule for Int64)
    and refuses an NA it cannot convert; each row gets the verdict MLflow gives it alone."""
    schema = Schema([ColSpec(target, "x")])
    df = pd.DataFrame({"x": pd.array(values, dtype=dtype)})
    assert enforce(df, schema).valid_mask.tolist() == valid
    assert _per_row(df, schema) == valid


@pytest.mark.parametrize(
    ("dtype", "target"), [("Int64", "long"), ("Int32", "integer"), ("boolean", "boolean")]
)
def test_extension_nulls_in_optional_columns_are_accepted(dtype, target):
    """A null in an optional column is accepted (README: where MLflow refuses it in integer
    columns); the column reaches the model as pandas holds it (float64 with NaN for integers)."""
    schema = Schema([ColSpec(target, "x", required=False)])
    df = pd.DataFrame({"x": pd.array([1, None] if target != "boolean" else [True, None], dtype=dtype)})
    result = enforce(df, schema)
    assert result.valid_mask.tolist() == [True, True]
    assert result.to_pandas()["x"].isna().tolist() == [False, True]
    assert (
        sigbatch.score_batch(
            df, lambda f: f["x"].isna().astype("float64"), ModelSignature(schema)
        ).scored.num_rows
        == 2
    )


def test_extension_dtype_reasons_and_raise_mode():
    """The reasons are MLflow's messages; ``on_error="raise"`` accepts what MLflow accepts."""
    schema = Schema([ColSpec("double", "x")])
    result = enforce(pd.DataFrame({"x": pd.array([1, 2], dtype="Int64")}), schema)
    assert [(r.code.value, r.message) for r in result.reasons[0]] == [
        ("UNSAFE_CAST", "Incompatible input types for column x. Can not safely convert Int64 to float64.")
    ]
    na = enforce(pd.DataFrame({"x": pd.array([1, None], dtype="Int64")}), Schema([ColSpec("long", "x")]))
    assert [(r.code.value, r.message) for r in na.reasons[1]] == [
        ("NULL_REQUIRED", "cannot convert NA to integer")
    ]
    for dtype, target in (
        ("Int64", "long"),
        ("Float64", "double"),
        ("boolean", "boolean"),
        ("int64[pyarrow]", "long"),
    ):
        frame = pd.DataFrame({"x": pd.array([1, 0], dtype=dtype)})
        assert enforce(frame, Schema([ColSpec(target, "x")]), on_error="raise").n_valid == 2


def test_text_columns_keep_mlflow_s_dtypes():
    """Records' text columns get pandas' own text dtype (MLflow builds ``pd.DataFrame(records)``);
    a DataFrame's text column reaches the model as it is; Arrow text as pandas reads it."""
    schema = Schema([ColSpec("string", "s", required=False)])
    default_text = pd.Series(["a"]).dtype
    records = [{"s": "a"}, {"s": "b"}]
    got = enforce(records, schema).to_pandas()["s"]
    assert (got.dtype, got.tolist()) == (default_text, ["a", "b"])
    assert got.dtype == _mlflow(records, schema)["s"].dtype
    objects = pd.DataFrame({"s": pd.Series(["a", None], dtype=object)})
    got = enforce(objects, schema).to_pandas()["s"]
    assert (got.dtype, got.tolist()) == (np.dtype(object), ["a", None])
    assert got.dtype == _mlflow(objects, schema)["s"].dtype
    import pyarrow as pa

    arrow = enforce(pa.table({"s": ["a", None]}), schema).to_pandas()["s"]
    expected = pa.array(["a", None]).to_pandas()
    assert arrow.dtype == expected.dtype
    assert arrow.isna().tolist() == [False, True]


def test_dict_input_is_a_record_or_columns_as_mlflow_reads_it():
    """A dict of scalars is one record; a dict of lists is columns; lists of different lengths are
    one clear error."""
    schema = Schema([ColSpec("long", "a"), ColSpec("string", "b")])
    columns = {"a": [1, 2], "b": ["x", "y"]}
    result = enforce(columns, schema)
    assert result.valid_mask.tolist() == [True, True]
    assert result.to_pandas().to_dict("list") == _mlflow(columns, schema).to_dict("list") == columns
    one = enforce({"a": 1, "b": "x"}, schema)
    assert one.valid_mask.tolist() == [True]
    with pytest.raises(sigbatch.SignatureError) as err:
        enforce({"a": [1, 2], "b": ["x"]}, schema)
    assert str(err.value) == (
        "This model contains a column-based signature, which suggests a DataFrame input. There was an error "
        "casting the input data to a DataFrame: All arrays must be of the same length"
    )
    sig = ModelSignature(schema)
    assert sigbatch.score_batch(columns, lambda f: f["a"] + 1, sig).scored.column(
        "prediction"
    ).to_pylist() == [2, 3]


def test_integer_names_bind_arrow_text_and_record_keys():
    """An integer name binds an Arrow column's text name (as its Arrow form is named) and a record's
    integer key (as pandas makes it a label); a text key "0" is not the name 0, as in MLflow."""
    import pyarrow as pa

    schema = Schema([ColSpec("long", 0)])
    assert enforce(pa.table({"0": [1, 2]}), schema).valid_mask.tolist() == [True, True]
    records = [{0: 1}, {0: 2}]
    result = enforce(records, schema)
    assert (result.valid_mask.tolist(), result.to_pandas().to_dict("list")) == ([True, True], {0: [1, 2]})
    assert _mlflow(records, schema).to_dict("list") == {0: [1, 2]}
    assert enforce({0: 1}, schema).valid_mask.tolist() == [True]
    text_key = enforce([{"0": 1}], schema)
    assert [(r.code.value, r.message) for r in text_key.reasons[0]] == [
        ("MISSING_REQUIRED", "Model is missing inputs ['0'].")
    ]
    assert isinstance(_mlflow([{"0": 1}], schema), Exception)


def test_dict_of_numpy_arrays_as_mlflow_reads_it():
    """A dict of 0-d text arrays is one record (model serving's form); a 2-d array is a column of
    lists, quarantined under a scalar type (MLflow refuses it too)."""
    one = enforce({"a": np.array("x")}, Schema([ColSpec("string", "a")]))
    assert one.valid_mask.tolist() == [True]
    grid = enforce(
        {"a": np.array([[1, 2], [3, 4]])}, Schema([ColSpec("long", "a")]), on_schema_mismatch="quarantine"
    )
    assert grid.valid_mask.tolist() == [False, False]
    assert isinstance(_mlflow({"a": np.array([[1, 2], [3, 4]])}, Schema([ColSpec("long", "a")])), Exception)


def test_records_with_keys_0_and_text_0_are_judged_row_by_row():
    """Keys 0 and "0" in one batch are two columns (as pandas makes them); a signature that names
    neither judges each record alone, as MLflow does."""
    records = [{"a": 1, 0: "x"}, {"a": 2, "0": "y"}]
    schema = Schema([ColSpec("long", "a")])
    result = enforce(records, schema)
    assert result.valid_mask.tolist() == [True, True]
    assert result.to_pandas().to_dict("list") == {"a": [1, 2]}
    assert [_mlflow([r], schema).to_dict("list") for r in records] == [{"a": [1]}, {"a": [2]}]
    bound = enforce(records, Schema([ColSpec("string", 0, required=False)]))
    assert bound.valid_mask.tolist() == [True, True]
    column = bound.to_pandas()[0]
    assert (column[0], column.isna().tolist()) == ("x", [False, True])
