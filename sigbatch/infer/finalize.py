"""Finalising a partial schema: a conflict policy turns counts into a schema, plus a report.

Types follow MLflow's inference rules for the same values: an absent or ``None`` top-level value
makes the column optional; a property is required only when every object has it with a typed value
(not ``None``, NaN, ``[]`` or ``{}``); a ``None`` (or other untyped value) where Objects are found
makes all of their properties optional; Object properties are sorted; columns keep first-seen order;
a path with no typed value at all is ``Any`` (unless the data's schema declared a type for it).

Where the values at one path have more than one type, the policy decides:

* ``strict`` (default, MLflow's behaviour): an :class:`~sigbatch.errors.InferenceError` that names
  every conflicting path, each type seen with its count and example values;
* ``widen`` (Spark's widening): ``integer < long < float < double`` among numbers; any other mix
  (a string, a boolean, a datetime, an array or object with anything else) becomes ``string``;
* ``majority``: the dominant type (most values; ties go to the earlier type in
  :data:`~sigbatch.infer.partial.KINDS`); the minority share is reported as the expected quarantine
  rate.

Every run also returns a :class:`Report`: per field path the rows looked at, the null and presence
rates and the types seen, the conflicts and how they were settled, and what was read.

Example:
    >>> from sigbatch.infer.partial import partial_from_records
    >>> schema, report = finalize(partial_from_records([{"x": 1}, {"x": 2.5}]), "widen")
    >>> schema, report.conflicts[0].chosen
    (['x': double (required)], 'double')
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from sigbatch.errors import ConfigError, InferenceError, SignatureFileError
from sigbatch.infer.partial import KINDS, FieldPartial, Partial, Sample, UnreadableRecord
from sigbatch.quarantine import child_path, path_name
from sigbatch.types import (
    AnyType,
    Array,
    ColSpec,
    ColumnType,
    DataType,
    Map,
    ModelSignature,
    Object,
    Property,
    Schema,
)

__all__ = [
    "POLICIES",
    "Conflict",
    "FieldStats",
    "InferenceResult",
    "Report",
    "Selection",
    "finalize",
]

#: The conflict policies, the default first.
POLICIES = ("strict", "widen", "majority")

_NUMERIC = ("integer", "long", "float", "double")
_KIND_ORDER = {k: i for i, k in enumerate(KINDS)}


@dataclass(frozen=True, slots=True)
class FieldStats:
    """What was seen at one field path (``col``, ``col.prop``, ``col[]`` for elements, ``col{}`` for map values).

    ``types`` counts the values of each type; ``untyped`` the values present with no type of their
    own (MLflow's: NaN, ``pd.NA``, ``[]``, ``{}``), and ``empty``, per container kind, the empty
    ones among them. An empty object is one of the rows of each property (where it is absent).
    """

    path: str
    rows: int
    present: int
    nulls: int
    types: tuple[tuple[str, int], ...]
    untyped: int = 0
    empty: tuple[tuple[str, int], ...] = ()

    @property
    def presence_rate(self) -> float:
        """Share of slots where the field was present (0.0 when nothing was looked at)."""
        return self.present / self.rows if self.rows else 0.0

    @property
    def null_rate(self) -> float:
        """Share of slots holding ``None``."""
        return self.nulls / self.rows if self.rows else 0.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict."""
        return {
            "path": self.path,
            "rows": self.rows,
            "presence_rate": self.presence_rate,
            "null_rate": self.null_rate,
            "types": dict(self.types),
            "untyped": self.untyped,
            "empty": dict(self.empty),
        }

    def kinds_text(self) -> str:
        """The types column of the report: each type's count, then the empty containers and the
        other values without a type (``-`` for none)."""
        # a type declared by the data's schema (count 0) is shown only where no value was seen
        shown = [(k, c) for k, c in self.types if c > 0] or ([] if self.untyped else list(self.types))
        parts = [f"{k} {c:,}" for k, c in shown]
        parts += [f"empty {k} {c:,}" for k, c in self.empty]
        rest = self.untyped - sum(c for _, c in self.empty)
        if rest:
            parts.append(f"NaN/NA {rest:,}")
        return ", ".join(parts) or "-"


@dataclass(frozen=True, slots=True)
class Conflict:
    """Values of several types at one path, and how the policy settled it.

    ``chosen`` is the kind kept (None under ``strict``); ``minority`` the number of values not of
    that kind; ``quarantine_rate`` their share of the typed values (``majority`` only; else 0);
    ``rows`` the rows of the column the path is in, where its values came from.
    """

    path: str
    types: tuple[tuple[str, int], ...]
    examples: tuple[tuple[str, tuple[str, ...]], ...]
    chosen: str | None
    minority: int
    quarantine_rate: float
    top_level: bool
    rows: int

    def describe(self) -> str:
        """One line: the path, each type with its count and examples."""
        unit = "row" if self.top_level else "value"
        shown = dict(self.examples)
        parts = []
        for kind, count in self.types:
            ex = shown.get(kind, ())
            noun = unit if count == 1 else unit + "s"
            parts.append(f"{kind} in {count:,} {noun}" + (f" (e.g. {', '.join(ex)})" if ex else ""))
        return f"{self.path!r}: " + "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict."""
        return {
            "path": self.path,
            "types": dict(self.types),
            "examples": {k: list(v) for k, v in self.examples},
            "chosen": self.chosen,
            "minority": self.minority,
            "quarantine_rate": self.quarantine_rate,
            "rows": self.rows,
        }


@dataclass(frozen=True, slots=True)
class Selection:
    """Which partitions (files) were chosen, and the sampling settings that chose them."""

    source: str
    format: str | None
    engine: str
    partitions: int
    chosen: tuple[str, ...]
    fraction: float | None = None
    max_partitions: int | None = None
    rows_per_partition: int | None = None
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict."""
        return {
            "source": self.source,
            "format": self.format,
            "engine": self.engine,
            "partitions": self.partitions,
            "chosen": list(self.chosen),
            "fraction": self.fraction,
            "max_partitions": self.max_partitions,
            "rows_per_partition": self.rows_per_partition,
            "seed": self.seed,
        }


@dataclass(frozen=True, slots=True)
class Report:
    """What an inference run saw and decided.

    ``unreadable_at`` says where the earliest unreadable records are (a few, in files only).
    """

    policy: str
    rows: int
    unreadable: int
    fields: tuple[FieldStats, ...]
    conflicts: tuple[Conflict, ...]
    samples: tuple[Sample, ...]
    selection: Selection | None = None
    # where the signature refuses rows of the very data it came from (profile mlflow, as MLflow)
    cautions: tuple[str, ...] = ()
    unreadable_at: tuple[UnreadableRecord, ...] = ()

    @property
    def expected_quarantine_rate(self) -> float:
        """Under ``majority``, at most this share of rows holds a minority-type value (0 otherwise).

        Each conflict's minority values are a share of the rows they came from (its column's
        rows); the shares add up. An upper bound: it assumes minority values fall in
        different rows (a nested conflict counts values, and several of them may sit in one row),
        and a minority value that converts to the chosen type (an integer where a double was
        chosen, read as a double) is not quarantined at all.
        """
        if self.policy != "majority":
            return 0.0
        return min(1.0, sum(min(c.minority, c.rows) / c.rows for c in self.conflicts if c.rows))

    @property
    def footer_rows(self) -> int:
        """Rows whose flat Parquet columns a footer answered (no data read for them)."""
        return sum(s.footer_rows for s in self.samples)

    @property
    def rows_read(self) -> int:
        """Rows read from the files or partitions sampled (0 for in-memory records)."""
        return sum(s.rows_read for s in self.samples)

    def field(self, path: str) -> FieldStats | None:
        """The statistics of one path, or None."""
        return next((f for f in self.fields if f.path == path), None)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict."""
        return {
            "policy": self.policy,
            "rows": self.rows,
            "rows_read": self.rows_read,
            "footer_rows": self.footer_rows,
            "unreadable": self.unreadable,
            "unreadable_at": [u.to_dict() for u in self.unreadable_at],
            "expected_quarantine_rate": self.expected_quarantine_rate,
            "fields": [f.to_dict() for f in self.fields],
            "conflicts": [c.to_dict() for c in self.conflicts],
            "samples": [s.to_dict() for s in self.samples],
            "selection": self.selection.to_dict() if self.selection else None,
            "cautions": list(self.cautions),
        }

    def text(self, max_samples: int = 12) -> str:
        """A human-readable summary (what the CLI prints)."""
        lines = [self._headline()]
        if self.unreadable:
            where = _places(self.unreadable, self.unreadable_at)
            lines.append(
                f"Unreadable records skipped: {self.unreadable:,}" + (f" ({where})." if where else ".")
            )
        lines += self._sampling_lines(max_samples)
        width = max([len("field"), *(len(f.path) for f in self.fields)])
        lines.append("")
        lines.append(f"  {'field':<{width}}  {'rows':>11}  {'present':>8}  {'null':>7}  types")
        for f in self.fields:
            lines.append(
                f"  {f.path:<{width}}  {f.rows:>11,}  {f.presence_rate:>8.1%}  {f.null_rate:>7.1%}  {f.kinds_text()}"
            )
        lines.append("")
        if not self.conflicts:
            lines.append("Conflicts: none.")
        else:
            lines.append("Conflicts:")
            for c in self.conflicts:
                settled = f" -> {c.chosen}" if c.chosen else ""
                rate = ""
                if self.policy == "majority":
                    share = f"{c.quarantine_rate:.2%} of {'rows' if c.top_level else 'these values'}"
                    rate = f" (minority: {share}; quarantined unless they convert to {c.chosen})"
                lines.append(f"  {c.describe()}{settled}{rate}")
            if self.policy == "majority":
                lines.append(
                    f"Expected quarantine rate: at most {self.expected_quarantine_rate:.2%} of rows."
                )
        if self.cautions:
            lines.append(
                "Cautions (rows of this data the signature refuses under profile mlflow, as MLflow does):"
            )
            lines += [f"  {c}" for c in self.cautions]
        return "\n".join(lines) + "\n"

    def _headline(self) -> str:
        """The first line of :meth:`text`: the rows, and where footers answered for some of them."""
        head = f"Inferred from {_rows(self.rows)} (policy {self.policy})"
        footer, read = self.footer_rows, self.rows_read
        if not footer:
            return head + "."
        if not read:
            return f"{head}, all answered by Parquet footers."
        what = f"flat columns from Parquet footers ({_rows(footer)}), the others from {_rows(read)} read"
        return f"{head}: {what}."

    def _sampling_lines(self, max_samples: int) -> list[str]:
        """What was read, for :meth:`text`."""
        lines = []
        sel = self.selection
        if sel is not None:
            how = []
            if sel.fraction is not None:
                how.append(f"fraction {sel.fraction}")
            if sel.max_partitions is not None:
                how.append(f"max {sel.max_partitions}")
            rows = f"first {_rows(sel.rows_per_partition)} of each" if sel.rows_per_partition else "all rows"
            lines.append(
                f"Sampled {len(sel.chosen)} of {sel.partitions} partitions of {sel.source} "
                f"({sel.format or 'dataframe'}, engine {sel.engine}, seed {sel.seed}"
                + (", " + ", ".join(how) if how else "")
                + f"), {rows}."
            )
        for s in self.samples[:max_samples]:
            footer = f", flat columns of {_rows(s.footer_rows)} from the footer" if s.footer_rows else ""
            whole = "" if s.exhausted else " (stopped early)"
            lines.append(f"  {s.source}: {_rows(s.rows_read)} read{whole}{footer}")
        if len(self.samples) > max_samples:
            lines.append(f"  ... and {len(self.samples) - max_samples} more")
        return lines


