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
"""

from __future__ import annotations

import os
import struct
import time
from typing import Any

from scenarios._common import (
    Context,
    Medians,
    Row,
    SideResult,
    Size,
    at_most,
    cli,
    get,
    ms_quantiles,
    sample_runs,
    scaled,
)

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
    "quick": {"runs": 5, "warmup": 2},
    "full": {"runs": 3000, "warmup": 100},
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

    async def main() -> SideResult:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(consume)
            samples = await sample_runs(ping, size)
            nursery.cancel_scope.cancel()  # the consumer walks away: the run closes
        await runner.close()
        return ms_quantiles(samples, "echo_")

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
        await runner.close()
        return ms_quantiles(samples, "echo_")

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
    return [*out, added]


if __name__ == "__main__":
    cli(SIZES, {"trio": trio_side, "adk": adk_side, "floor": floor_side})
