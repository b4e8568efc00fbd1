"""The demo: a small multi-agent app run for a few turns, events printed as they stream."""

from __future__ import annotations

import datetime
import os
import sys
from contextlib import aclosing
from pathlib import Path
from typing import Any, TextIO

import attrs
import trio
from google.genai import types

from trio_adk import Agent, Runner
from trio_adk.agents import RunConfig, StreamingMode
from trio_adk.events import Event
from trio_adk.sessions import BaseSessionService, InMemorySessionService

MODEL = "gemini-2.0-flash"
APP = "trio_adk_demo"
TURNS = [
    "What's the weather in Paris?",
    "And what time is it there?",
    "I'd like to plan a trip. Can the travel planner help me?",
]


def get_weather(city: str) -> dict[str, str]:
    """Return the current weather report for a city."""
    return {"city": city, "report": "sunny, 22 degrees"}


def get_local_time(city: str) -> dict[str, str]:
    """Return the current local time in a city."""
    return {"city": city, "time": "14:05"}


def build_agent(model: str = MODEL) -> Agent:
    """The demo app: a concierge with two tools and a travel planner it can hand over to."""
    planner = Agent(
        name="travel_planner",
        model=model,
        description="Plans trips: itineraries, what to see, how to get around.",
        instruction="You plan short trips. Suggest a compact two-day plan.",
    )
    return Agent(
        name="concierge",
        model=model,
        description="Answers questions about weather and time, and routes trip planning.",
        instruction=(
            "Answer weather and time questions with your tools. For trip planning, "
            "transfer to the travel_planner agent."
        ),
        tools=[get_weather, get_local_time],
        sub_agents=[planner],
    )


def demo_script() -> list[Any]:
    """What the offline fake Gemini server answers, call by call, for the demo turns."""
    from trio_adk.testing import (
        gemini_chunks,
        gemini_function_call,
    )

    return [
        gemini_function_call("get_weather", {"city": "Paris"}, delay=0.3),
        gemini_chunks(["It's sunny ", "in Paris, ", "22 degrees."], delay=0.3, chunk_delay=0.1),
        gemini_function_call("get_local_time", {"city": "Paris"}, delay=0.3),
        gemini_chunks(["It's 14:05 ", "in Paris."], delay=0.3, chunk_delay=0.1),
        gemini_function_call("transfer_to_agent", {"agent_name": "travel_planner"}, delay=0.3),
        gemini_chunks(["Day 1: the Louvre ", "and a walk along the Seine. ",
                       "Day 2: Montmartre ", "and a picnic at the Eiffel Tower."],
                      delay=0.4, chunk_delay=0.1),
    ]


@attrs.frozen
class Target:
    """Where a demo's model calls go: ``url``, a Gemini-compatible server; else Google's Gemini
    API when ``real_gemini`` (an API key is set); else an in-process fake server (offline)."""

    url: str | None
    real_gemini: bool


def choose_target(base_url: str | None = None) -> Target:
    """``base_url``, else ``GOOGLE_GEMINI_BASE_URL``; else the real Gemini API if
    ``GOOGLE_API_KEY`` or ``GEMINI_API_KEY`` is set; else offline."""
    url = base_url or os.environ.get("GOOGLE_GEMINI_BASE_URL") or None
    key = os.environ.get("GOOGLE_API_KEY") or os.environ.get("GEMINI_API_KEY")
    return Target(url=url, real_gemini=url is None and bool(key))


class _Spinner:
    """Shows that the model is thinking, on a terminal only (silent otherwise)."""

    FRAMES = "|/-\\"

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.enabled = out.isatty()
        self.thinking = trio.Event()
        self.shown = False

    async def spin(self) -> None:
        """Animate while thinking, until cancelled; cancellation clears the line."""
        frame = 0
        try:
            while True:
                await self.thinking.wait()
                if self.enabled:
                    self.out.write(f"\r  {self.FRAMES[frame % 4]} thinking...")
                    self.out.flush()
                    self.shown = True
                frame += 1
                await trio.sleep(0.1)
        finally:
            self.stop()

    def start(self) -> None:
        self.thinking = trio.Event()
        self.thinking.set()

    def stop(self) -> None:
        self.thinking = trio.Event()
        if self.shown:
            self.out.write("\r" + " " * 20 + "\r")
            self.out.flush()
            self.shown = False


