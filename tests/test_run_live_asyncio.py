"""``Runner.run_live`` from asyncio callers (trio runs as a guest on the caller's loop).

The same scenarios as ``test_run_live.py`` where they mean something for an asyncio
caller: a text turn, a tool call, closing the queue mid-reply, the consumer leaving,
an asyncio deadline, goAway / drop resumption and what is persisted.  The fake server
runs in its own trio run on a background thread (the asyncio thread hosts the client's
guest run); tests are plain functions calling ``asyncio.run`` with real time and small
delays.  Server-side records are read after the server thread stopped, except the
close codes, which the handler publishes itself when the client closed.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Awaitable, Callable, Iterator
from contextlib import aclosing, contextmanager
from typing import Any, TypeVar

import pytest
import trio
from google.genai import types

from helpers import APP, USER, RunLog, serve_in_thread, user_text
from trio_adk import Agent, Runner
from trio_adk._run import ACTIVE_RUNS
from trio_adk.agents import LiveRequestQueue, RunConfig
from trio_adk.events import Event
from trio_adk.models import Gemini
from trio_adk.sessions import InMemorySessionService
from trio_adk.testing import FakeGeminiServer, LiveScript, LiveSession
from trio_adk.testing import live_script as ls

MODEL = "gemini-2.0-flash-live-001"
PCM = "audio/pcm;rate=16000"
TEXT = RunConfig(response_modalities=["TEXT"])
SESSION = "s1"
T = TypeVar("T")


# ---- helpers ----------------------------------------------------------------------------


class Recording:
    """A LiveConversation that also publishes, thread-safely, each session's close code
    when its handler ends: the client's code when the client closed it, ``None`` when the
    server's shutdown ended a session the client left open."""

    def __init__(self, talk: ls.LiveConversation) -> None:
        self.talk = talk
        self.closes: list[int | None] = []  # appended on the server's thread

    def check_setup(self, setup: Any) -> tuple[int, str] | None:
        return self.talk.check_setup(setup)

    async def __call__(self, session: LiveSession) -> None:
        try:
            await self.talk(session)
        finally:
            self.closes.append(session.close_code)


class ThreadedLive:
    """The fake server on its thread; read ``server``/``talk`` only after the block."""

    def __init__(self, server: FakeGeminiServer, recording: Recording) -> None:
        self.server = server
        self.recording = recording
        self.talk = recording.talk
        self.base_url = ""

    def sent(self, session: int = 0) -> list[Any]:
        return [m.message for m in self.server.live_messages if m.session == session][1:]


@contextmanager
def live_server(*turns: ls.LiveTurn, **options: Any) -> Iterator[ThreadedLive]:
    """A fake Gemini server whose Live endpoint plays ``turns``, in a trio run on a
    background thread; stopped and joined on exit."""
    recording = Recording(ls.LiveConversation(*turns, **options))
    server = FakeGeminiServer(live=LiveScript(handler=recording))
    handle = ThreadedLive(server, recording)
    with serve_in_thread(server, timeout=10) as handle.base_url:
        yield handle


async def open_runner(base_url: str, tools: list[Any] | None = None, **kwargs: Any) -> Runner:
    service = InMemorySessionService()
    await service.create_session(app_name=APP, user_id=USER, session_id=SESSION)
    agent = Agent(name="assistant", model=Gemini(model=MODEL, base_url=base_url, api_key="k"),
                  instruction="Be brief.", tools=tools or [])
    return Runner(app_name=APP, agent=agent, session_service=service, **kwargs)


def run_live(runner: Runner, queue: LiveRequestQueue,
             **kwargs: Any) -> AsyncGenerator[Event, None]:
    kwargs.setdefault("run_config", TEXT)
    return runner.run_live(user_id=USER, session_id=SESSION, live_request_queue=queue,
                           **kwargs)


React = Callable[[Event], None]


async def converse(gen: AsyncGenerator[Event, None], react: React | None = None, *,
                   into: list[Event] | None = None, limit: float = 5.0) -> list[Event]:
    """Consume a live run from asyncio; ``react(event)`` may send or close."""
    events = [] if into is None else into
    async with asyncio.timeout(limit):
        async with aclosing(gen) as stream:
            async for event in stream:
                events.append(event)
                if react is not None:
                    react(event)
    return events


