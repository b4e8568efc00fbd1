"""Loading ``types.Content`` from stored JSON without google-genai's per-model hook.

google-genai's models run a ``before`` validator on every object that walks all of the
model's fields to warn about mismatched model types; for a ``Part`` (twenty fields) that
is most of the cost of loading a stored event.  Stored JSON holds no model objects, so
the warning can never fire: for the shapes almost every event has (text, thoughts,
function calls and responses, inline data) this module builds the same objects with
``model_construct`` after checking every value's type itself.  Anything else (another
part field, an unexpected type, bytes that are not canonical base64) goes through
``model_validate`` unchanged, so the result is always what validation would give.

Usage metadata (stored with every model reply) gets the same treatment when all its
values are token counts (``int``) or per-modality token counts; so does a streamed
``GenerateContentResponse`` chunk from the Gemini API (:func:`fast_response`) when it
holds only candidates (content, finish reason, index, token count, finish message, average
log probability), usage metadata, the model version and the response id.

Objects are built the way pydantic's ``model_construct`` builds them (the field dict,
the set of fields given, no extras, private attributes at their defaults), without its
per-call walk over the model's fields: that walk costs more than validation for genai's
wide models.  A model whose fields do not all default to ``None``, or whose private
attributes are not plain scalars set by pydantic itself, is built with
``model_construct``.
"""

from __future__ import annotations

import base64
import binascii
import enum
import re
from collections.abc import Callable
from typing import Any, TypeVar, cast

from google.genai import types

_B64 = re.compile(r"(?:[A-Za-z0-9+/_-]{4})*(?:[A-Za-z0-9+/_-]{2}==|[A-Za-z0-9+/_-]{3}=)?")


M = TypeVar("M")
E = TypeVar("E", bound=enum.Enum)


class _Slow(Exception):
    """This value needs full validation."""


def content_from_json(data: Any) -> types.Content:
    """``types.Content.model_validate(data)``, faster for the common shapes."""
    if type(data) is dict:
        try:
            return _content(data)
        except _Slow:
            pass
    elif isinstance(data, types.Content):
        return data
    return types.Content.model_validate(data)


def usage_from_json(data: Any) -> types.GenerateContentResponseUsageMetadata:
    """``types.GenerateContentResponseUsageMetadata.model_validate(data)``, faster when
    every value is a token count (an ``int``)."""
    if type(data) is dict:
        try:
            return _model(data, _USAGE, _USAGE_FIELDS)
        except _Slow:
            pass
    elif isinstance(data, types.GenerateContentResponseUsageMetadata):
        return data
    return types.GenerateContentResponseUsageMetadata.model_validate(data)


def fast_response(data: dict[str, Any]) -> types.GenerateContentResponse | None:
    """``types.GenerateContentResponse.model_validate(data)`` built without validation
    for the shape the Gemini API streams (see the module docstring), or ``None`` when
    ``data`` needs validation (another field, an unexpected type)."""
    try:
        return _model(data, _RESPONSE_CHUNK, _RESPONSE_FIELDS)
    except _Slow:
        return None


def text_part(text: str, *, thought: bool, signature: bytes | None) -> types.Part:
    """``types.Part(text=text, thought=True if thought else None,
    thought_signature=signature)`` for values of those types, without validation."""
    fields: dict[str, Any] = {"text": text}
    if thought:
        fields["thought"] = True
    if signature is not None:
        fields["thought_signature"] = signature
    return _PART(fields)


def model_content(parts: list[types.Part]) -> types.Content:
    """``types.Content(role="model", parts=parts)`` for ``Part`` objects, without
    validation (``parts`` itself becomes the content's list)."""
    return _CONTENT({"parts": parts, "role": "model"})


def _content(data: dict[str, Any]) -> types.Content:
    fields: dict[str, Any] = {}
    for key, value in data.items():
        if key == "parts":
            if type(value) is not list:
                raise _Slow
            fields["parts"] = list(map(_part, value))
        elif key == "role":
            fields["role"] = _str(value)
        else:
            raise _Slow
    return _CONTENT(fields)


def _part(data: Any) -> types.Part:
    if type(data) is not dict:
        raise _Slow
    fields: dict[str, Any] = {}
    for key, value in data.items():
        entry = _PART_FIELDS.get(key)
        if entry is None:
            raise _Slow
        name, convert = entry
        if name in fields:
            raise _Slow  # both spellings given: let validation decide
        fields[name] = convert(value)
    return _PART(fields)


def _str(value: Any) -> str:
    if type(value) is not str:
        raise _Slow  # None included: genai treats an explicit None specially
    return value


