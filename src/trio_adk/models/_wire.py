"""The Gemini REST wire format: request bodies, response parsing and error mapping.

Everything here is pure (no I/O, no event loop): the ``Gemini`` model class calls
these functions around its HTTP requests.

* :func:`generate_content_body` turns an :class:`~trio_adk.models.LlmRequest` into the
  JSON body of ``models/{m}:generateContent`` / ``:streamGenerateContent``, in the
  canonical lowerCamelCase spelling of the Gemini API.
* :func:`model_path` turns a model name into the ``models/...`` path segment.
* :func:`prune` and :func:`parse_response` read server JSON into google-genai types
  without breaking when the service adds a field we do not know yet.
* :func:`parse_error`, :func:`stream_error` and :func:`retry_delay` map error bodies
  to the public ``google.genai.errors`` classes, so code written against ADK (for
  example ``except ClientError as e: if e.code == 429``) keeps working.
* :func:`display_url` and :func:`redirect_error` keep credentials out of error messages.
"""

from __future__ import annotations

import copy
import enum
import functools
import http
import json
import re
import sys
import types as pytypes
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

import attrs
import pydantic
import pydantic_core
from google.genai import errors, types

from trio_adk._utils._fast_content import fast_response
from trio_adk.errors import ModelConnectionError

if TYPE_CHECKING:
    import httpx
    from pydantic.fields import FieldInfo

    from trio_adk.models._llm_request import LlmRequest


# --------------------------------------------------------------------------- request

# How each GenerateContentConfig field reaches the wire.  A field in none of these
# sets (for example one added by a future google-genai) goes under generationConfig,
# which is where the API puts new sampling/output options.
_CLIENT_ONLY = frozenset(
    {
        "http_options",
        "should_return_http_response",
        "automatic_function_calling",
        "automatic_continuation",
    }
)
"""Fields that configure the SDK client itself; never sent."""

_DROPPED = frozenset({"labels"})
"""Vertex-only fields that ADK clears for the Gemini API; silently not sent."""

_VERTEX_ONLY = frozenset(
    {
        "routing_config",
        "model_selection_config",
        "audio_timestamp",
        "model_armor_config",
        "generation_output_config",
    }
)
"""Vertex-only fields the Gemini API would reject; setting one raises ValueError."""

_TOP_LEVEL = frozenset(
    {"safety_settings", "tool_config", "service_tier", "continuation_token", "store"}
)
"""Fields dumped as they are, but beside ``generationConfig`` rather than inside it."""

_CONVERTED = frozenset(
    {
        "system_instruction",
        "tools",
        "cached_content",
        "response_schema",
        "response_json_schema",
        "speech_config",
    }
)
"""Fields that accept shorthands (strings, classes, callables) and need converting."""


@attrs.frozen
class _ConfigPlan:
    """The split of ``GenerateContentConfig``'s fields, computed once."""

    dumped: frozenset[str]
    """Fields passed to ``model_dump`` (top-level and generationConfig ones)."""
    top_level_keys: tuple[str, ...]
    """Wire keys (aliases) of the dumped fields that go at the top level."""


@functools.cache
def _config_plan(config_cls: type[types.GenerateContentConfig]) -> _ConfigPlan:
    fields = config_cls.model_fields
    special = _CLIENT_ONLY | _DROPPED | _VERTEX_ONLY | _CONVERTED
    return _ConfigPlan(
        dumped=frozenset(name for name in fields if name not in special),
        top_level_keys=tuple(
            _wire_key(name, fields[name]) for name in fields if name in _TOP_LEVEL
        ),
    )


def _wire_key(name: str, field: FieldInfo) -> str:
    return field.serialization_alias or field.alias or name


def _dump(obj: pydantic.BaseModel) -> dict[str, Any]:
    return obj.model_dump(mode="json", by_alias=True, exclude_none=True)


