"""A one-consumer rendezvous that lets the producer commit only to a waiting consumer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

import trio

T = TypeVar("T")


class ConsumerGone(trio.BrokenResourceError):
    """The consumer of a :class:`Rendezvous` has gone; raised to producers."""


class Rendezvous(Generic[T]):
    """Hands items from producers (trio tasks) to one consumer, one at a time, no buffer.

    ``deliver(item, commit)`` waits until the consumer is blocked in a receive, then
    runs ``commit(item)`` and hands the item over.  When ``commit`` does not await (as
    with the in-memory session store), commit and hand-over happen with no checkpoint
    in between: an item is committed if and only if the consumer receives it.

    Pull semantics: ``deliver`` returns only when the consumer comes back for the next
    item (or has gone), so a producer does nothing after an item until the consumer has
    finished with it, as with a plain async generator.

    The consumer may be a trio task (:meth:`receive`) or code of another event loop on
    the thread hosting this trio run as a guest, through :meth:`arrive`, :meth:`leave`
    and :meth:`take` (asyncio's is in ``_bridges._asyncio_handoff``).  Everything runs
    on the thread of one trio run.
    """

    def __init__(self) -> None:
        self._consumer_waiting = False
        self._wake: Callable[[], object] | None = None
        self._producer_lot = trio.lowlevel.ParkingLot()
        # Producers that handed an item over and wait for the consumer to come back.
        self._handed_lot = trio.lowlevel.ParkingLot()
        self._item: T | None = None
        self._has_item = False
        self._producer_closed = False
        self._consumer_closed = False
        self._busy = False  # a producer is between "consumer waiting" and hand-over
        # Checkpoints a producer spins through waiting for the consumer to come back.
        self._spin = 0

    async def deliver(
        self, item: T, commit: Callable[[T], Awaitable[object]] | None = None
    ) -> None:
        """Give ``item`` to the consumer, committing it first; returns once the consumer
        came back for the next item.

        Raises :class:`ConsumerGone` when the consumer has gone (before or after taking
        the item).  Cancellation while waiting for the consumer: nothing was committed
        or delivered; while waiting for it to come back: the item was delivered.
        """
        while not self._consumer_waiting or self._busy:
            if self._consumer_closed:
                raise ConsumerGone("the consumer has gone")
            await self._producer_lot.park()
        # Fast path: the consumer is waiting; no checkpoint until hand-over.
        self._busy = True
        try:
            if commit is not None:
                await commit(item)
            if not self._consumer_waiting:
                # Only possible when ``commit`` awaited and the consumer left meanwhile.
                raise ConsumerGone("the consumer left while the item was committed")
            self._item = item
            self._has_item = True
            self._consumer_waiting = False
            wake = self._wake
            self._wake = None
            assert wake is not None
            wake()
        finally:
            self._busy = False
            if self._producer_lot:
                self._producer_lot.unpark()
        # A consumer on another loop of this thread (see ``arrive``) usually comes back
        # within a few loop steps: stay runnable that long, so this trio run does not go
        # idle (an idle guest run waits for I/O in a worker thread, a round trip of about
        # 0.1 ms per item).
        spins = self._spin
        while not self._consumer_waiting:
            if self._consumer_closed:
                raise ConsumerGone("the consumer has gone")
            if spins:
                spins -= 1
                await trio.lowlevel.checkpoint()
            else:
                await self._handed_lot.park()

    def take(self) -> T:
        """The item handed over; ``trio.EndOfChannel`` when there is none (the producer
        closed)."""
        if not self._has_item:
            raise trio.EndOfChannel
        item = self._item
        self._item = None
        self._has_item = False
        return item  # type: ignore[return-value]

    async def receive(self) -> T:
        """The next item (trio consumer); ``trio.EndOfChannel`` once the producer closed.

        Cancellation: no item is lost.  A cancelled receive stops waiting at the very
        moment its cancellation is delivered, so no producer can commit to it afterwards.
        """
        if self._producer_closed and not self._has_item:
            await trio.lowlevel.checkpoint()
            raise trio.EndOfChannel
        task = trio.lowlevel.current_task()

        def wake() -> None:
            trio.lowlevel.reschedule(task)

        def abort(raise_cancel: trio.lowlevel.RaiseCancelT) -> trio.lowlevel.Abort:
            if self._busy:
                # A producer is committing to us: the hand-over completes first (like
                # trio's memory channels, receiving is atomic with respect to cancellation),
                # and the cancellation is delivered at our next checkpoint.
                return trio.lowlevel.Abort.FAILED
            self._consumer_waiting = False
            self._wake = None
            return trio.lowlevel.Abort.SUCCEEDED

        self._wake = wake
        self._consumer_waiting = True
        self._handed_lot.unpark_all()
        self._producer_lot.unpark()
        await trio.lowlevel.wait_task_rescheduled(abort)
        return self.take()

    # The consumer side for a consumer that is not a trio task (a bridge to another
    # event loop running on this thread, see ``_bridges``): it calls ``arrive`` when it
    # starts waiting, is woken through ``wake``, and calls ``leave`` when it stops.

    @property
    def producer_closed(self) -> bool:
        return self._producer_closed

    @property
    def has_item(self) -> bool:
        """An item was handed over and not taken yet."""
        return self._has_item

    @property
    def busy(self) -> bool:
        """A producer is committing an item to the waiting consumer (the hand-over
        completes, or fails, before the producer next lets the consumer go)."""
        return self._busy

    def arrive(self, wake: Callable[[], object], *, spin: int = 0) -> None:
        """The consumer waits for an item: ``wake()`` is called (from a trio task on
        this thread) once an item was handed over or the producer closed.

        Called again while waiting, it only replaces ``wake``.  ``spin``: after handing
        an item over, a producer stays runnable for that many checkpoints waiting for
        the consumer to come back, before it parks (sticky; 0 for trio consumers).
        """
        self._spin = spin
        self._wake = wake
        self._consumer_waiting = True
        if self._handed_lot:
            self._handed_lot.unpark_all()
        if self._producer_lot:
            self._producer_lot.unpark()

    def leave(self) -> None:
        """The consumer stopped waiting (woken, or interrupted)."""
        self._consumer_waiting = False
        self._wake = None

    def close_producer(self) -> None:
        """No more items: a waiting or later receive raises ``EndOfChannel``."""
        self._producer_closed = True
        wake = self._wake
        if wake is not None:
            self._wake = None
            self._consumer_waiting = False
            wake()

    def close_consumer(self) -> None:
        """The consumer has gone: producers raise :class:`ConsumerGone`, and a receive
        still parked (a sync caller's abandoned pull) ends with ``EndOfChannel``."""
        self._consumer_closed = True
        self._producer_lot.unpark_all()
        self._handed_lot.unpark_all()
        wake = self._wake
        if wake is not None and not self._has_item:
            self._wake = None
            self._consumer_waiting = False
            wake()
