"""Loading ``types.Content`` from stored JSON without google-genai's per-model hook.

google-genai's models run a ``before`` validator on every object that walks all of the
model's fields to warn about mismatched model types; for a ``Part`` (twenty fields) that
is most of the cost of loading a stored event.  Stored JSON holds no model objects, so
the warning can never fire: for the shapes almost every event has (text, thoughts,
function calls and responses, inline data) this module builds the same objects with
``model_construct`` after checking every value's type itself.  Anything else (another
part field, an unexpected type, bytes that are not canonical base64) goes through
``model_validate`` unchanged, so the result is always what validation would give.

Objects are built the way pydantic's ``model_construct`` builds them (the field dict,
the set of fields given, no extras, no private attributes), without its per-call walk
over the model's fields: that walk costs more than validation for genai's wide models.
A model whose fields do not all default to ``None`` (or that has private attributes)
is built with ``model_construct`` itself.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from typing import Any, TypeVar, cast

from google.genai import types

_B64 = re.compile(r"(?:[A-Za-z0-9+/_-]{4})*(?:[A-Za-z0-9+/_-]{2}==|[A-Za-z0-9+/_-]{3}=)?")


M = TypeVar("M")


class _Slow(Exception):
    """This value needs full validation."""


def content_from_json(data: Any) -> types.Content:
    """``types.Content.model_validate(data)``, faster for the common shapes."""
    if isinstance(data, types.Content):
        return data
    try:
        return _content(data)
    except _Slow:
        return types.Content.model_validate(data)


def _content(data: Any) -> types.Content:
    if type(data) is not dict:
        raise _Slow
    fields: dict[str, Any] = {}
    for key, value in data.items():
        if key == "role":
            fields["role"] = _str(value)
        elif key == "parts":
            if type(value) is list:
                fields["parts"] = [_part(p) for p in value]
            else:
                raise _Slow
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


def _builder(model: type[M]) -> Callable[[dict[str, Any]], M]:
    """A fast ``model.model_construct(**fields)`` for models whose fields all default to
    ``None``; ``model_construct`` itself otherwise."""
    simple = not getattr(model, "__private_attributes__", None) and all(
        f.default is None and f.default_factory is None
        for f in model.model_fields.values())  # type: ignore[attr-defined]
    if not simple:
        construct: Callable[..., M] = model.model_construct  # type: ignore[attr-defined]
        return lambda fields: construct(**fields)
    defaults: dict[str, Any] = dict.fromkeys(model.model_fields)  # type: ignore[attr-defined]
    new = model.__new__
    setattr_ = object.__setattr__

    def build(fields: dict[str, Any]) -> M:
        obj = new(model)
        values = defaults.copy()
        values.update(fields)
        setattr_(obj, "__dict__", values)
        setattr_(obj, "__pydantic_fields_set__", set(fields))
        setattr_(obj, "__pydantic_extra__", None)
        setattr_(obj, "__pydantic_private__", None)
        return obj

    return build


_CALL = _builder(types.FunctionCall)
_RESPONSE = _builder(types.FunctionResponse)
_BLOB = _builder(types.Blob)
_CONTENT = _builder(types.Content)
_PART = _builder(types.Part)

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