def _bool(value: Any) -> bool:
    if type(value) is not bool:
        raise _Slow
    return value


def _count(value: Any) -> int:
    if type(value) is not int or not -_INT64 <= value < _INT64:
        raise _Slow  # bool, float, text, None, huge: validation decides
    return value


_INT64 = 2**63


def _json_dict(value: Any) -> dict[str, Any]:
    if type(value) is not dict:
        raise _Slow
    return value


def _bytes(value: Any) -> bytes:
    if type(value) is not str or not _B64.fullmatch(value):
        raise _Slow
    try:
        return base64.b64decode(value.translate(_URLSAFE), validate=True)
    except (binascii.Error, ValueError):
        raise _Slow from None


_URLSAFE = str.maketrans("-_", "+/")


def _float(value: Any) -> float:
    if type(value) is not float:
        raise _Slow  # an int would be converted: validation decides
    return value


def _enum(cls: type[E]) -> Callable[[Any], E]:
    """A converter accepting exactly the values of ``cls``: any other (a different case,
    an unknown value, which genai warns about) goes through validation."""
    members = cast("dict[str, E]", dict(cls._value2member_map_))

    def convert(value: Any) -> E:
        if type(value) is not str:
            raise _Slow
        member = members.get(value)
        if member is None:
            raise _Slow
        return member

    return convert


def _list_of(convert: Callable[[Any], M]) -> Callable[[Any], list[M]]:
    def convert_list(value: Any) -> list[M]:
        if type(value) is not list:
            raise _Slow
        return list(map(convert, value))

    return convert_list


def _content_value(value: Any) -> types.Content:
    if type(value) is not dict:
        raise _Slow
    return _content(value)


def _candidate(value: Any) -> types.Candidate:
    return _model(value, _CANDIDATE, _CANDIDATE_FIELDS)


def _usage(value: Any) -> types.GenerateContentResponseUsageMetadata:
    return _model(value, _USAGE, _USAGE_FIELDS)


def _modality_count(value: Any) -> types.ModalityTokenCount:
    return _model(value, _MODALITY_COUNT, _MODALITY_COUNT_FIELDS)


def _function_call(value: Any) -> types.FunctionCall:
    return _model(value, _CALL, {"id": _str, "name": _str, "args": _json_dict})


def _function_response(value: Any) -> types.FunctionResponse:
    return _model(value, _RESPONSE,
                  {"id": _str, "name": _str, "response": _json_dict})


def _blob(value: Any) -> types.Blob:
    return _model(value, _BLOB, {"data": _bytes, "mime_type": _str, "mimeType": _str,
                                      "display_name": _str, "displayName": _str})


def _model(value: Any, build: Callable[[dict[str, Any]], M],
           converters: dict[str, Callable[[Any], Any]]) -> M:
    if type(value) is not dict:
        raise _Slow
    fields: dict[str, Any] = {}
    for key, item in cast("dict[str, Any]", value).items():
        convert = converters.get(key)
        if convert is None:
            raise _Slow
        name = _SNAKE.get(key, key)
        if name in fields:
            raise _Slow  # both spellings given: let validation decide
        fields[name] = convert(item)
    return build(fields)


def _slot_setter(model: type, name: str) -> Callable[[Any, Any], None] | None:
    """The ``__set__`` of the descriptor ``name`` (a slot or ``__dict__``) in ``model``'s
    MRO, which sets it without going through the model's ``__setattr__``."""
    for klass in model.__mro__:
        descriptor = vars(klass).get(name)
        if descriptor is not None:
            setter: Callable[[Any, Any], None] | None = getattr(descriptor, "__set__", None)
            return setter
    return None


def _private_defaults(model: type) -> dict[str, Any] | None:
    """The ``__pydantic_private__`` that validation gives every ``model`` instance:
    ``None`` without private attributes; with them, a dict of their defaults when
    pydantic's own ``init_private_attributes`` sets it and every default is an immutable
    scalar (copied or not, the same value); else ``_COMPLEX``."""
    private = getattr(model, "__private_attributes__", None)
    if not private:
        return None
    post_init = getattr(model, "model_post_init", None)
    if (getattr(post_init, "__module__", None), getattr(post_init, "__qualname__", None)) != (
            "pydantic._internal._model_construction", "init_private_attributes"):
        return _COMPLEX  # a model_post_init of the model's own: model_construct runs it
    defaults: dict[str, Any] = {}
    for name, attribute in private.items():
        default = getattr(attribute, "default", _COMPLEX)
        if getattr(attribute, "default_factory", None) is not None or \
                type(default) not in (type(None), bool, int, float, str):
            return _COMPLEX
        defaults[name] = default
    return defaults


