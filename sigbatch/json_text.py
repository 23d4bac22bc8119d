"""JSON lines typed as Spark's JSON reader types them, where pyarrow's reader differs.

Dates and times stay text (pyarrow's reader makes timestamps of them): :func:`dates_as_text`. A
field that is always null is text too (:func:`nulls_as_text`), and fields come in Spark's order,
by name (:func:`fields_by_name`).

Values that disagree on their kind are text. Spark infers one type per field over all lines (and
files). Where a field holds numbers in some
lines and text, lists or objects in others (or booleans and numbers, or an object and a list),
the field is a string, and each value is its raw JSON text as the line has it (``1.50``,
``[1, 2]``, ``{"d": 1}``); a JSON string is its content. The same holds inside objects (one
property) and lists (their elements). Numbers of both kinds (``1`` and ``2.5``) are doubles.

pyarrow's JSON reader refuses such lines instead. The Dask job reads them with pyarrow first and,
when it refuses, writes the mixed values as JSON strings of their raw text (:func:`mixed_as_text`)
and reads the lines again; files that disagree with each other are unified by :func:`merged_type`.

Example:
    >>> mixed_as_text(b'{"a": 1.50}\\n{"a": "x"}', None)
    b'{"a": "1.50"}\\n{"a": "x"}'
    >>> merged_type(pa.int64(), pa.string()), merged_type(pa.int64(), pa.float64())
    (DataType(string), DataType(double))
"""

from __future__ import annotations

import json
import re
from typing import Any, TypeAlias

import pyarrow as pa

from sigbatch.arrow import retyped

__all__ = [
    "dates_as_text",
    "empty_objects_as_text",
    "fields_by_name",
    "merged_type",
    "mixed_as_text",
    "nulls_as_text",
]

_scan = json.JSONDecoder().raw_decode  # (value, end) of the JSON value at an index
_SPACE = re.compile(r"[ \t\n\r]+")

#: What must become text below one value: TEXT (this value), a dict of the object's keys, or a
#: one-element tuple holding the tree of a list's elements.
_Tree: TypeAlias = "str | dict[str, _Tree] | tuple[_Tree]"
TEXT = "text"


def dates_as_text(t: pa.DataType) -> pa.DataType:
    """``t`` with every timestamp and date in it (a column, an element, a property) made ``string``.

    >>> dates_as_text(pa.struct([("at", pa.list_(pa.timestamp("s")))]))
    StructType(struct<at: list<item: string>>)
    """
    return retyped(
        t, lambda leaf: pa.string() if pa.types.is_timestamp(leaf) or pa.types.is_date(leaf) else leaf
    )


def nulls_as_text(t: pa.DataType) -> pa.DataType:
    """``t`` with every ``null`` type in it made ``string``, as Spark types a field that was never
    anything but null (or the elements of lists that were always empty).

    >>> nulls_as_text(pa.struct([("n", pa.null()), ("l", pa.list_(pa.null()))]))
    StructType(struct<n: string, l: list<item: string>>)
    """
    return retyped(t, lambda leaf: pa.string() if pa.types.is_null(leaf) else leaf)


def empty_objects_as_text(t: pa.DataType) -> pa.DataType:
    """``t`` with every struct without fields in it made ``string``: a JSON field that was only ever
    ``{}`` (Parquet cannot store such a struct; its values are kept as their JSON text, ``{}``).

    >>> empty_objects_as_text(pa.struct([("o", pa.struct([])), ("l", pa.list_(pa.struct([])))]))
    StructType(struct<o: string, l: list<item: string>>)
    """
    return retyped(t, lambda leaf: pa.string() if pa.types.is_struct(leaf) else leaf)


def fields_by_name(t: pa.DataType) -> list[pa.Field]:
    """The fields of a struct type, and of every struct in them, in Spark's order: by name, as
    Java compares strings (UTF-16 code units, so a name beyond the BMP sorts before U+FF01).

    >>> [f.name for f in fields_by_name(pa.struct([("b", pa.int8()), ("a", pa.int8())]))]
    ['a', 'b']
    """

    def ordered(t: pa.DataType) -> pa.DataType:
        if pa.types.is_list(t):
            return pa.list_(t.value_field.with_type(ordered(t.value_type)))
        if pa.types.is_large_list(t):
            return pa.large_list(t.value_field.with_type(ordered(t.value_type)))
        if pa.types.is_struct(t):
            return pa.struct(fields_by_name(t))
        return t

    fields = sorted((t.field(i) for i in range(t.num_fields)), key=lambda f: f.name.encode("utf-16-be"))
    return [f.with_type(ordered(f.type)) for f in fields]


