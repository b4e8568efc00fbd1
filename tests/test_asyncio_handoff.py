"""The asyncio consumer of a Rendezvous (``_bridges._asyncio_handoff``): trio producers
in a guest run on the loop, an asyncio task receiving."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import outcome
import pytest
import trio

from trio_adk._bridges._asyncio_handoff import AsyncioReceiver
from trio_adk._utils._rendezvous import ConsumerGone, Rendezvous


async def _with_guest(trio_main: Callable[[], Awaitable[Any]],
                      body: Callable[[], Awaitable[None]]) -> Any:
    """Run ``trio_main`` as a trio guest on this loop while ``body`` runs here; return
    what ``trio_main`` returned once both ended."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[outcome.Outcome[Any]] = loop.create_future()
    trio.lowlevel.start_guest_run(
        trio_main, run_sync_soon_threadsafe=loop.call_soon_threadsafe,
        run_sync_soon_not_threadsafe=loop.call_soon, done_callback=done.set_result,
        host_uses_signal_set_wakeup_fd=True)
    await body()
    return (await done).unwrap()


def test_items_arrive_in_order_and_the_producer_waits_for_the_consumer() -> None:
    log: list[str] = []

    async def main() -> None:
        handoff: Rendezvous[int] = Rendezvous()
        receiver = AsyncioReceiver(handoff)

        async def produce() -> None:
            for i in range(5):
                await handoff.deliver(i)
                log.append(f"delivered {i}")
            handoff.close_producer()

        async def consume() -> None:
            while True:
                try:
                    item = await receiver.receive()
                except trio.EndOfChannel:
                    break
                log.append(f"got {item}")
                await asyncio.sleep(0)  # the producer must not move on meanwhile
                await asyncio.sleep(0)
                log.append(f"done {item}")

        await _with_guest(produce, consume)
        assert not receiver.rearmed

    asyncio.run(main())
    expected = [line for i in range(5) for line in (f"got {i}", f"done {i}",
                                                     f"delivered {i}")]
    assert log == expected


def test_cancelled_while_an_item_is_committed_the_item_is_received_and_the_cancel_rearmed(
) -> None:
    committed: list[str] = []
    got: list[str] = []

    async def main() -> None:
        handoff: Rendezvous[str] = Rendezvous()
        receiver = AsyncioReceiver(handoff)
        committing = asyncio.Event()
        release = trio.Event()

        async def commit(item: str) -> None:
            committed.append(item)
            committing.set()
            await release.wait()

        async def produce() -> str:
            try:
                await handoff.deliver("a", commit)
            except ConsumerGone:
                return "consumer gone after the hand-over"
            return "consumer came back"

        async def consume() -> None:
            got.append(await receiver.receive())
            await asyncio.sleep(0)  # the re-armed cancellation hits here
            got.append("not reached")

        async def body() -> None:
            consumer = asyncio.create_task(consume())
            await committing.wait()
            consumer.cancel()
            await asyncio.sleep(0)  # delivered: the consumer waits for the hand-over
            assert not consumer.done()
            release.set()
            with pytest.raises(asyncio.CancelledError):
                await consumer
            handoff.close_consumer()

        assert await _with_guest(produce, body) == "consumer gone after the hand-over"
        assert receiver.rearmed

    asyncio.run(main())
    assert committed == ["a"]
    assert got == ["a"]


def test_cancelled_before_any_hand_over_nothing_is_committed() -> None:
    committed: list[str] = []

    async def main() -> None:
        handoff: Rendezvous[str] = Rendezvous()
        receiver = AsyncioReceiver(handoff)
        first_gone = trio.Event()

        async def commit(item: str) -> None:
            committed.append(item)

        async def produce() -> None:
            await first_gone.wait()
            await handoff.deliver("b", commit)
            handoff.close_producer()

        async def body() -> None:
            first = asyncio.create_task(receiver.receive())
            await asyncio.sleep(0)
            first.cancel()
            with pytest.raises(asyncio.CancelledError):
                await first
            first_gone.set()
            assert committed == []
            assert await receiver.receive() == "b"
            with pytest.raises(trio.EndOfChannel):
                await receiver.receive()

        await _with_guest(produce, body)
        assert not receiver.rearmed

    asyncio.run(main())
    assert committed == ["b"]
