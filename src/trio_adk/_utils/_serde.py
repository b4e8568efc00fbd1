"""JSON (de)serialisation of our attrs value types, in the shape ADK's pydantic models use.

:func:`dump` turns an attrs instance into a dict (camelCase keys with ``by_alias``,
``None`` fields left out with ``exclude_none``); :func:`load` builds an instance from
such a dict, accepting camelCase or snake_case keys and ignoring unknown ones.  Both
work from per-class plans that are computed once and cached, because events are
(de)serialised on hot paths; :func:`load` also generates, per class, a builder for plain
snake_case dicts (stored documents) that gives what the generic plans give, faster.

Fields whose attrs metadata has ``{"serialize": False}`` are neither dumped nor loaded.
Only field names are renamed: keys of dict values (``state_delta``,
``custom_metadata``) are kept as they are.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import enum
import inspect
import linecache
import sys
import threading
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import attrs
import pydantic
from google.genai import types as genai_types

from trio_adk._utils._fast_content import content_from_json, usage_from_json

T = TypeVar("T")

Converter = Callable[[Any], Any]

_SCALARS: frozenset[type] = frozenset({str, int, float, bool, type(None)})


def _identity(value: Any) -> Any:
    return value


def to_camel(name: str) -> str:
    """``long_running_tool_ids`` -> ``longRunningToolIds`` (leading underscores kept)."""
    stripped = name.lstrip("_")
    head, *rest = stripped.split("_")
    return name[: len(name) - len(stripped)] + head + "".join(p[:1].upper() + p[1:] for p in rest)


def _serialised_fields(cls: type) -> list[attrs.Attribute[Any]]:
    return [a for a in attrs.fields(cls) if a.metadata.get("serialize", True)]


# --------------------------------------------------------------------------- dumping


@attrs.frozen
class _DumpPlan:
    """Per-class ``(attribute name, output key)`` pairs, without and with aliases."""

    plain: tuple[tuple[str, str], ...]
    aliased: tuple[tuple[str, str], ...]


_DUMP_PLANS: dict[type, _DumpPlan] = {}


def _dump_plan(cls: type) -> _DumpPlan:
    plan = _DUMP_PLANS.get(cls)
    if plan is None:
        names = [a.name for a in _serialised_fields(cls)]
        plan = _DumpPlan(
            plain=tuple((n, n) for n in names),
            aliased=tuple((n, to_camel(n)) for n in names),
        )
        _DUMP_PLANS[cls] = plan
    return plan


def dump(obj: Any, *, json_mode: bool, by_alias: bool, exclude_none: bool) -> dict[str, Any]:
    """Return the serialisable attrs fields of ``obj`` as a dict.

    Args:
        obj: An attrs instance.
        json_mode: Produce JSON-ready values (base64 bytes, sorted lists for sets,
            enum values, lists for tuples); otherwise keep Python values, as pydantic's
            ``model_dump()`` does, but still turn nested attrs objects into dicts.
        by_alias: Use camelCase field names as keys.
        exclude_none: Leave out fields whose value is ``None`` (here and in nested
            attrs objects and pydantic models; ``None`` values inside dicts are kept).
    """
    plan = _dump_plan(type(obj))
    out: dict[str, Any] = {}
    for name, key in plan.aliased if by_alias else plan.plain:
        value = getattr(obj, name)
        if value is None:
            if not exclude_none:
                out[key] = None
        elif type(value) in _SCALARS:
            out[key] = value
        else:
            out[key] = _dump_value(value, json_mode, by_alias, exclude_none)
    return out


def _dump_value(value: Any, json_mode: bool, by_alias: bool, exclude_none: bool) -> Any:
    """Dump any field value (or an item inside one), dispatching on its exact type."""
    cls = type(value)
    if cls in _SCALARS:
        return value
    handler = _HANDLERS.get(cls)
    if handler is None:
        handler = _HANDLERS[cls] = _pick_handler(cls)
    return handler(value, json_mode, by_alias, exclude_none)


DumpHandler = Callable[[Any, bool, bool, bool], Any]

# Exact type -> handler, filled on first sight: isinstance checks (some of them slow,
# like pydantic's metaclass check) run once per type rather than once per value.
_HANDLERS: dict[type, DumpHandler] = {}


def _pick_handler(cls: type) -> DumpHandler:
    kinds: list[tuple[type | tuple[type, ...], DumpHandler]] = [
        (dict, _dump_dict),
        (list, _dump_list),
        (pydantic.BaseModel, _dump_model),
        (enum.Enum, _dump_enum),
        (tuple, _dump_tuple),
        ((set, frozenset), _dump_set),
        ((bytes, bytearray), _dump_bytes),
        ((datetime.date, datetime.time), _dump_datetime),
        ((str, int, float), _dump_plain),
    ]
    if attrs.has(cls):
        return _dump_attrs
    return next((h for kind, h in kinds if issubclass(cls, kind)), _dump_unknown)


def _dump_dict(value: dict[Any, Any], json_mode: bool, by_alias: bool, exclude_none: bool) -> Any:
    # Scalars are checked inline: JSON-like payloads are mostly scalars.
    return {
        k: v if type(v) in _SCALARS else _dump_value(v, json_mode, by_alias, exclude_none)
        for k, v in value.items()
    }


def _dump_list(value: list[Any], json_mode: bool, by_alias: bool, exclude_none: bool) -> Any:
    return [
        v if type(v) in _SCALARS else _dump_value(v, json_mode, by_alias, exclude_none)
        for v in value
    ]


def _dump_model(
    value: pydantic.BaseModel, json_mode: bool, by_alias: bool, exclude_none: bool
) -> Any:
    return value.model_dump(
        mode="json" if json_mode else "python", by_alias=by_alias, exclude_none=exclude_none
    )


def _dump_attrs(value: Any, json_mode: bool, by_alias: bool, exclude_none: bool) -> Any:
    return dump(value, json_mode=json_mode, by_alias=by_alias, exclude_none=exclude_none)


def _dump_enum(value: enum.Enum, json_mode: bool, by_alias: bool, exclude_none: bool) -> Any:
    return _dump_value(value.value, json_mode, by_alias, exclude_none) if json_mode else value


def _dump_tuple(value: tuple[Any, ...], json_mode: bool, by_alias: bool, exclude_none: bool) -> Any:
    items = _dump_list(list(value), json_mode, by_alias, exclude_none)
    return items if json_mode else tuple(items)


def _dump_set(value: set[Any] | frozenset[Any], json_mode: bool, *_: bool) -> Any:
    if not json_mode:
        return value.copy()
    items = [v if type(v) in _SCALARS else _dump_value(v, True, False, False) for v in value]
    try:
        items.sort()
    except TypeError:  # mixed types: keep iteration order
        pass
    return items


def _dump_bytes(value: bytes | bytearray, json_mode: bool, *_: bool) -> Any:
    return base64.b64encode(value).decode("ascii") if json_mode else value


def _dump_datetime(value: datetime.date | datetime.time, json_mode: bool, *_: bool) -> Any:
    return value.isoformat() if json_mode else value


def _dump_plain(value: Any, *_: bool) -> Any:
    return value


def _dump_unknown(value: Any, json_mode: bool, *_: bool) -> Any:
    if json_mode:
        raise TypeError(f"cannot serialise a {type(value).__name__} to JSON")
    return value


# --------------------------------------------------------------------------- loading


@attrs.frozen
class _LoadPlan:
    """Per-class map from accepted key (name or camelCase alias) to init arg and converter
    (``None`` when the value is stored as it is), and the class's generated builder for
    plain JSON objects (``None`` when the class does not qualify)."""

    fields: Mapping[str, tuple[str, Converter | None]]
    build: Callable[[dict[str, Any]], Any] | None = None


_LOAD_PLANS: dict[type, _LoadPlan] = {}
_GENERIC_PLANS: dict[type, _LoadPlan] = {}


def load(cls: type[T], data: Any) -> T:
    """Build a ``cls`` instance from a dict with camelCase or snake_case keys.

    Unknown keys are ignored.  Values are converted according to the field annotations
    (nested attrs classes, pydantic models, enums, sets, base64 bytes, ...).

    A plain ``dict`` goes through the class's generated builder when it has one (see
    :func:`_compile_builder`); whatever that builder does not take (a camelCase key, a
    missing required field, a value a converter refuses) is loaded again generically,
    so the result, or the error, is always :func:`load_generic`'s.
    """
    plan = _LOAD_PLANS.get(cls)
    if plan is None:
        plan = _LOAD_PLANS[cls] = _build_load_plan(cls, generic=False)
    build = plan.build
    if build is not None and type(data) is dict:
        try:
            return build(data)  # type: ignore[no-any-return]
        except Exception:  # the generic load gives the real result, or error
            pass
    return _load_with(cls, plan, data)


def load_generic(cls: type[T], data: Any) -> T:
    """:func:`load` without the generated builders, nested values included: the per-field
    plans and the attrs ``__init__`` only.  The reference the builders are tested
    against."""
    plan = _GENERIC_PLANS.get(cls)
    if plan is None:
        plan = _GENERIC_PLANS[cls] = _build_load_plan(cls, generic=True)
    return _load_with(cls, plan, data)


def _load_with(cls: type[T], plan: _LoadPlan, data: Any) -> T:
    if not isinstance(data, Mapping):
        raise TypeError(f"{cls.__name__} must be loaded from a mapping, not {type(data).__name__}")
    fields = plan.fields
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        entry = fields.get(key)
        if entry is not None:
            init_name, convert = entry
            kwargs[init_name] = value if convert is None else convert(value)
    return cls(**kwargs)


def _build_load_plan(cls: type, *, generic: bool) -> _LoadPlan:
    fields: dict[str, tuple[str, Converter | None]] = {}
    for a in _serialised_fields(cls):
        if not a.init:
            continue
        convert = _converter(_field_type(cls, a), generic=generic)
        entry = (a.alias or a.name, None if convert is _identity else convert)
        fields[a.name] = entry
        fields[to_camel(a.name)] = entry
    return _LoadPlan(fields=fields, build=None if generic else _compile_builder(cls))


# --------------------------------------------------------------------------- builders


class _NotPlain(Exception):
    """The builder does not take this input; the generic load decides."""


_MISSING: Any = object()
_FACTORY: Any = type(attrs.Factory(list))
_BUILDERS: dict[type, Callable[[dict[str, Any]], Any] | None] = {}
_COMPILING: set[type] = set()
_COMPILE_LOCK = threading.RLock()


def _compile_builder(cls: type) -> Callable[[dict[str, Any]], Any] | None:
    """A function that builds a ``cls`` from a plain dict without the generic loop and
    without calling ``__init__``: it reads each field's snake_case key, converts the
    value with the field's converter, and sets every attribute as the attrs-generated
    ``__init__`` would (defaults, a fresh factory object per instance, in field order),
    then runs ``__attrs_post_init__``.  Stored documents (``model_dump(mode="json",
    exclude_none=True)``) are all snake_case.

    It raises (and :func:`load` falls back to the generic load) when the dict has a key
    that is a camelCase alias, lacks a required field, or a converter fails.  ``None``
    when ``cls`` does anything its fields do not describe: a hand-written or wrapped
    ``__init__``, ``__new__`` or ``__setattr__`` (attrs hooks, frozen classes), field
    converters, validators or ``on_setattr`` hooks, ``__attrs_pre_init__``, factories
    that take ``self``, or a field that is not loaded and has no default.
    """
    with _COMPILE_LOCK:  # plans are built in worker threads too
        if cls in _BUILDERS:
            return _BUILDERS[cls]
        if cls in _COMPILING:
            return None  # a class that contains itself: the outer one has a builder
        _COMPILING.add(cls)
        try:
            build = _compile(cls)
        finally:
            _COMPILING.discard(cls)
        _BUILDERS[cls] = build
        return build


def _attrs_init_names(cls: type) -> tuple[str, ...] | None:
    """The names the ``__init__`` attrs generated for ``cls`` itself uses (``None`` when
    ``__init__`` is hand-written, wrapped or inherited)."""
    code = getattr(vars(cls).get("__init__"), "__code__", None)
    if code is None or not code.co_filename.startswith("<attrs generated"):
        return None
    names: tuple[str, ...] = code.co_names
    return names


def _compile(cls: type) -> Callable[[dict[str, Any]], Any] | None:
    setattr_: object = cls.__setattr__
    new: object = cls.__new__
    init_names = _attrs_init_names(cls)
    if (init_names is None or setattr_ is not object.__setattr__
            or new is not object.__new__ or "__attrs_pre_init__" in init_names):
        return None
    namespace: dict[str, Any] = {"_new": object.__new__, "_cls": cls, "_M": _MISSING,
                                 "_NotPlain": _NotPlain}
    aliases: set[str] = set()
    lines = ["def build(data):", "    if not _aliases.isdisjoint(data):",
             "        raise _NotPlain", "    get = data.get", "    self = _new(_cls)"]
    for i, a in enumerate(attrs.fields(cls)):
        if (a.converter is not None or a.validator is not None or a.on_setattr is not None
                or not a.init):
            return None
        default = a.default
        if isinstance(default, _FACTORY):
            if default.takes_self:
                return None
            namespace[f"_f{i}"] = default.factory
            absent = f"_f{i}()"
        elif default is attrs.NOTHING:
            absent = "_missing()"
        else:
            namespace[f"_d{i}"] = default
            absent = f"_d{i}"
        if not a.metadata.get("serialize", True):
            if default is attrs.NOTHING:
                return None
            lines.append(f"    self.{a.name} = {absent}")
            continue
        camel = to_camel(a.name)
        if camel != a.name:
            aliases.add(camel)
        convert = _inline(_field_type(cls, a), namespace, f"_c{i}")
        if default is None and (convert == "v" or convert.startswith("(None if v is None ")):
            # Absent, null and converted null are all None: no need to tell them apart.
            lines += [f"    v = get({a.name!r})", f"    self.{a.name} = {convert}"]
        else:
            lines += [f"    v = get({a.name!r}, _M)",
                      f"    self.{a.name} = {absent} if v is _M else {convert}"]
    namespace["_aliases"] = frozenset(aliases)
    namespace["_missing"] = _raise_not_plain
    if "__attrs_post_init__" in init_names:  # as __init__ does: only if it did then
        lines.append("    self.__attrs_post_init__()")
    lines.append("    return self")
    source = "\n".join(lines) + "\n"
    filename = f"<trio_adk builder {cls.__module__}.{cls.__qualname__}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    exec(compile(source, filename, "exec"), namespace)
    build: Callable[[dict[str, Any]], Any] = namespace["build"]
    return build


def _raise_not_plain() -> Any:
    raise _NotPlain


def _inline(tp: Any, namespace: dict[str, Any], name: str) -> str:
    """An expression that converts ``v`` to ``tp`` as ``_converter(tp)`` does, calling
    nested classes' builders directly for plain dicts."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Union or origin is types.UnionType:
        options = [a for a in args if a is not type(None)]
        if len(options) == 1 and len(options) < len(args):
            inner = _inline(options[0], namespace, name)
            return "v" if inner == "v" else f"(None if v is None else {inner})"
    convert = _converter(tp, generic=False)
    if convert is _identity:
        return "v"
    if tp is float:
        return "(float(v) if type(v) is int else v)"
    namespace[name] = convert
    if isinstance(tp, type) and attrs.has(tp):
        build = _compile_builder(tp)
        if build is not None:
            namespace[f"{name}b"] = build
            return f"({name}b(v) if type(v) is dict else {name}(v))"
    return f"{name}(v)"


