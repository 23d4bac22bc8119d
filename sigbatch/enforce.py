"""Per-row enforcement: split a batch into conforming rows and quarantined rows with reasons.

The contract (``profile="mlflow"``, the default): a row is quarantined exactly when MLflow's
enforcement would refuse a batch made of that row alone. "That row alone" is the one-row pandas
frame in which scalar columns keep their column's dtype and nested columns hold the row's Python
values (lists, dicts); this is what MLflow sees when a user hands it one record. Deliberate
differences, all documented in the README:

* a null in an *optional* column is accepted (MLflow refuses nulls in integer columns);
* problems of a whole column (a required column absent, a type that can never convert) are found
  once by :func:`preflight` and fail fast, unless ``on_schema_mismatch="quarantine"``.

``strict`` also quarantines nulls in required columns and null elements of arrays. ``lenient``
converts values that convert without loss (numeric strings, "true"/"false", ISO-8601 strings,
integral floats, in-range integers) and quarantines the rest.

How it runs: scalar columns are decided entirely with ``pyarrow.compute``. Nested columns (Array,
Object, Map) are walked with Arrow's list offsets and struct fields; rows whose verdict depends on
a value-level quirk of MLflow (null list elements, 0/1 integers read as floats, ...) are flagged, and
only those rows go through the exact per-value rules of :mod:`sigbatch.pyvalues`, which also write
the reasons of every refused row.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from sigbatch.arrow import retyped
from sigbatch.errors import SchemaMismatchError, SignatureError
from sigbatch.pyvalues import check_value
from sigbatch.quarantine import (
    CORRUPT_COLUMN,
    ERRORS_COLUMN,
    REASON_TYPE,
    ROW_COLUMN,
    STAGE_COLUMN,
    Reason,
    ReasonCode,
    Stage,
    child_path,
    describe_value,
    index_path,
    key_path,
    path_name,
    path_root,
    reserved_columns,
)
from sigbatch.types import (
    AnyType,
    Array,
    ColSpec,
    DataType,
    Map,
    ModelSignature,
    Object,
    Schema,
    repeated_names,
)

__all__ = ["ColumnProblem", "EnforceResult", "Preflight", "enforce", "preflight"]

Profile = Literal["mlflow", "strict", "lenient"]
_PROFILES = ("mlflow", "strict", "lenient")
_MISSING = object()

# ---------------------------------------------------------------------------------------------
# Scalar rules: which source types convert to which signature types, as MLflow's matrix decides.
# ---------------------------------------------------------------------------------------------

OK, FAIL, ZERO_ONE, PER_VALUE = "ok", "fail", "zero_one", "per_value"

# Parts of preflight messages that speak of a source: the output check words them for a model's output.
ABSENT = "is absent from the source"
LENIENT_HINT = "; it could with profile 'lenient'"


def _src_kind(t: pa.DataType) -> str:
    """The numpy-ish kind of an Arrow type, as pandas would hold the column."""
    if pa.types.is_boolean(t):
        return "bool"
    if pa.types.is_integer(t):
        return str(t)  # int8 ... uint64
    if pa.types.is_floating(t):
        return {16: "float16", 32: "float32", 64: "float64"}[t.bit_width]
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "str"
    if (
        pa.types.is_binary(t)
        or pa.types.is_large_binary(t)
        or pa.types.is_fixed_size_binary(t)
        or pa.types.is_binary_view(t)
    ):
        return "bytes"
    if pa.types.is_timestamp(t):
        return "timestamp_tz" if t.tz else "timestamp"
    if pa.types.is_date(t):
        return "date"
    if pa.types.is_decimal(t):
        return "decimal"
    if pa.types.is_null(t):
        return "null"
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        return "list"
    if pa.types.is_struct(t):
        return "struct"
    if pa.types.is_map(t):
        return "map"
    return "other"


_NUMPY_OF_KIND = {
    "bool": np.dtype("bool"),
    "int8": np.dtype("int8"),
    "int16": np.dtype("int16"),
    "int32": np.dtype("int32"),
    "int64": np.dtype("int64"),
    "uint8": np.dtype("uint8"),
    "uint16": np.dtype("uint16"),
    "uint32": np.dtype("uint32"),
    "uint64": np.dtype("uint64"),
    "float16": np.dtype("float16"),
    "float32": np.dtype("float32"),
    "float64": np.dtype("float64"),
}


def scalar_rule(kind: str, t: DataType) -> str:
    """MLflow's verdict for a non-null column of ``kind`` converted to ``t``: ok, fail or zero_one.

    ``zero_one`` means only the values 0 and 1 pass (MLflow lets an int64 column of 0/1 become a
    float column). The table follows :func:`sigbatch.pyvalues.conform_series` and is checked
    against it in the tests.
    """
    if kind in ("null", "bytes", "decimal", "date"):  # pandas holds these as object
        if t in (DataType.string, DataType.binary, DataType.boolean):
            return OK
        if t is DataType.datetime:
            return OK if kind in ("date", "null") else FAIL
        if t is DataType.double and kind in ("decimal", "null"):
            return OK  # MLflow sends object columns through pd.to_numeric
        if t is DataType.double and kind == "bytes":
            return PER_VALUE  # pd.to_numeric parses some bytes (b"1", b"") and not others
        return FAIL
    if kind == "str":
        return OK if t in (DataType.string, DataType.binary) else FAIL
    if kind == "timestamp":
        return OK if t is DataType.datetime else FAIL
    if kind == "timestamp_tz":
        return FAIL
    src = _NUMPY_OF_KIND.get(kind)
    if src is None:
        return FAIL
    target = t.to_numpy()
    if t in (DataType.string, DataType.binary, DataType.datetime):
        return FAIL
    if src == target:
        return OK
    if src.kind == "b" or target.kind == "b":
        return FAIL
    if src.kind == target.kind:
        upcast = src.itemsize <= target.itemsize
    elif src.kind == "u" and target.kind == "i":
        upcast = src.itemsize < target.itemsize
    elif src.kind in ("i", "u") and target == np.float64:
        upcast = src.itemsize <= 6
    else:
        upcast = False
    if upcast:
        return OK
    if src == np.int64 and target.kind == "f":
        return ZERO_ONE
    return FAIL


# The pandas kind of one Python value of an Arrow type, inside a nested column (a list element,
# a struct field): Python ints become int64, floats float64, whatever the Arrow width was.
_PY_KIND = {
    "int8": "int64",
    "int16": "int64",
    "int32": "int64",
    "uint8": "int64",
    "uint16": "int64",
    "uint32": "int64",
    "uint64": "uint64",
    "float16": "float64",
    "float32": "float64",
}


def _value_kind(kind: str) -> str:
    return _PY_KIND.get(kind, kind)


def _fail_code(kind: str, t: DataType) -> ReasonCode:
    numeric = kind in _NUMPY_OF_KIND and kind != "bool"
    return ReasonCode.UNSAFE_CAST if numeric and t.to_numpy().kind in "iuf" else ReasonCode.TYPE_MISMATCH


# ---------------------------------------------------------------------------------------------
# Preflight: whole-column problems, found once per job from the source schema.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ColumnProblem:
    """A problem of a whole column: every row would be refused for it.

    ``column`` is the reason path of the problem (the column's, or a place inside it).
    """

    column: str
    code: ReasonCode
    expected: str
    actual: str
    message: str

    def reason(self) -> Reason:
        """The reason each row gets when column problems are quarantined."""
        return Reason(self.column, self.code, self.expected, self.actual, self.message)


@dataclass(frozen=True)
class Preflight:
    """The result of :func:`preflight`: the column problems (empty when the source fits)."""

    problems: tuple[ColumnProblem, ...]
    missing: tuple[str, ...] = ()
    extra: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when no column problem was found."""
        return not self.problems

    def message(self) -> str:
        """One readable message listing every problem."""
        lines = [f"The source does not fit the signature ({len(self.problems)} column problem(s)):"]
        lines += [f"  - {p.column}: {p.message}" for p in self.problems]
        lenient = [p.column for p in self.problems if "profile 'lenient'" in p.message]
        if lenient:
            lines.append(
                f"Hint: {', '.join(lenient)} {'holds' if len(lenient) == 1 else 'hold'} values looser "
                "than the signature (text for numbers, "
                "floats for integers); profile='lenient' converts the values that convert without loss "
                "and quarantines the rest."
            )
        return "\n".join(lines)

    def raise_for_problems(self) -> None:
        """Raise :class:`SchemaMismatchError` when there is any problem."""
        if self.problems:
            raise SchemaMismatchError(self.message())


def _lenient_ok(kind: str, t: DataType) -> bool:
    """Whether the lenient profile can try to convert values of ``kind`` to ``t``."""
    if kind == "str":
        return True
    if kind in _NUMPY_OF_KIND and kind != "bool":
        return t in (DataType.integer, DataType.long, DataType.float, DataType.double)
    if kind == "bool":
        return False
    return kind in ("timestamp_tz",) and t is DataType.datetime


def _type_problems(
    name: str, src: pa.DataType, t: Any, profile: str, top: bool = True, required: bool = True
) -> list[ColumnProblem]:
    """Column problems of a present column (recursing into nested types; ``top``: a column itself,
    where ``lenient`` converts values; it converts no value inside an array, object or map).

    A column or property of Arrow's ``null`` type (every value null: a field no record of a file
    or partition has) is no problem where it is optional: a null there is accepted, row by row;
    nor are elements or map values of that type (none at all, or only nulls, which each row's own
    check judges: they are passed as not required here).
    """
    kind = _src_kind(src)
    expected = repr(t)
    if isinstance(t, AnyType) or (kind == "null" and not required):
        return []
    if isinstance(t, DataType):
        if kind in ("list", "struct", "map", "other"):
            msg = f"holds {src} values, which can never convert to {t.name}"
            return [ColumnProblem(name, ReasonCode.TYPE_MISMATCH, expected, str(src), msg)]
        rule = scalar_rule(kind, t)
        lenient = top and _lenient_ok(kind, t)
        if rule != FAIL or (profile == "lenient" and lenient):
            return []
        msg = f"type {src} can not be safely converted to {t.name}"
        if lenient:
            msg += LENIENT_HINT
        return [ColumnProblem(name, _fail_code(kind, t), expected, str(src), msg)]
    if isinstance(t, Array):
        if kind != "list":
            msg = f"holds {src} values, expected a list type for {expected}"
            return [ColumnProblem(name, ReasonCode.INVALID_ARRAY, expected, str(src), msg)]
        return _type_problems(f"{name}[]", src.value_type, t.dtype, profile, top=False, required=False)
    if isinstance(t, Map):
        if kind != "map":
            msg = f"holds {src} values, expected a map<string, ...> type for {expected}"
            return [ColumnProblem(name, ReasonCode.INVALID_MAP, expected, str(src), msg)]
        if _src_kind(src.key_type) != "str":
            msg = f"map keys are {src.key_type}, the signature's maps have string keys"
            return [ColumnProblem(name, ReasonCode.INVALID_MAP, expected, str(src), msg)]
        return _type_problems(f'{name}[""]', src.item_type, t.value_type, profile, top=False, required=False)
    if isinstance(t, Object):
        if kind != "struct":
            msg = f"holds {src} values, expected a struct type for {expected}"
            return [ColumnProblem(name, ReasonCode.INVALID_OBJECT, expected, str(src), msg)]
        fields = {src.field(i).name: src.field(i).type for i in range(src.num_fields)}
        problems: list[ColumnProblem] = []
        # Fields the Object does not define are judged per row: a null there is an absent key
        # (a lake's struct is the union of its records' keys); a value is refused (MLflow's rule).
        for prop in t.properties:
            if prop.name not in fields:
                if prop.required:
                    msg = f"has no field '{prop.name}', a required property"
                    problems.append(
                        ColumnProblem(
                            child_path(name, prop.name),
                            ReasonCode.MISSING_REQUIRED,
                            repr(prop.dtype),
                            "missing",
                            msg,
                        )
                    )
                continue
            problems += _type_problems(
                child_path(name, prop.name),
                fields[prop.name],
                prop.dtype,
                profile,
                top=False,
                required=bool(prop.required),
            )
        return problems
    msg = f"unsupported signature type {t!r}"
    raise SignatureError(msg)


def checked_schema(schema: Schema | ModelSignature, part: str = "input") -> Schema:
    """The schema rows (``part``: ``input``) or predictions (``output``) are checked against;
    refused when they cannot be checked against it."""
    if isinstance(schema, ModelSignature):
        if schema.inputs is None:
            msg = "the signature has no input schema to enforce"
            raise SignatureError(msg)
        schema = schema.inputs
    if not isinstance(schema, Schema):
        msg = f"expected a Schema or ModelSignature, got {type(schema).__name__}"
        raise SignatureError(msg)
    if schema.is_tensor_spec():
        msg = "row enforcement supports column-based schemas (ColSpec); this schema is made of TensorSpecs"
        raise SignatureError(msg)
    names = [spec.name for spec in schema.inputs if spec.name is not None]
    twice = repeated_names(names)
    if twice:
        # MLflow reads such a schema, but a row has one value per column name
        msg = (
            f"the schema has more than one {part} named {', '.join(map(repr, twice))}; "
            f"{'rows' if part == 'input' else 'predictions'} cannot be checked against it"
        )
        raise SignatureError(msg)
    return schema


def _bind_columns(
    names: list[str], schema: Schema, labels: Mapping[str, Any] | None = None
) -> dict[int, str | None]:
    """Map each ColSpec index to its source column (by name, or by position when unnamed).

    ``labels`` are a DataFrame's columns labels (or the records' keys) by column name
    (``str(label)``): a name binds to the column whose label equals it, as in MLflow (``0`` binds
    to the label ``0``, not ``"0"``). Arrow columns have text names: ``0`` binds ``"0"`` there.
    """
    if schema.has_input_names():
        if labels:
            by_label = {labels[n]: n for n in names}
            return {i: by_label.get(spec.name) for i, spec in enumerate(schema.inputs)}  # type: ignore[arg-type]
        # Arrow columns are named by text: an integer name binds its text, as in the Arrow form
        return {
            i: (str(spec.name) if str(spec.name) in names else None) for i, spec in enumerate(schema.inputs)
        }
    return {i: (names[i] if i < len(names) else None) for i in range(len(schema.inputs))}


def _label(spec: Any, i: int) -> str:
    """A ColSpec's column name as text (its position when unnamed)."""
    return str(spec.name) if spec.name is not None else str(i)


def preflight(
    source_schema: pa.Schema, schema: Schema | ModelSignature, *, profile: Profile = "mlflow"
) -> Preflight:
    """Find the whole-column problems of a source before any row is read.

    Example:
        >>> import pyarrow as pa
        >>> from sigbatch import ColSpec, Schema
        >>> pf = preflight(pa.schema([("x", pa.string())]), Schema([ColSpec("long", "x"), ColSpec("double", "y")]))
        >>> [(p.column, p.code.value) for p in pf.problems]
        [('x', 'TYPE_MISMATCH'), ('y', 'MISSING_REQUIRED')]
    """
    if profile not in _PROFILES:
        msg = f"unknown profile {profile!r}; expected one of {list(_PROFILES)}"
        raise SignatureError(msg)
    return _preflight(source_schema, checked_schema(schema), profile)


def _preflight(
    source_schema: pa.Schema, schema: Schema, profile: str, labels: Mapping[str, Any] | None = None
) -> Preflight:
    """:func:`preflight`, binding names to a DataFrame's ``labels`` when given (see :func:`_bind_columns`)."""
    names = list(source_schema.names)
    _check_reserved(names)
    bound = _bind_columns(names, schema, labels)
    problems: list[ColumnProblem] = []
    missing = []
    for i, spec in enumerate(schema.inputs):
        column = bound[i]
        label = _label(spec, i)
        if column is None:
            if spec.required:
                missing.append(label)
                msg = f"required column '{label}' {ABSENT}"
                hint = _close_match(label, names)
                if hint == label and labels:
                    # the same text, another label: the DataFrame's label 0 is not the name '0'
                    msg += (
                        f" (Hint: the data labels that column {labels[hint]!r} "
                        f"({type(labels[hint]).__name__}), the signature names it {spec.name!r} "
                        f"({type(spec.name).__name__}))"
                    )
                elif hint:
                    msg += f" (Hint: did you mean '{hint}'?)"
                problems.append(
                    ColumnProblem(
                        path_name(label), ReasonCode.MISSING_REQUIRED, repr(spec.type), "missing", msg
                    )
                )
            continue
        problems += _type_problems(
            path_name(label),
            source_schema.field(column).type,
            spec.type,
            profile,
            required=bool(spec.required),
        )
    extra = tuple(n for n in names if n not in set(bound.values()))
    return Preflight(tuple(problems), tuple(missing), extra)


def _close_match(name: str, names: list[str]) -> str | None:
    import difflib

    found = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    return found[0] if found else None


# ---------------------------------------------------------------------------------------------
# Input normalisation
# ---------------------------------------------------------------------------------------------


@dataclass
class _Batch:
    """A batch as Arrow columns, plus the columns Arrow could not type (kept as Python lists)."""

    n: int
    arrow: dict[str, pa.Array]
    objects: dict[str, list[Any]]
    order: list[str]
    # list-of-dicts input only: per column, which rows had the key
    present: dict[str, np.ndarray] = field(default_factory=dict)
    # rows that are not records at all (e.g. a list in a list of dicts)
    not_records: dict[int, Any] = field(default_factory=dict)
    from_records: bool = False
    # DataFrame and records input: each column's own label (or key) by its name (``str(label)``)
    labels: dict[str, Any] | None = None
    frame: pd.DataFrame | None = None  # DataFrame input only: the frame itself

    def source_series(self, column: str) -> pd.Series | None:
        """A DataFrame input's own column (None for other inputs)."""
        return None if self.frame is None or self.labels is None else self.frame[self.labels[column]]


def _combine(col: pa.ChunkedArray | pa.Array) -> pa.Array:
    if isinstance(col, pa.ChunkedArray):
        return col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
    return col


def _unviewed(arr: pa.Array) -> pa.Array:
    """A column with text or bytes in Arrow's view layout, at any depth, as plain text and bytes
    (the same values; most kernels, such as take, have no view variant)."""
    plain = _plain_type(arr.type)
    return arr if plain.equals(arr.type) else arr.cast(plain)


def _plain_type(t: pa.DataType) -> pa.DataType:
    """``t`` with string_view and binary_view replaced by string and binary, at any depth."""
    plain = {"string_view": pa.string(), "binary_view": pa.binary()}
    return retyped(t, lambda leaf: plain.get(str(leaf), leaf))


def _from_records(rows: list[Any]) -> _Batch:
    order: list[str] = []
    seen: set[str] = set()
    not_records: dict[int, Any] = {}
    for i, row in enumerate(rows):
        if isinstance(row, dict):
            for key in row:
                if key not in seen:
                    seen.add(key)
                    order.append(key)
        else:
            not_records[i] = row
    n = len(rows)
    arrow: dict[str, pa.Array] = {}
    objects: dict[str, list[Any]] = {}
    present: dict[str, np.ndarray] = {}
    # An integer key binds as a DataFrame label does; its column is named by its text, or, when a
    # text key already has that name (0 and "0"), by its text and type.
    texts = {k for k in order if isinstance(k, str)}
    names = [
        k if isinstance(k, str) else (str(k) if str(k) not in texts else f"{k} ({type(k).__name__})")
        for k in order
    ]
    labels = dict(zip(names, order, strict=True))
    for key, name in zip(order, names, strict=True):
        # Every column stays Python: a record is judged alone, by its own values' types (MLflow
        # builds a one-row frame from it), not by a type Arrow would give the whole column.
        objects[name] = [row.get(key, None) if isinstance(row, dict) else None for row in rows]
        present[name] = np.fromiter((isinstance(r, dict) and key in r for r in rows), bool, n)
    return _Batch(n, arrow, objects, list(labels), present, not_records, from_records=True, labels=labels)


def _from_pandas(df: pd.DataFrame) -> _Batch:
    arrow: dict[str, pa.Array] = {}
    objects: dict[str, list[Any]] = {}
    order = [str(c) for c in df.columns]
    for name, col in zip(order, df.columns, strict=True):
        series = df[col]
        try:
            arr = _unviewed(_combine(pa.array(series, from_pandas=True)))  # Arrow-backed columns come chunked
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError):
            objects[name] = series.tolist()
            continue
        if (
            _src_kind(arr.type) in ("list", "struct", "map")
            and series.dtype == object
            and _has(arr.type, _may_coerce)
        ) or (series.dtype == object and _mixed_scalars(series, arr)):
            # Arrow turns ints next to floats into floats (and into times next to datetimes, text
            # into bytes next to bytes), and dicts into structs with every key any of them has (no
            # Map, extra null properties); MLflow judges each value by its own type and keys, so
            # such columns are checked value by value. Others keep the vectorised path.
            objects[name] = series.tolist()
        else:
            arrow[name] = arr
    labels = dict(zip(order, df.columns, strict=True))
    return _Batch(len(df), arrow, objects, order, labels=labels, frame=df)


