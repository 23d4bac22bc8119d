"""Differential tests: ``sigbatch.enforce`` row verdicts and values against MLflow's own enforcement.

The contract (profile "mlflow"): a row is quarantined exactly when MLflow's ``_enforce_schema``
refuses a batch made of that row alone, and a valid row reaches the model with the values MLflow
returns for it. The oracle is MLflow 3.17.2 itself. Documented differences are tolerated only in
the form the docs give them (a null in an optional column; whole-column problems found by
preflight; a row of a list of records that is not a dict is quarantined; a null struct field
that the signature's Object does not define is an absent key). The hypothesis tests assert the
full contract; each disagreement they found is fixed and pinned by a minimal case below.
"""

from __future__ import annotations

import copy
import datetime as dt
import decimal
import logging
import math
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mlflow.exceptions import MlflowException
from mlflow.models.utils import _enforce_schema
from mlflow.types.schema import Schema as MlflowSchema

from sigbatch import Array, ColSpec, DataType, Map, Object, Property, Schema, enforce, preflight
from sigbatch.errors import EnforcementError, SchemaMismatchError

pytestmark = pytest.mark.mlflow

# MLflow logs a warning for every extra column; the differential runs produce thousands.
logging.getLogger("mlflow.models.utils").setLevel(logging.ERROR)

SCALARS = list(DataType)


# ---------------------------------------------------------------------------------------------
# The oracle
# ---------------------------------------------------------------------------------------------


def mlflow_schema(schema: Schema) -> MlflowSchema:
    """MLflow's own Schema for one of ours, through the shared JSON form."""
    return MlflowSchema.from_json(schema.to_json())


def mlflow_verdict(data: Any, schema: Schema) -> tuple[bool, Any]:
    """(accepted, enforced frame or the exception) of MLflow's ``_enforce_schema`` on ``data``."""
    try:
        return True, _enforce_schema(copy.deepcopy(data), mlflow_schema(schema))
    except Exception as exc:  # any exception is MLflow refusing the batch
        return False, exc


_NAN = "<NaN>"
_NAT = "<NaT>"


def normalise(value: Any) -> Any:
    """Plain Python for comparing values: arrays -> lists, numpy scalars -> Python, NaN/NaT tagged."""
    if isinstance(value, np.ndarray):
        return [normalise(v) for v in value.tolist()]
    if isinstance(value, (list, tuple)):
        return [normalise(v) for v in value]
    if isinstance(value, dict):
        return {k: normalise(v) for k, v in value.items()}
    if value is pd.NaT or (isinstance(value, np.datetime64) and np.isnat(value)):
        return _NAT
    if isinstance(value, np.datetime64):
        return pd.Timestamp(value).to_pydatetime()
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return _NAN
    return value


def model_row(frame: pd.DataFrame, j: int) -> dict[str, Any]:
    """Row ``j`` of a frame handed to a model, normalised."""
    return {str(c): normalise(frame[c].iloc[j]) for c in frame.columns}


def _is_null(value: Any) -> bool:
    return value is None or (isinstance(value, (float, np.floating)) and bool(np.isnan(value)))


def null_in_optional_explains(one_row: Any, schema: Schema) -> bool:
    """The documented difference: MLflow accepts the one-row batch once its optional-column nulls go.

    ``one_row`` is a list of one dict or a one-row DataFrame; a null is None, NaN or NaT.
    """
    optional = {s.name for s in schema.inputs if not s.required}
    if isinstance(one_row, pd.DataFrame):
        nulls = [c for c in one_row.columns if c in optional and pd.isna(one_row[c].iloc[0]) is True]
        return bool(nulls) and mlflow_verdict(one_row.drop(columns=nulls), schema)[0]
    row = one_row[0]
    if not isinstance(row, dict):
        return False
    nulls = [k for k, v in row.items() if k in optional and (_is_null(v) or v is pd.NaT)]
    return bool(nulls) and mlflow_verdict([{k: v for k, v in row.items() if k not in nulls}], schema)[0]


# ---------------------------------------------------------------------------------------------
# Strategies: signatures, and records whose values are sometimes right, sometimes wrong
# ---------------------------------------------------------------------------------------------

JUNK = [
    "x", "1", "", 0, 1, 7, -3, 2**40, 2**63 + 5, 1.5, 2.0, 0.0, float("nan"), float("inf"), True, False, None,
    np.int8(1), np.int32(3), np.int64(5), np.uint64(1), np.float32(1.5), np.float64(2.0), np.float64("nan"),
    np.bool_(True), np.str_("s"), b"ab", dt.datetime(2020, 1, 2, 3, 4, 5), dt.date(2021, 5, 6),
    [], [1], ["a"], [None], {}, {"p": 1}, {"q": "v"},
]  # fmt: skip


def junk() -> st.SearchStrategy[Any]:
    """A value of any of the usual Python / numpy kinds (fresh copies: MLflow edits dicts in place)."""
    return st.sampled_from(range(len(JUNK))).map(lambda i: copy.deepcopy(JUNK[i]))


_INT32 = st.integers(-(2**31), 2**31 - 1)
_GOOD_SCALARS: dict[DataType, st.SearchStrategy[Any]] = {
    DataType.boolean: st.one_of(st.booleans(), st.booleans().map(np.bool_)),
    DataType.integer: st.one_of(_INT32, _INT32.map(np.int32), st.sampled_from([0, 1])),
    DataType.long: st.one_of(st.integers(-(2**63), 2**63 - 1), st.integers(-5, 5).map(np.int64)),
    DataType.float: st.one_of(
        st.floats(width=32, allow_nan=False), st.floats(width=32).map(np.float32), st.sampled_from([0, 1])
    ),
    DataType.double: st.one_of(st.floats(), st.floats().map(np.float64), st.sampled_from([0, 1])),
    DataType.string: st.text(max_size=4),
    DataType.binary: st.binary(max_size=4),
    DataType.datetime: st.datetimes(min_value=dt.datetime(1700, 1, 1), max_value=dt.datetime(2200, 1, 1)),
}

_PROP_NAMES = "pqr"
_COL_NAMES = "abcd"


def objects() -> st.SearchStrategy[Object]:
    """Objects of 1-3 scalar properties, each required or optional."""
    props = st.lists(
        st.tuples(st.sampled_from(_PROP_NAMES), st.sampled_from(SCALARS), st.booleans()),
        min_size=1,
        max_size=3,
        unique_by=lambda p: p[0],
    )
    return props.map(lambda ps: Object([Property(n, t, required=r) for n, t, r in ps]))


def column_types() -> st.SearchStrategy[Any]:
    """Scalars, Array of scalar, Array of Object, Object, Map of scalar."""
    return st.one_of(
        st.sampled_from(SCALARS),
        st.builds(Array, st.sampled_from(SCALARS)),
        st.builds(Array, objects()),
        objects(),
        st.builds(Map, st.sampled_from(SCALARS)),
    )


def schemas() -> st.SearchStrategy[Schema]:
    """Named ColSpec schemas of 1-3 columns, each required or optional."""
    cols = st.lists(
        st.tuples(st.sampled_from(_COL_NAMES), column_types(), st.booleans()),
        min_size=1,
        max_size=3,
        unique_by=lambda c: c[0],
    )
    return cols.map(lambda cs: Schema([ColSpec(t, n, required=r) for n, t, r in cs]))