def generate_content_body(request: LlmRequest) -> dict[str, Any]:
    """The JSON body of a ``generateContent`` call for ``request``.

    Keys are lowerCamelCase throughout (the SDK sends a mix of camel and snake case;
    Google accepts both); bytes are URL-safe base64, as pydantic dumps them.  The
    layout follows the SDK's Gemini API ("mldev") converter: ``systemInstruction``,
    ``tools``, ``toolConfig``, ``safetySettings``, ``cachedContent``, ``serviceTier``,
    ``store`` and ``continuationToken`` at the top level, every other
    ``GenerateContentConfig`` field under ``generationConfig``, which is always
    present (possibly ``{}``).  Client-side fields (``http_options``,
    ``automatic_function_calling``, ...) and ``labels`` are not sent, and
    ``displayName`` is removed from the ``inlineData``/``fileData`` of content parts,
    as ADK does for the Gemini API.

    Shorthands are expanded as the SDK does: a string or part system instruction
    becomes a user-role Content, callables in ``tools`` become function declarations
    (with ``parametersJsonSchema``), all function declarations are merged into one
    trailing Tool, a pydantic class, enum, type or dict ``response_schema`` becomes a
    Gemini ``Schema`` (``$defs`` inlined, ``propertyOrdering`` added), a string
    ``speech_config`` names a prebuilt voice, and a bare ``cached_content`` id gets its
    ``cachedContents/`` prefix.

    Raises:
        ValueError: A Vertex-only option is set, or ``response_schema`` cannot be
            expressed as a Gemini Schema.
        TypeError: ``tools`` or ``system_instruction`` holds an unsupported object.
    """
    config = request.config
    body: dict[str, Any] = {"contents": [_content(c) for c in request.contents]}

    for name in sorted(_VERTEX_ONLY):
        if getattr(config, name, None) is not None:
            raise ValueError(
                f"GenerateContentConfig.{name} is only supported on Vertex AI, "
                "not on the Gemini API"
            )

    if config.system_instruction is not None:
        body["systemInstruction"] = _system_instruction(config.system_instruction)
    if config.tools:
        body["tools"] = _tools(config.tools)
    plan = _config_plan(type(config))
    generation = config.model_dump(
        mode="json", by_alias=True, exclude_none=True, include=set(plan.dumped)
    )
    for key in plan.top_level_keys:
        if key in generation:
            body[key] = generation.pop(key)
    if config.cached_content:
        body["cachedContent"] = _cached_content_name(config.cached_content)

    schema = _response_schema(config.response_schema)
    if schema is not None:
        generation["responseSchema"] = schema
    if config.response_json_schema is not None:
        generation["responseJsonSchema"] = _json_schema(config.response_json_schema)
    if config.speech_config:
        generation["speechConfig"] = _speech_config(config.speech_config)
    body["generationConfig"] = generation
    return body