def _rows(n: int) -> str:
    """``n`` rows, as words: "1 row", "1,600 rows"."""
    return f"{n:,} row" if n == 1 else f"{n:,} rows"


def _places(count: int, located: tuple[UnreadableRecord, ...]) -> str:
    """Where ``count`` unreadable records are, as far as ``located`` (their earliest few) says:
    ``a.jsonl line 2``, ``the first: a.jsonl line 2, ...``, or "" when none is located."""
    if not located:
        return ""
    first = "the first: " if count > len(located) else ""
    return first + ", ".join(u.describe() for u in located)


def json_target_problem(path: str | os.PathLike[str]) -> str | None:
    """Why ``path`` cannot become the signature JSON file (a directory, or in a missing one), or None."""
    target = Path(path)
    if target.is_dir():
        return "is a directory; give a file path for the signature JSON"
    if os.fspath(path).endswith(("/", os.sep)):  # a Path drops the slash that says "directory"
        return "names a directory (it ends with a slash); give a file path for the signature JSON"
    if not target.parent.is_dir():
        return f"directory {target.parent} does not exist (create it first)"
    return None


@dataclass(frozen=True, slots=True)
class InferenceResult:
    """The outcome of a lake-scale inference: the schema, the report, and the merged partial."""

    schema: Schema
    report: Report
    partial: Partial

    @property
    def signature(self) -> ModelSignature:
        """A signature with the inferred schema as inputs."""
        return ModelSignature(inputs=self.schema)

    def write_json(self, path: str | os.PathLike[str]) -> Path:
        """Write MLflow's signature mapping (``inputs``/``outputs``/``params`` JSON strings) to ``path``.

        The file reads back with :func:`sigbatch.load_signature` and ``sigbatch show``.

        Raises:
            SignatureFileError: ``path`` is a directory or in a missing one, or cannot be written.
        """
        target = Path(path)
        problem = json_target_problem(path)
        if problem is not None:
            msg = f"{os.fspath(path)}: {problem}"
            raise SignatureFileError(msg)
        try:
            target.write_text(json.dumps(self.signature.to_dict(), indent=2) + "\n", encoding="utf-8")
        except OSError as exc:
            msg = f"{target}: cannot write the signature JSON ({exc.strerror or exc})"
            raise SignatureFileError(msg) from exc
        return target

    def set_on(self, model_dir: str | os.PathLike[str]) -> Path:
        """Write the schema as the inputs of a model's MLmodel signature, keeping its outputs and params.

        Raises:
            SignatureFileError: ``model_dir`` is neither a model directory nor an MLmodel file, the
                MLmodel cannot be read or written, or its current signature cannot be read (its
                outputs and params would be lost: fix or remove it first).
        """
        from sigbatch.wire import set_signature

        return set_signature(model_dir, ModelSignature(inputs=self.schema), keep_existing=True)

    def with_selection(self, selection: Selection) -> InferenceResult:
        """The same result, its report recording ``selection``."""
        return replace(self, report=replace(self.report, selection=selection))