def values_of(t: Any) -> st.SearchStrategy[Any]:
    """A value for type ``t``: usually of the right shape, often with wrong parts."""
    if isinstance(t, DataType):
        return st.one_of(_GOOD_SCALARS[t], _GOOD_SCALARS[t], junk())
    if isinstance(t, Array):
        items = st.lists(values_of(t.dtype), max_size=3)
        arrays = (
            st.lists(_GOOD_SCALARS[t.dtype], min_size=1, max_size=3).map(np.array)
            if isinstance(t.dtype, DataType)
            else st.nothing()
        )
        return st.one_of(items, items, arrays, junk())
    if isinstance(t, Object):
        return st.one_of(_object_values(t), _object_values(t), junk())
    if isinstance(t, Map):
        good = st.dictionaries(st.text(alphabet="kl", max_size=2), values_of(t.value_type), max_size=3)
        bad_keys = st.dictionaries(
            st.sampled_from([1, None, b"k"]), values_of(t.value_type), min_size=1, max_size=2
        )
        return st.one_of(good, good, bad_keys, junk())
    raise AssertionError(t)


@st.composite
def _object_values(draw: st.DrawFn, t: Object) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for prop in t.properties:
        if draw(st.integers(0, 5)) > 0:  # sometimes the key is missing
            out[prop.name] = draw(values_of(prop.dtype))
    if draw(st.integers(0, 6)) == 0:
        out["z"] = draw(junk())  # an extra key
    return out


@st.composite
def records(draw: st.DrawFn, schema: Schema) -> dict[str, Any]:
    """One record: each column's key present most of the time, sometimes an extra key."""
    row: dict[str, Any] = {}
    for spec in schema.inputs:
        if draw(st.integers(0, 7)) > 0:
            row[spec.name] = draw(values_of(spec.type))
    if draw(st.integers(0, 7)) == 0:
        row["extra"] = draw(junk())
    return row


@st.composite
def schema_and_records(draw: st.DrawFn) -> tuple[Schema, list[Any]]:
    """A schema and a batch of 1-4 records (rarely a row that is not a dict at all)."""
    schema = draw(schemas())
    rows = draw(
        st.lists(st.one_of(records(schema), records(schema), records(schema), junk()), min_size=1, max_size=4)
    )
    return schema, rows


# ---------------------------------------------------------------------------------------------
# Comparing one batch, row by row
# ---------------------------------------------------------------------------------------------


def _same(ours: Any, theirs: Any) -> bool:
    """Equal after normalisation (bool never equals 1); an int MLflow keeps may be float64 in our frame."""
    if isinstance(ours, bool) != isinstance(theirs, bool):
        return False
    if isinstance(ours, list) and isinstance(theirs, list):
        return len(ours) == len(theirs) and all(_same(a, b) for a, b in zip(ours, theirs, strict=True))
    if isinstance(ours, dict) and isinstance(theirs, dict):
        return ours.keys() == theirs.keys() and all(_same(ours[k], theirs[k]) for k in ours)
    if ours == theirs:
        return True
    return isinstance(ours, float) and isinstance(theirs, int) and ours == theirs


def compare_rows(result: Any, one_row_inputs: list[Any], schema: Schema) -> list[str]:
    """Every disagreement between ``result`` and MLflow on each row's one-row batch (empty: agree).

    ``one_row_inputs[i]`` is what MLflow gets for row i. A row MLflow refuses only for nulls in
    optional columns (the documented difference) is not a disagreement.
    """
    problems: list[str] = []
    frame = result.to_pandas()
    j = 0
    for i, one in enumerate(one_row_inputs):
        accepted, out = mlflow_verdict(one, schema)
        ours = bool(result.valid_mask[i])
        if accepted != ours:
            not_a_record = isinstance(one, list) and not isinstance(one[0], dict)
            if not_a_record and not ours:
                pass  # documented: a row of a list of records that is not a dict is quarantined
            elif accepted or not null_in_optional_explains(one, schema):
                why = str(out)[:300] if not accepted else [r.message for r in result.reasons.get(i, [])]
                problems.append(f"row {i} {one!r}: MLflow accepts={accepted}, sigbatch valid={ours}: {why}")
        elif accepted:
            theirs = model_row(out, 0)
            mine = model_row(frame, j)
            for col in sorted(theirs.keys() - mine.keys()):
                problems.append(
                    f"row {i} {one!r}: column {col}: MLflow hands it to the model, sigbatch does not"
                )
            for col, value in mine.items():
                expected = theirs.get(col, None)
                if col not in theirs and value in (None, _NAN, _NAT):
                    continue  # an optional column the row lacks: sigbatch hands its null
                if not _same(value, expected):
                    problems.append(
                        f"row {i} {one!r}: column {col}: model gets {value!r}, MLflow gives {expected!r}"
                    )
        j += ours
    return problems


# ---------------------------------------------------------------------------------------------
# 1. Lists of dicts
# ---------------------------------------------------------------------------------------------