_COMPLEX: dict[str, Any] = {}


def _builder(model: type[M]) -> Callable[[dict[str, Any]], M]:
    """A fast ``model.model_construct(**fields)`` for models whose fields all default to
    ``None`` (and whose private attributes, if any, default to scalars);
    ``model_construct`` itself otherwise."""
    setters = [_slot_setter(model, name) for name in (
        "__dict__", "__pydantic_fields_set__", "__pydantic_extra__", "__pydantic_private__")]
    private = _private_defaults(model)
    simple = private is not _COMPLEX and all(
        f.default is None and f.default_factory is None
        for f in model.model_fields.values())  # type: ignore[attr-defined]
    if not simple or None in setters:
        construct: Callable[..., M] = model.model_construct  # type: ignore[attr-defined]
        return lambda fields: construct(**fields)
    set_dict, set_fields, set_extra, set_private = cast(
        "list[Callable[[Any, Any], None]]", setters)
    defaults: dict[str, Any] = dict.fromkeys(model.model_fields)  # type: ignore[attr-defined]
    new = model.__new__

    if private is not None:
        private_defaults = private

        def build_with_private(fields: dict[str, Any]) -> M:
            obj = new(model)
            values = defaults.copy()
            values.update(fields)
            set_dict(obj, values)
            set_fields(obj, set(fields))
            set_extra(obj, None)
            set_private(obj, private_defaults.copy())
            return obj

        return build_with_private

    def build(fields: dict[str, Any]) -> M:
        obj = new(model)
        values = defaults.copy()
        values.update(fields)
        set_dict(obj, values)
        set_fields(obj, set(fields))
        set_extra(obj, None)
        set_private(obj, None)
        return obj

    return build


_CALL = _builder(types.FunctionCall)
_RESPONSE = _builder(types.FunctionResponse)
_BLOB = _builder(types.Blob)
_CONTENT = _builder(types.Content)
_PART = _builder(types.Part)
_USAGE = _builder(types.GenerateContentResponseUsageMetadata)
_MODALITY_COUNT = _builder(types.ModalityTokenCount)
_CANDIDATE = _builder(types.Candidate)
_RESPONSE_CHUNK = _builder(types.GenerateContentResponse)

_SNAKE = {"mimeType": "mime_type", "displayName": "display_name"}

_PART_FIELDS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "text": ("text", _str),
    "thought": ("thought", _bool),
    "thought_signature": ("thought_signature", _bytes),
    "thoughtSignature": ("thought_signature", _bytes),
    "function_call": ("function_call", _function_call),
    "functionCall": ("function_call", _function_call),
    "function_response": ("function_response", _function_response),
    "functionResponse": ("function_response", _function_response),
    "inline_data": ("inline_data", _blob),
    "inlineData": ("inline_data", _blob),
}



def _both_spellings(converters: dict[str, Callable[[Any], Any]]
                    ) -> dict[str, Callable[[Any], Any]]:
    """``converters`` keyed by snake_case field names, also under their camelCase
    spelling (added to ``_SNAKE``)."""
    both = dict(converters)
    for name, convert in converters.items():
        camel = "".join(w.capitalize() if i else w for i, w in enumerate(name.split("_")))
        if camel != name:
            both[camel] = convert
            _SNAKE[camel] = name
    return both


_MODALITY_COUNT_FIELDS = _both_spellings(
    {"modality": _enum(types.MediaModality), "token_count": _count})
_modality_counts = _list_of(_modality_count)
_USAGE_FIELDS = _both_spellings({
    **dict.fromkeys(("cached_content_token_count", "candidates_token_count",
                     "prompt_token_count", "thoughts_token_count",
                     "tool_use_prompt_token_count", "total_token_count"), _count),
    **dict.fromkeys(("cache_tokens_details", "candidates_tokens_details",
                     "prompt_tokens_details", "tool_use_prompt_tokens_details"),
                    _modality_counts),
    "traffic_type": _enum(types.TrafficType),
})
_CANDIDATE_FIELDS = _both_spellings({
    "content": _content_value, "finish_reason": _enum(types.FinishReason),
    "finish_message": _str, "index": _count, "token_count": _count, "avg_logprobs": _float,
})
_RESPONSE_FIELDS = _both_spellings({
    "candidates": _list_of(_candidate), "usage_metadata": _usage, "model_version": _str,
    "response_id": _str,
})
