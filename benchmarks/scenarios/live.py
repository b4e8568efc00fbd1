"""live: ``run_live`` against the fake Gemini Live server over TLS: frame-to-echo latency.

The google-genai client, and so google-adk, only speaks Live over ``wss://``, so
``compare.py`` starts a second fake server for this scenario (``--tls-ca``: a throwaway
self-signed certificate; ``--echo-audio``: every realtime audio chunk comes straight back as
model audio) and both frameworks trust it through ``SSL_CERT_FILE``; the base URL is
``https://127.0.0.1:PORT`` in ``GOOGLE_GEMINI_BASE_URL``.

Each side opens one live run with a ``LiveRequestQueue`` and, one frame at a time, sends a
20 ms audio frame (640 bytes of 16 kHz PCM whose first bytes carry a sequence number) with
``send_realtime`` and times until the event carrying its echo reaches the consumer: p50 and
p99 over ``runs`` frames after ``warmup`` unmeasured ones (the first also waits for the
connection). Floor: the same JSON message over a bare trio-websocket connection (TLS, same
server, same trust), timed until its echo is parsed.

Target: the p99 latency each framework adds on top of the floor's p99, trio-adk's at most
half of google-adk's.

Then, in the same process, the memory a live session in flight holds (issue 18 asks for it
side by side with ADK, no target): ``sessions`` live runs opened at once, each with its own
``LiveRequestQueue`` that sent one audio frame, and its echo received, so every connection
is established and idle; measured with ``tracemalloc`` (the Python heap, after a garbage
collection, the same measure as the memory scenario; traced from just before a one-session
warm-up so the frameworks' lazy caches are not counted), the growth divided by the sessions.
It counts everything a user's process keeps per live session (the run, its queue, its stored
session, the websocket and its buffers as Python objects) but not OpenSSL's own allocations,
so the resident set growth per session is recorded too (``rss_kib_per_live_session``, coarser:
the allocator's rounding). Then every queue is closed and every run cancelled (the consumers
walk away).
"""

from __future__ import annotations

import os
import struct
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from scenarios._common import (
    Context,
    Medians,
    Row,
    SideResult,
    Size,
    at_most,
    cli,
    current_rss_mib,
    get,
    ms_quantiles,
    sample_runs,
    scaled,
)
from scenarios.memory import traced

NAME = "live"
WHAT = "run_live, fake server over TLS: frame-to-echo p50/p99"
FLOOR = "raw websocket round trip (TLS)"
NEEDS_TLS_SERVER = True
ADDED_SHARE = 0.5  # p99 added latency at most half of ADK's
TARGET = f"p99 added <= {ADDED_SHARE:g}x ADK's"
MODEL = "gemini-2.0-flash-live-001"
MIME = "audio/pcm;rate=16000"
FRAME_BYTES = 640  # 20 ms of 16-bit mono PCM at 16 kHz
LIVE_PATH = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
# Sub-millisecond tails move with whatever else the machine does: more, shorter rounds.
ROUNDS = 5
SIZES: dict[str, Size] = {
    "quick": {"runs": 5, "warmup": 2, "sessions": 3},
    "full": {"runs": 3000, "warmup": 100, "sessions": 50},
}


def frame(seq: int) -> bytes:
    """A 20 ms frame of silence whose first four bytes are ``seq``."""
    return struct.pack("<I", seq) + bytes(FRAME_BYTES - 4)


def frame_seq(data: bytes) -> int:
    """The sequence number :func:`frame` put into ``data``."""
    seq: int = struct.unpack_from("<I", data)[0]
    return seq


def echoed(event: Any) -> list[int]:
    """The sequence numbers of the audio frames an event (of either framework) carries."""
    if event.content is None or not event.content.parts:
        return []
    return [frame_seq(part.inline_data.data) for part in event.content.parts
            if part.inline_data is not None and part.inline_data.data]


Snapshot = Callable[[], tuple[int, float]]
"""Taken while the live sessions are held: (traced bytes, RSS in MiB)."""


def snapshot() -> tuple[int, float]:
    """The traced bytes after a garbage collection, and the resident set size in MiB."""
    return traced(), current_rss_mib()


