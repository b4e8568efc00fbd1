"""LiveRequestQueue: order, bounded capacity, backpressure, sticky close, thread and
asyncio producers (trio-design.md section 4)."""

from __future__ import annotations

import asyncio
import threading

import pytest
import trio
import trio.testing
from google.genai import types

from helpers import user_text
from trio_adk.agents import LiveRequest, LiveRequestQueue, QueueFull


def blob(i: int) -> types.Blob:
    return types.Blob(mime_type="audio/pcm;rate=16000", data=i.to_bytes(4, "big"))


def blob_index(request: LiveRequest) -> int:
    assert request.blob is not None and request.blob.data is not None
    return int.from_bytes(request.blob.data, "big")


def kind(request: LiveRequest) -> str:
    if request.close:
        return "close"
    if request.content is not None:
        parts = request.content.parts or []
        return f"content:{parts[0].text}"
    if request.activity_start is not None:
        return "activity_start"
    if request.activity_end is not None:
        return "activity_end"
    if request.audio_stream_end:
        return "audio_stream_end"
    if request.blob is not None:
        return f"blob:{blob_index(request)}"
    return "empty"


async def drain(queue: LiveRequestQueue) -> list[str]:
    """Everything queued, up to and including the close request."""
    got: list[str] = []
    while True:
        request = await queue.get()
        got.append(kind(request))
        if request.close:
            return got


def run_in_thread(fn: object) -> threading.Thread:
    assert callable(fn)
    thread = threading.Thread(target=fn, name="test-producer")
    thread.start()
    return thread


# ---- construction ----------------------------------------------------------------------------


def test_constructed_and_fed_outside_any_loop() -> None:
    queue = LiveRequestQueue()
    assert 256 == queue.capacity
    assert not queue.closed
    assert not queue.bound
    queue.send_content(user_text("early"))
    queue.send_activity_start()
    queue.close()
    assert "closed" in repr(queue) and "2/256 queued" in repr(queue)
    assert ["content:early", "activity_start", "close"] == trio.run(drain, queue)


@pytest.mark.parametrize("capacity", [0, -1])
def test_capacity_must_be_positive_int_or_inf(capacity: object) -> None:
    with pytest.raises(ValueError, match="capacity"):
        LiveRequestQueue(capacity)  # type: ignore[arg-type]


def test_repr_shows_state() -> None:
    queue = LiveRequestQueue(capacity=4)
    queue.send_realtime(blob(1))
    assert "<LiveRequestQueue open, unbound, 1/4 queued>" == repr(queue)
    queue.close()
    assert repr(queue).startswith("<LiveRequestQueue closed")


# ---- order, capacity, backpressure -----------------------------------------------------------


async def test_fifo_order_of_every_request_kind() -> None:
    queue = LiveRequestQueue()
    queue.send_content(user_text("a"))
    queue.send_realtime(blob(1))
    queue.send_activity_start()
    queue.send_realtime(blob(2))
    queue.send_activity_end()
    queue.send_audio_stream_end()
    queue.send(LiveRequest(content=user_text("b")))
    await queue.asend(LiveRequest(blob=blob(3)))
    queue.close()
    assert ["content:a", "blob:1", "activity_start", "blob:2", "activity_end",
            "audio_stream_end", "content:b", "blob:3", "close"] == await drain(queue)


async def test_full_queue_raises_queue_full_and_keeps_its_contents() -> None:
    queue = LiveRequestQueue(capacity=2)
    queue.send_content(user_text("one"))
    queue.send_realtime(blob(2))
    with pytest.raises(QueueFull):
        queue.send_realtime(blob(3))
    with pytest.raises(QueueFull):
        queue.send_content(user_text("lost?"))
    with pytest.raises(QueueFull):
        queue.send_activity_start()
    with pytest.raises(trio.WouldBlock):  # QueueFull is a WouldBlock
        queue.send_audio_stream_end()
    assert "2/2 queued" in repr(queue)
    assert "content:one" == kind(await queue.get())
    queue.send_activity_end()  # room again
    queue.close()
    assert ["blob:2", "activity_end", "close"] == await drain(queue)


async def test_asend_waits_for_room(autojump_clock: trio.abc.Clock) -> None:
    queue = LiveRequestQueue(capacity=1)
    queue.send_realtime(blob(1))
    done = trio.Event()

    async def producer() -> None:
        await queue.asend(LiveRequest(blob=blob(2)))
        done.set()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(producer)
        await trio.sleep(10)
        assert not done.is_set()
        assert "blob:1" == kind(await queue.get())
        with trio.fail_after(1):
            await done.wait()
    queue.close()
    assert ["blob:2", "close"] == await drain(queue)


