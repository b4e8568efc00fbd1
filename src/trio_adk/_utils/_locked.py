"""Serialising the methods of in-memory services across threads."""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Coroutine
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

P = ParamSpec("P")
T = TypeVar("T")


class _HasLock(Protocol):
    _lock: threading.RLock


S = TypeVar("S", bound=_HasLock)


def locked(
    method: Callable[Concatenate[S, P], Coroutine[Any, Any, T]],
) -> Callable[Concatenate[S, P], Coroutine[Any, Any, T]]:
    """Run an async method of an in-memory service under the instance's ``_lock``.

    A runner drives its services from several threads at once (sync ``run()`` uses a
    worker thread).  The bodies of in-memory services never suspend, so holding a thread
    lock across them is cheap and never blocks an event loop for long.
    """

    @functools.wraps(method)
    async def wrapper(self: S, *args: P.args, **kwargs: P.kwargs) -> T:
        with self._lock:
            return await method(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]
