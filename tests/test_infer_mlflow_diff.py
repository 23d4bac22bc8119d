"""Differential tests: sigbatch's inference against real MLflow (the oracle) on random data.

For each drawn input both implementations run: either both raise with the same message, or both
return the same printed schema (or signature); both warn the integer hint the same number of times,
and ``infer_signature`` logs the same fallback warnings. Arrow tables are compared with MLflow's
inference of ``table.to_pandas()``, which is sigbatch's definition for them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import logging
import warnings
from collections import OrderedDict
from typing import Any
from unittest import mock

import mlflow.models.signature
import mlflow.types.utils
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context
from hypothesis.extra import numpy as hnp
from mlflow.exceptions import MlflowException

from sigbatch.errors import SigbatchError
from sigbatch.infer import INTEGER_COLUMNS_HINT, infer_schema, infer_signature, partial
from sigbatch.types import AnyType, DataType
from tests.strategies import conflicting_types, inferable_objects, inferable_types, inferable_values

_SETTINGS = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large]}
_INT64 = st.integers(-(2**63), 2**63 - 1)
_INT32 = st.integers(-(2**31), 2**31 - 1)
_FLOATS = st.floats(allow_nan=True, allow_infinity=False)

# --- random data -----------------------------------------------------------------------------

_MISSING = st.sampled_from([None, float("nan"), np.float64("nan"), pd.NA, pd.NaT])

# Leaves grouped by the type MLflow infers, so that homogeneous draws are common.
_LEAF_GROUPS = {
    "long": st.one_of(_INT64, _INT64.map(np.int64)),
    "integer": _INT32.map(np.int32),
    "double": st.one_of(_FLOATS, _FLOATS.map(np.float64)),
    "float": st.floats(width=32, allow_nan=True, allow_infinity=False).map(np.float32),
    "string": st.one_of(st.text(max_size=3), st.text(max_size=3).map(np.str_)),
    "boolean": st.one_of(st.booleans(), st.booleans().map(np.bool_)),
    "binary": st.one_of(st.binary(max_size=3), st.binary(max_size=3).map(bytearray)),
    "datetime": st.one_of(
        st.dates(),
        st.datetimes(),
        st.datetimes(min_value=dt.datetime(1900, 1, 1)).map(lambda d: np.datetime64(d, "us")),
    ),
    # Values MLflow has no type for.
    "unsupported": st.one_of(
        st.integers(-100, 100).map(np.int8),
        st.just(pd.Timestamp("2020-01-01")),
        st.tuples(st.integers()),
        st.just(dt.time(1)),
    ),
}
_ANY_LEAF = st.one_of(*_LEAF_GROUPS.values(), _MISSING)


def _nested(leaf: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Values built from ``leaf``: nested lists, dicts with a few keys, and small numpy arrays."""
    return st.recursive(
        leaf,
        lambda children: st.one_of(
            st.lists(children, max_size=3),
            st.dictionaries(st.sampled_from("abc"), children, max_size=3),
        ),
        max_leaves=6,
    )


def _values() -> st.SearchStrategy[Any]:
    """A nested value, usually homogeneous (one leaf group plus missing values), sometimes mixed."""
    homogeneous = st.sampled_from(sorted(_LEAF_GROUPS)).flatmap(
        lambda group: _nested(st.one_of(_LEAF_GROUPS[group], _LEAF_GROUPS[group], _MISSING))
    )
    arrays = hnp.arrays(
        st.sampled_from([np.int64, np.float64, np.float32, np.int32, np.bool_, "<U2", np.int16]),
        hnp.array_shapes(min_dims=1, max_dims=2, min_side=0, max_side=2),
    )
    return st.one_of(homogeneous, homogeneous, _nested(_ANY_LEAF), arrays)


# --- random data of one schema ---------------------------------------------------------------
#
# Data drawn from one random type (consistent types per key, optional keys, missing values, nested
# lists, arrays and dicts of one shape) is what users infer from, and MLflow accepts it. About a
# third of the draws then get one value of a conflicting type, or any value at all (mixed,
# unsupported), so MLflow's errors are compared too.