def _may_coerce(t: pa.DataType) -> bool:
    """Whether Arrow may have made values of another kind into values of type ``t``, inside a
    nested column of Python objects."""
    return (
        pa.types.is_floating(t) or pa.types.is_struct(t) or pa.types.is_timestamp(t) or pa.types.is_binary(t)
    )


def _mixed_scalars(series: pd.Series, arr: pa.Array) -> bool:
    """Whether an object column holds scalars of several kinds, which Arrow coerced to one type
    (5 beside a datetime became a time, True beside 1.5 a 1.0, '1' beside bytes b'1', an aware
    datetime beside naive ones a shifted naive one): MLflow judges each row by its own value."""
    if _src_kind(arr.type) == "list":
        # arrays of several dtypes (or arrays beside lists) were widened to one: int32 beside int64
        # is int64, which an Array(integer) refuses for every row
        # (a missing cell, None, NaN or NA, is no kind: it is a null, decided with the others)
        return len({(type(v), getattr(v, "dtype", None)) for v in series if not _missing_cell(v)}) > 1
    if _src_kind(arr.type) in ("struct", "map"):
        return False
    if pd.api.types.infer_dtype(series, skipna=True).startswith("mixed"):
        return True
    return pa.types.is_timestamp(arr.type) and any(getattr(v, "tzinfo", None) is not None for v in series)


