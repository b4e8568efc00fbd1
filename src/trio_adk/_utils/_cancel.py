"""Shared cancellation facts: the cleanup grace period and leaked ``Cancelled``."""

from __future__ import annotations

import math

import trio

#: How long cleanup of a cancelled run, agent task or stream may take (shielded) before
#: the waiter gives up on it and logs.
CLEANUP_GRACE = 5.0


def cancelled_from_outside() -> bool:
    """True when the current task really is cancelled (its effective deadline passed).

    A ``trio.Cancelled`` seen while this is False was leaked: a cancel scope held across
    ``yield`` in an async generator expired while the generator was suspended.
    """
    return trio.current_effective_deadline() == -math.inf


def leaked_cancel(who: str, cause: BaseException | None = None) -> RuntimeError:
    """The error reported instead of a leaked ``Cancelled`` (or a generator cut short)."""
    error = RuntimeError(
        f"{who} was cut short although its run was not cancelled: a cancel scope or "
        "nursery was held across `yield` in an async generator and expired while the "
        "generator was suspended. Keep cancel scopes and nurseries within one step of the "
        "generator (see trio's notes on async generators)."
    )
    error.__cause__ = cause
    return error