_SCALAR_LEAVES = {DataType[group]: leaf for group, leaf in _LEAF_GROUPS.items() if group != "unsupported"}
_NUMPY_DTYPES = {
    DataType.long: np.int64,
    DataType.integer: np.int32,
    DataType.double: np.float64,
    DataType.float: np.float32,
    DataType.boolean: np.bool_,
    DataType.string: "<U2",
}


def _values_of(dtype: Any, *, nullable: bool = True) -> st.SearchStrategy[Any]:
    """Python values MLflow infers as ``dtype`` (or as Any)."""
    return inferable_values(dtype, _SCALAR_LEAVES, _MISSING, numpy_dtypes=_NUMPY_DTYPES, nullable=nullable)


def _other_value(kept: Any) -> st.SearchStrategy[Any]:
    """A value of a type that conflicts with ``kept``, or any value at all (mixed, unsupported:
    mostly a conflict too): what replaces one value in a conflicting draw."""
    if isinstance(kept, AnyType):
        return _values()
    conflicting = conflicting_types(kept, keys="abc").flatmap(lambda t: _values_of(t, nullable=False))
    return st.one_of(conflicting, conflicting, _values())


_CONFLICT = st.sampled_from([False, False, True])  # shrinks to no conflict


@st.composite
def _records(draw: st.DrawFn) -> list[dict[Any, Any]]:
    """1-4 records of one random Object type; a third of them get another value under a key that
    another record has too (a conflict, unless that record's value is missing or empty)."""
    conflict = draw(_CONFLICT)
    # A required key unless there is a conflict: records that are all empty are one error of many.
    record_type = draw(
        inferable_objects(inferable_types(keys="abc"), keys="abcd", required_first=not conflict)
    )
    records = draw(
        st.lists(_values_of(record_type, nullable=False), min_size=2 if conflict else 1, max_size=4)
    )
    if conflict:
        i = draw(st.integers(0, len(records) - 1))
        types = {p.name: p.dtype for p in record_type.properties}
        others = sorted({k for j, r in enumerate(records) if j != i for k in r}) or list("abcd")
        key = draw(st.sampled_from(others))
        records[i] = {**records[i], key: draw(_other_value(types.get(key, AnyType())))}
    return records


@st.composite
def _lists(draw: st.DrawFn, max_size: int = 4) -> list[Any]:
    """Up to ``max_size`` values of one random type; a third of them with one value replaced."""
    conflict = draw(_CONFLICT)
    value_type = draw(inferable_types(keys="abc"))
    values = draw(st.lists(_values_of(value_type), min_size=2 if conflict else 0, max_size=max_size))
    if conflict:
        values[draw(st.integers(0, len(values) - 1))] = draw(_other_value(value_type))
    return values


_RECORDS = _records()

_DTYPES = [
    "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float16", "float32",
    "float64", "bool", "datetime64[ns]", "Int64", "Int8", "UInt64", "boolean", "string", "Float64",
    "object", "str", "category",
]  # fmt: skip


@st.composite
def _typed_frames(draw: st.DrawFn) -> pd.DataFrame:
    """A DataFrame whose columns have numpy or extension dtypes, with missing values injected."""
    rows = draw(st.integers(0, 3))
    columns = {}
    for name in draw(st.lists(st.sampled_from("pqrs"), min_size=1, max_size=3, unique=True)):
        dtype = draw(st.sampled_from(_DTYPES))
        values: list[Any] = draw(st.lists(st.integers(0, 5), min_size=rows, max_size=rows))
        if dtype in ("object", "str", "string", "category"):
            values = [str(v) for v in values]
        if dtype == "bool" or dtype == "boolean":
            values = [bool(v % 2) for v in values]
        series = pd.Series(values, dtype=dtype if dtype != "datetime64[ns]" else "int64")
        if dtype == "datetime64[ns]":
            series = pd.to_datetime(series, unit="D")
        if rows and draw(st.booleans()):
            try:
                series.iloc[draw(st.integers(0, rows - 1))] = draw(_MISSING)
            except (TypeError, ValueError):
                pass
        columns[name] = series
    return pd.DataFrame(columns)