def _missing_cell(value: Any) -> bool:
    """Whether a DataFrame cell is a missing value (None, NaN of any float type, NaT, NA), not a
    value of a kind."""
    if value is None or isinstance(value, (list, tuple, dict, np.ndarray, str, bytes)):
        return value is None
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _has(t: pa.DataType, test: Any) -> bool:
    """Whether ``test`` holds for a (nested) Arrow type or any type inside it."""
    if test(t):
        return True
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        return _has(t.value_type, test)
    if pa.types.is_map(t):
        return _has(t.key_type, test) or _has(t.item_type, test)
    if pa.types.is_struct(t):
        return any(_has(t.field(i).type, test) for i in range(t.num_fields))
    return False


def _check_reserved(names: list[Any]) -> None:
    """Refuse source columns named as sigbatch's own output columns."""
    clash = reserved_columns(names)
    if clash:
        msg = (
            f"the source has columns named as sigbatch's own: {', '.join(map(repr, clash))}; rename or "
            "drop them (to score an earlier run's quarantined rows again, use `sigbatch replay`)"
        )
        raise SchemaMismatchError(msg)


def _normalise(data: Any) -> _Batch:
    batch = _batch_of(data)
    _check_reserved(batch.order)
    return batch


def _batch_of(data: Any) -> _Batch:
    if isinstance(data, pa.RecordBatch):
        data = pa.Table.from_batches([data])
    if isinstance(data, (pa.Table, pd.DataFrame)):
        names = [str(c) for c in (data.column_names if isinstance(data, pa.Table) else data.columns)]
        twice = repeated_names(names)
        if twice:
            msg = f"the data has more than one column named {', '.join(map(repr, twice))}; column names must be unique"
            raise SchemaMismatchError(msg)
    if isinstance(data, pa.Table):
        return _Batch(
            data.num_rows,
            {n: _unviewed(_combine(data.column(n))) for n in data.column_names},
            {},
            list(data.column_names),
        )
    if isinstance(data, pd.DataFrame):
        return _from_pandas(data)
    if isinstance(data, list):
        return _from_records(data)
    msg = (
        "enforce() takes a pandas DataFrame, a pyarrow Table or RecordBatch, a list of dicts or a dict; "
        f"got {type(data).__name__}"
    )
    raise SignatureError(msg)


def _dict_input(data: dict[Any, Any], schema: Schema) -> list[Any] | pd.DataFrame:
    """A dict as MLflow reads it: one record when the signature has arrays or objects or when every
    value is a scalar (or a list of strings), else a dict of columns.

    Raises:
        SignatureError: The columns do not make a DataFrame (e.g. lists of different lengths).
    """

    def scalar(value: Any) -> bool:
        return value is None or bool(np.isscalar(value))

    if any(isinstance(spec.type, (Array, Object)) for spec in schema.inputs) or all(
        scalar(v) or (isinstance(v, list) and all(isinstance(x, str) for x in v)) for v in data.values()
    ):
        return [data]
    values = list(data.values())
    if all(isinstance(v, np.ndarray) and v.shape == () and v.dtype.type is np.str_ for v in values):
        return [data]  # model serving's 0-d text arrays: one record
    try:
        # arrays of 2 or more dimensions as nested lists (pandas takes no such column)
        return pd.DataFrame(
            {k: v.tolist() if isinstance(v, np.ndarray) and v.ndim > 1 else v for k, v in data.items()}
        )
    except Exception as exc:  # pandas' own message says what is wrong (lengths, index)
        msg = (
            "This model contains a column-based signature, which suggests a DataFrame input. There was "
            f"an error casting the input data to a DataFrame: {exc}"
        )
        raise SignatureError(msg) from exc


# ---------------------------------------------------------------------------------------------
# The vectorised walk: per row, good / bad / "ask the exact per-value rules"
# ---------------------------------------------------------------------------------------------


def _children(arr: pa.Array) -> tuple[pa.Array, np.ndarray]:
    """The elements of a list or map array and, for each, the position of its row.

    Works from the offsets (not ``flatten``), so elements stored behind null slots keep their
    parent and are ignored by the caller through the parent's null flag.
    """
    if pa.types.is_fixed_size_list(arr.type):
        arr = arr.cast(pa.list_(arr.type.value_type))
    offsets = np.asarray(arr.offsets, dtype=np.int64)
    start, end = int(offsets[0]), int(offsets[-1])
    child = arr.items if pa.types.is_map(arr.type) else arr.values
    parents = np.repeat(np.arange(len(arr), dtype=np.int64), np.diff(offsets))
    return child.slice(start, end - start), parents


def _to_rows(child_flags: np.ndarray, parents: np.ndarray, n: int) -> np.ndarray:
    """True for each row with at least one flagged element."""
    if not len(parents):
        return np.zeros(n, dtype=bool)
    return np.bincount(parents, weights=child_flags, minlength=n) > 0


_ARRAY_TEXT_CASTS = {("bytes", DataType.string), ("str", DataType.binary)}


def _nulls(arr: pa.Array) -> np.ndarray:
    if arr.null_count == 0:
        return np.zeros(len(arr), dtype=bool)
    return np.asarray(arr.is_null())


def _has_object(t: Any) -> bool:
    """Whether an Object is in ``t`` (itself, or an array's or map's values at any depth)."""
    if isinstance(t, Object):
        return True
    if isinstance(t, Array):
        return _has_object(t.dtype)
    if isinstance(t, Map):
        return _has_object(t.value_type)
    return False