async def test_asend_is_cancellable_without_enqueuing(autojump_clock: trio.abc.Clock) -> None:
    queue = LiveRequestQueue(capacity=1)
    queue.send_realtime(blob(1))
    with trio.move_on_after(5) as scope:
        await queue.asend(LiveRequest(blob=blob(2)))
    assert scope.cancelled_caught
    queue.close()
    assert ["blob:1", "close"] == await drain(queue)


# ---- close -----------------------------------------------------------------------------------


async def test_close_is_sticky_and_queued_requests_are_still_delivered() -> None:
    queue = LiveRequestQueue()
    queue.send_content(user_text("before"))
    queue.send_realtime(blob(1))
    queue.close()
    assert queue.closed
    queue.close()  # idempotent
    with pytest.raises(trio.ClosedResourceError):
        queue.send_content(user_text("after"))
    with pytest.raises(trio.ClosedResourceError):
        queue.send_realtime(blob(2))
    with pytest.raises(trio.ClosedResourceError):
        queue.send_activity_start()
    with pytest.raises(trio.ClosedResourceError):
        await queue.asend(LiveRequest(blob=blob(3)))
    with pytest.raises(trio.ClosedResourceError):
        queue.send_threadsafe(LiveRequest(blob=blob(4)), block=True)
    assert ["content:before", "blob:1", "close"] == await drain(queue)
    assert (await queue.get()).close  # keeps answering close
    assert queue.closed


async def test_close_request_closes_the_queue() -> None:
    queue = LiveRequestQueue()
    queue.send_realtime(blob(1))
    queue.send(LiveRequest(close=True))
    assert queue.closed
    with pytest.raises(trio.ClosedResourceError):
        queue.send_realtime(blob(2))
    assert ["blob:1", "close"] == await drain(queue)

    other = LiveRequestQueue()
    await other.asend(LiveRequest(close=True))
    assert other.closed
    assert ["close"] == await drain(other)


async def test_close_wakes_a_waiting_reader() -> None:
    queue = LiveRequestQueue()
    got: list[str] = []

    async def reader() -> None:
        got.extend(await drain(queue))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(reader)
        await trio.testing.wait_all_tasks_blocked()
        queue.close()
    assert ["close"] == got


# ---- other threads ---------------------------------------------------------------------------


async def test_200_requests_from_a_plain_thread_arrive_in_order() -> None:
    queue = LiveRequestQueue()
    got: list[str] = []

    def produce() -> None:
        queue.send_activity_start()
        for i in range(200):
            queue.send_realtime(blob(i))  # the audio-callback shape: plain sync call
        queue.send_activity_end()
        queue.close()

    async def reader() -> None:
        got.extend(await drain(queue))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(reader)
        await trio.testing.wait_all_tasks_blocked()
        assert queue.bound
        thread = run_in_thread(produce)
        await trio.to_thread.run_sync(thread.join)
    assert (["activity_start"] + [f"blob:{i}" for i in range(200)]
            + ["activity_end", "close"]) == got


async def test_send_threadsafe_block_raises_queue_full_in_the_thread() -> None:
    queue = LiveRequestQueue(capacity=1)
    queue.bind()
    queue.send_realtime(blob(1))
    caught: list[BaseException] = []

    def produce() -> None:
        try:
            queue.send_threadsafe(LiveRequest(blob=blob(2)), block=True)
        except BaseException as exc:
            caught.append(exc)

    thread = run_in_thread(produce)
    await trio.to_thread.run_sync(thread.join)
    assert [QueueFull] == [type(exc) for exc in caught]

    # room again: the blocking send succeeds and is queued behind the first
    assert "blob:1" == kind(await queue.get())
    thread = run_in_thread(lambda: queue.send_threadsafe(LiveRequest(blob=blob(3)), block=True))
    await trio.to_thread.run_sync(thread.join)
    assert "1/1 queued" in repr(queue)
    queue.close()
    assert ["blob:3", "close"] == await drain(queue)


async def test_a_full_queue_raises_in_the_sending_thread_without_blocking() -> None:
    """A plain ``send_realtime`` from another thread (the audio-callback shape) on a full
    queue raises ``QueueFull`` in that thread, at once; it used to be dropped silently
    (only counted).  The queued request is intact."""
    queue = LiveRequestQueue(capacity=1)
    queue.bind()
    queue.send_realtime(blob(1))
    caught: list[BaseException] = []

    def produce() -> None:
        try:
            queue.send_realtime(blob(2))
        except BaseException as exc:
            caught.append(exc)

    thread = run_in_thread(produce)
    await trio.to_thread.run_sync(thread.join)
    assert [QueueFull] == [type(exc) for exc in caught]
    queue.close()
    assert ["blob:1", "close"] == await drain(queue)  # the queued one is intact