_ARROW_COLUMNS = {
    pa.int64(): _INT64,
    pa.int8(): st.integers(-128, 127),
    pa.uint64(): st.integers(0, 2**64 - 1),
    pa.uint16(): st.integers(0, 2**16 - 1),
    pa.float64(): _FLOATS,
    pa.float32(): st.floats(width=32, allow_infinity=False),
    pa.bool_(): st.booleans(),
    pa.string(): st.text(max_size=3),
    pa.large_string(): st.text(max_size=3),
    pa.binary(): st.binary(max_size=3),
    pa.date32(): st.dates(),
    pa.timestamp("us"): st.datetimes(),
    pa.timestamp("ms", tz="UTC"): st.datetimes(min_value=dt.datetime(1900, 1, 1)),
    pa.null(): st.none(),
    pa.list_(pa.int64()): st.lists(st.one_of(st.none(), _INT64), max_size=2),
    pa.list_(pa.string()): st.lists(st.one_of(st.none(), st.text(max_size=2)), max_size=2),
    pa.struct([("x", pa.int64()), ("y", pa.string())]): st.fixed_dictionaries(
        {"x": st.one_of(st.none(), _INT64), "y": st.one_of(st.none(), st.text(max_size=2))}
    ),
    pa.map_(pa.string(), pa.int64()): st.lists(st.tuples(st.text(max_size=2), _INT64), max_size=2),
    pa.dictionary(pa.int32(), pa.string()): st.text(max_size=2),
}


@st.composite
def _arrow_tables(draw: st.DrawFn) -> pa.Table:
    """A small Arrow table of scalar and nested columns, with nulls."""
    rows = draw(st.integers(0, 3))
    arrays = {}
    for i, atype in enumerate(draw(st.lists(st.sampled_from(list(_ARROW_COLUMNS)), min_size=1, max_size=4))):
        # Columns without nulls, with some and with only nulls are all common.
        element = draw(
            st.sampled_from([_ARROW_COLUMNS[atype], st.one_of(st.none(), _ARROW_COLUMNS[atype]), st.none()])
        )
        values = draw(st.lists(element, min_size=rows, max_size=rows))
        if pa.types.is_dictionary(atype):
            arrays[f"c{i}"] = pa.array(values, pa.string()).dictionary_encode()
        else:
            arrays[f"c{i}"] = pa.array(values, atype)
    return pa.table(arrays)


# Two sample values of each Arrow type, for the exhaustive null-pattern test.
_ARROW_SAMPLES: dict[pa.DataType, list[Any]] = {
    pa.int64(): [1, -2],
    pa.int8(): [1, 2],
    pa.int32(): [1, 2],
    pa.uint32(): [1, 2],
    pa.uint64(): [1, 2**64 - 1],
    pa.float16(): [np.float16(1.5), np.float16("nan")],
    pa.float32(): [1.5, float("nan")],
    pa.float64(): [1.5, 2.5],
    pa.bool_(): [True, False],
    pa.string(): ["a", ""],
    pa.large_string(): ["a", "b"],
    pa.string_view(): ["a", "b"],
    pa.binary(): [b"a", b""],
    pa.large_binary(): [b"a", b"b"],
    pa.binary(2): [b"ab", b"cd"],
    pa.date32(): [dt.date(2020, 1, 1), dt.date(1970, 1, 1)],
    pa.date64(): [dt.date(2020, 1, 1), dt.date(1970, 1, 1)],
    pa.timestamp("s"): [dt.datetime(2020, 1, 1), dt.datetime(1970, 1, 1)],
    pa.timestamp("ns", tz="UTC"): [dt.datetime(2020, 1, 1), dt.datetime(1970, 1, 1)],
    pa.time64("us"): [dt.time(1), dt.time(2)],
    pa.duration("s"): [1, 2],
    pa.decimal128(5, 2): [decimal.Decimal("1.50"), decimal.Decimal("2.00")],
    pa.null(): [None, None],
    pa.list_(pa.int64()): [[1, None], []],
    pa.list_(pa.float64()): [[1.5], [float("nan")]],
    pa.large_list(pa.string()): [["a"], ["b", None]],
    pa.list_(pa.list_(pa.int32())): [[[1]], [[], None]],
    pa.struct([("x", pa.int64()), ("y", pa.list_(pa.string()))]): [
        {"x": 1, "y": ["a"]},
        {"x": None, "y": None},
    ],
    pa.map_(pa.string(), pa.int64()): [[("a", 1)], []],
    pa.dictionary(pa.int32(), pa.string()): ["a", "b"],
}
_NULL_PATTERNS = {"no_nulls": (0, 1), "some_nulls": (0, None), "only_nulls": (None, None), "empty": ()}


