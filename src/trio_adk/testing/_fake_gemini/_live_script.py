"""Scripted Live conversations for the fake server: a small, composable script API.

A :class:`LiveConversation` is a :data:`~trio_adk.testing.LiveHandler` built from
:class:`LiveTurn` items.  Each turn waits for a trigger from the client, then runs its actions
in order::

    from trio_adk.testing import FakeGeminiServer, LiveScript
    from trio_adk.testing import live_script as ls

    conversation = ls.LiveConversation(
        ls.on_turn(ls.say("Hello! How can I help?", chunks=3)),
        ls.on_utterance(
            ls.call_tool("get_weather", {"city": "Paris"}, expect={"weather": "sunny"}),
            ls.speak(lambda ctx: f"It is {ctx.tool_response['weather']} in Paris.")),
        transcripts=["what is the weather in Paris"],
    )
    async with FakeGeminiServer(live=LiveScript(handler=conversation)) as server: ...

Triggers (``LiveTurn.when``):

* ``"turn"``: a completed text turn (``clientContent`` with ``turnComplete: true``, or
  ``realtimeInput.text``); ``ctx.user_text`` is its text.
* ``"utterance"``: the end of the user's audio (``activityEnd`` or ``audioStreamEnd`` after at
  least one audio chunk).  Before the turn's actions run, the server sends the input
  transcription of "what the user said": the next entry of ``transcripts``, else
  ``"(<n> bytes of audio)"``, word by word, then ``finished: true``.
* ``"now"``: runs as soon as it is reached (at the start of the session, or right after the
  previous turn), for proactive messages, ``goAway`` or a close on connect.
* a callable ``(message) -> bool``: the first client message (normalised camelCase JSON) for
  which it returns true.

Actions are ``async (ctx: LiveContext) -> None`` callables; these build the usual ones:
:func:`say` (text in several ``modelTurn`` messages, then ``turnComplete`` with usage),
:func:`speak` (audio chunks with output transcription), :func:`call_tool` /
:func:`call_tools` (a ``toolCall``; waits for the ``toolResponse`` and checks it against
``expect``), :func:`cancel_tool_calls`, :func:`go_away`, :func:`resumption_update`,
:func:`drop` (TCP close without a close frame), :func:`close` (close frame with a code and
reason), :func:`send` (any raw server message) and :func:`sleep`.  Texts may be callables of
the context, to use what the user said or a tool's answer.

Always-on behaviour (options of :class:`LiveConversation`):

* ``echo_audio``: every ``realtimeInput.audio`` chunk is sent straight back as a model audio
  chunk (same bytes and mime type), so latency can be measured per frame.
* ``interrupt_on_activity``: an ``activityStart`` while a turn's actions are running cancels
  them (barge-in) and sends ``interrupted: true`` then ``turnComplete``.
* ``fallback="echo"``: a text turn or utterance that no scripted turn takes is answered anyway:
  ``"You said: <text>"`` in three chunks, or the utterance's transcript as output
  transcription, then ``turnComplete``.  ``fallback="ignore"`` leaves them unanswered.
* ``resumption_updates``: when the client asked for session resumption in ``setup``, a
  ``sessionResumptionUpdate`` with a new handle follows every turn.  A handle stands for the
  script position (and transcript index) at that moment; a new session whose
  ``setup.sessionResumption.handle`` names one resumes from there, an unknown handle is refused
  with close code 1007.  A session without a handle starts the script from the beginning.

Every function response received is appended to :attr:`LiveConversation.tool_responses`; an
answer that differs from ``expect`` is reported in :attr:`LiveConversation.failures` (assert it
is empty at the end of a test).  All of this runs in the fake server's connection tasks; time
is trio time, so ``autojump_clock`` works.
"""

from __future__ import annotations

import base64
import itertools
import math
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Literal, TypeAlias

import attrs
import trio
from google.genai import types

