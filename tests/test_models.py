"""Model adapters and score_batch: MLflow and plain-Python models, params, failures, outputs."""

from __future__ import annotations

import json
import sys

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import sigbatch
from sigbatch import ColSpec, ModelSignature, ParamSchema, ParamSpec, Schema, score_batch
from sigbatch.models import load_model


@pytest.fixture(scope="module")
def mlflow_model(tmp_path_factory):
    """An MLflow pyfunc model saved with a signature and a `scale` param; it records what it receives."""
    import mlflow.pyfunc
    from mlflow.models.signature import ModelSignature as MlflowSignature

    class Scaler(mlflow.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):
            return pd.Series(model_input["x"] * (params or {}).get("scale", 1.0), name="y")

    sig = ModelSignature(
        Schema([ColSpec("double", "x"), ColSpec(sigbatch.Array("string"), "tags", required=False)]),
        Schema([ColSpec("double", "y")]),
        ParamSchema([ParamSpec("scale", "double", 2.0)]),
    )
    path = tmp_path_factory.mktemp("mlflow") / "scaler"
    mlflow.pyfunc.save_model(
        str(path), python_model=Scaler(), signature=MlflowSignature.from_dict(sig.to_dict())
    )
    return str(path), sig


def test_mlflow_model_directory_scores_with_its_signature_and_params(mlflow_model):
    """A local MLflow model loads with its own signature; params default and validate as MLflow's."""
    path, sig = mlflow_model
    model = load_model(path)
    assert model.signature == sig
    assert load_model(path) is model  # loaded once per process
    rows = [{"x": 1.5, "tags": ["a"]}, {"x": "no"}, {"x": 2.0}]
    result = score_batch(rows, path)
    assert result.scored.column("y").to_pylist() == [3.0, 4.0]
    assert result.scored.column("x").to_pylist() == [1.5, 2.0]
    assert result.quarantine.column("_sigbatch_row").to_pylist() == [1]
    assert score_batch(rows, path, params={"scale": 10}).scored.column("y").to_pylist() == [15.0, 20.0]
    with pytest.raises(sigbatch.SignatureError, match="Invalid parameters found"):
        score_batch(rows, path, params={"scale": "big"})


def test_a_series_named_after_an_input_column_does_not_replace_it():
    """`df["x"] * 2` is a Series named "x": the scored rows keep the source x and add `prediction`."""
    sig = ModelSignature(Schema([ColSpec("double", "x")]))
    result = score_batch([{"x": 1.0}, {"x": "a"}, {"x": 3.0}], lambda df: df["x"] * 2, sig)
    assert result.scored.to_pylist() == [{"x": 1.0, "prediction": 2.0}, {"x": 3.0, "prediction": 6.0}]
    assert result.quarantine.num_rows == 1


def test_a_series_named_after_an_input_that_is_a_declared_output_keeps_its_name():
    """A Series named like an input column keeps that name when the signature declares it an output."""
    sig = ModelSignature(
        Schema([ColSpec("double", "x")]),
        Schema([ColSpec("double", "score", required=False), ColSpec("double", "x")]),
    )
    result = score_batch([{"x": 1.0}, {"x": 2.0}], lambda df: df["x"].clip(0, 1.5), sig)
    assert result.quarantine.num_rows == 0
    assert result.scored.column("x").to_pylist() == [1.0, 1.5]


def test_a_required_float_output_keeps_its_nan():
    """NaN passes the check of a required double output (a float value, as in MLflow) and is written
    as NaN, never as a null the required column must not hold."""
    from sigbatch.models import score_combined

    sig = ModelSignature(Schema([ColSpec("double", "x")]), Schema([ColSpec("double", "score")]))

    def model(df):
        return pd.DataFrame({"score": np.where(df["x"] > 1, np.nan, df["x"])})

    table = pa.table({"x": [1.0, 2.0, 0.5]})
    scored = score_batch(table, model, sig).scored.column("score")
    combined = score_combined(table, model, sig).column("_sigbatch_pred_score")
    for column in (scored, combined):
        assert column.null_count == 0
        assert np.isnan(column.to_numpy()).tolist() == [False, True, False]