# ~300 examples each; one bug at a time (shrinking several distinct failures takes minutes)
DIFF_SETTINGS = settings(
    max_examples=300,
    deadline=None,
    report_multiple_bugs=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@DIFF_SETTINGS
@given(schema_and_records())
def test_records_row_verdicts_and_values_match_mlflow(schema_rows):
    """Each record is valid exactly when MLflow accepts ``[record]``, and the model gets MLflow's values."""
    schema, rows = schema_rows
    result = enforce(copy.deepcopy(rows), schema)
    assert compare_rows(result, [[row] for row in rows], schema) == []


# ---------------------------------------------------------------------------------------------
# 2. Arrow tables
# ---------------------------------------------------------------------------------------------

_INTS = [pa.int8(), pa.int16(), pa.int32(), pa.int64(), pa.uint8(), pa.uint16(), pa.uint32(), pa.uint64()]
_FLOATS = [pa.float16(), pa.float32(), pa.float64()]
_TIMESTAMPS = [pa.timestamp(u) for u in ("s", "ms", "us", "ns")]
_ARROW_SCALARS = [*_INTS, *_FLOATS, *_TIMESTAMPS, pa.bool_(), pa.string(), pa.large_string(), pa.binary()]
# Arrow types whose columns MLflow converts to each signature type (some only for 0/1 values)
_FITTING = {
    DataType.boolean: [pa.bool_()],
    DataType.integer: [pa.int8(), pa.int16(), pa.int32(), pa.uint8(), pa.uint16()],
    DataType.long: [pa.int8(), pa.int16(), pa.int32(), pa.int64(), pa.uint8(), pa.uint16(), pa.uint32()],
    DataType.float: [pa.float16(), pa.float32(), pa.int64()],
    DataType.double: [*_FLOATS, pa.int8(), pa.int16(), pa.int32(), pa.int64(), pa.uint16(), pa.uint32()],
    DataType.string: [pa.string(), pa.large_string()],
    DataType.binary: [pa.binary(), pa.string()],
    DataType.datetime: _TIMESTAMPS,
}


def arrow_scalar_for(t: DataType) -> st.SearchStrategy[pa.DataType]:
    """Mostly an Arrow type MLflow converts to ``t``; sometimes any Arrow scalar type."""
    return st.one_of(
        st.sampled_from(_FITTING[t]), st.sampled_from(_FITTING[t]), st.sampled_from(_ARROW_SCALARS)
    )


@st.composite
def arrow_type_for(draw: st.DrawFn, t: Any) -> pa.DataType:
    """An Arrow type for a signature type (structs may lack optional or carry extra fields)."""
    if isinstance(t, DataType):
        return draw(arrow_scalar_for(t))
    if isinstance(t, Array):
        return pa.list_(draw(arrow_type_for(t.dtype)))
    if isinstance(t, Map):
        return pa.map_(pa.string(), draw(arrow_scalar_for(t.value_type)))
    fields = []
    for prop in t.properties:
        if prop.required or draw(st.integers(0, 3)) > 0:
            fields.append(pa.field(prop.name, draw(arrow_scalar_for(prop.dtype))))
    if draw(st.integers(0, 9)) == 0:
        fields.append(pa.field("z", pa.int64()))
    return pa.struct(fields)


def arrow_values(t: pa.DataType) -> st.SearchStrategy[Any]:
    """Python values of Arrow type ``t`` (None included: Arrow nulls)."""
    if pa.types.is_integer(t):
        info = np.iinfo(t.to_pandas_dtype())
        inner: st.SearchStrategy[Any] = st.one_of(
            st.integers(int(info.min), int(info.max)), st.sampled_from([0, 1])
        )
    elif pa.types.is_float16(t):
        inner = st.floats(width=16).map(np.float16)
    elif pa.types.is_floating(t):
        inner = st.one_of(st.floats(width=32 if t == pa.float32() else 64), st.sampled_from([0.0, 1.0]))
    elif pa.types.is_timestamp(t):
        inner = st.datetimes(min_value=dt.datetime(1700, 1, 1), max_value=dt.datetime(2200, 1, 1))
    elif pa.types.is_boolean(t):
        inner = st.booleans()
    elif pa.types.is_string(t) or pa.types.is_large_string(t):
        inner = st.text(max_size=3)
    elif pa.types.is_binary(t):
        inner = st.binary(max_size=3)
    elif pa.types.is_list(t):
        inner = st.lists(arrow_values(t.value_type), max_size=3)
    elif pa.types.is_map(t):
        inner = st.dictionaries(
            st.text(alphabet="kl", max_size=2), arrow_values(t.item_type), max_size=2
        ).map(lambda d: list(d.items()))
    elif pa.types.is_struct(t):
        inner = st.fixed_dictionaries({f.name: arrow_values(f.type) for f in t})
    else:
        raise AssertionError(t)
    return st.one_of(inner, inner, inner, st.none())


@st.composite
def schema_and_table(draw: st.DrawFn) -> tuple[Schema, pa.Table]:
    """A schema and a 1-4 row Arrow table of types that mostly fit it (sometimes an extra column)."""
    schema = draw(schemas())
    n = draw(st.integers(1, 4))
    columns: dict[str, pa.Array] = {}
    for spec in schema.inputs:
        if spec.required or draw(st.integers(0, 4)) > 0:
            t = draw(arrow_type_for(spec.type))
            columns[spec.name] = pa.array(draw(st.lists(arrow_values(t), min_size=n, max_size=n)), type=t)
    if draw(st.integers(0, 5)) == 0:
        columns["extra"] = pa.array(
            draw(st.lists(arrow_values(pa.int32()), min_size=n, max_size=n)), pa.int32()
        )
    if not columns:
        columns["extra"] = pa.nulls(n, pa.int32())
    return schema, pa.table(columns)


def _python(value: Any, t: pa.DataType, in_map: bool = False) -> Any:
    """An Arrow value as pandas reads it from Parquet: maps as dicts, a list of numbers as a numpy
    array of its own dtype, or of floats when it holds a null (outside maps, whose values stay
    Python)."""
    if value is None:
        return None
    if pa.types.is_map(t):
        return {k: _python(v, t.item_type, True) for k, v in value}
    if pa.types.is_list(t):
        child = t.value_type
        numbers = pa.types.is_integer(child) or pa.types.is_floating(child)
        if numbers and not in_map:
            if None not in value:
                return np.array(value, dtype=child.to_pandas_dtype())
            # a null makes pandas' array floats: of the list's own float dtype, or float64 for ints
            dtype = child.to_pandas_dtype() if pa.types.is_floating(child) else np.float64
            return np.array([np.nan if v is None else v for v in value], dtype=dtype)
        return [_python(v, child, in_map) for v in value]
    if pa.types.is_struct(t):
        return {f.name: _python(value[f.name], f.type, in_map) for f in t}
    return value


def _record_keys(value: Any, t: Any) -> Any:
    """A struct as the record it came from: a null in a field the Object does not define is a key
    the record did not have (documented: a lake's struct is the union of its records' keys)."""
    if isinstance(t, Object) and isinstance(value, dict):
        out = {}
        for k, v in value.items():
            prop = next((p for p in t.properties if p.name == k), None)
            if prop is None:
                if v is not None:
                    out[k] = v
            else:
                out[k] = _record_keys(v, prop.dtype)
        return out
    if isinstance(t, Array) and isinstance(value, list):
        return [_record_keys(v, t.dtype) for v in value]
    if isinstance(t, Map) and isinstance(value, dict):
        return {k: _record_keys(v, t.value_type) for k, v in value.items()}
    return value


def one_row_frame(table: pa.Table, i: int, schema: Schema | None = None) -> pd.DataFrame:
    """Row ``i`` alone, as the contract defines it for Arrow input.

    Scalar columns keep the numpy dtype of their Arrow type (a null in an integer column becomes
    float64 NaN, in a float or timestamp column NaN / NaT of that dtype, in a text column pandas'
    own null, elsewhere None in an object column); nested columns hold the row's Python values, maps as dicts, without the null
    struct fields the signature's Object does not define.
    """
    types = {s.name: s.type for s in schema.inputs} if schema is not None else {}
    data: dict[str, pd.Series] = {}
    for name in table.column_names:
        col = table.column(name).slice(i, 1).combine_chunks()
        t = col.type
        if pa.types.is_list(t) or pa.types.is_struct(t) or pa.types.is_map(t):
            value = _python(col[0].as_py(), t)
            data[name] = pd.Series([_record_keys(value, types.get(name))], dtype=object)
        elif col.null_count == 0:
            data[name] = pd.Series(col.to_numpy(zero_copy_only=False), dtype=t.to_pandas_dtype())
        elif pa.types.is_integer(t):
            data[name] = pd.Series([np.nan], dtype=np.float64)
        elif pa.types.is_floating(t) or pa.types.is_timestamp(t):
            data[name] = pd.Series(col.to_numpy(zero_copy_only=False), dtype=t.to_pandas_dtype())
        elif pa.types.is_string(t) or pa.types.is_large_string(t):
            data[name] = col.to_pandas()  # pandas' text dtype, its null NaN (str on pandas 3)
        else:
            data[name] = pd.Series([None], dtype=object)
    return pd.DataFrame(data)


@DIFF_SETTINGS
@given(schema_and_table())
def test_arrow_row_verdicts_and_values_match_mlflow(schema_table):
    """Each Arrow row is valid exactly when MLflow accepts it alone, and the model gets MLflow's values."""
    schema, table = schema_table
    frames = [one_row_frame(table, i, schema) for i in range(table.num_rows)]
    problems = preflight(table.schema, schema).problems
    if problems:
        # documented: whole-column problems fail fast, or refuse every row when quarantined
        with pytest.raises(SchemaMismatchError):
            enforce(table, schema)
        assert not enforce(table, schema, on_schema_mismatch="quarantine").valid_mask.any()
        # and the claim behind it: MLflow refuses every non-null value of a hopeless scalar column
        scalar = {s.name for s in schema.inputs if isinstance(s.type, DataType)}
        for p in problems:
            for i, frame in enumerate(frames):
                if p.column in scalar and p.column in frame and not pd.isna(frame[p.column].iloc[0]):
                    assert not mlflow_verdict(frame, schema)[0], (
                        f"row {i}: MLflow accepts it; preflight: {p.message}"
                    )
        return
    assert compare_rows(enforce(table, schema), frames, schema) == []


# ---------------------------------------------------------------------------------------------
# 3. on_error="raise": MLflow's own predict() message
# ---------------------------------------------------------------------------------------------

SEED_SCHEMA = Schema(
    [
        ColSpec(Array("string"), "a"),
        ColSpec("string", "b", required=False),
        ColSpec(Object([Property("d", "string"), Property("e", "string", required=False)]), "c"),
    ]
)
SEED_STRINGS_SCHEMA = Schema([ColSpec("string", "a"), ColSpec("string", "b", required=False)])


@pytest.fixture(scope="module")
def identity_model(tmp_path_factory):
    """A PythonModel returning its input, saved with the seed signature and loaded once."""
    import mlflow.pyfunc
    from mlflow.models.signature import ModelSignature as MlflowSignature

    class Identity(mlflow.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):
            return model_input

    path = tmp_path_factory.mktemp("mlflow") / "identity"
    mlflow.pyfunc.save_model(
        str(path), python_model=Identity(), signature=MlflowSignature(inputs=mlflow_schema(SEED_SCHEMA))
    )
    return mlflow.pyfunc.load_model(str(path))


def predict_error(model: Any, data: Any, schema: Schema) -> str | None:
    """str() of what ``PyFuncModel.predict`` raises for ``data`` under ``schema`` (None: accepted).

    The loaded model's signature is swapped for ``schema``; predict reads it on every call.
    """
    from mlflow.models.signature import ModelSignature as MlflowSignature

    model.metadata.signature = MlflowSignature(inputs=mlflow_schema(schema))
    try:
        model.predict(copy.deepcopy(data))
    except MlflowException as exc:
        return str(exc)
    return None


def enforce_error(data: Any, schema: Schema) -> str | None:
    """str() of the EnforcementError ``enforce(on_error="raise")`` raises (None: nothing raised)."""
    try:
        enforce(copy.deepcopy(data), schema, on_error="raise")
    except EnforcementError as exc:
        return str(exc)
    return None


@pytest.mark.parametrize(
    ("schema", "data"),
    [
        (SEED_SCHEMA, [{"b": "b"}]),
        (SEED_STRINGS_SCHEMA, [{"a": "we are expecting strings", "b": "and only strings"}, [1, 2, 3]]),
        (
            SEED_SCHEMA,
            [{"a": ["a", "b", "c"], "b": "b", "c": {"d": "d"}}, {"a": ["a"], "c": {"d": "d", "e": "e"}}],
        ),
        (SEED_STRINGS_SCHEMA, [{"a": "string", "b": "another string"}, {"a": "string"}]),
    ],
    ids=["missing-a-c", "list-row", "seed-ok", "strings-ok"],
)
def test_seed_notebook_messages_match_predict(identity_model, schema, data):
    """The seed notebook's batches: same message as predict(), or no error where predict accepts."""
    assert enforce_error(data, schema) == predict_error(identity_model, data, schema)


def test_seed_missing_inputs_message_is_mlflows(identity_model):
    """The seed's ``[{"b": "b"}]`` names the missing required inputs exactly as MLflow does."""
    message = predict_error(identity_model, [{"b": "b"}], SEED_SCHEMA)
    assert message is not None and message.endswith("Error: Model is missing inputs ['a', 'c'].")
    assert enforce_error([{"b": "b"}], SEED_SCHEMA) == message


@DIFF_SETTINGS
@given(schema_and_records())
def test_raise_messages_match_pyfunc_predict(identity_model, schema_rows):
    """enforce(on_error="raise") raises predict()'s exact message when MLflow refuses, nothing otherwise."""
    schema, rows = schema_rows
    assert enforce_error(rows, schema) == predict_error(identity_model, rows, schema)


# ---------------------------------------------------------------------------------------------
# 4. Never raises on data; every row accounted for
# ---------------------------------------------------------------------------------------------


def _check_accounting(result: Any, n: int) -> None:
    assert len(result.valid_mask) == n
    assert result.valid.num_rows + result.quarantine.num_rows == n
    assert (
        result.quarantine.column("_sigbatch_row").to_pylist() == np.flatnonzero(~result.valid_mask).tolist()
    )
    assert sorted(result.reasons) == np.flatnonzero(~result.valid_mask).tolist()


@DIFF_SETTINGS
@given(schema_and_records())
def test_records_never_raise_and_every_row_is_accounted_for(schema_rows):
    """Whatever a list of rows holds, enforce() returns, and valid + quarantined rows = input rows."""
    schema, rows = schema_rows
    _check_accounting(enforce(copy.deepcopy(rows), schema), len(rows))


@DIFF_SETTINGS
@given(schema_and_records())
def test_frames_never_raise_and_every_row_is_accounted_for(schema_rows):
    """The same batches as pandas DataFrames (schema mismatches quarantined) never make enforce() raise."""
    schema, rows = schema_rows
    frame = pd.DataFrame([row if isinstance(row, dict) else {} for row in copy.deepcopy(rows)])
    _check_accounting(enforce(frame, schema, on_schema_mismatch="quarantine"), len(rows))


@DIFF_SETTINGS
@given(schema_and_table())
def test_tables_never_raise_and_every_row_is_accounted_for(schema_table):
    """Arrow tables of any fitting or unfitting types (mismatches quarantined) never make enforce() raise."""
    schema, table = schema_table
    _check_accounting(enforce(table, schema, on_schema_mismatch="quarantine"), table.num_rows)


# ---------------------------------------------------------------------------------------------
# Cases that once disagreed with MLflow, kept as regression tests; and the documented differences
# ---------------------------------------------------------------------------------------------


def _obj(*props: tuple[str, str, bool]) -> Object:
    return Object([Property(n, t, required=r) for n, t, r in props])


def assert_records_agree(rows: list[Any], schema: Schema, only: int | None = None) -> None:
    """Row verdicts and model values of ``enforce(rows)`` agree with MLflow on each ``[row]`` (or row ``only``)."""
    problems = compare_rows(enforce(copy.deepcopy(rows), schema), [[r] for r in rows], schema)
    assert [p for p in problems if only is None or p.startswith(f"row {only} ")] == []


def assert_table_agrees(table: pa.Table, schema: Schema) -> None:
    """Row verdicts and model values of ``enforce(table)`` agree with MLflow on each one-row frame."""
    frames = [one_row_frame(table, i, schema) for i in range(table.num_rows)]
    assert compare_rows(enforce(table, schema), frames, schema) == []


# -- verdicts, lists of dicts -----------------------------------------------------------------


def test_documented_non_record_row_is_quarantined():
    """Documented difference: [5] among records is quarantined, though MLflow accepts it when every column is optional."""
    schema = Schema([ColSpec("long", "a", required=False)])
    assert mlflow_verdict([5], schema)[0] is True
    result = enforce([5], schema)
    assert result.valid_mask.tolist() == [False]
    assert [(r.path, r.code.value) for r in result.reasons[0]] == [("", "INVALID_OBJECT")]


def test_int_row_judged_as_float64_because_of_other_rows():
    """Agrees with MLflow on a case that once disagreed: the column is typed from the whole batch: 1 among floats becomes 1.0 and float refuses float64."""
    assert_records_agree([{"a": 1.5}, {"a": 1}], Schema([ColSpec("float", "a")]))


def test_numpy_int32_row_judged_as_int64_because_of_other_rows():
    """Agrees with MLflow on a case that once disagreed: the column is typed from the whole batch: np.int32 next to a Python int is judged int64."""
    assert_records_agree([{"a": 0}, {"a": np.int32(5)}], Schema([ColSpec("integer", "a")]))


def test_numpy_bool_row_accepted_as_long_because_of_other_rows():
    """Agrees with MLflow on a case that once disagreed: Arrow casts np.True_ into an int64 column: MLflow refuses bool -> long, sigbatch accepts."""
    assert_records_agree([{"b": np.True_}, {"b": 3}], Schema([ColSpec("long", "b")]))


def test_numpy_int32_row_accepted_as_float_because_of_other_rows():
    """Agrees with MLflow on a case that once disagreed: Arrow casts np.int32 into a float32 column: MLflow refuses int32 -> float, sigbatch accepts."""
    assert_records_agree([{"c": np.float32(0.5)}, {"c": np.int32(3)}], Schema([ColSpec("float", "c")]))


def test_int_row_read_as_a_date_because_of_other_rows():
    """Agrees with MLflow on a case that once disagreed: Arrow types [date, np.int32(0)] as date32: the int row is refused as 'date32 to int32'."""
    assert_records_agree([{"a": dt.date(2021, 5, 6)}, {"a": np.int32(0)}], Schema([ColSpec("integer", "a")]))


def test_int_row_accepted_as_string_date_because_of_other_rows():
    """Agrees with MLflow on a case that once disagreed: Arrow types [date, 1] as date32: int 1 is accepted for string as '1970-01-02'; MLflow refuses int64."""
    assert_records_agree([{"a": dt.date(2021, 5, 6)}, {"a": 1}], Schema([ColSpec("string", "a")]), only=1)


def test_bytes_and_decimals_reach_the_model_as_numbers():
    """Agrees with MLflow on a case that once disagreed: b"1" and Decimal("1.5") for double are
    accepted (MLflow's pd.to_numeric), and the model gets 1.0 and 1.5; it got NaN."""
    rows = [{"a": b"1"}, {"a": decimal.Decimal("1.5")}, {"a": 2.0}]
    schema = Schema([ColSpec("double", "a")])
    assert enforce(rows, schema).to_pandas()["a"].tolist() == [1.0, 1.5, 2.0]
    assert_records_agree(rows, schema)


@pytest.mark.parametrize("column_type", ["datetime", "string", "binary", "long"])
def test_datetimes_of_one_zone_share_a_verdict(column_type):
    """Python datetimes well within pandas' range are decided once per zone (a record column of
    times was judged through pandas value by value, as slow as MLflow): each row's verdict and
    reason is still MLflow's on that row alone, aware, naive, near pandas' bounds and beyond them."""
    paris = dt.timezone(dt.timedelta(hours=1), "CET")
    times = [
        dt.datetime(2020, 1, 1),
        dt.datetime(2021, 6, 1, 12, 30),
        dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc),
        dt.datetime(2021, 1, 1, tzinfo=paris),
        dt.datetime(1677, 9, 22),
        dt.datetime(2262, 4, 11),
        dt.datetime(2300, 1, 1),
        dt.datetime(2022, 2, 2),
    ]
    rows = [{"a": t} for t in times]
    schema = Schema([ColSpec(column_type, "a")])
    result = enforce(copy.deepcopy(rows), schema)
    alone = [enforce([row], schema) for row in copy.deepcopy(rows)]
    assert result.valid_mask.tolist() == [bool(r.valid_mask[0]) for r in alone]
    assert [result.reasons.get(i, []) for i in range(len(rows))] == [r.reasons.get(0, []) for r in alone]
    assert_records_agree(rows, schema)