# --- finalize ---------------------------------------------------------------------------------


def mlflow_schema(build: Callable[[set[type]], Partial]) -> Schema | None:
    """The strict schema of the partial ``build(lists)`` makes, when it is certainly MLflow's.

    Under the strict policy the partial engine gives MLflow's schema whenever MLflow gives one, and
    refuses what MLflow refuses (a law the tests check against MLflow), with two exceptions this
    returns None for, so that MLflow's value-by-value reading decides (and gives MLflow's own
    result or error): values the engine refuses, and values holding numpy arrays (``build`` adds
    the list types it meets to ``lists``), since an empty numpy array is "undetermined" to MLflow
    while the engine counts it like an empty list.
    """
    lists: set[type] = set()
    try:
        partial = build(lists)
        if np.ndarray in lists:
            return None
        return finalize(partial)[0]
    except (InferenceError, TypeError):  # TypeError: values whose == has no truth value (pd.NA keys)
        return None


def finalize(partial: Partial, policy: str = "strict") -> tuple[Schema, Report]:
    """The schema a partial says, under a conflict policy, and the report of the run.

    Args:
        partial: The merged partial of everything read.
        policy: ``strict`` (default), ``widen`` or ``majority``.

    Raises:
        InferenceError: Nothing was read, or (``strict``) values of different types share a path;
            the message lists every such path with each type's count and examples.
        ConfigError: An unknown policy.

    Example:
        >>> from sigbatch.infer.partial import partial_from_records
        >>> finalize(partial_from_records([{"a": {"x": 1}}, {"a": None}]))[0]
        ['a': {x: long (optional)} (optional)]
    """
    if policy not in POLICIES:
        msg = f"Unknown policy {policy!r}; expected one of {list(POLICIES)}"
        raise ConfigError(msg)
    if not partial.fields:
        what = ""
        if partial.unreadable:
            where = _places(partial.unreadable, partial.unreadable_at)
            what = f" ({partial.unreadable:,} unreadable records" + (f"; {where})" if where else ")")
        msg = f"Nothing to infer a schema from: no field in {_rows(partial.rows)}{what}."
        raise InferenceError(msg)
    resolver = _Resolver(policy)
    fields = dict(partial.fields)
    specs = []
    for name in partial.field_order():
        node = fields[name]
        dtype = resolver.resolve(node, path_name(name), top_level=True)
        specs.append(ColSpec(dtype, name, required=node.missing == 0 and node.nulls == 0))
    report = Report(
        policy=policy,
        rows=partial.rows,
        unreadable=partial.unreadable,
        fields=tuple(resolver.stats),
        conflicts=tuple(resolver.conflicts),
        samples=partial.samples,
        cautions=_cautions(specs, {f.path: f for f in resolver.stats}, dict(partial.wide_ints)),
        unreadable_at=partial.unreadable_at,
    )
    if policy == "strict" and resolver.conflicts:
        error = InferenceError(_strict_message(resolver.conflicts))
        error.report = report
        raise error
    return Schema(specs), report