def _copied(value: Any) -> Any:
    """``value`` with its dicts and lists copied (the rest shared)."""
    if isinstance(value, dict):
        return {k: _copied(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copied(v) for v in value]
    return value


def _null_elements(value: Any, t: Any, path: str) -> list[Reason]:
    """Profile ``strict``: the null elements of the arrays in ``value`` (a row MLflow accepts, which
    would hand the model ``None`` as text: ``'n'``), one NULL_REQUIRED reason each."""
    found: list[Reason] = []
    if isinstance(t, Array) and isinstance(value, (list, np.ndarray)):
        for i, item in enumerate(value):
            here = index_path(path, i)
            if item is None and not isinstance(t.dtype, AnyType):
                message = f"element {i} of {path} is null; profile 'strict' refuses nulls where the signature requires values"
                found.append(Reason(here, ReasonCode.NULL_REQUIRED, repr(t.dtype), "null", message))
            elif item is not None:
                found += _null_elements(item, t.dtype, here)
    elif isinstance(t, Object) and isinstance(value, dict):
        for prop in t.properties:
            if value.get(prop.name) is not None:
                found += _null_elements(value[prop.name], prop.dtype, child_path(path, prop.name))
    elif isinstance(t, Map) and isinstance(value, dict):
        for key, item in value.items():
            if item is not None:
                found += _null_elements(item, t.value_type, key_path(path, key))
    return found


def _walk(
    arr: pa.Array, t: Any, required: bool, nested: bool, strict: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """(bad, unsure) masks over ``arr``'s slots for type ``t``.

    ``bad`` is certain; ``unsure`` rows are decided by the exact per-value rules (with ``strict``,
    every row holding a null element is one, for strict's refusal of it). ``nested`` is
    True where values are Python objects of their own (ints are int64, ...): a record's scalars and
    everything in a map. Elsewhere a list is a numpy array of its own type, as pandas reads it from
    Parquet (in a column, a list of lists, or a record of a column or list).
    """
    n = len(arr)
    bad = np.zeros(n, dtype=bool)
    unsure = np.zeros(n, dtype=bool)
    if isinstance(t, AnyType):
        return bad, unsure
    kind = _src_kind(arr.type)
    nulls = _nulls(arr)
    if isinstance(t, DataType):
        if kind in ("list", "struct", "map", "other"):
            return ~nulls if not required else np.ones(n, dtype=bool), unsure
        if nested:
            if required:
                bad |= nulls
            if kind in ("timestamp", "timestamp_tz", "date"):
                # a Python datetime/date is not a numpy scalar: MLflow refuses it in a dict
                bad |= ~nulls
                return bad, unsure
            rule = scalar_rule(_value_kind(kind), t)
            if rule == FAIL:
                refused = ~nulls
                if not required and kind in ("float16", "float32", "float64"):
                    # MLflow takes a NaN where a value is optional for the missing value (None)
                    refused &= ~np.asarray(pc.fill_null(pc.is_nan(arr), False), dtype=bool)
                bad |= refused
            elif rule in (ZERO_ONE, PER_VALUE):  # 0/1 ints for floats; bytes pd.to_numeric may parse
                unsure |= ~nulls
            return bad, unsure
        return bad, unsure  # top-level scalars are handled by _scalar_column
    if isinstance(t, Array):
        if kind != "list":
            return (~nulls if not required else np.ones(n, dtype=bool)), unsure
        if required and not isinstance(t.dtype, AnyType):
            bad |= nulls
        values, parents = _children(arr)
        live = ~nulls[parents]  # elements behind a null slot say nothing about the row
        if isinstance(t.dtype, DataType):
            # MLflow converts the whole list to one pandas Series: its dtype depends on the row.
            child_nulls = _nulls(values) & live
            row_has_null = _to_rows(child_nulls, parents, n)
            child_kind = _src_kind(values.type)
            # A list of numbers outside maps is a numpy array of its own element type (as pandas
            # reads list<int32> from Parquet); in a map, lists are Python lists (int64 ...).
            numbers = not nested and _numeric_list(arr.type, t)
            rule = scalar_rule(child_kind if numbers else _value_kind(child_kind), t.dtype)
            lengths = np.asarray(pc.fill_null(pc.list_value_length(arr), 0))
            nonempty = (lengths > 0) & ~nulls
            if t.dtype is DataType.datetime and child_kind in ("timestamp", "date") and rule != FAIL:
                # the list passes through pandas' nanoseconds: a time beyond them is refused
                unsure |= _to_rows(_outside_nanoseconds(values) & live, parents, n)
            if rule == FAIL:
                bad |= nonempty & ~row_has_null
            elif rule in (ZERO_ONE, PER_VALUE) or (child_kind, t.dtype) in _ARRAY_TEXT_CASTS:
                # decided per value: 0/1 ints, or numpy's text <-> bytes conversion (ASCII only)
                unsure |= nonempty
            if strict or not (numbers and rule == OK and pa.types.is_floating(values.type)):
                # a null in a float array is NaN of the array's own dtype, not a row to judge apart
                # (but strict refuses null elements, row by row)
                unsure |= nonempty & row_has_null
            return bad, unsure & ~bad
        below = nested if isinstance(t.dtype, (Array, Object)) else True
        child_bad, child_unsure = _walk(values, t.dtype, required, nested=below, strict=strict)
        bad |= _to_rows(child_bad & live, parents, n)
        unsure |= _to_rows(child_unsure & live, parents, n)
        return bad, unsure & ~bad
    if isinstance(t, Map):
        if kind != "map":
            # a null slot of an optional map is no value to refuse (an all-null column is Arrow's null type)
            return (~nulls if not required else np.ones(n, dtype=bool)), unsure
        if required and not isinstance(t.value_type, AnyType):
            bad |= nulls
        items, parents = _children(arr)
        live = ~nulls[parents]
        child_bad, child_unsure = _walk(items, t.value_type, required, nested=True, strict=strict)
        bad |= _to_rows(child_bad & live, parents, n)
        unsure |= _to_rows(child_unsure & live, parents, n)
        return bad, unsure & ~bad
    if isinstance(t, Object):
        if kind != "struct":
            return (~nulls if not required else np.ones(n, dtype=bool)), unsure
        if required:
            bad |= nulls
        valid = ~nulls
        fields = {arr.type.field(i).name: i for i in range(arr.type.num_fields)}
        for name, i in fields.items():
            if t.property(name) is None:
                bad |= valid & ~_nulls(arr.field(i))  # a key the Object does not define
        for prop in t.properties:
            if prop.name not in fields:
                if prop.required:
                    bad |= valid
                continue
            child = arr.field(fields[prop.name])
            below = nested if isinstance(prop.dtype, (Array, Object)) else True
            child_bad, child_unsure = _walk(
                child, prop.dtype, bool(prop.required), nested=below, strict=strict
            )
            bad |= child_bad & valid
            unsure |= child_unsure & valid
        return bad, unsure & ~bad
    msg = f"unsupported signature type {t!r}"
    raise SignatureError(msg)


def _numeric_list(arrow_type: pa.DataType, t: Any) -> bool:
    """Whether a column of Arrow ``arrow_type`` for signature type ``t`` is lists of numbers for
    an Array of numbers (at the bottom of lists of lists)."""
    if not (isinstance(t, Array) and _src_kind(arrow_type) == "list"):
        return False
    while isinstance(t, Array) and _src_kind(arrow_type) == "list":
        t, arrow_type = t.dtype, arrow_type.value_type
    return t in _NUMBER_TYPES and (pa.types.is_integer(arrow_type) or pa.types.is_floating(arrow_type))


_NUMBER_TYPES = (DataType.integer, DataType.long, DataType.float, DataType.double)


_ISO_DATETIME = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?$"
# with a zone: Z or an offset (+02:00, +0200, +02)
_ISO_DATETIME_ZONE = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[-+]\d{2}(:?\d{2})?)$"
_NUMERIC = r"^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$"
_INTEGRAL = r"^\s*[-+]?\d+\s*$"
_INT_RANGE = {DataType.integer: (-(2**31), 2**31 - 1), DataType.long: (-(2**63), 2**63 - 1)}


def _null_where(mask: np.ndarray, arr: pa.Array) -> pa.Array:
    """``arr`` with the slots in ``mask`` set to null."""
    return pc.if_else(pa.array(mask), pa.scalar(None, arr.type), arr)


def _text_to_ints(text: pa.Array, t: DataType, nulls: np.ndarray) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """Integer text converts exactly; integral decimal text ("3.0") too; the rest is refused."""
    n = len(text)
    is_num = np.asarray(pc.fill_null(pc.match_substring_regex(text, _NUMERIC), False))
    is_int = np.asarray(pc.fill_null(pc.match_substring_regex(text, _INTEGRAL), False))
    mismatch = ~is_num & ~nulls
    ints = np.zeros(n, dtype=np.int64)
    unsafe = np.zeros(n, dtype=bool)
    for i in np.flatnonzero(is_int):
        value = int(text[int(i)].as_py())  # exact, whatever the size
        lo, hi = _INT_RANGE[t]
        if lo <= value <= hi:
            ints[i] = value
        else:
            unsafe[i] = True
    decimal_text = is_num & ~is_int
    if decimal_text.any():
        floats = pc.cast(_null_where(~decimal_text, text), pa.float64())
        conv, _, unsafe_f = _floats_to_ints(floats, t, ~decimal_text)
        ints = np.where(decimal_text, np.asarray(pc.fill_null(conv.cast(pa.int64()), 0)), ints)
        unsafe |= unsafe_f
    keep = ~(nulls | mismatch | unsafe)
    return pa.array(ints.astype(t.to_numpy()), mask=~keep), mismatch, unsafe


def _floats_to_ints(
    values: pa.Array, t: DataType, skip: np.ndarray
) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """Integral, in-range floats become integers; others are unsafe casts (``skip`` slots ignored)."""
    lo, hi = _INT_RANGE[t]
    fl = np.asarray(pc.fill_null(values.cast(pa.float64()), 0.0), dtype=np.float64)
    with np.errstate(invalid="ignore"):
        integral = np.isfinite(fl) & (np.floor(fl) == fl) & (fl >= lo) & (fl <= hi)
    unsafe = ~skip & ~integral
    keep = ~(skip | unsafe)
    out = np.where(keep, fl, 0).astype(t.to_numpy())
    return pa.array(out, mask=~keep), np.zeros(len(fl), dtype=bool), unsafe


def _ints_to_ints(
    values: pa.Array, t: DataType, nulls: np.ndarray
) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """Integers of another width: in range converts, out of range is an unsafe cast."""
    lo, hi = _INT_RANGE[t]
    unsafe = np.zeros(len(values), dtype=bool)
    if values.type == pa.uint64():
        # a uint64 scalar: a Python int would be cast to int64 first, and 2**63 does not fit
        above = pc.greater(values, pa.scalar(2**63 - 1, pa.uint64()))
        unsafe |= np.asarray(pc.fill_null(above, False))
        values = _null_where(unsafe, values)
    ints = np.asarray(pc.fill_null(pc.cast(values, pa.int64(), safe=False), 0), dtype=np.int64)
    unsafe |= ~nulls & ((ints < lo) | (ints > hi))
    keep = ~(nulls | unsafe)
    return (
        pa.array(np.where(keep, ints, 0).astype(t.to_numpy()), mask=~keep),
        np.zeros(len(ints), dtype=bool),
        unsafe,
    )


def _lenient_convert(arr: pa.Array, t: DataType) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """Convert values losslessly to ``t``: (converted, type_mismatch mask, unsafe_cast mask).

    A time pandas cannot hold in nanoseconds (the year 2300) does not convert without loss.
    """
    converted, mismatch, unsafe = _lenient_values(arr, t)
    if t is DataType.datetime and pa.types.is_timestamp(converted.type):
        outside = _outside_nanoseconds(converted) & ~mismatch & ~unsafe
        if outside.any():
            return _null_where(outside, converted), mismatch, unsafe | outside
    return converted, mismatch, unsafe


def _lenient_values(arr: pa.Array, t: DataType) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """:func:`_lenient_convert` before the range of pandas' datetimes is checked."""
    n = len(arr)
    kind = _src_kind(arr.type)
    target = _arrow_scalar(t)
    nulls = _nulls(arr)
    none = np.zeros(n, dtype=bool)
    if kind == "str":
        text = pc.utf8_trim_whitespace(arr)
        if t in (DataType.integer, DataType.long):
            return _text_to_ints(text, t, nulls)
        if t in (DataType.float, DataType.double):
            is_num = np.asarray(pc.fill_null(pc.match_substring_regex(text, _NUMERIC), False))
            mismatch = ~is_num & ~nulls
            as_float = pc.cast(_null_where(~is_num, text), pa.float64())
            # beyond a double's range: "1e400" reads as inf, "1e-400" as 0.0 (its mantissa is not 0)
            lossy = np.asarray(pc.fill_null(pc.is_inf(as_float), False)) | (
                np.asarray(pc.fill_null(pc.equal(as_float, 0.0), False))
                & np.asarray(pc.fill_null(pc.match_substring_regex(text, r"^[^eE]*[1-9]"), False))
            )
            if t is DataType.double:
                return _null_where(lossy, as_float), mismatch, lossy
            narrowed = pc.cast(as_float, pa.float32(), safe=False)
            lossy |= np.asarray(pc.fill_null(pc.not_equal(pc.cast(narrowed, pa.float64()), as_float), False))
            return _null_where(lossy, narrowed), mismatch, lossy
        if t is DataType.boolean:
            lower = pc.utf8_lower(text)
            is_true = np.asarray(pc.fill_null(pc.equal(lower, "true"), False))
            is_false = np.asarray(pc.fill_null(pc.equal(lower, "false"), False))
            mismatch = ~(is_true | is_false) & ~nulls
            return pa.array(is_true, mask=nulls | mismatch), mismatch, none
        if t is DataType.datetime:
            # text with a zone becomes the same instant as a naive UTC time, as a zoned timestamp does
            zoned = np.asarray(pc.fill_null(pc.match_substring_regex(text, _ISO_DATETIME_ZONE), False))
            is_iso = np.asarray(pc.fill_null(pc.match_substring_regex(text, _ISO_DATETIME), False)) | zoned
            mismatch = ~is_iso & ~nulls
            cleaned = pc.replace_substring(_null_where(~is_iso, text), "T", " ")
            try:
                parsed = pc.cast(_null_where(zoned, cleaned), pa.timestamp("us"))
                if zoned.any():
                    utc = pc.cast(_null_where(~zoned, cleaned), pa.timestamp("us", tz="UTC"))
                    parsed = pc.if_else(pa.array(zoned), utc.cast(pa.timestamp("us")), parsed)
            except pa.ArrowInvalid:  # e.g. month 13: refuse those values one by one
                parsed_values = []
                for i in range(n):
                    value = cleaned[i].as_py()
                    try:
                        stamp = None if value is None else pd.Timestamp(value)
                    except ValueError:
                        stamp = None
                        mismatch[i] = True
                    if stamp is not None and stamp.tzinfo is not None:
                        stamp = stamp.tz_convert("UTC").tz_localize(None)
                    parsed_values.append(None if stamp is None else stamp.to_pydatetime())
                parsed = pa.array(parsed_values, pa.timestamp("us"))
            # a datetime holds microseconds: a non-zero digit after the sixth is lost
            lossy = (
                np.asarray(pc.fill_null(pc.match_substring_regex(text, r"\.\d{6}0*[1-9]"), False)) & is_iso
            )
            return _null_where(lossy, parsed), mismatch, lossy
    if kind in _NUMPY_OF_KIND and kind != "bool":
        if t in (DataType.integer, DataType.long):
            if kind.startswith("float"):
                return _floats_to_ints(arr, t, nulls)
            return _ints_to_ints(arr, t, nulls)
        if t in (DataType.float, DataType.double):
            as_float = pc.cast(arr, pa.float64(), safe=False)
            back = pc.cast(as_float, arr.type, safe=False)
            lossy = np.asarray(pc.fill_null(pc.not_equal(back, arr), False))
            if t is DataType.float:
                narrowed = pc.cast(as_float, pa.float32(), safe=False)
                lossy |= np.asarray(
                    pc.fill_null(pc.not_equal(pc.cast(narrowed, pa.float64()), as_float), False)
                )
                return _null_where(lossy, narrowed), none, lossy
            return _null_where(lossy, as_float), none, lossy
    if kind == "timestamp_tz" and t is DataType.datetime:
        # the same instants, as naive UTC timestamps
        return arr.cast(pa.timestamp(arr.type.unit)), none, none
    return pa.nulls(n, target), ~nulls, none


def _arrow_scalar(t: DataType) -> pa.DataType:
    """The Arrow type of a scalar signature type (the hub's mapping)."""
    from sigbatch.arrow import arrow_type

    return arrow_type(t)


# ---------------------------------------------------------------------------------------------
# enforce()
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EnforceResult:
    """The outcome of :func:`enforce`.

    Attributes:
        valid: the conforming rows, columns in signature order and cast to the signature's types.
        quarantine: the refused rows: the original columns in their source types, plus
            ``_sigbatch_errors``, ``_sigbatch_stage`` and ``_sigbatch_row``.
        valid_mask: one bool per input row, in input order.
        reasons: per refused input row index, its reasons.
        columns: per ColSpec, the conformed values for the valid rows (what the model receives).
    """

    valid: pa.Table
    quarantine: pa.Table
    valid_mask: np.ndarray
    reasons: dict[int, list[Reason]]
    schema: Schema
    _py_columns: dict[str, pd.Series] = field(default_factory=dict, repr=False)
    _batch: _Batch | None = field(default=None, repr=False)
    _model_sources: dict[str, pa.Array] = field(default_factory=dict, repr=False)

    @property
    def input_columns(self) -> list[str] | None:
        """The input's column names (None when the result was not built from an input batch)."""
        return None if self._batch is None else list(self._batch.order)

    def source_rows(self, rows: np.ndarray, columns: list[str] | None = None) -> pa.Table:
        """The input rows at positions ``rows``, original columns in their source types."""
        assert self._batch is not None
        return _source_table(self._batch, np.asarray(rows, dtype=np.int64), columns)

    def quarantine_rows(
        self, rows: np.ndarray, reasons: dict[int, list[Reason]], stage: Stage | dict[int, Stage]
    ) -> pa.Table:
        """A quarantine table for input rows refused at any stage (one stage, or one per row)."""
        assert self._batch is not None
        return _quarantine_table(self._batch, np.asarray(rows, dtype=np.int64), reasons, stage)

    @property
    def n_valid(self) -> int:
        """Number of conforming rows."""
        return int(self.valid_mask.sum())

    @property
    def n_quarantined(self) -> int:
        """Number of refused rows."""
        return int(len(self.valid_mask) - self.valid_mask.sum())

    def to_pandas(self) -> pd.DataFrame:
        """The valid rows as the pandas frame MLflow's enforcement hands a model.

        Scalar columns get MLflow's numpy dtypes (int64 for long, float32 for float, ...; an
        optional integer column with missing values becomes float64 with NaN, as pandas holds
        it); text columns the dtype MLflow gives them (a DataFrame's own, else pandas' text
        dtype: ``str`` on pandas 3); nested columns hold Python lists and dicts.
        """
        return model_frame(self.valid, self.schema, self._py_columns, self._model_sources)


def model_frame(
    valid: pa.Table,
    schema: Schema,
    py_columns: dict[str, pd.Series] | None = None,
    sources: dict[str, pa.Array] | None = None,
) -> pd.DataFrame:
    """The pandas frame a model receives for a conformed table (see :meth:`EnforceResult.to_pandas`).

    ``py_columns`` are values already in MLflow's form; ``sources`` Arrow values (valid rows only)
    to hand over as Python objects instead of the conformed column.
    """
    py_columns = py_columns or {}
    sources = sources or {}
    data: dict[Any, Any] = {}
    for i, spec in enumerate(schema.inputs):
        name = _label(spec, i)
        if name not in valid.column_names:
            continue
        key = spec.name if spec.name is not None else i
        col = valid.column(name)
        t = spec.type
        if name in py_columns:
            data[key] = py_columns[name]
        elif name in sources and isinstance(t, DataType):
            # a column MLflow hands on untouched: as pandas reads it (a null in text is NaN)
            data[key] = _combine(sources[name]).to_pandas()
        elif name in sources:
            data[key] = _nested_series(sources[name], t)
        elif isinstance(t, DataType):
            if t is DataType.string:  # pandas' own text dtype, as for a Parquet read (str on pandas 3)
                data[key] = col.to_pandas()
            elif t is DataType.binary:
                data[key] = pd.Series(col.to_pylist(), dtype=object)
            elif t is DataType.datetime:
                data[key] = pd.Series(col.to_numpy(zero_copy_only=False)).astype("datetime64[ns]")
            elif t is DataType.boolean and col.null_count:
                data[key] = pd.Series(col.to_pylist(), dtype=object)
            elif col.null_count and t not in (DataType.float, DataType.double):
                # integers with missing values: float64 with NaN, as pandas holds them
                data[key] = pd.Series(
                    np.asarray(col.cast(pa.float64(), safe=False).to_numpy(zero_copy_only=False))
                )
            else:
                data[key] = pd.Series(np.asarray(col.to_numpy(zero_copy_only=False)).astype(t.to_numpy()))
        else:
            data[key] = _nested_series(col, t)
    # the columns were built for this frame: no copy (pandas would copy them into one block per dtype)
    return pd.DataFrame(data, index=pd.RangeIndex(valid.num_rows), copy=False)


def _nested_series(col: pa.ChunkedArray | pa.Array, t: Any) -> pd.Series:
    """A nested column as the model receives it.

    Lists arrive as numpy arrays (what MLflow hands a model for a frame read from Parquet) when
    that conversion already gives MLflow's values; otherwise values are built in Python.
    """
    arr = _combine(col)
    if isinstance(t, Array) and isinstance(t.dtype, DataType) and not _needs_python_pass(arr, t):
        return pd.Series(arr.to_pandas(), dtype=object).reset_index(drop=True)
    return pd.Series(_python_values(arr, t), dtype=object)


def _python_values(col: pa.ChunkedArray | pa.Array, t: Any) -> list[Any]:
    """Nested values as MLflow hands them to the model: lists, dicts (maps too)."""
    values = col.to_pylist()
    if _needs_python_pass(_combine(col), t):
        values = [_mlflow_form(_maps_to_dicts(v, t), t) for v in values]
    return values


def _needs_python_pass(arr: pa.Array, t: Any) -> bool:
    """Whether Arrow's Python values of ``arr`` differ from MLflow's for ``t`` (maps, undefined
    struct fields below the top, lists of scalars with null items or datetimes)."""
    if isinstance(t, Map):
        return True
    if isinstance(t, Array):
        if _src_kind(arr.type) != "list":  # list, large_list or fixed_size_list
            return True
        child, _ = _children(arr)
        if isinstance(t.dtype, DataType):
            # MLflow passes the list through a numpy array of the signature's dtype: that changes
            # null items, datetimes, and values of another kind (b"" in a boolean list is False)
            own_kind = _src_kind(_arrow_scalar(t.dtype))
            return t.dtype is DataType.datetime or child.null_count > 0 or _src_kind(child.type) != own_kind
        return _needs_python_pass(child, t.dtype)
    if isinstance(t, Object):
        if not pa.types.is_struct(arr.type):
            return True
        for i in range(arr.type.num_fields):
            prop = t.property(arr.type.field(i).name)
            if prop is None or _needs_python_pass(arr.field(i), prop.dtype):
                return True
    if isinstance(t, DataType):
        # a scalar inside a dict: unchanged only when Arrow's Python value is of the natural type
        natural = {
            DataType.string: "str",
            DataType.binary: "bytes",
            DataType.boolean: "bool",
            DataType.long: "int64",
            DataType.double: "float64",
        }.get(t)
        return natural is None or _value_kind(_src_kind(arr.type)) != natural
    return False


def _mlflow_form(value: Any, t: Any) -> Any:
    """A list of scalars as MLflow passes it on: through a numpy array of the signature's dtype
    (None items become False, nan or text; datetimes become integers), when that changes it."""
    if value is None:
        return None
    if isinstance(t, Array) and isinstance(value, list):
        if isinstance(t.dtype, DataType):
            floats = t.dtype in (DataType.float, DataType.double)
            if (
                t.dtype in _NUMBER_TYPES
                and value
                and all(type(v) in (int, float) or (floats and v is None) for v in value)
            ):
                # accepted numbers: the signature's dtype, a null as NaN in floats (a list<int16>
                # of a record's Array(integer) is accepted, but its Python ints would say int64)
                numbers = [np.nan if v is None else v for v in value]
                return np.asarray(numbers, dtype=t.dtype.to_numpy()).tolist()
            if value:
                from sigbatch.pyvalues import conform_series

                series = conform_series("", pd.Series(value), t.dtype)
                return series.to_numpy(dtype=t.dtype.to_numpy()).tolist()
            return value
        return [_mlflow_form(v, t.dtype) for v in value]
    if isinstance(t, Map) and isinstance(value, dict):
        return {k: _mlflow_form(v, t.value_type) for k, v in value.items()}
    if isinstance(t, Object) and isinstance(value, dict):
        return {k: _mlflow_form(v, p.dtype) if (p := t.property(k)) else v for k, v in value.items()}
    if isinstance(t, DataType) and value is not None and type(value) not in _NATURAL.get(t, ()):
        return check_value(value, t, False)[0]  # MLflow's value for a scalar in a dict or map
    return value


# Python types whose values MLflow hands on unchanged as a scalar of each type inside a dict
_NATURAL: dict[DataType, tuple[type, ...]] = {
    DataType.string: (str,),
    DataType.binary: (bytes,),
    DataType.boolean: (bool,),
    DataType.long: (int,),
    DataType.double: (float,),
}


def _maps_to_dicts(value: Any, t: Any) -> Any:
    """A row's Python value as MLflow sees the record: maps as dicts, and struct fields the
    Object does not define dropped when null (they are keys the record did not have)."""
    if value is None:
        return None
    if isinstance(t, Map):
        pairs = value.items() if isinstance(value, dict) else value
        return {k: _maps_to_dicts(v, t.value_type) for k, v in pairs}
    if isinstance(t, Array) and isinstance(value, list):
        return [_maps_to_dicts(v, t.dtype) for v in value]
    if isinstance(t, Object) and isinstance(value, dict):
        out = {}
        for k, v in value.items():
            prop = t.property(k)
            if prop is None:
                if v is not None:
                    out[k] = v
            else:
                out[k] = _maps_to_dicts(v, prop.dtype)
        return out
    return value


def _needs_reshape(t: Any) -> bool:
    """Whether Arrow's Python form of ``t`` differs from MLflow's (maps, objects)."""
    if isinstance(t, (Map, Object)):
        return True
    return isinstance(t, Array) and _needs_reshape(t.dtype)


def _row_value(arr: pa.Array, i: int, t: Any) -> Any:
    value = arr[i].as_py()
    return _maps_to_dicts(value, t) if _needs_reshape(t) else value


def _as_pandas_reads(value: Any, arrow_type: pa.DataType, in_map: bool = False) -> Any:
    """A row's value (from :func:`_row_value`) as pandas reads it from Parquet, and so as MLflow
    judges it: outside maps, a list of numbers is a numpy array of its own dtype (a null in floats
    is NaN), in a column, a list or a record alike (the rule :func:`_walk` follows); in a map,
    values stay Python. A list of integers holding a null stays Python: :func:`check_value` judges
    it as pandas' float64 array, and names the null apart."""
    if value is None:
        return None
    kind = _src_kind(arrow_type)
    if kind == "map" and isinstance(value, dict):
        return {k: _as_pandas_reads(v, arrow_type.item_type, True) for k, v in value.items()}
    if kind == "list" and isinstance(value, list):
        child = arrow_type.value_type
        if not in_map and pa.types.is_floating(child):
            return np.array([np.nan if v is None else v for v in value], dtype=child.to_pandas_dtype())
        if not in_map and pa.types.is_integer(child) and None not in value:
            return np.array(value, dtype=child.to_pandas_dtype())
        return [_as_pandas_reads(v, child, in_map) for v in value]
    if kind == "struct" and isinstance(value, dict):
        fields = {f.name: f.type for f in arrow_type}
        return {k: _as_pandas_reads(v, fields[k], in_map) if k in fields else v for k, v in value.items()}
    return value


def _scalar_column(
    name: str, arr: pa.Array, spec: ColSpec, profile: str, reasons: dict[int, list[Reason]]
) -> tuple[np.ndarray, pa.Array]:
    """Bad-row mask and conformed values of a top-level scalar column."""
    t: DataType = spec.type  # type: ignore[assignment]
    n = len(arr)
    kind = _src_kind(arr.type)
    nulls = _nulls(arr)
    bad = np.zeros(n, dtype=bool)
    expected = t.name
    rule = scalar_rule(kind, t)
    if profile == "lenient" and rule in (FAIL, ZERO_ONE):  # ints other than 0 and 1 convert too
        converted, mismatch, unsafe = _lenient_convert(arr, t)
        for code, mask, what in (
            (ReasonCode.TYPE_MISMATCH, mismatch, "does not convert to"),
            (ReasonCode.UNSAFE_CAST, unsafe & ~mismatch, "does not convert without loss to"),
        ):
            for i in np.flatnonzero(mask):
                value = arr[int(i)].as_py()
                reasons.setdefault(int(i), []).append(
                    Reason(
                        path_name(name),
                        code,
                        expected,
                        describe_value(value),
                        f"value {value!r} {what} {t.name}",
                    )
                )
        bad |= mismatch | unsafe
        arr = converted
        kind = _src_kind(arr.type)
        rule = OK
    if rule == FAIL:
        bad |= ~nulls
        code = _fail_code(kind, t)
        for i in np.flatnonzero(bad):
            value = arr[int(i)].as_py()
            reasons.setdefault(int(i), []).append(
                Reason(
                    path_name(name),
                    code,
                    expected,
                    f"{arr.type} {describe_value(value)}",
                    f"Incompatible input types for column {name}. Can not safely convert {_NUMPY_OF_KIND.get(kind, arr.type)} to {t.to_numpy()}.",
                )
            )
    elif rule == PER_VALUE:
        from sigbatch.pyvalues import ColumnViolation, conform_series

        numbers: list[Any] = [None] * n
        for pos in np.flatnonzero(~nulls):
            row = int(pos)
            value = arr[row].as_py()
            try:
                numbers[row] = float(conform_series(name, pd.Series([value], dtype=object), t).iloc[0])
            except ColumnViolation as exc:
                bad[row] = True
                reasons.setdefault(row, []).append(
                    Reason(path_name(name), exc.code, expected, describe_value(value), exc.message)
                )
        arr = pa.array(numbers, pa.float64())
    elif rule == ZERO_ONE:
        zero_one = np.asarray(pc.fill_null(pc.is_in(arr, pa.array([0, 1], arr.type)), True))
        not_01 = ~zero_one & ~nulls
        bad |= not_01
        for i in np.flatnonzero(not_01):
            value = arr[int(i)].as_py()
            reasons.setdefault(int(i), []).append(
                Reason(
                    path_name(name),
                    ReasonCode.UNSAFE_CAST,
                    expected,
                    f"{arr.type} {describe_value(value)}",
                    f"Incompatible input types for column {name}. Can not safely convert int64 to {t.to_numpy()}.",
                )
            )
    if t is DataType.datetime and kind in ("timestamp", "date") and rule != FAIL:
        # pandas holds datetimes in nanoseconds: MLflow refuses a time it cannot hold
        outside = _outside_nanoseconds(arr) & ~nulls & ~bad
        bad |= outside
        for i in np.flatnonzero(outside):
            text = _time_text(arr, int(i))
            reasons.setdefault(int(i), []).append(
                Reason(
                    path_name(name),
                    ReasonCode.TYPE_MISMATCH,
                    expected,
                    f"{arr.type} {text}",
                    f"Out of bounds nanosecond timestamp: {text}",
                )
            )
    # Nulls: MLflow refuses them only where pandas must turn an integer column into floats.
    if spec.required and nulls.any():
        int_source = kind in _NUMPY_OF_KIND and _NUMPY_OF_KIND[kind].kind in "iu"
        mlflow_refuses = int_source and t is not DataType.double
        if profile == "strict" or mlflow_refuses:
            null_bad = nulls & ~bad
            bad |= nulls
            for i in np.flatnonzero(null_bad):
                msg = (
                    f"column {name} is required and the value is null"
                    if profile == "strict"
                    else f"Incompatible input types for column {name}. Can not safely convert float64 to {t.to_numpy()}. "
                    "Hint: the type mismatch is likely caused by missing values."
                )
                reasons.setdefault(int(i), []).append(
                    Reason(path_name(name), ReasonCode.NULL_REQUIRED, expected, "null", msg)
                )
    target = _arrow_scalar(t)
    if arr.type != target and rule != FAIL:
        try:
            conformed = pc.cast(
                pc.if_else(pa.array(~bad), arr, pa.scalar(None, arr.type)), target, safe=False
            )
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            conformed = pa.nulls(n, target)
    elif rule == FAIL:
        conformed = pa.nulls(n, target)
    else:
        conformed = arr
    return bad, conformed


# nanoseconds per unit of Arrow's times and dates
_NANOS = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1, "date32": 86_400 * 10**9, "date64": 10**6}
# pandas' datetime range: nanoseconds in an int64 (the lowest value is NaT)
_NANO_LIMIT = 2**63 - 1


