"""memory: bytes held per stored event and per stored session in the in-memory session
service, measured with ``tracemalloc`` (the Python heap the objects keep, after a garbage
collection; the same measure on both sides, independent of the allocator's RSS rounding).

Tracing starts after the imports; a warm-up (a session with a few events, one with a few
turns, an empty one) fills the frameworks' lazy caches first. Then, each time the traced
memory before and after, with every reference the benchmark itself holds dropped:

* ``events`` pre-built text events (the same texts as the history scenario: a user message,
  then the agent's answer) created and appended to one session through the session service:
  bytes per stored event;
* ``turns`` turns with the instant in-process model on a session that already ran ``turns``
  turns: bytes per stored event as a run stores them (the user message and the model's
  answer, with their actions and usage metadata), i.e. the growth divided by the events
  those turns added;
* ``sessions`` empty sessions created: bytes per stored session.

Floor: the same text events as plain dicts in a list (``{"role": ..., "parts": [{"text":
...}]}``, the Gemini request body's entries): what the texts need as Python objects. No
target: issue 18 asks for the figures side by side with ADK.
"""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Awaitable, Callable

from scenarios._common import Context, Medians, Row, SideResult, Size, cli, get
from scenarios.history import append_text_history, history_text

NAME = "memory"
WHAT = "in-memory session service: bytes per stored event and per stored session"
FLOOR = "the same texts as plain dicts"
SIZES: dict[str, Size] = {
    "quick": {"events": 200, "turns": 10, "sessions": 100},
    "full": {"events": 4000, "turns": 100, "sessions": 2000},
}
# tracemalloc's figures repeat to the byte round after round, and google-adk's turns are slow
# under tracing (each deep-copies the whole session): one round unless --rounds says more.
ROUNDS = 1
WARMUP_TURNS = 3


def traced() -> int:
    """The bytes traced now, after a full garbage collection."""
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


AppendHistory = Callable[[str, int], Awaitable[None]]
Turns = Callable[[str, int], Awaitable[int]]
NewSession = Callable[[str], Awaitable[None]]


async def _measure(size: Size, append_history: AppendHistory, turns: Turns,
                   new_session: NewSession) -> SideResult:
    """The measurement, the same for both frameworks. ``append_history(id, n)`` creates a
    session of ``n`` appended text events, ``turns(id, n)`` runs ``n`` turns on a session
    (creating it the first time) and returns how many events it then holds,
    ``new_session(id)`` creates an empty session; none of them keeps a reference to what it
    made."""
    await append_history("warm-history", 4)
    await turns("warm-turns", WARMUP_TURNS)
    await new_session("warm-session")

    before = traced()
    await append_history("history", size["events"])
    appended = (traced() - before) / size["events"]

    # Twice on the same session, the second time measured: google-adk retains about 1.9 MB
    # once, the first time turns run after tracing began, however long the warm-up.
    held = await turns("turns", size["turns"])
    before = traced()
    stored = await turns("turns", size["turns"]) - held
    from_turns = (traced() - before) / stored

    before = traced()
    for i in range(size["sessions"]):
        await new_session(f"s{i}")
    per_session = (traced() - before) / size["sessions"]
    return {"bytes_per_appended_event": appended, "bytes_per_turn_event": from_turns,
            "turn_events": stored, "bytes_per_session": per_session}


# ---- trio-adk, as its users write it ----------------------------------------------------

def trio_side(size: Size) -> SideResult:
    import trio
    from google.genai import types

    from scenarios._trio_app import InstantModel
    from trio_adk import Agent, InMemoryRunner
    from trio_adk.events import Event

    tracemalloc.start()
    message = types.Content(role="user", parts=[types.Part(text="and tomorrow?")])
    runner = InMemoryRunner(Agent(name="bench", model=InstantModel()), app_name="bench")
    service = runner.session_service

    async def new_session(session_id: str) -> None:
        await service.create_session(app_name="bench", user_id="u", session_id=session_id)

    async def append_history(session_id: str, n: int) -> None:
        await append_text_history(runner.session_service, Event, session_id, n)

    async def turns(session_id: str, n: int) -> int:
        if await service.get_session(app_name="bench", user_id="u",
                                     session_id=session_id) is None:
            await new_session(session_id)
        for _ in range(n):
            async for _event in runner.run_async(user_id="u", session_id=session_id,
                                                 new_message=message):
                pass
        session = await service.get_session(app_name="bench", user_id="u",
                                            session_id=session_id)
        assert session is not None
        return len(session.events)

    async def main() -> SideResult:
        figures = await _measure(size, append_history, turns, new_session)
        await runner.close()
        return figures

    return trio.run(main)


# ---- google-adk, as its users write it --------------------------------------------------

def adk_side(size: Size) -> SideResult:
    import asyncio

    from google.adk.events import Event  # type: ignore[import, unused-ignore]
    from google.genai import types

    from scenarios._adk_app import Agent, InMemoryRunner, InstantModel

    tracemalloc.start()
    message = types.Content(role="user", parts=[types.Part(text="and tomorrow?")])
    runner = InMemoryRunner(agent=Agent(name="bench", model=InstantModel()), app_name="bench")
    service = runner.session_service

    async def new_session(session_id: str) -> None:
        await service.create_session(app_name="bench", user_id="u", session_id=session_id)

    async def append_history(session_id: str, n: int) -> None:
        await append_text_history(runner.session_service, Event, session_id, n)

    async def turns(session_id: str, n: int) -> int:
        if await service.get_session(app_name="bench", user_id="u",
                                     session_id=session_id) is None:
            await new_session(session_id)
        for _ in range(n):
            async for _event in runner.run_async(user_id="u", session_id=session_id,
                                                 new_message=message):
                pass
        session = await service.get_session(app_name="bench", user_id="u",
                                            session_id=session_id)
        assert session is not None
        return len(session.events)

    async def main() -> SideResult:
        figures = await _measure(size, append_history, turns, new_session)
        await runner.close()
        return figures

    return asyncio.run(main())


# ---- the floor --------------------------------------------------------------------------

def floor_side(size: Size) -> SideResult:
    """Bytes per event of the same texts kept as plain dicts in a list."""
    tracemalloc.start()
    before = traced()
    kept = [{"role": role, "parts": [{"text": text}]}
            for role, text in map(history_text, range(size["events"]))]
    per_event = (traced() - before) / size["events"]
    del kept
    return {"bytes_per_appended_event": per_event}


# ---- the table --------------------------------------------------------------------------

def rows(medians: Medians, size: Size, context: Context) -> list[Row]:
    ours, adk, floor = medians["trio"], medians["adk"], medians["floor"]
    turn_events = get(ours, "turn_events") or get(adk, "turn_events")
    from_turns = f"{turn_events:,.0f} events of {size['turns']:,} turns" if turn_events \
        else f"events of {size['turns']:,} turns"
    return [
        Row(metric=f"per stored event ({size['events']:,} appended text events)", unit="B",
            trio=get(ours, "bytes_per_appended_event"),
            adk=get(adk, "bytes_per_appended_event"),
            floor=get(floor, "bytes_per_appended_event")),
        Row(metric=f"per stored event ({from_turns})", unit="B",
            trio=get(ours, "bytes_per_turn_event"), adk=get(adk, "bytes_per_turn_event")),
        Row(metric=f"per stored session ({size['sessions']:,} empty sessions)", unit="B",
            trio=get(ours, "bytes_per_session"), adk=get(adk, "bytes_per_session")),
    ]


if __name__ == "__main__":
    cli(SIZES, {"trio": trio_side, "adk": adk_side, "floor": floor_side})