def test_a_nan_output_stays_nan_when_another_row_of_the_batch_has_a_bad_output():
    """A row's NaN prediction does not depend on its neighbours: a refused output elsewhere in the
    batch (the column then holds text and floats) leaves it NaN, not null."""
    sig = ModelSignature(Schema([ColSpec("string", "s")]), Schema([ColSpec("double", "prediction")]))

    def model(df):
        out = {"nan": np.float32("nan"), "bad": "oops", "half": float("nan")}
        return pd.DataFrame({"prediction": [out.get(s, 1.0) for s in df["s"]]})

    result = score_batch(pa.table({"s": ["nan", "ok", "bad", "half"]}), model, sig)
    column = result.scored.column("prediction")
    assert result.scored.column("s").to_pylist() == ["nan", "ok", "half"]
    assert column.null_count == 0
    assert np.isnan(column.to_numpy()).tolist() == [True, False, True]
    assert [[e["code"] for e in r["_sigbatch_errors"]] for r in result.quarantine.to_pylist()] == [
        ["OUTPUT_MISMATCH"]
    ]


def test_model_errors_are_isolated_by_bisection():
    """A model that raises for some rows quarantines exactly those rows with MODEL_ERROR; the rest score."""
    calls = []

    def fragile(frame):
        calls.append(len(frame))
        if (frame["x"] < 0).any():
            raise ValueError("negative input")
        return (frame["x"] * 2).rename("doubled")

    sig = ModelSignature(Schema([ColSpec("double", "x")]))
    table = pa.table({"x": [1.0, -1.0, 2.0, 3.0, -5.0, 4.0, 5.0, 6.0]})
    result = score_batch(table, fragile, sig)
    assert result.scored.column("x").to_pylist() == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    assert result.scored.column("doubled").to_pylist() == [2.0, 4.0, 6.0, 8.0, 10.0, 12.0]
    q = result.quarantine.to_pylist()
    assert [(r["_sigbatch_row"], r["_sigbatch_stage"]) for r in q] == [(1, "model"), (4, "model")]
    assert [e["code"] for r in q for e in r["_sigbatch_errors"]] == ["MODEL_ERROR", "MODEL_ERROR"]
    assert q[0]["_sigbatch_errors"][0]["message"] == "ValueError: negative input"
    assert len(calls) < 2 * len(table)  # bisection, not one call per row


def test_outputs_are_checked_per_row():
    """Predictions that violate the output schema are quarantined at stage 'output'."""
    sig = ModelSignature(Schema([ColSpec("double", "x")]), Schema([ColSpec("long", "n")]))

    def model(frame):
        return pd.DataFrame({"n": [1 if x > 0 else None for x in frame["x"]]}, dtype=object)

    result = score_batch([{"x": 1.0}, {"x": -1.0}], model, sig)
    assert result.scored.column("n").to_pylist() == [1]
    q = result.quarantine.to_pylist()
    assert q[0]["_sigbatch_stage"] == "output" and q[0]["_sigbatch_errors"][0]["code"] == "OUTPUT_MISMATCH"


def test_python_uri_errors_are_clear():
    """Bad python: URIs and models without a signature give errors that say what is wrong."""
    with pytest.raises(sigbatch.SignatureError, match=r"expected 'python:package\.module:attr'"):
        load_model("python:nocolon")
    with pytest.raises(sigbatch.SignatureError, match="cannot import module 'no_such_module_xyz'"):
        load_model("python:no_such_module_xyz:f")
    with pytest.raises(sigbatch.SignatureError, match="has no attribute 'nope'"):
        load_model("python:sigbatch.examples.models:nope")
    with pytest.raises(sigbatch.SignatureError, match="has no input signature; pass signature="):
        score_batch([{"x": 1}], "python:sigbatch.examples.models:identity")


