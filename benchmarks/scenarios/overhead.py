"""overhead: a one-turn run (user message, one text reply) with an instant in-process model.

Figures: microseconds per run, one run at a time (each on its own session, so the history
does not grow) and ``sessions`` conversations of ``turns`` turns at once; the process's peak
RSS. Floor: the same number of events through a bare zero-buffer trio memory channel (one
producer/consumer pair, then one pair per session), as in ``benchmarks/overhead.py``.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from scenarios._common import (
    AllAtOnce,
    Context,
    Conversation,
    Medians,
    Row,
    SideResult,
    Size,
    at_least,
    cli,
    get,
    scaled,
)

NAME = "overhead"
WHAT = "one-turn run, instant in-process model: us per run (sequential, concurrent), peak RSS"
FLOOR = "events through a bare trio channel"
SIZES: dict[str, Size] = {
    "quick": {"runs": 20, "sessions": 10, "turns": 2, "warmup": 5},
    "full": {"runs": 2000, "sessions": 1000, "turns": 5, "warmup": 200},
}
TARGET_X = 20.0  # trio-adk at least this many times faster per run than google-adk


async def _measure(size: Size, new_session: Conversation,
                   one_turn: Callable[[str], Awaitable[int]],
                   all_at_once: AllAtOnce) -> SideResult:
    """The measurement, the same for both frameworks: ``warmup`` turns, then ``runs`` turns
    one after another (each on its own session, created beforehand), then ``sessions``
    conversations of ``turns`` turns started together by ``all_at_once``. ``one_turn`` returns
    how many events the turn yielded."""

    async def new_sessions(prefix: str, count: int) -> list[str]:
        ids = [f"{prefix}{i}" for i in range(count)]
        for sid in ids:
            await new_session(sid)
        return ids

    async def conversation(sid: str) -> None:
        for _ in range(size["turns"]):
            await one_turn(sid)

    for sid in await new_sessions("w", size["warmup"]):
        await one_turn(sid)
    ids = await new_sessions("s", size["runs"])
    events = 0
    start = time.perf_counter()
    for sid in ids:
        events += await one_turn(sid)
    seq_us = (time.perf_counter() - start) / size["runs"] * 1e6

    ids = await new_sessions("c", size["sessions"])
    start = time.perf_counter()
    await all_at_once(conversation, ids)
    conc_us = (time.perf_counter() - start) / (size["sessions"] * size["turns"]) * 1e6
    return {"seq_us": seq_us, "conc_us": conc_us, "events_per_run": events / size["runs"]}


# ---- trio-adk, as its users write it ----------------------------------------------------

def trio_side(size: Size) -> SideResult:
    import trio
    from google.genai import types

    from scenarios._trio_app import InstantModel
    from trio_adk import Agent, InMemoryRunner

    message = types.Content(role="user", parts=[types.Part(text="hi")])
    runner = InMemoryRunner(Agent(name="bench", model=InstantModel()), app_name="bench")

    async def new_session(session_id: str) -> None:
        await runner.session_service.create_session(app_name="bench", user_id="u",
                                                    session_id=session_id)

    async def one_turn(session_id: str) -> int:
        events = 0
        async for _event in runner.run_async(user_id="u", session_id=session_id,
                                             new_message=message):
            events += 1
        return events

    async def all_at_once(each: Conversation, ids: list[str]) -> None:
        async with trio.open_nursery() as nursery:
            for sid in ids:
                nursery.start_soon(each, sid)

    async def main() -> SideResult:
        figures = await _measure(size, new_session, one_turn, all_at_once)
        await runner.close()
        return figures

    return trio.run(main)


# ---- google-adk, as its users write it --------------------------------------------------

def adk_side(size: Size) -> SideResult:
    import asyncio

    from google.genai import types

    from scenarios._adk_app import Agent, InMemoryRunner, InstantModel

    message = types.Content(role="user", parts=[types.Part(text="hi")])
    runner = InMemoryRunner(agent=Agent(name="bench", model=InstantModel()), app_name="bench")

    async def new_session(session_id: str) -> None:
        await runner.session_service.create_session(app_name="bench", user_id="u",
                                                    session_id=session_id)

    async def one_turn(session_id: str) -> int:
        events = 0
        async for _event in runner.run_async(user_id="u", session_id=session_id,
                                             new_message=message):
            events += 1
        return events

    async def all_at_once(each: Conversation, ids: list[str]) -> None:
        await asyncio.gather(*(each(sid) for sid in ids))

    async def main() -> SideResult:
        figures = await _measure(size, new_session, one_turn, all_at_once)
        await runner.close()
        return figures

    return asyncio.run(main())


# ---- the floor --------------------------------------------------------------------------

def floor_side(size: Size) -> SideResult:
    """Microseconds per event through bare zero-buffer trio channels: ``runs`` events through
    one pair, and ``turns`` events through each of ``sessions`` pairs at once."""
    import trio

    async def pair(events: int) -> None:
        send, receive = trio.open_memory_channel[object](0)

        async def produce() -> None:
            async with send:
                for i in range(events):
                    await send.send(i)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(produce)
            async with receive:
                async for _ in receive:
                    pass

    async def main() -> SideResult:
        await pair(size["warmup"])
        start = time.perf_counter()
        await pair(size["runs"])
        seq_us = (time.perf_counter() - start) / size["runs"] * 1e6
        start = time.perf_counter()
        async with trio.open_nursery() as nursery:
            for _ in range(size["sessions"]):
                nursery.start_soon(pair, size["turns"])
        conc_us = (time.perf_counter() - start) / (size["sessions"] * size["turns"]) * 1e6
        return {"seq_us": seq_us, "conc_us": conc_us}  # cli() adds the peak RSS

    return trio.run(main)


# ---- the table --------------------------------------------------------------------------

def rows(medians: Medians, size: Size, context: Context) -> list[Row]:
    ours, adk, floor = medians["trio"], medians["adk"], medians["floor"]
    target = f">= {TARGET_X:g}x faster than ADK"
    out = []
    for key, label in (("seq_us", "1 session, sequential"),
                       ("conc_us", f"{size['sessions']} sessions x {size['turns']} turns, "
                                   "concurrent")):
        row = Row(metric=label, unit="us/run", trio=get(ours, key), adk=get(adk, key),
                  floor=scaled_floor(floor, key, ours), target=target)
        row.checks = [at_least(row.ratio, TARGET_X)]
        out.append(row)
    out.append(Row(metric="peak RSS", unit="MiB", trio=get(ours, "peak_rss_mib"),
                   adk=get(adk, "peak_rss_mib"), floor=get(floor, "peak_rss_mib")))
    return out


def scaled_floor(floor: SideResult | None, key: str, ours: SideResult | None) -> float | None:
    """The floor per run: per-event floor times the events a trio-adk run yields."""
    return scaled(get(floor, key), get(ours, "events_per_run") or 1.0)


if __name__ == "__main__":
    cli(SIZES, {"trio": trio_side, "adk": adk_side, "floor": floor_side})