# Parameter values MLflow accepts, and (below) values it refuses.
_PARAM_VALUES = st.one_of(
    _INT64,
    _FLOATS,
    st.text(max_size=3),
    st.booleans(),
    st.dates(),
    st.datetimes(),
    st.sampled_from([np.int32(1), np.float32(1.5)]),
    st.lists(_INT64, max_size=3),
    st.lists(st.text(max_size=2), max_size=3),
    st.lists(st.datetimes(), max_size=2),
    st.dictionaries(
        st.sampled_from("ab"),
        st.one_of(st.integers(), st.text(max_size=2), st.none()),
        min_size=1,
        max_size=2,
    ),
)
_BAD_PARAM_VALUES = st.one_of(
    st.binary(max_size=2),
    st.none(),
    st.sampled_from([np.int8(1), 1j, (1, 2), {}]),
    st.tuples(_INT64, st.text(max_size=2)).map(list),
    st.lists(st.lists(st.integers(), min_size=1, max_size=2), min_size=1, max_size=2),
)


@st.composite
def _params(draw: st.DrawFn) -> dict[str, Any] | None:
    """None or a dict of parameters; a third of the dicts hold one value MLflow refuses."""
    if draw(st.sampled_from([False, False, False, False, True])):
        return None
    params = draw(st.dictionaries(st.sampled_from(["k", "t", "s"]), _PARAM_VALUES, max_size=3))
    if draw(_CONFLICT):
        params[draw(st.sampled_from(["k", "t", "s"]))] = draw(_BAD_PARAM_VALUES)
    return params


# --- comparison ------------------------------------------------------------------------------


class _Collect(logging.Handler):
    """Keeps the messages of the records it handles."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _count_oracle_outcome(error: BaseException | None) -> None:
    """Count MLflow's answer as a hypothesis event (see the shares with --hypothesis-show-statistics)."""
    if currently_in_test_context():
        event("mlflow accepts" if error is None else f"mlflow raises {type(error).__name__}")


def _run(fn: Any, *args: Any, logger: str | None = None) -> tuple[tuple[Any, ...], Exception | None]:
    """Outcome of one call: ("ok", repr) or ("raise", message), integer hints, logged warnings;
    and the exception, if one was raised."""
    handler = _Collect()
    log = logging.getLogger(logger) if logger else None
    if log is not None:
        log.addHandler(handler)
    error = None
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                outcome = ("ok", repr(fn(*args)))
            except Exception as exc:
                outcome, error = ("raise", str(exc)), exc
    finally:
        if log is not None:
            log.removeHandler(handler)
    hints = sum(str(w.message) == INTEGER_COLUMNS_HINT for w in caught)
    return (*outcome, hints, handler.messages), error


def _assert_same_error_class(ours: Exception | None, oracle: Exception | None) -> None:
    """sigbatch raises a SigbatchError and ValueError where MLflow raises an MlflowException, and
    the same builtin where MLflow raises a builtin (sigbatch.errors)."""
    if oracle is None:
        return
    if isinstance(oracle, MlflowException):
        assert isinstance(ours, SigbatchError) and isinstance(ours, ValueError), repr(ours)
    else:
        assert isinstance(ours, type(oracle)), (repr(ours), repr(oracle))


def _assert_same_schema(data: Any, oracle_data: Any = None) -> None:
    """sigbatch's ``infer_schema(data)`` behaves as MLflow's ``_infer_schema(oracle_data)``."""
    oracle, oracle_error = _run(
        mlflow.types.utils._infer_schema, data if oracle_data is None else oracle_data
    )
    _count_oracle_outcome(oracle_error)
    ours, error = _run(infer_schema, data)
    assert ours == oracle
    _assert_same_error_class(error, oracle_error)