def _ticks(arr: pa.Array) -> tuple[pa.Array, str]:
    """A timestamp or date column as int64 counts of its own unit, and the unit's name in
    :data:`_NANOS` (``s`` ... ``ns``, ``date32`` for days, ``date64`` for milliseconds)."""
    if pa.types.is_date32(arr.type):
        return pc.cast(arr.view(pa.int32()), pa.int64()), "date32"
    unit = arr.type.unit if pa.types.is_timestamp(arr.type) else "date64"
    return arr.view(pa.int64()), unit


def _outside_nanoseconds(arr: pa.Array) -> np.ndarray:
    """Where a timestamp or date column holds a time pandas cannot hold in nanoseconds (compared
    in the column's own unit, so no value wraps around)."""
    ticks, unit = _ticks(arr)
    if _NANOS[unit] == 1:
        return np.zeros(len(arr), dtype=bool)
    limit = _NANO_LIMIT // _NANOS[unit]
    inside = pc.and_(pc.greater_equal(ticks, -limit), pc.less_equal(ticks, limit))
    return ~np.asarray(pc.fill_null(inside, True))


def _time_text(arr: pa.Array, i: int) -> str:
    """A time as text, also one beyond Python's datetime (years after 9999)."""
    try:
        return str(arr[i].as_py())
    except (OverflowError, ValueError):
        ticks, unit = _ticks(arr)
        shown = {"date32": "days", "date64": "ms"}.get(unit, unit)
        return f"{ticks[i].as_py()} {shown} from 1970-01-01"