async def per_live_session(sessions: int, hold: Callable[[int, Snapshot], Any]) -> SideResult:
    """The memory figures of ``sessions`` live sessions in flight, the same for both
    frameworks: ``await hold(n, take)`` opens ``n`` live sessions at once, calls ``take()``
    once every one has its echo, then closes them all and returns what ``take`` returned."""
    tracemalloc.start()
    try:
        await hold(1, snapshot)  # warm-up: lazy caches are filled before the baseline
        before_bytes, before_rss = snapshot()
        held_bytes, held_rss = await hold(sessions, snapshot)
        after_bytes = traced()
    finally:
        tracemalloc.stop()
    return {"bytes_per_live_session": (held_bytes - before_bytes) / sessions,
            "rss_kib_per_live_session": (held_rss - before_rss) * 1024 / sessions,
            "bytes_left_per_closed_session": (after_bytes - before_bytes) / sessions,
            "live_sessions": sessions}


def trio_side(size: Size) -> SideResult:
    import trio
    from google.genai import types

    from trio_adk import Agent, InMemoryRunner
    from trio_adk.agents import LiveRequestQueue, RunConfig

    runner = InMemoryRunner(Agent(name="bench", model=MODEL, instruction="Echo."),
                            app_name="bench")
    queue = LiveRequestQueue()
    waiting: dict[int, trio.Event] = {}
    arrived: dict[int, float] = {}

    async def consume() -> None:
        session = await runner.session_service.create_session(app_name="bench", user_id="u")
        async for event in runner.run_live(user_id="u", session_id=session.id,
                                           live_request_queue=queue,
                                           run_config=RunConfig(response_modalities=["AUDIO"])):
            now = time.perf_counter()
            for seq in echoed(event):
                if seq in waiting:
                    arrived[seq] = now
                    waiting.pop(seq).set()

    sent = 0

    async def ping(_: str) -> float:
        nonlocal sent
        seq, sent = sent, sent + 1
        done = waiting[seq] = trio.Event()
        start = time.perf_counter()
        queue.send_realtime(types.Blob(data=frame(seq), mime_type=MIME))
        await done.wait()
        return arrived[seq] - start

    async def one_live_session(live_queue: LiveRequestQueue, echo: trio.Event) -> None:
        session = await runner.session_service.create_session(app_name="bench", user_id="u")
        live_queue.send_realtime(types.Blob(data=frame(0), mime_type=MIME))
        async for event in runner.run_live(user_id="u", session_id=session.id,
                                           live_request_queue=live_queue,
                                           run_config=RunConfig(response_modalities=["AUDIO"])):
            if echoed(event):
                echo.set()

    async def hold(n: int, take: Snapshot) -> tuple[int, float]:
        queues = [LiveRequestQueue() for _ in range(n)]
        echoes = [trio.Event() for _ in range(n)]
        async with trio.open_nursery() as nursery:
            for live_queue, echo in zip(queues, echoes, strict=True):
                nursery.start_soon(one_live_session, live_queue, echo)
            for echo in echoes:
                await echo.wait()
            figures = take()
            for live_queue in queues:
                live_queue.close()
            nursery.cancel_scope.cancel()  # the consumers walk away: the runs close
        return figures

    async def main() -> SideResult:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(consume)
            samples = await sample_runs(ping, size)
            nursery.cancel_scope.cancel()  # the consumer walks away: the run closes
        memory = await per_live_session(size["sessions"], hold)
        await runner.close()
        return {**ms_quantiles(samples, "echo_"), **memory}

    return trio.run(main)


def adk_side(size: Size) -> SideResult:
    import asyncio

    from google.genai import types

    from scenarios._adk_app import Agent, InMemoryRunner, LiveRequestQueue, RunConfig

    runner = InMemoryRunner(agent=Agent(name="bench", model=MODEL, instruction="Echo."),
                            app_name="bench")
    queue = LiveRequestQueue()
    waiting: dict[int, asyncio.Future[float]] = {}

    async def consume() -> None:
        session = await runner.session_service.create_session(app_name="bench", user_id="u")
        async for event in runner.run_live(user_id="u", session_id=session.id,
                                           live_request_queue=queue,
                                           run_config=RunConfig(response_modalities=["AUDIO"])):
            now = time.perf_counter()
            for seq in echoed(event):
                if seq in waiting:
                    waiting.pop(seq).set_result(now)

    sent = 0

    async def ping(_: str) -> float:
        nonlocal sent
        seq, sent = sent, sent + 1
        done = waiting[seq] = asyncio.get_running_loop().create_future()
        start = time.perf_counter()
        queue.send_realtime(types.Blob(data=frame(seq), mime_type=MIME))
        return await done - start

    async def one_live_session(live_queue: Any, echo: asyncio.Event) -> None:
        session = await runner.session_service.create_session(app_name="bench", user_id="u")
        live_queue.send_realtime(types.Blob(data=frame(0), mime_type=MIME))
        async for event in runner.run_live(user_id="u", session_id=session.id,
                                           live_request_queue=live_queue,
                                           run_config=RunConfig(response_modalities=["AUDIO"])):
            if echoed(event):
                echo.set()

    async def hold(n: int, take: Snapshot) -> tuple[int, float]:
        queues = [LiveRequestQueue() for _ in range(n)]
        echoes = [asyncio.Event() for _ in range(n)]
        consumers = [asyncio.create_task(one_live_session(live_queue, echo))
                     for live_queue, echo in zip(queues, echoes, strict=True)]
        waits = [asyncio.create_task(echo.wait()) for echo in echoes]
        try:
            # A consumer that fails before its echo ends the wait with its error.
            while not all(wait.done() for wait in waits):
                await asyncio.wait([*waits, *consumers], return_when=asyncio.FIRST_COMPLETED)
                for consumer in consumers:
                    if consumer.done():
                        consumer.result()
            waits.clear()
            return take()
        finally:
            for live_queue in queues:
                live_queue.close()
            for task in [*waits, *consumers]:
                task.cancel()  # the consumers walk away
            await asyncio.gather(*waits, *consumers, return_exceptions=True)

    async def main() -> SideResult:
        consumer = asyncio.create_task(consume())
        try:
            samples = await sample_runs(ping, size)
        finally:
            consumer.cancel()  # the consumer walks away
            try:
                await consumer
            except asyncio.CancelledError:
                pass
        memory = await per_live_session(size["sessions"], hold)
        await runner.close()
        return {**ms_quantiles(samples, "echo_"), **memory}

    return asyncio.run(main())