from trio_adk.testing._fake_gemini._live import LiveSession, _turn_text
from trio_adk.testing._fake_gemini._normalize import decode_base64
from trio_adk.testing._fake_gemini._script import grounding_json

Trigger: TypeAlias = Literal["turn", "utterance", "now"] | Callable[[Mapping[str, Any]], bool]
"""When a :class:`LiveTurn` runs (see the module documentation)."""

LiveAction: TypeAlias = Callable[["LiveContext"], Awaitable[None]]
"""One step of a turn: an async function of the :class:`LiveContext`."""

TextSource: TypeAlias = str | Callable[["LiveContext"], str]
"""A text, or a function of the context that returns one (evaluated when the action runs)."""

OUTPUT_AUDIO_MIME = "audio/pcm;rate=24000"
"""The mime type of the synthetic model audio of :func:`speak`."""

_WORDS = re.compile(r"\S+\s*")


@attrs.frozen
class LiveTurn:
    """A trigger and the actions that answer it (see the module documentation)."""

    when: Trigger
    actions: tuple[LiveAction, ...]


def on_turn(*actions: LiveAction) -> LiveTurn:
    """A turn answering the next completed text turn."""
    return LiveTurn("turn", actions)


def on_utterance(*actions: LiveAction) -> LiveTurn:
    """A turn answering the end of the user's next utterance (audio)."""
    return LiveTurn("utterance", actions)


def immediately(*actions: LiveAction) -> LiveTurn:
    """A turn that runs as soon as it is reached, without waiting for the client."""
    return LiveTurn("now", actions)


def on_message(predicate: Callable[[Mapping[str, Any]], bool], *actions: LiveAction) -> LiveTurn:
    """A turn answering the first client message for which ``predicate`` is true."""
    return LiveTurn(predicate, actions)


@attrs.define
class _Snapshot:
    cursor: int
    utterances: int


class LiveConversation:
    """A scripted Live handler: pass it as ``LiveScript(handler=...)``; the turns, triggers,
    actions and options are described in :mod:`trio_adk.testing.live_script`.

    The same object serves every Live connection of the server; each session has its own script
    position (a resumed session starts where its handle was issued).  Read its records from the
    trio run's thread.
    """

    def __init__(self, *turns: LiveTurn, echo_audio: bool = True,
                 transcripts: Sequence[str] = (), interrupt_on_activity: bool = True,
                 fallback: Literal["echo", "ignore"] = "echo",
                 resumption_updates: bool = True) -> None:
        self.turns = tuple(turns)
        self.echo_audio = echo_audio
        self.transcripts = tuple(transcripts)
        self.interrupt_on_activity = interrupt_on_activity
        self.fallback = fallback
        self.resumption_updates = resumption_updates
        self.tool_responses: list[dict[str, Any]] = []
        """Every function response received (``{"id", "name", "response", ...}``), in order."""
        self.failures: list[str] = []
        """Tool answers that did not match ``expect``, and other script failures."""
        self.handles: list[str] = []
        """Every resumption handle issued, in order."""
        self.resumed: list[str] = []
        """The handle of every session that resumed, in order."""
        self.interruptions = 0
        """How many replies were cut by barge-in."""
        self._snapshots: dict[str, _Snapshot] = {}
        self._ids = itertools.count(1)

    def check_setup(self, setup: Mapping[str, Any]) -> tuple[int, str] | None:
        """Refuse a ``setup`` whose resumption handle this conversation never issued."""
        handle = _resumption_handle(setup)
        if handle is not None and handle not in self._snapshots:
            return 1007, f"Invalid session resumption handle: {handle}"
        return None

    async def __call__(self, session: LiveSession) -> None:
        """Run one session until the client closes it (or an action closes or drops it)."""
        await LiveContext(self, session).run()

    def next_call_id(self) -> str:
        """A fresh function call id (``fc-1``, ``fc-2``, ... across all sessions)."""
        return f"fc-{next(self._ids)}"

    def _issue_handle(self, snapshot: _Snapshot) -> str:
        handle = f"fake-handle-{len(self.handles) + 1}"
        self.handles.append(handle)
        self._snapshots[handle] = snapshot
        return handle


