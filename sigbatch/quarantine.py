"""Quarantine records: reason codes, reasons, and the Arrow layout of a quarantine table.

A reason says why one row was refused: ``{path, code, expected, actual, message}``. ``path`` names
the place in the row (``col``, ``col.prop``, ``col[3].prop``, ``col["key"]``; a name that is
empty, holds one of ``. [ ] { } "`` or starts or ends with whitespace is written as its JSON string,
``"a.b"``, see :func:`path_name`); ``code`` is one of the stable :class:`ReasonCode` values. A quarantine table keeps the row's original columns in their
source types and adds ``_sigbatch_errors``, ``_sigbatch_stage`` and ``_sigbatch_row``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Any

import pyarrow as pa

__all__ = [
    "CORRUPT_COLUMN",
    "ERRORS_COLUMN",
    "FILE_COLUMN",
    "IDENTITY_COLUMNS",
    "KIND_COLUMN",
    "OFFSET_COLUMN",
    "PRED_PREFIX",
    "REASON_TYPE",
    "ROW_COLUMN",
    "STAGE_COLUMN",
    "Reason",
    "ReasonCode",
    "Stage",
    "child_path",
    "describe_value",
    "index_path",
    "key_path",
    "path_name",
    "path_root",
    "reserved_columns",
]


class ReasonCode(str, Enum):
    """Why a row was quarantined; the values are stable API."""

    MISSING_REQUIRED = "MISSING_REQUIRED"
    NULL_REQUIRED = "NULL_REQUIRED"
    TYPE_MISMATCH = "TYPE_MISMATCH"
    UNSAFE_CAST = "UNSAFE_CAST"
    INVALID_ARRAY = "INVALID_ARRAY"
    INVALID_OBJECT = "INVALID_OBJECT"
    INVALID_MAP = "INVALID_MAP"
    SHAPE_MISMATCH = "SHAPE_MISMATCH"
    PARSE_ERROR = "PARSE_ERROR"
    MODEL_ERROR = "MODEL_ERROR"
    OUTPUT_MISMATCH = "OUTPUT_MISMATCH"

    def __str__(self) -> str:
        return self.value


class Stage(str, Enum):
    """Where in scoring a row was refused."""

    INPUT = "input"
    MODEL = "model"
    OUTPUT = "output"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class Reason:
    """One reason a row was refused.

    Example:
        >>> Reason("c.d", ReasonCode.MISSING_REQUIRED, "string", "missing", "Missing required properties: {'d'}").code
        <ReasonCode.MISSING_REQUIRED: 'MISSING_REQUIRED'>
    """

    path: str
    code: ReasonCode
    expected: str
    actual: str
    message: str

    def as_dict(self) -> dict[str, str]:
        """The reason as a plain dict (the row of ``_sigbatch_errors``)."""
        return {
            "path": self.path,
            "code": self.code.value,
            "expected": self.expected,
            "actual": self.actual,
            "message": self.message,
        }


REASON_TYPE = pa.struct(
    [
        pa.field("path", pa.string()),
        pa.field("code", pa.string()),
        pa.field("expected", pa.string()),
        pa.field("actual", pa.string()),
        pa.field("message", pa.string()),
    ]
)
ERRORS_COLUMN = "_sigbatch_errors"
STAGE_COLUMN = "_sigbatch_stage"
ROW_COLUMN = "_sigbatch_row"
#: Where a source row came from, as the scoring jobs add it: its file, the file split's start,
#: and (with ROW_COLUMN) its position there.
FILE_COLUMN = "_sigbatch_file"
OFFSET_COLUMN = "_sigbatch_file_offset"
IDENTITY_COLUMNS = (FILE_COLUMN, OFFSET_COLUMN, ROW_COLUMN)
#: The raw text of a source record its reader could not parse (Spark's ``columnNameOfCorruptRecord``;
#: the Dask reader makes the same column): such a row is quarantined with ``PARSE_ERROR``.
CORRUPT_COLUMN = "_corrupt_record"
KIND_COLUMN = "_sigbatch_kind"  # "scored" or "quarantined", in the one stream the engines split
PRED_PREFIX = "_sigbatch_pred_"  # a prediction column in that stream


def reserved_columns(names: Iterable[Any]) -> list[str]:
    """The names among ``names`` that sigbatch's own columns take (a source must not use them).

    Example:
        >>> reserved_columns(["id", "_sigbatch_errors", "_sigbatch_pred_score", "_sigbatch_file"])
        ['_sigbatch_errors', '_sigbatch_pred_score']
    """
    own = {ERRORS_COLUMN, STAGE_COLUMN, ROW_COLUMN, KIND_COLUMN}
    return [str(n) for n in names if str(n) in own or str(n).startswith(PRED_PREFIX)]


#: Characters that make a name ambiguous in a path (``.`` and brackets separate its parts, braces
#: mark inference's map values, a quote starts a quoted name).
_PATH_PUNCTUATION = frozenset('.[]{}"')


def path_name(name: Any) -> str:
    """A field name as it appears in a path: as it is, or its JSON string where it would be ambiguous.

    A name that is empty, holds one of ``. [ ] { } "`` or starts or ends with whitespace is written
    as its JSON string, so ``a.b`` (one column) and ``a`` . ``b`` (property ``b`` of ``a``) differ.

    Example:
        >>> path_name("a"), path_name("a.b"), path_name(""), path_name(" x")
        ('a', '"a.b"', '""', '" x"')
    """
    text = str(name)
    if not text or text != text.strip() or not _PATH_PUNCTUATION.isdisjoint(text):
        return json.dumps(text, ensure_ascii=False)
    return text


def path_root(path: str) -> str:
    """The top-level column name of a path (its first name, unquoted).

    Example:
        >>> path_root('a.b[3]'), path_root('"a.b".c'), path_root('""["k"]')
        ('a', 'a.b', '')
    """
    if path.startswith('"'):
        try:
            name, _ = json.JSONDecoder().raw_decode(path)
        except ValueError:  # not a path this module wrote: its first part as it is
            return path
        return str(name)
    return path.split(".")[0].split("[")[0].split("{")[0]


def child_path(path: str, name: Any) -> str:
    """The path of property ``name`` inside ``path`` (the column ``name`` when ``path`` is empty)."""
    return f"{path}.{path_name(name)}" if path else path_name(name)


def index_path(path: str, index: int) -> str:
    """The path of element ``index`` inside ``path``."""
    return f"{path}[{index}]"


def key_path(path: str, key: Any) -> str:
    """The path of map entry ``key`` inside ``path``."""
    return f'{path}["{key}"]'


_MAX_ACTUAL = 200


def describe_value(value: Any) -> str:
    """A short, safe description of an offending value: its type and a truncated repr."""
    text = repr(value)
    if len(text) > _MAX_ACTUAL:
        text = text[: _MAX_ACTUAL - 3] + "..."
    return f"{type(value).__name__} {text}"
