"""Signature types: MLflow's type system as immutable values.

Every class here mirrors the MLflow class of the same name: the same constructor arguments, the same
construction errors and the same printed form (``repr`` and ``str``), so a signature built or printed
by sigbatch reads exactly like one built by MLflow. Unlike MLflow's, the values are frozen, compare
by value and hash, and hold tuples rather than lists.

Example:
    >>> from sigbatch import ColSpec, Schema, Array
    >>> Schema([ColSpec(Array("string"), "tags"), ColSpec("long", "n", required=False)])
    ['tags': Array(string) (required), 'n': long (optional)]
"""

from __future__ import annotations

import datetime as _dt
import string as _string
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, is_dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any, Union

import numpy as np

from sigbatch.errors import InferenceError, SignatureError, SignatureTypeError

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "AnyType",
    "Array",
    "ColSpec",
    "DataType",
    "Map",
    "ModelSignature",
    "Object",
    "ParamSchema",
    "ParamSpec",
    "Property",
    "Schema",
    "SparkMLVector",
    "TensorSpec",
]


class DataType(Enum):
    """MLflow's scalar data types; ``repr`` is the bare name, ``str`` the Enum default."""

    # Values and order are MLflow's: error messages list the members in this order.
    boolean = 1
    integer = 2
    long = 3
    float = 4
    double = 5
    string = 6
    binary = 7
    datetime = 8

    def __repr__(self) -> str:
        return self.name

    def to_numpy(self) -> np.dtype:
        """The numpy dtype MLflow associates with this type."""
        return _NUMPY_TYPES[self]

    def to_pandas(self) -> Any:
        """The pandas dtype MLflow enforces for this type (``object`` for string and binary)."""
        return object if self in (DataType.string, DataType.binary) else _NUMPY_TYPES[self]

    def to_python(self) -> type:
        """The Python type MLflow associates with this type."""
        return _PYTHON_TYPES[self]


_NUMPY_TYPES = {
    DataType.boolean: np.dtype("bool"),
    DataType.integer: np.dtype("int32"),
    DataType.long: np.dtype("int64"),
    DataType.float: np.dtype("float32"),
    DataType.double: np.dtype("float64"),
    DataType.string: np.dtype("str"),
    DataType.binary: np.dtype("bytes"),
    DataType.datetime: np.dtype("datetime64[ns]"),
}
_PYTHON_TYPES: dict[DataType, type] = {
    DataType.boolean: bool,
    DataType.integer: int,
    DataType.long: int,
    DataType.float: float,
    DataType.double: float,
    DataType.string: str,
    DataType.binary: bytes,
    DataType.datetime: _dt.date,
}

_TYPE_NAMES = [t.name for t in DataType]
_EXPECTED_TYPE_MESSAGE = (
    "Expected mlflow.types.schema.Datatype, mlflow.types.schema.Array, "
    "mlflow.types.schema.Object, mlflow.types.schema.Map, mlflow.types.schema.AnyType "
    "or str for the '{arg_name}' argument, but got {passed_type}"
)


def _resolve_type(value: Any, unknown_message: str) -> Any:
    """Turn a type name into a DataType; other values pass through for the caller to check."""
    if isinstance(value, str):
        try:
            return DataType[value]
        except KeyError:
            raise SignatureError(unknown_message.format(value=value)) from None
    return value


_UNKNOWN_NESTED = (
    f"Unsupported type '{{value}}', expected instance of DataType, Array, Object, Map or one of {_TYPE_NAMES}"
)


@dataclass(frozen=True, slots=True, repr=False)
class AnyType:
    """A value of any type, None included; no validation at all (MLflow's ``AnyType``)."""

    def __repr__(self) -> str:
        return "Any"

    def to_dict(self) -> dict[str, Any]:
        """MLflow's JSON form: ``{"type": "any"}``."""
        return {"type": "any"}


@dataclass(frozen=True, slots=True, repr=False, init=False)
class Array:
    """A list whose elements all have ``dtype``.

    Example:
        >>> Array(Array("string"))
        Array(Array(string))
    """

    dtype: DataType | Array | Object | Map | AnyType

    def __init__(self, dtype: DataType | Array | Object | Map | AnyType | str) -> None:
        resolved = _resolve_type(dtype, _UNKNOWN_NESTED)
        if not isinstance(resolved, _NESTABLE):
            raise SignatureError(_EXPECTED_TYPE_MESSAGE.format(arg_name="dtype", passed_type=resolved))
        object.__setattr__(self, "dtype", resolved)

    def __repr__(self) -> str:
        return f"Array({self.dtype!r})"

    def to_dict(self) -> dict[str, Any]:
        """MLflow's JSON form: ``{"type": "array", "items": ...}``."""
        return {"type": "array", "items": _type_dict(self.dtype)}


