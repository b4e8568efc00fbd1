"""Argument checks for the public boundary: each raises ``TypeError`` or ``ValueError``
naming the argument, what was wrong and what to pass instead.

They run synchronously when a public method is called, so a bad argument is reported
before a run is registered and before anything is stored.
"""

from __future__ import annotations

import math
import re
from typing import Any

from google.genai import types

#: The longest id (app name, user id, session id) accepted: the width of the id
#: columns of ADK's database schema, so an id accepted here fits every backend.
MAX_ID_LENGTH = 128

# C0 and C1 control characters (NUL included) and lone surrogates, which no database
# text column stores.
_UNSTORABLE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")

#: How deeply state values may nest (dicts and lists inside each other).
MAX_STATE_DEPTH = 100


def _kind(value: object) -> str:
    return type(value).__name__


def check_id(value: Any, what: str) -> str:
    """An app name, user id or session id: a non-empty ``str`` of at most 128
    characters, without leading or trailing whitespace or control characters.

    Ids are used exactly as given, so whatever is accepted round-trips unchanged.
    """
    if type(value) is not str:
        if not isinstance(value, str):
            raise TypeError(f"{what} must be a str, got {_kind(value)} {value!r}.")
        value = str.__str__(value)  # a str subclass (an enum member, ...): its text
    assert isinstance(value, str)
    if not value:
        raise ValueError(f"{what} must be a non-empty str, got ''.")
    if len(value) > MAX_ID_LENGTH:
        raise ValueError(f"{what} is {len(value)} characters long; at most "
                         f"{MAX_ID_LENGTH} are allowed.")
    if value != value.strip():
        raise ValueError(
            f"{what} {value!r} has leading or trailing whitespace; ids are used exactly "
            f"as given, so pass {value.strip()!r} if that is the one you mean.")
    if _UNSTORABLE.search(value):
        raise ValueError(f"{what} {value!r} contains control characters or lone "
                         "surrogates; use printable text only.")
    return value


def check_filename(value: Any, what: str = "filename") -> str:
    """An artifact's file name: a non-empty ``str`` without control characters."""
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, got {_kind(value)} {value!r}.")
    if not value.strip():
        raise ValueError(f"{what} must name the file, got {value!r}.")
    if _UNSTORABLE.search(value):
        raise ValueError(f"{what} {value!r} contains control characters or lone "
                         "surrogates; use printable text only.")
    return value


def check_optional_id(value: Any, what: str, *, none_means: str) -> str | None:
    """Like :func:`check_id`, but ``None`` is allowed (and means ``none_means``)."""
    if value is None:
        return None
    if value == "":
        raise ValueError(f"{what} must be a non-empty str, or None for {none_means}; "
                         "got ''.")
    return check_id(value, what)


def check_user_message(value: Any, what: str = "new_message") -> types.Content:
    """A user message: a ``types.Content`` with parts, or a non-empty ``str`` of text
    (made into a user ``Content``)."""
    if isinstance(value, types.Content):
        if not value.parts:
            raise ValueError(f"{what} has no parts: give it at least one "
                             "types.Part(text=...).")
        if any(part.function_call is not None for part in value.parts):
            raise ValueError(
                f"{what} cannot contain function calls: a function call comes from the "
                "model. Send the tool's result as a function_response part instead.")
        return value
    if isinstance(value, str):
        if not value:
            raise ValueError(f"{what} is an empty str: pass the user's text.")
        return types.Content(role="user", parts=[types.Part(text=value)])
    if value is None:
        raise ValueError(
            f"Running an agent requires a {what}: pass a str of user text or "
            "types.Content(role='user', parts=[types.Part(text=...)]).")
    hint = ""
    if isinstance(value, types.Part):
        hint = " (wrap the part: types.Content(role='user', parts=[part]))"
    elif isinstance(value, list | tuple):
        hint = " (wrap the parts: types.Content(role='user', parts=[...]))"
    elif isinstance(value, dict):
        hint = " (build it: types.Content.model_validate(your_dict))"
    elif isinstance(value, bytes | bytearray):
        hint = (" (send data as types.Part(inline_data=types.Blob(data=..., "
                "mime_type=...)) inside a types.Content)")
    raise TypeError(f"{what} must be a google.genai types.Content or a str of user text, "
                    f"got {_kind(value)}{hint}.")


def check_state(value: Any, what: str) -> dict[str, Any] | None:
    """A state dict given by a caller: ``None``, or a ``dict`` with ``str`` keys whose
    values are JSON values (``None``, ``bool``, ``int``, finite ``float``, ``str``,
    ``list``, and ``dict`` with ``str`` keys), nested at most 100 deep.

    JSON values are what every session backend stores and gives back unchanged.
    """
    if value is None:
        return None
    if not isinstance(value, dict):
        raise TypeError(f"{what} must be a dict of state keys (str) to values, or None; "
                        f"got {_kind(value)}.")
    for key, item in value.items():
        if not isinstance(key, str):
            raise TypeError(f"{what} keys must be str, got {_kind(key)} {key!r}.")
        _check_json(item, f"{what}[{key!r}]", 1)
    return value


_SCALARS = (str, int, float, type(None))  # bool is an int


def _check_json(value: Any, where: str, depth: int) -> None:
    if isinstance(value, _SCALARS):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{where} is {value!r}; state values must be finite numbers "
                             "(store None or a string instead).")
        return
    if depth > MAX_STATE_DEPTH:
        raise ValueError(f"{where} nests more than {MAX_STATE_DEPTH} levels deep; flatten "
                         "the value.")
    if isinstance(value, list):
        for index, item in enumerate(value):
            _check_json(item, f"{where}[{index}]", depth + 1)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{where} has the key {key!r} ({_kind(key)}); keys of "
                                "state values must be str.")
            _check_json(item, f"{where}[{key!r}]", depth + 1)
        return
    hint = ""
    if isinstance(value, tuple | set | frozenset):
        hint = " (use a list)"
    elif hasattr(value, "model_dump"):
        hint = " (store value.model_dump(mode='json'))"
    elif hasattr(value, "isoformat"):
        hint = " (store value.isoformat())"
    raise TypeError(
        f"{where} is a {_kind(value)}; state values must be JSON values (None, bool, int, "
        f"float, str, list, dict with str keys) so every session backend stores them "
        f"unchanged{hint}.")


def check_seconds(value: Any, what: str, *, zero: bool = False,
                  optional: bool = True) -> float | None:
    """A duration in seconds: a finite number ``> 0`` (``>= 0`` with ``zero=True``), or
    ``None`` for no limit when ``optional``."""
    none = ", or None for no limit" if optional else ""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{what} must be a number of seconds{none}; got "
                        f"{_kind(value)} {value!r}.")
    if math.isnan(value) or value == math.inf or value < 0 or (value == 0 and not zero):
        bound = "zero or more" if zero else "more than zero"
        raise ValueError(f"{what} must be a finite number of seconds, {bound}{none}; "
                         f"got {value!r}.")
    return float(value)


def check_instance(value: Any, kind: type, what: str, hint: str = "") -> None:
    """``value`` must be an instance of ``kind``."""
    if not isinstance(value, kind):
        raise TypeError(f"{what} must be a {kind.__name__}, got {_kind(value)}"
                        f"{'; ' + hint if hint else ''}.")


def check_count(value: Any, what: str, *, low: int, high: int) -> int:
    """An ``int`` (not a bool) from ``low`` to ``high`` inclusive."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an int from {low} to {high}, got "
                        f"{_kind(value)} {value!r}.")
    if not low <= value <= high:
        raise ValueError(f"{what} must be from {low} to {high}, got {value}.")
    return value