def test_models_that_cannot_load_are_named(tmp_path, monkeypatch):
    """A module that raises on import, a class that cannot be created, or a directory MLflow cannot
    load: a ModelLoadError naming the URI and the cause, never the model's own traceback."""
    (tmp_path / "sb_broken_module.py").write_text('raise RuntimeError("weights file corrupt")\n')
    (tmp_path / "sb_class_models.py").write_text(
        "import pandas as pd\n"
        "class Scorer:\n"
        "    def __init__(self):\n"
        "        self.k = 2.0\n"
        "    def predict(self, df):\n"
        "        return pd.Series([self.k] * len(df), name='score')\n"
        "class Called:\n"
        "    def __init__(self):\n"
        "        self.k = 3.0\n"
        "    def __call__(self, df):\n"
        "        return pd.Series([self.k] * len(df), name='score')\n"
        "class NeedsArgs:\n"
        "    def __init__(self, path):\n"
        "        self.path = path\n"
        "    def predict(self, df):\n"
        "        return df\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(
        sigbatch.ModelLoadError,
        match=r"model URI 'python:sb_broken_module:f': cannot import module 'sb_broken_module' "
        r"\(RuntimeError: weights file corrupt\)",
    ):
        load_model("python:sb_broken_module:f")
    with pytest.raises(
        sigbatch.ModelLoadError, match=r"cannot create an instance of class NeedsArgs\(\) \(TypeError: "
    ):
        load_model("python:sb_class_models:NeedsArgs")
    # a class with predict() is instantiated once, then its predict() scores
    sig = ModelSignature(Schema([ColSpec("long", "x")]), Schema([ColSpec("double", "score")]))
    result = score_batch([{"x": 1}, {"x": 2}], "python:sb_class_models:Scorer", sig)
    assert result.scored.column("score").to_pylist() == [2.0, 2.0] and result.quarantine.num_rows == 0
    # a class without predict() whose instances are callable
    result = score_batch([{"x": 1}], "python:sb_class_models:Called", sig)
    assert result.scored.column("score").to_pylist() == [3.0] and result.quarantine.num_rows == 0
    (tmp_path / "not_a_model").mkdir()
    with pytest.raises(sigbatch.ModelLoadError, match=r"model URI '.*not_a_model': MLflow cannot load it \("):
        load_model(str(tmp_path / "not_a_model"))


def test_batch_input_mistakes_are_named(tmp_path):
    """Duplicate column names are refused by name; a signature may be given as a file's path, and
    anything else that is not a signature is refused."""
    sig = ModelSignature(Schema([ColSpec("long", "id"), ColSpec("double", "x")]))

    def double(df):
        return df["x"] * 2

    frame = pd.DataFrame([[1, 2.0, 3.0]], columns=["id", "x", "x"])
    with pytest.raises(
        sigbatch.SchemaMismatchError, match=r"more than one column named 'x'; column names must be unique"
    ):
        score_batch(frame, double, sig)
    table = pa.Table.from_arrays([pa.array([1]), pa.array([1.0]), pa.array([2.0])], names=["id", "x", "x"])
    with pytest.raises(sigbatch.SchemaMismatchError, match=r"more than one column named 'x'"):
        score_batch(table, double, sig)
    path = tmp_path / "sig.json"
    path.write_text(json.dumps(sig.to_dict()))
    for given in (str(path), path):
        result = score_batch(pd.DataFrame({"id": [1], "x": [1.5]}), double, given)
        assert result.scored.column("prediction").to_pylist() == [3.0]
    with pytest.raises(
        sigbatch.SignatureTypeError,
        match="signature must be a ModelSignature or the path of a signature file, got dict",
    ):
        score_batch(pd.DataFrame({"id": [1], "x": [1.5]}), double, sig.to_dict())


def test_source_columns_named_as_sigbatch_columns_are_refused():
    """A source with a column sigbatch writes itself (an earlier run's quarantine, say) is refused by
    name, in preflight (so on the driver, whatever on_schema_mismatch says) and per batch."""
    sig = ModelSignature(Schema([ColSpec("long", "id")]))
    message = (
        r"the source has columns named as sigbatch's own: '_sigbatch_errors', '_sigbatch_pred_score'; "
        r"rename or drop them \(to score an earlier run's quarantined rows again, use `sigbatch replay`\)"
    )
    frame = pd.DataFrame(
        {"id": [1], "_sigbatch_errors": ["x"], "_sigbatch_pred_score": [0.5], "_sigbatch_file": ["f"]}
    )
    with pytest.raises(sigbatch.SchemaMismatchError, match=message):
        score_batch(frame, lambda df: df["id"], sig)
    with pytest.raises(sigbatch.SchemaMismatchError, match=message):
        sigbatch.preflight(pa.Schema.from_pandas(frame, preserve_index=False), sig)
    # the file identity column is not one of them: it is data like any other here
    assert score_batch(frame[["id", "_sigbatch_file"]], lambda df: df["id"], sig).scored.num_rows == 1