def _cautions(
    specs: list[ColSpec], stats: dict[str, FieldStats], wide: dict[str, int] | None = None
) -> tuple[str, ...]:
    """Where the inferred schema will refuse rows of the very data it came from, under profile
    mlflow: MLflow's enforcement refuses a datetime in a record or map, a null map value, a null
    element of a list of records, lists or maps, and a list of integers with a null (pandas makes
    it floats). MLflow's own inference says the same of such data; sigbatch keeps both as they are.
    Also where a ``long`` path holds integers beyond 64 bits (``wide``, per path), which no reader
    holds as integers."""
    wide = wide or {}
    found: list[str] = []

    def nulls(path: str) -> int:
        seen = stats.get(path)
        return seen.nulls if seen is not None else 0

    def some(path: str) -> bool:  # a value there at all (a field null in every row holds none)
        seen = stats.get(path)
        return seen is not None and seen.present > seen.nulls

    def walk(t: Any, path: str, in_record: bool) -> None:
        if isinstance(t, Object):
            for prop in t.properties:
                walk(prop.dtype, child_path(path, prop.name), True)
        elif isinstance(t, Map):
            if nulls(f"{path}{{}}") and not isinstance(t.value_type, AnyType):  # Any takes a null
                found.append(
                    f"{path}{{}}: {nulls(path + '{}'):,} map value(s) are null, which MLflow's enforcement "
                    "refuses: those rows are quarantined"
                )
            walk(t.value_type, f"{path}{{}}", True)
        elif isinstance(t, Array):
            items = f"{path}[]"
            if nulls(items) and isinstance(t.dtype, (Array, Object, Map)):
                found.append(
                    f"{items}: {nulls(items):,} element(s) are null, which MLflow's enforcement refuses "
                    "in a list of lists, records or maps: those rows are quarantined"
                )
            elif nulls(items) and t.dtype in (DataType.integer, DataType.long):
                found.append(
                    f"{items}: {nulls(items):,} element(s) are null; pandas makes a list of integers "
                    f"with a null into floats, which {t!r} refuses: those rows are quarantined"
                )
            walk(t.dtype, items, False)  # a list's elements are not a record's scalars
        elif t in (DataType.long, DataType.integer) and wide.get(path):
            lenient = (
                " (profile 'lenient' converts the column's other values and quarantines these rows)"
                if path in columns
                else ""
            )
            found.append(
                f"{path}: {wide[path]:,} integer(s) beyond the 64 bits of long, which no Arrow or "
                f"Spark integer holds: the Dask scoring job reads them as double, which the signature "
                f"refuses{lenient}"
            )
        elif t is DataType.datetime and in_record and some(path):
            found.append(
                f"{path}: a datetime inside an object or map is refused by MLflow's enforcement: "
                "rows holding one there are quarantined (declare it a string, or keep it in a column)"
            )

    columns = {path_name(spec.name) for spec in specs}
    for spec in specs:
        walk(spec.type, path_name(spec.name), False)
    return tuple(found)


