"""Partial schemas: merge laws, split invariance, MLflow's rules under strict, the other policies."""

from __future__ import annotations

import datetime as dt
import json
import warnings
from dataclasses import replace
from functools import reduce
from itertools import pairwise

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sigbatch import AnyType, Array, ColSpec, DataType, InferenceError, Map, Object, Property, Schema
from sigbatch.infer import (
    EMPTY,
    POLICIES,
    Partial,
    finalize,
    infer_schema,
    merge,
    merge_all,
    partial_from_frame,
    partial_from_records,
    partial_from_table,
    partial_from_text,
)
from sigbatch.infer.partial import MAX_LOCATED, UnreadableRecord, earliest_unreadable

_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)

# --- JSON-like records -------------------------------------------------------------------------

_LEAVES = {
    "long": st.integers(-(2**40), 2**40),
    "double": st.floats(allow_nan=True, allow_infinity=False),
    "string": st.text(max_size=3),
    "boolean": st.booleans(),
}
_ANY_LEAF = st.one_of(st.none(), *_LEAVES.values())


def _nested(leaf: st.SearchStrategy) -> st.SearchStrategy:
    """Leaves nested in lists and dicts (keys a, b, c), a few levels deep."""
    return st.recursive(
        leaf,
        lambda inner: st.one_of(
            st.lists(inner, max_size=3), st.dictionaries(st.sampled_from("abc"), inner, max_size=3)
        ),
        max_leaves=6,
    )


_SHAPES = (
    lambda leaf: leaf,
    lambda leaf: st.lists(leaf, max_size=3),
    lambda leaf: st.dictionaries(st.sampled_from("abc"), leaf, max_size=3),
    lambda leaf: st.lists(st.dictionaries(st.sampled_from("abc"), leaf, max_size=2), max_size=2),
    lambda leaf: st.dictionaries(st.sampled_from("ab"), st.lists(leaf, max_size=2), max_size=2),
)


def _column() -> st.SearchStrategy[st.SearchStrategy]:
    """The values one key takes: mostly one shape of one leaf type (plus None), sometimes anything."""
    consistent = st.tuples(st.sampled_from(sorted(_LEAVES)), st.integers(0, len(_SHAPES) - 1)).map(
        lambda ks: st.one_of(st.none(), _SHAPES[ks[1]](st.one_of(st.none(), _LEAVES[ks[0]])))
    )
    return st.one_of(consistent, consistent, consistent, st.just(_nested(_ANY_LEAF)))


def _records() -> st.SearchStrategy[list]:
    """1-8 records over keys x, y, z; a key may be absent from any record."""
    return st.dictionaries(st.sampled_from("xyz"), _column(), min_size=1).flatmap(
        lambda columns: st.lists(st.fixed_dictionaries({}, optional=columns), min_size=1, max_size=8)
    )


def _located() -> st.SearchStrategy[tuple[UnreadableRecord, ...]]:
    """Where a file's partial says its earliest unreadable records are (origins 0-3 as files)."""
    place = st.builds(UnreadableRecord, st.integers(0, 3), st.integers(1, 20), st.sampled_from(["a", "b"]))
    return st.lists(place, max_size=6).map(earliest_unreadable)


def _with_unreadable(partial: Partial, located: tuple[UnreadableRecord, ...]) -> Partial:
    """``partial`` with the unreadable records ``located`` (and one more, not located, if any)."""
    return replace(partial, unreadable=len(located) + bool(located), unreadable_at=located)


def _split(rows: list, cuts: list[int]) -> list[tuple[int, list]]:
    """``rows`` cut at ``cuts`` into chunks, each with the index of its first row."""
    bounds = sorted({0, len(rows), *(c % (len(rows) + 1) for c in cuts)})
    return [(a, rows[a:b]) for a, b in pairwise(bounds) if b > a]


def _outcome(partial: Partial, policy: str = "strict"):
    """finalize's result, or the error message."""
    try:
        return finalize(partial, policy)
    except InferenceError as exc:
        return str(exc)