async def stored(runner: Runner) -> list[Event]:
    session = await runner.session_service.get_session(app_name=APP, user_id=USER,
                                                       session_id=SESSION)
    assert session is not None
    return session.events


def final_text(event: Event) -> str | None:
    if event.partial or event.author == "user" or event.content is None:
        return None
    return "".join(p.text or "" for p in event.content.parts or []) or None


def final_texts(events: list[Event]) -> list[str]:
    return [t for t in map(final_text, events) if t is not None]


def is_audio(event: Event) -> bool:
    parts = event.content.parts if event.content and event.content.parts else []
    return any(p.inline_data is not None for p in parts)


def text_of(event: Event) -> str:
    parts = event.content.parts if event.content and event.content.parts else []
    return "".join(p.text or "" for p in parts)


def in_asyncio(main: Callable[[], Awaitable[T]]) -> T:
    """``asyncio.run(main())``; afterwards no run and no trio run is left on the thread."""

    async def checked() -> T:
        return await main()

    result = asyncio.run(checked())
    assert [] == list(ACTIVE_RUNS)
    assert not trio.lowlevel.in_trio_run()
    return result


async def wait_until(predicate: Callable[[], bool], limit: float = 2.0) -> None:
    async with asyncio.timeout(limit):
        while not predicate():
            await asyncio.sleep(0.005)


# ---- scenarios ---------------------------------------------------------------------------


def test_text_turn_from_asyncio() -> None:
    """Partial text, usage, the aggregated text and turn_complete reach the asyncio
    consumer; the queue closed up front ends the run after the reply (1000)."""

    with live_server(ls.on_turn(ls.say("Hello there, friend.", chunks=3))) as srv:

        async def main() -> tuple[list[Event], list[Event]]:
            runner = await open_runner(srv.base_url)
            try:
                queue = LiveRequestQueue()
                queue.send_content(user_text("hi"))
                queue.close()
                events = await converse(run_live(runner, queue))
                return events, await stored(runner)
            finally:
                await runner.close()

        events, saved = in_asyncio(main)
    assert [True, True, True] == [e.partial for e in events[:3]]
    assert ["Hello there, friend."] == final_texts(events)
    assert events[-1].turn_complete
    assert any(e.usage_metadata is not None for e in events)
    assert [1000] == srv.recording.closes
    assert [{"clientContent": {"turns": [{"role": "user", "parts": [{"text": "hi"}]}],
                               "turnComplete": True}}] == srv.sent()
    assert ["hi"] == [text_of(e) for e in saved if e.author == "user"]
    assert [e.id for e in events if not e.partial] == [
        e.id for e in saved if e.author != "user"]


def get_weather(city: str) -> dict[str, str]:
    """The weather in a city."""
    return {"city": city, "report": f"sunny in {city}"}


def test_tool_call_from_asyncio() -> None:
    turn = ls.on_turn(
        ls.call_tool("get_weather", {"city": "Lima"},
                     expect={"city": "Lima", "report": "sunny in Lima"}),
        ls.say(lambda ctx: f"It is {ctx.tool_response['report']}.", chunks=1))
    with live_server(turn) as srv:

        async def main() -> list[Event]:
            runner = await open_runner(srv.base_url, tools=[get_weather])
            try:
                queue = LiveRequestQueue()
                queue.send_content(user_text("weather in Lima?"))
                queue.close()
                return await converse(run_live(runner, queue))
            finally:
                await runner.close()

        events = in_asyncio(main)
    calls = [c for e in events for c in e.get_function_calls()]
    responses = [r for e in events for r in e.get_function_responses()]
    assert [("fc-1", "get_weather")] == [(c.id, c.name) for c in calls]
    assert [("fc-1", {"city": "Lima", "report": "sunny in Lima"})] == [
        (r.id, r.response) for r in responses]
    assert ["It is sunny in Lima."] == final_texts(events)
    assert [] == srv.talk.failures
    assert ["fc-1"] == [r["id"] for r in srv.talk.tool_responses]
    assert [1000] == srv.recording.closes


