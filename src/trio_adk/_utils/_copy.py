"""Cheap copies for the places where ownership changes hands (caller <-> storage)."""

from __future__ import annotations

import copy
from typing import Any

from google.genai import types

# Values of these exact types are immutable and can be shared instead of copied.
_ATOMIC: frozenset[type] = frozenset({str, int, float, bool, type(None), bytes, complex})


def copy_value(value: Any) -> Any:
    """Copy a state value: dicts and lists recursively, immutable scalars shared.

    State is JSON-like almost always, so this is much faster than ``copy.deepcopy``;
    anything else that might be mutable falls back to ``copy.deepcopy``.
    """
    kind = type(value)
    if kind in _ATOMIC:
        return value
    if kind is dict:
        return {k: copy_value(v) for k, v in value.items()}
    if kind is list:
        return [copy_value(v) for v in value]
    if kind is tuple:
        return tuple(copy_value(v) for v in value)
    return copy.deepcopy(value)


def copy_state(state: dict[str, Any]) -> dict[str, Any]:
    """A copy of a state dict (see :func:`copy_value`)."""
    return {k: copy_value(v) for k, v in state.items()}


def copy_content(content: types.Content, *, role: str | None = None) -> types.Content:
    """A copy of ``content`` with its own parts list and its own Part objects.

    Part fields are shared one level down (strings and bytes are immutable; function
    call arguments and responses are copied as state values).  ``role`` replaces the
    role when given.
    """
    parts: list[types.Part] = []
    for part in content.parts or ():
        new = part.model_copy()
        if part.function_call is not None:
            new.function_call = part.function_call.model_copy(
                update={"args": copy_value(part.function_call.args)})
        if part.function_response is not None:
            new.function_response = part.function_response.model_copy(
                update={"response": copy_value(part.function_response.response)})
        parts.append(new)
    return types.Content.model_construct(role=role or content.role, parts=parts)