def _mlflow_schema(rows: list):
    """sigbatch's in-memory (MLflow-identical) schema of the rows, or None when MLflow refuses them."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return infer_schema(rows)
        except InferenceError:
            return None


# --- laws ---------------------------------------------------------------------------------------


@_SETTINGS
@given(_records(), _records(), _records(), _located(), _located(), _located())
def test_merge_is_associative_and_commutative_with_identity(a, b, c, at_a, at_b, at_c):
    """merge(a, merge(b, c)) == merge(merge(a, b), c); merge(a, b) == merge(b, a); EMPTY is neutral;
    the places of unreadable records kept are the earliest of all sides."""
    pa_, pb, pc = (
        _with_unreadable(partial_from_records(r, origin=i), at)
        for i, (r, at) in enumerate(((a, at_a), (b, at_b), (c, at_c)))
    )
    assert merge(pa_, merge(pb, pc)) == merge(merge(pa_, pb), pc)
    assert merge(pa_, pb) == merge(pb, pa_)
    assert merge(pa_, EMPTY) == pa_ == merge(EMPTY, pa_)
    assert merge_all([pa_, pb, pc]).unreadable_at == tuple(sorted(at_a + at_b + at_c)[:MAX_LOCATED])


def _wide() -> st.SearchStrategy[tuple[tuple[str, int], ...]]:
    """Counts of integers beyond long per path, as a file's partial holds them."""
    counts = st.dictionaries(st.sampled_from(["x", "y[]", "z.k", '"a.b"']), st.integers(1, 5), max_size=3)
    return counts.map(lambda d: tuple(sorted(d.items())))


@_SETTINGS
@given(_records(), _records(), _records(), _wide(), _wide(), _wide())
def test_wide_integer_counts_add_up_in_any_order(a, b, c, wa, wb, wc):
    """Per path, the counts of integers beyond long add up, whatever the order of merging."""
    pa_, pb, pc = (
        replace(partial_from_records(r, origin=i), wide_ints=w)
        for i, (r, w) in enumerate(((a, wa), (b, wb), (c, wc)))
    )
    merged = merge(pa_, merge(pb, pc))
    assert merged == merge(merge(pa_, pb), pc) == merge(merge(pc, pa_), pb)
    expected: dict[str, int] = {}
    for path, n in wa + wb + wc:
        expected[path] = expected.get(path, 0) + n
    assert merged.wide_ints == tuple(sorted(expected.items()))
    assert Partial.from_json(merged.to_json()) == merged


@_SETTINGS
@given(_records(), _located())
def test_partial_round_trips_through_json(rows, located):
    """A partial survives JSON text unchanged (it is what travels between processes)."""
    partial = _with_unreadable(partial_from_records(rows), located)
    assert Partial.from_json(partial.to_json()) == partial
    assert Partial.from_dict(json.loads(json.dumps(partial.to_dict()))) == partial


@_SETTINGS
@given(_records(), st.lists(st.integers(0, 10), max_size=4), st.randoms(use_true_random=False), st.booleans())
def test_merged_chunks_finalize_like_all_rows(rows, cuts, rnd, distinct_origins):
    """Merging the partials of any split, in any order, finalises exactly like all rows at once."""
    chunks = _split(rows, cuts)
    partials = [
        partial_from_records(
            chunk, origin=i if distinct_origins else 0, first_row=0 if distinct_origins else start
        )
        for i, (start, chunk) in enumerate(chunks)
    ]
    rnd.shuffle(partials)
    whole = partial_from_records(rows)
    for policy in ("strict", "widen", "majority"):
        assert _outcome(reduce(merge, partials, EMPTY), policy) == _outcome(whole, policy)
    assert _outcome(merge_all(partials)) == _outcome(whole)


@_SETTINGS
@given(_records())
def test_strict_finalize_is_mlflow_inference(rows):
    """Under strict, the schema is MLflow's for the same records; it refuses exactly what MLflow refuses."""
    expected = _mlflow_schema(rows)
    outcome = _outcome(partial_from_records(rows))
    if expected is None:
        assert isinstance(outcome, str)
    else:
        assert not isinstance(outcome, str), outcome
        assert outcome[0] == expected


