"""history: one more turn on a session that already holds ``small``, ``medium`` and ``large``
stored events, with the instant in-process model and the in-memory session service.

For each history length N, each side creates a session and appends N pre-built text events
through the session service (alternately a user message and the agent's answer, the same
texts on both sides), then runs ``warmup`` unmeasured turns and ``turns`` measured ones on
it, one after another: the median milliseconds of one turn. The model answers at once, so a
turn's cost is the framework's: loading the session, building the request from the whole
history, appending the turn's events. (Each turn adds its own events: the history grows by
a few events over the measured turns, the same on both sides.)

Floor: ``json.dumps`` of the request body the Gemini REST API would get for the same
history (``{"contents": [{"role": ..., "parts": [{"text": ...}]}, ...]}``, N + 1 contents),
median of ``turns`` dumps: what a real model call pays anyway to send the history.

Target (issue 18): with an in-process model the per-turn cost stays flat as history grows:
trio-adk's turn at ``large`` events at most ``FLAT_X`` times its turn at ``small``; and at
``large`` events at most ``FLOOR_X`` times the floor.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Awaitable, Callable
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
    scaled,
)

NAME = "history"
WHAT = "one turn on a session of N stored events, instant in-process model: ms per turn"
FLOOR = "json.dumps of the same history as a Gemini request body"
SIZES: dict[str, Size] = {
    "quick": {"small": 10, "medium": 20, "large": 40, "turns": 3, "warmup": 1},
    "full": {"small": 10, "medium": 1000, "large": 4000, "turns": 21, "warmup": 2},
}
LENGTHS = ("small", "medium", "large")
FLAT_X = 2.0  # issue 18: per-turn at `large` events within this factor of at `small`
FLOOR_X = 2.0  # per-turn at `large` events within this factor of the json floor
TARGET = (f"flat (issue 18): turn at the largest history <= {FLAT_X:g}x at the smallest, "
          f"and <= {FLOOR_X:g}x the floor")


def history_text(index: int) -> tuple[str, str]:
    """The role and text of stored event ``index``: a user message, then the answer."""
    if index % 2 == 0:
        return "user", f"question {index}: what is the weather like in Paris today?"
    return "model", f"answer {index}: sunny, 21 degrees, light wind from the west."


async def append_text_history(service: Any, event_type: Any, session_id: str, n: int) -> None:
    """Create session ``session_id`` (app ``bench``, user ``u``) in ``service`` and append
    ``n`` text events (see :func:`history_text`) through it: the same calls for trio-adk and
    google-adk, whose session services and ``Event`` classes (``event_type``) share them."""
    from google.genai import types

    session = await service.create_session(app_name="bench", user_id="u",
                                           session_id=session_id)
    for i in range(n):
        role, text = history_text(i)
        await service.append_event(session, event_type(
            author="user" if role == "user" else "bench", invocation_id=f"e{i // 2}",
            content=types.Content(role=role, parts=[types.Part(text=text)])))


AppendHistory = Callable[[str, int], Awaitable[None]]
OneTurn = Callable[[str], Awaitable[None]]


async def _measure(size: Size, append_history: AppendHistory, one_turn: OneTurn) -> SideResult:
    """The measurement, the same for both frameworks: for each history length, a session of
    that many stored events (``append_history(session_id, n)`` creates it), ``warmup`` turns,
    then the median of ``turns`` timed turns."""
    figures: SideResult = {}
    for length in LENGTHS:
        n = size[length]
        sid = f"h{n}"
        await append_history(sid, n)
        for _ in range(size["warmup"]):
            await one_turn(sid)
        samples = []
        for _ in range(size["turns"]):
            start = time.perf_counter()
            await one_turn(sid)
            samples.append(time.perf_counter() - start)
        figures[f"turn_ms_{length}"] = statistics.median(samples) * 1e3
    return figures


# ---- trio-adk, as its users write it ----------------------------------------------------

def trio_side(size: Size) -> SideResult:
    import trio
    from google.genai import types

    from scenarios._trio_app import InstantModel
    from trio_adk import Agent, InMemoryRunner
    from trio_adk.events import Event

    message = types.Content(role="user", parts=[types.Part(text="and tomorrow?")])
    runner = InMemoryRunner(Agent(name="bench", model=InstantModel()), app_name="bench")

    async def append_history(session_id: str, n: int) -> None:
        await append_text_history(runner.session_service, Event, session_id, n)

    async def one_turn(session_id: str) -> None:
        async for _event in runner.run_async(user_id="u", session_id=session_id,
                                             new_message=message):
            pass

    async def main() -> SideResult:
        figures = await _measure(size, append_history, one_turn)
        await runner.close()
        return figures

    return trio.run(main)


# ---- google-adk, as its users write it --------------------------------------------------

def adk_side(size: Size) -> SideResult:
    import asyncio

    from google.adk.events import Event  # type: ignore[import, unused-ignore]
    from google.genai import types

    from scenarios._adk_app import Agent, InMemoryRunner, InstantModel

    message = types.Content(role="user", parts=[types.Part(text="and tomorrow?")])
    runner = InMemoryRunner(agent=Agent(name="bench", model=InstantModel()), app_name="bench")

    async def append_history(session_id: str, n: int) -> None:
        await append_text_history(runner.session_service, Event, session_id, n)

    async def one_turn(session_id: str) -> None:
        async for _event in runner.run_async(user_id="u", session_id=session_id,
                                             new_message=message):
            pass

    async def main() -> SideResult:
        figures = await _measure(size, append_history, one_turn)
        await runner.close()
        return figures

    return asyncio.run(main())


# ---- the floor --------------------------------------------------------------------------

def request_body(n: int) -> dict[str, Any]:
    """The Gemini REST request body for ``n`` stored events and the new message."""
    contents = [{"role": role, "parts": [{"text": text}]}
                for role, text in map(history_text, range(n))]
    contents.append({"role": "user", "parts": [{"text": "and tomorrow?"}]})
    return {"contents": contents}


def floor_side(size: Size) -> SideResult:
    """Milliseconds to ``json.dumps`` the request body of each history length (median of
    ``turns`` dumps after ``warmup``)."""
    import json

    figures: SideResult = {}
    for length in LENGTHS:
        body = request_body(size[length])
        for _ in range(size["warmup"]):
            json.dumps(body)
        samples = []
        for _ in range(size["turns"]):
            start = time.perf_counter()
            json.dumps(body)
            samples.append(time.perf_counter() - start)
        figures[f"turn_ms_{length}"] = statistics.median(samples) * 1e3
    return figures


# ---- the table --------------------------------------------------------------------------

def _growth(figures: SideResult | None) -> float | None:
    small, large = get(figures, "turn_ms_small"), get(figures, "turn_ms_large")
    return None if small is None or large is None or small <= 0 else large / small


def rows(medians: Medians, size: Size, context: Context) -> list[Row]:
    ours, adk, floor = medians["trio"], medians["adk"], medians["floor"]
    out = []
    for length in LENGTHS:
        key = f"turn_ms_{length}"
        row = Row(metric=f"one turn, {size[length]:,} stored events", unit="ms",
                  trio=get(ours, key), adk=get(adk, key), floor=get(floor, key))
        if length == LENGTHS[-1]:
            row.target = f"<= {FLOOR_X:g}x floor"
            row.checks = [at_most(row.trio, scaled(row.floor, FLOOR_X))]
        out.append(row)
    growth = Row(metric=f"turn at {size['large']:,} / turn at {size['small']:,} events",
                 unit="x", trio=_growth(ours), adk=_growth(adk), floor=_growth(floor),
                 target=f"<= {FLAT_X:g}x (issue 18: flat)")
    growth.checks = [at_most(growth.trio, FLAT_X)]
    out.append(growth)
    return out


if __name__ == "__main__":
    cli(SIZES, {"trio": trio_side, "adk": adk_side, "floor": floor_side})
