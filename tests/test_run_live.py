"""``Runner.run_live`` end to end: trio callers against FakeGeminiServer over loopback.

Every test drives a real live run: a ``LiveRequestQueue`` feeds the run, the agent's
``Gemini`` model talks to the fake server's Live endpoint over a real WebSocket, and the
fake's scripted ``LiveConversation`` answers.  What the server received is checked in
``server.live_messages`` / ``server.live_sessions`` and the conversation's records; what
the caller saw in the yielded events; what was stored in the session service.

Tests that wait on timeouts use ``autojump_clock`` (client and fake server share one trio
run, so loopback I/O is ready whenever the clock jumps); the others run in real time with
small delays.  The suite-wide conftest fails a test that leaks a run, task or socket.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import aclosing, asynccontextmanager
from functools import partial
from typing import Any, ClassVar

import attrs
import pytest
import trio
import trio.testing
from google.genai import types
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import APP, USER, RunLog, stored_events, user_text
from trio_adk import Agent, Runner
from trio_adk._run import ACTIVE_RUNS
from trio_adk.agents import (
    BaseAgent,
    InvocationContext,
    LiveRequest,
    LiveRequestQueue,
    LoopAgent,
    ParallelAgent,
    QueueFull,
    RunConfig,
    SequentialAgent,
)
from trio_adk.errors import ModelConnectionError, RunnerClosedError, SessionNotFoundError
from trio_adk.events import Event
from trio_adk.models import Gemini
from trio_adk.models._gemini_live import (
    GeminiLiveOptions,
    LiveConnectionClosedError,
    LiveTimeoutError,
)
from trio_adk.plugins import BasePlugin
from trio_adk.sessions import InMemorySessionService
from trio_adk.testing import FakeGeminiServer, LiveScript
from trio_adk.testing import live_script as ls

MODEL = "gemini-2.0-flash-live-001"
PCM = "audio/pcm;rate=16000"
TEXT = RunConfig(response_modalities=["TEXT"])
RESUMABLE = RunConfig(response_modalities=["TEXT"],
                      session_resumption=types.SessionResumptionConfig())
PENDING = {"status": "The function is running asynchronously and the results are pending."}
SESSION = "s1"


# ---- helpers ----------------------------------------------------------------------------


def gemini(server: FakeGeminiServer) -> Gemini:
    return Gemini(model=MODEL, base_url=server.base_url, api_key="k")


def assistant(model: Gemini, tools: list[Any] | None = None, **kwargs: Any) -> Agent:
    return Agent(name="assistant", model=model, instruction="Be brief.", tools=tools or [],
                 **kwargs)


@attrs.define
class Live:
    """A fake server, its scripted conversation and a runner whose agent uses it."""

    server: FakeGeminiServer
    runner: Runner
    talk: ls.LiveConversation | None

    def run(self, queue: LiveRequestQueue, **kwargs: Any) -> AsyncGenerator[Event, None]:
        kwargs.setdefault("run_config", TEXT)
        return self.runner.run_live(user_id=USER, session_id=SESSION, live_request_queue=queue,
                                    **kwargs)

    def sent(self, session: int = 0) -> list[Any]:
        """What the client sent on Live connection ``session``, after ``setup``."""
        return [m.message for m in self.server.live_messages if m.session == session][1:]

    async def stored(self) -> list[Event]:
        return await stored_events(self.runner, SESSION)


@asynccontextmanager
async def live(*turns: ls.LiveTurn, tools: list[Any] | None = None,
               plugins: list[BasePlugin] | None = None, script: LiveScript | None = None,
               agent: Callable[[Gemini], BaseAgent] | None = None,
               runner_kwargs: dict[str, Any] | None = None,
               **options: Any) -> AsyncIterator[Live]:
    """Serve ``turns`` (a LiveConversation with ``options``) or ``script``; a runner over an
    in-memory session service (session ``s1`` exists) whose root agent talks to it."""
    talk = None
    if script is None:
        talk = ls.LiveConversation(*turns, **options)
        script = LiveScript(handler=talk)
    async with FakeGeminiServer(live=script) as server:
        model = gemini(server)
        root = agent(model) if agent is not None else assistant(model, tools)
        service = InMemorySessionService()
        await service.create_session(app_name=APP, user_id=USER, session_id=SESSION)
        runner = Runner(app_name=APP, agent=root, session_service=service, plugins=plugins,
                        **(runner_kwargs or {}))
        async with runner:
            yield Live(server, runner, talk)


React = Callable[[Event, list[Event]], None]


async def converse(gen: AsyncGenerator[Event, None], react: React | None = None, *,
                   into: list[Event] | None = None, limit: float = 3.0) -> list[Event]:
    """Consume a live run to its end; ``react(event, events_so_far)`` may send or close."""
    events = [] if into is None else into
    with trio.fail_after(limit):
        async with aclosing(gen) as stream:
            async for event in stream:
                events.append(event)
                if react is not None:
                    react(event, events)
    return events


def close_on_text(queue: LiveRequestQueue, text: str) -> React:
    """Close the queue once a final (non-partial) model text ``text`` was seen."""

    def react(event: Event, events: list[Event]) -> None:
        if final_text(event) == text:
            queue.close()

    return react


def text_of(event: Event) -> str | None:
    if event.content is None or not event.content.parts:
        return None
    joined = "".join(p.text or "" for p in event.content.parts)
    return joined or None


def final_text(event: Event) -> str | None:
    """The text of a final model text event (non-partial, not the user's)."""
    if event.partial or event.author == "user":
        return None
    return text_of(event)


def final_texts(events: list[Event]) -> list[str]:
    return [t for t in map(final_text, events) if t is not None]


def is_audio(event: Event) -> bool:
    parts = event.content.parts if event.content and event.content.parts else []
    return any(p.inline_data is not None and (p.inline_data.mime_type or "").startswith(
        "audio/") for p in parts)


def describe(event: Event) -> str:
    """A compact description of an event, for sequence assertions."""
    if event.error_code:
        return f"error:{event.error_code}"
    if event.go_away is not None:
        return "go_away"
    if event.live_session_resumption_update is not None:
        return "resumption"
    if event.input_transcription is not None:
        t = event.input_transcription
        return f"in{'~' if event.partial else ''}:{t.text}"
    if event.output_transcription is not None:
        t = event.output_transcription
        return f"out{'~' if event.partial else ''}:{t.text}"
    if event.get_function_calls():
        return "fc:" + ",".join(f"{c.name}#{c.id}" for c in event.get_function_calls())
    if event.get_function_responses():
        return "fr:" + ",".join(f"{r.name}#{r.id}" for r in event.get_function_responses())
    if is_audio(event):
        return "audio"
    text = text_of(event)
    if text is not None:
        return f"{'~' if event.partial else ''}{event.author}:{text}"
    if event.usage_metadata is not None:
        return "usage"
    if event.turn_complete:
        return "turn_complete"
    if event.interrupted:
        return "interrupted"
    return "other"


def blob(i: int) -> types.Blob:
    return types.Blob(data=bytes([i]) * 320, mime_type=PCM)


def message_kind(message: dict[str, Any]) -> str:
    """A compact description of a client message the server received."""
    if "clientContent" in message:
        turns = message["clientContent"].get("turns") or []
        return "content:" + " ".join(p.get("text", "?") for t in turns
                                     for p in t.get("parts", []))
    if "toolResponse" in message:
        return "tool:" + ",".join(r["id"] for r in message["toolResponse"]["functionResponses"])
    realtime = message.get("realtimeInput", {})
    if "audio" in realtime:
        return f"audio:{base64.b64decode(realtime['audio']['data'])[0]}"
    return "realtime:" + ",".join(sorted(realtime))


async def wait_until(predicate: Callable[[], bool], limit: float = 2.0) -> None:
    with trio.fail_after(limit):
        while not predicate():
            await trio.sleep(0.005)


# ---- 1. arguments, sessions, run config, plugins ----------------------------------------


async def test_session_and_queue_are_required() -> None:
    """Neither a session nor both ids, or no queue: ValueError when run_live is called."""
    runner = Runner(app_name=APP, agent=assistant(Gemini(model=MODEL, api_key="k")),
                    session_service=InMemorySessionService())
    queue = LiveRequestQueue()
    message = "Either session or user_id and session_id must be provided."
    for kwargs in ({}, {"user_id": USER}, {"session_id": SESSION}):
        with pytest.raises(ValueError) as caught:
            runner.run_live(live_request_queue=queue, **kwargs)
        assert message == str(caught.value)
    with pytest.raises(ValueError, match="live_request_queue is required"):
        runner.run_live(user_id=USER, session_id=SESSION)
    with pytest.raises(TypeError, match="LiveRequestQueue"):
        runner.run_live(user_id=USER, session_id=SESSION,
                        live_request_queue=object())  # type: ignore[arg-type]
    await runner.close()


async def test_text_turn_sent_before_the_run_starts_is_answered_and_stored() -> None:
    """Content queued (and the queue closed) before run_live: delivered on the new
    connection, answered; the run then ends by itself, closing with 1000."""
    async with live(ls.on_turn(ls.say("Hello there, how are you today?", chunks=3))) as lv:
        queue = LiveRequestQueue()
        queue.send_content(user_text("hi"))
        queue.close()
        events = await converse(lv.run(queue))
        stored = await lv.stored()
    assert [
        "~assistant:Hello there, ", "~assistant:how are ", "~assistant:you today?",
        "usage", "assistant:Hello there, how are you today?", "turn_complete",
    ] == [describe(e) for e in events]
    assert 6 == events[3].usage_metadata.candidates_token_count  # type: ignore[union-attr]
    assert all(e.author == "assistant" for e in events)
    assert 1 == len({e.invocation_id for e in events})
    assert len(events) == len({e.id for e in events})
    assert ["content:hi"] == [message_kind(m) for m in lv.sent()]
    assert [1000] == [s.close_code for s in lv.server.live_sessions]
    setup = lv.server.live_sessions[0].setup
    assert ["TEXT"] == setup["generationConfig"]["responseModalities"]
    assert "Be brief." in setup["systemInstruction"]["parts"][0]["text"]
    assert ["user:hi", "usage", "assistant:Hello there, how are you today?",
            "turn_complete"] == [describe(e) for e in stored]


async def test_stored_user_text_is_a_copy_of_what_the_caller_sent() -> None:
    """The session keeps its own copy of live user text (with role 'user'): a caller that
    reuses or edits its Content afterwards cannot rewrite the stored history."""
    async with live(ls.on_turn(ls.say("Okay.", chunks=1))) as lv:
        queue = LiveRequestQueue()
        mine = types.Content(role="model", parts=[types.Part(text="hi")])
        queue.send_content(mine)
        queue.close()
        await converse(lv.run(queue))
        mine.parts[0].text = "rewritten"  # type: ignore[index]
        mine.parts.append(types.Part(text="more"))  # type: ignore[union-attr]
        stored = await lv.stored()
    user = stored[0]
    assert "user" == user.author
    assert user.content is not None and user.content is not mine
    assert "user" == user.content.role
    assert ["hi"] == [p.text for p in user.content.parts or []]


async def test_deprecated_session_argument_warns_and_uses_that_session() -> None:
    async with live(ls.on_turn(ls.say("ok", chunks=1))) as lv:
        session = await lv.runner.session_service.get_session(
            app_name=APP, user_id=USER, session_id=SESSION)
        assert session is not None
        queue = LiveRequestQueue()
        queue.send_content(user_text("hi"))
        queue.close()
        with pytest.warns(DeprecationWarning,
                          match="The `session` parameter is deprecated"):
            gen = lv.runner.run_live(session=session, live_request_queue=queue,
                                     run_config=TEXT)
        events = await converse(gen)
        stored = await lv.stored()
    assert ["ok"] == final_texts(events)
    # The object passed in is the run's session: events were appended to it too.
    assert [e.id for e in stored] == [e.id for e in session.events]
    assert "user:hi" == describe(session.events[0])


async def test_run_config_is_never_mutated_and_live_defaults_apply_to_a_copy() -> None:
    """The caller's RunConfig keeps response_modalities and transcription unset, also for
    a root with sub-agents; the setup carries AUDIO and (with sub-agents) both
    transcriptions."""

    def with_helper(model: Gemini) -> BaseAgent:
        helper = Agent(name="helper", model=model, description="Helps.")
        return Agent(name="assistant", model=model, instruction="Be brief.",
                     sub_agents=[helper])

    config = RunConfig()
    for agent in (None, with_helper):
        async with live(ls.on_turn(ls.say("ok", chunks=1)), agent=agent) as lv:
            queue = LiveRequestQueue()
            queue.send_content(user_text("hi"))
            queue.close()
            await converse(lv.run(queue, run_config=config))
            setup = lv.server.live_sessions[0].setup
        assert ["AUDIO"] == setup["generationConfig"]["responseModalities"]
        if agent is None:
            assert "inputAudioTranscription" not in setup
            assert "outputAudioTranscription" not in setup
        else:
            assert {} == setup["inputAudioTranscription"]
            assert {} == setup["outputAudioTranscription"]
        assert config.response_modalities is None
        assert config.input_audio_transcription is None
        assert config.output_audio_transcription is None
    assert RunConfig() == config


async def test_missing_session_raises_unless_auto_created() -> None:
    async with live(ls.on_turn(ls.say("ok", chunks=1))) as lv:
        queue = LiveRequestQueue()
        with pytest.raises(SessionNotFoundError, match="Session not found: nope"):
            await converse(lv.runner.run_live(user_id=USER, session_id="nope",
                                              live_request_queue=queue))
        assert [] == lv.server.live_sessions
    async with live(ls.on_turn(ls.say("ok", chunks=1)),
                    runner_kwargs={"auto_create_session": True}) as lv:
        queue = LiveRequestQueue()
        queue.send_content(user_text("hi"))
        queue.close()
        events = await converse(lv.runner.run_live(user_id=USER, session_id="new",
                                                   live_request_queue=queue,
                                                   run_config=TEXT))
        created = await stored_events(lv.runner, "new")
    assert ["ok"] == final_texts(events)
    assert ["user:hi", "usage", "assistant:ok", "turn_complete"] == [
        describe(e) for e in created]


class Recorder(BasePlugin):
    """Records the run callbacks; on_event tags every event; before_run may answer."""

    def __init__(self, answer: str | None = None) -> None:
        super().__init__(name="recorder")
        self.answer = answer
        self.calls: list[str] = []
        self.seen: list[str] = []

    async def before_run_callback(self, *, invocation_context: InvocationContext
                                  ) -> types.Content | None:
        self.calls.append("before_run")
        if self.answer is None:
            return None
        return types.Content(role="model", parts=[types.Part(text=self.answer)])

    async def on_event_callback(self, *, invocation_context: InvocationContext,
                                event: Event) -> Event | None:
        self.seen.append(describe(event))
        return Event(author="", custom_metadata={"tagged": True})

    async def after_run_callback(self, *, invocation_context: InvocationContext) -> None:
        self.calls.append("after_run")


async def test_plugins_wrap_the_live_run_like_run_async() -> None:
    """before_run, then on_event for every event (its replacement merged, persisted as
    merged), then after_run."""
    recorder = Recorder()
    async with live(ls.on_turn(ls.say("a b", chunks=2)), plugins=[recorder]) as lv:
        queue = LiveRequestQueue()
        queue.send_content(user_text("hi"))
        queue.close()
        events = await converse(lv.run(queue))
        stored = await lv.stored()
    assert ["before_run", "after_run"] == recorder.calls
    assert [describe(e) for e in events] == recorder.seen
    assert all(e.custom_metadata == {"tagged": True} for e in events)
    assert all(e.author == "assistant" for e in events)
    assert all(e.custom_metadata == {"tagged": True} for e in stored if e.author != "user")


async def test_agent_callbacks_run_around_the_live_body() -> None:
    """before_agent runs before the connection opens, after_agent once the live run
    ended; after_agent's content is the run's last event."""
    calls: list[str] = []

    def before(callback_context: Any) -> None:
        calls.append(f"before:{len(lv.server.live_sessions)}")

    def after(callback_context: Any) -> types.Content:
        calls.append(f"after:{lv.server.live_sessions[0].close_code}")
        return types.Content(role="model", parts=[types.Part(text="bye")])

    def with_callbacks(model: Gemini) -> BaseAgent:
        return assistant(model, before_agent_callback=before, after_agent_callback=after)

    async with live(ls.on_turn(ls.say("ok", chunks=1)), agent=with_callbacks) as lv:
        queue = LiveRequestQueue()
        queue.send_content(user_text("hi"))
        queue.close()
        events = await converse(lv.run(queue))
    assert ["before:0", "after:1000"] == calls
    assert "assistant:bye" == describe(events[-1])


async def test_before_run_answer_short_circuits_without_connecting() -> None:
    recorder = Recorder(answer="Closed for maintenance.")
    async with live(ls.on_turn(ls.say("never", chunks=1)), plugins=[recorder]) as lv:
        queue = LiveRequestQueue()
        events = await converse(lv.run(queue))
        stored = await lv.stored()
        assert [] == lv.server.live_sessions
    assert ["model:Closed for maintenance."] == [describe(e) for e in events]
    assert [events[0].id] == [e.id for e in stored]
    assert ["before_run", "after_run"] == recorder.calls


# ---- 2. the queue: order, capacity, backpressure, close ---------------------------------


async def test_requests_reach_the_server_in_fifo_order() -> None:
    """Every kind of request, from the test task and from a thread, arrives in order."""
    async with live(echo_audio=False, interrupt_on_activity=False) as lv:
        queue = LiveRequestQueue()
        queue.send_content(user_text("a"))
        queue.send_realtime(blob(1))
        queue.send_activity_start()
        queue.send_realtime(blob(2))
        queue.send_activity_end()
        queue.send(LiveRequest(content=user_text("b")))
        queue.send_audio_stream_end()
        got: list[Event] = []
        async with trio.open_nursery() as nursery:
            nursery.start_soon(partial(converse, lv.run(queue), into=got))
            await wait_until(lambda: "You said: b" in final_texts(got))

            def from_thread() -> None:
                for i in range(10, 20):
                    queue.send_realtime(blob(i))
                queue.close()

            await trio.to_thread.run_sync(from_thread)
    assert [
        "content:a", "audio:1", "realtime:activityStart", "audio:2",
        "realtime:activityEnd", "content:b", "realtime:audioStreamEnd",
        *[f"audio:{i}" for i in range(10, 20)],
    ] == [message_kind(m) for m in lv.sent()]
    assert ["You said: a", "You said: b"] == final_texts(got)


async def test_sync_sends_raise_queue_full_when_full_and_lose_nothing() -> None:
    """capacity=2: a third send raises QueueFull and queues nothing; every request that
    was accepted (before and during the run) reaches the server once, in order."""
    async with live(echo_audio=False) as lv:
        queue = LiveRequestQueue(capacity=2)
        queue.send_realtime(blob(0))
        queue.send_realtime(blob(1))
        with pytest.raises(QueueFull):
            queue.send_realtime(blob(99))
        with pytest.raises(QueueFull):
            queue.send_content(user_text("lost"))
        accepted = [0, 1]
        refused = 0
        async with trio.open_nursery() as nursery:
            nursery.start_soon(converse, lv.run(queue))
            i = 2
            while i < 40:
                try:
                    queue.send_realtime(blob(i))
                except QueueFull:
                    refused += 1
                    await trio.sleep(0)
                    continue
                accepted.append(i)
                i += 1
            queue.close()
    assert [f"audio:{i}" for i in accepted] == [message_kind(m) for m in lv.sent()]
    assert list(range(40)) == accepted
    assert refused > 0  # the producer did outrun the sender


async def test_asend_waits_for_room() -> None:
    """``await queue.asend(...)`` on a full queue waits (nothing queued meanwhile) until
    the run takes a request; then it goes through, in order."""
    async with live(ls.on_turn(ls.say("one", chunks=1)),
                    ls.on_turn(ls.say("two", chunks=1))) as lv:
        queue = LiveRequestQueue(capacity=1)
        queue.send_content(user_text("first"))
        with trio.move_on_after(0.05) as waited:
            await queue.asend(LiveRequest(content=user_text("never queued")))
        assert waited.cancelled_caught
        done: list[float] = []

        async def produce() -> None:
            await queue.asend(LiveRequest(content=user_text("second")))
            done.append(trio.current_time())
            await queue.asend(LiveRequest(close=True))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(produce)
            await trio.sleep(0.05)
            assert [] == done  # still waiting: the run has not started
            events = await converse(lv.run(queue))
    assert 1 == len(done)
    assert ["content:first", "content:second"] == [message_kind(m) for m in lv.sent()]
    assert ["one", "two"] == final_texts(events)


async def test_sends_after_close_raise() -> None:
    async with live(ls.on_turn(ls.say("ok", chunks=1))) as lv:
        queue = LiveRequestQueue()
        queue.send_content(user_text("hi"))
        queue.close()
        with pytest.raises(trio.ClosedResourceError):
            queue.send_content(user_text("late"))
        events = await converse(lv.run(queue))
        with pytest.raises(trio.ClosedResourceError):
            queue.send_realtime(blob(1))
        with pytest.raises(trio.ClosedResourceError):
            await queue.asend(LiveRequest(content=user_text("later")))
    assert ["ok"] == final_texts(events)
    assert ["content:hi"] == [message_kind(m) for m in lv.sent()]


# ---- 3. what the caller sees -------------------------------------------------------------


async def test_audio_echo_and_input_output_transcriptions() -> None:
    """Realtime audio is echoed back as audio chunk events; the utterance's input
    transcription (author user: partial words, then the finished whole) and the spoken
    reply's output transcription (likewise) arrive before turn_complete."""
    async with live(ls.on_utterance(ls.speak("It is sunny", chunks=2)),
                    transcripts=["what is the weather"]) as lv:
        queue = LiveRequestQueue()
        for i in range(3):
            queue.send_realtime(blob(i))
        queue.send_activity_end()
        queue.close()
        events = await converse(lv.run(queue))
    assert [
        "audio", "audio", "audio",
        "in~:what ", "in~:is ", "in~:the ", "in~:weather", "in:what is the weather",
        "audio", "out~:It is ", "audio", "out~:sunny", "out:It is sunny",
        "usage", "turn_complete",
    ] == [describe(e) for e in events]
    echoed = [e.content.parts[0].inline_data for e in events[:3]]  # type: ignore[union-attr,index]
    assert [blob(i).data for i in range(3)] == [b.data for b in echoed]  # type: ignore[union-attr]
    heard = [e for e in events if e.input_transcription is not None]
    assert {"user"} == {e.author for e in heard}
    assert [False, False, False, False, True] == [
        e.input_transcription.finished for e in heard]  # type: ignore[union-attr]
    said = [e for e in events if e.output_transcription is not None]
    assert {"assistant"} == {e.author for e in said}
    assert [True, True, False] == [bool(e.partial) for e in said]


async def test_barge_in_interrupts_the_reply(autojump_clock: trio.abc.Clock) -> None:
    """activity_start while the model speaks: the reply is cut, the caller sees
    interrupted, then turn_complete; the conversation goes on."""
    async with live(ls.on_turn(ls.speak("one two three four five six", chunks=6, delay=1.0)),
                    ls.on_turn(ls.say("Yes?", chunks=1))) as lv:
        queue = LiveRequestQueue()
        queue.send_content(user_text("count"))
        barged = False

        def react(event: Event, events: list[Event]) -> None:
            nonlocal barged
            if event.output_transcription is not None and not barged:
                barged = True
                queue.send_activity_start()
            elif event.turn_complete and not any(final_text(e) == "Yes?" for e in events):
                queue.send_content(user_text("stop"))
            elif final_text(event) == "Yes?":
                queue.close()

        events = await converse(lv.run(queue), react, limit=30)
        assert lv.talk is not None
        assert 1 == lv.talk.interruptions
    kinds = [describe(e) for e in events]
    # The transcription of what was said before the cut is finished, then the cut.
    assert ["audio", "out~:one ", "out:one ", "interrupted", "turn_complete"] == kinds[:5]
    assert 1 == kinds.count("audio")  # nothing after the barge-in
    assert ["Yes?"] == final_texts(events)
    assert {"realtimeInput": {"activityStart": {}}} in lv.sent()


async def test_server_error_close_is_an_error_event_then_an_exception() -> None:
    """The server closes with 1011 and a reason: after what it sent, an error event with
    error_code and error_message (persisted), then LiveConnectionClosedError."""
    log = RunLog()
    async with live(ls.on_turn(ls.say("partial", turn_complete=False),
                               ls.close(1011, "Internal error encountered.")),
                    plugins=[log]) as lv:
        queue = LiveRequestQueue()
        queue.send_content(user_text("go"))
        events: list[Event] = []
        with pytest.raises(LiveConnectionClosedError, match="1011") as caught:
            await converse(lv.run(queue), into=events)
        stored = await lv.stored()
        assert 1 == len(lv.server.live_sessions)
    assert ["~assistant:partial", "error:1011"] == [describe(e) for e in events]
    assert "Internal error encountered." == events[-1].error_message
    assert 1011 == caught.value.code
    assert isinstance(caught.value, ModelConnectionError)
    assert events[-1].id == stored[-1].id
    assert 0 == log.after_runs  # a failed run does not run after_run


# ---- 4. tools ------------------------------------------------------------------------------


def get_weather(city: str) -> dict[str, str]:
    """The weather in a city."""
    return {"city": city, "report": f"sunny in {city}"}


@pytest.mark.parametrize("model", [MODEL, "gemini-3.1-flash-live-preview"])
async def test_tool_call_round_trip(model: str) -> None:
    """The model's toolCall runs the tool; its result goes back as toolResponse with the
    call id; the model's answer uses it.  Closing the queue up front waits for it all,
    whether the model ends its turn after the call (2.x) or keeps it open (3.x)."""
    three = model != MODEL
    turn = ls.on_turn(
        ls.call_tool("get_weather", {"city": "Paris"},
                     expect={"city": "Paris", "report": "sunny in Paris"},
                     turn_complete=not three),
        ls.say(lambda ctx: f"It is {ctx.tool_response['report']}.", chunks=1))

    def agent(server_model: Gemini) -> BaseAgent:
        return assistant(Gemini(model=model, base_url=server_model.base_url, api_key="k"),
                         [get_weather])

    async with live(turn, agent=agent) as lv:
        queue = LiveRequestQueue()
        queue.send_content(user_text("weather in Paris?"))
        queue.close()
        events = await converse(lv.run(queue))
        stored = await lv.stored()
        talk = lv.talk
        assert talk is not None
        assert [] == talk.failures
        assert [{"id": "fc-1", "name": "get_weather",
                 "response": {"city": "Paris", "report": "sunny in Paris"}}] == \
            talk.tool_responses
        assert ["content:weather in Paris?", "tool:fc-1"] == [
            message_kind(m) for m in lv.sent()]
        tools = lv.server.live_sessions[0].setup["tools"]
        assert ["get_weather"] == [d["name"] for d in tools[0]["functionDeclarations"]]
    kinds = [describe(e) for e in events]
    answer = ["~assistant:It is sunny in Paris.", "usage", "assistant:It is sunny in Paris.",
              "turn_complete"]
    if three:
        assert ["fc:get_weather#fc-1", "fr:get_weather#fc-1", *answer] == kinds
    else:  # the tool's answer and the model's turn_complete race for the caller
        assert "fc:get_weather#fc-1" == kinds[0]
        assert ["fr:get_weather#fc-1", "turn_complete"] == sorted(kinds[1:3])
        assert answer == kinds[3:]
    assert ["user:weather in Paris?"] + [describe(e) for e in events if not e.partial] == [
        describe(e) for e in stored]


async def test_parallel_tool_calls_run_concurrently(autojump_clock: trio.abc.Clock) -> None:
    """Two calls in one toolCall, each tool taking 1 s: both answered after ~1 s."""
    running: list[str] = []
    most = 0

    async def slow_a() -> str:
        """A slow tool."""
        nonlocal most
        running.append("a")
        most = max(most, len(running))
        await trio.sleep(1)
        running.remove("a")
        return "A"

    async def slow_b() -> str:
        """Another slow tool."""
        nonlocal most
        running.append("b")
        most = max(most, len(running))
        await trio.sleep(1)
        running.remove("b")
        return "B"

    turn = ls.on_turn(ls.call_tools([("slow_a", {}), ("slow_b", {})],
                                    expect=[{"result": "A"}, {"result": "B"}]),
                      ls.say("both done", chunks=1))
    async with live(turn, tools=[slow_a, slow_b]) as lv:
        queue = LiveRequestQueue()
        queue.send_content(user_text("go"))
        queue.close()
        start = trio.current_time()
        events = await converse(lv.run(queue), limit=30)
        elapsed = trio.current_time() - start
        assert lv.talk is not None
        assert [] == lv.talk.failures
        assert {"fc-1", "fc-2"} == {r["id"] for r in lv.talk.tool_responses}
    assert 2 == most
    assert 1 <= elapsed < 1.5
    assert ["both done"] == final_texts(events)
    responses = sorted(r.name or "" for e in events for r in e.get_function_responses())
    assert ["slow_a", "slow_b"] == responses


async def test_tool_call_cancellation_cancels_the_running_call() -> None:
    """toolCallCancellation for a running call cancels it: it sees Cancelled, never
    finishes, and no toolResponse is sent for it; the conversation goes on."""
    started = trio.Event()
    outcome: list[str] = []

    async def slow_lookup(query: str) -> str:
        """Looks something up, slowly."""
        started.set()
        try:
            await trio.sleep(10)
        except trio.Cancelled:
            outcome.append("cancelled")
            raise
        outcome.append("finished")
        return "found"

    async def wait_started(ctx: ls.LiveContext) -> None:
        await started.wait()

    turn = ls.on_turn(ls.call_tool("slow_lookup", {"query": "x"}, id="fc-9", wait=False),
                      wait_started, ls.cancel_tool_calls("fc-9"),
                      ls.say("Never mind.", chunks=1))
    async with live(turn, tools=[slow_lookup]) as lv:
        queue = LiveRequestQueue()
        queue.send_content(user_text("look it up"))
        events = await converse(lv.run(queue), close_on_text(queue, "Never mind."))
        assert lv.talk is not None
        assert [] == lv.talk.tool_responses
        assert ["content:look it up"] == [message_kind(m) for m in lv.sent()]
        assert [1000] == [s.close_code for s in lv.server.live_sessions]
    assert ["cancelled"] == outcome
    assert not any(e.get_function_responses() for e in events)
    assert ["fc:slow_lookup#fc-9", "turn_complete"] == [describe(e) for e in events][:2]
    assert ["Never mind."] == final_texts(events)


async def test_streaming_tool_streams_to_the_model_and_ends_with_the_run() -> None:
    """An async-generator tool answers 'pending' at once; each value it yields reaches the
    model as user content "Function <name> returned: <value>" while the conversation
    goes on; it is cancelled when the run ends."""
    state: list[str] = []

    async def monitor_price(symbol: str) -> AsyncGenerator[str, None]:
        """Streams the price of a stock."""
        try:
            for price in (100, 101):
                yield f"{symbol} at {price}"
            state.append("waiting")
            await trio.sleep_forever()
        finally:
            state.append("closed")

    turn = ls.on_turn(ls.call_tool("monitor_price", {"symbol": "XYZ"}, expect=PENDING),
                      ls.say("Watching XYZ.", chunks=1))
    async with live(turn, tools=[monitor_price]) as lv:
        queue = LiveRequestQueue()
        queue.send_content(user_text("watch XYZ"))
        last = "You said: Function monitor_price returned: XYZ at 101"
        events: list[Event] = []
        with trio.fail_after(3):
            async with aclosing(lv.run(queue)) as stream:
                async for event in stream:
                    events.append(event)
                    if event.get_function_calls():
                        await trio.sleep(0.05)  # a slow consumer holds the call's answer
                    if final_text(event) == last:
                        queue.close()
        assert lv.talk is not None
        assert [] == lv.talk.failures
        sent = [message_kind(m) for m in lv.sent()]
    assert ["waiting", "closed"] == state
    responses = [r for e in events for r in e.get_function_responses()]
    assert [("monitor_price", PENDING)] == [(r.name, r.response) for r in responses]
    # The call's pending answer reaches the model before the first streamed value.
    assert ["content:watch XYZ", "tool:fc-1",
            "content:Function monitor_price returned: XYZ at 100",
            "content:Function monitor_price returned: XYZ at 101"] == sent
    assert {"Watching XYZ.", "You said: Function monitor_price returned: XYZ at 100",
            last} == set(final_texts(events))


async def test_streaming_tool_with_input_stream_gets_a_copy_of_the_live_input() -> None:
    """A streaming tool with an ``input_stream`` parameter receives every request read
    from the live queue after it started (here a video frame) on its own queue."""

    async def watch_camera(input_stream: LiveRequestQueue) -> AsyncGenerator[str, None]:
        """Describes what the camera sees."""
        while not (request := await input_stream.get()).close:
            if request.blob is not None and request.blob.data:
                yield f"frame {request.blob.data[0]}"

    turn = ls.on_turn(ls.call_tool("watch_camera", {}, expect=PENDING),
                      ls.say("Watching.", chunks=1))
    async with live(turn, tools=[watch_camera]) as lv:
        queue = LiveRequestQueue()
        queue.send_content(user_text("watch"))
        last = "You said: Function watch_camera returned: frame 7"

        def react(event: Event, events: list[Event]) -> None:
            if final_text(event) == "Watching.":
                queue.send_realtime(types.Blob(data=bytes([7]) * 10, mime_type="image/jpeg"))
            elif final_text(event) == last:
                queue.close()

        events = await converse(lv.run(queue), react)
        assert lv.talk is not None
        assert [] == lv.talk.failures
        assert ["content:watch", "tool:fc-1", "realtime:video",
                "content:Function watch_camera returned: frame 7"] == [
            message_kind(m) for m in lv.sent()]
        declaration = lv.server.live_sessions[0].setup["tools"][0]["functionDeclarations"][0]
        assert "input_stream" not in str(declaration)
    assert last == final_texts(events)[-1]


async def test_stop_streaming_tool_stops_the_stream() -> None:
    """The model calls stop_streaming(function_name=...): the stream is cancelled and the
    call is answered with the documented status."""
    state: list[str] = []

    async def monitor_price(symbol: str) -> AsyncGenerator[str, None]:
        """Streams the price of a stock."""
        try:
            yield f"{symbol} at 100"
            await trio.sleep_forever()
        finally:
            state.append("closed")

    def stop_streaming(function_name: str) -> None:
        """Stops a streaming function."""

    stopped = {"status": "Successfully stopped streaming function monitor_price"}
    unknown = {"status": "No active streaming function named nothing found"}
    async with live(
            ls.on_turn(ls.call_tool("monitor_price", {"symbol": "XYZ"}, expect=PENDING),
                       ls.say("Watching.", chunks=1)),
            ls.on_turn(ls.call_tool("stop_streaming", {"function_name": "monitor_price"},
                                    expect=stopped),
                       ls.call_tool("stop_streaming", {"function_name": "nothing"},
                                    expect=unknown),
                       ls.say("Stopped.", chunks=1)),
            tools=[monitor_price, stop_streaming]) as lv:
        queue = LiveRequestQueue()
        queue.send_content(user_text("watch XYZ"))
        closed_when_stopped: list[bool] = []

        def react(event: Event, events: list[Event]) -> None:
            if final_text(event) == "Stopped.":
                closed_when_stopped.append(state == ["closed"])
                queue.close()

        events = await converse(lv.run(queue), react)
        assert lv.talk is not None
        assert [] == lv.talk.failures
    assert [True] == closed_when_stopped
    responses = [r.response for e in events for r in e.get_function_responses()
                 if r.name == "stop_streaming"]
    assert [stopped, unknown] == responses


async def test_transfer_to_agent_switches_the_connection() -> None:
    """transfer_to_agent: the first connection closes with 1000 and the target agent
    opens its own, with its own instruction; it answers from the shared history."""
    concierge = ls.LiveConversation(ls.on_turn(
        ls.call_tool("transfer_to_agent", {"agent_name": "planner"}, wait=False)))
    planner = ls.LiveConversation(ls.on_turn(ls.say("Day 1: the Louvre.", chunks=2)))

    async def handler(session: Any) -> None:
        await (concierge if session.index == 0 else planner)(session)

    def tree(model: Gemini) -> BaseAgent:
        plan = Agent(name="planner", model=model, instruction="You plan trips.",
                     description="Plans trips.")
        return Agent(name="concierge", model=model, instruction="You route requests.",
                     sub_agents=[plan])

    async with live(script=LiveScript(handler=handler), agent=tree) as lv:
        queue = LiveRequestQueue()
        queue.send_content(user_text("plan a trip to Paris"))
        events = await converse(lv.run(queue), close_on_text(queue, "Day 1: the Louvre."))
        sessions = lv.server.live_sessions
        assert 2 == len(sessions)
        assert [1000, 1000] == [s.close_code for s in sessions]
        first, second = (s.setup["systemInstruction"]["parts"][0]["text"] for s in sessions)
        assert "You route requests." in first
        assert "You plan trips." in second and "You route requests." not in second
        assert "plan a trip to Paris" in " ".join(message_kind(m) for m in lv.sent(1))
        stored = await lv.stored()
    transfer = [e for e in events if e.actions.transfer_to_agent]
    assert ["planner"] == [e.actions.transfer_to_agent for e in transfer]
    assert "concierge" == transfer[0].author
    answer = [e for e in events if final_text(e) == "Day 1: the Louvre."]
    assert ["planner"] == [e.author for e in answer]
    assert "planner" == stored[-1].author  # the next run starts with the planner


def _declared(session: Any) -> list[str]:
    """The function names declared in a live session's setup."""
    return [d["name"] for tool in session.setup.get("tools", [])
            for d in tool.get("functionDeclarations", [])]


async def test_sequential_agent_hands_over_on_task_completed() -> None:
    """A SequentialAgent run live: each LLM sub-agent is offered ``task_completed``; its
    call closes that sub-agent's connection with 1000 and the next one connects on the
    same queue.  The caller's agents are left as they were."""
    greeter_talk = ls.LiveConversation(
        ls.on_turn(ls.say("Welcome!"), ls.call_tool("task_completed", wait=False)))
    helper_talk = ls.LiveConversation(ls.on_turn(ls.say("How can I help?")))

    async def handler(session: Any) -> None:
        await (greeter_talk if session.index == 0 else helper_talk)(session)

    greeter: Agent | None = None
    helper: Agent | None = None

    def tree(model: Gemini) -> BaseAgent:
        nonlocal greeter, helper
        greeter = Agent(name="greeter", model=model, instruction="Greet.")
        helper = Agent(name="helper", model=model, instruction="Help.")
        return SequentialAgent(name="desk", sub_agents=[greeter, helper])

    async with live(script=LiveScript(handler=handler), agent=tree) as lv:
        queue = LiveRequestQueue()
        queue.send_content(user_text("hello"))
        events = await converse(lv.run(queue), close_on_text(queue, "How can I help?"))
        sessions = lv.server.live_sessions
        assert 2 == len(sessions)
        assert [1000, 1000] == [s.close_code for s in sessions]
        assert [["task_completed"], ["task_completed"]] == [_declared(s) for s in sessions]
        first, second = (s.setup["systemInstruction"]["parts"][0]["text"] for s in sessions)
        assert "Greet." in first and "`task_completed`" in first and "Help." not in first
        assert "Help." in second and "`task_completed`" in second
        # The function response ended the first connection: it was not sent to the model.
        assert not [m for m in lv.sent(0) if "toolResponse" in m]
    assert ["fc:task_completed", "fr:task_completed"] == [
        d.split("#")[0] for d in map(describe, events) if d.startswith(("fc:", "fr:"))]
    assert [("greeter", "Welcome!"), ("helper", "How can I help?")] == [
        (e.author, final_text(e)) for e in events if final_text(e)]
    assert greeter is not None and helper is not None
    assert [] == greeter.tools and [] == helper.tools
    assert ("Greet.", "Help.") == (greeter.instruction, helper.instruction)


async def test_sequential_sub_agent_with_its_own_task_completed_tool_keeps_it() -> None:
    """A sub-agent that already has a ``task_completed`` tool runs that tool, is not
    offered ours (nor the instruction) and does not hand over."""
    calls: list[str] = []

    def task_completed() -> str:
        """The user's own tool that happens to share the name."""
        calls.append("mine")
        return "noted"

    def tree(model: Gemini) -> BaseAgent:
        return SequentialAgent(name="desk", sub_agents=[
            Agent(name="first", model=model, instruction="One.", tools=[task_completed]),
            Agent(name="second", model=model, instruction="Two.")])

    async with live(ls.on_turn(ls.call_tool("task_completed", expect="noted"),
                               ls.say("Still me.")), agent=tree) as lv:
        queue = LiveRequestQueue()
        queue.send_content(user_text("done?"))
        events = await converse(lv.run(queue), close_on_text(queue, "Still me."))
        sessions = lv.server.live_sessions
        assert 1 == len(sessions)
        instruction = sessions[0].setup["systemInstruction"]["parts"][0]["text"]
        assert "`task_completed`" not in instruction
        assert [{"result": "noted"}] == [
            r["response"] for m in lv.sent(0) if "toolResponse" in m
            for r in m["toolResponse"]["functionResponses"]]
    assert ["mine"] == calls
    assert ["first"] == [e.author for e in events if final_text(e)]


async def test_sequential_agent_stops_when_the_queue_closes() -> None:
    """Closing the queue during the first sub-agent ends the run: later sub-agents never
    connect."""
    def tree(model: Gemini) -> BaseAgent:
        return SequentialAgent(name="desk", sub_agents=[
            Agent(name="first", model=model, instruction="One."),
            Agent(name="second", model=model, instruction="Two.")])

    async with live(ls.on_turn(ls.say("Only me.")), agent=tree) as lv:
        queue = LiveRequestQueue()
        queue.send_content(user_text("hi"))
        events = await converse(lv.run(queue), close_on_text(queue, "Only me."))
        assert 1 == len(lv.server.live_sessions)
    assert ["first"] == [e.author for e in events if final_text(e)]


@pytest.mark.parametrize("attempt", range(4))
async def test_a_request_in_hand_at_a_hand_over_goes_to_the_next_agent(attempt: int) -> None:
    """The user speaks just as the model hands over (here: from the ``task_completed``
    call's after-tool callback, so the sender takes the request off the queue in the same
    scheduler pass in which the hand-over closes the connection).  Whichever of the two
    trio runs first, the request reaches a model (the old connection, or the next agent's
    as its first message) and the next agent answers it; it is never dropped with the old
    connection.  (Repeated: trio picks the order of runnable tasks at random.)"""
    first = ls.LiveConversation(ls.on_turn(ls.call_tool("task_completed", wait=False)))
    second = ls.LiveConversation(ls.on_turn(ls.say("Yes, here.")))
    queue = LiveRequestQueue()

    async def handler(session: Any) -> None:
        await (first if session.index == 0 else second)(session)

    def speak_up(**_: Any) -> None:
        queue.send_content(user_text("are you there?"))

    def tree(model: Gemini) -> BaseAgent:
        return SequentialAgent(name="desk", sub_agents=[
            Agent(name="one", model=model, after_tool_callback=speak_up),
            Agent(name="two", model=model)])

    async with live(script=LiveScript(handler=handler), agent=tree) as lv:
        queue.send_content(user_text("hello"))
        events = await converse(lv.run(queue), close_on_text(queue, "Yes, here."))
        stored = [text_of(e) for e in await lv.stored() if e.author == "user"]
    assert ["two"] == [e.author for e in events if final_text(e)]
    assert ["hello", "are you there?"] == stored


@pytest.mark.parametrize("workflow", [ParallelAgent, LoopAgent])
async def test_parallel_and_loop_agents_have_no_live_mode(workflow: type[BaseAgent]) -> None:
    """As in ADK, ParallelAgent and LoopAgent cannot run live: the run raises
    NotImplementedError naming the agent's class, and nothing connects."""
    def tree(model: Gemini) -> BaseAgent:
        return workflow(name="flow", sub_agents=[Agent(name="a", model=model)])

    async with live(agent=tree) as lv:
        queue = LiveRequestQueue()
        with pytest.raises(NotImplementedError, match=workflow.__name__):
            await converse(lv.run(queue))
        assert [] == lv.server.live_sessions


# ---- 5. ending -----------------------------------------------------------------------------


@pytest.mark.parametrize("go_away", [False, True])
async def test_close_mid_reply_delivers_the_whole_reply_then_closes_1000(
        go_away: bool, autojump_clock: trio.abc.Clock) -> None:
    """queue.close() while the model is mid-reply: the rest of the reply, its final text
    and turn_complete arrive; the socket closes with 1000; after_run runs; the generator
    ends without error; no reconnection, even when (with session resumption and a
    handle) the server sends goAway while the run is closing."""
    log = RunLog()
    reply = ls.say("one two three four five six", chunks=6, delay=0.3)
    turn = ls.on_turn(ls.resumption_update(), reply, ls.go_away()) if go_away else \
        ls.on_turn(reply)
    async with live(turn, plugins=[log]) as lv:
        queue = LiveRequestQueue()
        queue.send_content(user_text("count"))

        def react(event: Event, events: list[Event]) -> None:
            if event.partial and not queue.closed:
                queue.close()

        events = await converse(lv.run(queue, run_config=RESUMABLE if go_away else TEXT),
                                react, limit=30)
        await trio.sleep(1)  # a reconnection would show by now
        sessions = lv.server.live_sessions
        assert [1000] == [s.close_code for s in sessions]
    kinds = [describe(e) for e in events if e.live_session_resumption_update is None
             and e.go_away is None]
    assert ["~assistant:one ", "~assistant:two ", "~assistant:three ", "~assistant:four ",
            "~assistant:five ", "~assistant:six", "usage",
            "assistant:one two three four five six", "turn_complete"] == kinds
    assert 1 == log.after_runs


async def test_a_later_live_run_sends_the_stored_conversation_once_as_history() -> None:
    async with live(ls.on_turn(ls.say("First.", chunks=1)),
                    ls.on_turn(ls.say("Second.", chunks=1))) as lv:
        for text in ("one", "two"):
            queue = LiveRequestQueue()
            queue.send_content(user_text(text))
            queue.close()
            await converse(lv.run(queue))
        history = {"clientContent": {"turns": [
            {"role": "user", "parts": [{"text": "one"}]},
            {"role": "model", "parts": [{"text": "First."}]}], "turnComplete": False}}
        assert ["content:one"] == [message_kind(m) for m in lv.sent(0)]
        assert [history, {"clientContent": {"turns": [
            {"role": "user", "parts": [{"text": "two"}]}], "turnComplete": True}}] == \
            lv.sent(1)


async def test_close_with_no_reply_coming_is_bounded_by_the_drain_timeout(
        autojump_clock: trio.abc.Clock) -> None:
    async with live(fallback="ignore") as lv:
        queue = LiveRequestQueue()
        queue.send_content(user_text("anyone?"))
        queue.close()
        start = trio.current_time()
        events = await converse(lv.run(queue, run_config=RunConfig(
            response_modalities=["TEXT"], live_drain_timeout=2.0)), limit=30)
        assert 2.0 <= trio.current_time() - start < 2.5
        assert [1000] == [s.close_code for s in lv.server.live_sessions]
    assert [] == events


async def test_consumer_leaving_mid_stream_cancels_everything_and_closes_politely() -> None:
    """break under aclosing mid-reply with a tool running: the tool is cancelled, the
    server sees 1001 (never a drop), after_run runs; the conftest checks no task or socket
    is left."""
    log = RunLog()
    tool_state: list[str] = []

    async def long_job() -> str:
        """Works for a long time."""
        try:
            await trio.sleep_forever()
        finally:
            tool_state.append("cancelled")

    async with live(ls.on_turn(ls.call_tool("long_job", {}, wait=False),
                               ls.say("one two three four", chunks=4, delay=0.05)),
                    tools=[long_job], plugins=[log]) as lv:
        queue = LiveRequestQueue()
        queue.send_content(user_text("go"))
        seen: list[Event] = []
        with trio.fail_after(3):
            async with aclosing(lv.run(queue)) as stream:
                async for event in stream:
                    seen.append(event)
                    if event.partial:
                        break
        session = lv.server.live_sessions[0]
        await wait_until(lambda: session.close_code is not None)
        assert 1001 == session.close_code
        assert not session.dropped
        assert 1 == len(lv.server.live_sessions)
    assert ["cancelled"] == tool_state
    assert 1 == log.after_runs
    assert "~assistant:one " == describe(seen[-1])
    assert not queue.closed


async def test_timeout_ends_the_run_with_timeout_error_and_closes_politely(
        autojump_clock: trio.abc.Clock) -> None:
    async with live(ls.on_turn(ls.say("hello", chunks=1))) as lv:
        queue = LiveRequestQueue()
        queue.send_content(user_text("hi"))
        events: list[Event] = []
        start = trio.current_time()
        with pytest.raises(TimeoutError, match="timeout of 5"):
            await converse(lv.run(queue, timeout=5), into=events, limit=30)
        assert 5 <= trio.current_time() - start < 6
        session = lv.server.live_sessions[0]
        await wait_until(lambda: session.close_code is not None)
        assert 1001 == session.close_code
    assert ["hello"] == final_texts(events)


async def test_runner_close_during_a_live_run_raises_runner_closed_error() -> None:
    async with live(ls.on_turn(ls.say("hello", chunks=1))) as lv:
        queue = LiveRequestQueue()
        queue.send_content(user_text("hi"))
        events: list[Event] = []
        caught: list[BaseException] = []

        async def consume() -> None:
            try:
                await converse(lv.run(queue), into=events)
            except RunnerClosedError as exc:
                caught.append(exc)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(consume)
            await wait_until(lambda: any(e.turn_complete for e in events))
            await lv.runner.close()
        session = lv.server.live_sessions[0]
        await wait_until(lambda: session.close_code is not None)
        assert 1001 == session.close_code
    assert 1 == len(caught)
    assert ["hello"] == final_texts(events)


class SlowSetupGemini(Gemini):
    """A Gemini whose Live connections give up waiting for setupComplete after 2 s."""

    live_options: ClassVar[GeminiLiveOptions] = GeminiLiveOptions(setup_timeout=2.0)


async def test_server_that_never_answers_setup_is_a_bounded_error(
        autojump_clock: trio.abc.Clock) -> None:
    def slow(model: Gemini) -> BaseAgent:
        return assistant(SlowSetupGemini(model=MODEL, base_url=model.base_url, api_key="k"))

    async with live(script=LiveScript(answer_setup=False), agent=slow) as lv:
        queue = LiveRequestQueue()
        queue.send_content(user_text("hi"))
        start = trio.current_time()
        with pytest.raises(LiveTimeoutError, match="did not answer the setup message") as caught:
            await converse(lv.run(queue), limit=30)
        assert 2 <= trio.current_time() - start < 3
        assert isinstance(caught.value, TimeoutError)
        session = lv.server.live_sessions[0]
        await wait_until(lambda: session.close_code is not None)
        assert 1001 == session.close_code
        assert 1 == len(lv.server.live_sessions)  # the first connection is not retried


# ---- 6. resumption -------------------------------------------------------------------------


def resumable_conversation(interruption: ls.LiveAction) -> tuple[ls.LiveTurn, ...]:
    """Turn 2 issues a fresh handle then ``interruption`` (goAway or a drop); a session
    resumed from that handle greets first, then answers the third turn."""
    return (
        ls.on_turn(ls.say("First answer.", chunks=2)),
        ls.on_turn(ls.say("Second answer.", chunks=2), ls.resumption_update(), interruption),
        ls.immediately(ls.say("Welcome back.", chunks=1)),
        ls.on_turn(ls.say("Third answer.", chunks=2)),
    )


def three_turns(queue: LiveRequestQueue) -> React:
    """Send "two" after the first answer, "three" once the resumed session greeted, and
    close after the third answer."""

    def react(event: Event, events: list[Event]) -> None:
        text = final_text(event)
        if text == "First answer.":
            queue.send_content(user_text("two"))
        elif text == "Welcome back.":
            queue.send_content(user_text("three"))
        elif text == "Third answer.":
            queue.close()

    return react


@pytest.mark.parametrize("interruption", ["go_away", "drop"])
async def test_go_away_and_drop_resume_transparently(
        interruption: str, autojump_clock: trio.abc.Clock) -> None:
    """With session_resumption, a goAway or a dropped connection reconnects with the newest
    handle; the conversation continues on the new session, each reply is seen once and
    each user turn is stored once."""
    action = ls.go_away("1s") if interruption == "go_away" else ls.drop()
    async with live(*resumable_conversation(action)) as lv:
        queue = LiveRequestQueue()
        queue.send_content(user_text("one"))
        events = await converse(lv.run(queue, run_config=RESUMABLE), three_turns(queue),
                                limit=30)
        stored = await lv.stored()
        talk = lv.talk
        assert talk is not None
        sessions = lv.server.live_sessions
        assert 2 == len(sessions)
        assert {} == sessions[0].setup["sessionResumption"]
        assert {"handle": "fake-handle-2"} == sessions[1].setup["sessionResumption"]
        assert ["fake-handle-2"] == talk.resumed
        assert (1000 if interruption == "go_away" else 1006) == sessions[0].close_code
        assert 1000 == sessions[1].close_code
        assert ["content:one", "content:two"] == [message_kind(m) for m in lv.sent(0)]
        assert ["content:three"] == [message_kind(m) for m in lv.sent(1)]
    assert ["First answer.", "Second answer.", "Welcome back.", "Third answer."] == \
        final_texts(events)
    assert not any(e.error_code for e in events)
    assert (interruption == "go_away") == any(e.go_away is not None for e in events)
    assert ["one", "two", "three"] == [text_of(e) for e in stored if e.author == "user"]


async def test_drop_without_session_resumption_is_an_error_event_then_an_exception() -> None:
    async with live(ls.on_turn(ls.say("partial", turn_complete=False), ls.drop())) as lv:
        queue = LiveRequestQueue()
        queue.send_content(user_text("go"))
        events: list[Event] = []
        with pytest.raises(LiveConnectionClosedError, match="session_resumption") as caught:
            await converse(lv.run(queue), into=events)
        assert 1 == len(lv.server.live_sessions)
    assert ["~assistant:partial", "error:1006"] == [describe(e) for e in events]
    assert 1006 == caught.value.code


# ---- 7. persistence ------------------------------------------------------------------------


@pytest.mark.parametrize("save_live_blob", [False, True])
async def test_what_a_live_run_persists(save_live_blob: bool) -> None:
    """Stored: every non-partial event yielded, except model audio chunks (kept with
    save_live_blob), plus the user text sent through the queue (author user), in order.
    Partial events are never stored."""
    async with live(ls.on_turn(ls.say("Hi, talk to me.", chunks=2)),
                    ls.on_utterance(ls.speak("It is sunny", chunks=2)),
                    transcripts=["what is the weather"]) as lv:
        queue = LiveRequestQueue()
        queue.send_content(user_text("hello"))
        config = RunConfig(response_modalities=["TEXT"], save_live_blob=save_live_blob)

        def react(event: Event, events: list[Event]) -> None:
            if final_text(event) == "Hi, talk to me.":
                for i in range(2):
                    queue.send_realtime(blob(i))
                queue.send_activity_end()
                queue.close()

        events = await converse(lv.run(queue, run_config=config), react)
        stored = await lv.stored()
    kept = [e for e in events if not e.partial and (save_live_blob or not is_audio(e))]
    assert ["user:hello"] + [describe(e) for e in kept] == [describe(e) for e in stored]
    assert [e.id for e in kept] == [e.id for e in stored[1:]]
    assert not any(e.partial for e in stored)
    audio_stored = [e for e in stored if is_audio(e)]
    assert (4 if save_live_blob else 0) == len(audio_stored)  # 2 echoed + 2 spoken
    assert "in:what is the weather" in [describe(e) for e in stored]
    assert "out:It is sunny" in [describe(e) for e in stored]
    assert "user" == stored[0].author
    assert stored[0].invocation_id == events[0].invocation_id



# ---- 8. a property: closing never loses an owed reply; leaving is always clean -----------

Step = str | int  # "text", or an utterance of that many audio chunks


async def _play(steps: list[Step], end: str, at: int) -> dict[str, Any]:
    """Queue ``steps``, then end the run: ``close`` the queue up front, ``close_at`` /
    ``leave_at`` after ``at`` events (``leave_at``: break out of the loop)."""
    async with live(fallback="echo") as lv:
        queue = LiveRequestQueue()
        expected_sent: list[str] = []
        answers: list[str] = []
        chunk = 0
        for index, step in enumerate(steps):
            if step == "text":
                queue.send_content(user_text(f"t{index}"))
                expected_sent.append(f"content:t{index}")
                answers.append(f"You said: t{index}")
            else:
                assert isinstance(step, int)
                for _ in range(step):
                    queue.send_realtime(blob(chunk))
                    expected_sent.append(f"audio:{chunk}")
                    chunk += 1
                queue.send_activity_end()
                expected_sent.append("realtime:activityEnd")
                answers.append(f"({step * 320} bytes of audio)")
        if end == "close":
            queue.close()
        events: list[Event] = []
        with trio.move_on_after(20):  # virtual time: only a run nobody ends gets here
            async with aclosing(lv.run(queue)) as stream:
                async for event in stream:
                    events.append(event)
                    if len(events) == at and end == "close_at":
                        queue.close()
                    if len(events) == at and end == "leave_at":
                        break
        session = lv.server.live_sessions[0]
        await wait_until(lambda: session.close_code is not None, limit=5)
        return {
            "expected_sent": expected_sent, "answers": answers, "events": events,
            "sent": [message_kind(m) for m in lv.sent()], "stored": await lv.stored(),
            "sessions": len(lv.server.live_sessions), "code": session.close_code,
        }


def _answers(events: list[Event]) -> list[str]:
    out: list[str] = []
    for event in events:
        if event.partial:
            continue
        if event.output_transcription is not None and event.output_transcription.text:
            out.append(event.output_transcription.text)
        elif (text := final_text(event)) is not None:
            out.append(text)
    return out


@settings(max_examples=25, deadline=None)
@given(steps=st.lists(st.one_of(st.just("text"), st.integers(1, 3)), min_size=1,
                      max_size=4),
       end=st.sampled_from(["close", "close_at", "leave_at"]), at=st.integers(1, 40))
def test_property_close_loses_no_owed_reply_and_leaving_is_clean(
        steps: list[Step], end: str, at: int) -> None:
    got = trio.run(_play, steps, end, at, clock=trio.testing.MockClock(autojump_threshold=0))
    assert [] == list(ACTIVE_RUNS)
    assert 1 == got["sessions"]
    events: list[Event] = got["events"]
    stored: list[Event] = got["stored"]
    closed = end != "leave_at" and (end == "close" or at <= len(events))
    if closed:
        # Closing sends everything queued before the close and waits for every reply.
        assert got["expected_sent"] == got["sent"]
        assert got["answers"] == _answers(events)
        assert 1000 == got["code"]
    else:  # left (break, or nobody ended it): a clean 1001, a prefix of the conversation
        assert got["sent"] == got["expected_sent"][:len(got["sent"])]
        assert _answers(events) == got["answers"][:len(_answers(events))]
        assert 1001 == got["code"]
    # Stored: the user texts the server received, and every non-partial, non-audio event
    # the caller saw (no more, no less), never a partial one.
    texts_sent = [k.removeprefix("content:") for k in got["sent"] if k.startswith("content:")]
    assert texts_sent == [text_of(e) for e in stored if e.author == "user" and e.content]
    assert [e.id for e in events if not e.partial and not is_audio(e)] == [
        e.id for e in stored if not (e.author == "user" and e.content)]