def test_lists_of_plain_text_are_kept_as_they_are():
    """A record's list of exact strs for Array(string) is accepted and handed on as it is, without a
    pandas conversion per row (records were judged as slowly as MLflow); lists with a NUL, a str
    subclass, a number or a None still go through MLflow's conversion, with its verdicts."""
    rows = [
        {"a": ["x", "y"]},
        {"a": ["é", ""]},
        {"a": ["end\x00"]},
        {"a": [np.str_("z"), "w"]},
        {"a": ["x", 1]},
        {"a": ["x", None]},
    ]
    schema = Schema([ColSpec(Array("string"), "a")])
    result = enforce(copy.deepcopy(rows), schema)
    handed = result.to_pandas()["a"].tolist()
    assert [list(v) for v in handed[:2]] == [["x", "y"], ["é", ""]]
    assert_records_agree(rows, schema)


def test_none_in_required_long_column():
    """Agrees with MLflow on a case that once disagreed: required long None: MLflow refuses ('object to int64'), sigbatch accepts (not an optional column)."""
    assert_records_agree([{"a": None}], Schema([ColSpec("long", "a")]))


def test_nan_in_required_string_column():
    """Agrees with MLflow on a case that once disagreed: required string NaN: MLflow refuses ('float64 to <U0'), sigbatch accepts (not an optional column)."""
    assert_records_agree([{"b": float("nan")}], Schema([ColSpec("string", "b")]))