def _one_row_series(value: Any, object_column: bool) -> pd.Series:
    """The column MLflow sees for one value: a record's own type, or an object column's."""
    return pd.Series([value], dtype=object) if object_column else pd.Series([value])


def _group_key(value: Any) -> Any:
    """Values with the same key get the same verdict from MLflow's matrix (so decide once)."""
    kind = type(value)
    if isinstance(value, (bool, np.bool_)):
        return (kind,)
    if isinstance(value, (int, np.integer)):
        if value >= 2**64 or value < -(2**63):
            return None  # pandas holds it as an object: decided alone (2**64 and 10**400 differ)
        # pandas types a lone Python int by its size: int64 or uint64
        return (kind, value in (0, 1), value >= 2**63)
    if isinstance(value, (float, np.floating)):
        return (kind, bool(np.isnan(value)))
    if isinstance(value, str) or value is None:
        return (kind,)
    if kind is _dt.datetime and _SAFE_TIMES[0] <= value.replace(tzinfo=None) < _SAFE_TIMES[1]:
        # pandas holds it in its own time unit whatever the value: its zone decides (a time near
        # pandas' bounds is decided alone: the error there names the value)
        return (kind, value.tzinfo)
    return None  # decided one by one (dates, bytes, lists, ...)


# Python datetimes well within pandas' nanosecond range (1677-09-21 to 2262-04-11, a day of zone
# offset aside)
_SAFE_TIMES = (_dt.datetime(1678, 1, 1), _dt.datetime(2262, 1, 1))


def _python_scalars(
    label: str,
    values: list[Any],
    t: DataType,
    required: bool,
    profile: str,
    present: np.ndarray | None,
    reasons: dict[int, list[Reason]],
    from_records: bool,
) -> tuple[np.ndarray, list[Any]]:
    """Per-row verdicts for a scalar column of Python values, by MLflow's matrix on each row alone."""
    from sigbatch.pyvalues import ColumnViolation, conform_series

    n = len(values)
    bad = np.zeros(n, dtype=bool)
    out: list[Any] = [None] * n
    decided: dict[Any, tuple[bool, Any]] = {}
    lenient_rows: list[int] = []
    for i, value in enumerate(values):
        if present is not None and not present[i]:
            continue
        if _is_null(value):
            if required and (profile == "strict" or _null_refused(value, t, from_records)):
                bad[i] = True
                reasons.setdefault(i, []).append(
                    Reason(
                        path_name(label),
                        ReasonCode.NULL_REQUIRED,
                        t.name,
                        "null",
                        f"column {label} is required and the value is null",
                    )
                )
            continue
        key = _group_key(value)
        verdict = decided.get(key) if key is not None else None
        if verdict is None:
            try:
                conform_series(label, _one_row_series(value, not from_records), t)
                verdict = (True, None)
            except (ColumnViolation, ValueError, TypeError, OverflowError) as exc:  # 2**64 as a datetime
                verdict = (False, exc)
            if key is not None:
                decided[key] = verdict
        if verdict[0]:
            out[i] = value
            continue
        if (
            profile == "lenient"
            and isinstance(value, (str, int, float, np.integer, np.floating))
            and not isinstance(value, (bool, np.bool_))
        ):
            lenient_rows.append(i)
            continue
        error = verdict[1]
        code = error.code if isinstance(error, ColumnViolation) else ReasonCode.TYPE_MISMATCH
        message = error.message if isinstance(error, ColumnViolation) else str(error)
        bad[i] = True
        reasons.setdefault(i, []).append(
            Reason(path_name(label), code, t.name, describe_value(value), message)
        )
    if lenient_rows:
        beyond = [i for i in lenient_rows if _beyond_int64(values[i])]
        for i in beyond:  # Arrow holds no such integer: converted here, or out of range
            exact = _exact_float(int(values[i]), t)
            if exact is not None:
                out[i] = exact
                continue
            bad[i] = True
            text = repr(values[i])
            text = text if len(text) <= 40 else f"{text[:37]}..."
            reasons.setdefault(i, []).append(
                Reason(
                    path_name(label),
                    ReasonCode.UNSAFE_CAST,
                    t.name,
                    describe_value(values[i]),
                    f"value {text} is out of range for {t.name}",
                )
            )
        lenient_rows = [i for i in lenient_rows if not _beyond_int64(values[i])]
        # one Arrow type per group: ints and floats together would be doubles, and Arrow refuses
        # an int a double does not hold exactly (2**62 beside 0.5)
        for group in (pa.string(), pa.int64(), pa.float64()):
            rows = [i for i in lenient_rows if _lenient_group(values[i]) == group]
            if not rows:
                continue
            raw = pa.array([values[i] for i in rows], group, from_pandas=True)
            converted, mismatch, unsafe = _lenient_convert(raw, t)
            for j, i in enumerate(rows):
                if mismatch[j] or unsafe[j]:
                    bad[i] = True
                    code = ReasonCode.TYPE_MISMATCH if mismatch[j] else ReasonCode.UNSAFE_CAST
                    what = "does not convert to" if mismatch[j] else "does not convert without loss to"
                    reasons.setdefault(i, []).append(
                        Reason(
                            path_name(label),
                            code,
                            t.name,
                            describe_value(values[i]),
                            f"value {values[i]!r} {what} {t.name}",
                        )
                    )
                else:
                    out[i] = converted[j].as_py()
    return bad, out


