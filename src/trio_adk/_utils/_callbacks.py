"""Calling user callbacks that may be sync or async, single or a list."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any


def as_list(callback: Callable[..., Any] | Sequence[Callable[..., Any]] | None,
            ) -> list[Callable[..., Any]]:
    """Normalise a callback field (None, one callable, or a list) to a list."""
    if callback is None:
        return []
    if callable(callback):
        return [callback]
    return list(callback)


async def call_chain(
    callbacks: Callable[..., Any] | Sequence[Callable[..., Any]] | None, /, **kwargs: Any
) -> Any:
    """Call each callback with ``kwargs`` until one returns something truthy.

    Async callbacks are awaited.  Returns that result, or ``None``.  Exceptions
    propagate unchanged (cancellation included).
    """
    for callback in as_list(callbacks):
        result = callback(**kwargs)
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
    return None
