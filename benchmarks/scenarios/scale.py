"""scale: ``sessions`` conversations at once, ``turns`` turns each, with the instant in-process
model and the in-memory session service (every session stays in memory).

Each conversation creates its session, then runs its turns one after another; all
conversations start together. Figures: total wall time, the process's peak RSS, and RSS per
session: (peak RSS - RSS just before the conversations started, after imports and a warm-up)
divided by the number of sessions. No floor.
"""

from __future__ import annotations

import time

from scenarios._common import (
    AllAtOnce,
    Context,
    Conversation,
    Medians,
    Row,
    SideResult,
    Size,
    at_most,
    cli,
    current_rss_mib,
    get,
    peak_rss_mib,
    scaled,
)

NAME = "scale"
WHAT = "concurrent sessions x turns each: total wall time, peak RSS, RSS per session"
FLOOR = "n/a"
SIZES: dict[str, Size] = {
    "quick": {"sessions": 50, "turns": 3, "warmup": 5},
    "full": {"sessions": 10000, "turns": 3, "warmup": 50},
}
MEMORY_SHARE = 0.5  # trio-adk at most half of ADK's memory per session
MAX_ROUNDS = 1  # google-adk needs about two minutes for one round at full size


async def _measure(size: Size, conversation: Conversation,
                   all_at_once: AllAtOnce) -> SideResult:
    """The measurement, the same for both frameworks: ``warmup`` conversations one after
    another, the RSS then, and ``sessions`` conversations started together by
    ``all_at_once``."""
    for i in range(size["warmup"]):
        await conversation(f"w{i}")
    baseline = current_rss_mib()
    ids = [f"s{i}" for i in range(size["sessions"])]  # after the baseline: sessions keep them
    start = time.perf_counter()
    await all_at_once(conversation, ids)
    wall = time.perf_counter() - start
    peak = peak_rss_mib()
    return {"wall_s": wall, "peak_rss_mib": peak, "baseline_rss_mib": baseline,
            "kib_per_session": (peak - baseline) * 1024 / size["sessions"]}


def trio_side(size: Size) -> SideResult:
    import trio
    from google.genai import types

    from scenarios._trio_app import InstantModel
    from trio_adk import Agent, InMemoryRunner

    message = types.Content(role="user", parts=[types.Part(text="hi")])
    runner = InMemoryRunner(Agent(name="bench", model=InstantModel()), app_name="bench")

    async def conversation(session_id: str) -> None:
        await runner.session_service.create_session(app_name="bench", user_id="u",
                                                    session_id=session_id)
        for _ in range(size["turns"]):
            async for _event in runner.run_async(user_id="u", session_id=session_id,
                                                 new_message=message):
                pass

    async def all_at_once(each: Conversation, ids: list[str]) -> None:
        async with trio.open_nursery() as nursery:
            for sid in ids:
                nursery.start_soon(each, sid)

    async def main() -> SideResult:
        figures = await _measure(size, conversation, all_at_once)
        await runner.close()
        return figures

    return trio.run(main)


def adk_side(size: Size) -> SideResult:
    import asyncio

    from google.genai import types

    from scenarios._adk_app import Agent, InMemoryRunner, InstantModel

    message = types.Content(role="user", parts=[types.Part(text="hi")])
    runner = InMemoryRunner(agent=Agent(name="bench", model=InstantModel()), app_name="bench")

    async def conversation(session_id: str) -> None:
        await runner.session_service.create_session(app_name="bench", user_id="u",
                                                    session_id=session_id)
        for _ in range(size["turns"]):
            async for _event in runner.run_async(user_id="u", session_id=session_id,
                                                 new_message=message):
                pass

    async def all_at_once(each: Conversation, ids: list[str]) -> None:
        await asyncio.gather(*(each(sid) for sid in ids))

    async def main() -> SideResult:
        figures = await _measure(size, conversation, all_at_once)
        await runner.close()
        return figures

    return asyncio.run(main())


floor_side = None


def rows(medians: Medians, size: Size, context: Context) -> list[Row]:
    ours, adk = medians["trio"], medians["adk"]
    label = f"{size['sessions']} sessions x {size['turns']} turns"
    per_session = Row(metric="RSS per session", unit="KiB", trio=get(ours, "kib_per_session"),
                      adk=get(adk, "kib_per_session"),
                      target=f"<= {MEMORY_SHARE:g}x ADK")
    per_session.checks = [at_most(per_session.trio, scaled(per_session.adk, MEMORY_SHARE))]
    return [
        Row(metric=f"{label}: total wall", unit="s", trio=get(ours, "wall_s"),
            adk=get(adk, "wall_s")),
        Row(metric="peak RSS", unit="MiB", trio=get(ours, "peak_rss_mib"),
            adk=get(adk, "peak_rss_mib")),
        per_session,
    ]


if __name__ == "__main__":
    cli(SIZES, {"trio": trio_side, "adk": adk_side, "floor": floor_side})