@dataclass(frozen=True, slots=True, repr=False, init=False)
class SparkMLVector(Array):
    """Spark ML's dense/sparse vector, an ``Array(double)`` that prints as ``SparkML vector``."""

    def __init__(self) -> None:
        object.__setattr__(self, "dtype", DataType.double)

    def __repr__(self) -> str:
        return "SparkML vector"

    def to_dict(self) -> dict[str, Any]:
        """MLflow's JSON form: ``{"type": "sparkml_vector"}``."""
        return {"type": "sparkml_vector"}


@dataclass(frozen=True, slots=True, repr=False, init=False)
class Property:
    """A named field of an :class:`Object`.

    Example:
        >>> Property("e", "string", required=False)
        e: string (optional)
    """

    name: str
    dtype: DataType | Array | Object | Map | AnyType
    required: bool | None = True

    def __init__(
        self,
        name: str,
        dtype: DataType | Array | Object | Map | AnyType | str,
        required: bool | None = True,
    ) -> None:
        if not isinstance(name, str):
            msg = f"Expected name to be a string, got type {type(name).__name__}"
            raise SignatureError(msg)
        resolved = _resolve_type(dtype, _UNKNOWN_NESTED)
        if not isinstance(resolved, _NESTABLE):
            raise SignatureError(_EXPECTED_TYPE_MESSAGE.format(arg_name="dtype", passed_type=resolved))
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "dtype", resolved)
        object.__setattr__(self, "required", required)

    def __repr__(self) -> str:
        return f"{self.name}: {self.dtype!r} ({'required' if self.required else 'optional'})"

    def to_dict(self) -> dict[str, Any]:
        """MLflow's JSON form: ``{name: {"type": ..., "required": ...}}``."""
        body = _type_dict(self.dtype)
        body["required"] = self.required
        return {self.name: body}