def test_list_in_string_column():
    """Agrees with MLflow on a case that once disagreed: string column holding a list: MLflow passes object columns through, sigbatch says 'Expected data to be scalar'."""
    assert_records_agree([{"c": []}], Schema([ColSpec("string", "c")]))


def test_dict_in_boolean_column():
    """Agrees with MLflow on a case that once disagreed: boolean column holding a dict: MLflow passes object columns through, sigbatch says 'Expected data to be scalar'."""
    assert_records_agree([{"d": {"p": 1}}], Schema([ColSpec("boolean", "d")]))


def test_datetime_row_refused_because_of_other_rows():
    """Agrees with MLflow on a case that once disagreed: mixed datetime column goes to per-value rules: a datetime is refused as 'Expected data to be scalar'."""
    rows = [{"a": 2.0}, {"a": dt.datetime(2020, 1, 1)}]
    assert_records_agree(rows, Schema([ColSpec("datetime", "a", required=False)]))


def test_none_in_optional_object_column():
    """Agrees with MLflow on a case that once disagreed: optional Object column holding None: MLflow accepts, sigbatch refuses 'value does not conform'."""
    assert_records_agree([{"b": None}], Schema([ColSpec(_obj(("p", "double", False)), "b", required=False)]))


def test_missing_optional_object_key_refused():
    """Agrees with MLflow on a case that once disagreed: a row without an optional Object key is refused when every row's value is null."""
    rows: list[Any] = [{"b": None}, {}]
    assert_records_agree(rows, Schema([ColSpec(_obj(("p", "double", False)), "b", required=False)]), only=1)


def test_none_item_in_required_double_array():
    """Agrees with MLflow on a case that once disagreed: Array(double) [None]: MLflow's object -> double goes through pd.to_numeric and accepts ([nan])."""
    assert_records_agree([{"b": [None]}], Schema([ColSpec(Array("double"), "b")]))


def test_numeric_text_in_double_array():
    """Agrees with MLflow on a case that once disagreed: Array(double) ['1', 2.0]: MLflow's object -> double uses pd.to_numeric and accepts [1.0, 2.0]."""
    assert_records_agree([{"a": ["1", 2.0]}], Schema([ColSpec(Array("double"), "a")]))


# -- values the model receives, lists of dicts -----------------------------------------------