def _lenient_group(value: Any) -> pa.DataType:
    """The Arrow type a lenient row's value (text, an integer or a float) is converted from."""
    if isinstance(value, str):
        return pa.string()
    return pa.float64() if isinstance(value, (float, np.floating)) else pa.int64()


def _beyond_int64(value: Any) -> bool:
    """Whether ``value`` is an integer (not a bool) outside int64 (2**63, a large np.uint64)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        return False
    return not -(2**63) <= int(value) < 2**63


def _exact_float(value: int, t: DataType) -> float | None:
    """``value`` as a float or double when ``t`` is one and holds it exactly, else None."""
    if t not in (DataType.float, DataType.double):
        return None
    try:
        as_float = float(value)
    except OverflowError:
        return None
    with np.errstate(over="ignore"):
        narrowed = float(np.float32(as_float))
    if t is DataType.float and as_float != narrowed:
        return None  # also beyond float32's range (inf)
    return as_float if int(as_float) == value else None


def _extension_refusals(
    label: str,
    series: pd.Series,
    t: DataType,
    required: bool,
    judged: np.ndarray,
    reasons: dict[int, list[Reason]],
) -> np.ndarray:
    """The rows of a pandas extension column (Int64, Float64, boolean, int64[pyarrow]) that MLflow
    refuses beyond what Arrow's values show: its matrix reads such a column by its dtype (no 0/1
    rule: Int64 is not int64). An NA is judged in a required column only (it is refused there,
    with MLflow's "cannot convert NA to integer"); in an optional one a null is accepted, as
    everywhere in sigbatch. Adds reasons for rows not already ``judged`` bad, and gives those
    MLflow's message.
    """
    from sigbatch.pyvalues import ColumnViolation, conform_series

    nulls = series.isna().to_numpy()
    na = nulls if required else np.zeros(len(series), dtype=bool)
    refused = np.zeros(len(series), dtype=bool)
    # the non-NA values are judged by their dtype alone; one NA stands for all of them
    for rows, part in ((~nulls, series[~nulls]), (na, series[na].iloc[:1])):
        if not rows.any():
            continue
        try:
            conform_series(label, part, t)
        except ColumnViolation as exc:
            refused |= rows
            for pos in np.flatnonzero(rows):
                i = int(pos)
                if judged[i]:  # already refused (a null in a required column): in MLflow's words
                    reasons[i] = [dataclasses.replace(r, message=exc.message) for r in reasons[i]]
                    continue
                reason = Reason(
                    path_name(label), exc.code, t.name, describe_value(series.iloc[i]), exc.message
                )
                reasons.setdefault(i, []).append(reason)
    return refused


def _null_refused(value: Any, t: DataType, from_records: bool) -> bool:
    """Whether MLflow refuses a lone null in a required scalar column of this kind."""
    from sigbatch.pyvalues import ColumnViolation, conform_series

    try:
        conform_series("", _one_row_series(value, not from_records), t)
    except (ColumnViolation, ValueError, TypeError):
        return True
    return False


def _scalars_to_arrow(values: list[Any], t: DataType, n: int) -> pa.Array:
    """Conformed scalar values as an Arrow array of the signature's type."""
    target = _arrow_scalar(t)
    try:
        return pa.array(values, type=target, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError):
        cleaned = []
        for v in values:
            if t is DataType.datetime and v is not None:
                v = pd.Timestamp(v).to_pydatetime()  # dates and numpy datetimes, as MLflow casts them
            try:
                cleaned.append(pa.scalar(v, type=target).as_py() if v is not None else None)
            except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError):
                if t in (DataType.float, DataType.double):
                    # a value MLflow's pd.to_numeric accepted as a number (an int beyond 64 bits,
                    # a Decimal, the bytes b"1"): its number, as MLflow hands it on
                    cleaned.append(_as_float(v))
                else:
                    cleaned.append(str(v) if t is DataType.string else None)
        return pa.array(cleaned, type=target, from_pandas=True)


def _as_float(value: Any) -> float | None:
    """``float(value)`` (ints, Decimals, numeric text or bytes), or None where it is no number."""
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return None


def enforce(
    data: Any,
    schema: Schema | ModelSignature,
    *,
    profile: Profile = "mlflow",
    on_schema_mismatch: Literal["fail", "quarantine"] = "fail",
    on_error: Literal["quarantine", "raise"] = "quarantine",
) -> EnforceResult:
    """Check every row of ``data`` against ``schema``; split it into valid and quarantined rows.

    Args:
        data: a pandas DataFrame, a pyarrow Table or RecordBatch, a list of dicts, or a dict (one
            record, or a dict of columns, as MLflow reads it).
        schema: the input Schema (or a ModelSignature, whose inputs are used).
        profile: ``mlflow`` (default), ``strict`` or ``lenient`` (see the module docstring).
        on_schema_mismatch: ``fail`` raises :class:`SchemaMismatchError` for whole-column problems;
            ``quarantine`` refuses every row with those reasons instead.
        on_error: ``raise`` raises :class:`EnforcementError` with MLflow's message when any row is
            refused, for callers who want MLflow's behaviour exactly.

    Never raises because of what the rows contain (only for the caller's mistakes).

    Example:
        >>> from sigbatch import ColSpec, Schema
        >>> r = enforce([{"a": "x"}, {"a": 1}, {"b": 2}], Schema([ColSpec("string", "a")]))
        >>> r.valid_mask.tolist(), [x.code.value for x in r.reasons[2]]
        ([True, False, False], ['MISSING_REQUIRED'])
    """
    if profile not in _PROFILES:
        msg = f"unknown profile {profile!r}; expected one of {list(_PROFILES)}"
        raise SignatureError(msg)
    if on_schema_mismatch not in ("fail", "quarantine"):
        msg = f"on_schema_mismatch must be 'fail' or 'quarantine', got {on_schema_mismatch!r}"
        raise SignatureError(msg)
    if on_error not in ("quarantine", "raise"):
        msg = f"on_error must be 'quarantine' or 'raise', got {on_error!r}"
        raise SignatureError(msg)
    schema = checked_schema(schema)
    if isinstance(data, dict):
        data = _dict_input(data, schema)
    if on_error == "raise":
        from sigbatch.mlflow_messages import raise_like_mlflow

        raise_like_mlflow(data, schema)
    batch = _normalise(data)
    n = batch.n
    reasons: dict[int, list[Reason]] = {}
    bad = np.zeros(n, dtype=bool)
    for i, row in batch.not_records.items():
        bad[i] = True
        reasons.setdefault(i, []).append(
            Reason(
                "",
                ReasonCode.INVALID_OBJECT,
                "a record (dict)",
                describe_value(row),
                f"Expected a record (a dict of column values), got {type(row).__name__}",
            )
        )
    names = batch.order
    bound = _bind_columns(names, schema, batch.labels)
    column_problems: list[ColumnProblem] = []
    if not batch.from_records:
        # (a list of dicts has no columns: a missing key is a problem of that row alone)
        source = pa.schema(
            [pa.field(nm, batch.arrow[nm].type if nm in batch.arrow else pa.null()) for nm in names]
        )
        problems = _preflight(source, schema, profile, batch.labels).problems
        # columns held as Python objects are checked value by value, not by an Arrow type
        column_problems = [p for p in problems if path_root(p.column) not in batch.objects]
        if column_problems and on_schema_mismatch == "fail":
            raise SchemaMismatchError(Preflight(tuple(column_problems)).message())
        for p in column_problems:
            bad[:] = True
            for i in range(n):
                reasons.setdefault(i, []).append(p.reason())
    conformed: dict[str, pa.Array] = {}
    py_columns: dict[str, list[Any]] = {}
    model_sources: dict[str, pa.Array] = {}  # Arrow values the model frame is built from, lazily
    problem_columns = {path_root(p.column) for p in column_problems}
    for idx, spec in enumerate(schema.inputs):
        label = _label(spec, idx)
        column = bound[idx]
        t = spec.type
        required = bool(spec.required)
        path = path_name(label)  # the column in reason paths
        if column is None or (
            batch.from_records and column in batch.present and not batch.present[column].all()
        ):
            if batch.from_records and required:
                has_key = batch.present.get(column or "", np.zeros(n, dtype=bool))
                for pos in np.flatnonzero(~has_key):
                    i = int(pos)
                    if i in batch.not_records:
                        continue
                    bad[i] = True
                    reasons.setdefault(int(i), []).append(
                        Reason(
                            path,
                            ReasonCode.MISSING_REQUIRED,
                            repr(t),
                            "missing",
                            f"Model is missing inputs ['{label}'].",
                        )
                    )
            if column is None:
                conformed[label] = pa.nulls(n, _target_type(t))
                continue
        if label in problem_columns:
            conformed[label] = pa.nulls(n, _target_type(t))
            continue
        if column in batch.objects:
            values = batch.objects[column]
            present = batch.present.get(column) if batch.from_records else None
            if isinstance(t, DataType):
                col_bad, out_values = _python_scalars(
                    label, values, t, required, profile, present, reasons, batch.from_records
                )
                bad |= col_bad
                conformed[label] = _scalars_to_arrow(out_values, t, n)
                if t in (DataType.string, DataType.binary, DataType.boolean):
                    # MLflow hands object columns of these types to the model untouched
                    py_columns[label] = out_values
                continue
            out_values = []
            copies = _has_object(t)  # MLflow's rules convert an Object's values in place: on a copy
            for i, value in enumerate(values):
                if present is not None and not present[i]:
                    out_values.append(None)
                    continue
                if not batch.from_records and _missing_cell(value):
                    value = None  # a DataFrame's missing cell (NaN, NA) is a null, as in its other columns
                if copies:
                    value = _copied(value)  # the caller's records stay as they were
                strict = _null_elements(value, t, path) if profile == "strict" else []
                out, rs = check_value(value, t, required, path)
                rs = rs or strict
                if rs:
                    bad[i] = True
                    reasons.setdefault(i, []).extend(rs)
                    out_values.append(None)
                else:
                    out_values.append(out)
            py_columns[label] = out_values
            arrow_values = [_arrow_ready(v) for v in out_values]
            try:
                conformed[label] = pa.array(arrow_values, type=_target_type(t), from_pandas=True)
            except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, SignatureError):
                conformed[label] = _object_column(arrow_values)
            continue
        arr = batch.arrow[column]
        if isinstance(t, DataType):
            col_reasons: dict[int, list[Reason]] = {}
            col_bad, values = _scalar_column(label, arr, spec, profile, col_reasons)  # type: ignore[arg-type]
            if batch.from_records and column in batch.present:
                # a row without the key was judged above; its placeholder null says nothing more
                col_bad &= batch.present[column]
                col_reasons = {i: rs for i, rs in col_reasons.items() if batch.present[column][i]}
            series = batch.source_series(column)
            if (
                series is not None
                and profile == "mlflow"
                and not isinstance(series.dtype, np.dtype)
                and getattr(series.dtype, "kind", "") in "iufb"
            ):
                # pandas' numeric and boolean extension dtypes (Int64, Float64, boolean, int64[pyarrow])
                col_bad |= _extension_refusals(label, series, t, required, col_bad, col_reasons)
            for i, rs in col_reasons.items():
                reasons.setdefault(i, []).extend(rs)
            bad |= col_bad
            conformed[label] = values
            if (
                t is DataType.string
                and series is not None
                and (series.dtype == object or isinstance(series.dtype, pd.StringDtype))
            ):
                # MLflow hands a DataFrame's text column to the model as it is (its dtype too)
                py_columns[label] = series
                continue
            own_kind = {DataType.string: "str", DataType.binary: "bytes", DataType.boolean: "bool"}.get(t)
            if own_kind is not None and _src_kind(arr.type) != own_kind and profile != "lenient":
                # MLflow passes such columns to the model untouched (e.g. text for a binary column):
                # a DataFrame's own column as it is, an Arrow column as pandas reads it
                if series is not None:
                    py_columns[label] = series
                else:
                    model_sources[label] = arr
            continue
        col_bad, unsure = _walk(arr, t, required, nested=False, strict=profile == "strict")
        nulls = _nulls(arr) if arr.null_count else None
        null_reasons: list[Reason] | None = None
        for pos in np.flatnonzero(col_bad | unsure):
            i = int(pos)
            if nulls is not None and nulls[i]:
                # every null row of the column has the same reasons: judge one, share them
                if null_reasons is None:
                    null_reasons = check_value(None, t, required, path)[1]
                rs = list(null_reasons)
            else:
                try:
                    value = _row_value(arr, i, t)
                except (OverflowError, ValueError) as exc:  # a time beyond Python's datetime
                    rs = [
                        Reason(
                            path,
                            ReasonCode.TYPE_MISMATCH,
                            repr(t),
                            f"{arr.type} value Python cannot hold",
                            f"value cannot be read as {t!r}: {exc}",
                        )
                    ]
                else:
                    strict = _null_elements(value, t, path) if profile == "strict" else []
                    # judged as pandas reads the row: its lists of numbers are numpy arrays
                    _, rs = check_value(_as_pandas_reads(value, arr.type), t, required, path)
                    rs = rs or strict
            if col_bad[i] and not rs:
                rs = [
                    Reason(
                        path,
                        ReasonCode.TYPE_MISMATCH,
                        repr(t),
                        describe_value(None if nulls is not None and nulls[i] else value),
                        f"value does not conform to {t!r}",
                    )
                ]
            if rs:
                bad[i] = True
                reasons.setdefault(int(i), []).extend(rs)
        source = _drop_extra_fields(arr, t)
        conformed[label] = _cast_nested(source, t)
        if not _numeric_list(source.type, t) and not conformed[label].type.equals(source.type):
            # the cast added fields or changed types: the model sees the record's own keys (a list
            # of numbers is handed as MLflow does: a numpy array of the signature's dtype)
            model_sources[label] = source
    _parse_errors(batch, bad, reasons)
    valid_mask = ~bad
    valid = _valid_table(conformed, schema, valid_mask)
    py_valid = {k: _valid_values(vals, valid_mask, batch.from_records) for k, vals in py_columns.items()}
    keep = pa.array(valid_mask)
    sources = {k: arr.filter(keep) for k, arr in model_sources.items()}
    quarantine = _quarantine_table(batch, np.flatnonzero(~valid_mask), reasons, Stage.INPUT)
    return EnforceResult(valid, quarantine, valid_mask, reasons, schema, py_valid, batch, sources)