def _content(content: types.Content | Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(content, types.Content):
        content = types.Content.model_validate(content)
    dumped = _dump(content)
    for part in dumped.get("parts") or ():
        for key in ("inlineData", "fileData"):
            data = part.get(key)
            if isinstance(data, dict):
                data.pop("displayName", None)
    return dumped


def _part(value: Any) -> types.Part:
    if isinstance(value, types.Part):
        return value
    if isinstance(value, str):
        return types.Part(text=value)
    if isinstance(value, types.File):
        if not value.uri or not value.mime_type:
            raise ValueError("a File used as a part needs both uri and mime_type")
        return types.Part(file_data=types.FileData(file_uri=value.uri, mime_type=value.mime_type))
    if isinstance(value, Mapping):
        return types.Part.model_validate(value)
    raise TypeError(f"cannot use {type(value).__name__} as a content part")


def _system_instruction(value: Any) -> dict[str, Any]:
    """A system instruction as a Content; shorthands become one user-role Content."""
    if type(value) is str:  # what agents send: the dump of Content(role="user", [Part(text)])
        return {"parts": [{"text": value}], "role": "user"}
    if isinstance(value, types.Content):
        return _content(value)
    if isinstance(value, Mapping):
        try:
            return _content(types.Content.model_validate(value))
        except pydantic.ValidationError:
            pass
    items = value if isinstance(value, list) else [value]
    return _content(types.Content(role="user", parts=[_part(item) for item in items]))


def _tools(tools: Sequence[Any]) -> list[dict[str, Any]]:
    """Tools on the wire: every function declaration merged into one last Tool."""
    declarations: list[types.FunctionDeclaration] = []
    out: list[types.Tool] = []
    for item in tools:
        tool = _tool(item)
        if tool is None:
            continue
        if tool.function_declarations:
            declarations.extend(tool.function_declarations)
            rest = tool.model_copy(update={"function_declarations": None})
            if rest.model_dump(exclude_none=True):
                out.append(rest)
        else:
            out.append(tool)
    if declarations:
        out.append(types.Tool(function_declarations=declarations))
    return [_dump(tool) for tool in out]


def _tool(item: Any) -> types.Tool | None:
    if item is None:
        return None
    if isinstance(item, types.Tool):
        return item
    if isinstance(item, Mapping):
        return types.Tool.model_validate(item)
    if isinstance(item, (pytypes.FunctionType, pytypes.MethodType)):
        declaration = types.FunctionDeclaration.from_callable_with_api_option(
            callable=item, api_option="GEMINI_API", use_json_schema=True
        )
        return types.Tool(function_declarations=[declaration])
    raise TypeError(
        f"cannot send {type(item).__name__} as a Gemini tool; "
        "use google.genai.types.Tool, a dict, or a function"
    )


def _cached_content_name(name: str) -> str:
    """``abc`` -> ``cachedContents/abc``; longer resource names pass through."""
    if name.startswith("cachedContents/") or "/" in name:
        return name
    return f"cachedContents/{name}"


def _speech_config(value: Any) -> dict[str, Any]:
    if isinstance(value, str):
        value = types.SpeechConfig(
            voice_config=types.VoiceConfig(
                prebuilt_voice_config=types.PrebuiltVoiceConfig(voice_name=value)
            )
        )
    elif not isinstance(value, types.SpeechConfig):
        value = types.SpeechConfig.model_validate(value)
    return _dump(value)


def _json_schema(value: Any) -> Any:
    """``response_json_schema`` is plain JSON Schema; a pydantic class is expanded."""
    if isinstance(value, type) and issubclass(value, pydantic.BaseModel):
        return value.model_json_schema()
    return pydantic_core.to_jsonable_python(value)


# ------------------------------------------------------------------ response schema

_SNAKE_SCHEMA_KEYS = (
    ("any_of", "anyOf"),
    ("additional_properties", "additionalProperties"),
    ("prefix_items", "prefixItems"),
    ("property_ordering", "propertyOrdering"),
)


def _response_schema(value: Any) -> dict[str, Any] | None:
    """``response_schema`` (Schema, dict, pydantic class, enum or type) as wire JSON."""
    if not value:
        return None
    if isinstance(value, type) or typing.get_origin(value) is not None:
        try:
            cached = _schema_for_type(value)
        except TypeError:  # unhashable annotation: convert without the cache
            cached = _schema_for_type.__wrapped__(value)
        return copy.deepcopy(cached)
    if isinstance(value, types.Schema):
        raw: dict[str, Any] = _dump(value)
    elif isinstance(value, Mapping):
        raw = copy.deepcopy(dict(value))
    else:
        raw = pydantic.TypeAdapter(value).json_schema()
    return _finish_schema(raw)


@functools.lru_cache(maxsize=256)
def _schema_for_type(value: Any) -> dict[str, Any]:
    if isinstance(value, type) and issubclass(value, enum.Enum):
        raw = _enum_schema(value)
    elif isinstance(value, type) and issubclass(value, pydantic.BaseModel):
        raw = value.model_json_schema()
    else:
        raw = pydantic.TypeAdapter(value).json_schema()
    return _finish_schema(raw)


def _enum_schema(cls: type[enum.Enum]) -> dict[str, Any]:
    values: list[str] = []
    for member in cls:
        if isinstance(member.value, (str, int)) and not isinstance(member.value, bool):
            values.append(str(member.value))
        else:
            raise TypeError(
                f"enum {cls.__name__}.{member.name} must have a str or int value "
                "to be used as a response schema"
            )
    return {"type": "STRING", "enum": values, "title": cls.__name__}


def _finish_schema(raw: dict[str, Any]) -> dict[str, Any]:
    defs = raw.pop("$defs", None) or {}
    converted = _SchemaConverter(defs).convert(raw)
    return _dump(types.Schema.model_validate(converted))


class _SchemaConverter:
    """Rewrites JSON Schema (as pydantic emits it) into the Gemini ``Schema`` subset.

    ``$ref``s are inlined from ``$defs`` (a reference back into a definition being
    expanded becomes ``{}``), ``null`` alternatives become ``nullable``, a string
    ``const`` becomes a one-value ``enum``, and objects with several properties get
    a ``propertyOrdering`` listing them in declaration order.
    """

    def __init__(self, defs: Mapping[str, Any]) -> None:
        self._defs = defs
        self._expanding: set[str] = set()

    def convert(self, node: Mapping[str, Any]) -> dict[str, Any]:
        schema = dict(node)
        for snake, camel in _SNAKE_SCHEMA_KEYS:
            if snake in schema:
                value = schema.pop(snake)
                if value is not None:
                    schema[camel] = value
        self._fold_null(schema)
        if schema.get("additionalProperties"):
            raise ValueError(
                "additionalProperties is not supported in a Gemini API responseSchema; "
                "use response_json_schema for free-form objects"
            )
        ref = schema.pop("$ref", None)
        if isinstance(ref, str):
            schema.update(self._resolve(ref))
            return schema
        any_of = schema.get("anyOf")
        if isinstance(any_of, list):
            schema["anyOf"] = [self.convert(s) if isinstance(s, Mapping) else s for s in any_of]
            return schema
        kind = schema.get("type")
        if isinstance(kind, str):
            kind = schema["type"] = kind.upper()
        if schema.get("const") is not None:
            if kind != "STRING":
                raise ValueError("only string Literal/const values can be used in a schema")
            schema["enum"] = [schema.pop("const")]
        if kind == "OBJECT":
            properties = schema.get("properties")
            if isinstance(properties, Mapping):
                schema["properties"] = {
                    name: self.convert(sub) for name, sub in properties.items()
                }
                if len(properties) > 1 and "propertyOrdering" not in schema:
                    schema["propertyOrdering"] = list(properties)
        elif kind == "ARRAY":
            if isinstance(schema.get("items"), Mapping):
                schema["items"] = self.convert(schema["items"])
            if isinstance(schema.get("prefixItems"), list):
                schema["prefixItems"] = [self.convert(s) for s in schema["prefixItems"]]
        return schema

    @staticmethod
    def _fold_null(schema: dict[str, Any]) -> None:
        if schema.get("type") == "null":
            del schema["type"]
            schema["nullable"] = True
            return
        any_of = schema.get("anyOf")
        if not isinstance(any_of, list):
            return
        rest = [s for s in any_of if not (isinstance(s, Mapping) and s.get("type") == "null")]
        if len(rest) == len(any_of):
            return
        schema["nullable"] = True
        if len(rest) == 1 and isinstance(rest[0], Mapping):
            del schema["anyOf"]
            schema.update(rest[0])
        else:
            schema["anyOf"] = rest

    def _resolve(self, ref: str) -> dict[str, Any]:
        name = ref.rsplit("/", 1)[-1]
        if name in self._expanding:
            return {}
        target = self._defs.get(name)
        if not isinstance(target, Mapping):
            raise ValueError(f"schema reference {ref!r} has no definition")
        self._expanding.add(name)
        try:
            return self.convert(copy.deepcopy(dict(target)))
        finally:
            self._expanding.discard(name)


# ----------------------------------------------------------------------- model path

_FORBIDDEN_IN_MODEL = ("..", "?", "&", "#")


def model_path(model: str) -> str:
    """The URL path segment of ``model``: ``gemini-x`` -> ``models/gemini-x``.

    Names already starting with ``models/`` or ``tunedModels/`` pass through.

    Raises:
        ValueError: ``model`` is empty or contains ``..``, ``?``, ``&`` or ``#``
            (which would change the meaning of the request URL).
    """
    if not model:
        raise ValueError("a model name is required (for example 'gemini-2.5-flash')")
    for bad in _FORBIDDEN_IN_MODEL:
        if bad in model:
            raise ValueError(f"invalid model name {model!r}: it must not contain {bad!r}")
    if model.startswith(("models/", "tunedModels/")):
        return model
    return f"models/{model}"


# -------------------------------------------------------------------------- pruning

_Action = Callable[[Any], Any]


@attrs.frozen
class _Rule:
    """How to prune one annotated value: what to do with JSON objects and arrays.

    ``None`` means "leave it as it is".
    """

    on_object: _Action | None = None
    on_array: _Action | None = None
    takes_object: bool = False
    takes_array: bool = False


_KEEP = _Rule()
_KEEP_ANYTHING = _Rule(takes_object=True, takes_array=True)

_PLANS: dict[type[pydantic.BaseModel], dict[str, _Rule]] = {}


def prune(model_cls: type[pydantic.BaseModel], data: Any) -> Any:
    """Drop the keys of ``data`` that ``model_cls`` does not know, recursively.

    google-genai models forbid extra fields, so a field the service adds tomorrow
    would make ``model_validate`` fail; pruning first keeps us working.  Keys are
    matched by alias and (where the model accepts it) by field name; nested models,
    lists and dicts of models, and ``Optional``/``Union`` fields are pruned too, while
    free-form fields (``dict[str, Any]``, ``Any``, such as a function call's ``args``)
    are left untouched.  A union with several model alternatives for the same JSON
    shape is ambiguous and also left untouched.  ``data`` itself is never modified;
    values that are not JSON objects are returned as they are.  The per-class plans
    are cached.
    """
    if isinstance(data, Mapping):
        return _prune_object(model_cls, data)
    return data


def _prune_object(model_cls: type[pydantic.BaseModel], data: Mapping[str, Any]) -> dict[str, Any]:
    plan = _PLANS.get(model_cls)
    if plan is None:
        plan = _PLANS[model_cls] = _plan(model_cls)
    out: dict[str, Any] = {}
    for key, value in data.items():
        rule = plan.get(key)
        if rule is None:
            continue
        out[key] = _apply(rule, value)
    return out


def _apply(rule: _Rule, value: Any) -> Any:
    if rule.on_object is not None and isinstance(value, Mapping):
        return rule.on_object(value)
    if rule.on_array is not None and isinstance(value, list):
        return rule.on_array(value)
    return value


def _plan(model_cls: type[pydantic.BaseModel]) -> dict[str, _Rule]:
    config = model_cls.model_config
    by_name = bool(config.get("populate_by_name") or config.get("validate_by_name"))
    namespace = vars(sys.modules[model_cls.__module__])
    plan: dict[str, _Rule] = {}
    for name, field in model_cls.model_fields.items():
        rule = _rule(field.annotation, namespace)
        keys = {field.alias, field.serialization_alias}
        alias = field.validation_alias
        if isinstance(alias, str):
            keys.add(alias)
        elif isinstance(alias, pydantic.AliasChoices):
            keys.update(c for c in alias.choices if isinstance(c, str))
        if by_name or field.alias is None:
            keys.add(name)
        for key in keys:
            if key is not None:
                plan[key] = rule
    return plan


def _rule(annotation: Any, namespace: Mapping[str, Any]) -> _Rule:
    if isinstance(annotation, typing.ForwardRef):
        annotation = namespace.get(annotation.__forward_arg__, Any)
    elif isinstance(annotation, str):
        annotation = namespace.get(annotation, Any)
    if annotation is Any or annotation is object or isinstance(annotation, typing.TypeVar):
        return _KEEP_ANYTHING
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _rule(args[0], namespace)
    if origin is typing.Union or origin is pytypes.UnionType:
        return _union_rule([_rule(arg, namespace) for arg in args])
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        model = annotation
        return _Rule(on_object=lambda d: _prune_object(model, d), takes_object=True)
    container = origin if isinstance(origin, type) else annotation
    if not isinstance(container, type):
        # Literal holds scalars; other special forms might hold anything.
        return _KEEP if origin is typing.Literal else _KEEP_ANYTHING
    if issubclass(container, Mapping):
        value_rule = _rule(args[1], namespace) if len(args) == 2 else _KEEP_ANYTHING
        if value_rule.on_object is None and value_rule.on_array is None:
            return _Rule(takes_object=True)
        return _Rule(
            on_object=lambda d: {k: _apply(value_rule, v) for k, v in d.items()},
            takes_object=True,
        )
    if issubclass(container, (list, tuple, set, frozenset)) or (
        issubclass(container, Sequence) and not issubclass(container, (str, bytes))
    ):
        item_rule = _rule(args[0], namespace) if args else _KEEP_ANYTHING
        if item_rule.on_object is None and item_rule.on_array is None:
            return _Rule(takes_array=True)
        return _Rule(on_array=lambda items: [_apply(item_rule, v) for v in items], takes_array=True)
    return _KEEP


def _union_rule(rules: list[_Rule]) -> _Rule:
    objects = [r for r in rules if r.takes_object]
    arrays = [r for r in rules if r.takes_array]
    return _Rule(
        on_object=objects[0].on_object if len(objects) == 1 else None,
        on_array=arrays[0].on_array if len(arrays) == 1 else None,
        takes_object=bool(objects),
        takes_array=bool(arrays),
    )


# ------------------------------------------------------------------------- parsing


def _load_json(data: bytes | bytearray | str) -> Any:
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as exc:  # RecursionError: absurdly deep nesting
        raise errors.UnknownApiResponseError(
            f"the Gemini API sent a body that is not valid JSON: {exc}"
        ) from exc


def parse_response(data: Any) -> types.GenerateContentResponse:
    """Build a ``GenerateContentResponse`` from server JSON.

    ``data`` is the decoded JSON (or its text/bytes); a one-element list around the
    object is accepted.  Unknown fields are pruned (see :func:`prune`) and the Gemini
    API spelling ``citationMetadata.citationSources`` is read as the SDK's
    ``citations``.

    Raises:
        google.genai.errors.APIError: ``data`` is an error object
            (``{"error": {...}}``, as sent mid-stream); see :func:`stream_error`.
        google.genai.errors.UnknownApiResponseError: ``data`` is not JSON, not an
            object, or does not validate.
    """
    if isinstance(data, (bytes, bytearray, str)):
        data = _load_json(data)
    error = stream_error(data)
    if error is not None:
        raise error
    if isinstance(data, list) and len(data) == 1:
        data = data[0]
    if not isinstance(data, Mapping):
        raise errors.UnknownApiResponseError(
            f"expected a GenerateContentResponse JSON object, got {type(data).__name__}"
        )
    if type(data) is dict:
        fast = fast_response(data)
        if fast is not None:
            return fast
    pruned = _prune_object(types.GenerateContentResponse, _rename_citation_sources(data))
    try:
        return types.GenerateContentResponse.model_validate(pruned)
    # google-genai's enum validators raise AttributeError/TypeError for some wrong types
    # (a number where an enum name belongs) instead of a ValidationError.
    except (pydantic.ValidationError, ValueError, TypeError, AttributeError) as exc:
        raise errors.UnknownApiResponseError(
            f"the Gemini API sent a response that does not validate: {exc}"
        ) from exc


def _rename_citation_sources(data: Mapping[str, Any]) -> Mapping[str, Any]:
    """Copy-on-write rename of ``citationSources`` to ``citations`` in each candidate."""
    candidates = data.get("candidates")
    if not isinstance(candidates, list):
        return data
    renamed: list[Any] = []
    changed = False
    for candidate in candidates:
        meta = candidate.get("citationMetadata") if isinstance(candidate, Mapping) else None
        if isinstance(meta, Mapping) and "citationSources" in meta and "citations" not in meta:
            meta = {k: v for k, v in meta.items() if k != "citationSources"}
            meta["citations"] = candidate["citationMetadata"]["citationSources"]
            candidate = {**candidate, "citationMetadata": meta}
            changed = True
        renamed.append(candidate)
    return {**data, "candidates": renamed} if changed else data


# -------------------------------------------------------------------------- errors


def _error_class(status: int) -> type[errors.APIError]:
    if 400 <= status < 500:
        return errors.ClientError
    if 500 <= status < 600:
        return errors.ServerError
    return errors.APIError


def _reason_phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""


def parse_error(
    status: int,
    body: bytes | str,
    *,
    reason: str | None = None,
    response: httpx.Response | None = None,
) -> errors.APIError:
    """The google-genai error for an HTTP error response (returned, not raised).

    4xx statuses give ``ClientError``, 5xx ``ServerError``, anything else
    ``APIError``.  ``body`` is the Google error JSON ``{"error": {"code", "message",
    "status", "details"}}``, possibly wrapped in a one-element list; a body that is
    not a JSON object becomes ``{"message": <text>, "status": <reason>}`` as in the
    SDK, ``reason`` defaulting to the standard phrase for ``status``.  The error's
    ``code`` is ``status``; ``status``, ``message`` and ``details`` (the whole JSON)
    come from the body.  ``response`` is stored on the error as the SDK does.
    """
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        payload: Any = json.loads(text)
    except ValueError:
        payload = None
    if isinstance(payload, list) and len(payload) == 1:
        payload = payload[0]
    if not isinstance(payload, dict):
        phrase = reason if reason is not None else _reason_phrase(status)
        payload = {"message": text, "status": phrase}
    return _error_class(status)(status, payload, response)


def stream_error(data: Any) -> errors.APIError | None:
    """The error carried by a decoded stream event, or ``None`` if it is not one.

    The service reports a failure after the stream has started as an event
    ``{"error": {"code": 429, ...}}``.  The error class follows ``error.code``; an
    error object without a usable code is reported as a 500 ``ServerError``.
    """
    if isinstance(data, list) and len(data) == 1:
        data = data[0]
    if not isinstance(data, Mapping) or "error" not in data:
        return None
    inner = data["error"]
    code = inner.get("code") if isinstance(inner, Mapping) else None
    if not isinstance(code, int) or isinstance(code, bool) or code <= 0:
        code = 500
    return _error_class(code)(code, dict(data))


_DURATION = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+)s\s*")
_RETRY_INFO = "google.rpc.RetryInfo"