@dataclass(frozen=True, slots=True, repr=False, init=False)
class Object:
    """A dict with a fixed set of named properties, kept sorted by name as MLflow does.

    Example:
        >>> Object([Property("e", "string", False), Property("d", "string")])
        {d: string (required), e: string (optional)}
    """

    properties: tuple[Property, ...]

    def __init__(self, properties: Sequence[Property]) -> None:
        if not isinstance(properties, (list, tuple)):
            msg = f"Expected properties to be a list, got type {type(properties).__name__}"
            raise SignatureError(msg)
        if len(properties) == 0:
            raise SignatureError("Creating Object with empty properties is not allowed.")
        if any(not isinstance(p, Property) for p in properties):
            raise SignatureError("Expected values to be instance of Property")
        seen: set[str] = set()
        duplicates: list[str] = []
        for prop in properties:
            if prop.name in seen and prop.name not in duplicates:
                duplicates.append(prop.name)
            seen.add(prop.name)
        if duplicates:
            msg = f"Found duplicated property names: `{', '.join(duplicates)}`"
            raise SignatureError(msg)
        object.__setattr__(self, "properties", tuple(sorted(properties, key=lambda p: p.name)))

    def __repr__(self) -> str:
        return "{" + ", ".join(map(repr, self.properties)) + "}"

    def property(self, name: str) -> Property | None:
        """The property called ``name``, or None."""
        return next((p for p in self.properties if p.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        """MLflow's JSON form: ``{"type": "object", "properties": {...}}``."""
        props: dict[str, Any] = {}
        for prop in self.properties:
            props.update(prop.to_dict())
        return {"type": "object", "properties": props}


@dataclass(frozen=True, slots=True, repr=False, init=False)
class Map:
    """A dict with string keys and values of ``value_type``.

    Example:
        >>> Map("double")  # MLflow prints scalar value types with str(), a quirk kept on purpose
        Map(str -> DataType.double)
    """

    value_type: DataType | Array | Object | Map | AnyType

    def __init__(self, value_type: DataType | Array | Object | Map | AnyType | str) -> None:
        resolved = _resolve_type(
            value_type,
            "Unsupported value type '{value}', expected instance of DataType, Array, "
            f"Object, Map or one of {_TYPE_NAMES}",
        )
        if not isinstance(resolved, _NESTABLE):
            msg = _EXPECTED_TYPE_MESSAGE.format(arg_name="value_type", passed_type=resolved)
            raise SignatureError(msg)
        object.__setattr__(self, "value_type", resolved)

    def __repr__(self) -> str:
        # MLflow formats the value type with str(): `DataType.double` for scalars.
        return f"Map(str -> {self.value_type})"

    def to_dict(self) -> dict[str, Any]:
        """MLflow's JSON form: ``{"type": "map", "values": ...}``."""
        return {"type": "map", "values": _type_dict(self.value_type)}


_NESTABLE = (DataType, Array, Object, Map, AnyType)
ColumnType = Union[DataType, Array, Object, Map, AnyType]  # noqa: UP007 - a runtime alias


def _type_dict(dtype: ColumnType) -> dict[str, Any]:
    """MLflow's JSON dict of a type: ``{"type": name}`` for scalars, the type's own dict else."""
    if isinstance(dtype, DataType):
        return {"type": dtype.name}
    return dtype.to_dict()


@dataclass(frozen=True, slots=True, repr=False, init=False)
class ColSpec:
    """One column of a column-based schema.

    Example:
        >>> ColSpec("string", "a"), ColSpec("long")
        ('a': string (required), long (required))
    """

    type: ColumnType
    name: str | None = None
    required: bool | None = True

    def __init__(self, type: ColumnType | str, name: str | None = None, required: bool | None = True) -> None:
        resolved = _resolve_type(
            type, f"Unsupported type '{{value}}', expected instance of DataType or one of {_TYPE_NAMES}"
        )
        if not isinstance(resolved, _NESTABLE):
            msg = _EXPECTED_TYPE_MESSAGE.format(arg_name="type", passed_type=resolved)
            raise SignatureTypeError(msg)
        object.__setattr__(self, "type", resolved)
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "required", required)

    def __repr__(self) -> str:
        required = "required" if self.required else "optional"
        if self.name is None:
            return f"{self.type!r} ({required})"
        return f"{self.name!r}: {self.type!r} ({required})"

    def to_dict(self) -> dict[str, Any]:
        """MLflow's JSON form: type keys, then ``name`` (if any), then ``required``."""
        body = _type_dict(self.type)
        if self.name is not None:
            body["name"] = self.name
        body["required"] = self.required
        return body


@dataclass(frozen=True, slots=True, repr=False, init=False)
class TensorSpec:
    """A tensor input: numpy dtype and shape (``-1`` for a variable dimension).

    Example:
        >>> TensorSpec(np.dtype("float32"), (-1, 28, 28), "img")
        'img': Tensor('float32', (-1, 28, 28))
    """

    type: np.dtype
    shape: tuple[int, ...]
    name: str | None = None

    def __init__(self, type: np.dtype, shape: Sequence[int], name: str | None = None) -> None:
        if not isinstance(type, np.dtype):
            msg = f"Expected `dtype` to be instance of `{np.dtype}`, received `{type.__class__}`"
            raise SignatureTypeError(msg)
        if type.char in ("U", "S") and not type.name.isalpha():
            msg = (
                "MLflow does not support size information in flexible numpy data types. Use"
                f' np.dtype("{type.name.rstrip(_string.digits)}") instead'
            )
            raise SignatureError(msg)
        if not isinstance(shape, (tuple, list)):
            msg = f"Expected `shape` to be instance of `{tuple}` or `{list}`, received `{shape.__class__}`"
            raise SignatureTypeError(msg)
        object.__setattr__(self, "type", type)
        object.__setattr__(self, "shape", tuple(shape))
        object.__setattr__(self, "name", name)

    @property
    def required(self) -> bool:
        """A tensor is always required."""
        return True

    def __repr__(self) -> str:
        info = f"Tensor({self.type.name!r}, {self.shape!r})"
        return info if self.name is None else f"{self.name!r}: {info}"

    def to_dict(self) -> dict[str, Any]:
        """MLflow's JSON form; ``name`` comes first when present."""
        spec = {"type": "tensor", "tensor-spec": {"dtype": self.type.name, "shape": list(self.shape)}}
        return spec if self.name is None else {"name": self.name, **spec}


@dataclass(frozen=True, slots=True, repr=False, init=False)
class Schema:
    """A list of column specs (all ColSpec) or tensor specs (all TensorSpec).

    Example:
        >>> Schema([ColSpec("string")])
        [string (required)]
    """

    inputs: tuple[ColSpec | TensorSpec, ...]

    def __init__(self, inputs: Sequence[ColSpec | TensorSpec]) -> None:
        if not isinstance(inputs, (list, tuple)):
            msg = f"Inputs of Schema must be a list, got type {type(inputs).__name__}"
            raise SignatureError(msg)
        if not inputs:
            raise SignatureError("Creating Schema with empty inputs is not allowed.")
        if not all(isinstance(x, (ColSpec, TensorSpec)) for x in inputs):
            msg = "Schema inputs must be ColSpec or TensorSpec values"
            raise SignatureTypeError(msg)
        named = [x.name is not None for x in inputs]
        if any(named) and not all(named):
            msg = (
                "Creating Schema with a combination of named and unnamed inputs "
                f"is not allowed. Got input names {[x.name for x in inputs]}"
            )
            raise SignatureError(msg)
        tensors = [isinstance(x, TensorSpec) for x in inputs]
        if any(tensors) and not all(tensors):
            # MLflow's message keeps its unformatted placeholders.
            msg = (
                "Creating Schema with a combination of {0} and {1} is not supported. "
                "Please choose one of ColSpec or TensorSpec"
            )
            raise SignatureError(msg)
        if all(tensors) and len(inputs) > 1 and not all(named):
            msg = (
                "Creating Schema with multiple unnamed TensorSpecs is not supported. "
                "Please provide names for each TensorSpec."
            )
            raise SignatureError(msg)
        if not any(named) and any(x.required is False for x in inputs):
            msg = (
                "Creating Schema with unnamed optional inputs is not supported. "
                "Please name all inputs or make all inputs required."
            )
            raise SignatureError(msg)
        object.__setattr__(self, "inputs", tuple(inputs))

    def __repr__(self) -> str:
        return repr(list(self.inputs))

    def __len__(self) -> int:
        return len(self.inputs)

    def __iter__(self) -> Iterator[ColSpec | TensorSpec]:
        return iter(self.inputs)

    def is_tensor_spec(self) -> bool:
        """True for a schema of TensorSpecs."""
        return isinstance(self.inputs[0], TensorSpec)

    def has_input_names(self) -> bool:
        """True when the specs are named."""
        return self.inputs[0].name is not None

    def input_names(self) -> list[str | int]:
        """Names, or positions for an unnamed schema (MLflow's ``name or index``)."""
        return [x.name or i for i, x in enumerate(self.inputs)]

    def required_input_names(self) -> list[str | int]:
        """Names (or positions) of the required specs."""
        return [x.name or i for i, x in enumerate(self.inputs) if x.required]

    def optional_input_names(self) -> list[str | int]:
        """Names (or positions) of the optional specs."""
        return [x.name or i for i, x in enumerate(self.inputs) if not x.required]

    def input_types(self) -> list[Any]:
        """The type of each spec."""
        return [x.type for x in self.inputs]

    def to_dict(self) -> list[dict[str, Any]]:
        """MLflow's JSON-able list of spec dicts."""
        return [x.to_dict() for x in self.inputs]

    def to_json(self) -> str:
        """MLflow's JSON text of the schema (see :mod:`sigbatch.wire`)."""
        from sigbatch.wire import schema_to_json

        return schema_to_json(self)

    @classmethod
    def from_json(cls, json_str: str) -> Schema:
        """Read MLflow's JSON text of a schema."""
        from sigbatch.wire import schema_from_json

        return schema_from_json(json_str)

    def to_arrow(self) -> pa.Schema:
        """The Arrow schema of conforming data (see :mod:`sigbatch.arrow`)."""
        from sigbatch.arrow import to_arrow

        return to_arrow(self)

    @classmethod
    def from_arrow(cls, arrow_schema: pa.Schema) -> Schema:
        """The signature schema of an Arrow schema (see :mod:`sigbatch.arrow`)."""
        from sigbatch.arrow import from_arrow

        return from_arrow(arrow_schema)


def _freeze(value: Any) -> Any:
    """A hashable stand-in for a JSON-like value: lists become tuples, dicts sets of their items
    (equal dicts are equal whatever their key order, as MLflow compares defaults)."""
    if isinstance(value, dict):
        return frozenset((k, _freeze(v)) for k, v in value.items())
    if isinstance(value, (list, tuple, np.ndarray)):
        return tuple(_freeze(v) for v in value)
    return value


@dataclass(frozen=True, slots=True, repr=False, init=False, eq=False)
class ParamSpec:
    """An inference parameter with its type, default and shape (None or ``(-1,)``).

    Example:
        >>> ParamSpec("temperature", "double", 0.5)
        'temperature': double (default: 0.5)
    """

    name: str
    dtype: DataType | Object
    default: Any
    shape: tuple[int, ...] | None = None

    def __init__(
        self,
        name: str,
        dtype: DataType | Object | str,
        default: Any,
        shape: Sequence[int] | None = None,
    ) -> None:
        object.__setattr__(self, "name", str(name))
        object.__setattr__(self, "shape", tuple(shape) if shape is not None else None)
        if isinstance(dtype, str):
            if dtype not in DataType.__members__:
                supported = [t.name for t in DataType if t is not DataType.binary]
                msg = f"Unsupported type '{dtype}', expected instance of DataType or one of {supported}"
                raise SignatureError(msg)
            dtype = DataType[dtype]
        if not isinstance(dtype, (DataType, Object)):
            msg = f"'dtype' must be DataType, Object or str, got {dtype}"
            raise SignatureTypeError(msg)
        if dtype is DataType.binary:
            msg = f"Binary type is not supported for parameters, ParamSpec '{self.name}'has dtype 'binary'"
            raise SignatureError(msg)
        object.__setattr__(self, "dtype", dtype)
        object.__setattr__(self, "default", default)
        from sigbatch.params import validate_param_value

        object.__setattr__(self, "default", validate_param_value(self, default))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ParamSpec):
            return NotImplemented
        return (
            self.name == other.name
            and self.dtype == other.dtype
            and _freeze(self.default) == _freeze(other.default)
            and self.shape == other.shape
        )

    def __hash__(self) -> int:
        return hash((self.name, self.dtype, _freeze(self.default), self.shape))

    def __repr__(self) -> str:
        shape = f" (shape: {self.shape})" if self.shape is not None else ""
        return f"{self.name!r}: {self.dtype!r} (default: {self.default}){shape}"

    def to_dict(self) -> dict[str, Any]:
        """MLflow's JSON form: ``name``, ``default``, ``shape``, then the type keys."""
        default = self.default
        if self.dtype is DataType.datetime and default is not None:
            default = [v.isoformat() for v in default] if self.shape else default.isoformat()
        elif isinstance(default, tuple):
            default = list(default)
        body: dict[str, Any] = {
            "name": self.name,
            "default": default,
            "shape": list(self.shape) if self.shape is not None else None,
        }
        body.update(_type_dict(self.dtype))
        return body