def _assert_same_signature(model_input: Any, model_output: Any = None, params: Any = None) -> None:
    """sigbatch's ``infer_signature`` behaves as MLflow's: result or error, hints, fallback logs."""
    oracle, oracle_error = _run(
        mlflow.models.signature.infer_signature,
        model_input,
        model_output,
        params,
        logger="mlflow.models.signature",
    )
    _count_oracle_outcome(oracle_error)
    ours, error = _run(infer_signature, model_input, model_output, params, logger="sigbatch.infer.local")
    assert ours == oracle  # refused parameters too: each failure's repr names MLflow's class
    _assert_same_error_class(error, oracle_error)


# --- tests -----------------------------------------------------------------------------------


@settings(max_examples=45, **_SETTINGS)
@given(_RECORDS)
def test_records_match_mlflow(records):
    """A list of dicts (nested values, nulls, missing keys) infers exactly MLflow's schema."""
    _assert_same_schema(records)


def _reordered() -> OrderedDict:
    od = OrderedDict(a=1, b="x")
    od.move_to_end("a")  # iterates b, a; its storage (dict.values) still holds a, b
    return od


@pytest.mark.parametrize(
    "records",
    [
        pytest.param([_reordered(), _reordered()], id="ordered-dicts-moved-keys"),
        pytest.param([{"c": _reordered()}, {"c": _reordered()}], id="nested-ordered-dicts"),
        pytest.param([{"a": 1}, {pd.NA: 1}], id="na-key-top-level"),
        pytest.param([{"c": {"a": 1}}, {"c": {pd.NA: 1}}], id="na-key-nested"),
        pytest.param([{"b": 1, "a": "x"}, {"a": "y", "b": 2}], id="same-keys-other-order"),
    ],
)
def test_record_shapes_found_by_review_match_mlflow(records):
    """Records the column-wise reading once got wrong: key order apart from value order, keys
    whose == has no truth value, one key set in two orders (records and object frames)."""
    _assert_same_schema(records)
    _assert_same_schema(pd.DataFrame({"col": records}))


@settings(max_examples=40, **_SETTINGS)
@given(_RECORDS, _lists(max_size=6))
def test_values_read_in_blocks_match_mlflow(records, values):
    """Many records, or many values of a list or an object column, are read in blocks whose
    partials are merged (``BLOCK_ROWS``, 5,000), or the first block and then the rest where the
    first holds few values per field path: with blocks of one value each, both ways, records,
    lists and object frames still infer exactly MLflow's schema, and raise MLflow's errors."""
    for dense in (0, partial._DENSE_VALUES):
        with mock.patch.object(partial, "BLOCK_ROWS", 1), mock.patch.object(partial, "_DENSE_VALUES", dense):
            _assert_same_schema(records)
            _assert_same_schema(values)
            _assert_same_schema(pd.DataFrame(records))


def test_a_block_that_fails_otherwise_gives_the_error_of_all_rows():
    """Where a block fails on a value whose text cannot be made (an int of 5,000 digits), reading
    all rows at once names the first bad value column by column, as MLflow does; it had raised
    Python's ValueError about integer strings."""
    rows = [{"a": 1, "b": (10**5000,)}, {"a": (1,), "b": "x"}]
    with mock.patch.object(partial, "BLOCK_ROWS", 1), mock.patch.object(partial, "_DENSE_VALUES", 0):
        _assert_same_schema(rows)
        with pytest.raises(SigbatchError, match=r"^Data \(1,\) is not one of the supported DataType"):
            infer_schema(rows)


@settings(max_examples=40, **_SETTINGS)
@given(_lists())
def test_lists_match_mlflow(values):
    """A list of scalars, lists or arrays (mixed types included) infers exactly MLflow's schema."""
    _assert_same_schema(values)


@settings(max_examples=20, **_SETTINGS)
@given(
    st.one_of(
        _RECORDS.map(lambda records: records[-1]),
        inferable_types(keys="abc").flatmap(_values_of),
        st.dictionaries(st.sampled_from(["x", "y", 1]), _values(), max_size=3),
        _values(),
    )
)
def test_dicts_and_single_values_match_mlflow(data):
    """A dict of values (or arrays) and a single value infer exactly MLflow's schema."""
    _assert_same_schema(data)


@settings(max_examples=25, **_SETTINGS)
@given(_RECORDS)
def test_object_frames_match_mlflow(records):
    """A DataFrame built from records (object columns of lists, dicts, NaN) matches MLflow."""
    _assert_same_schema(pd.DataFrame(records))