def _resumption_handle(setup: Mapping[str, Any]) -> str | None:
    config = setup.get("sessionResumption")
    handle = config.get("handle") if isinstance(config, Mapping) else None
    return handle if isinstance(handle, str) and handle else None


@attrs.frozen
class _Event:
    kind: Literal["turn", "utterance", "match"]
    text: str
    message: Mapping[str, Any]


class LiveContext:
    """One session of a :class:`LiveConversation`, as actions see it."""

    def __init__(self, conversation: LiveConversation, session: LiveSession) -> None:
        self.conversation = conversation
        self.session = session
        self.user_text = ""
        """What the user said in the triggering turn or utterance (``""`` for ``now``)."""
        self.tool_response: Any = None
        """The ``response`` payload of the last function response of this session."""
        self.tool_responses: dict[str, Any] = {}
        """``response`` payloads of this session by call id."""
        self.cursor = 0
        """Index of the next scripted turn."""
        self.utterances = 0
        """How many utterances ended so far (indexes ``transcripts``)."""
        self.received = 0
        """Client messages received in this session after ``setup``."""
        self._answered: dict[str, trio.Event] = {}
        self._reply: trio.CancelScope | None = None
        self._interrupted = False
        self._audio_bytes = 0
        handle = _resumption_handle(session.setup)
        snapshot = conversation._snapshots.get(handle) if handle is not None else None
        if handle is not None and snapshot is not None:
            self.cursor, self.utterances = snapshot.cursor, snapshot.utterances
            conversation.resumed.append(handle)

    @property
    def wants_resumption(self) -> bool:
        """Whether the client asked for session resumption in ``setup``."""
        return "sessionResumption" in self.session.setup

    async def send(self, message: Mapping[str, Any]) -> None:
        """Send a server message (a no-op once the connection is closed)."""
        await self.session.send(message)

    def text(self, source: TextSource) -> str:
        """Evaluate a :data:`TextSource`."""
        return source if isinstance(source, str) else source(self)

    async def wait_tool_response(self, call_id: str) -> Any:
        """Wait for the function response to ``call_id`` and return its ``response``."""
        event = self._answered.setdefault(call_id, trio.Event())
        await event.wait()
        return self.tool_responses[call_id]

    async def send_resumption_update(self) -> str:
        """Issue a handle for the current script position and send it; returns the handle."""
        handle = self.conversation._issue_handle(_Snapshot(self.cursor, self.utterances))
        await self.send({"sessionResumptionUpdate": {
            "newHandle": handle, "resumable": True,
            "lastConsumedClientMessageIndex": str(self.received)}})
        return handle

    # -- the session ---------------------------------------------------------------------

    async def run(self) -> None:
        send_event, receive_event = trio.open_memory_channel[_Event](math.inf)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._run_turns, receive_event)
            while (message := await self.session.receive()) is not None:
                self.received += 1
                await self._on_message(message, send_event)
            nursery.cancel_scope.cancel()

    async def _on_message(self, message: Mapping[str, Any],
                          events: trio.MemorySendChannel[_Event]) -> None:
        upcoming = self._upcoming()
        if upcoming is not None and callable(upcoming.when) and upcoming.when(message):
            events.send_nowait(_Event("match", "", message))
        responses = message.get("toolResponse")
        if isinstance(responses, Mapping):
            self._on_tool_responses(responses)
        realtime = message.get("realtimeInput")
        if isinstance(realtime, Mapping):
            await self._on_realtime(realtime, message, events)
        text = _turn_text(message)
        if text is not None:
            events.send_nowait(_Event("turn", text, message))

    async def _on_realtime(self, realtime: Mapping[str, Any], message: Mapping[str, Any],
                           events: trio.MemorySendChannel[_Event]) -> None:
        chunks = [realtime.get("audio"), *(realtime.get("mediaChunks") or [])]
        for chunk in chunks:
            if not isinstance(chunk, Mapping) or not str(chunk.get("mimeType", "")).startswith(
                    "audio/"):
                continue
            data = chunk.get("data")
            self._audio_bytes += len(decode_base64(data) or b"") if isinstance(data, str) else 0
            if self.conversation.echo_audio:
                await self.send({"serverContent": {"modelTurn": {"role": "model", "parts": [
                    {"inlineData": {"mimeType": chunk.get("mimeType"), "data": data}}]}}})
        if "activityStart" in realtime:
            if self._reply is not None and self.conversation.interrupt_on_activity:
                self._interrupted = True
                self._reply.cancel()
            self._audio_bytes = 0
        if ("activityEnd" in realtime or realtime.get("audioStreamEnd")) and self._audio_bytes:
            size, self._audio_bytes = self._audio_bytes, 0
            events.send_nowait(_Event("utterance", self._transcript(size), message))

    def _on_tool_responses(self, responses: Mapping[str, Any]) -> None:
        for response in responses.get("functionResponses") or []:
            if not isinstance(response, Mapping):
                continue
            self.conversation.tool_responses.append(dict(response))
            call_id = str(response.get("id"))
            self.tool_responses[call_id] = response.get("response")
            self.tool_response = response.get("response")
            self._answered.setdefault(call_id, trio.Event()).set()

    def _transcript(self, size: int) -> str:
        index = self.utterances
        self.utterances += 1
        if index < len(self.conversation.transcripts):
            return self.conversation.transcripts[index]
        return f"({size} bytes of audio)"

    def _upcoming(self) -> LiveTurn | None:
        turns = self.conversation.turns
        return turns[self.cursor] if self.cursor < len(turns) else None

    async def _run_turns(self, events: trio.MemoryReceiveChannel[_Event]) -> None:
        while True:
            turn = self._upcoming()
            if turn is not None and turn.when == "now":
                self.cursor += 1
                self.user_text = ""
                await self._reply_with(turn.actions)
                continue
            event = await events.receive()
            if event.kind == "utterance":
                await self._send_input_transcription(event.text)
            turn = self._upcoming()
            if turn is not None and (turn.when == event.kind or (
                    event.kind == "match" and callable(turn.when)
                    and turn.when(event.message))):
                self.cursor += 1
                self.user_text = event.text
                await self._reply_with(turn.actions)
            elif event.kind == "match":
                continue
            elif self.conversation.fallback == "echo":
                self.user_text = event.text
                if event.kind == "turn":
                    await self._reply_with((say(f"You said: {event.text}"),))
                else:
                    await self._reply_with((_transcribe_echo,))
            else:
                continue
            if self.conversation.resumption_updates and self.wants_resumption:
                await self.send_resumption_update()

    async def _reply_with(self, actions: Sequence[LiveAction]) -> None:
        self._interrupted = False
        with trio.CancelScope() as scope:
            self._reply = scope
            try:
                for action in actions:
                    await action(self)
            finally:
                self._reply = None
        if scope.cancelled_caught and self._interrupted:
            self.conversation.interruptions += 1
            await self.send({"serverContent": {"interrupted": True}})
            await self.send({"serverContent": {"turnComplete": True}})

    async def _send_input_transcription(self, text: str) -> None:
        for word in _WORDS.findall(text):
            await self.send({"serverContent": {"inputTranscription": {"text": word}}})
        await self.send({"serverContent": {"inputTranscription": {"finished": True}}})