def test_records_the_reader_could_not_parse_are_parse_errors():
    """A row whose reader kept its raw text in _corrupt_record (its columns are null) is
    quarantined with one PARSE_ERROR, not with the reasons its nulls would give; the others score."""
    sig = ModelSignature(Schema([ColSpec("long", "id"), ColSpec("string", "name")]))
    table = pa.table(
        {
            "id": pa.array([1, None, 3], pa.int64()),
            "name": ["a", None, "c"],
            "_corrupt_record": [None, '{"id": 2, "name": ', None],
        }
    )
    result = score_batch(table, lambda df: df["id"] * 10, sig)
    assert result.scored.column_names == ["id", "name", "prediction"]  # _corrupt_record: quarantine only
    assert result.scored.column("id").to_pylist() == [1, 3]
    assert result.scored.column("prediction").to_pylist() == [10, 30]
    (bad,) = result.quarantine.to_pylist()
    assert (bad["_sigbatch_row"], bad["_sigbatch_stage"], bad["_corrupt_record"]) == (
        1,
        "input",
        '{"id": 2, "name": ',
    )
    assert bad["_sigbatch_errors"] == [
        {
            "path": "",
            "code": "PARSE_ERROR",
            "expected": "a record the reader can parse",
            "actual": """str '{"id": 2, "name": '""",
            "message": "the source record could not be parsed; its raw text is in _corrupt_record",
        }
    ]


def test_records_with_a_corrupt_record_key_are_parse_errors():
    """The same rows as records (how replay hands rows back) give the same PARSE_ERROR."""
    sig = ModelSignature(Schema([ColSpec("long", "id", required=False)]))
    result = score_batch([{"id": 1}, {"_corrupt_record": "{bad"}, {"id": 3}], lambda df: df["id"], sig)
    assert result.scored.column("id").to_pylist() == [1, 3]
    (bad,) = result.quarantine.to_pylist()
    assert (bad["_sigbatch_row"], [e["code"] for e in bad["_sigbatch_errors"]]) == (1, ["PARSE_ERROR"])


def test_missing_mlflow_gives_an_install_hint(monkeypatch, tmp_path):
    """Loading an MLflow model without MLflow installed says which extra to install."""
    monkeypatch.setitem(sys.modules, "mlflow", None)
    monkeypatch.setitem(sys.modules, "mlflow.pyfunc", None)
    with pytest.raises(sigbatch.DependencyError, match=r"pip install 'sigbatch\[mlflow\]'"):
        load_model(str(tmp_path))


def test_rows_in_equal_scored_plus_quarantined_on_any_data():
    """Whatever the rows hold, score_batch accounts for every one of them."""
    sig = ModelSignature(
        Schema([ColSpec("long", "n"), ColSpec(sigbatch.Array("double"), "v", required=False)])
    )
    rows = [{"n": 1, "v": [1.0]}, {"n": "x"}, {"v": "oops"}, [1, 2], {"n": np.int32(3), "v": None}, {}]
    result = score_batch(rows, lambda df: df["n"] * 1.0, sig)
    assert result.scored.num_rows + result.quarantine.num_rows == len(rows)
    assert result.scored.column("n").to_pylist() == [1, 3]