def _field_type(cls: type, field: attrs.Attribute[Any]) -> Any:
    """Resolve a field's annotation; names that cannot be resolved count as ``Any``.

    Resolved field by field (not with ``attrs.resolve_types``) so that a type imported
    only under ``TYPE_CHECKING`` for one field does not break the whole class.
    """
    annotation: Any = field.type
    if not isinstance(annotation, str):
        return Any if annotation is None else annotation
    owner = next((k for k in cls.__mro__ if field.name in inspect.get_annotations(k)), cls)
    namespace = vars(sys.modules[owner.__module__])
    try:
        return eval(annotation, namespace, dict(vars(owner)))
    except NameError:
        return Any


def _converter(tp: Any, *, generic: bool = False) -> Converter:
    """Return a function that turns a JSON-ish value into a value of type ``tp``
    (nested attrs classes through :func:`load_generic` when ``generic``)."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Union or origin is types.UnionType:
        return _union_converter(args, generic)
    if origin is typing.Annotated:
        return _converter(args[0], generic=generic)
    if origin in (dict, Mapping):
        return _dict_converter(args, generic)
    if origin is list:
        return _collection_converter(list, args[0] if args else Any, generic)
    if origin in (set, frozenset):
        return _collection_converter(origin, args[0] if args else Any, generic)
    if origin is tuple:
        item = args[0] if len(args) == 2 and args[1] is Ellipsis else Any
        return _collection_converter(tuple, item, generic)
    if not isinstance(tp, type):
        return _identity  # Any, Literal, TypeVar, ...
    if tp is genai_types.Content:
        return content_from_json  # the same objects, without genai's per-model hook
    if tp is genai_types.GenerateContentResponseUsageMetadata and not generic:
        return usage_from_json  # likewise
    if issubclass(tp, pydantic.BaseModel):
        model = tp
        return lambda v: v if isinstance(v, model) else model.model_validate(v)
    if attrs.has(tp):
        klass = tp
        loader = load_generic if generic else load
        return lambda v: v if isinstance(v, klass) else loader(klass, v)
    if issubclass(tp, enum.Enum):
        enum_cls = tp
        return lambda v: v if isinstance(v, enum_cls) else enum_cls(v)
    if tp is bytes:
        return _load_bytes
    if tp is float:
        return lambda v: float(v) if type(v) is int else v
    if tp in (set, frozenset, list, tuple):
        return tp
    return _identity


def _union_converter(args: tuple[Any, ...], generic: bool) -> Converter:
    options = [a for a in args if a is not type(None)]
    converters = [_converter(a, generic=generic) for a in options]
    nullable = len(options) < len(args)
    if len(converters) == 1:
        only = converters[0]
        if not nullable or only is _identity:
            return only  # identity keeps None as it is
        return lambda v: None if v is None else only(v)

    def convert(value: Any) -> Any:
        if value is None and nullable:
            return None
        if any(isinstance(o, type) and isinstance(value, o) for o in options):
            return value
        error: Exception | None = None
        for conv in converters:
            try:
                return conv(value)
            except (TypeError, ValueError) as exc:
                error = exc
        raise ValueError(f"{value!r} matches none of {options}") from error

    return convert


def _dict_converter(args: tuple[Any, ...], generic: bool) -> Converter:
    key_conv = (_identity if not args or args[0] in (str, Any)
                else _converter(args[0], generic=generic))
    value_conv = (_identity if len(args) < 2 or args[1] is Any
                  else _converter(args[1], generic=generic))
    if key_conv is _identity and value_conv is _identity:
        return dict
    return lambda v: {key_conv(k): value_conv(x) for k, x in v.items()}


def _collection_converter(kind: type, item: Any, generic: bool) -> Converter:
    item_conv = _converter(item, generic=generic)
    if item_conv is _identity:
        return kind
    return lambda v: kind(item_conv(x) for x in v)


def _load_bytes(value: Any) -> Any:
    """Decode base64 text in either alphabet, padded or not; bytes pass through."""
    if not isinstance(value, str):
        return value
    text = value.strip().replace("-", "+").replace("_", "/")
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except binascii.Error as exc:
        raise ValueError(f"invalid base64 data: {exc}") from None