def merged_type(a: pa.DataType, b: pa.DataType) -> pa.DataType:
    """The type Spark's JSON inference gives a field that is ``a`` in some files and ``b`` in others.

    Structs merge by field name, lists by element; ``null`` takes the other type; numbers widen as
    pyarrow's permissive unification does (long and double: double); anything else is text.
    """
    if a.equals(b) or pa.types.is_null(b):
        return a
    if pa.types.is_null(a):
        return b
    if pa.types.is_struct(a) and pa.types.is_struct(b):
        fields = {a.field(i).name: a.field(i).type for i in range(a.num_fields)}
        for i in range(b.num_fields):
            name, t = b.field(i).name, b.field(i).type
            fields[name] = merged_type(fields[name], t) if name in fields else t
        return pa.struct([pa.field(n, t) for n, t in fields.items()])
    if _is_list(a) and _is_list(b):
        return pa.list_(merged_type(a.value_type, b.value_type))
    try:
        one = pa.unify_schemas([pa.schema([("v", a)]), pa.schema([("v", b)])], promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return pa.string()
    t = one.field(0).type
    return t if not (_is_list(t) or pa.types.is_struct(t)) else pa.string()


def mixed_as_text(data: bytes, schema: pa.Schema | None) -> bytes | None:
    """The JSON lines ``data`` again, each mixed value written as a JSON string of its raw text.

    Without ``schema``, a value is mixed where the lines disagree on the kind at its place. With
    ``schema`` (the source's unified schema), every value at a place the schema makes text is
    written as text. Blank lines are dropped. None when nothing changes or some line is not one
    JSON object: the caller's own error then stands.
    """
    lines = [line for line in data.splitlines() if line.strip()]
    # two passes, parsing each line again, so the parsed values of a whole file are never held
    try:
        if schema is None:
            kinds: Any = None
            for line in lines:
                value = json.loads(line)
                if not isinstance(value, dict):
                    return None
                kinds = _merge(kinds, _kind(value))
            tree = _text_tree(kinds)
        else:
            tree = _text_tree(_schema_kind(pa.struct(list(schema))))
        if not tree:
            return None
        out = []
        changed = False
        for line in lines:
            value = json.loads(line)
            if not isinstance(value, dict):
                return None
            if _needs_text(value, tree):
                text = line.decode("utf-8")
                value, _ = _rewrite(text, _skip(text, 0), tree)
                line = json.dumps(value, ensure_ascii=False).encode("utf-8")
                changed = True
            out.append(line)
    except (ValueError, RecursionError):  # not JSON (or not UTF-8: a ValueError too)
        return None
    return b"\n".join(out) if changed else None


def _is_list(t: pa.DataType) -> bool:
    return pa.types.is_list(t) or pa.types.is_large_list(t)


# --- kinds -------------------------------------------------------------------------------------------


def _kind(value: Any) -> Any:
    """A value's JSON kind: None (null), "boolean", "number", "string", a tuple (list) or a dict."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        element = None
        for v in value:
            element = _merge(element, _kind(v))
        return (element,)
    return {k: _kind(v) for k, v in value.items()}


def _merge(a: Any, b: Any) -> Any:
    """The kind of a place holding values of kinds ``a`` and ``b`` (TEXT when they disagree)."""
    if a is None:
        return b
    if b is None or a == b:
        return a
    if isinstance(a, tuple) and isinstance(b, tuple):
        return (_merge(a[0], b[0]),)
    if isinstance(a, dict) and isinstance(b, dict):
        merged = dict(a)
        for k, v in b.items():
            merged[k] = _merge(merged.get(k), v)
        return merged
    return TEXT


def _text_tree(kind: Any) -> _Tree | None:
    """The places below ``kind`` that are TEXT (None when there are none)."""
    if kind == TEXT:
        return TEXT
    if isinstance(kind, tuple):
        below = _text_tree(kind[0])
        return (below,) if below is not None else None
    if isinstance(kind, dict):
        keys = {k: t for k, v in kind.items() if (t := _text_tree(v)) is not None}
        return keys or None
    return None


def _schema_kind(t: pa.DataType) -> Any:
    """An Arrow type as the kind a place must have: TEXT for text, lists and objects as :func:`_kind`
    gives them, None for anything else."""
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return TEXT
    if _is_list(t):
        return (_schema_kind(t.value_type),)
    if pa.types.is_struct(t):
        return {t.field(i).name: _schema_kind(t.field(i).type) for i in range(t.num_fields)}
    return None


# --- rewriting -------------------------------------------------------------------------------------


def _needs_text(value: Any, tree: _Tree) -> bool:
    """Whether a value at a TEXT place below ``tree`` is neither a string nor null."""
    if isinstance(tree, str):  # TEXT
        return value is not None and not isinstance(value, str)
    if isinstance(tree, tuple):
        return isinstance(value, list) and any(_needs_text(v, tree[0]) for v in value)
    return isinstance(value, dict) and any(_needs_text(value.get(k), t) for k, t in tree.items())


def _skip(s: str, i: int) -> int:
    """The index of the first character at or after ``i`` that is not JSON white space."""
    space = _SPACE.match(s, i)
    return space.end() if space else i


def _rewrite(s: str, i: int, tree: _Tree) -> tuple[Any, int]:
    """The value starting at ``s[i]``, its TEXT places as raw text, and where it ends."""
    if tree == TEXT:
        value, end = _scan(s, i)
        return (value if value is None or isinstance(value, str) else s[i:end]), end
    if isinstance(tree, tuple) and s[i] == "[":
        items = []
        i = _skip(s, i + 1)
        while s[i] != "]":
            item, i = _rewrite(s, i, tree[0])
            items.append(item)
            i = _skip(s, i)
            if s[i] == ",":
                i = _skip(s, i + 1)
        return items, i + 1
    if isinstance(tree, dict) and s[i] == "{":
        obj = {}
        i = _skip(s, i + 1)
        while s[i] != "}":
            key, i = _scan(s, i)
            i = _skip(s, _skip(s, i) + 1)  # past the ":"
            below = tree.get(key)
            obj[key], i = _rewrite(s, i, below) if below is not None else _scan(s, i)
            i = _skip(s, i)
            if s[i] == ",":
                i = _skip(s, i + 1)
        return obj, i + 1
    return _scan(s, i)  # no text below, or another kind than the tree's (a null)