def test_a_model_output_that_does_not_match_its_input_is_not_bisected():
    """A wrong row count (or kind) is the model's answer for the whole call: every row of it is an
    OUTPUT_MISMATCH, the model is called once, and no row is scored with a value meant for none."""
    calls = []

    def constant(frame):
        calls.append(len(frame))
        return [0.5]

    sig = ModelSignature(Schema([ColSpec("double", "x")]))
    result = score_batch(pd.DataFrame({"x": np.arange(64.0)}), constant, sig)
    assert (result.scored.num_rows, result.quarantine.num_rows, calls) == (0, 64, [64])
    assert result.quarantine.column("_sigbatch_errors")[5].as_py() == [
        {
            "path": "",
            "code": "OUTPUT_MISMATCH",
            "expected": "one prediction per input row",
            "actual": "unmatched output",
            "message": "the model returned 1 row for 64 input rows",
        }
    ]
    assert set(result.quarantine.column("_sigbatch_stage").to_pylist()) == {"output"}
    nothing = score_batch(pd.DataFrame({"x": [1.0, 2.0]}), lambda frame: None, sig)
    assert [e[0]["message"] for e in nothing.quarantine.column("_sigbatch_errors").to_pylist()] == [
        "the model returned NoneType; expected a DataFrame, Series, array or list"
    ] * 2


def test_score_batch_keeps_the_declared_outputs_as_the_engines_do():
    """With named outputs in the signature, score_batch's scored rows have exactly those columns,
    in their declared types, whether or not any row was scored (as the Dask and Spark jobs write)."""
    sig = ModelSignature(Schema([ColSpec("double", "x")]), Schema([ColSpec("double", "y")]))
    frame = pd.DataFrame({"x": [1.0, 2.0]})
    extra = score_batch(frame, lambda f: pd.DataFrame({"y": f["x"] * 2, "z": f["x"]}), sig)
    assert extra.scored.to_pydict() == {"x": [1.0, 2.0], "y": [2.0, 4.0]}

    def always_raises(f):
        raise RuntimeError("down")

    none = score_batch(frame, always_raises, sig)
    assert none.scored.schema == pa.schema([("x", pa.float64()), ("y", pa.float64())])
    assert none.quarantine.num_rows == 2


def test_load_model_says_when_a_path_is_missing_or_a_file(tmp_path):
    """A local path that does not exist, or that is a file (an MLmodel), gets a message saying so."""
    with pytest.raises(sigbatch.SignatureError) as err:
        load_model(str(tmp_path / "nope"))
    assert str(err.value) == (
        f"model {str(tmp_path / 'nope')!r}: no such directory (a local MLflow model is a directory with an "
        "MLmodel file)"
    )
    mlmodel = tmp_path / "MLmodel"
    mlmodel.write_text("flavors: {}\n")
    with pytest.raises(sigbatch.SignatureError) as err:
        load_model(str(mlmodel))
    assert (
        str(err.value)
        == f"model {str(mlmodel)!r} is a file; give the MLflow model directory that holds the MLmodel file"
    )


def test_unknown_keep_columns_fail_before_the_model_runs():
    """An unknown keep_columns entry is a ConfigError naming it, raised before the model is called
    (as the Dask and Spark engines raise it)."""
    calls = []

    def model(frame):
        calls.append(len(frame))
        return frame["x"]

    sig = ModelSignature(Schema([ColSpec("double", "x")]))
    with pytest.raises(sigbatch.ConfigError) as err:
        score_batch(pd.DataFrame({"x": [1.0], "id": [7]}), model, sig, keep_columns=["id", "nope"])
    assert str(err.value) == "keep_columns: ['nope'] not in the source columns ['x', 'id']"
    with pytest.raises(sigbatch.ConfigError) as err:
        score_batch(pd.DataFrame({"x": [1.0], "id": [7]}), model, sig, keep_columns="id")
    assert str(err.value) == "keep_columns must be a list of column names, got str 'id'"
    assert calls == []


def test_a_prediction_named_like_a_source_column_takes_its_place():
    """As withColumn: the prediction replaces the source column of its name where it stands."""
    sig = ModelSignature(Schema([ColSpec("double", "x")]), Schema([ColSpec("double", "score")]))
    table = pa.table({"score": ["old", "old"], "x": [1.0, 2.0], "z": [0, 0]})
    result = score_batch(table, lambda df: pd.DataFrame({"score": df["x"] * 2}), sig)
    assert result.scored.to_pylist() == [{"score": 2.0, "x": 1.0, "z": 0}, {"score": 4.0, "x": 2.0, "z": 0}]