async def test_requests_on_their_way_count_against_capacity_and_arrive_before_close() -> None:
    """Requests accepted from another thread but not yet handed to the run take room
    (a further send is refused), and a close() on the run's own thread lands behind
    them: nothing accepted is lost."""
    queue = LiveRequestQueue(capacity=3)
    queue.bind()
    caught: list[BaseException] = []

    def produce() -> None:
        for i in range(3):
            queue.send_realtime(blob(i))  # accepted: on their way to this run
        try:
            queue.send_realtime(blob(3))
        except BaseException as exc:
            caught.append(exc)

    # The trio thread does not run while the thread sends (it blocks in join), so the
    # three requests are still on their way when close() is called.
    thread = run_in_thread(produce)
    thread.join()
    assert [QueueFull] == [type(exc) for exc in caught]
    queue.close()
    assert ["blob:0", "blob:1", "blob:2", "close"] == await drain(queue)


async def test_a_task_waiting_in_asend_gets_room_or_the_close() -> None:
    queue = LiveRequestQueue(capacity=1)
    queue.send_realtime(blob(0))
    outcomes: list[str] = []

    async def sender(i: int) -> None:
        try:
            await queue.asend(LiveRequest(blob=blob(i)))
            outcomes.append(f"sent {i}")
        except trio.ClosedResourceError:
            outcomes.append(f"closed {i}")

    async with trio.open_nursery() as nursery:
        nursery.start_soon(sender, 1)
        await trio.testing.wait_all_tasks_blocked()
        nursery.start_soon(sender, 2)
        await trio.testing.wait_all_tasks_blocked()
        assert [] == outcomes
        assert "blob:0" == kind(await queue.get())
        await trio.testing.wait_all_tasks_blocked()
        assert ["sent 1"] == outcomes
        queue.close()
    assert ["sent 1", "closed 2"] == outcomes
    assert ["blob:1", "close"] == await drain(queue)


async def test_send_threadsafe_on_the_trio_thread_sends_directly() -> None:
    queue = LiveRequestQueue(capacity=1)
    queue.bind()
    queue.send_threadsafe(LiveRequest(blob=blob(1)), block=True)
    with pytest.raises(QueueFull):
        queue.send_threadsafe(LiveRequest(blob=blob(2)), block=True)
    with pytest.raises(QueueFull):
        queue.send_threadsafe(LiveRequest(blob=blob(3)))
    queue.send_threadsafe(LiveRequest(close=True))
    assert ["blob:1", "close"] == await drain(queue)


def test_thread_sends_before_and_after_a_run() -> None:
    """Unbound: a thread queues directly.  After the bound run finished, a thread's send
    falls back to queueing directly and a later run reads it."""
    queue = LiveRequestQueue()
    thread = run_in_thread(lambda: queue.send_content(user_text("unbound")))
    thread.join()

    async def first() -> str:
        return kind(await queue.get())

    assert "content:unbound" == trio.run(first)
    assert queue.bound
    thread = run_in_thread(lambda: queue.send_realtime(blob(7)))
    thread.join()
    thread = run_in_thread(queue.close)
    thread.join()
    assert ["blob:7", "close"] == trio.run(drain, queue)


# ---- asyncio ---------------------------------------------------------------------------------


def test_awaitables_and_thread_producer_under_asyncio() -> None:
    async def main() -> list[str]:
        queue = LiveRequestQueue(capacity=32)  # room for all: block=True never overflows
        await queue.asend(LiveRequest(content=user_text("hello")))
        queue.send_activity_start()  # same thread as the guest run: direct
        first = [kind(await queue.get()), kind(await queue.get())]
        assert queue.bound

        def produce() -> None:
            for i in range(20):
                queue.send_threadsafe(LiveRequest(blob=blob(i)), block=True)
            queue.close()

        thread = run_in_thread(produce)
        got: list[str] = []
        while True:
            request = await queue.get()
            got.append(kind(request))
            if request.close:
                break
        await asyncio.to_thread(thread.join)
        with pytest.raises(trio.ClosedResourceError):
            await queue.asend(LiveRequest(blob=blob(99)))
        return first + got

    assert (["content:hello", "activity_start"] + [f"blob:{i}" for i in range(20)]
            + ["close"]) == asyncio.run(main())
    assert not trio.lowlevel.in_trio_run()
