"""The trio caller: a thin async generator over the run's rendezvous."""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING

import trio

from trio_adk._run import Run, RunRequest
from trio_adk._usercode._host import current_host
from trio_adk.errors import RunnerClosedError
from trio_adk.events._event import Event

if TYPE_CHECKING:
    from trio_adk._runner import Runner

_log = logging.getLogger("trio_adk")


async def stream_trio(runner: Runner, request: RunRequest) -> AsyncGenerator[Event, None]:
    """Start a run in the caller's trio run and yield its events.

    Holds nothing but the run's hand-over point across ``yield``.  Leaving early cancels
    the run and waits (shielded, bounded) for its cleanup.
    """
    run = runner._new_run(request)
    # User code runs on trio, unless this is engine code serving an asyncio or sync
    # caller (a batch): then on that caller's loop, as the rest of its call.
    run.start(current_host())
    finished = closed_early = False
    try:
        while True:
            try:
                event = await run.handoff.receive()
            except trio.EndOfChannel:
                break
            yield event
        finished = True
    except GeneratorExit:
        closed_early = True  # aclose()/break: after_run still runs
        raise
    finally:
        if not finished:
            run.abandon(consumer_closed=closed_early)
        await run.wait_done()
        if not finished:
            report_unseen_error(run)
    raise_outcome(runner, run)


def raise_outcome(runner: Runner, run: Run) -> None:
    """Raise what ended the run for its consumer, if anything did."""
    if run.closed_by_runner:
        raise RunnerClosedError(
            f"{runner!r} was closed while this run was in flight; the run was cancelled."
        ) from run.error
    if run.error is not None:
        raise run.error


def report_unseen_error(run: Run) -> None:
    """Log an error of a run whose consumer left or was cancelled before seeing it."""
    if run.error is not None:
        _log.error("%r failed after its consumer stopped waiting for it.", run,
                   exc_info=run.error)

