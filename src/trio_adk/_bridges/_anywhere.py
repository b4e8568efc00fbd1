"""Public coroutines that may be awaited from trio or from asyncio."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Coroutine, Iterable, Mapping
from typing import Any, ParamSpec, TypeVar

import sniffio

P = ParamSpec("P")
T = TypeVar("T")

_MARK = "__trio_adk_anywhere__"


def awaitable_anywhere(
    fn: Callable[P, Coroutine[Any, Any, T]],
    check: Callable[..., None] | None = None,
) -> Callable[P, Coroutine[Any, Any, T]]:
    """Make the trio coroutine function ``fn`` awaitable from asyncio code as well.

    Awaited from a trio task it runs as is.  Awaited from an asyncio task it runs in the
    loop's trio guest run (see ``_asyncio_guest``); cancelling the asyncio task cancels
    it and waits for it.  The library is detected when the method is called.

    ``check``, called with the same arguments as ``fn`` when it is called (before
    anything is awaited), raises ``TypeError``/``ValueError`` for bad arguments.
    """
    if getattr(fn, _MARK, False):
        return fn

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> Coroutine[Any, Any, T]:
        if check is not None:
            check(*args, **kwargs)
        try:
            library = sniffio.current_async_library()
        except sniffio.AsyncLibraryNotFoundError:
            library = None
        if library == "asyncio":
            from trio_adk._bridges._asyncio_guest import run_in_trio

            return run_in_trio(fn, *args, **kwargs)
        return fn(*args, **kwargs)

    setattr(wrapper, _MARK, True)
    return wrapper


def wrap_coroutine_methods(cls: type, names: Iterable[str],
                           checks: Mapping[str, Callable[..., None]] | None = None) -> None:
    """Apply :func:`awaitable_anywhere` to the coroutine methods ``names`` that ``cls``
    itself defines (used from ``__init_subclass__`` of service base classes), with the
    argument check ``checks[name]`` where there is one."""
    for name in names:
        method = cls.__dict__.get(name)
        if method is not None and inspect.iscoroutinefunction(method):
            setattr(cls, name, awaitable_anywhere(method, (checks or {}).get(name)))