def retry_delay(error: BaseException) -> float | None:
    """The delay in seconds the server asked for before a retry, if any.

    Reads the ``retryDelay`` of a ``type.googleapis.com/google.rpc.RetryInfo`` entry in
    the error's ``details`` (a proto Duration: ``"30s"``, ``"1.5s"``, or
    ``{"seconds": 30, "nanos": 0}``).  Returns ``None`` for other exceptions, errors
    without RetryInfo, and malformed or negative delays.
    """
    if not isinstance(error, errors.APIError):
        return None
    details: Any = getattr(error, "details", None)
    if isinstance(details, list) and len(details) == 1:
        details = details[0]
    if not isinstance(details, Mapping):
        return None
    inner = details.get("error", details)
    entries = inner.get("details") if isinstance(inner, Mapping) else None
    if not isinstance(entries, list):
        return None
    for entry in entries:
        if not isinstance(entry, Mapping):
            continue
        kind = entry.get("@type")
        if isinstance(kind, str) and kind.endswith(_RETRY_INFO):
            delay = _duration_seconds(entry.get("retryDelay"))
            if delay is not None:
                return delay
    return None


def _duration_seconds(value: Any) -> float | None:
    if isinstance(value, str):
        match = _DURATION.fullmatch(value)
        return float(match.group(1)) if match else None
    if isinstance(value, Mapping):
        try:
            seconds = float(value.get("seconds", 0)) + float(value.get("nanos", 0)) / 1e9
        except (TypeError, ValueError):
            return None
        return seconds if seconds >= 0 else None
    return None


