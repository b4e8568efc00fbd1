"""streaming: one-turn SSE runs (``StreamingMode.SSE``) against the fake Gemini server on
loopback, its own process, shared by both frameworks and the floor.

Both frameworks find the server the way their users would: ``GOOGLE_GEMINI_BASE_URL`` (and any
``GOOGLE_API_KEY``) in the environment, set by ``compare.py``, with a plain model name. The
server's built-in responder echoes the user's text in three streamed chunks.

Figures: time to the first partial event and to the final event of ``runs`` sequential runs
(each on its own session), p50 and p99. Floor: the same request sent with a bare
``httpx.AsyncClient`` (kept open, as the frameworks keep theirs): time to the first ``data:``
line and to the end of the stream.
"""

from __future__ import annotations

import os
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

NAME = "streaming"
WHAT = "SSE run against the fake Gemini server on loopback: first partial and final event"
FLOOR = "bare httpx streaming request to the same server"
NEEDS_SERVER = True
MODEL = "gemini-2.0-flash"
TEXT = "Tell me something about streaming responses over server-sent events."
SIZES: dict[str, Size] = {
    "quick": {"runs": 5, "warmup": 2},
    "full": {"runs": 300, "warmup": 20},
}
FLOOR_SLACK = 1.10


def _figures(samples: list[tuple[float, float]]) -> SideResult:
    """p50/p99 of the time to the first partial and to the final event, from (first, final)
    in seconds per run."""
    return {**ms_quantiles([first for first, _ in samples], "first_"),
            **ms_quantiles([final for _, final in samples], "final_")}


def _timed_events(events: list[tuple[float, Any]], start: float) -> tuple[float, float]:
    """(time to first partial, time to final) from (arrival, event) pairs."""
    partials = [at for at, event in events if event.partial]
    if not partials:
        raise RuntimeError("the run streamed no partial event: is the run SSE?")
    return partials[0] - start, events[-1][0] - start


def trio_side(size: Size) -> SideResult:
    import trio
    from google.genai import types

    from trio_adk import Agent, InMemoryRunner
    from trio_adk.agents import RunConfig, StreamingMode

    message = types.Content(role="user", parts=[types.Part(text=TEXT)])
    runner = InMemoryRunner(Agent(name="bench", model=MODEL), app_name="bench")
    config = RunConfig(streaming_mode=StreamingMode.SSE)

    async def one_run(session_id: str) -> tuple[float, float]:
        await runner.session_service.create_session(app_name="bench", user_id="u",
                                                    session_id=session_id)
        events: list[tuple[float, Any]] = []
        start = time.perf_counter()
        async for event in runner.run_async(user_id="u", session_id=session_id,
                                            new_message=message, run_config=config):
            events.append((time.perf_counter(), event))
        return _timed_events(events, start)

    async def main() -> SideResult:
        samples = await sample_runs(one_run, size)
        await runner.close()
        return _figures(samples)

    return trio.run(main)


def adk_side(size: Size) -> SideResult:
    import asyncio

    from google.genai import types

    from scenarios._adk_app import Agent, InMemoryRunner, RunConfig, StreamingMode

    message = types.Content(role="user", parts=[types.Part(text=TEXT)])
    runner = InMemoryRunner(agent=Agent(name="bench", model=MODEL), app_name="bench")
    config = RunConfig(streaming_mode=StreamingMode.SSE)

    async def one_run(session_id: str) -> tuple[float, float]:
        await runner.session_service.create_session(app_name="bench", user_id="u",
                                                    session_id=session_id)
        events: list[tuple[float, Any]] = []
        start = time.perf_counter()
        async for event in runner.run_async(user_id="u", session_id=session_id,
                                            new_message=message, run_config=config):
            events.append((time.perf_counter(), event))
        return _timed_events(events, start)

    async def main() -> SideResult:
        samples = await sample_runs(one_run, size)
        await runner.close()
        return _figures(samples)

    return asyncio.run(main())


def floor_side(size: Size) -> SideResult:
    """The same SSE request with a bare httpx client: first ``data:`` line, end of stream."""
    import json

    import httpx
    import trio

    base = os.environ["GOOGLE_GEMINI_BASE_URL"].rstrip("/")
    url = f"{base}/v1beta/models/{MODEL}:streamGenerateContent"
    body = {
        "contents": [{"role": "user", "parts": [{"text": TEXT}]}],
        "systemInstruction": {"role": "user", "parts": [
            {"text": 'You are an agent. Your internal name is "bench".'}]},
    }
    headers = {"x-goog-api-key": os.environ.get("GOOGLE_API_KEY", "bench")}

    async def main() -> SideResult:
        async with httpx.AsyncClient(timeout=60) as client:

            async def one_request() -> tuple[float, float]:
                first = 0.0
                start = time.perf_counter()
                async with client.stream("POST", url, params={"alt": "sse"}, json=body,
                                         headers=headers) as response:
                    response.raise_for_status()
                    async for line in response.aiter_lines():
                        if line.startswith("data:"):
                            json.loads(line[5:])
                            if not first:
                                first = time.perf_counter() - start
                return first, time.perf_counter() - start

            samples = await sample_runs(lambda _session_id: one_request(), size)
        return _figures(samples)

    return trio.run(main)


def rows(medians: Medians, size: Size, context: Context) -> list[Row]:
    ours, adk, floor = medians["trio"], medians["adk"], medians["floor"]
    out = []
    for key, label in (("first_p50_ms", "first partial event, p50"),
                       ("first_p99_ms", "first partial event, p99"),
                       ("final_p50_ms", "final event, p50"),
                       ("final_p99_ms", "final event, p99")):
        row = Row(metric=label, unit="ms", trio=get(ours, key), adk=get(adk, key),
                  floor=get(floor, key), target="<= ADK and <= 1.1x floor")
        row.checks = [at_most(row.trio, row.adk),
                      at_most(row.trio, scaled(row.floor, FLOOR_SLACK))]
        out.append(row)
    return out


if __name__ == "__main__":
    cli(SIZES, {"trio": trio_side, "adk": adk_side, "floor": floor_side})