def test_str_in_binary_column_is_encoded():
    """Agrees with MLflow on a case that once disagreed: binary column from str: the model gets b'x', MLflow passes 'x' unchanged (also for Arrow string)."""
    assert_records_agree([{"b": "x"}], Schema([ColSpec("binary", "b")]))


def test_date_in_string_column_is_formatted():
    """Agrees with MLflow on a case that once disagreed: string column from date: the model gets '2021-05-06', MLflow passes datetime.date unchanged."""
    assert_records_agree([{"a": dt.date(2021, 5, 6)}], Schema([ColSpec("string", "a")]))


def test_date_in_binary_column_is_lost():
    """Agrees with MLflow on a case that once disagreed: binary column from date: the row is valid but the model gets None; MLflow passes the date."""
    assert_records_agree([{"c": dt.date(2021, 5, 6)}], Schema([ColSpec("binary", "c")]))


# -- enforce() raising on data ------------------------------------------------------------------


def test_empty_record_crashes():
    """Agrees with MLflow on a case that once disagreed: a row without the required column, alone in the batch, crashes: ArrowInvalid."""
    enforce([{}], Schema([ColSpec("double", "a")]))


def test_map_with_mixed_non_string_keys_crashes():
    """Agrees with MLflow on a case that once disagreed: a Map with non-str keys of two kinds crashes while writing the quarantine."""
    enforce([{"c": {1: 0, b"k": 1}}], Schema([ColSpec(Map("long"), "c")]))


def test_int_in_map_column_crashes():
    """Agrees with MLflow on a case that once disagreed: a scalar where a Map is expected crashes: 'int' object is not iterable."""
    enforce([{"c": 0}], Schema([ColSpec(Map("long"), "c")]))


def test_str_in_map_column_crashes():
    """Agrees with MLflow on a case that once disagreed: a string where a Map is expected crashes: not enough values to unpack."""
    enforce([{"c": "x"}], Schema([ColSpec(Map("long"), "c")]))


def test_datetime_and_ndarray_in_array_column_crash():
    """Agrees with MLflow on a case that once disagreed: a datetime and an ndarray in one Array column crash: only 0-dimensional arrays ...."""
    rows = [{"b": dt.datetime(2020, 1, 2)}, {"b": np.array([False])}]
    enforce(rows, Schema([ColSpec(Array("boolean"), "b", required=False)]))


# -- Arrow tables ----------------------------------------------------------------------------


def test_arrow_non_ascii_text_for_binary_array():
    """Agrees with MLflow on a case that once disagreed: Array(binary) from list<string> with non-ASCII text: MLflow refuses (ascii codec), sigbatch accepts."""
    table = pa.table({"a": pa.array([["é"]], pa.list_(pa.string()))})
    assert_table_agrees(table, Schema([ColSpec(Array("binary"), "a")]))


@pytest.mark.parametrize(
    ("schema", "array"),
    [
        (
            Schema([ColSpec(Object([Property("q", "datetime")]), "a")]),
            pa.array([{"q": dt.datetime(2020, 1, 1)}], pa.struct([("q", pa.timestamp("us"))])),
        ),
        (
            Schema([ColSpec(Map("datetime"), "a")]),
            pa.array([[("k", dt.datetime(2020, 1, 1))]], pa.map_(pa.string(), pa.timestamp("us"))),
        ),
    ],
    ids=["struct", "map"],
)
def test_arrow_nested_timestamp_for_datetime(schema, array):
    """Agrees with MLflow on a case that once disagreed: a nested datetime from Arrow (struct field, map value): MLflow refuses (datetime is not np.isscalar), sigbatch accepts."""
    assert_table_agrees(pa.table({"a": array}), schema)


def test_frame_of_nested_datetime_lists_gets_mlflows_arrays():
    """Agrees with MLflow on a case that crashed the process: a DataFrame as pandas reads
    list<list<timestamp>> for Array(Array(datetime)); MLflow accepts both rows and hands the
    model a 2-D datetime64[ns] array and an empty float64 array, which pyarrow 25 segfaulted on."""
    t = pa.list_(pa.list_(pa.timestamp("ms")))
    frame = pa.table({"c": pa.array([[[dt.datetime(2020, 1, 1)]], []], t)}).to_pandas()
    schema = Schema([ColSpec(Array(Array("datetime")), "c")])
    result = enforce(frame, schema)
    assert result.valid_mask.tolist() == [True, True]
    handed = result.to_pandas()["c"].tolist()
    assert handed[0].dtype == np.dtype("datetime64[ns]") and handed[0].shape == (1, 1)
    assert handed[1].dtype == np.dtype("float64") and handed[1].shape == (0,)
    assert result.valid.column("c").to_pylist() == [[[dt.datetime(2020, 1, 1)]], []]
    frames = [frame.iloc[[i]].reset_index(drop=True) for i in range(len(frame))]
    assert compare_rows(result, frames, schema) == []


_OBJ_P = Object([Property("p", "long")])


@pytest.mark.parametrize(
    ("array", "t", "handed", "required_codes"),
    [
        (pa.nulls(2), Object([Property("p", "string")]), [None, None], [("a", "INVALID_OBJECT")]),
        (pa.nulls(2), Map("long"), [None, None], [("a", "INVALID_MAP")]),
        (
            pa.array([{"x": None}], pa.struct([("x", pa.null())])),
            None,
            [{"x": None}],
            [("a.x", "INVALID_OBJECT")],
        ),
        (pa.array([[None]], pa.list_(pa.null())), Array(_OBJ_P), [[None]], [("a[0]", "NULL_REQUIRED")]),
        (
            pa.array([[("k", None)]], pa.map_(pa.string(), pa.null())),
            Map(_OBJ_P),
            [{"k": None}],
            [('a["k"]', "NULL_REQUIRED")],
        ),
    ],
    ids=["null-column-object", "null-column-map", "null-struct-field", "list-of-null", "map-of-null"],
)
def test_arrow_null_type_where_optional_object_or_map(array, t, handed, required_codes):
    """Agrees with MLflow on a case that once disagreed: Arrow's null type (an all-null column,
    struct field, list items or map values) where an optional Object or Map is expected: MLflow
    accepts, sigbatch quarantined with "value does not conform"; a required one keeps its reason.
    ``t`` None: the struct's field x is an Object property."""
    table = pa.table({"a": array})
    for required in (False, True):
        if t is None:
            schema = Schema([ColSpec(Object([Property("x", _OBJ_P, required=required)]), "a")])
        else:
            schema = Schema([ColSpec(t, "a", required=required)])
        result = enforce(table, schema, on_schema_mismatch="quarantine")
        if required:
            assert result.valid_mask.tolist() == [False] * len(array)
            codes = {i: [(r.path, r.code.value) for r in rs] for i, rs in result.reasons.items()}
            assert codes == dict.fromkeys(range(len(array)), required_codes)
        else:
            assert result.valid_mask.tolist() == [True] * len(array)
            assert result.to_pandas()["a"].tolist() == handed
            assert_table_agrees(table, schema)