# ------------------------------------------------------------------------------ actions


def _split(text: str, chunks: int) -> list[str]:
    """``text`` in at most ``chunks`` pieces, cut between words (joined, they are ``text``)."""
    words = _WORDS.findall(text)
    leading = text[: len(text) - len(text.lstrip())]
    if not words:
        return [text] if text else []
    count = max(1, min(chunks, len(words)))
    size = math.ceil(len(words) / count)
    pieces = ["".join(words[i:i + size]) for i in range(0, len(words), size)]
    pieces[0] = leading + pieces[0]
    return pieces


def _usage(text: str) -> dict[str, int]:
    words = len(text.split())
    return {"promptTokenCount": 1, "responseTokenCount": words, "totalTokenCount": 1 + words}


async def _transcribe_echo(ctx: LiveContext) -> None:
    """The default answer to an utterance: its transcript as output transcription."""
    for word in _WORDS.findall(ctx.user_text):
        await ctx.send({"serverContent": {"outputTranscription": {"text": word}}})
    await ctx.send({"serverContent": {"generationComplete": True}})
    await ctx.send({"serverContent": {"turnComplete": True}, "usageMetadata": _usage(
        ctx.user_text)})


def say(text: TextSource, *, chunks: int = 3, delay: float = 0.0,
        turn_complete: bool = True, usage: bool = True,
        grounding_metadata: Mapping[str, Any] | types.GroundingMetadata | None = None,
        ) -> LiveAction:
    """Stream ``text`` in up to ``chunks`` ``modelTurn`` messages (``delay`` seconds apart),
    then ``turnComplete`` (with ``usageMetadata`` unless ``usage=False``).
    ``grounding_metadata`` (wire JSON or ``types.GroundingMetadata``) rides in the
    ``turnComplete`` message's ``serverContent`` (without ``turn_complete``: in a message
    of its own after the text), as the service sends it for built-in search."""
    grounding = grounding_json(grounding_metadata)

    async def action(ctx: LiveContext) -> None:
        value = ctx.text(text)
        for index, piece in enumerate(_split(value, chunks)):
            if index and delay:
                await trio.sleep(delay)
            await ctx.send({"serverContent": {"modelTurn": {"role": "model",
                                                            "parts": [{"text": piece}]}}})
        if turn_complete:
            done: dict[str, Any] = {"serverContent": {"turnComplete": True}}
            if grounding is not None:
                done["serverContent"]["groundingMetadata"] = grounding
            if usage:
                done["usageMetadata"] = _usage(value)
            await ctx.send(done)
        elif grounding is not None:
            await ctx.send({"serverContent": {"groundingMetadata": grounding}})

    return action