@dataclass(frozen=True, slots=True, repr=False, init=False)
class ParamSchema:
    """The list of a model's inference parameters.

    Example:
        >>> ParamSchema([ParamSpec("k", "long", 3)])
        ['k': long (default: 3)]
    """

    params: tuple[ParamSpec, ...]

    def __init__(self, params: Sequence[ParamSpec]) -> None:
        if not all(isinstance(x, ParamSpec) for x in params):
            msg = f"ParamSchema inputs only accept {ParamSchema.__class__}"
            raise SignatureError(msg)
        seen: set[str] = set()
        duplicates = []
        for spec in params:
            if spec.name in seen:
                duplicates.append(spec.name)
            seen.add(spec.name)
        if duplicates:
            msg = f"Duplicated parameters found in schema: {duplicates}"
            raise SignatureError(msg)
        object.__setattr__(self, "params", tuple(params))

    def __repr__(self) -> str:
        return repr(list(self.params))

    def __len__(self) -> int:
        return len(self.params)

    def __iter__(self) -> Iterator[ParamSpec]:
        return iter(self.params)

    def to_dict(self) -> list[dict[str, Any]]:
        """MLflow's JSON-able list of param dicts."""
        return [p.to_dict() for p in self.params]

    def to_json(self) -> str:
        """MLflow's JSON text of the parameter schema."""
        from sigbatch.wire import param_schema_to_json

        return param_schema_to_json(self)

    @classmethod
    def from_json(cls, json_str: str) -> ParamSchema:
        """Read MLflow's JSON text of a parameter schema (``type`` or legacy ``dtype`` keys)."""
        from sigbatch.wire import param_schema_from_json

        return param_schema_from_json(json_str)