@_SETTINGS
@given(_records())
def test_schema_is_idempotent_under_self_merge(rows):
    """Counts double when a partial merges with itself, but the schema it finalises to does not change."""
    partial = partial_from_records(rows)
    for policy in POLICIES:
        once, twice = _outcome(partial, policy), _outcome(merge(partial, partial), policy)
        assert type(once) is type(twice)
        if not isinstance(once, str):
            assert once[0] == twice[0]


def test_partial_size_does_not_grow_with_rows():
    """A partial keeps counts and at most 3 examples per type: 10 or 10,000 rows give the same size."""

    def rows(n):
        return [{"id": i % 7, "tags": ["a", "b"], "o": {"k": "v" if i % 2 else None}} for i in range(n)]

    small, large = partial_from_records(rows(10)), partial_from_records(rows(10_000))
    assert abs(len(small.to_json()) - len(large.to_json())) < 40
    assert large.field("id").count("long") == 10_000


# --- MLflow's rules, spelled out ----------------------------------------------------------------


def test_seed_records_match_mlflow_exactly():
    """The seed's nested records: missing keys and None make optional, dict keys become sorted properties."""
    rows = [
        {"a": ["x"], "b": "s", "c": {"e": "1", "d": "2"}},
        {"a": ["y", "z"], "c": {"d": "3"}},
        {"a": [], "b": None, "c": {"d": "4"}},
    ]
    schema, report = finalize(partial_from_records(rows))
    assert schema == _mlflow_schema(rows)
    assert repr(schema) == (
        "['a': Array(string) (required), 'b': string (optional), "
        "'c': {d: string (required), e: string (optional)} (required)]"
    )
    assert report.field("b").null_rate == pytest.approx(1 / 3)
    assert report.field("c.e").presence_rate == pytest.approx(1 / 3)


def test_none_where_objects_are_makes_properties_optional():
    """As in MLflow, a None merged into an Object makes its properties optional; NaN at the top stays required."""
    rows = [{"o": {"k": 1}, "x": 1.0}, {"o": None, "x": float("nan")}]
    schema = finalize(partial_from_records(rows))[0]
    assert schema == Schema(
        [ColSpec(Object([Property("k", "long", False)]), "o", False), ColSpec("double", "x")]
    )
    assert schema == _mlflow_schema(rows)


def _stats(report):
    """Each field's (path, rows, present, nulls, types, untyped, empty) in the report."""
    return [(f.path, f.rows, f.present, f.nulls, f.types, f.untyped, f.empty) for f in report.fields]


# {} and [] beside objects and lists: at the top, as elements, nested, and a NaN
_EMPTIES = [
    {"o": {"k": 1}, "l": [1], "e": [{"a": 1}, {}], "x": 1.0},
    {"o": {}, "l": [], "e": [{}], "x": float("nan")},
    {"o": {"k": 2}, "l": [2, 3], "e": [], "x": 2.0},
]


