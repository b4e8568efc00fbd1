"""tools: one model turn that calls three tools at once (each sleeps 50 ms), then the model's
answer once their results are in.

Figures: wall time per run (median and p99 of ``runs`` sequential runs, each on its own
session). Floor: 50 ms plus the overhead figure, i.e. the measured wall time of three
``trio.sleep(0.05)`` in one nursery plus trio-adk's sequential per-run overhead from the
``overhead`` scenario of the same invocation.
"""

from __future__ import annotations

import time

from scenarios._common import (
    TOOL_SLEEP,
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

NAME = "tools"
WHAT = "a model turn calling three tools in parallel (each sleeping 50 ms), then answering"
FLOOR = "50 ms (three parallel sleeps, measured) plus the overhead figure"
SIZES: dict[str, Size] = {
    "quick": {"runs": 3, "warmup": 1},
    "full": {"runs": 40, "warmup": 3},
}
FLOOR_SLACK = 1.10  # within 10% of the floor


def _figures(results: list[tuple[float, int]]) -> SideResult:
    """p50/p99 wall time and events per run from (seconds, events) per run."""
    return {**ms_quantiles([seconds for seconds, _ in results]),
            "events_per_run": sum(events for _, events in results) / len(results)}


def trio_side(size: Size) -> SideResult:
    import trio
    from google.genai import types

    from scenarios._trio_app import TOOLS, ThreeToolsModel
    from trio_adk import Agent, InMemoryRunner

    message = types.Content(role="user", parts=[types.Part(text="What about Paris today?")])
    agent = Agent(name="bench", model=ThreeToolsModel(), tools=list(TOOLS))
    runner = InMemoryRunner(agent, app_name="bench")

    async def one_run(session_id: str) -> tuple[float, int]:
        await runner.session_service.create_session(app_name="bench", user_id="u",
                                                    session_id=session_id)
        events = 0
        start = time.perf_counter()
        async for _event in runner.run_async(user_id="u", session_id=session_id,
                                             new_message=message):
            events += 1
        return time.perf_counter() - start, events

    async def main() -> SideResult:
        results = await sample_runs(one_run, size)
        await runner.close()
        return _figures(results)

    return trio.run(main)


def adk_side(size: Size) -> SideResult:
    import asyncio

    from google.genai import types

    from scenarios._adk_app import TOOLS, Agent, InMemoryRunner, ThreeToolsModel

    message = types.Content(role="user", parts=[types.Part(text="What about Paris today?")])
    agent = Agent(name="bench", model=ThreeToolsModel(), tools=list(TOOLS))
    runner = InMemoryRunner(agent=agent, app_name="bench")

    async def one_run(session_id: str) -> tuple[float, int]:
        await runner.session_service.create_session(app_name="bench", user_id="u",
                                                    session_id=session_id)
        events = 0
        start = time.perf_counter()
        async for _event in runner.run_async(user_id="u", session_id=session_id,
                                             new_message=message):
            events += 1
        return time.perf_counter() - start, events

    async def main() -> SideResult:
        results = await sample_runs(one_run, size)
        await runner.close()
        return _figures(results)

    return asyncio.run(main())


def floor_side(size: Size) -> SideResult:
    """The wall time of three 50 ms trio sleeps in one nursery (the overhead figure is added
    when the table is built)."""
    import trio

    async def three_sleeps() -> float:
        start = time.perf_counter()
        async with trio.open_nursery() as nursery:
            for _ in range(3):
                nursery.start_soon(trio.sleep, TOOL_SLEEP)
        return time.perf_counter() - start

    async def main() -> SideResult:
        return ms_quantiles(await sample_runs(lambda _session_id: three_sleeps(), size))

    return trio.run(main)


def rows(medians: Medians, size: Size, context: Context) -> list[Row]:
    ours, adk, floor = medians["trio"], medians["adk"], medians["floor"]
    overhead_ms = scaled(get(context.get("overhead", {}).get("trio"), "seq_us"), 1e-3)
    out = []
    for key, label in (("p50_ms", "wall per run, p50"), ("p99_ms", "wall per run, p99")):
        sleeps = get(floor, key)
        floor_ms = None if sleeps is None else sleeps + (overhead_ms or 0.0)
        row = Row(metric=label, unit="ms", trio=get(ours, key), adk=get(adk, key),
                  floor=floor_ms, target="<= ADK and <= 1.1x floor")
        row.checks = [at_most(row.trio, row.adk), at_most(row.trio, scaled(floor_ms,
                                                                           FLOOR_SLACK))]
        out.append(row)
    return out


if __name__ == "__main__":
    cli(SIZES, {"trio": trio_side, "adk": adk_side, "floor": floor_side})
