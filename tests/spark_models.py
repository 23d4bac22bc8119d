"""Models for the Spark tests, loaded on Spark's Python workers as ``python:spark_models:<name>``.

Spark's workers cannot import ``tests.*``; this file is shipped to them as the top-level module
``spark_models`` (``SparkContext.addPyFile`` in the session tests, ``spark-submit --py-files`` in
the multi-process ones), exactly as a user ships their own model code.
"""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

import pandas as pd

__all__ = [
    "TaskInterrupted",
    "flaky",
    "interrupted",
    "landing",
    "landing_rows",
    "landing_table",
    "logged",
    "second_doubled",
]


def _score(qty: Any, price: Any, tags: Any, attrs: Any) -> Any:
    item = attrs.get("item")
    if item == "boom":
        msg = "cannot score item 'boom'"
        raise ValueError(msg)
    if item == "void":
        return "n/a"  # not a double: refused by the output check (OUTPUT_MISMATCH)
    return float(qty) * float(price) + len(tags)


def landing(frame: pd.DataFrame) -> pd.Series:
    """``qty * price + len(tags)``; raises for item "boom", returns text for item "void"."""
    values = [
        _score(*row) for row in zip(frame["qty"], frame["price"], frame["tags"], frame["attrs"], strict=True)
    ]
    return pd.Series(values, name="score", dtype=object)


def _append(path: str, text: str) -> None:
    """Append one line to ``path`` in one write (workers in several processes share the file)."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (text + "\n").encode())
    finally:
        os.close(fd)


def logged(frame: pd.DataFrame, params: dict[str, Any]) -> pd.Series:
    """``landing``, and append ``<pid> <id> <id> ...`` to ``params["log"]`` for every call."""
    _append(params["log"], " ".join([str(os.getpid()), *map(str, frame["id"].tolist())]))
    return landing(frame)


def second_doubled(frame: pd.DataFrame) -> pd.Series:
    """Twice the second column (for unnamed signatures, whose columns are positions)."""
    return pd.Series(frame.iloc[:, 1].to_numpy() * 2.0, name="prediction")


class TaskInterrupted(BaseException):
    """Not an ``Exception``: sigbatch does not quarantine it but fails the task (a JobError)."""


def interrupted(frame: pd.DataFrame) -> pd.Series:
    """Always raises :class:`TaskInterrupted`: every attempt of every task fails."""
    raise TaskInterrupted("interrupted on purpose")


_CALLS: Counter[tuple[int, int, int]] = Counter()


def flaky(frame: pd.DataFrame, params: dict[str, Any]) -> pd.Series:
    """``landing``, but the first attempt of two tasks fails midway, after scoring a batch.

    Partition 0's first attempt raises :class:`TaskInterrupted` on its second call; partition 1's
    first attempt kills its Python worker (``os._exit``). Each leaves a marker file in
    ``params["markers"]`` first; Spark retries both tasks.
    """
    from pyspark import TaskContext

    ctx = TaskContext.get()
    if ctx is not None and ctx.attemptNumber() == 0 and ctx.partitionId() in (0, 1):
        key = (ctx.stageId(), ctx.partitionId(), ctx.attemptNumber())
        _CALLS[key] += 1
        if _CALLS[key] == 2:
            what = "raised" if ctx.partitionId() == 0 else "crashed"
            _append(
                os.path.join(params["markers"], f"{what}-{ctx.stageId()}-{ctx.partitionId()}"),
                str(os.getpid()),
            )
            if ctx.partitionId() == 0:
                raise TaskInterrupted("simulated interruption on the first attempt")
            os._exit(3)
    _append(os.path.join(params["markers"], "workers"), str(os.getpid()))
    return landing(frame)


# --- the landing-zone dataset these models score ------------------------------------------------

# Numbers arrive as text (a landing zone): the `lenient` profile converts them.
LANDING_SIGNATURE_DICT = {
    "inputs": (
        '[{"type": "long", "name": "id", "required": true}, '
        '{"type": "long", "name": "qty", "required": true}, '
        '{"type": "double", "name": "price", "required": true}, '
        '{"type": "array", "items": {"type": "string"}, "name": "tags", "required": true}, '
        '{"type": "object", "properties": {"item": {"type": "string", "required": true}, '
        '"note": {"type": "string", "required": false}}, "name": "attrs", "required": true}]'
    ),
    "outputs": '[{"type": "double", "name": "score", "required": true}]',
    "params": (
        '[{"name": "log", "type": "string", "default": "", "shape": null}, '
        '{"name": "markers", "type": "string", "default": "", "shape": null}]'
    ),
}

# kind -> (what is injected, expected (stage, [(path, code)])): every code a typed row can carry
FAULTS: dict[str, tuple[str, tuple[str, list[tuple[str, str]]]]] = {
    "tags_null": ("tags is null", ("input", [("tags", "NULL_REQUIRED")])),
    "item_null": ("attrs.item is null", ("input", [("attrs.item", "NULL_REQUIRED")])),
    "qty_fraction": ("qty is '2.5'", ("input", [("qty", "UNSAFE_CAST")])),
    "price_text": ("price is 'n/a'", ("input", [("price", "TYPE_MISMATCH")])),
    "attrs_extra": ("attrs.z holds a value", ("input", [("attrs.z", "INVALID_OBJECT")])),
    "boom": ("the model raises", ("model", [("", "MODEL_ERROR")])),
    "void": ("the model returns text", ("output", [("score", "OUTPUT_MISMATCH")])),
}


def landing_rows(
    n: int, every: int = 9
) -> tuple[list[dict[str, Any]], dict[int, tuple[str, list[tuple[str, str]]]]]:
    """``n`` landing records (ids 0..n-1); every ``every``-th one broken, the kinds in turn.

    Returns the records and, per broken id, its expected ``(stage, [(path, code)])``.
    """
    kinds = list(FAULTS)
    rows: list[dict[str, Any]] = []
    expected: dict[int, tuple[str, list[tuple[str, str]]]] = {}
    for i in range(n):
        row: dict[str, Any] = {
            "id": i,
            "qty": str(i % 7 + 1),
            "price": f"{(i % 13) * 0.5 + 1.25}",
            "tags": [f"t{j}" for j in range(i % 4)],
            "attrs": {"item": f"item{i % 11}", "note": None if i % 3 else "fragile", "z": None},
        }
        if i % every == every - 1:
            kind = kinds[(i // every) % len(kinds)]
            if kind == "tags_null":
                row["tags"] = None
            elif kind == "item_null":
                row["attrs"]["item"] = None
            elif kind == "qty_fraction":
                row["qty"] = "2.5"
            elif kind == "price_text":
                row["price"] = "n/a"
            elif kind == "attrs_extra":
                row["attrs"]["z"] = "extra"
            else:
                row["attrs"]["item"] = kind  # "boom" or "void"
            expected[i] = FAULTS[kind][1]
        rows.append(row)
    return rows, expected


def landing_table(n: int, every: int = 9) -> tuple[Any, dict[int, tuple[str, list[tuple[str, str]]]]]:
    """:func:`landing_rows` as a pyarrow Table (numbers as strings, attrs a struct with ``z``)."""
    import pyarrow as pa

    rows, expected = landing_rows(n, every)
    attrs = pa.struct([("item", pa.string()), ("note", pa.string()), ("z", pa.string())])
    schema = pa.schema(
        [
            ("id", pa.int64()),
            ("qty", pa.string()),
            ("price", pa.string()),
            ("tags", pa.list_(pa.string())),
            ("attrs", attrs),
        ]
    )
    return pa.Table.from_pylist(rows, schema=schema), expected