# ------------------------------------------------------------- URLs in error messages


def display_url(url: object, *, origin_only: bool = False) -> str:
    """``url`` as it may appear in an error message or a log line.

    The ``user:password@`` part, the query and the fragment are left out (a credential
    could be in any of them); ``origin_only=True`` leaves out the path as well, giving
    ``scheme://host[:port]``.  Never raises: an unparseable URL gives ``"<unparseable
    URL>"``.
    """
    try:
        parts = urlsplit(str(url))
        port = parts.port
    except ValueError:
        return "<unparseable URL>"
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port is None else f"{host}:{port}"
    path = "" if origin_only else parts.path
    return f"{parts.scheme}://{netloc}{path}" if parts.scheme else f"{netloc}{path}"


def redirect_error(status: int, location: str | None, url: object) -> ModelConnectionError:
    """The error for a redirect (any 3xx) that the request to ``url`` got (returned).

    The Gemini API never redirects, so a redirect means a misconfigured base URL or
    proxy; trio-adk follows none, so the API key never reaches another server.  The
    message names the status and the origin the ``Location`` header points to (never
    its path or query, nor any credential).
    """
    if location is None:
        where = "without a Location header"
    else:
        try:
            resolved = urljoin(str(url), location.strip())
            usable = bool(urlsplit(resolved).hostname)
        except ValueError:
            usable = False
        shown = display_url(resolved, origin_only=True) if usable else ""
        if not usable or shown == "<unparseable URL>":
            where = "to an unusable Location"
        elif shown == display_url(url, origin_only=True):
            where = f"back to the same server ({shown})"
        else:
            where = f"to another server, {shown}"
    phrase = _reason_phrase(status)
    return ModelConnectionError(
        f"{display_url(url)} answered {status}{' ' + phrase if phrase else ''}: a redirect "
        f"{where}. trio-adk follows no redirects (the API key must not reach another "
        "server) and the Gemini API never redirects, so the base URL (base_url or "
        "GOOGLE_GEMINI_BASE_URL) or a proxy in between is misconfigured: set base_url to "
        "the address that serves the API itself.")