def floor_side(size: Size) -> SideResult:
    """The same realtime-input message over a bare trio-websocket connection."""
    import base64
    import json
    import ssl

    import trio
    import trio_websocket

    base = os.environ["GOOGLE_GEMINI_BASE_URL"].rstrip("/")
    url = "wss://" + base.split("://", 1)[1] + LIVE_PATH
    context = ssl.create_default_context(cafile=os.environ["SSL_CERT_FILE"])
    headers = [(b"x-goog-api-key", os.environ.get("GOOGLE_API_KEY", "bench").encode())]

    async def main() -> SideResult:
        async with trio_websocket.open_websocket_url(url, ssl_context=context,
                                                     extra_headers=headers) as ws:
            await ws.send_message(json.dumps({"setup": {"model": f"models/{MODEL}"}}))
            await ws.get_message()  # setupComplete
            sent = 0

            async def ping(_: str) -> float:
                nonlocal sent
                seq, sent = sent, sent + 1
                start = time.perf_counter()
                data = base64.b64encode(frame(seq)).decode("ascii")
                await ws.send_message(json.dumps(
                    {"realtimeInput": {"audio": {"data": data, "mimeType": MIME}}}))
                while True:
                    reply = json.loads(await ws.get_message())
                    parts = reply.get("serverContent", {}).get("modelTurn", {}).get("parts", [])
                    if any(frame_seq(base64.b64decode(p["inlineData"]["data"])) == seq
                           for p in parts if "inlineData" in p):
                        return time.perf_counter() - start

            samples = await sample_runs(ping, size)
        return ms_quantiles(samples, "echo_")

    return trio.run(main)


def _added(side: SideResult | None, floor: SideResult | None, key: str) -> float | None:
    value, base = get(side, key), get(floor, key)
    return None if value is None or base is None else value - base


def rows(medians: Medians, size: Size, context: Context) -> list[Row]:
    ours, adk, floor = medians["trio"], medians["adk"], medians["floor"]
    out = [Row(metric="frame to echo event, p50", unit="ms", trio=get(ours, "echo_p50_ms"),
               adk=get(adk, "echo_p50_ms"), floor=get(floor, "echo_p50_ms")),
           Row(metric="frame to echo event, p99", unit="ms", trio=get(ours, "echo_p99_ms"),
               adk=get(adk, "echo_p99_ms"), floor=get(floor, "echo_p99_ms"))]
    added = Row(metric="p99 added to the floor's p99", unit="ms",
                trio=_added(ours, floor, "echo_p99_ms"), adk=_added(adk, floor, "echo_p99_ms"),
                target=TARGET)
    added.checks = [at_most(added.trio, scaled(added.adk, ADDED_SHARE))]
    memory = Row(metric=f"memory per live session ({size['sessions']:,} idle at once)",
                 unit="KiB", trio=scaled(get(ours, "bytes_per_live_session"), 1 / 1024),
                 adk=scaled(get(adk, "bytes_per_live_session"), 1 / 1024))
    return [*out, added, memory]


if __name__ == "__main__":
    cli(SIZES, {"trio": trio_side, "adk": adk_side, "floor": floor_side})
