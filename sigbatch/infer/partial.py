"""Partial schemas: what one partition's rows say about their types, mergeable across partitions.

A :class:`Partial` is the engine of every inference in sigbatch beyond one in-memory list: each
partition (a file, a Spark partition, a Dask partition, a chunk of records) is summarised into a
partial, partials travel (as small JSON) to wherever they are merged, and
:func:`~sigbatch.infer.finalize.finalize` turns the merged partial into a schema under a conflict
policy. Per field path a partial keeps counts, never rows, so its size does not grow with the row
count:

* ``missing``: slots where the field was absent (a record without the key, a file without the column);
* ``nulls``: values that were ``None`` (Arrow null);
* ``untyped``: values that have no type of their own in MLflow's rules (float NaN, ``pd.NA``,
  ``pd.NaT``, empty lists and dicts): they merge into any type but make a property optional;
* ``empty``: of those, per container kind (``array``, ``object``, ``map``) the empty ones: an
  empty object is a slot of each property of the objects at its path (where the property is
  absent), so a property is looked at in ``count("object") + empty_count("object")`` slots;
* ``types``: per observed type name (``long``, ``string``, ..., ``array``, ``object``, ``map``) the
  number of values of that type; a count of 0 is a type *declared* by the data's schema (an Arrow
  column of all nulls) with no value to show for it;
* up to :data:`MAX_EXAMPLES` example values per type (the first ones, by position), as short text;
* children: the properties of Objects, the element partial of Arrays, the value partial of Maps.

:func:`merge` adds counts and keeps the earliest examples and first-seen positions, so it is
associative and commutative with :data:`EMPTY` as identity, and merging the partials of a split
gives the partial of the whole (given each chunk's ``origin`` and ``first_row``).

Two readings of values feed partials. :func:`partial_from_records` reads Python values as MLflow's
inference of a list of dicts does (exact Python types: ``int`` is ``long``, ``float`` is ``double``,
a ``bool`` is not an ``int``, dicts are Objects, NaN is untyped). :func:`partial_from_table` reads
Arrow columns by their Arrow type (``int32`` is ``integer``, a struct is an Object, a map a Map), so
a whole column is typed at once and only its null count and list lengths are computed; a NaN there is
a ``double`` value. :func:`partial_from_text` types each cell of a table of strings (CSV) by what its
text spells.

Example:
    >>> from sigbatch.infer import finalize
    >>> a = partial_from_records([{"id": 1, "tags": ["x"]}])
    >>> b = partial_from_records([{"id": 2, "attrs": {"k": "v"}}], first_row=1)
    >>> finalize(merge(a, b))[0]
    ['id': long (required), 'tags': Array(string) (optional), 'attrs': {k: string (required)} (optional)]
"""

from __future__ import annotations

import datetime as _dt
import functools
import json
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from itertools import chain, repeat
from operator import is_not
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from sigbatch.arrow import from_arrow_type
from sigbatch.errors import InferenceError, SignatureError
from sigbatch.infer.values import _SCALAR_TYPES, _as_list, _reject_pydantic
from sigbatch.quarantine import child_path, path_name
from sigbatch.types import DataType, repeated_names

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = [
    "EMPTY",
    "KINDS",
    "MAX_EXAMPLES",
    "MAX_LOCATED",
    "MAX_NESTING",
    "FieldPartial",
    "Partial",
    "Sample",
    "UnreadableRecord",
    "arrow_kind",
    "earliest_unreadable",
    "example_text",
    "merge",
    "merge_all",
    "partial_from_frame",
    "partial_from_records",
    "partial_from_table",
    "partial_from_text",
]

#: Examples kept per observed type and field path.
MAX_EXAMPLES = 3
#: Unreadable records whose place is kept (the earliest, by file and line): enough to find them.
MAX_LOCATED = 3
#: Levels of arrays, objects and maps inferred within one column; deeper data is refused (the
#: recursion that types it, and the signature it would give, must stay far from Python's limit).
MAX_NESTING = 100
#: Type names a partial counts: MLflow's scalar names, then the three containers.
KINDS: tuple[str, ...] = (*(t.name for t in DataType), "array", "object", "map")
_KIND_ORDER = {k: i for i, k in enumerate(KINDS)}
_EXAMPLE_CHARS = 40
#: Records, or values of a column, read as one block (see :func:`_in_blocks`).
BLOCK_ROWS = 5_000
_T = TypeVar("_T", "Partial", "FieldPartial")

#: An example: (origin, first_row, index, text); ordering the tuples orders values by position.
Example = tuple[int, int, int, str]


