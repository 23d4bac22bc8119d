"""The exception hierarchy (one root, each subclass also a matching builtin), and the one-line
texts of the errors met reading a text file or its YAML."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sigbatch.manifest import Manifest

__all__ = [
    "ConfigError",
    "DependencyError",
    "EnforcementError",
    "InferenceError",
    "JobError",
    "ModelLoadError",
    "QuarantineRateError",
    "SchemaMismatchError",
    "SigbatchError",
    "SignatureError",
    "SignatureFileError",
    "SignatureTypeError",
]


class SigbatchError(Exception):
    """Root of every exception sigbatch raises on purpose."""


class SignatureError(SigbatchError, ValueError):
    """A signature, schema or type was built or read with invalid values.

    MLflow raises ``MlflowException`` (INVALID_PARAMETER_VALUE) in these cases.
    """


class SignatureTypeError(SignatureError, TypeError):
    """A signature part was given an argument of the wrong Python type.

    MLflow raises a plain ``TypeError`` in these cases.
    """


class SignatureFileError(SignatureError):
    """A signature file (MLmodel, JSON or YAML) could not be read."""


class ModelLoadError(SignatureError):
    """A model URI names something that cannot be loaded (its import or MLflow's loader failed,
    or the object is not a model); the message names the URI and the cause."""


class InferenceError(SigbatchError, ValueError):
    """A schema could not be inferred from the data (MLflow's message where it has one).

    ``report``: where everything was read and only values of different types stopped the policy
    ``strict``, the run's :class:`~sigbatch.infer.finalize.Report` (which rows and files were read,
    each field's rates and types), so that a long run need not be repeated to see it; else None.
    """

    report: Any = None


class EnforcementError(SigbatchError, ValueError):
    """Raised by ``enforce(..., on_error="raise")``; the message is MLflow's for the same batch."""


class SchemaMismatchError(SigbatchError, ValueError):
    """The source's columns can never satisfy the signature (found by preflight)."""


class ConfigError(SigbatchError, ValueError):
    """A job configuration is invalid; the message names the key."""


class DependencyError(SigbatchError, ImportError):
    """An optional dependency is missing; the message says what to install."""


class JobError(SigbatchError, RuntimeError):
    """A job failed for a reason outside its data and config (a worker process crashed, the
    cluster lost an executor); the message gives the cause, the engine's log the details."""


class QuarantineRateError(SigbatchError, RuntimeError):
    """A scoring job quarantined a larger share of rows than its ``max_quarantine_rate``; its outputs
    and manifest are written (``manifest``: the job's :class:`~sigbatch.manifest.Manifest`; the
    command line prints its summary, then exits with status 3)."""

    def __init__(self, message: str, manifest: Manifest | None = None) -> None:
        super().__init__(message)
        self.manifest = manifest


def yaml_problem(exc: Exception) -> str:
    """A YAML parser's error as one line: what is wrong and where (its own text spans lines).

    Example:
        >>> import yaml
        >>> try:
        ...     yaml.safe_load("a: [1, 2\\n")
        ... except yaml.YAMLError as exc:
        ...     print(yaml_problem(exc))
        expected ',' or ']', but got '<stream end>' at line 2, column 1 (while parsing a flow sequence)
    """
    problem = getattr(exc, "problem", None)
    if problem is None:
        return " ".join(str(exc).split())
    mark = getattr(exc, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    context = getattr(exc, "context", None)
    return f"{problem}{where}" + (f" ({context})" if context else "")


def read_utf8(path: Path, error: type[SigbatchError], hint: str) -> str:
    """The text of a UTF-8 file, or ``error`` saying in one line why it cannot be read (``hint``
    follows a decoding error: what to do)."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        msg = f"{path}: not UTF-8 text ({exc.reason} at byte offset {exc.start}); {hint}"
        raise error(msg) from None
    except OSError as exc:
        msg = f"{path}: cannot read ({exc.strerror or exc})"
        raise error(msg) from None