@dataclass(frozen=True, slots=True, repr=False, init=False)
class ModelSignature:
    """A model's input schema, output schema and parameter schema (each may be None).

    As in MLflow, ``inputs`` and ``outputs`` may also be a dataclass (class or instance): its
    fields' type hints become the schema (see :func:`sigbatch.infer.dataclass_schema`).
    Printed as MLflow prints it, each heading followed by a space (``"inputs: "``).

    Example:
        >>> print(ModelSignature(Schema([ColSpec("string")])), end="")  # doctest: +NORMALIZE_WHITESPACE
        inputs:
          [string (required)]
        outputs:
          None
        params:
          None
    """

    inputs: Schema | None = None
    outputs: Schema | None = None
    params: ParamSchema | None = field(default=None)

    def __init__(
        self,
        # A dataclass has no static type, hence Any (as in MLflow's signature).
        inputs: Schema | Any = None,
        outputs: Schema | Any = None,
        params: ParamSchema | None = None,
    ) -> None:
        if inputs and not isinstance(inputs, Schema) and not _is_user_dataclass(inputs):
            msg = (
                "inputs must be either None, mlflow.models.signature.Schema, or a dataclass,"
                f"got '{type(inputs).__name__}'"
            )
            raise SignatureTypeError(msg)
        if outputs and not isinstance(outputs, Schema) and not _is_user_dataclass(outputs):
            msg = (
                "outputs must be either None, mlflow.models.signature.Schema, or a dataclass,"
                f"got '{type(outputs).__name__}'"
            )
            raise SignatureTypeError(msg)
        if params and not isinstance(params, ParamSchema):
            msg = (
                "If params are provided, they must by of type mlflow.models.signature.ParamSchema, "
                f"got '{type(params).__name__}'"
            )
            raise SignatureTypeError(msg)
        if inputs is None and outputs is None and params is None:
            msg = "At least one of inputs, outputs or params must be provided"
            raise SignatureError(msg)
        if _is_user_dataclass(inputs):
            inputs = _dataclass_schema(inputs)
        if _is_user_dataclass(outputs):
            outputs = _dataclass_schema(outputs)
        object.__setattr__(self, "inputs", inputs)
        object.__setattr__(self, "outputs", outputs)
        object.__setattr__(self, "params", params)

    def __repr__(self) -> str:
        return f"inputs: \n  {self.inputs!r}\noutputs: \n  {self.outputs!r}\nparams: \n  {self.params!r}\n"

    def to_dict(self) -> dict[str, str | None]:
        """MLflow's MLmodel form: each part as a JSON string, or None."""
        from sigbatch.wire import signature_to_dict

        return signature_to_dict(self)

    @classmethod
    def from_dict(cls, signature_dict: dict[str, Any]) -> ModelSignature:
        """Read MLflow's MLmodel form (missing or empty parts become None)."""
        from sigbatch.wire import signature_from_dict

        return signature_from_dict(signature_dict)


def _is_user_dataclass(value: Any) -> bool:
    """A dataclass class or instance to read a schema from (not one of this module's types)."""
    # The types here are dataclasses too, MLflow's are not: MLflow refuses a ColSpec as inputs.
    cls = value if isinstance(value, type) else type(value)
    return is_dataclass(value) and cls.__module__ != __name__


def _dataclass_schema(dataclass: Any) -> Schema:
    """The schema of a dataclass given to ModelSignature; an unsupported hint is a SignatureError."""
    # Imported here: sigbatch.infer imports this module.
    from sigbatch.infer.hints import dataclass_schema

    try:
        return dataclass_schema(dataclass)
    except InferenceError as exc:
        raise SignatureError(str(exc)) from exc


def repeated_names(names: Iterable[str]) -> list[str]:
    """The names that occur more than once, sorted (for a message naming them).

    Example:
        >>> repeated_names(["a", "b", "a", "c", "b"])
        ['a', 'b']
    """
    return sorted(name for name, count in Counter(names).items() if count > 1)