class _Missing:
    """The marker of an absent key in a column of record values."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<missing>"


_MISSING = _Missing()
_NONE_TYPE = type(None)
_NA_TYPES = (type(pd.NA), type(pd.NaT))
_NAN_TYPES = (float, np.float64)
#: The bounds of ``long`` (64-bit integers).
_LONG_MIN, _LONG_MAX = -(2**63), 2**63 - 1


@dataclass(frozen=True, slots=True)
class FieldPartial:
    """What the values at one field path said: counts per outcome, examples, children.

    ``rows`` (derived) is the number of slots looked at: ``missing`` plus every value present.

    Example:
        >>> node = partial_from_records([{"a": 1}, {"a": None}, {}]).field("a")
        >>> node.rows, node.missing, node.nulls, node.count("long")
        (3, 1, 1, 1)
        >>> node = partial_from_records([{"o": {"k": 1}}, {"o": {}}]).field("o")
        >>> node.count("object"), node.untyped, node.empty, node.property("k").rows
        (1, 1, (('object', 1),), 2)
    """

    missing: int = 0
    nulls: int = 0
    untyped: int = 0
    empty: tuple[tuple[str, int], ...] = ()
    types: tuple[tuple[str, int], ...] = ()
    examples: tuple[tuple[str, tuple[Example, ...]], ...] = ()
    properties: tuple[tuple[str, FieldPartial], ...] = ()
    items: FieldPartial | None = None
    values: FieldPartial | None = None

    @property
    def present(self) -> int:
        """Slots where the field was present (null, untyped or typed)."""
        return self.nulls + self.untyped + sum(c for _, c in self.types)

    @property
    def rows(self) -> int:
        """Slots looked at: missing plus present."""
        return self.missing + self.present

    def count(self, kind: str) -> int:
        """Values of type ``kind`` (0 when none was seen)."""
        return next((c for k, c in self.types if k == kind), 0)

    def empty_count(self, kind: str) -> int:
        """Empty containers of kind ``kind`` (``[]``, ``{}``) among the untyped values."""
        return next((c for k, c in self.empty if k == kind), 0)

    def property(self, name: str) -> FieldPartial | None:
        """The partial of an Object property, or None."""
        return next((p for n, p in self.properties if n == name), None)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict; zero counts and empty parts are left out."""
        out: dict[str, Any] = {}
        for key in ("missing", "nulls", "untyped"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        if self.empty:
            out["empty"] = dict(self.empty)
        if self.types:
            out["types"] = dict(self.types)
        if self.examples:
            out["examples"] = {k: [list(e) for e in ex] for k, ex in self.examples}
        if self.properties:
            out["properties"] = {n: p.to_dict() for n, p in self.properties}
        if self.items is not None:
            out["items"] = self.items.to_dict()
        if self.values is not None:
            out["values"] = self.values.to_dict()
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Self:
        """Read :meth:`to_dict`'s form.

        Raises:
            InferenceError: a type name that is not one of :data:`KINDS`.
        """
        unknown = sorted((set(d.get("types", {})) | set(d.get("empty", {}))) - set(KINDS))
        if unknown:
            msg = f"a partial names unknown type(s) {unknown}; the types are {list(KINDS)}"
            raise InferenceError(msg)
        return cls(
            missing=int(d.get("missing", 0)),
            nulls=int(d.get("nulls", 0)),
            untyped=int(d.get("untyped", 0)),
            empty=_sorted_kinds((k, int(c)) for k, c in d.get("empty", {}).items()),
            types=_sorted_kinds((k, int(c)) for k, c in d.get("types", {}).items()),
            examples=_sorted_kinds(
                (k, tuple((int(o), int(f), int(i), str(t)) for o, f, i, t in ex))
                for k, ex in d.get("examples", {}).items()
            ),
            properties=tuple(sorted((n, cls.from_dict(p)) for n, p in d.get("properties", {}).items())),
            items=cls.from_dict(d["items"]) if "items" in d else None,
            values=cls.from_dict(d["values"]) if "values" in d else None,
        )


_EMPTY_FIELD = FieldPartial()


@dataclass(frozen=True, slots=True, order=True)
class Sample:
    """One partition or file that was read: how many rows were read, and whether all of them.

    ``footer_rows`` counts rows whose flat columns were answered by a Parquet footer (no data read).
    """

    source: str
    rows_read: int
    footer_rows: int = 0
    exhausted: bool = True

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict."""
        return {
            "source": self.source,
            "rows_read": self.rows_read,
            "footer_rows": self.footer_rows,
            "exhausted": self.exhausted,
        }


@dataclass(frozen=True, slots=True, order=True)
class UnreadableRecord:
    """Where a record that could not be read is: its file (``source``) and 1-based ``line``.

    ``origin`` is the file's position among those read: records are ordered by file, then line.

    Example:
        >>> UnreadableRecord(0, 7, "a.jsonl").describe()
        'a.jsonl line 7'
    """

    origin: int
    line: int
    source: str

    def describe(self) -> str:
        """The place as the report prints it."""
        return f"{self.source} line {self.line}"

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict."""
        return {"source": self.source, "line": self.line, "origin": self.origin}


def earliest_unreadable(records: Iterable[UnreadableRecord]) -> tuple[UnreadableRecord, ...]:
    """The first :data:`MAX_LOCATED` of ``records`` by file and line (what a partial keeps)."""
    return tuple(sorted(records)[:MAX_LOCATED])


@dataclass(frozen=True, slots=True)
class Partial:
    """The partial schema of some records: row count, one :class:`FieldPartial` per top-level field.

    ``first`` holds, per field, the position ``(origin, row, column)`` where it was first seen, so
    finalising orders fields as MLflow does (first-seen order) whatever order partials merge in.
    ``unreadable`` counts records that could not be read as a record (bad JSON, a JSON line that is
    not an object, a malformed CSV row); ``unreadable_at`` says where the earliest few of them are
    (:data:`MAX_LOCATED`, in files only); ``samples`` lists what was read. ``wide_ints`` counts,
    per field path, the integers beyond the 64 bits of ``long`` (found in JSON lines read value by
    value): MLflow calls them ``long``, while no Arrow or Spark integer type holds them.

    Example:
        >>> p = partial_from_records([{"b": 1, "a": "x"}])
        >>> [name for name, _ in p.fields], p.first
        (['a', 'b'], (('a', (0, 0, 1)), ('b', (0, 0, 0))))
    """

    rows: int = 0
    fields: tuple[tuple[str, FieldPartial], ...] = ()
    first: tuple[tuple[str, tuple[int, int, int]], ...] = ()
    unreadable: int = 0
    samples: tuple[Sample, ...] = ()
    unreadable_at: tuple[UnreadableRecord, ...] = ()
    wide_ints: tuple[tuple[str, int], ...] = ()

    def field(self, name: str) -> FieldPartial | None:
        """The partial of a top-level field, or None."""
        return next((p for n, p in self.fields if n == name), None)

    def field_order(self) -> list[str]:
        """Field names in first-seen order (fields without a position last, by name)."""
        first = dict(self.first)
        unknown = (2**62, 0, 0)
        return sorted((n for n, _ in self.fields), key=lambda n: (first.get(n, unknown), n))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (what travels from executors to the driver)."""
        return {
            "rows": self.rows,
            "fields": {n: p.to_dict() for n, p in self.fields},
            "first": {n: list(pos) for n, pos in self.first},
            "unreadable": self.unreadable,
            "samples": [s.to_dict() for s in self.samples],
            "unreadable_at": [u.to_dict() for u in self.unreadable_at],
            "wide_ints": dict(self.wide_ints),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Self:
        """Read :meth:`to_dict`'s form."""
        return cls(
            rows=int(d.get("rows", 0)),
            fields=tuple(sorted((n, FieldPartial.from_dict(p)) for n, p in d.get("fields", {}).items())),
            first=tuple(sorted((n, (int(a), int(b), int(c))) for n, (a, b, c) in d.get("first", {}).items())),
            unreadable=int(d.get("unreadable", 0)),
            samples=_in_order(Sample(**s) for s in d.get("samples", [])),
            unreadable_at=earliest_unreadable(
                UnreadableRecord(int(u["origin"]), int(u["line"]), str(u["source"]))
                for u in d.get("unreadable_at", [])
            ),
            wide_ints=tuple(sorted((str(p), int(n)) for p, n in d.get("wide_ints", {}).items())),
        )

    def to_json(self) -> str:
        """Compact JSON text."""
        return json.dumps(self.to_dict(), separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Self:
        """Read :meth:`to_json`'s text."""
        return cls.from_dict(json.loads(text))


def _summed(
    left: tuple[tuple[str, int], ...], right: tuple[tuple[str, int], ...]
) -> tuple[tuple[str, int], ...]:
    """Counts per key of both sides, added, in key order."""
    counts = dict(left)
    for key, n in right:
        counts[key] = counts.get(key, 0) + n
    return tuple(sorted(counts.items()))


def _in_order(samples: Iterable[Sample]) -> tuple[Sample, ...]:
    """Samples by source, numbers in a name by value ("partition 2" before "partition 10")."""
    return tuple(sorted(samples, key=lambda s: (_natural_key(s.source), s)))


def _natural_key(name: str) -> tuple[tuple[int, int | str], ...]:
    """``name`` as its runs of digits (by value) and of other characters, comparable between names."""
    return tuple(
        (0, int(run)) if "0" <= run[0] <= "9" else (1, run) for run in re.findall(r"[0-9]+|[^0-9]+", name)
    )


#: The identity of :func:`merge`: no rows, no fields.
EMPTY = Partial()


# --- merge ------------------------------------------------------------------------------------


def merge(left: Partial, right: Partial) -> Partial:
    """The partial of the records of both ``left`` and ``right``.

    Counts add up; a field known on one side only is missing from every row of the other;
    examples keep the earliest by position; first-seen positions keep the earliest, and so do the
    places of unreadable records.
    Associative and commutative, with :data:`EMPTY` as identity.

    Example:
        >>> p = merge(partial_from_records([{"a": 1}]), partial_from_records([{"b": "x"}], origin=1))
        >>> p.rows, p.field("a").missing, p.field("b").missing
        (2, 1, 1)
    """
    for side in (left, right):
        if not isinstance(side, Partial):
            msg = (
                f"merge takes two Partial objects (Partial.from_dict reads a dict), got {type(side).__name__}"
            )
            raise TypeError(msg)
    if left == EMPTY:
        return right
    if right == EMPTY:
        return left
    ours, theirs = dict(left.fields), dict(right.fields)
    fields = tuple(
        (name, _merge_field(ours.get(name), theirs.get(name), left.rows, right.rows))
        for name in sorted(ours.keys() | theirs.keys())
    )
    first = dict(left.first)
    for name, pos in right.first:
        if name not in first or pos < first[name]:
            first[name] = pos
    return Partial(
        rows=left.rows + right.rows,
        fields=fields,
        first=tuple(sorted(first.items())),
        unreadable=left.unreadable + right.unreadable,
        samples=_in_order(left.samples + right.samples),
        unreadable_at=earliest_unreadable(left.unreadable_at + right.unreadable_at),
        wide_ints=_summed(left.wide_ints, right.wide_ints),
    )


def merge_all(partials: Iterable[Partial]) -> Partial:
    """All ``partials`` merged, pairwise as a balanced tree."""
    level = list(partials)
    return _pairwise(level, merge) if level else EMPTY


def _pairwise(level: list[_T], combine: Callable[[_T, _T], _T]) -> _T:
    """The items of a non-empty ``level`` combined pairwise as a balanced tree."""
    while len(level) > 1:
        level = [
            combine(level[i], level[i + 1]) if i + 1 < len(level) else level[i]
            for i in range(0, len(level), 2)
        ]
    return level[0]


def _merge_field(
    left: FieldPartial | None, right: FieldPartial | None, left_base: int, right_base: int
) -> FieldPartial:
    """Two partials of the same path; an absent side is missing from all of its ``base`` slots."""
    return _merge_nodes(
        left if left is not None else FieldPartial(missing=left_base),
        right if right is not None else FieldPartial(missing=right_base),
    )


def _merge_nodes(a: FieldPartial, b: FieldPartial) -> FieldPartial:
    """Two partials of the same path, both present."""
    if a == _EMPTY_FIELD:
        return b
    if b == _EMPTY_FIELD:
        return a
    types = dict(a.types)
    for kind, count in b.types:
        types[kind] = types.get(kind, 0) + count
    empty = dict(a.empty)
    for kind, count in b.empty:
        empty[kind] = empty.get(kind, 0) + count
    examples = dict(a.examples)
    for kind, ex in b.examples:
        examples[kind] = tuple(sorted(examples.get(kind, ()) + ex)[:MAX_EXAMPLES])
    properties: tuple[tuple[str, FieldPartial], ...] = ()
    if a.properties or b.properties:
        ours, theirs = dict(a.properties), dict(b.properties)
        # every object is a slot of each property, an empty one (where it is absent) too
        a_objects = a.count("object") + a.empty_count("object")
        b_objects = b.count("object") + b.empty_count("object")
        properties = tuple(
            (name, _merge_field(ours.get(name), theirs.get(name), a_objects, b_objects))
            for name in sorted(ours.keys() | theirs.keys())
        )
    return FieldPartial(
        missing=a.missing + b.missing,
        nulls=a.nulls + b.nulls,
        untyped=a.untyped + b.untyped,
        empty=_sorted_kinds(empty.items()),
        types=_sorted_kinds(types.items()),
        examples=_sorted_kinds(examples.items()),
        properties=properties,
        items=_merge_child(a.items, b.items),
        values=_merge_child(a.values, b.values),
    )


def _merge_child(a: FieldPartial | None, b: FieldPartial | None) -> FieldPartial | None:
    """Element (or map value) partials: absent means no elements."""
    if a is None:
        return b
    if b is None:
        return a
    return _merge_nodes(a, b)


def _sorted_kinds(pairs: Iterable[tuple[str, Any]]) -> tuple[tuple[str, Any], ...]:
    """Pairs keyed by a type name, in :data:`KINDS` order."""
    return tuple(sorted(pairs, key=lambda kv: (_KIND_ORDER.get(kv[0], len(KINDS)), kv[0])))


# --- examples ---------------------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    """A JSON-able stand-in for a value json cannot write."""
    if isinstance(value, (_dt.date, _dt.datetime, _dt.time)):
        return value.isoformat()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (bytes, bytearray)):
        return repr(bytes(value))
    if isinstance(value, Mapping):
        return dict(value)
    return str(value)


_EXAMPLE_ENCODER = json.JSONEncoder(default=_jsonable, ensure_ascii=False)


def _repr(value: Any) -> str:
    """``repr(value)``, or its type's name where there is none (an int of over 4,300 digits)."""
    try:
        return repr(value)
    except ValueError:
        return f"<{type(value).__name__}>"


def example_text(value: Any) -> str:
    """A value as short JSON-like text (at most 40 characters) for reports and messages.

    Example:
        >>> example_text("n/a"), example_text([1, 2]), example_text("x" * 50)[-3:]
        ('"n/a"', '[1, 2]', 'xx…')
    """
    try:
        kind = type(value)
        if kind is int:  # the common scalars as json writes them, without an encoder per call
            text = int.__repr__(value)
        elif kind is float and math.isfinite(value):
            text = float.__repr__(value)
        else:
            text = _EXAMPLE_ENCODER.encode(value)
    except (TypeError, ValueError):
        text = _repr(value)
    except RecursionError:  # nested too deep to print (and to infer: the caller refuses it)
        return "…"
    return text if len(text) <= _EXAMPLE_CHARS else text[: _EXAMPLE_CHARS - 1] + "…"


# --- Python records ---------------------------------------------------------------------------


def partial_from_records(rows: Iterable[Any], *, origin: int = 0, first_row: int = 0) -> Partial:
    """The partial of a list of records (dicts), read with MLflow's rules for Python values.

    Anything that is not a dict is counted as ``unreadable`` (failures are data, not exceptions).

    Args:
        rows: The records.
        origin: The position of this partition among all partitions (orders fields and examples).
        first_row: The index of ``rows[0]`` within its partition (for partitions read in chunks).

    Raises:
        InferenceError: A value has no signature type (e.g. a tuple or a ``pd.Timestamp``), a key
            is not a string, or a value is a Pydantic object.

    Example:
        >>> p = partial_from_records([{"a": [1, None]}, {"a": None, "b": {"c": 2.5}}])
        >>> p.field("a").nulls, p.field("a").items.to_dict(), p.field("b").property("c").types
        (1, {'nulls': 1, 'types': {'long': 1}, 'examples': {'long': [[0, 0, 0, '1']]}}, (('double', 1),))
    """
    return _records_partial(rows, origin, first_row, None)


def _records_partial(
    rows: Iterable[Any], origin: int, first_row: int, seen: set[type] | None, wide: bool = False
) -> Partial:
    """:func:`partial_from_records`, adding to ``seen`` (when given) the types of lists it reads;
    with ``wide``, counting the integers beyond the 64 bits of long in ``wide_ints`` (for files:
    records in memory are MLflow's to judge).

    Many records are read in blocks (:func:`_in_blocks`), whose partials are merged: the passes over
    a block (its keys, its values, their types, nested items) then find its objects in the
    processor's cache, where passes over all of them would fetch each from memory every time.
    """
    records = rows if isinstance(rows, list) else list(rows)
    return _in_blocks(
        records, first_row, lambda part, first: _block_partial(part, origin, first, seen, wide), merge
    )


def _values_node(
    values: list[Any] | np.ndarray,
    origin: int,
    first_row: int,
    seen: set[type] | None = None,
    kinds: set[type] | None = None,
) -> FieldPartial:
    """:func:`_node_from_values` of a column's values (a list, or a 1-D object array), read in
    blocks as records are (``kinds``, when given, receives the exact types of the values read)."""

    def read(part: list[Any], first: int) -> FieldPartial:
        return _node_from_values(part, origin, first, 0, seen, kinds=kinds)

    return _in_blocks(values, first_row, read, _merge_nodes)


def _in_blocks(
    items: list[Any] | np.ndarray,
    first_row: int,
    read: Callable[[list[Any], int], _T],
    combine: Callable[[_T, _T], _T],
) -> _T:
    """``read(items, first_row)``, as blocks of :data:`BLOCK_ROWS` items combined, when there are
    many: each pass over a block then finds its objects still in the processor's cache. Where a
    block raises (anything), all the items are read at once, for the error the whole data gives
    first. Where the first block holds few values per field path (many keys, each in few rows),
    the rest is read at once: the work per path, which every block repeats, outweighs the gain.

    A 1-D object array (a pandas column) is read as the list of its objects; its blocks become
    lists only as they are read, since a list of all of them would fetch each object from memory
    once more to make it (and again to free it)."""
    if len(items) < 2 * BLOCK_ROWS:
        return read(_as_list(items), first_row)
    try:
        parts = [read(_as_list(items[:BLOCK_ROWS]), first_row)]
        if _sparse(parts[0]):
            parts.append(read(_as_list(items[BLOCK_ROWS:]), first_row + BLOCK_ROWS))
        else:
            parts += [
                read(_as_list(items[start : start + BLOCK_ROWS]), first_row + start)
                for start in range(BLOCK_ROWS, len(items), BLOCK_ROWS)
            ]
    except Exception:  # whatever a block raised, the whole reading raises what the data gives first
        return read(_as_list(items), first_row)
    return _pairwise(parts, combine)


#: Values per field path below which blocks are not worth their repeated work per path.
_DENSE_VALUES = 64


def _sparse(part: Partial | FieldPartial) -> bool:
    """Whether a block's partial holds fewer than :data:`_DENSE_VALUES` values per field path."""
    nodes = (
        [node for _, top in part.fields for node in _nodes(top)]
        if isinstance(part, Partial)
        else list(_nodes(part))
    )
    return sum(node.present for node in nodes) < _DENSE_VALUES * len(nodes)


def _nodes(node: FieldPartial) -> Iterator[FieldPartial]:
    """``node`` and every partial below it (properties, elements, map values)."""
    yield node
    for _, child in node.properties:
        yield from _nodes(child)
    for below in (node.items, node.values):
        if below is not None:
            yield from _nodes(below)


def _block_partial(
    records: list[Any], origin: int, first_row: int, seen: set[type] | None, wide: bool = False
) -> Partial:
    """:func:`_records_partial` of records read at once."""
    plain = list(map(type, records)).count(dict) == len(records)
    dicts = records if plain else [r for r in records if isinstance(r, dict)]
    unreadable = len(records) - len(dicts)
    if not dicts:
        return Partial(unreadable=unreadable)
    columns, missing = _columns(dicts, plain)
    beyond: Counter[str] | None = Counter() if wide else None
    fields = tuple(
        sorted(
            (
                name,
                _node_from_values(
                    values, origin, first_row, missing.get(name, 0), seen, path_name(name), wide=beyond
                ),
            )
            for name, values in columns.items()
        )
    )
    return Partial(
        rows=len(dicts),
        fields=fields,
        first=tuple(sorted(_first_positions(dicts, columns, origin, first_row).items())),
        unreadable=unreadable,
        wide_ints=tuple(sorted(beyond.items())) if beyond else (),
    )


def _columns(dicts: list[dict[Any, Any]], plain: bool = False) -> tuple[dict[str, list[Any]], dict[str, int]]:
    """The values of each key across ``dicts`` (first-seen key order) and how often it was absent.

    Plain dicts (``plain``: every one exactly a ``dict``) that all have the same keys in the same
    order (the common case) are read in one pass over their values, each column a slice of it.
    Otherwise dense keys are gathered one key at a time with the missing marker in place, and sparse
    ones (many keys, few per dict) entry by entry, so the cost stays proportional to the data.
    """
    n = len(dicts)
    flat_keys = list(chain.from_iterable(dicts))
    keys = dict.fromkeys(dicts[0])
    width = len(keys)
    if plain and len(flat_keys) == width * n and _repeats(flat_keys, list(keys), n):
        # The flat key list is the first dict's keys repeated n times: as no dict repeats a key,
        # every dict has exactly those keys in that order, and column j is every width-th value.
        flat_values = list(chain.from_iterable(map(dict.values, dicts)))
        return {k: flat_values[j::width] for j, k in enumerate(keys)}, {}
    keys = dict.fromkeys(flat_keys)
    _check_names(keys)
    entries = len(flat_keys)
    if len(keys) * n <= 4 * entries:
        return {k: list(map(dict.get, dicts, repeat(k), repeat(_MISSING))) for k in keys}, {}
    columns: dict[str, list[Any]] = {k: [] for k in keys}
    for d in dicts:
        for k, v in d.items():
            columns[k].append(v)
    return columns, {k: n - len(v) for k, v in columns.items()}


def _repeats(flat_keys: list[Any], keys: list[Any], n: int) -> bool:
    """Whether ``flat_keys`` is ``keys`` (all strings) repeated ``n`` times.

    (Only for plain dicts: a subclass such as ``OrderedDict`` may list its keys in another order
    than ``dict.values`` gives its values.)
    """
    width = len(keys)
    try:
        return all(isinstance(k, str) for k in keys) and all(
            flat_keys[j::width].count(k) == n for j, k in enumerate(keys)
        )
    except TypeError:  # a key whose == gives no truth value (pd.NA): the general path decides
        return False


def _check_names(keys: Iterable[Any]) -> None:
    """Raise MLflow's error for the first key that is not a string."""
    for key in keys:
        if not isinstance(key, str):
            msg = f"Expected name to be a string, got type {type(key).__name__}"
            raise InferenceError(msg)


def _first_positions(
    dicts: list[dict[Any, Any]], columns: Mapping[str, Any], origin: int, first_row: int
) -> dict[str, tuple[int, int, int]]:
    """Where each key was first seen: (origin, row, position within the row)."""
    first = {k: (origin, first_row, p) for p, k in enumerate(dicts[0])}
    for key in columns:
        if key not in first:
            row = next(i for i, d in enumerate(dicts) if key in d)
            first[key] = (origin, first_row + row, list(dicts[row]).index(key))
    return first


def _node_from_values(
    values: list[Any],
    origin: int,
    first_row: int,
    missing: int = 0,
    seen: set[type] | None = None,
    path: str = "<value>",
    depth: int = 0,
    kinds: set[type] | None = None,
    wide: Counter[str] | None = None,
) -> FieldPartial:
    """The partial of the values found at one path (``_MISSING`` marks an absent key).

    ``seen``, when given, collects the types of the lists and arrays found at any depth; ``kinds``
    the exact types of ``values`` themselves; ``wide`` the number of integers beyond the 64 bits of
    long per path; ``depth`` is the number of containers above ``path`` within its column.

    Raises:
        InferenceError: Containers nest deeper than :data:`MAX_NESTING` below the column.
    """
    by_type = _count_types(values)
    if kinds is not None:
        kinds.update(by_type)
    nulls = untyped = 0
    typed: dict[str, int] = {}
    empty: dict[str, int] = {}  # the untyped [] and {}
    scalar_types: dict[str, list[type]] = {}
    list_types: list[type] = []
    dict_types: list[type] = []
    for t, count in by_type.items():
        if t is _Missing:
            missing += count
        elif t is _NONE_TYPE:
            nulls += count
        elif (scalar := _SCALAR_TYPES.get(t)) is not None:
            if t in _NAN_TYPES:
                nans = _count_nans(values, t, len(by_type) == 1)
                untyped += nans
                count -= nans
            if count:
                typed[scalar.name] = typed.get(scalar.name, 0) + count
                scalar_types.setdefault(scalar.name, []).append(t)
            if wide is not None and t is int:
                ints = values if len(by_type) == 1 else [v for v in values if type(v) is int]
                if min(ints) < _LONG_MIN or max(ints) > _LONG_MAX:  # two passes in C: rarely more
                    wide[path] += sum(1 for v in ints if not _LONG_MIN <= v <= _LONG_MAX)
        elif t in _NA_TYPES:
            untyped += count
        elif issubclass(t, dict):
            dict_types.append(t)
        elif issubclass(t, (list, np.ndarray)):
            list_types.append(t)
        else:
            bad = next(v for v in values if type(v) is t)
            _reject_pydantic(bad)
            msg = f"Data {bad} is not one of the supported DataType"
            raise InferenceError(msg)
    examples = {
        kind: _first_examples(values, _scalar_test(tuple(ts), kind == "double"), origin, first_row)
        for kind, ts in scalar_types.items()
    }
    items = None
    if list_types:
        if seen is not None:
            seen.update(list_types)
        lists = values if len(by_type) == 1 else [v for v in values if type(v) in list_types]
        if any(issubclass(t, np.ndarray) for t in list_types):  # masked arrays and recarrays too
            if any(isinstance(v, np.ndarray) and v.ndim == 0 for v in lists):
                raise InferenceError("iteration over a 0-d array")
            full = [v for v in lists if len(v) > 0]
        else:
            full = list(filter(None, lists)) if [] in lists else lists
        empty["array"] = len(lists) - len(full)
        untyped += empty["array"]
        if full:
            _check_nesting(f"{path}[]", depth + 1)
            typed["array"] = len(full)
            examples["array"] = _first_examples(values, _container_test(tuple(list_types)), origin, first_row)
            elements = _concat(full)
            items = _node_from_values(elements, origin, first_row, 0, seen, f"{path}[]", depth + 1, wide=wide)
    properties: tuple[tuple[str, FieldPartial], ...] = ()
    if dict_types:
        dicts = values if len(by_type) == 1 else [v for v in values if type(v) in dict_types]
        full_dicts = list(filter(None, dicts)) if {} in dicts else dicts
        empty["object"] = len(dicts) - len(full_dicts)
        untyped += empty["object"]
        if full_dicts:
            typed["object"] = len(full_dicts)
            examples["object"] = _first_examples(
                values, _container_test(tuple(dict_types)), origin, first_row
            )
            columns, absent = _columns(full_dicts, dict_types == [dict])
            _check_nesting(child_path(path, next(iter(columns))), depth + 1)
            properties = tuple(
                sorted(
                    (
                        name,
                        _node_from_values(
                            vals,
                            origin,
                            first_row,
                            absent.get(name, 0),
                            seen,
                            child_path(path, name),
                            depth + 1,
                            wide=wide,
                        ),
                    )
                    for name, vals in columns.items()
                )
            )
    if empty.get("object") and properties:  # an empty object is a slot of every property, absent there
        properties = tuple((n, replace(p, missing=p.missing + empty["object"])) for n, p in properties)
    return FieldPartial(
        missing=missing,
        nulls=nulls,
        untyped=untyped,
        empty=_sorted_kinds((k, c) for k, c in empty.items() if c),
        types=_sorted_kinds(typed.items()),
        examples=_sorted_kinds(examples.items()),
        properties=properties,
        items=items,
    )


def _concat(lists: list[Any]) -> list[Any]:
    """The items of ``lists`` in order: ``list.extend`` copies a list's items at once, where
    ``chain.from_iterable`` steps through each with an iterator (twice the time on short lists)."""
    items: list[Any] = []
    any(map(items.extend, lists))  # extend returns None: any() runs through all of them
    return items


def _check_nesting(path: str, depth: int) -> None:
    """Refuse a path ``depth`` containers deep when that is beyond :data:`MAX_NESTING`."""
    if depth > MAX_NESTING:
        shown = path if len(path) <= 60 else path[:59] + "…"
        msg = (
            f"Field {shown!r} is nested {depth} levels deep; sigbatch infers at most {MAX_NESTING} "
            "levels of arrays, objects and maps. Hint: flatten the data, or store the deep part as a "
            "JSON string."
        )
        raise InferenceError(msg)


def _count_types(values: list[Any]) -> dict[type, int]:
    """How many values there are of each exact type."""
    types = list(map(type, values))
    if not types:
        return {}
    first = types[0]
    count = types.count(first)
    if count == len(types):  # one identity scan, no hashing: the common case
        return {first: count}
    # Two types (values and nulls, or values and absent keys): a few more scans, still no hashing.
    second = next(filter(functools.partial(is_not, first), types))
    if count + (rest := types.count(second)) == len(types):
        return {first: count, second: rest}
    distinct = set(types)
    if len(distinct) <= 8:
        # A few identity scans beat hashing every value's type into a Counter.
        return {t: types.count(t) for t in distinct}
    return Counter(types)


def _count_nans(values: list[Any], t: type, homogeneous: bool) -> int:
    """How many values of exact type ``t`` (a float type) are NaN (``homogeneous``: all are ``t``)."""
    floats = values if homogeneous else [v for v in values if type(v) is t]
    if t is float and not math.isnan(sum(floats)):
        # A sum of floats is NaN only if one of them is (or if +inf meets -inf): no NaN here.
        return 0
    return int(np.isnan(np.asarray(floats, dtype=np.float64)).sum())


def _first_examples(
    values: list[Any], accept: Callable[[Any], bool], origin: int, first_row: int
) -> tuple[Example, ...]:
    """The first :data:`MAX_EXAMPLES` values ``accept`` takes, with their indices in ``values``."""
    found: list[Example] = []
    for i, v in enumerate(values):
        if accept(v):
            found.append((origin, first_row, i, example_text(v)))
            if len(found) == MAX_EXAMPLES:
                break
    return tuple(found)


def _scalar_test(types: tuple[type, ...], skip_nan: bool) -> Callable[[Any], bool]:
    """A test for values of exact ``types`` (NaN excluded when ``skip_nan``)."""
    if skip_nan:
        return lambda v: type(v) in types and v == v
    return lambda v: type(v) in types


def _container_test(types: tuple[type, ...]) -> Callable[[Any], bool]:
    """A test for non-empty values of exact ``types``."""
    return lambda v: type(v) in types and len(v) > 0


# --- Arrow tables -----------------------------------------------------------------------------


def arrow_kind(arrow_type: pa.DataType, path: str = "<column>") -> str | None:
    """The partial's type name for an Arrow type (None for the ``null`` type).

    Raises:
        InferenceError: The type has no signature equivalent (decimal, uint64, time, ...).

    Example:
        >>> arrow_kind(pa.int32()), arrow_kind(pa.large_list(pa.string())), arrow_kind(pa.null())
        ('integer', 'array', None)
    """
    t = _storage_type(arrow_type)
    if pa.types.is_null(t):
        return None
    if _is_list_like(t):
        return "array"
    if pa.types.is_map(t):
        return "map"
    if pa.types.is_struct(t):
        return "object"
    try:
        kind = from_arrow_type(t)
    except SignatureError as exc:
        msg = str(exc).replace("'<type>'", repr(path))
        raise InferenceError(msg) from exc
    assert isinstance(kind, DataType)  # containers are handled above
    return kind.name


def _storage_type(t: pa.DataType) -> pa.DataType:
    """The type values are stored as (dictionary values, extension storage)."""
    while True:
        if pa.types.is_dictionary(t):
            t = t.value_type
        elif isinstance(t, pa.ExtensionType):
            t = t.storage_type
        else:
            return t


def _is_list_like(t: pa.DataType) -> bool:
    """Any list kind Arrow has."""
    return (
        pa.types.is_list(t)
        or pa.types.is_large_list(t)
        or pa.types.is_fixed_size_list(t)
        or pa.types.is_list_view(t)
        or pa.types.is_large_list_view(t)
    )


def partial_from_table(table: pa.Table | pa.RecordBatch, *, origin: int = 0, first_row: int = 0) -> Partial:
    """The partial of an Arrow table or record batch, typed by its Arrow types.

    Each column's type answers the type question for all its rows; only null counts, list lengths
    and a few example values are computed, vectorised. A column is never missing within a table.

    Raises:
        InferenceError: A column's Arrow type has no signature type, or names repeat.

    Example:
        >>> t = pa.table({"n": pa.array([1, None], pa.int32()), "tags": [["a"], []]})
        >>> p = partial_from_table(t)
        >>> p.field("n").types, p.field("n").nulls, p.field("tags").untyped
        ((('integer', 1),), 1, 1)
    """
    names = list(table.schema.names)
    if len(set(names)) != len(names):
        dupes = repeated_names(names)
        msg = f"Columns {dupes} appear more than once; a schema needs unique names."
        raise InferenceError(msg)
    fields = []
    for name, column in zip(names, table.columns, strict=True):
        fields.append((name, _node_from_arrow(_one_chunk(column), path_name(name), origin, first_row)))
    return Partial(
        rows=table.num_rows,
        fields=tuple(sorted(fields)),
        first=tuple(sorted((n, (origin, first_row, i)) for i, n in enumerate(names))),
    )


def _one_chunk(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    """A column as one contiguous array."""
    if isinstance(column, pa.ChunkedArray):
        if column.num_chunks == 1:
            return column.chunk(0)
        return column.combine_chunks() if column.num_chunks else pa.array([], column.type)
    return column


# How the values of an Arrow array reach a model (as pandas reads them from Parquet, and as
# enforcement judges them): ``"no"`` numpy (a column, or a list's elements outside maps: int32 stays
# int32), ``"scalars"`` a record's fields (Python scalars: ints are long, floats double; its lists
# stay numpy arrays), ``"all"`` everything in a map (Python values at every depth).
_NUMPY, _RECORD, _PYTHON = "no", "scalars", "all"
# The signature type of a Python scalar for the partial's Arrow-derived type name.
_PYTHON_KIND = {"integer": "long", "float": "double"}


def _node_from_arrow(
    arr: pa.Array, path: str, origin: int, first_row: int, depth: int = 0, python: str = _NUMPY
) -> FieldPartial:
    """The partial of an Arrow array's values (``depth`` containers below its column; ``python``:
    how its values reach a model, see ``_NUMPY``)."""
    t = arr.type
    if pa.types.is_dictionary(t):
        arr = arr.dictionary_decode()
    if isinstance(arr, pa.ExtensionArray):
        arr = arr.storage
    t = arr.type
    n, nulls = len(arr), arr.null_count
    kind = arrow_kind(t, path)
    if kind is None:
        return FieldPartial(nulls=n)
    if kind in ("array", "map"):
        return _node_from_arrow_lists(arr, kind, path, origin, first_row, depth, python)
    if kind == "object":
        return _node_from_arrow_struct(arr, path, origin, first_row, depth, python)
    if python != _NUMPY:
        kind = _PYTHON_KIND.get(kind, kind)
    examples = _arrow_examples(arr, arr.is_valid(), origin, first_row)
    return FieldPartial(
        nulls=nulls,
        types=((kind, n - nulls),),
        examples=((kind, examples),) if examples else (),
    )


def _node_from_arrow_lists(
    arr: pa.Array, kind: str, path: str, origin: int, first_row: int, depth: int, python: str = _NUMPY
) -> FieldPartial:
    """The partial of a list or map array: counts, then the partial of its flattened elements."""
    if pa.types.is_list_view(arr.type) or pa.types.is_large_list_view(arr.type):
        arr = arr.cast(pa.large_list(arr.type.value_field))
    key_type = None
    if kind == "map":
        # Arrow's list kernels do not take maps; a map is a list of (key, value) structs.
        key_type = _storage_type(arr.type.key_type)
        entries = pa.struct([arr.type.key_field, arr.type.item_field])
        arr = arr.cast(pa.list_(pa.field("entries", entries, nullable=False)))
    n, nulls = len(arr), arr.null_count
    lengths = pc.list_value_length(arr)
    full = pc.fill_null(pc.greater(lengths, 0), False)
    full_count = int(pc.sum(full).as_py() or 0)
    flat = arr.flatten()
    if key_type is not None:
        if not (
            pa.types.is_string(key_type)
            or pa.types.is_large_string(key_type)
            or pa.types.is_string_view(key_type)
        ):
            msg = f"Field {path!r} has Arrow type {arr.type}: signature maps have string keys only."
            raise InferenceError(msg)
        _check_nesting(f"{path}{{}}", depth + 1)
        child = _node_from_arrow(flat.field(1), f"{path}{{}}", origin, first_row, depth + 1, _PYTHON)
    else:
        _check_nesting(f"{path}[]", depth + 1)
        below = _PYTHON if python == _PYTHON else _NUMPY  # a list's elements: numpy outside maps
        child = _node_from_arrow(flat, f"{path}[]", origin, first_row, depth + 1, below)
    examples = _arrow_examples(arr, full, origin, first_row)
    # Only empty lists of an unknown (null) element type: nothing says this is a list, as for [] in
    # Python values, so the type is not declared.
    element_type = flat.type.field(1).type if key_type is not None else flat.type
    declared = full_count > 0 or not pa.types.is_null(element_type)
    empty = n - nulls - full_count
    return FieldPartial(
        nulls=nulls,
        untyped=empty,
        empty=((kind, empty),) if empty else (),
        types=((kind, full_count),) if declared else (),
        examples=((kind, examples),) if examples else (),
        items=child if kind == "array" else None,
        values=child if kind == "map" else None,
    )


def _node_from_arrow_struct(
    arr: pa.Array, path: str, origin: int, first_row: int, depth: int, python: str = _NUMPY
) -> FieldPartial:
    """The partial of a struct array: one property partial per field, over the non-null structs."""
    n, nulls = len(arr), arr.null_count
    if arr.type.num_fields == 0:
        return FieldPartial(
            nulls=nulls, untyped=n - nulls, empty=(("object", n - nulls),) if n > nulls else ()
        )
    names = [arr.type.field(i).name for i in range(arr.type.num_fields)]
    if len(set(names)) != len(names):
        msg = f"Field {path!r} has repeated struct field names {names}; an Object needs unique names."
        raise InferenceError(msg)
    _check_nesting(child_path(path, names[0]), depth + 1)
    valid = arr.is_valid()
    present = arr.filter(valid) if nulls else arr
    children = present.flatten()
    below = _PYTHON if python == _PYTHON else _RECORD  # a record's fields: Python scalars
    properties = tuple(
        sorted(
            (name, _node_from_arrow(child, child_path(path, name), origin, first_row, depth + 1, below))
            for name, child in zip(names, children, strict=True)
        )
    )
    examples = _arrow_examples(arr, valid, origin, first_row)
    return FieldPartial(
        nulls=nulls,
        types=(("object", n - nulls),),
        examples=(("object", examples),) if examples else (),
        properties=properties,
    )


def _arrow_examples(arr: pa.Array, mask: pa.Array, origin: int, first_row: int) -> tuple[Example, ...]:
    """The first :data:`MAX_EXAMPLES` values where ``mask`` is true, with their indices."""
    head = min(len(arr), 64)
    idx = pc.indices_nonzero(mask.slice(0, head)).to_pylist()[:MAX_EXAMPLES]
    if len(idx) < MAX_EXAMPLES and len(arr) > head:
        idx = pc.indices_nonzero(mask).to_pylist()[:MAX_EXAMPLES]
    if not idx:
        return ()
    values = arr.take(pa.array(idx, pa.int64())).to_pylist()
    return tuple((origin, first_row, i, example_text(v)) for i, v in zip(idx, values, strict=True))


# --- pandas frames ----------------------------------------------------------------------------


def partial_from_frame(frame: pd.DataFrame, *, origin: int = 0, first_row: int = 0) -> Partial:
    """The partial of a pandas frame (a Dask partition).

    Object columns hold Python values and are read with MLflow's rules for them (as
    :func:`partial_from_records`); other columns go through Arrow (as :func:`partial_from_table`),
    where a NaN in a float column is a missing value, as pandas means it.

    Example:
        >>> p = partial_from_frame(pd.DataFrame({"x": [1.0, float("nan")], "o": [{"a": 1}, "s"]}))
        >>> p.field("x").nulls, p.field("o").types
        (1, (('string', 1), ('object', 1)))
    """
    fields = []
    names = list(frame.columns)
    for name in names:
        if not isinstance(name, str):
            msg = f"Column names must be strings to infer a named schema, got {name!r}"
            raise InferenceError(msg)
    if len(set(names)) != len(names):
        msg = "Columns appear more than once; a schema needs unique names."
        raise InferenceError(msg)
    for name in names:
        column = frame[name]
        if column.dtype == np.dtype("O"):
            node = _values_node(column.tolist(), origin, first_row)
        else:
            node = _node_from_arrow(
                _one_chunk(pa.array(column, from_pandas=True)), path_name(name), origin, first_row
            )
        fields.append((name, node))
    return Partial(
        rows=len(frame),
        fields=tuple(sorted(fields)),
        first=tuple(sorted((n, (origin, first_row, i)) for i, n in enumerate(names))),
    )


# --- text cells (CSV) -------------------------------------------------------------------------

# Checked in this order: the first match decides (RE2 syntax, as pyarrow.compute uses).
_TEXT_PATTERNS: tuple[tuple[str, str], ...] = (
    ("long", r"^[+-]?[0-9]{1,19}$"),  # 19 digits only within int64 (see _node_from_text)
    ("double", r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$|^[+-]?(?i:nan|inf|infinity)$"),
    ("boolean", r"^(?i:true|false)$"),
    (
        "datetime",
        r"^(?P<y>[0-9]{4})-(?P<mo>[0-9]{2})-(?P<d>[0-9]{2})"
        r"(?:[T ](?P<h>[0-9]{2}):(?P<mi>[0-9]{2})(?::(?P<s>[0-9]{2})(?:\.[0-9]+)?)?"
        r"(?:Z|[+-](?P<oh>[0-9]{2}):?(?P<om>[0-9]{2}))?)?$",
    ),
)
# Days per month (index 1-12) in a common year.
_MONTH_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def partial_from_text(table: pa.Table, *, origin: int = 0, first_row: int = 0) -> Partial:
    """The partial of a table of text cells (CSV), each cell typed by what it spells.

    Per cell, vectorised: a null is null; an integer literal within int64 is ``long``; another
    number (``1.5``, ``1e3``, ``nan``) is ``double``; ``true``/``false`` (any case) is ``boolean``;
    an ISO-8601 date or date-time that exists (not ``2020-02-30`` or ``25:61``) is ``datetime``;
    anything else is ``string``. Like JSON values, cells of different types in one column are a
    conflict that the policy settles. A column with no typed cell is declared ``string`` (count 0):
    CSV cells are text, and typed cells of other partitions win over the declaration.

    Example:
        >>> t = pa.table({"x": ["1", "2.5", None, "n/a"]})
        >>> partial_from_text(t).field("x").types
        (('long', 1), ('double', 1), ('string', 1))
    """
    names = list(table.schema.names)
    if len(set(names)) != len(names):
        msg = "Columns appear more than once; a schema needs unique names."
        raise InferenceError(msg)
    fields = []
    for name, column in zip(names, table.columns, strict=True):
        arr = _one_chunk(column)
        if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
            arr = arr.cast(pa.string())
        fields.append((name, _node_from_text(arr, origin, first_row)))
    return Partial(
        rows=table.num_rows,
        fields=tuple(sorted(fields)),
        first=tuple(sorted((n, (origin, first_row, i)) for i, n in enumerate(names))),
    )


def _node_from_text(arr: pa.Array, origin: int, first_row: int) -> FieldPartial:
    """The partial of one column of text cells."""
    remaining = pc.fill_null(arr.is_valid(), False)
    typed = []
    examples = []
    for kind, pattern in (*_TEXT_PATTERNS, ("string", None)):
        if pattern is None:
            mask = remaining
        else:
            mask = pc.and_(remaining, pc.fill_null(pc.match_substring_regex(arr, pattern), False))
            if kind == "datetime":
                mask = _real_datetimes(arr, mask, pattern)
            elif kind == "long":
                mask = _int64_cells(arr, mask)
            remaining = pc.and_not(remaining, mask)
        count = int(pc.sum(mask).as_py() or 0)
        if count:
            typed.append((kind, count))
            idx = pc.indices_nonzero(mask).to_pylist()[:MAX_EXAMPLES]
            cells = arr.take(pa.array(idx, pa.int64())).to_pylist()
            shown = [example_text(c) if kind == "string" else example_text(c)[1:-1] for c in cells]
            examples.append((kind, tuple((origin, first_row, i, s) for i, s in zip(idx, shown, strict=True))))
    # No typed cell (no rows, or only empty ones): the column is still text, declared as string
    # (count 0) as a Parquet footer declares its columns' types; typed values elsewhere win.
    return FieldPartial(
        nulls=arr.null_count, types=_sorted_kinds(typed or [("string", 0)]), examples=_sorted_kinds(examples)
    )


def _int64_cells(arr: pa.Array, mask: pa.Array) -> pa.Array:
    """``mask`` without the cells of 19 digits beyond int64 (``9300000000000000000``): the readers
    make those doubles, as the other numbers the long pattern does not take."""
    long_cells = np.flatnonzero(
        np.asarray(pc.fill_null(pc.and_(mask, pc.greater_equal(pc.utf8_length(arr), 19)), False))
    )
    if not len(long_cells):
        return mask
    beyond = [
        i
        for i, c in zip(long_cells, arr.take(pa.array(long_cells)).to_pylist(), strict=True)
        if not _LONG_MIN <= int(c) <= _LONG_MAX
    ]
    if not beyond:
        return mask
    keep = np.asarray(mask.to_numpy(zero_copy_only=False), dtype=bool).copy()
    keep[beyond] = False
    return pa.array(keep)


def _real_datetimes(arr: pa.Array, mask: pa.Array, pattern: str) -> pa.Array:
    """``mask`` without the cells that spell no real date-time (``2020-02-30``, ``25:61``).

    A real one has a year from 1, a month 1-12, a day within its month (February 29 in leap years
    only), an hour 0-23, minutes and seconds 0-59 and an offset below 24 hours: the date-times that
    Arrow and pandas parse. Only the cells ``mask`` marks (those spelling one) are looked at.
    """
    marked = mask.to_numpy(zero_copy_only=False)
    where = np.flatnonzero(marked)
    if not len(where):
        return mask
    parts = pc.extract_regex(arr.take(pa.array(where)), pattern)

    def number(name: str) -> np.ndarray:
        digits = parts.field(name)
        return pc.cast(pc.if_else(pc.equal(digits, ""), "0", digits), pa.int32()).to_numpy()

    year, month, day = number("y"), number("mo"), number("d")
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    days = _MONTH_DAYS[np.clip(month, 0, 12)] + ((month == 2) & leap)
    real = (
        (year >= 1)
        & (month >= 1)
        & (month <= 12)
        & (day >= 1)
        & (day <= days)
        & (number("h") <= 23)
        & (number("mi") <= 59)
        & (number("s") <= 59)
        & (number("oh") <= 23)
        & (number("om") <= 59)
    )
    if real.all():
        return mask
    marked = marked.copy()
    marked[where[~real]] = False
    return pa.array(marked)