def test_streaming_tool_written_for_asyncio_streams_from_the_callers_loop() -> None:
    """An async-generator tool under an asyncio caller runs on the caller's loop: it
    awaits asyncio's sleep between values, each value reaches the model, and the tool is
    closed (its asyncio cleanup runs) when the run ends."""
    state: list[str] = []

    async def monitor_price(symbol: str) -> AsyncGenerator[str, None]:
        """Streams the price of a stock."""
        try:
            for price in (100, 101):
                await asyncio.sleep(0.001)
                yield f"{symbol} at {price}"
            state.append("waiting")
            await asyncio.sleep(3600)
        finally:
            state.append("closed")

    pending = {"status": "The function is running asynchronously and the results are "
                         "pending."}
    turn = ls.on_turn(ls.call_tool("monitor_price", {"symbol": "XYZ"}, expect=pending),
                      ls.say("Watching XYZ.", chunks=1))
    last = "You said: Function monitor_price returned: XYZ at 101"
    with live_server(turn) as srv:

        async def main() -> list[Event]:
            runner = await open_runner(srv.base_url, tools=[monitor_price])
            try:
                queue = LiveRequestQueue()
                queue.send_content(user_text("watch XYZ"))

                def react(event: Event) -> None:
                    if final_text(event) == last:
                        queue.close()

                return await converse(run_live(runner, queue), react)
            finally:
                await runner.close()

        events = in_asyncio(main)
    assert ["waiting", "closed"] == state
    assert last in final_texts(events)
    assert [] == srv.talk.failures


def test_close_mid_reply_from_asyncio_delivers_the_whole_reply() -> None:
    log = RunLog()
    with live_server(ls.on_turn(ls.say("one two three four", chunks=4, delay=0.03))) as srv:

        async def main() -> list[Event]:
            runner = await open_runner(srv.base_url, plugins=[log])
            try:
                queue = LiveRequestQueue()
                queue.send_content(user_text("count"))

                def react(event: Event) -> None:
                    if event.partial and not queue.closed:
                        queue.close()

                return await converse(run_live(runner, queue), react)
            finally:
                await runner.close()

        events = in_asyncio(main)
    assert ["one ", "two ", "three ", "four"] == [text_of(e) for e in events if e.partial]
    assert ["one two three four"] == final_texts(events)
    assert events[-1].turn_complete
    assert [1000] == srv.recording.closes
    assert 1 == log.after_runs
    assert 1 == len(srv.server.live_sessions)


@pytest.mark.parametrize("how", ["break", "asyncio.timeout"])
def test_consumer_leaving_from_asyncio_closes_politely(how: str) -> None:
    """``break`` under aclosing, or an asyncio deadline around the loop, mid-reply with a
    tool running: the tool is cancelled, the server sees 1001 before the generator
    finishes (never a drop), after_run runs on early close."""
    log = RunLog()
    tool_state: list[str] = []

    async def long_job() -> str:
        """Works for a long time."""
        try:
            await asyncio.sleep(3600)  # user code: on the caller's loop
        finally:
            tool_state.append("cancelled")

    turn = ls.on_turn(ls.call_tool("long_job", {}, wait=False),
                      ls.say("one two three four", chunks=4, delay=0.2))
    with live_server(turn) as srv:

        async def main() -> tuple[list[Event], list[int | None], bool]:
            runner = await open_runner(srv.base_url, tools=[long_job], plugins=[log])
            seen: list[Event] = []
            timed_out = False
            try:
                queue = LiveRequestQueue()
                queue.send_content(user_text("go"))
                if how == "break":
                    async with aclosing(run_live(runner, queue)) as stream:
                        async for event in stream:
                            seen.append(event)
                            if event.partial:
                                break
                else:
                    try:
                        async with asyncio.timeout(0.3):
                            async with aclosing(run_live(runner, queue)) as stream:
                                async for event in stream:
                                    seen.append(event)
                    except TimeoutError:
                        timed_out = True
                await wait_until(lambda: bool(srv.recording.closes))
                return seen, list(srv.recording.closes), timed_out
            finally:
                await runner.close()

        seen, closes, timed_out = in_asyncio(main)
    assert [1001] == closes
    assert ["cancelled"] == tool_state
    assert (how == "asyncio.timeout") == timed_out
    assert any(e.partial for e in seen)
    assert 1 == len(srv.server.live_sessions)
    assert not srv.server.live_sessions[0].dropped
    if how == "break":
        assert 1 == log.after_runs