def test_empty_objects_and_lists_are_counted_and_reported():
    """{} and [] are untyped (MLflow's Any) yet counted as empty objects and lists: an empty object
    is a row of each property, where it is absent, so a property the signature makes optional is
    not reported present in every row; the report's text and JSON form show them."""
    schema, report = finalize(partial_from_records(_EMPTIES))
    assert schema == _mlflow_schema(_EMPTIES)
    assert repr(schema) == (
        "['o': {k: long (optional)} (required), 'l': Array(long) (required), "
        "'e': Array({a: long (optional)}) (required), 'x': double (required)]"
    )
    assert _stats(report) == [
        ("o", 3, 3, 0, (("object", 2),), 1, (("object", 1),)),
        ("o.k", 3, 2, 0, (("long", 2),), 0, ()),
        ("l", 3, 3, 0, (("array", 2),), 1, (("array", 1),)),
        ("l[]", 3, 3, 0, (("long", 3),), 0, ()),
        ("e", 3, 3, 0, (("array", 2),), 1, (("array", 1),)),
        ("e[]", 3, 3, 0, (("object", 1),), 2, (("object", 2),)),
        ("e[].a", 3, 1, 0, (("long", 1),), 0, ()),
        ("x", 3, 3, 0, (("double", 2),), 1, ()),
    ]
    lines = report.text().splitlines()
    assert lines[2:11] == [
        "  field         rows   present     null  types",
        "  o                3    100.0%     0.0%  object 2, empty object 1",
        "  o.k              3     66.7%     0.0%  long 2",
        "  l                3    100.0%     0.0%  array 2, empty array 1",
        "  l[]              3    100.0%     0.0%  long 3",
        "  e                3    100.0%     0.0%  array 2, empty array 1",
        "  e[]              3    100.0%     0.0%  object 1, empty object 2",
        "  e[].a            3     33.3%     0.0%  long 1",
        "  x                3    100.0%     0.0%  double 2, NaN/NA 1",
    ]
    assert report.to_dict()["fields"][:2] == [
        {
            "path": "o",
            "rows": 3,
            "presence_rate": 1.0,
            "null_rate": 0.0,
            "types": {"object": 2},
            "untyped": 1,
            "empty": {"object": 1},
        },
        {
            "path": "o.k",
            "rows": 3,
            "presence_rate": 2 / 3,
            "null_rate": 0.0,
            "types": {"long": 2},
            "untyped": 0,
            "empty": {},
        },
    ]


def test_empty_objects_merge_as_rows_of_their_properties():
    """The partials of {} and of objects merge into what all of them say (an empty object is a slot
    of each property), survive JSON, and Arrow and pandas frames count {} and [] alike."""
    import pandas as pd

    whole = partial_from_records(_EMPTIES)
    for cut in range(1, len(_EMPTIES)):
        parts = (partial_from_records(_EMPTIES[:cut]), partial_from_records(_EMPTIES[cut:], first_row=cut))
        assert _outcome(merge(*parts)) == _outcome(merge(*parts[::-1])) == _outcome(whole), cut
    only_empty = partial_from_records([{"o": {}}, {"o": {}}])
    assert only_empty.field("o").to_dict() == {"untyped": 2, "empty": {"object": 2}}
    merged = merge(only_empty, partial_from_records([{"o": {"k": 1}}], first_row=2))
    assert merged.field("o").property("k").to_dict()["missing"] == 2
    assert Partial.from_json(whole.to_json()) == whole
    frame = partial_from_frame(pd.DataFrame(_EMPTIES).drop(columns="x"))  # (a float column's NaN is null)
    assert frame.fields == tuple((n, f) for n, f in whole.fields if n != "x")
    table = pa.table(
        {
            "l": pa.array([[1], [], None], pa.list_(pa.int64())),
            "m": pa.array([[("a", 1)], [], None], pa.map_(pa.string(), pa.int64())),
            "s": pa.array([{}, {}, None], pa.struct([])),
        }
    )
    assert [(p, n, u, e) for p, _, n, _, _, u, e in _stats(finalize(partial_from_table(table))[1])] == [
        ("l", 3, 1, (("array", 1),)),
        ("l[]", 1, 0, ()),
        ("m", 3, 1, (("map", 1),)),
        ("m{}", 1, 0, ()),
        ("s", 3, 2, (("object", 2),)),
    ]


def test_first_seen_order_survives_any_merge_order():
    """Columns come out in first-seen order (MLflow's), whichever partition is merged first."""
    first = partial_from_records([{"b": 1}, {"a": 1}], origin=0)
    second = partial_from_records([{"c": 1, "a": 2}], origin=1)
    assert [c.name for c in finalize(merge(second, first))[0]] == ["b", "a", "c"]


def test_unsupported_values_and_keys_are_refused():
    """Values without a signature type and non-string nested keys raise, naming the value."""
    with pytest.raises(InferenceError, match="is not one of the supported DataType"):
        partial_from_records([{"t": (1, 2)}])
    with pytest.raises(InferenceError, match="Expected name to be a string, got type int"):
        partial_from_records([{"o": {1: "x"}}])