def _strict_message(conflicts: list[Conflict]) -> str:
    """The error for conflicts under ``strict``."""
    lines = [f"Values of different types at {len(conflicts)} field path(s) (policy strict):"]
    lines += [f"  {c.describe()}" for c in conflicts]
    lines.append(
        "Hint: use policy 'widen' (Spark's widening: integer < long < float < double, anything "
        "else mixed becomes string) or 'majority' (keep the dominant type; the rest is expected "
        "to be quarantined), or fix the data."
    )
    return "\n".join(lines)


class _Resolver:
    """Walks a partial, choosing each path's type and collecting statistics and conflicts."""

    def __init__(self, policy: str) -> None:
        self.policy = policy
        self.stats: list[FieldStats] = []
        self.conflicts: list[Conflict] = []
        self.column_rows = 0  # the rows of the column being resolved

    def resolve(self, node: FieldPartial, path: str, *, top_level: bool = False) -> ColumnType:
        """The type of the values at ``path``."""
        if top_level:
            self.column_rows = node.rows
        self.stats.append(
            FieldStats(path, node.rows, node.present, node.nulls, node.types, node.untyped, node.empty)
        )
        observed = [(k, c) for k, c in node.types if c > 0]
        candidates = observed or list(node.types)
        if not candidates:
            return AnyType()
        kind = candidates[0][0] if len(candidates) == 1 else self._settle(node, path, candidates, top_level)
        if self.policy == "strict" and len(candidates) > 1:
            # Report conflicts nested under the kinds not kept too: the error should list them all.
            self._visit_others(node, path, kind, {k for k, _ in candidates})
        if kind in DataType.__members__:
            return DataType[kind]
        if kind == "array":
            return Array(self.resolve(node.items or FieldPartial(), f"{path}[]"))
        if kind == "map":
            return Map(self.resolve(node.values or FieldPartial(), f"{path}{{}}"))
        return self._object(node, path)

    def _visit_others(self, node: FieldPartial, path: str, kept: str, kinds: set[str]) -> None:
        """Resolve the children of container kinds that were seen but not kept."""
        if "array" in kinds and kept != "array" and node.items is not None:
            self.resolve(node.items, f"{path}[]")
        if "map" in kinds and kept != "map" and node.values is not None:
            self.resolve(node.values, f"{path}{{}}")
        if "object" in kinds and kept != "object":
            self._object(node, path)

    def _object(self, node: FieldPartial, path: str) -> ColumnType:
        """An Object from the property partials (Any when there are none)."""
        if not node.properties:
            return AnyType()
        # MLflow merges None, NaN, [] and {} into an Object by making every property optional.
        untyped_here = node.nulls + node.untyped > 0
        props = []
        for name, child in node.properties:
            dtype = self.resolve(child, child_path(path, name))
            required = not untyped_here and child.missing == 0 and child.nulls == 0 and child.untyped == 0
            props.append(Property(name, dtype, required=required))
        return Object(props)

    def _settle(self, node: FieldPartial, path: str, kinds: list[tuple[str, int]], top_level: bool) -> str:
        """The kind kept where several were seen, recording the conflict."""
        total = sum(c for _, c in kinds)
        dominant = max(kinds, key=lambda kc: (kc[1], -_KIND_ORDER.get(kc[0], len(KINDS))))[0]
        if self.policy == "widen":
            names = [k for k, _ in kinds]
            chosen = max(names, key=_NUMERIC.index) if all(k in _NUMERIC for k in names) else "string"
        else:
            chosen = dominant
        kept = dict(kinds).get(chosen, 0)
        minority = total - kept
        examples = tuple(
            (kind, tuple(dict.fromkeys(t for *_, t in ex)))
            for kind, ex in node.examples
            if kind in dict(kinds)
        )
        self.conflicts.append(
            Conflict(
                path=path,
                types=tuple(kinds),
                examples=examples,
                chosen=None if self.policy == "strict" else chosen,
                minority=minority,
                quarantine_rate=minority / total if self.policy == "majority" and total else 0.0,
                top_level=top_level,
                rows=self.column_rows,
            )
        )
        return chosen