@pytest.mark.parametrize("float_type", [pa.float32(), pa.float16()], ids=["float32", "float16"])
@pytest.mark.parametrize("shape", ["struct", "map"])
def test_arrow_nan_where_an_optional_float_is_nested(float_type, shape):
    """Agrees with MLflow on a case that once disagreed: a float32/float16 NaN (not null) in an
    optional float property or Map(float) value: MLflow takes it for the missing value (the model
    gets None), sigbatch quarantined it; 1.5 (a Python float) stays refused, and when required
    the NaN too."""
    nan = float("nan")
    if shape == "struct":
        array = pa.array([{"p": nan}, {"p": 1.5}, {"p": None}], pa.struct([("p", float_type)]))
        path, handed = "a.p", [{"p": None}, {"p": None}]
    else:
        array = pa.array([[("k", nan)], [("k", 1.5)], [("k", None)]], pa.map_(pa.string(), float_type))
        path, handed = 'a["k"]', [{"k": None}, {"k": None}]
    table = pa.table({"a": array})
    for required in (False, True):
        if shape == "struct":
            schema = Schema([ColSpec(Object([Property("p", "float", required=required)]), "a")])
        else:
            schema = Schema([ColSpec(Map("float"), "a", required=required)])
        result = enforce(table, schema)
        codes = {i: [(r.path, r.code.value) for r in rs] for i, rs in result.reasons.items()}
        if required:
            assert result.valid_mask.tolist() == [False, False, False]
            assert codes == {
                0: [(path, "UNSAFE_CAST")],
                1: [(path, "UNSAFE_CAST")],
                2: [(path, "NULL_REQUIRED")],
            }
        else:
            assert result.valid_mask.tolist() == [True, False, True]
            assert codes == {1: [(path, "UNSAFE_CAST")]}
            assert result.to_pandas()["a"].tolist() == handed
        assert_table_agrees(table, schema)


@pytest.mark.parametrize("shape", ["struct", "map", "list-of-struct"])
def test_arrow_bytes_for_a_nested_double_judged_per_value(shape):
    """Agrees with MLflow on a case that once disagreed: bytes for a double struct field or map
    value go through pd.to_numeric, which parses b"1", b"" and b"1.5" and not b"ab": sigbatch
    accepted every row (the per-value rule was never applied below the top)."""
    values = [b"ab", b"1", b"", b"1.5"]
    if shape == "struct":
        array = pa.array([{"p": v} for v in values], pa.struct([("p", pa.binary())]))
        t: Any = Object([Property("p", "double")])
        path = "a.p"
    elif shape == "map":
        array = pa.array([[("k", v)] for v in values], pa.map_(pa.string(), pa.binary()))
        t, path = Map("double"), 'a["k"]'
    else:
        array = pa.array([[{"p": v}] for v in values], pa.list_(pa.struct([("p", pa.binary())])))
        t, path = Array(Object([Property("p", "double")])), "a[0].p"
    table = pa.table({"a": array})
    schema = Schema([ColSpec(t, "a")])
    result = enforce(table, schema)
    assert result.valid_mask.tolist() == [False, True, True, True]
    assert {i: [(r.path, r.code.value) for r in rs] for i, rs in result.reasons.items()} == {
        0: [(path, "TYPE_MISMATCH")]
    }
    assert_table_agrees(table, schema)


def test_frame_of_nones_where_optional_object_or_map():
    """Agrees with MLflow on a case that once disagreed: pd.DataFrame({"a": [None]}) (Arrow's null
    type) for an optional Object or Map column: MLflow accepts, sigbatch quarantined it."""
    frame = pd.DataFrame({"a": [None, None]})
    for t in (Object([Property("p", "string")]), Map("long")):
        schema = Schema([ColSpec(t, "a", required=False)])
        result = enforce(frame, schema)
        assert result.valid_mask.tolist() == [True, True]
        assert result.to_pandas()["a"].tolist() == [None, None]
        frames = [frame.iloc[[i]].reset_index(drop=True) for i in range(len(frame))]
        assert compare_rows(result, frames, schema) == []


@pytest.mark.parametrize(
    ("schema", "array", "valid"),
    [
        (
            Schema([ColSpec(Object([Property("v", Array("float")), Property("b", "double")]), "a")]),
            pa.array(
                [{"v": [1.5], "b": 1}, {"v": [2.5, None], "b": 0}, {"v": [0.5], "b": 2}],
                pa.struct([("v", pa.list_(pa.float32())), ("b", pa.int64())]),
            ),
            [True, True, False],  # a null float is NaN; an int other than 0 or 1 is no double
        ),
        (
            Schema([ColSpec(Array(Object([Property("v", Array("integer")), Property("b", "double")])), "a")]),
            pa.array(
                [[{"v": [1, 2], "b": 1}], [{"v": [3], "b": 5}]],
                pa.list_(pa.struct([("v", pa.list_(pa.int32())), ("b", pa.int64())])),
            ),
            [True, False],
        ),
    ],
    ids=["float32-list-in-struct", "int32-list-in-list-of-structs"],
)
def test_arrow_number_list_in_a_record_judged_as_its_array(schema, array, valid):
    """Agrees with MLflow on a case that once disagreed: a record's list<float32> or list<int32>,
    in a row judged value by value (its int b is decided per value), is the numpy array pandas
    reads, which MLflow accepts: sigbatch had judged Python floats and ints and refused the row."""
    table = pa.table({"a": array})
    assert enforce(table, schema).valid_mask.tolist() == valid
    assert_table_agrees(table, schema)


def test_documented_null_struct_field_outside_the_object_is_an_absent_key():
    """Documented difference: struct<p, z> with z null is the record {p}; MLflow, seeing key z, refuses it."""
    struct = pa.struct([("p", pa.string()), ("z", pa.int64())])
    table = pa.table({"a": pa.array([{"p": "x", "z": None}, {"p": "y", "z": 3}], struct)})
    schema = Schema([ColSpec(_obj(("p", "string", True)), "a")])
    assert mlflow_verdict(pd.DataFrame({"a": [{"p": "x", "z": None}]}), schema)[0] is False
    result = enforce(table, schema)
    assert result.valid_mask.tolist() == [True, False]
    assert [(r.path, r.code.value) for r in result.reasons[1]] == [("a.z", "INVALID_OBJECT")]
    assert result.to_pandas()["a"].tolist() == [{"p": "x"}]
    assert_table_agrees(table, schema)


def test_arrow_struct_gains_absent_optional_properties():
    """Agrees with MLflow on a case that once disagreed: struct without optional fields: the model gets {'q': True, 'r': None}, MLflow {'q': True}."""
    table = pa.table({"a": pa.array([{"q": True}], pa.struct([("q", pa.bool_())]))})
    schema = Schema([ColSpec(_obj(("q", "boolean", False), ("r", "long", False)), "a")])
    assert_table_agrees(table, schema)


def test_arrow_null_item_in_boolean_array():
    """Agrees with MLflow on a case that once disagreed: Array(boolean) null item from Arrow: the model gets None, MLflow gives False (records path agrees)."""
    table = pa.table({"a": pa.array([[True, None]], pa.list_(pa.bool_()))})
    assert_table_agrees(table, Schema([ColSpec(Array("boolean"), "a")]))


def test_arrow_null_item_in_double_array():
    """Agrees with MLflow on a case that once disagreed: Array(double) null item from Arrow: the model gets None, MLflow gives nan (records path agrees)."""
    table = pa.table({"a": pa.array([[1.5, None]], pa.list_(pa.float64()))})
    assert_table_agrees(table, Schema([ColSpec(Array("double"), "a")]))


def test_arrow_null_item_in_string_array():
    """Agrees with MLflow on a case that once disagreed: Array(string) null item from Arrow: the model gets ['abc', None], MLflow ['a', 'n'] (records path agrees)."""
    table = pa.table({"a": pa.array([["abc", None]], pa.list_(pa.string()))})
    assert_table_agrees(table, Schema([ColSpec(Array("string"), "a")]))


