"""Running concurrent children so their errors arrive unchanged."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence

import trio


async def run_all(jobs: Sequence[tuple[str, Callable[[], Awaitable[None]]]]) -> None:
    """Run ``jobs`` concurrently in one nursery; the first failure cancels the rest.

    Each job's exception is recorded where it is raised, so it reaches the caller as
    the very object the job raised (its type, groups raised by user code included),
    never rebuilt or wrapped by the nursery.  When several jobs fail before the others
    are cancelled, the caller gets an ``ExceptionGroup`` of those errors.  Cancellation
    from outside cancels every job and propagates.
    """
    errors: list[Exception] = []
    cancelled_from_outside = False
    try:
        async with trio.open_nursery() as nursery:

            async def guarded(job: Callable[[], Awaitable[None]]) -> None:
                try:
                    await job()
                except Exception as exc:
                    errors.append(exc)
                    nursery.cancel_scope.cancel()

            for name, job in jobs:
                nursery.start_soon(guarded, job, name=name)
    except BaseException as exc:
        if not errors or not _only_cancelled(exc):
            raise
        # Cancelled from outside after a job had failed: report the failure (trio delivers
        # the cancellation again at the next checkpoint), never drop it.
        cancelled_from_outside = True
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise ExceptionGroup("several concurrent tasks failed", errors)
    assert not cancelled_from_outside


def _only_cancelled(exc: BaseException) -> bool:
    if isinstance(exc, trio.Cancelled):
        return True
    if isinstance(exc, BaseExceptionGroup):
        return all(_only_cancelled(e) for e in exc.exceptions)
    return False