def test_blocks_read_as_all_rows_at_once():
    """Many records are read in blocks of BLOCK_ROWS (5,000) whose partials merge: 12,000 records
    where a key, a null, a conflicting type and a nested key first appear in the last block give the
    schema, counts and first examples of reading them at once, and MLflow's error where it fails."""
    rows = [{"id": i, "tags": ["a"] * (i % 3), "o": {"k": "x"}} for i in range(12_000)]
    rows[-1] = {"id": None, "tags": [], "o": {"k": "y", "late": 1.5}, "new": True}
    blocked = partial_from_records(rows)
    assert finalize(blocked)[0] == Schema(
        [
            ColSpec(DataType.long, "id", required=False),
            ColSpec(Array(DataType.string), "tags"),
            ColSpec(Object([Property("k", DataType.string), Property("late", DataType.double, False)]), "o"),
            ColSpec(DataType.boolean, "new", required=False),
        ]
    )
    node = blocked.field("o").property("late")
    assert (node.missing, node.count("double"), blocked.field("new").missing) == (11_999, 1, 11_999)
    assert blocked.field("tags").items.count("string") == 11_998  # i % 3 strings in row i < 11,999
    examples = dict(blocked.field("id").examples)["long"]
    assert [e[3] for e in examples] == ["0", "1", "2"]
    rows[-2] = {"id": "n/a"}
    with pytest.raises(InferenceError) as err:
        finalize(partial_from_records(rows))
    assert "'id': long in 11,998 rows (e.g. 0, 1, 2); string in 1 row (e.g. \"n/a\")" in str(err.value)


def test_records_of_many_keys_are_read_in_two_parts():
    """Records whose keys each appear in few rows (12,000 records of 3,000 keys) are read as a
    first block, then the rest at once: blocks would repeat the work per key in each (a review
    measured 15x the time). The partial is the one of all rows at once."""
    from unittest import mock

    from sigbatch.infer import partial as engine

    rows = [{"id": i, f"k{i % 3000}": i} for i in range(12_000)]
    with mock.patch.object(engine, "_block_partial", wraps=engine._block_partial) as block:
        split = partial_from_records(rows)
    assert [len(call.args[0]) for call in block.call_args_list] == [5_000, 7_000]
    with mock.patch.object(engine, "BLOCK_ROWS", 10**9):
        whole = partial_from_records(rows)
    assert finalize(split) == finalize(whole)
    assert (split.field("k7").count("long"), split.field("k7").missing) == (4, 11_996)


def test_a_fault_in_a_later_block_is_the_error_of_all_rows():
    """Where blocks would meet different faults first, the error is the one of all rows at once:
    a key that is not text anywhere is named before a value without a type (MLflow's order)."""
    rows = [{"a": (1, 2)}] + [{"a": 1}] * 11_000 + [{5: "x"}]
    with pytest.raises(InferenceError, match="Expected name to be a string, got type int"):
        partial_from_records(rows)
    with pytest.raises(InferenceError, match="Expected name to be a string, got type int"):
        partial_from_records([rows[0], rows[-1]])  # one block


def test_non_records_are_counted_unreadable():
    """Rows that are not dicts are counted, not raised: failures are data."""
    partial = partial_from_records([{"a": 1}, [1, 2], "text"])
    assert (partial.rows, partial.unreadable, partial.unreadable_at) == (1, 2, ())
    with pytest.raises(InferenceError, match=r"Nothing to infer .*\(1 unreadable records\)\.$"):
        finalize(partial_from_records(["x"]))