@pytest.mark.parametrize("interruption", ["go_away", "drop"])
def test_resumption_from_asyncio(interruption: str) -> None:
    """goAway, or a dropped connection, with session_resumption: reconnect with the newest
    handle; every reply is seen once, every user turn stored once."""
    action = ls.go_away("1s") if interruption == "go_away" else ls.drop()
    turns = (
        ls.on_turn(ls.say("First answer.", chunks=2)),
        ls.on_turn(ls.say("Second answer.", chunks=2), ls.resumption_update(), action),
        ls.immediately(ls.say("Welcome back.", chunks=1)),
        ls.on_turn(ls.say("Third answer.", chunks=2)),
    )
    config = RunConfig(response_modalities=["TEXT"],
                       session_resumption=types.SessionResumptionConfig())
    with live_server(*turns) as srv:

        async def main() -> tuple[list[Event], list[Event]]:
            runner = await open_runner(srv.base_url)
            try:
                queue = LiveRequestQueue()
                queue.send_content(user_text("one"))

                def react(event: Event) -> None:
                    text = final_text(event)
                    if text == "First answer.":
                        queue.send_content(user_text("two"))
                    elif text == "Welcome back.":
                        queue.send_content(user_text("three"))
                    elif text == "Third answer.":
                        queue.close()

                events = await converse(run_live(runner, queue, run_config=config), react)
                return events, await stored(runner)
            finally:
                await runner.close()

        events, saved = in_asyncio(main)
    assert ["First answer.", "Second answer.", "Welcome back.", "Third answer."] == \
        final_texts(events)
    assert not any(e.error_code for e in events)
    sessions = srv.server.live_sessions
    assert 2 == len(sessions)
    assert {"handle": "fake-handle-2"} == sessions[1].setup["sessionResumption"]
    assert ["fake-handle-2"] == srv.talk.resumed
    assert [["one", "two"], ["three"]] == [
        [m["clientContent"]["turns"][0]["parts"][0]["text"] for m in srv.sent(i)]
        for i in range(2)]
    assert ["one", "two", "three"] == [text_of(e) for e in saved if e.author == "user"]


def test_persistence_from_asyncio() -> None:
    """Stored: the user's text, every non-partial event except model audio chunks."""
    turns = (ls.on_turn(ls.say("Talk to me.", chunks=2)),
             ls.on_utterance(ls.speak("It is sunny", chunks=2)))
    with live_server(*turns, transcripts=["what is the weather"]) as srv:

        async def main() -> tuple[list[Event], list[Event]]:
            runner = await open_runner(srv.base_url)
            try:
                queue = LiveRequestQueue()
                queue.send_content(user_text("hello"))

                def react(event: Event) -> None:
                    if final_text(event) == "Talk to me.":
                        for i in range(2):
                            queue.send_realtime(types.Blob(data=bytes([i]) * 320,
                                                           mime_type=PCM))
                        queue.send_activity_end()
                        queue.close()

                events = await converse(run_live(runner, queue), react)
                return events, await stored(runner)
            finally:
                await runner.close()

        events, saved = in_asyncio(main)
    audio = [e for e in events if is_audio(e)]
    assert 4 == len(audio)  # two echoed chunks, two spoken ones
    kept = [e.id for e in events if not e.partial and not is_audio(e)]
    assert "user" == saved[0].author
    assert "hello" == text_of(saved[0])
    assert kept == [e.id for e in saved[1:]]
    assert not any(e.partial or is_audio(e) for e in saved)
    finished = [e.input_transcription.text for e in saved if e.input_transcription]
    assert ["what is the weather"] == finished
    assert [1000] == srv.recording.closes