def _valid_values(values: list[Any] | pd.Series, valid_mask: np.ndarray, from_records: bool) -> pd.Series:
    """A column's values for the valid rows, as MLflow's frame holds them: a DataFrame's own column
    as it is; records' values with the dtype pandas infers for them (``pd.DataFrame(records)``: str,
    bool); other Python values as objects."""
    if isinstance(values, pd.Series):
        return values[valid_mask].reset_index(drop=True)
    kept = [v for v, ok in zip(values, valid_mask, strict=True) if ok]
    return pd.Series(kept) if from_records and kept else pd.Series(kept, dtype=object)


def _parse_errors(batch: _Batch, bad: np.ndarray, reasons: dict[int, list[Reason]]) -> None:
    """Rows whose reader kept the raw text in :data:`CORRUPT_COLUMN`: one PARSE_ERROR each, in place
    of what their (null) columns would say."""
    if CORRUPT_COLUMN in batch.arrow:
        corrupt = batch.arrow[CORRUPT_COLUMN]
        if corrupt.null_count == len(corrupt):
            return
        texts = {int(i): corrupt[int(i)].as_py() for i in np.flatnonzero(~_nulls(corrupt))}
    elif CORRUPT_COLUMN in batch.objects:  # records, or a column Arrow could not type
        texts = {i: v for i, v in enumerate(batch.objects[CORRUPT_COLUMN]) if not _is_null(v)}
    else:
        return
    for i, text in texts.items():
        bad[i] = True
        reasons[i] = [
            Reason(
                "",
                ReasonCode.PARSE_ERROR,
                "a record the reader can parse",
                describe_value(text),
                f"the source record could not be parsed; its raw text is in {CORRUPT_COLUMN}",
            )
        ]


def _is_null(value: Any) -> bool:
    from sigbatch.pyvalues import is_none_or_nan

    return is_none_or_nan(value)


def _target_type(t: Any) -> pa.DataType:
    from sigbatch.arrow import arrow_type

    return arrow_type(t)


def _drop_extra_fields(arr: pa.Array, t: Any) -> pa.Array:
    """A top-level struct without the fields its Object does not define (all null in valid rows)."""
    if isinstance(t, Object) and pa.types.is_struct(arr.type):
        keep = [i for i in range(arr.type.num_fields) if t.property(arr.type.field(i).name) is not None]
        if not keep:  # no field the Object defines: empty records (or nulls)
            return pa.array([None if v is None else {} for v in arr.to_pylist()], pa.struct([]))
        if len(keep) != arr.type.num_fields:
            return pa.StructArray.from_arrays(
                [arr.field(i) for i in keep],
                fields=[arr.type.field(i) for i in keep],
                mask=arr.is_null() if arr.null_count else None,
            )
    return arr


def _cast_nested(arr: pa.Array, t: Any) -> pa.Array:
    try:
        return arr.cast(_target_type(t))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError, SignatureError):
        return arr


def _valid_table(conformed: dict[str, pa.Array], schema: Schema, mask: np.ndarray) -> pa.Table:
    keep = pa.array(mask)
    arrays = []
    fields = []
    for i, spec in enumerate(schema.inputs):
        label = _label(spec, i)
        arr = conformed[label]
        arr = arr.filter(keep) if len(arr) == len(mask) else arr
        arrays.append(arr)
        fields.append(pa.field(label, arr.type, nullable=True))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def _reasons_array(rows: np.ndarray, reasons: dict[int, list[Reason]]) -> pa.Array:
    return pa.array(
        [[r.as_dict() for r in reasons.get(int(i), [])] for i in rows], type=pa.list_(REASON_TYPE)
    )


def _source_columns(
    batch: _Batch, rows: np.ndarray, columns: list[str] | None = None
) -> tuple[list[pa.Array], list[pa.Field]]:
    """The input rows at ``rows`` with their original columns (Python-object columns made Arrow)."""
    take = pa.array(rows, type=pa.int64())
    arrays: list[pa.Array] = []
    fields: list[pa.Field] = []
    for name in columns if columns is not None else batch.order:
        if name in batch.arrow:
            arr = batch.arrow[name].take(take)
        elif name in batch.objects:
            arr = _object_column([_arrow_ready(batch.objects[name][int(i)]) for i in rows])
        else:
            msg = f"column {name!r} is not in the input; input columns are {batch.order}"
            raise SignatureError(msg)
        arrays.append(arr)
        fields.append(pa.field(name, arr.type))
    if batch.not_records and columns is None:
        import json

        raw = [
            json.dumps(batch.not_records[int(i)], default=str) if int(i) in batch.not_records else None
            for i in rows
        ]
        arrays.append(pa.array(raw, pa.string()))
        fields.append(pa.field("_sigbatch_raw", pa.string()))
    return arrays, fields


def _source_table(batch: _Batch, rows: np.ndarray, columns: list[str] | None = None) -> pa.Table:
    """The input rows at ``rows`` as a table of their original columns."""
    arrays, fields = _source_columns(batch, rows, columns)
    if not arrays:  # records without any key: keep the row count
        return pa.table({"_": pa.nulls(len(rows))}).drop_columns(["_"])
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def _quarantine_table(
    batch: _Batch, rows: np.ndarray, reasons: dict[int, list[Reason]], stage: Stage | dict[int, Stage]
) -> pa.Table:
    """Source columns of ``rows`` plus their reasons, stage and input position."""
    arrays, fields = _source_columns(batch, rows)
    stages = [(stage.get(int(i), Stage.INPUT) if isinstance(stage, dict) else stage).value for i in rows]
    arrays += [_reasons_array(rows, reasons), pa.array(stages, pa.string()), pa.array(rows, pa.int64())]
    fields += [
        pa.field(ERRORS_COLUMN, pa.list_(REASON_TYPE)),
        pa.field(STAGE_COLUMN, pa.string()),
        pa.field(ROW_COLUMN, pa.int64()),
    ]
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def _arrow_ready(value: Any) -> Any:
    """``value`` with the numpy arrays pyarrow mishandles made Python lists (others kept as they are).

    pyarrow 25 crashes the process on an array of more than one dimension among a column's values
    (MLflow makes them of nested lists: ``np.array([[t]])``), and reads a datetime64 array of
    another unit than the target's as if it were that unit; an object array may hold either.
    """
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "M":
            return value.astype("datetime64[us]").tolist()  # datetimes (NaT: None), any depth
        if value.dtype == object:
            return [_arrow_ready(v) for v in value]  # also the sub-arrays of a 2-D object array
        return value.tolist() if value.ndim > 1 else value
    if isinstance(value, list):
        return [_arrow_ready(v) for v in value]
    if isinstance(value, dict):
        return {k: _arrow_ready(v) for k, v in value.items()}
    return value


def _object_column(values: list[Any]) -> pa.Array:
    """A column Arrow could not type (its values as :func:`_arrow_ready` makes them): kept as Arrow
    if it now can, else as JSON (or repr) text."""
    try:
        return pa.array(values, from_pandas=True)
    except (
        pa.ArrowInvalid,
        pa.ArrowTypeError,
        pa.ArrowNotImplementedError,
        OverflowError,
        TypeError,
        ValueError,
    ):
        return pa.array([None if v is None else _as_text(v) for v in values], pa.string())


def _as_text(value: Any) -> str:
    import json

    try:
        return json.dumps(value, default=str)
    except (TypeError, ValueError):
        return repr(value)