def pcm_chunk(index: int, size: int = 960) -> bytes:
    """Synthetic 16-bit PCM for :func:`speak`: ``size`` bytes (960 = 20 ms at 24 kHz)."""
    return bytes((index + i) % 256 for i in range(size))


def speak(text: TextSource, *, chunks: int = 3, delay: float = 0.0,
          turn_complete: bool = True, chunk_bytes: int = 960) -> LiveAction:
    """Answer with audio: per piece of ``text`` (up to ``chunks``), one audio chunk
    (``chunk_bytes`` of synthetic PCM, ``audio/pcm;rate=24000``) and its output transcription,
    ``delay`` seconds apart; then ``generationComplete`` and ``turnComplete`` with usage."""

    async def action(ctx: LiveContext) -> None:
        value = ctx.text(text)
        for index, piece in enumerate(_split(value, chunks)):
            if index and delay:
                await trio.sleep(delay)
            data = base64.b64encode(pcm_chunk(index, chunk_bytes)).decode("ascii")
            await ctx.send({"serverContent": {"modelTurn": {"role": "model", "parts": [
                {"inlineData": {"mimeType": OUTPUT_AUDIO_MIME, "data": data}}]}}})
            await ctx.send({"serverContent": {"outputTranscription": {"text": piece}}})
        await ctx.send({"serverContent": {"generationComplete": True}})
        if turn_complete:
            await ctx.send({"serverContent": {"turnComplete": True},
                            "usageMetadata": _usage(value)})

    return action