def test_arrow_datetime_array_values():
    """Agrees with MLflow on a case that once disagreed: Array(datetime) from Arrow: the model gets datetimes, MLflow ints of ns since epoch (records path agrees)."""
    table = pa.table({"a": pa.array([[dt.datetime(2020, 1, 1)]], pa.list_(pa.timestamp("us")))})
    assert_table_agrees(table, Schema([ColSpec(Array("datetime"), "a")]))


# -- on_error="raise" messages ------------------------------------------------------------------


def test_extra_inputs_note_has_a_final_period(identity_model):
    """Agrees with MLflow on a case that once disagreed: MLflow 3.17.2 ends the extra-inputs note with a period ('...: ['extra'].'); sigbatch does not."""
    schema = Schema([ColSpec("long", "a")])
    assert enforce_error([{"extra": 0}], schema) == predict_error(identity_model, [{"extra": 0}], schema)


def _extras_in_set_order_differing_from_column_order() -> list[str]:
    """Two extra column names whose set() order (as MLflow lists them) differs from their order."""
    for i in range(100):
        names = [f"x{i}", f"y{i}"]
        if [c for c in set(names)] != names:
            return names
    raise AssertionError("no name pair found")  # pragma: no cover - set order of 100 pairs


def test_extra_inputs_listed_in_set_order(identity_model):
    """Agrees with MLflow on a case that once disagreed: MLflow lists extra inputs in set() order; sigbatch in column order."""
    schema = Schema([ColSpec("long", "a")])
    rows = [dict.fromkeys(_extras_in_set_order_differing_from_column_order(), 1)]
    ours = enforce_error(rows, schema)
    theirs = predict_error(identity_model, rows, schema)
    assert ours is not None and theirs is not None
    assert ours.split("extra inputs: ")[1].rstrip(".") == theirs.split("extra inputs: ")[1].rstrip(".")


def test_message_shows_mlflows_in_place_conversions(identity_model):
    """Agrees with MLflow on a case that once disagreed: MLflow converts earlier rows' dicts in place before failing, so str(data) shows np.int64(1)."""
    schema = Schema([ColSpec(_obj(("p", "long", True)), "b")])
    rows = [{"b": {"p": 1}}, {"b": {"p": "x"}}]
    assert enforce_error(rows, schema) == predict_error(identity_model, rows, schema)


def test_object_column_to_double_message(identity_model):
    """Agrees with MLflow on a case that once disagreed: object column -> double: MLflow tries pd.to_numeric ('Failed to convert column a ...'), sigbatch says 'Incompatible input types'."""
    schema = Schema([ColSpec("double", "a", required=False)])
    rows = [{"a": "s"}, {"a": True}]
    assert enforce_error(rows, schema) == predict_error(identity_model, rows, schema)


def test_object_column_to_datetime_message(identity_model):
    """Agrees with MLflow on a case that once disagreed: object column -> datetime under pandas 3 raises TypeError ('<class 'bool'> is not convertible to datetime') that MLflow reports raw."""
    schema = Schema([ColSpec("datetime", "c")])
    rows = [{"c": dt.datetime(2020, 1, 1)}, {"c": True}]
    assert enforce_error(rows, schema) == predict_error(identity_model, rows, schema)


@pytest.mark.parametrize(
    ("schema", "value"),
    [
        (Schema([ColSpec(Array("datetime"), "a")]), [np.datetime64("2300-06-01", "us")]),
        (
            Schema([ColSpec(Array("datetime"), "a")]),
            [np.datetime64("2020-01-01", "D"), np.datetime64("1600-01-01", "ms")],
        ),
        (Schema([ColSpec(Array("datetime"), "a")]), [dt.datetime(2300, 6, 1)]),
        (Schema([ColSpec(Array(Array("datetime")), "a")]), [[np.datetime64("2300", "Y")]]),
        (Schema([ColSpec(_obj(("p", "datetime", True)), "a")]), {"p": np.datetime64("2300-06-01", "s")}),
        (Schema([ColSpec(Map("datetime"), "a")]), {"k": np.datetime64("2300-06-01", "us")}),
        (Schema([ColSpec(Array("datetime"), "a")]), [np.datetime64("2020-01-01", "us")]),
    ],
    ids=[
        "us-in-array",
        "ms-1600-in-array",
        "python-in-array",
        "year-in-nested",
        "s-in-object",
        "us-in-map",
        "in-range",
    ],
)
def test_times_beyond_nanoseconds_inside_values(schema, value):
    """Agrees with MLflow on a case that once crashed: a datetime beyond pandas' nanoseconds in an
    Array, Object or Map (MLflow raises OutOfBoundsDatetime) quarantines the row, with pandas' text."""
    accepted, out = mlflow_verdict([{"a": value}], schema)
    result = enforce([{"a": copy.deepcopy(value)}], schema)
    assert result.valid_mask.tolist() == [accepted]
    if not accepted:
        assert [r.message for r in result.reasons[0]] == [str(out)]


def _ragged_frame(values: list[Any], arrow_type: pa.DataType) -> pd.DataFrame:
    return pa.table({"a": pa.array(values, arrow_type)}).to_pandas()


@pytest.mark.parametrize(
    ("schema", "data"),
    [
        (
            Schema([ColSpec(Array(Array("double")), "a")]),
            _ragged_frame([[[1.5], [1.5, 2.5]]], pa.list_(pa.list_(pa.float64()))),
        ),
        (
            Schema([ColSpec(Array(Array("double")), "a")]),
            _ragged_frame([[[1.5], [2.5]]], pa.list_(pa.list_(pa.float64()))),
        ),
        (
            Schema([ColSpec(Array(Array(Array("double"))), "a")]),
            _ragged_frame([[[[1.5], [1.5, 2.5]]]], pa.list_(pa.list_(pa.list_(pa.float64())))),
        ),
        (
            Schema([ColSpec(Array(Map("double")), "a")]),
            _ragged_frame(
                [[[("k", 1.5)], [("k", 1.5), ("j", 2.5)]]], pa.list_(pa.map_(pa.string(), pa.float64()))
            ),
        ),
        (
            Schema([ColSpec(Array(Map(Array("double"))), "a")]),
            _ragged_frame(
                [[[("k", [1.5])], [("k", [1.5, 2.5])]]],
                pa.list_(pa.map_(pa.string(), pa.list_(pa.float64()))),
            ),
        ),
        (
            Schema([ColSpec(Array(Array("double")), "a")]),
            [{"a": np.array([np.array([1.5]), np.array([1.5, 2.5])], dtype=object)}],
        ),
        (Schema([ColSpec(Array(Array("double")), "a")]), [{"a": [[1.5], [1.5, 2.5]]}]),
    ],
    ids=[
        "frame-ragged",
        "frame-even",
        "frame-ragged-deep",
        "frame-list-of-maps",
        "frame-maps-of-lists",
        "record-ndarray",
        "record-list",
    ],
)
def test_ragged_arrays_of_arrays(schema, data):
    """Agrees with MLflow on a case that once crashed: an object array of ragged arrays (or of
    pandas' map pairs) for Array(Array/Map) is refused as MLflow refuses it, not raised; a record's
    ragged Python list of lists is accepted, as MLflow accepts it."""
    accepted, out = mlflow_verdict(data, schema)
    result = enforce(copy.deepcopy(data), schema)
    assert result.valid_mask.tolist() == [accepted]
    if accepted:
        assert normalise(result.to_pandas()["a"].iloc[0]) == normalise(out["a"].iloc[0])
    else:
        assert result.reasons[0][0].message == str(out)
