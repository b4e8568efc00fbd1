"""Calling user callbacks that may be sync or async, single or a list."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from trio_adk._usercode._host import call_user


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

    Plain functions are called directly; async ones are awaited on the caller's library
    (see ``trio_adk._usercode``).  Returns that result, or ``None``.  Exceptions
    propagate unchanged (cancellation included).
    """
    for callback in as_list(callbacks):
        result = await call_user(callback, **kwargs)
        if result:
            return result
    return None