def call_tools(calls: Sequence[tuple[str, Mapping[str, Any]]], *,
               ids: Sequence[str] | None = None,
               expect: Sequence[Any] | None = None, turn_complete: bool = True,
               wait: bool = True) -> LiveAction:
    """Send one ``toolCall`` with several function calls ``(name, args)``.

    ``ids`` default to fresh ``fc-N`` ids.  ``turn_complete=True`` sends ``turnComplete`` right
    after the call, as Gemini 2.x live models do (3.x models wait for the answer: pass
    ``False``).  With ``wait`` the action waits until every call was answered; each answer's
    ``response`` is compared with the matching ``expect`` entry (``None`` skips a check) and a
    mismatch is recorded in :attr:`LiveConversation.failures`.
    """

    async def action(ctx: LiveContext) -> None:
        call_ids = list(ids) if ids is not None else [
            ctx.conversation.next_call_id() for _ in calls]
        await ctx.send({"toolCall": {"functionCalls": [
            {"id": call_id, "name": name, "args": dict(args)}
            for call_id, (name, args) in zip(call_ids, calls, strict=True)]}})
        if turn_complete:
            await ctx.send({"serverContent": {"turnComplete": True}})
        if not wait:
            return
        for index, (call_id, (name, _)) in enumerate(zip(call_ids, calls, strict=True)):
            answer = await ctx.wait_tool_response(call_id)
            wanted = expect[index] if expect is not None and index < len(expect) else None
            if wanted is not None and answer != wanted:
                ctx.conversation.failures.append(
                    f"tool {name} ({call_id}): expected {wanted!r}, got {answer!r}")

    return action


def call_tool(name: str, args: Mapping[str, Any] | None = None, *, id: str | None = None,
              expect: Any = None, turn_complete: bool = True, wait: bool = True) -> LiveAction:
    """One function call; see :func:`call_tools`."""
    return call_tools([(name, args or {})], ids=None if id is None else [id],
                      expect=None if expect is None else [expect],
                      turn_complete=turn_complete, wait=wait)


def cancel_tool_calls(*ids: str) -> LiveAction:
    """Send ``toolCallCancellation`` for these call ids."""
    return send({"toolCallCancellation": {"ids": list(ids)}})


def go_away(time_left: str = "10s") -> LiveAction:
    """Send ``goAway`` (the client should reconnect with its latest resumption handle)."""
    return send({"goAway": {"timeLeft": time_left}})


def resumption_update() -> LiveAction:
    """Send a ``sessionResumptionUpdate`` with a new handle for the current script position
    (a session resumed from it continues with the next turn)."""

    async def action(ctx: LiveContext) -> None:
        await ctx.send_resumption_update()

    return action


def drop() -> LiveAction:
    """Cut the TCP connection without a close frame (the client sees 1006)."""

    async def action(ctx: LiveContext) -> None:
        await ctx.session.drop()

    return action


def close(code: int = 1000, reason: str | None = None, *, timeout: float = 5.0) -> LiveAction:
    """Close the WebSocket with ``code`` and ``reason`` (waits at most ``timeout`` for the
    client's reply)."""

    async def action(ctx: LiveContext) -> None:
        with trio.move_on_after(timeout):
            await ctx.session.close(code, reason)

    return action


def send(message: Mapping[str, Any], *, binary: bool = True) -> LiveAction:
    """Send a raw server message (any JSON object, unknown fields included); ``binary=False``
    sends it as a text frame instead of production's binary one."""

    async def action(ctx: LiveContext) -> None:
        await ctx.session.send(message, binary=binary)

    return action


def sleep(seconds: float) -> LiveAction:
    """Wait (trio time)."""

    async def action(ctx: LiveContext) -> None:
        await trio.sleep(seconds)

    return action
