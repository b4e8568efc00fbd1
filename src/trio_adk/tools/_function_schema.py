"""Build a Gemini ``FunctionDeclaration`` from a plain Python callable.

The parameters of the callable become an OBJECT schema (the OpenAPI subset the Gemini
API accepts).  Everything here is pure computation: it may be called from any thread
and never blocks on I/O.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import inspect
import re
import types as pytypes
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal, Union

import attrs
import pydantic
import pydantic_core
from google.genai import types
from pydantic.fields import FieldInfo

from trio_adk.tools._tool_names import check_tool_name

DEFAULT_IGNORED_PARAMS = ("tool_context", "input_stream")

_SUPPORTED = (
    "str, int, float, bool, list[...], dict[...], Literal['a', ...] of strings, an Enum "
    "with string values, a pydantic model or a dataclass, optionally as Optional[...] or "
    "a union of those"
)


@attrs.frozen
class ParamInfo:
    """One parameter of a tool function, with its annotation resolved.

    ``annotation`` is ``inspect.Parameter.empty`` when the parameter has none.
    """

    name: str
    kind: inspect._ParameterKind
    annotation: Any
    default: Any
    description: str | None = None

    @property
    def has_default(self) -> bool:
        """Whether the parameter has a default value."""
        return self.default is not inspect.Parameter.empty

    @property
    def nullable(self) -> bool:
        """Whether the annotation admits ``None`` (``Optional[T]``, ``T | None``)."""
        return _admits_none(self.annotation)

    @property
    def mandatory(self) -> bool:
        """No default and not nullable: the model must provide it."""
        return not self.has_default and not self.nullable


class _Unresolved:
    """A string annotation that could not be evaluated."""

    def __init__(self, text: str, error: Exception) -> None:
        self.text = text
        self.error = error

    def __repr__(self) -> str:
        return f"<unresolved {self.text!r}>"


def callable_target(func: Callable[..., Any]) -> Callable[..., Any]:
    """The function that carries the name, docstring and annotations of ``func``.

    Looks through ``functools.partial`` objects and uses ``__call__`` for callable
    instances; bound methods are returned as they are.
    """
    target: Any = func
    while isinstance(target, functools.partial):
        target = target.func
    if not (inspect.isroutine(target) or inspect.isclass(target)) and callable(target):
        call: Callable[..., Any] = type(target).__call__
        return call
    result: Callable[..., Any] = target
    return result


def callable_name(func: Callable[..., Any]) -> str:
    """The tool name of ``func``: its ``__name__`` (the class name for instances)."""
    target: Any = func
    while isinstance(target, functools.partial):
        target = target.func
    name = getattr(target, "__name__", None)
    if isinstance(name, str):
        return name
    return type(target).__name__


_DEFAULT_CALL_DOC = inspect.getdoc(type.__call__)


def callable_doc(func: Callable[..., Any]) -> str | None:
    """The cleaned docstring of ``func`` (``None`` when it has none).

    A callable object without a docstring of its own (nor on its class) has its
    ``__call__`` method's; a dataclass's generated signature docstring does not count.
    """
    target: Any = func
    while isinstance(target, functools.partial):
        target = target.func
    doc = inspect.getdoc(target)
    if doc and _generated_dataclass_doc(target, doc):
        doc = None
    if not doc and not inspect.isroutine(target) and not isinstance(target, type):
        call = getattr(target, "__call__", None)  # noqa: B004 - the method, not callable()
        call_doc = inspect.getdoc(call) if call is not None else None
        if call_doc and call_doc != _DEFAULT_CALL_DOC:
            doc = call_doc
    return doc or None


def _generated_dataclass_doc(target: Any, doc: str) -> bool:
    if isinstance(target, type) or not dataclasses.is_dataclass(target):
        return False
    try:
        signature = str(inspect.signature(type(target))).replace(" -> None", "")
    except (TypeError, ValueError):
        return False
    return doc == type(target).__name__ + signature


def function_parameters(
    func: Callable[..., Any], *, ignore_params: Iterable[str] = DEFAULT_IGNORED_PARAMS
) -> list[ParamInfo]:
    """The declarable parameters of ``func``, in signature order.

    Skips ``*args``/``**kwargs``, the names in ``ignore_params`` and the arguments
    already bound by a ``functools.partial``.  String annotations are resolved;
    one that cannot be resolved is kept as a marker and reported when a schema is
    built for it.
    """
    ignored = set(ignore_params)
    target = callable_target(func)
    signature = inspect.signature(func)
    bound_keywords: set[str] = set()
    partial: Any = func
    while isinstance(partial, functools.partial):
        bound_keywords.update(partial.keywords)
        partial = partial.func
    hints = _resolve_hints(target, signature)
    descriptions = parse_arg_descriptions(inspect.getdoc(target) or "")
    result: list[ParamInfo] = []
    for param in signature.parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        if param.name in ignored or param.name in bound_keywords:
            continue
        result.append(
            ParamInfo(
                name=param.name,
                kind=param.kind,
                annotation=hints.get(param.name, param.annotation),
                default=param.default,
                description=descriptions.get(param.name),
            )
        )
    return result


def build_function_declaration(
    func: Callable[..., Any], *, ignore_params: Iterable[str] = DEFAULT_IGNORED_PARAMS
) -> types.FunctionDeclaration:
    """Declare ``func`` to the model.

    The name is ``func.__name__``, the description its cleaned docstring, and the
    parameters an OBJECT schema with one property per parameter (see
    ``function_parameters``); ``required`` lists the parameters that have no default
    and are not ``Optional``.  A function without parameters gets ``parameters=None``.

    Raises ``ValueError`` naming the function (and the parameter) when the name is not
    one the model accepts (a lambda's ``<lambda>``), when it takes ``*args`` (the model
    passes arguments by name only), when an annotation cannot be expressed as a schema,
    or when a default does not match its annotation.  Pure computation: safe from any
    thread.
    """
    return declare_function(func, function_parameters(func, ignore_params=ignore_params))


def declare_function(
    func: Callable[..., Any], params: Sequence[ParamInfo]
) -> types.FunctionDeclaration:
    """The declaration of ``func`` with ``params`` as its declared parameters (as
    returned by ``function_parameters``); see ``build_function_declaration``."""
    name = callable_name(func)
    check_tool_name(name, what=f"function {name!r}")
    _check_no_var_positional(func, name)
    parameters: types.Schema | None = None
    if params:
        properties: dict[str, types.Schema] = {}
        for param in params:
            where = f"parameter {param.name!r} of function {name!r}"
            properties[param.name] = _property_schema(
                param.annotation, param.default, param.description, where
            )
        required = [p.name for p in params if p.mandatory]
        parameters = types.Schema(
            type=types.Type.OBJECT, properties=properties, required=required or None
        )
    return types.FunctionDeclaration(
        name=name, description=callable_doc(func), parameters=parameters
    )


def _check_no_var_positional(func: Callable[..., Any], name: str) -> None:
    for param in inspect.signature(func).parameters.values():
        if param.kind is inspect.Parameter.VAR_POSITIONAL:
            raise ValueError(
                f"Cannot declare parameter '*{param.name}' of function {name!r} to the "
                f"model: the model passes arguments by name, so *{param.name} would "
                f"always be empty. Take a list instead, for example "
                f"`{param.name}: list[str]`. (If this is a decorator's wrapper, decorate "
                "it with functools.wraps so the tool keeps the real signature.)"
            )


# --- docstrings ---------------------------------------------------------------------

_ARGS_HEADER = re.compile(r"^(\s*)(?:Args|Arguments|Parameters|Params)\s*:\s*$")
_ARG_ENTRY = re.compile(r"^\*{0,2}([A-Za-z_]\w*)\s*(?:\([^)]*\))?\s*:\s*(.*)$")


def parse_arg_descriptions(doc: str) -> dict[str, str]:
    """Parameter descriptions from the Google-style ``Args:`` section of ``doc``."""
    lines = doc.splitlines()
    start = next((i for i, line in enumerate(lines) if _ARGS_HEADER.match(line)), None)
    if start is None:
        return {}
    header_indent = len(lines[start]) - len(lines[start].lstrip())
    entry_indent: int | None = None
    current: str | None = None
    found: dict[str, str] = {}
    for line in lines[start + 1 :]:
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip())
        if indent <= header_indent:
            break
        if entry_indent is None:
            entry_indent = indent
        if indent <= entry_indent:
            entry = _ARG_ENTRY.match(line.strip())
            current = None
            if entry:
                current = entry.group(1)
                found[current] = entry.group(2).strip()
        elif current is not None:
            found[current] = f"{found[current]} {line.strip()}".strip()
    return {key: value for key, value in found.items() if value}


# --- annotations -> schema ------------------------------------------------------------


def _resolve_hints(target: Callable[..., Any], signature: inspect.Signature) -> dict[str, Any]:
    try:
        return typing.get_type_hints(target, include_extras=True)
    except Exception:
        pass
    # Some annotation cannot be resolved (often a TYPE_CHECKING-only import of an
    # ignored parameter such as ``tool_context``): resolve them one by one.
    namespace = getattr(inspect.unwrap(target), "__globals__", {})
    hints: dict[str, Any] = {}
    for param in signature.parameters.values():
        annotation = param.annotation
        if isinstance(annotation, str):
            try:
                annotation = eval(annotation, dict(namespace))
            except Exception as exc:
                annotation = _Unresolved(annotation, exc)
        hints[param.name] = annotation
    return hints


def _admits_none(annotation: Any) -> bool:
    if annotation is None or annotation is type(None):
        return True
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _admits_none(typing.get_args(annotation)[0])
    if origin in (Union, pytypes.UnionType, Literal):
        return any(_admits_none(arg) for arg in typing.get_args(annotation))
    return False


def _property_schema(
    annotation: Any, default: Any, description: str | None, where: str
) -> types.Schema:
    annotation, annotated_description = _strip_annotated(annotation)
    schema = _schema_for(annotation, where, ())
    schema.description = annotated_description or description or schema.description
    if default is not inspect.Parameter.empty:
        _check_default(annotation, default, where)
        _set_default(schema, default)
    return schema


def _is_specified(annotation: Any) -> bool:
    return annotation is not inspect.Parameter.empty and annotation is not Any


def _set_default(schema: types.Schema, default: Any) -> None:
    """Record a JSON-compatible default in ``schema`` (others are left out)."""
    if default is None:
        return
    try:
        schema.default = pydantic_core.to_jsonable_python(default)
    except pydantic_core.PydanticSerializationError:
        pass


def _check_default(annotation: Any, default: Any, where: str) -> None:
    if not _is_specified(annotation):
        return
    try:
        pydantic.TypeAdapter(annotation).validate_python(default, strict=True)
    except pydantic.ValidationError:
        raise ValueError(
            f"The default value {default!r} of {where} does not match its annotation "
            f"{_type_name(annotation)}. Change the default or widen the annotation "
            f"(for example Optional[...] for a None default)."
        ) from None


def _strip_annotated(annotation: Any) -> tuple[Any, str | None]:
    description: str | None = None
    while typing.get_origin(annotation) is typing.Annotated:
        args = typing.get_args(annotation)
        annotation = args[0]
        for meta in args[1:]:
            if isinstance(meta, str):
                description = meta
            elif isinstance(meta, FieldInfo) and meta.description:
                description = meta.description
    return annotation, description


def _type_name(annotation: Any) -> str:
    if isinstance(annotation, type) and not typing.get_args(annotation):
        if annotation.__module__ == "builtins":
            return annotation.__qualname__
        return f"{annotation.__module__}.{annotation.__qualname__}"
    return repr(annotation)


def _unsupported(annotation: Any, where: str, reason: str | None = None) -> ValueError:
    detail = reason or f"its annotation {_type_name(annotation)} is not supported"
    return ValueError(
        f"Cannot declare {where} to the model: {detail}. Annotate it with {_SUPPORTED}, "
        f"leave it unannotated, or write a BaseTool subclass with its own declaration."
    )


_PRIMITIVES: Mapping[Any, types.Type] = {
    str: types.Type.STRING,
    int: types.Type.INTEGER,
    float: types.Type.NUMBER,
    bool: types.Type.BOOLEAN,
}
_LIST_ORIGINS = (list, Sequence)
_DICT_ORIGINS = (dict, Mapping)


def _schema_for(annotation: Any, where: str, seen: tuple[type, ...]) -> types.Schema:
    annotation, _ = _strip_annotated(annotation)
    if isinstance(annotation, str):
        annotation = _Unresolved(annotation, NameError(annotation))
    if isinstance(annotation, _Unresolved):
        raise _unsupported(
            annotation, where, f"its annotation {annotation.text!r} cannot be resolved "
            f"({annotation.error})"
        )
    if not _is_specified(annotation):
        return types.Schema()
    if annotation is None or annotation is type(None):
        return types.Schema(type=types.Type.OBJECT, nullable=True)
    if annotation in _PRIMITIVES:
        return types.Schema(type=_PRIMITIVES[annotation])
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (Union, pytypes.UnionType):
        return _union_schema(args, where, seen)
    if origin is Literal:
        return _literal_schema(annotation, args, where)
    if annotation in _LIST_ORIGINS or origin in _LIST_ORIGINS:
        items = (
            _schema_for(args[0], where, seen) if args else types.Schema(type=types.Type.STRING)
        )
        return types.Schema(type=types.Type.ARRAY, items=items)
    if annotation in _DICT_ORIGINS or origin in _DICT_ORIGINS:
        return types.Schema(type=types.Type.OBJECT)
    if isinstance(annotation, type):
        if issubclass(annotation, enum.Enum):
            values = [member.value for member in annotation]
            if not all(isinstance(value, str) for value in values):
                raise _unsupported(annotation, where, f"the values of {annotation.__qualname__}"
                                   " are not all strings")
            return types.Schema(type=types.Type.STRING, enum=values)
        if issubclass(annotation, pydantic.BaseModel) or dataclasses.is_dataclass(annotation):
            return _class_schema(annotation, where, seen)
    raise _unsupported(annotation, where)


def _union_schema(args: tuple[Any, ...], where: str, seen: tuple[type, ...]) -> types.Schema:
    members = [arg for arg in args if arg is not type(None)]
    nullable = len(members) < len(args) or None
    if len(members) == 1:
        schema = _schema_for(members[0], where, seen)
    else:
        schema = types.Schema(any_of=[_schema_for(arg, where, seen) for arg in members])
    if nullable:
        schema.nullable = True
    return schema


def _literal_schema(annotation: Any, args: tuple[Any, ...], where: str) -> types.Schema:
    values = [arg for arg in args if arg is not None]
    if not all(isinstance(value, str) for value in values):
        raise _unsupported(annotation, where, f"{annotation!r} has non-string values; only "
                           "string literals can be declared")
    schema = types.Schema(type=types.Type.STRING, enum=values)
    if len(values) < len(args):
        schema.nullable = True
    return schema


def _class_schema(cls: type, where: str, seen: tuple[type, ...]) -> types.Schema:
    if cls in seen:
        raise _unsupported(cls, where, f"{cls.__qualname__} refers to itself")
    seen = (*seen, cls)
    properties: dict[str, types.Schema] = {}
    required: list[str] = []
    for name, annotation, default, description, is_required in _class_fields(cls):
        field_where = f"field {name!r} of {cls.__qualname__} (in {where})"
        annotation, annotated_description = _strip_annotated(annotation)
        schema = _schema_for(annotation, field_where, seen)
        schema.description = annotated_description or description or schema.description
        if default is not inspect.Parameter.empty:
            _set_default(schema, default)
        properties[name] = schema
        if is_required:
            required.append(name)
    return types.Schema(
        type=types.Type.OBJECT, properties=properties, required=required or None
    )


def _class_fields(cls: type) -> list[tuple[str, Any, Any, str | None, bool]]:
    """(name, annotation, default, description, required) for each field of ``cls``."""
    fields: list[tuple[str, Any, Any, str | None, bool]] = []
    if issubclass(cls, pydantic.BaseModel):
        for name, info in cls.model_fields.items():
            default = info.default
            if default is pydantic_core.PydanticUndefined:
                default = inspect.Parameter.empty
            annotation = info.rebuild_annotation()
            fields.append(
                (info.alias or name, annotation, default, info.description, info.is_required())
            )
        return fields
    hints = typing.get_type_hints(cls, include_extras=True)
    for field in dataclasses.fields(typing.cast("Any", cls)):
        if not field.init:
            continue
        has_default = (
            field.default is not dataclasses.MISSING
            or field.default_factory is not dataclasses.MISSING
        )
        default = field.default if field.default is not dataclasses.MISSING else (
            inspect.Parameter.empty
        )
        description = field.metadata.get("description")
        fields.append(
            (field.name, hints.get(field.name, field.type), default,
             description if isinstance(description, str) else None, not has_default)
        )
    return fields
