"""Helpers for trio's strict exception groups."""

from __future__ import annotations

import trio


def single_error(group: BaseExceptionGroup[BaseException]) -> BaseException | None:
    """The one non-``Cancelled`` leaf of ``group``, or ``None`` when there are several.

    A nursery reports a single failing child as a group of one (plus ``Cancelled`` leaves
    of the siblings it cancelled); callers want that one exception, unwrapped.
    """
    leaves = list(_leaves(group))
    errors = [e for e in leaves if not isinstance(e, trio.Cancelled)]
    if len(errors) == 1:
        return errors[0]
    return None


def _leaves(group: BaseExceptionGroup[BaseException]) -> list[BaseException]:
    out: list[BaseException] = []
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            out.extend(_leaves(exc))
        else:
            out.append(exc)
    return out