def test_unreadable_places_travel_and_the_earliest_few_are_kept():
    """The places of unreadable records travel in a partial's dict; a merge keeps the earliest
    three by file and line, whatever the order; the report and its text name them."""
    first = replace(
        partial_from_records([{"a": 1}], origin=1),
        unreadable=3,
        unreadable_at=(UnreadableRecord(1, 2, "b.jsonl"), UnreadableRecord(1, 9, "b.jsonl")),
    )
    second = replace(
        partial_from_records([{"a": 2}]),
        unreadable=2,
        unreadable_at=(UnreadableRecord(0, 40, "a.jsonl"), UnreadableRecord(0, 41, "a.jsonl")),
    )
    assert Partial.from_dict(json.loads(json.dumps(first.to_dict()))) == first
    assert first.to_dict()["unreadable_at"] == [
        {"source": "b.jsonl", "line": 2, "origin": 1},
        {"source": "b.jsonl", "line": 9, "origin": 1},
    ]
    merged = merge(first, second)
    assert merged == merge(second, first)
    assert merged.unreadable_at == (
        UnreadableRecord(0, 40, "a.jsonl"),
        UnreadableRecord(0, 41, "a.jsonl"),
        UnreadableRecord(1, 2, "b.jsonl"),
    )
    report = finalize(merged)[1]
    assert report.to_dict()["unreadable_at"] == [u.to_dict() for u in merged.unreadable_at]
    assert (
        "Unreadable records skipped: 5 (the first: a.jsonl line 40, a.jsonl line 41, b.jsonl line 2).\n"
        in report.text()
    )
    two = finalize(replace(second, unreadable=2))[1].text()
    assert "Unreadable records skipped: 2 (a.jsonl line 40, a.jsonl line 41).\n" in two


# --- policies -------------------------------------------------------------------------------------


def _mixed():
    return [{"n": 1}, {"n": 2}, {"n": 3}, {"n": 2.5}, {"n": "n/a"}]


def test_strict_names_path_types_counts_and_examples():
    """strict: one error listing each conflicting path, each type with its row count and examples."""
    rows = [*_mixed(), {"o": {"k": [1, "x"]}}]
    with pytest.raises(InferenceError) as err:
        finalize(partial_from_records(rows))
    text = str(err.value)
    assert (
        "'n': long in 3 rows (e.g. 1, 2, 3); double in 1 row (e.g. 2.5); string in 1 row (e.g. \"n/a\")"
        in text
    )
    assert "'o.k[]': long in 1 value (e.g. 1); string in 1 value (e.g. \"x\")" in text
    assert "Hint: use policy 'widen'" in text


def test_widen_follows_spark():
    """widen: integer < long < float < double among numbers; anything else mixed becomes string."""
    assert finalize(partial_from_records(_mixed()[:4]), "widen")[0] == Schema([ColSpec("double", "n")])
    schema, report = finalize(partial_from_records(_mixed()), "widen")
    assert schema == Schema([ColSpec("string", "n")])
    assert report.conflicts[0].chosen == "string"
    table = pa.table({"i": pa.array([1], pa.int32())})
    merged = merge(
        partial_from_table(table), partial_from_table(table.cast(pa.schema([("i", pa.float32())])))
    )
    assert finalize(merged, "widen")[0] == Schema([ColSpec("float", "i")])
    # every step of the order, each pair merged both ways
    arrow = {"integer": pa.int32(), "long": pa.int64(), "float": pa.float32(), "double": pa.float64()}
    order = list(arrow)
    for i, low in enumerate(order):
        for high in order[i:]:
            parts = [partial_from_table(pa.table({"i": pa.array([1], arrow[t])})) for t in (low, high)]
            for pair in (parts, parts[::-1]):
                assert finalize(merge(*pair), "widen")[0] == Schema([ColSpec(high, "i")]), (low, high)
    assert finalize(partial_from_records([{"a": [1]}, {"a": {"k": 1}}]), "widen")[0] == Schema(
        [ColSpec("string", "a")]
    )


def test_majority_reports_the_minority_as_quarantine_rate():
    """majority: the dominant type, the minority share reported as the expected quarantine rate."""
    schema, report = finalize(partial_from_records(_mixed()), "majority")
    assert schema == Schema([ColSpec("long", "n")])
    (conflict,) = report.conflicts
    assert (conflict.chosen, conflict.minority, conflict.quarantine_rate) == ("long", 2, pytest.approx(0.4))
    assert report.expected_quarantine_rate == pytest.approx(0.4)
    assert "Expected quarantine rate: at most 40.00% of rows." in report.text()