@settings(max_examples=25, **_SETTINGS)
@given(_typed_frames())
def test_typed_frames_match_mlflow(frame):
    """DataFrames of numpy and extension dtypes with NaN, None, pd.NA and NaT match MLflow."""
    _assert_same_schema(frame)
    if len(frame.columns):
        first = frame[frame.columns[0]]
        _assert_same_schema(first)


@settings(max_examples=20, **_SETTINGS)
@given(_arrow_tables())
def test_arrow_tables_match_mlflow_on_pandas(table):
    """An Arrow table infers MLflow's schema of `table.to_pandas()`."""
    _assert_same_schema(table, table.to_pandas())


@pytest.mark.parametrize("pattern", list(_NULL_PATTERNS))
@pytest.mark.parametrize("atype", list(_ARROW_SAMPLES), ids=str)
def test_each_arrow_type_matches_mlflow_on_pandas(atype, pattern):
    """Every Arrow type, without nulls, with some, with only nulls and empty, matches MLflow."""
    samples = _ARROW_SAMPLES[atype]
    values = [None if i is None else samples[i] for i in _NULL_PATTERNS[pattern]]
    if pa.types.is_dictionary(atype):
        array = pa.array(values, pa.string()).dictionary_encode()
    else:
        array = pa.array(values, atype)
    table = pa.table({"c": array})
    _assert_same_schema(table, table.to_pandas())


@settings(max_examples=15, **_SETTINGS)
@given(_typed_frames(), st.booleans())
def test_arrow_tables_from_pandas_match_mlflow(frame, keep_index):
    """A table converted from pandas (its metadata restores dtypes on the way back) matches MLflow."""
    try:
        table = pa.Table.from_pandas(frame, preserve_index=keep_index)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        assume(False)
    _assert_same_schema(table, table.to_pandas())


@settings(max_examples=25, **_SETTINGS)
@given(
    st.one_of(_RECORDS, _lists(max_size=3), _typed_frames(), st.none()),
    st.one_of(st.none(), _lists(max_size=3), inferable_types(keys="abc").flatmap(_values_of)),
    _params(),
)
def test_signatures_match_mlflow(model_input, model_output, params):
    """`infer_signature` on inputs, outputs and params matches MLflow, fallbacks and errors included."""
    _assert_same_signature(model_input, model_output, params)


def test_dataclass_signatures_match_mlflow():
    """Dataclass examples are read from their hints exactly as MLflow reads them."""
    inner = dataclasses.make_dataclass("Inner", [("n", int), ("tags", list[str] | None)])
    cases = [
        dataclasses.make_dataclass("A", [("x", float), ("inner", inner), ("items", list[inner] | None)]),
        dataclasses.make_dataclass("B", [("when", dt.date), ("raw", bytes | None), ("ok", list[bool])]),
        dataclasses.make_dataclass("C", [("bad", int | str)]),
        dataclasses.make_dataclass("D", [("bad", dict)]),
        dataclasses.make_dataclass("E", [("hint", "int")]),
        dataclasses.make_dataclass("F", []),
    ]
    for cls in cases:
        _assert_same_signature(cls)


# An object column whose one missing value (or look-alike) is its last of 12,000 rows: beyond the
# first blocks of ``BLOCK_ROWS`` values, so a test that stopped early or read one block would miss it.
_LATE_ROWS = 12_000
_LATE_VALUES = [
    ([1], None, "Array(long) (optional)"),
    ([1], float("nan"), "Array(long) (optional)"),
    ([1], np.float64("nan"), "Array(long) (optional)"),
    ([1], pd.NA, "Array(long) (optional)"),
    ([1], pd.NaT, "Array(long) (optional)"),
    ([1], [], "Array(long) (required)"),
    ({"a": "x"}, None, "{a: string (optional)} (optional)"),
    ({"a": "x"}, float("nan"), "{a: string (optional)} (optional)"),
    ({"a": "x"}, {}, "{a: string (optional)} (required)"),
    (np.float32(1), np.float32("nan"), "float (required)"),
    (np.float64(1), np.float64("nan"), "double (optional)"),
    (np.datetime64("2020-01-01"), np.datetime64("NaT"), "datetime (required)"),
    ("s", pd.NaT, "string (optional)"),
    ("s", None, "string (optional)"),
    (b"x", float("nan"), "binary (optional)"),
    (dt.date(2020, 1, 1), pd.NaT, "datetime (optional)"),
    (True, None, "boolean (optional)"),
    (1, pd.NA, "long (optional)"),
    (1.5, pd.NA, "double (optional)"),
    (1.5, {}, "double (required)"),
    (float("nan"), pd.NA, "Any (optional)"),
    (np.array([1]), None, "Array(long) (optional)"),
    (np.array([1]), [], "Array(long) (required)"),
]


