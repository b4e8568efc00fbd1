"""The built-in responder: a predictable stand-in model for demos and smoke tests.

Rules, applied to the normalised request:

1. If the last content holds function responses, answer with a short text naming each tool and
   its result (``"The get_weather tool returned sunny."``).
2. Else, if the last user text names a declared function (whole-word match of its name), call
   it, with arguments built from its declared parameters (``parameters`` with OpenAPI types or
   ``parametersJsonSchema``): ``name=value`` / ``name: value`` in the text wins; other strings
   take, in order, the runs of ordinary words after the function's name (split at small filler
   words and numbers; the whole text if there are none); numbers take the numbers of the text in
   order, else 0; booleans ``false``; arrays ``[]``; objects ``{}``; enums their first value.
3. Else echo: ``"You said: <last user text>"``.

Text answers are split into up to three streamed chunks.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping
from typing import Any

from trio_adk.testing._fake_gemini._records import RecordedRequest
from trio_adk.testing._fake_gemini._script import GeminiReply, gemini_chunks, gemini_function_call

_NUMBER = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w]|\.\d)")
_WORD = re.compile(r"[\w.@/+-]+")
_FILLER = frozenset({"a", "an", "the", "with", "for", "to", "on", "in", "of", "about", "using",
                     "please", "and", "or", "over", "at", "from", "by", "into", "as", "is", "me",
                     "my", "what", "whats", "what's", "tool", "function", "call", "use", "args",
                     "arguments", "can", "you"})


def builtin_responder(request: RecordedRequest) -> GeminiReply:
    """Answer a model call by the rules of this module (see the module docstring)."""
    body = request.body if isinstance(request.body, dict) else {}
    contents = [c for c in body.get("contents") or [] if isinstance(c, dict)]
    last_parts = [p for p in (contents[-1].get("parts") or []) if isinstance(p, dict)] \
        if contents else []
    responses = [p["functionResponse"] for p in last_parts
                 if isinstance(p.get("functionResponse"), dict)]
    if responses:
        return gemini_chunks(split_text(" ".join(_describe(r) for r in responses)))
    text = last_user_text(contents)
    for declaration in _declarations(body.get("tools")):
        name = declaration.get("name")
        if isinstance(name, str) and name and _mentions(text, name):
            return gemini_function_call(name, build_args(declaration, text))
    return gemini_chunks(split_text(f"You said: {text}"))


def last_user_text(contents: list[dict[str, Any]]) -> str:
    """The joined text parts of the last ``user`` content that has text ("" if none)."""
    for content in reversed(contents):
        if content.get("role", "user") != "user":
            continue
        texts = [p["text"] for p in content.get("parts") or []
                 if isinstance(p, dict) and isinstance(p.get("text"), str)]
        if texts:
            return "".join(texts)
    return ""


def split_text(text: str, pieces: int = 3) -> list[str]:
    """``text`` cut at spaces into at most ``pieces`` chunks that join back to ``text``."""
    words = text.split(" ")
    size = max(1, math.ceil(len(words) / pieces))
    chunks = [" ".join(words[i:i + size]) for i in range(0, len(words), size)]
    return [chunk + " " for chunk in chunks[:-1]] + chunks[-1:]


def _describe(response: Mapping[str, Any]) -> str:
    name = response.get("name") or "function"
    result = response.get("response")
    if isinstance(result, dict) and set(result) == {"result"}:
        result = result["result"]
    shown = result if isinstance(result, str) else json.dumps(result, separators=(",", ":"))
    return f"The {name} tool returned {shown}."


def _declarations(tools: Any) -> Iterator[dict[str, Any]]:
    for tool in tools or []:
        if isinstance(tool, dict):
            for declaration in tool.get("functionDeclarations") or []:
                if isinstance(declaration, dict):
                    yield declaration


def _mentions(text: str, name: str) -> bool:
    return re.search(rf"(?<![\w]){re.escape(name)}(?![\w])", text, re.IGNORECASE) is not None


def _schema_type(schema: Mapping[str, Any]) -> str:
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if str(k).lower() != "null"), None)
    if kind is None:
        for option in schema.get("anyOf") or schema.get("oneOf") or []:
            if isinstance(option, dict):
                found = _schema_type(option)
                if found != "null":
                    return found
        return "string"
    return str(kind).lower()


def _explicit_value(text: str, name: str) -> str | None:
    pattern = rf"(?<![\w]){re.escape(name)}\s*[=:]\s*(\"[^\"]*\"|'[^']*'|[^\s,;]+)"
    match = re.search(pattern, text)
    if match is None:
        return None
    return match.group(1).strip("\"'")


def _phrases(text: str, name: str) -> list[str]:
    """Runs of ordinary words after the function's name (before it if none), split at filler
    words, numbers and ``key=value`` pairs: ``"get_weather for New York in 3 days"`` →
    ``["New York", "days"]``."""
    match = re.search(rf"(?<![\w]){re.escape(name)}(?![\w])", text, re.IGNORECASE)
    candidates = [text[match.end():], text[:match.start()]] if match else [text]
    for segment in candidates:
        phrases: list[list[str]] = [[]]
        for raw in _WORD.findall(segment):
            word = raw.strip(".,;:!?\"'")
            if not word or word.lower() in _FILLER or _NUMBER.fullmatch(word) or "=" in raw:
                if phrases[-1]:
                    phrases.append([])
                continue
            phrases[-1].append(word)
        found = [" ".join(words) for words in phrases if words]
        if found:
            return found
    return []


def _coerce(kind: str, raw: str) -> Any:
    if kind == "integer":
        return int(float(raw))
    if kind == "number":
        value = float(raw)
        return int(value) if value.is_integer() else value
    if kind == "boolean":
        return raw.lower() in {"true", "yes", "1"}
    return raw


def build_args(declaration: Mapping[str, Any], text: str) -> dict[str, Any]:
    """Arguments for a declared function, built from the user's text (module docstring, rule 2)."""
    schema = declaration.get("parametersJsonSchema") or declaration.get("parameters") or {}
    if not isinstance(schema, dict):
        return {}
    properties = schema.get("properties") or {}
    if not isinstance(properties, dict):
        return {}
    required = schema.get("required")
    wanted = [p for p in properties if not isinstance(required, list) or p in required
              or _explicit_value(text, p) is not None]
    name = str(declaration.get("name", ""))
    numbers = _NUMBER.findall(re.sub(r"[\w]+\s*[=:]\s*\S+", " ", text))
    phrases = _phrases(text, name)
    string_params = [p for p in wanted if isinstance(properties[p], dict)
                     and _schema_type(properties[p]) == "string"
                     and not properties[p].get("enum") and _explicit_value(text, p) is None]
    args: dict[str, Any] = {}
    for param in wanted:
        prop = properties[param] if isinstance(properties[param], dict) else {}
        kind = _schema_type(prop)
        explicit = _explicit_value(text, param)
        if explicit is not None:
            try:
                args[param] = _coerce(kind, explicit)
            except ValueError:
                args[param] = explicit
        elif prop.get("enum"):
            choices = [str(c) for c in prop["enum"]]
            lowered = text.lower()
            args[param] = next((c for c in choices if c.lower() in lowered), choices[0])
        elif kind == "string":
            position = string_params.index(param)
            args[param] = phrases[position] if position < len(phrases) else text
        elif kind in ("integer", "number"):
            args[param] = _coerce(kind, numbers.pop(0)) if numbers else 0
        elif kind == "boolean":
            args[param] = False
        elif kind == "array":
            args[param] = []
        else:
            args[param] = {}
    return args