def test_majority_rate_of_nested_conflicts_counts_values_and_bounds_the_rows():
    """A nested conflict's minority is a share of values (several may sit in one row): the report
    says so, and gives the expected quarantine rate as an upper bound on rows."""
    rows = [{"x": "s" if i < 2 else i, "l": ["a", "b", "c", "d"] if i < 2 else [1, 2, 3]} for i in range(10)]
    _schema, report = finalize(partial_from_records(rows), "majority")
    assert report.expected_quarantine_rate == 1.0
    text = report.text()
    assert "-> long (minority: 20.00% of rows; quarantined unless they convert to long)" in text
    assert "-> long (minority: 25.00% of these values; quarantined unless they convert to long)" in text
    assert "Expected quarantine rate: at most 100.00% of rows." in text


def test_majority_rate_divides_each_minority_by_the_rows_of_its_column():
    """Columns looked at in different rows (a Parquet footer answers a flat column for every row,
    a nested one is read up to a cap): each minority is a share of its own column's rows."""
    partial = Partial.from_dict(
        {
            "rows": 1000,
            "fields": {
                "id": {"types": {"long": 600, "string": 400}},
                "o": {"types": {"object": 10}, "properties": {"k": {"types": {"long": 5, "string": 5}}}},
            },
        }
    )
    _schema, report = finalize(partial, "majority")
    assert [(c.path, c.minority, c.rows) for c in report.conflicts] == [("id", 400, 1000), ("o.k", 5, 10)]
    assert report.expected_quarantine_rate == 0.9
    assert finalize(partial, "widen")[1].expected_quarantine_rate == 0.0


def test_unknown_policy_is_a_config_error():
    """A policy name that does not exist is the caller's mistake."""
    from sigbatch import ConfigError

    with pytest.raises(ConfigError, match="Unknown policy 'loose'"):
        finalize(partial_from_records([{"a": 1}]), "loose")


# --- Arrow, pandas and text ---------------------------------------------------------------------


def test_arrow_types_answer_for_whole_columns():
    """Arrow columns are typed by their types: int32 is integer, struct an Object, map a Map; nulls optional."""
    table = pa.table(
        {
            "i": pa.array([1, None], pa.int32()),
            "ts": pa.array([dt.datetime(2026, 1, 1), dt.datetime(2026, 1, 2)], pa.timestamp("us", "UTC")),
            "tags": pa.array([["a"], []], pa.list_(pa.string())),
            "o": pa.array([{"d": "x", "e": None}, None], pa.struct([("d", pa.string()), ("e", pa.string())])),
            "m": pa.array([[("k", 1.5)], []], pa.map_(pa.string(), pa.float64())),
            "nothing": pa.array([None, None], pa.null()),
            "code": pa.array(["a", "b"]).dictionary_encode(),
        }
    )
    schema = finalize(partial_from_table(table))[0]
    assert schema == Schema(
        [
            ColSpec("integer", "i", False),
            ColSpec("datetime", "ts"),
            ColSpec(Array("string"), "tags"),
            ColSpec(Object([Property("d", "string", False), Property("e", "string", False)]), "o", False),
            ColSpec(Map("double"), "m"),
            ColSpec(AnyType(), "nothing", False),
            ColSpec("string", "code"),
        ]
    )


def test_arrow_declared_type_of_all_null_column_is_kept():
    """A typed column holding only nulls keeps its declared type (optional) instead of Any."""
    table = pa.table({"n": pa.array([None, None], pa.int64()), "l": pa.array([[], []], pa.list_(pa.int64()))})
    assert finalize(partial_from_table(table))[0] == Schema(
        [ColSpec("long", "n", False), ColSpec(Array("long"), "l")]
    )


def test_arrow_and_records_agree_on_json_shaped_data():
    """The same JSON-shaped rows typed through Arrow or as Python values give the same schema."""
    rows = [
        {"id": 1, "name": "a", "tags": ["x"], "o": {"k": 1.5, "s": "v"}},
        {"id": 2, "name": None, "tags": ["y", "z"], "o": {"k": 2.5, "s": None}},
    ]
    from_table = finalize(partial_from_table(pa.Table.from_pylist(rows)))[0]
    assert from_table == finalize(partial_from_records(rows))[0] == _mlflow_schema(rows)


