"""The asyncio consumer of a :class:`~trio_adk._utils._rendezvous.Rendezvous`.

The consumer is an asyncio task on the thread that hosts the trio run as a guest; the
producers are trio tasks of that run.  Everything runs on that one thread.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Generic, TypeVar

import trio

from trio_adk._utils._rendezvous import Rendezvous

T = TypeVar("T")

#: Checkpoints a producer stays runnable after a hand-over, waiting for the asyncio
#: consumer to come back (it usually does within a few loop steps), before it parks.
SPIN_STEPS = 8


class AsyncioReceiver(Generic[T]):
    """Receives the items of ``handoff`` in asyncio tasks, one :meth:`receive` at a time.

    ``rearmed``: a cancellation was re-armed on a hand-over and may still be pending in
    the receiving task (see :meth:`receive`).
    """

    __slots__ = ("_future", "_wake", "handoff", "rearmed")

    def __init__(self, handoff: Rendezvous[T]) -> None:
        self.handoff = handoff
        self.rearmed = False
        self._future: asyncio.Future[None] | None = None  # the one being awaited
        self._wake: Callable[[], None] = self._wake_up  # bound once, not per item

    def _wake_up(self) -> None:
        future = self._future
        if future is not None and not future.done():  # done: cancelled with the task
            future.set_result(None)

    async def receive(self) -> T:
        """The next item; ``trio.EndOfChannel`` at the end.

        Cancellation (``CancelledError``): if the task is cancelled in the same loop
        step in which an item was handed over, the item is still returned and the
        cancellation is re-armed, so it hits at the task's next await
        (``asyncio.timeout`` still sees a balanced count).  An item that was committed
        is therefore always received.
        """
        handoff = self.handoff
        if handoff.producer_closed and not handoff.has_item:
            raise trio.EndOfChannel
        loop = asyncio.get_running_loop()
        # Awaited directly (no shield): the producer's wake-up resumes this task in the
        # next loop step.  Cancelling the task cancels the future; ``wake`` allows that.
        future: asyncio.Future[None] = loop.create_future()
        self._future = future
        handoff.arrive(self._wake, spin=SPIN_STEPS)
        try:
            try:
                await future
            except asyncio.CancelledError:
                # A producer committing to us right now must finish handing over first.
                while handoff.busy and not handoff.has_item:
                    again: asyncio.Future[None] = loop.create_future()
                    self._future = again
                    with contextlib.suppress(asyncio.CancelledError):
                        await again
                raise
        except asyncio.CancelledError:
            if not handoff.has_item:
                raise
            task = asyncio.current_task()
            assert task is not None
            task.uncancel()
            task.cancel()  # re-armed: raised at the task's next await
            self.rearmed = True
        finally:
            self._future = None
            handoff.leave()
        return handoff.take()