def test_an_output_with_a_required_property_and_a_row_not_scored():
    """The seed's own signature as outputs (c.d required): a row that is not scored holds a null
    prediction in the engines' combined stream, which used to fail the whole batch."""
    from sigbatch.models import score_combined

    sig = sigbatch.load_signature("examples/seed_signature.json")
    table = pa.table(
        {
            "a": pa.array([["x"], None], pa.list_(pa.string())),
            "b": ["b", "c"],
            "c": pa.array(
                [{"d": "d1", "e": None}, {"d": "x", "e": None}],
                pa.struct([("d", pa.string()), ("e", pa.string())]),
            ),
        }
    )
    combined = score_combined(table, "python:sigbatch.examples.models:identity", sig)
    assert combined.column("_sigbatch_kind").to_pylist() == ["scored", "quarantined"]
    assert combined.column("_sigbatch_pred_c").to_pylist() == [{"d": "d1", "e": None}, None]


def test_a_model_that_calls_sys_exit_is_one_error():
    """sys.exit in a model is not a row's fault and must not end a job without a word: JobError."""
    sig = ModelSignature(Schema([ColSpec("double", "x")]), Schema([ColSpec("double", "score")]))

    def leaves(df):
        sys.exit(3)

    with pytest.raises(sigbatch.errors.JobError, match=r"^the model called sys.exit\(3\) while predicting"):
        score_batch(pa.table({"x": [1.0]}), leaves, sig)

    class Stop(BaseException):
        pass

    def stops(df):
        raise Stop("halt")

    with pytest.raises(sigbatch.errors.JobError) as info:
        score_batch(pa.table({"x": [1.0]}), stops, sig)
    assert str(info.value) == (
        "the model raised Stop('halt') while predicting, which is not an Exception; "
        "a model returns predictions or raises an Exception"
    )


def test_a_0d_array_or_duplicate_output_columns_are_output_mismatches():
    """Outputs that cannot be matched to rows are quarantined as OUTPUT_MISMATCH (they raised
    TypeError and pyarrow's ValueError)."""
    sig = ModelSignature(Schema([ColSpec("double", "x")]))
    cases = [
        (
            lambda df: np.array(1.0),
            "the model returned a 0-d array; expected a DataFrame, Series, array or list",
        ),
        (
            lambda df: pd.DataFrame([[1, 2]] * len(df), columns=["p", "p"]),
            "the model returned more than one column named 'p'",
        ),
    ]
    for model, message in cases:
        result = score_batch([{"x": 1.0}, {"x": 2.0}], model, sig)
        assert result.scored.num_rows == 0
        reasons = result.quarantine.column("_sigbatch_errors").to_pylist()
        assert [(r[0]["code"], r[0]["message"]) for r in reasons] == [("OUTPUT_MISMATCH", message)] * 2


def test_lists_of_narrow_numbers_read_from_parquet_score_with_the_signature_inferred_from_them(tmp_path):
    """list<int32> and list<float32> (in a column, a list of lists, or a struct) are inferred as
    Array(integer) and Array(float), as MLflow infers them from the frame pandas reads; scoring the
    same Parquet accepts every row (each list was judged as Python ints and refused), and the model
    gets MLflow's values: numpy arrays of the signature's dtype for a column's lists."""
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "i": pa.array([[1, 2], [3]], pa.list_(pa.int32())),
            "f": pa.array([[1.5], []], pa.list_(pa.float32())),
            "ll": pa.array([[[1]], [[2, 3]]], pa.list_(pa.list_(pa.int32()))),
            "o": pa.array([{"l": [4]}, {"l": [5, 6]}], pa.struct([("l", pa.list_(pa.int32()))])),
        }
    )
    pq.write_table(table, tmp_path / "t.parquet")
    read = pq.read_table(tmp_path / "t.parquet")
    schema = sigbatch.infer_schema(read)
    assert repr(schema) == (
        "['i': Array(integer) (required), 'f': Array(float) (required), "
        "'ll': Array(Array(integer)) (required), 'o': {l: Array(integer) (required)} (required)]"
    )
    from mlflow.models import infer_signature as mlflow_infer

    assert repr(mlflow_infer(read.to_pandas()).inputs) == repr(schema)
    seen = {}

    def model(frame):
        seen.update({c: list(frame[c]) for c in frame.columns})
        return pd.Series([1.0] * len(frame), name="p")

    result = score_batch(read, model, ModelSignature(schema))
    assert (result.scored.num_rows, result.quarantine.num_rows) == (2, 0)
    assert [(v.dtype, v.tolist()) for v in seen["i"]] == [(np.int32, [1, 2]), (np.int32, [3])]
    assert [(v.dtype, v.tolist()) for v in seen["f"]] == [(np.float32, [1.5]), (np.float32, [])]
    assert [list(map(list, v)) for v in seen["ll"]] == [[[1]], [[2, 3]]]
    assert [{k: list(v) for k, v in d.items()} for d in seen["o"]] == [{"l": [4]}, {"l": [5, 6]}]
    # a list with a null is a float64 array to pandas: refused for integer, as MLflow refuses it
    gappy = pa.table({"i": pa.array([[1, None]], pa.list_(pa.int32()))})
    result = score_batch(gappy, model, ModelSignature(Schema([ColSpec(sigbatch.Array("integer"), "i")])))
    assert result.quarantine.column("_sigbatch_errors").to_pylist()[0][0]["code"] == "UNSAFE_CAST"