@pytest.mark.parametrize(("bulk", "last", "expected"), _LATE_VALUES, ids=repr)
def test_object_column_with_a_late_missing_value_matches_mlflow(bulk, last, expected):
    """An object column whose only missing value (None, a float NaN, pd.NA, pd.NaT) is its last of
    12,000 is optional, and one whose last value only looks missing (an empty list or dict, a
    float32 NaN, a datetime64 NaT) is required: as a frame column and as a Series, as in MLflow."""
    series = pd.Series([bulk] * (_LATE_ROWS - 1) + [last], dtype=object, name="c")
    frame = series.to_frame()
    assert repr(infer_schema(frame)) == f"['c': {expected}]"
    assert repr(infer_schema(series)) == f"['c': {expected}]"
    _assert_same_schema(frame)
    _assert_same_schema(series)


_STRING_DTYPES = [
    "str",
    "string",
    pd.StringDtype("pyarrow", na_value=np.nan),
    pd.StringDtype("python"),
    pd.StringDtype("python", na_value=np.nan),
]
_STRING_VALUES = [
    ([], "string (required)"),
    ([None] * 3, "Any (optional)"),
    (["a"] * (_LATE_ROWS - 1) + [None], "string (optional)"),
    (["a"] * _LATE_ROWS, "string (required)"),
    ([None, "a"], "string (optional)"),
    ([np.str_("a"), None], "string (optional)"),
]


@pytest.mark.parametrize(("values", "expected"), _STRING_VALUES, ids=lambda v: repr(v)[:24])
@pytest.mark.parametrize("dtype", _STRING_DTYPES, ids=repr)
def test_string_dtype_columns_match_mlflow(dtype, values, expected):
    """A column of pandas' string dtype (Arrow or Python storage, NaN or pd.NA for missing) is a
    string column, Any when it holds only missing values and a string when empty; optional when a
    value is missing (the last of 12,000 too): as a frame column and as a Series, as in MLflow."""
    series = pd.Series(values, dtype=dtype, name="c")
    assert repr(infer_schema(series.to_frame())) == f"['c': {expected}]"
    assert repr(infer_schema(series)) == f"['c': {expected}]"
    _assert_same_schema(series.to_frame())
    _assert_same_schema(series)


@pytest.mark.parametrize(
    "last",
    [
        pytest.param("x", id="string"),
        pytest.param(np.float32("nan"), id="float32-nan"),
        pytest.param((1,), id="tuple"),
    ],
)
def test_object_column_with_a_late_conflict_matches_mlflow(last):
    """An object column of 12,000 lists whose last value conflicts (read in blocks taken out of
    the column's array) raises MLflow's error, naming the Series, as a frame column and a Series."""
    series = pd.Series([[1]] * (_LATE_ROWS - 1) + [last], dtype=object, name="c")
    with pytest.raises(SigbatchError, match=r"^Failed to infer schema for pandas\.Series "):
        infer_schema(series.to_frame())
    _assert_same_schema(series.to_frame())
    _assert_same_schema(series)


def test_object_column_of_empty_arrays_in_blocks_matches_mlflow():
    """An object column of empty numpy arrays, read in blocks, fails with MLflow's message, which
    lists the values as a list."""
    series = pd.Series([np.array([]), np.array([], dtype=int), np.zeros((0, 2))], dtype=object, name="c")
    with mock.patch.object(partial, "BLOCK_ROWS", 1):
        with pytest.raises(SigbatchError, match=r"Invalid input `\[array\(\[\], dtype=float64\), "):
            infer_schema(series.to_frame())
        _assert_same_schema(series.to_frame())
        _assert_same_schema(series)