def _print_event(event: Event, out: TextIO, streaming: dict[str, bool]) -> None:
    for call in event.get_function_calls():
        if event.partial:
            continue
        args = ", ".join(f"{k}={v!r}" for k, v in (call.args or {}).items())
        out.write(f"  [{event.author}] calls {call.name}({args})\n")
    for response in event.get_function_responses():
        out.write(f"  [{event.author}] {response.name} -> {response.response}\n")
    if event.actions.transfer_to_agent:
        out.write(f"  [{event.author}] hands over to {event.actions.transfer_to_agent}\n")
    text = ""
    if event.content and event.content.parts:
        text = "".join(p.text or "" for p in event.content.parts if not p.thought)
    if not text:
        return
    if event.partial:
        if not streaming.get(event.author):
            out.write(f"  [{event.author}] ")
            streaming[event.author] = True
        out.write(text)
    elif streaming.pop(event.author, False):
        out.write("\n")  # the final event repeats the streamed text: end the line
    else:
        out.write(f"  [{event.author}] {text}\n")
    out.flush()


def default_history_path() -> Path:
    """Where ``trio-adk demo`` keeps its sessions: ``$XDG_DATA_HOME/trio-adk/demo/
    session.db`` (``~/.local/share/...`` when ``XDG_DATA_HOME`` is unset)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "trio-adk" / "demo" / "session.db"


async def run_demo(out: TextIO = sys.stdout, *, base_url: str | None = None,
                   history: Path | None = None) -> None:
    """Run the demo turns, streaming events to ``out``, against the server
    :func:`choose_target` picks (the API key, if set, goes to a ``base_url`` server too).

    With ``history``, sessions are kept in that SQLite file (ADK's format) and the demo
    says how many earlier runs it holds; without, in memory.

    Errors of the model calls propagate (wrapped in exception groups by the nurseries).
    Cancellation stops the turn in flight and closes the runner (and the offline fake server)
    before it propagates.
    """
    target = choose_target(base_url)
    if target.url is not None:
        out.write(f"trio-adk demo: using the Gemini-compatible server at {target.url}.\n")
        out.flush()
        await _conversation(build_agent(_gemini(target.url)), out, history)
    elif target.real_gemini:
        out.write(f"trio-adk demo: talking to the real Gemini API ({MODEL}).\n")
        out.flush()
        await _conversation(build_agent(MODEL), out, history)
    else:
        from trio_adk.testing import FakeGeminiServer

        async with FakeGeminiServer(script=demo_script()) as server:
            out.write("trio-adk demo: no GOOGLE_API_KEY is set, so this runs offline against "
                      f"a fake Gemini server started on {server.base_url}.\n")
            out.flush()
            await _conversation(build_agent(_gemini(server.base_url)), out, history)


def _gemini(base_url: str) -> Any:
    from trio_adk.models import Gemini

    return Gemini(model=MODEL, base_url=base_url)


async def _conversation(agent: Agent, out: TextIO, history: Path | None) -> None:
    service: BaseSessionService
    if history is None:
        service = InMemorySessionService()
    else:
        from trio_adk.sessions import SqliteSessionService

        await trio.to_thread.run_sync(
            lambda: history.parent.mkdir(parents=True, exist_ok=True))
        service = SqliteSessionService(history)
    try:
        if history is not None:
            await _say_history(service, history, out)
        await _turns(agent, service, out)
    finally:
        with trio.CancelScope(shield=True):
            await service.close()


async def _say_history(service: BaseSessionService, path: Path, out: TextIO) -> None:
    earlier = (await service.list_sessions(app_name=APP, user_id="demo_user")).sessions
    if not earlier:
        out.write(f"history: kept in {path}; this is the first run (--no-history keeps "
                  "nothing).\n")
    else:
        last = earlier[-1]  # oldest update first
        stored = await service.get_session(app_name=APP, user_id="demo_user",
                                           session_id=last.id)
        when = datetime.datetime.fromtimestamp(last.last_update_time, datetime.UTC)
        count = len(stored.events) if stored is not None else 0
        out.write(f"history: {path} holds {len(earlier)} earlier run(s) of this demo; the "
                  f"last ended {when:%Y-%m-%d %H:%M} UTC with {count} events. This run adds "
                  "one.\n")
    out.flush()


async def _turns(agent: Agent, service: BaseSessionService, out: TextIO) -> None:
    session = await service.create_session(app_name=APP, user_id="demo_user")
    spinner = _Spinner(out)
    config = RunConfig(streaming_mode=StreamingMode.SSE)
    runner = Runner(app_name=APP, agent=agent, session_service=service)
    async with runner, trio.open_nursery() as nursery:
        nursery.start_soon(spinner.spin)
        for turn in TURNS:
            out.write(f"\nyou> {turn}\n")
            message = types.Content(role="user", parts=[types.Part(text=turn)])
            streaming: dict[str, bool] = {}
            spinner.start()
            gen = runner.run_async(user_id="demo_user", session_id=session.id,
                                   new_message=message, run_config=config)
            async with aclosing(gen) as events:
                async for event in events:
                    spinner.stop()
                    _print_event(event, out, streaming)
                    if not event.is_final_response() or event.partial:
                        spinner.start()
            spinner.stop()
        nursery.cancel_scope.cancel()
    out.write("\ndone.\n")