def test_a_model_taking_params_by_keyword_gets_them():
    """``def f(df, *, params=None)`` and ``def f(df, **kw)`` get the params by keyword; they were
    passed positionally, so every row was quarantined as MODEL_ERROR."""
    sig = ModelSignature(Schema([ColSpec("double", "x")]), params=ParamSchema([ParamSpec("k", "long", 1)]))

    def keyword_only(df, *, params=None):
        return [params["k"]] * len(df)

    def var_keyword(df, **kw):
        return [kw["params"]["k"] * 10] * len(df)

    def named_after_another(df, threshold=0.5, *, params=None):
        return [params["k"] + threshold] * len(df)

    def named_positional(df, threshold=0.5, params=None):
        return [params["k"] - threshold] * len(df)

    def second_positional(df, p):
        return [p["k"] * 100] * len(df)

    rows = [{"x": 1.0}, {"x": 2.0}]
    cases = (
        (keyword_only, [2, 2]),
        (var_keyword, [20, 20]),
        (named_after_another, [2.5, 2.5]),
        (named_positional, [1.5, 1.5]),
        (second_positional, [200, 200]),
    )
    for model, expected in cases:
        result = score_batch(rows, model, sig, params={"k": 2})
        assert result.quarantine.num_rows == 0
        assert result.scored.column("prediction").to_pylist() == expected


def test_an_optional_long_column_with_a_null_and_a_large_id_reaches_the_model_as_floats():
    """Integers with a null reach the model as float64 (as pandas holds them, and as MLflow hands
    them); an id beyond 2**53 rounds as in pandas instead of stopping the batch."""
    seen = []
    sig = ModelSignature(Schema([ColSpec("long", "id", required=False)]))
    result = score_batch(
        [{"id": None}, {"id": 2**53 + 1}], lambda df: seen.append(df["id"]) or [0] * len(df), sig
    )
    assert (result.scored.num_rows, result.quarantine.num_rows) == (2, 0)
    assert str(seen[0].dtype) == "float64"
    assert np.isnan(seen[0].iloc[0]) and seen[0].iloc[1] == float(2**53)


def test_output_mismatch_messages_speak_of_the_models_output():
    """A declared output the model does not return is absent from its output (not 'from the
    source'), and no profile is suggested for an output (none converts outputs)."""
    sig = ModelSignature(
        Schema([ColSpec("double", "x")]), Schema([ColSpec("double", "score"), ColSpec("double", "other")])
    )
    models = [
        (
            lambda d: pd.DataFrame({"score": [1.0] * len(d)}),
            "MISSING_REQUIRED: required column 'other' is absent from the model's output",
        ),
        (
            lambda d: pd.DataFrame({"score": ["x"] * len(d), "other": [1.0] * len(d)}),
            "TYPE_MISMATCH: type large_string can not be safely converted to double",
        ),
    ]
    for model, message in models:
        reasons = score_batch([{"x": 1.0}], model, sig).quarantine.column("_sigbatch_errors").to_pylist()
        assert [(r["code"], r["message"]) for r in reasons[0]] == [("OUTPUT_MISMATCH", message)]
