"""The exception hierarchy: one root, each subclass also a matching builtin."""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DependencyError",
    "EnforcementError",
    "InferenceError",
    "ModelLoadError",
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
    """A schema could not be inferred from the data (MLflow's message where it has one)."""


class EnforcementError(SigbatchError, ValueError):
    """Raised by ``enforce(..., on_error="raise")``; the message is MLflow's for the same batch."""


class SchemaMismatchError(SigbatchError, ValueError):
    """The source's columns can never satisfy the signature (found by preflight)."""


class ConfigError(SigbatchError, ValueError):
    """A job configuration is invalid; the message names the key."""


class DependencyError(SigbatchError, ImportError):
    """An optional dependency is missing; the message says what to install."""


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