def test_unsupported_arrow_type_names_the_field():
    """A decimal column has no signature type: the error names the column."""
    table = pa.table({"price": pa.array([1], pa.decimal128(5, 2))})
    with pytest.raises(InferenceError, match="'price'"):
        partial_from_table(table)


def test_text_cells_are_typed_per_cell():
    """CSV cells: integer literals are long, other numbers double, true/false boolean, ISO dates datetime."""
    table = pa.table(
        {
            "n": ["1", "2", None],
            "x": ["1.5", "2", "1e3"],
            "b": ["true", "FALSE", "true"],
            "d": ["2026-01-01", "2026-01-02T10:00:00Z", None],
            "s": ["a", "1", "b"],
        }
    )
    partial = partial_from_text(table)
    assert partial.field("x").types == (("long", 1), ("double", 2))
    schema = finalize(partial, "widen")[0]
    assert schema == Schema(
        [
            ColSpec("long", "n", False),
            ColSpec("double", "x"),
            ColSpec("boolean", "b"),
            ColSpec("datetime", "d", False),
            ColSpec("string", "s"),
        ]
    )


def test_integer_cells_are_long_up_to_int64():
    """CSV integer cells of 19 digits are long while they fit int64 (ids, nanosecond times), as
    pandas and the jobs' readers take them; beyond it they are numbers the readers make double."""
    table = pa.table(
        {
            "id": [
                "1234567890123456789",
                "9223372036854775807",
                "-9223372036854775808",
                "+0000000000000000001",
            ],
            "big": ["9223372036854775808", "-9223372036854775809", "99999999999999999999", "1"],
        }
    )
    partial = partial_from_text(table)
    assert partial.field("id").types == (("long", 4),)
    assert partial.field("big").types == (("long", 1), ("double", 3))
    assert [e[3] for e in dict(partial.field("big").examples)["double"]] == [
        "9223372036854775808",
        "-9223372036854775809",
        "99999999999999999999",
    ]


def test_pandas_frame_partial():
    """pandas: typed columns go through Arrow (NaN is missing), object columns by their Python values."""
    import pandas as pd

    frame = pd.DataFrame({"x": [1.0, float("nan")], "n": [1, 2], "tags": [["a"], ["b", "c"]]})
    schema = finalize(partial_from_frame(frame))[0]
    assert schema == Schema(
        [ColSpec("double", "x", False), ColSpec("long", "n"), ColSpec(Array("string"), "tags")]
    )
    assert DataType.long in schema.input_types()


def test_merge_and_from_dict_refuse_what_is_not_a_partial():
    """merge takes Partial objects only, and a partial read back from a dict may only name the
    known types: a mistake is an error that says so, not a silent result."""
    with pytest.raises(TypeError, match=r"merge takes two Partial objects .*got NoneType"):
        merge(None, EMPTY)
    with pytest.raises(TypeError, match=r"merge takes two Partial objects .*got dict"):
        merge(EMPTY, {"rows": 1})
    with pytest.raises(InferenceError, match=r"a partial names unknown type\(s\) \['bogus'\]"):
        Partial.from_dict({"rows": 3, "fields": {"a": {"types": {"bogus": 3}}}})


def test_names_with_path_punctuation_are_quoted_in_report_paths_and_cautions():
    """A dotted or empty field name is quoted in the report's paths and in the cautions naming it."""
    struct = pa.struct([("t.z", pa.timestamp("us")), ("", pa.list_(pa.int64()))])
    table = pa.table(
        {
            "c": pa.array([{"t.z": dt.datetime(2024, 1, 1), "": [1, None]}], struct),
            "m.n": pa.array([[("k", None)]], pa.map_(pa.string(), pa.float64())),
        }
    )
    _, report = finalize(partial_from_table(table))
    assert [f.path for f in report.fields] == ["c", 'c.""', 'c.""[]', 'c."t.z"', '"m.n"', '"m.n"{}']
    assert [c.split(":")[0] for c in report.cautions] == ['c.""[]', 'c."t.z"', '"m.n"{}']
