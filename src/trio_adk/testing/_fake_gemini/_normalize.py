"""Normalise request JSON the way Google's proto-JSON parser reads it.

Clients put mixed spellings on the wire (gemini-wire.md 1.2): lowerCamel names next to the
original snake_case proto names, and bytes in either base64 alphabet. Recorded requests and the
built-in responder see one canonical form: camelCase keys and standard, padded base64.

Keys are left exactly as sent inside Struct-valued fields (function call ``args``, function
``response``, ``parametersJsonSchema``, ``responseJsonSchema``, ``labels``) and for the property
names of OpenAPI schemas, because there the keys are user data, not field names.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

# Struct / map fields: the value is user data and is copied verbatim.
_VERBATIM_KEYS = frozenset({"args", "parametersJsonSchema", "responseJsonSchema", "labels"})
# Fields holding an OpenAPI-subset ``Schema`` (``properties`` keys are user data there).
_SCHEMA_KEYS = frozenset({"parameters", "responseSchema"})
# Parents whose ``response`` field is a Struct (function responses) or a Schema (declarations).
_FUNCTION_RESPONSE_PARENTS = frozenset({"functionResponse", "functionResponses"})
_DECLARATION_PARENTS = frozenset({"functionDeclarations"})
# Parents whose ``data`` field is bytes (Blob): Part.inlineData, Live audio/video/mediaChunks.
_BLOB_PARENTS = frozenset({"inlineData", "audio", "video", "mediaChunks", "media"})
# Schema fields whose value is a schema, a list of schemas or a map of schemas.
_SCHEMA_VALUE_KEYS = frozenset({"items", "not"})
_SCHEMA_LIST_KEYS = frozenset({"anyOf", "oneOf", "allOf", "prefixItems"})
_SCHEMA_MAP_KEYS = frozenset({"properties", "defs", "$defs"})

_SNAKE = re.compile(r"_([a-z0-9])")


def to_camel(key: str) -> str:
    """``parameters_json_schema`` → ``parametersJsonSchema``; camelCase and ``@type`` unchanged."""
    if "_" not in key or key.startswith(("_", "@", "$")):
        return key
    return _SNAKE.sub(lambda m: m.group(1).upper(), key)


def canonical_base64(value: str) -> str:
    """Re-encode base64 (standard or URL-safe, padded or not) as standard padded base64.

    A string that is not base64 in either alphabet is returned unchanged.
    """
    decoded = decode_base64(value)
    if decoded is None:
        return value
    return base64.b64encode(decoded).decode("ascii")


def decode_base64(value: str) -> bytes | None:
    """Decode base64 in either alphabet, padded or not; ``None`` if it is not base64."""
    text = value.strip().replace("-", "+").replace("_", "/")
    text += "=" * (-len(text) % 4)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def normalize_request(value: Any) -> Any:
    """A normalised deep copy of a request body (or a Live client message)."""
    return _message(value, parent="")


def _message(value: Any, parent: str) -> Any:
    if isinstance(value, list):
        return [_message(item, parent) for item in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for raw_key, item in value.items():
        key = to_camel(raw_key) if isinstance(raw_key, str) else raw_key
        if key in _VERBATIM_KEYS or (key == "response" and parent in _FUNCTION_RESPONSE_PARENTS):
            out[key] = item
        elif key in _SCHEMA_KEYS or (key == "response" and parent in _DECLARATION_PARENTS):
            out[key] = _schema(item)
        elif isinstance(item, str) and (
            key == "thoughtSignature" or (key == "data" and parent in _BLOB_PARENTS)
        ):
            out[key] = canonical_base64(item)
        else:
            out[key] = _message(item, key)
    return out


def _schema(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for raw_key, item in value.items():
        key = to_camel(raw_key) if isinstance(raw_key, str) else raw_key
        if key in _SCHEMA_MAP_KEYS and isinstance(item, dict):
            out[key] = {name: _schema(sub) for name, sub in item.items()}
        elif key in _SCHEMA_LIST_KEYS and isinstance(item, list):
            out[key] = [_schema(sub) for sub in item]
        elif key in _SCHEMA_VALUE_KEYS:
            out[key] = _schema(item)
        else:
            out[key] = item
    return out
