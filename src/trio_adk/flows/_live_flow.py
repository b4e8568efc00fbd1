"""The live loop of an LlmAgent: one model connection, a sender and a receiver task.

Shape of one live agent run (all of it inside the run's task tree)::

    run_live_flow
      └─ tool nursery  (tool calls, streaming tools; spans reconnections)
           └─ connection loop: async with llm.connect(request)   (reconnects here)
                └─ connection nursery: sender (queue → model), receiver (model → events)

Ending:

* ``LiveRequestQueue.close()``: the sender forwards what was queued before the close,
  waits (bounded by ``RunConfig.live_drain_timeout``) for the reply in flight and for
  running tools, then closes the WebSocket with 1000; the receiver ends, the flow returns.
  Never reconnects after that.
* Cancellation (consumer gone, timeout, ``Runner.close()``): every task stops at its next
  checkpoint; the connection's context manager closes the WebSocket with 1001 in a
  shielded, bounded scope.
* ``goAway``, or a dropped connection (1001/1006), with a session-resumption handle:
  reconnect with the newest handle (bounded consecutive attempts, backoff); requests not
  yet sent stay queued and go to the new connection.  Without a handle: an error event,
  then :class:`~trio_adk.models.LiveConnectionClosedError`.
* Any other server close: an error event with ``error_code``, then
  ``LiveConnectionClosedError``.  A server close with 1000 ends the run normally.
* ``transfer_to_agent``, or ``task_completed`` (offered to a SequentialAgent's sub-agents):
  once its response event is out, the connection closes with 1000 and the agent's live run
  ends; the target (or the next sub-agent) then connects on the same queue.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from functools import partial
from typing import TYPE_CHECKING, Any

import attrs
import trio
from google.genai import types

from trio_adk._utils._copy import copy_content
from trio_adk.agents._live_request_queue import LiveRequest, LiveRequestQueue, QueueFull
from trio_adk.errors import LiveConnectionClosedError, ModelConnectionError
from trio_adk.events._event import Event
from trio_adk.flows._functions import long_running_ids, populate_call_ids, run_call
from trio_adk.flows._llm_flow import emit_agent_event, preprocess, response_fields
from trio_adk.flows._planning import planned_response
from trio_adk.models._gemini_live import TOOL_CALL_CANCELLATION
from trio_adk.models._llm_request import LlmRequest
from trio_adk.models._llm_response import LlmResponse
from trio_adk.telemetry._spans import handed_over
from trio_adk.tools._function_tool import FunctionTool

if TYPE_CHECKING:
    from trio_adk.agents._base_agent import BaseAgent
    from trio_adk.agents._invocation_context import InvocationContext
    from trio_adk.agents._llm_agent import LlmAgent
    from trio_adk.agents._run_config import RunConfig
    from trio_adk.models._base_llm import BaseLlmConnection
    from trio_adk.tools._base_tool import BaseTool

_log = logging.getLogger("trio_adk")

#: Consecutive failed reconnection attempts before the run gives up.
RECONNECT_ATTEMPTS = 3
#: Seconds before the first reconnection after a dropped connection (doubled each time).
RECONNECT_BACKOFF = 0.25
#: Close codes after which a connection with a resumption handle is resumed.
_RESUMABLE_CODES = frozenset({"1001", "1006"})
#: Close codes for which retrying the same setup cannot help.
_FATAL_CONNECT_CODES = frozenset({1007, 1008})

STOP_STREAMING = "stop_streaming"
"""The tool name the model calls to stop a streaming tool (``function_name`` argument)."""

_PENDING = {"status": "The function is running asynchronously and the results are pending."}

TASK_COMPLETED = "task_completed"
"""The tool a SequentialAgent's sub-agent calls in live mode to hand over to the next one."""

_TASK_COMPLETED_INSTRUCTION = (
    f"Once you have done what the user asked, as far as your description says you should, "
    f"call the `{TASK_COMPLETED}` function so that the next agent can take over. Send the "
    "function call on its own, with no text.")


def task_completed() -> str:
    """Signal that you have finished your part of the conversation; the next agent takes
    over."""
    return "Task completed; the next agent takes over."


_TASK_COMPLETED_TOOL = FunctionTool(task_completed)


def live_connect_config(run_config: RunConfig) -> types.LiveConnectConfig:
    """The ``LiveConnectConfig`` carrying the live settings of ``run_config``."""
    return types.LiveConnectConfig(
        response_modalities=run_config.response_modalities,  # type: ignore[arg-type]
        speech_config=run_config.speech_config,
        output_audio_transcription=run_config.output_audio_transcription,
        input_audio_transcription=run_config.input_audio_transcription,
        realtime_input_config=run_config.realtime_input_config,
        enable_affective_dialog=run_config.enable_affective_dialog,
        proactivity=run_config.proactivity,
        session_resumption=run_config.session_resumption,
        context_window_compression=run_config.context_window_compression,
    )


async def run_live_flow(agent: LlmAgent, ctx: InvocationContext) -> None:
    """Run ``agent`` against a live model connection until the input ends.

    Cancellation: at any await; the sender, receiver and tool tasks are cancelled with
    their nurseries and the connection is closed (1001) in a shielded, bounded scope.
    """
    queue = ctx.live_request_queue
    if queue is None:
        raise ValueError("A live run needs a LiveRequestQueue (InvocationContext."
                         "live_request_queue).")
    request = LlmRequest()
    await preprocess(agent, ctx, request)
    if ctx.end_invocation:
        return
    request.live_connect_config = live_connect_config(ctx.run_config)
    if ctx._live_task_agent == agent.name and TASK_COMPLETED not in request.tools_dict:
        request.append_tools([_TASK_COMPLETED_TOOL])
        request.append_instructions([_TASK_COMPLETED_INSTRUCTION])
    target = await _LiveLoop(agent, ctx, request, queue).run()
    if target is not None:
        with handed_over(ctx):
            await target._execute(ctx._replace(live_session_resumption_handle=None),
                                  live=True)


@attrs.define(eq=False)
class _StreamingTool:
    """A running async-generator tool: its task's scope and its input copy, if any."""

    call_id: str | None
    scope: trio.CancelScope
    input_stream: LiveRequestQueue | None
    # Set once the call's immediate answer was sent: the model hears of the call's
    # result before the first streamed value.
    answered: trio.Event


class _LiveLoop:
    """The state shared by the connection loop, the sender, the receiver and tools."""

    def __init__(self, agent: LlmAgent, ctx: InvocationContext, request: LlmRequest,
                 queue: LiveRequestQueue) -> None:
        self.agent = agent
        self.ctx = ctx
        self.request = request
        self.queue = queue
        self.tools: dict[str, BaseTool] = request.tools_dict
        self.scope = trio.CancelScope()
        self.error: BaseException | None = None
        self.transfer_to: BaseAgent | None = None
        self.handle: str | None = ctx.live_session_resumption_handle
        # The open connection (None between connections) and a signal for its changes.
        self.conn: BaseLlmConnection | None = None
        self.conn_changed = trio.Event()
        self.conn_scope: trio.CancelScope | None = None
        self.outcome = "done"  # of the current connection: done | reconnect | transfer
        self.closing = False  # the queue ended: finish, never reconnect
        self.go_away = False
        self.failures = 0
        # A request taken from the queue but not sent yet (survives a reconnection).
        # Handed over by the previous agent of this invocation, if it had one in hand.
        self.unsent: LiveRequest | None = None
        self.unsent_persisted = False
        if ctx._shared.live_unsent is not None:
            self.unsent, self.unsent_persisted = ctx._shared.live_unsent
            ctx._shared.live_unsent = None
        # Drain bookkeeping: a reply is owed, the model is mid-turn, tools are running.
        self.replies_owed = 0
        self.model_speaking = False
        self.audio_since_turn = False
        self.running: dict[str, trio.CancelScope] = {}
        self.streaming: dict[str, _StreamingTool] = {}
        self.changed = trio.Event()
        self.tool_nursery: trio.Nursery | None = None

    # ---- structure ---------------------------------------------------------------------

    async def run(self) -> BaseAgent | None:
        with self.scope:
            async with trio.open_nursery() as tools:
                self.tool_nursery = tools
                await self._guarded(self._connections)
                # Streaming tools, and tool tasks still waiting for a connection to send
                # their result on, end with the agent's run.
                tools.cancel_scope.cancel()
        if self.error is not None:
            raise self.error
        if self.unsent is not None:
            # Ended by a hand-over while a request was on its way: the next agent sends it.
            self.ctx._shared.live_unsent = (self.unsent, self.unsent_persisted)
        return self.transfer_to

    async def _guarded(self, body: Callable[[], Awaitable[None]]) -> None:
        """Run ``body``; its error ends the whole live loop and is raised by :meth:`run`."""
        try:
            await body()
        except Exception as exc:
            if self.error is None:
                self.error = exc
            self.scope.cancel()

    def _notify(self) -> None:
        self.changed.set()
        self.changed = trio.Event()

    def _set_conn(self, conn: BaseLlmConnection | None) -> None:
        self.conn = conn
        self.conn_changed.set()
        self.conn_changed = trio.Event()

    async def _connections(self) -> None:
        llm = self.agent.canonical_model
        first = True
        while True:
            config = self.request.live_connect_config
            assert config is not None
            if self.handle:
                resumption = config.session_resumption or types.SessionResumptionConfig()
                config.session_resumption = resumption.model_copy(
                    update={"handle": self.handle})
            try:
                async with llm.connect(self.request) as conn:
                    if first and self.request.contents:
                        await conn.send_history(self.request.contents)
                    first = False
                    await self._serve(conn)
            except ModelConnectionError as exc:
                if first or not self._retry_connect(exc):
                    raise
                await self._backoff()
                continue
            if self.outcome == "reconnect":
                self.failures += 1
                if self.failures > RECONNECT_ATTEMPTS:
                    raise LiveConnectionClosedError(
                        f"Gemini Live dropped the connection {self.failures} times in a row; "
                        "giving up.", code=1006, reason=None)
                if not self.go_away:
                    await self._backoff()
                self.go_away = False
                _log.info("Live run of %s reconnecting with a resumption handle.",
                          self.agent.name)
                continue
            return

    async def _backoff(self) -> None:
        await trio.sleep(RECONNECT_BACKOFF * 2 ** (self.failures - 1))

    def _retry_connect(self, exc: ModelConnectionError) -> bool:
        if isinstance(exc, LiveConnectionClosedError) and exc.code in _FATAL_CONNECT_CODES:
            return False
        self.failures += 1
        if self.failures > RECONNECT_ATTEMPTS:
            return False
        _log.warning("Reconnecting a live run failed (%s); attempt %d of %d.", exc,
                     self.failures, RECONNECT_ATTEMPTS)
        return True

    async def _serve(self, conn: BaseLlmConnection) -> None:
        self.outcome = "done"
        self._set_conn(conn)
        try:
            async with trio.open_nursery() as nursery:
                self.conn_scope = nursery.cancel_scope
                nursery.start_soon(self._guarded, partial(self._sender, conn),
                                   name="trio_adk.live-sender")
                nursery.start_soon(self._guarded, partial(self._receiver, conn),
                                   name="trio_adk.live-receiver")
        finally:
            self.conn_scope = None
            self._set_conn(None)

    def _end_connection(self, outcome: str) -> None:
        self.outcome = outcome
        if self.conn_scope is not None:
            self.conn_scope.cancel()

    # ---- sender: queue → model ---------------------------------------------------------

    async def _sender(self, conn: BaseLlmConnection) -> None:
        while True:
            request = self.unsent
            if request is None:
                request = await self.queue.get()
                self.unsent = request
                self.unsent_persisted = False
                if not request.close:
                    self._copy_to_streams(request)
            if request.close:
                self.closing = True
                await self._drain()
                await conn.close()
                self.unsent = None
                return
            try:
                await self._forward(conn, request)
            except LiveConnectionClosedError:
                return  # the receiver sees the close and decides; the request waits
            self.unsent = None

    async def _forward(self, conn: BaseLlmConnection, request: LiveRequest) -> None:
        if request.activity_start is not None:
            await conn.send_realtime(types.ActivityStart())
        elif request.activity_end is not None:
            await conn.send_realtime(types.ActivityEnd())
            self._expect_reply(self.audio_since_turn)
        elif request.audio_stream_end:
            await conn.send_realtime(types.LiveClientRealtimeInput(audio_stream_end=True))
            self._expect_reply(self.audio_since_turn)
        elif request.blob is not None:
            await conn.send_realtime(request.blob)
            self.audio_since_turn = True
        if request.content is not None:
            await conn.send_content(request.content)
            self._expect_reply(True)
            # Stored once sent: a text the model never received is not in the history.
            if not self.unsent_persisted:
                self.unsent_persisted = True
                await self._persist_user_content(request.content)

    def _expect_reply(self, expected: bool, *, tool_result: bool = False) -> None:
        """Count a model turn owed to what was just sent.

        Each user turn (text, or the end of an utterance after audio) is owed one turn.
        A tool result is owed a turn only when the model's turn is over already (Gemini
        2.x ends its turn after a tool call; 3.x keeps it open until it has the result).
        """
        if not expected:
            return
        self.audio_since_turn = False
        if tool_result:
            self.replies_owed = max(self.replies_owed, 1)
        else:
            self.replies_owed += 1

    async def _persist_user_content(self, content: types.Content) -> None:
        """User text sent through the queue is part of the conversation: store it."""
        parts = content.parts or []
        if parts and all(p.function_response is not None for p in parts):
            return
        ctx = self.ctx
        # The content passes from the caller to storage: keep our own copy, as
        # run_async does with its message, so a caller reusing it cannot rewrite history.
        event = Event(invocation_id=ctx.invocation_id, author="user",
                      content=copy_content(content, role="user"))
        await ctx.session_service.append_event(ctx.session, event)

    async def _drain(self) -> None:
        """Wait, bounded, until no reply is owed and no tool call is running."""
        with trio.move_on_after(self.ctx.run_config.live_drain_timeout) as timer:
            while self.replies_owed or self.model_speaking or self.running:
                await self.changed.wait()
        if timer.cancelled_caught:
            _log.warning("Live run of %s: closing after %.1f s without the reply in "
                         "flight.", self.agent.name, self.ctx.run_config.live_drain_timeout)

    def _copy_to_streams(self, request: LiveRequest) -> None:
        for stream in self.streaming.values():
            if stream.input_stream is not None and not stream.input_stream.closed:
                try:
                    stream.input_stream.send(request)
                except QueueFull:
                    pass  # a slow streaming tool misses a chunk rather than stall the run

    async def _send_to_model(self, content: types.Content) -> None:
        """Send tool output on the current connection, waiting through a reconnection.

        Cancellation: when the agent's live run ends, a send still waiting for a
        connection is cancelled with the tool nursery.
        """
        while True:
            conn = self.conn
            if conn is None:
                await self.conn_changed.wait()
                continue
            try:
                await conn.send_content(content)
            except LiveConnectionClosedError:
                if self.closing:
                    return
                while self.conn is conn:
                    await self.conn_changed.wait()
                continue
            self._expect_reply(True, tool_result=True)
            return

    # ---- receiver: model → events ------------------------------------------------------

    async def _receiver(self, conn: BaseLlmConnection) -> None:
        closed_with: LlmResponse | None = None
        async with aclosing(conn.receive()) as responses:
            async for response in responses:
                self.failures = 0
                if response.error_code is not None and response.content is None:
                    closed_with = response
                    continue  # receive() ends right after a close response
                if await self._receive_one(response):
                    return
        if self.closing or closed_with is None:
            # Our own close, or the server closed with 1000 while the input was still
            # open (the session is over from its side): the run ends normally.
            self._end_connection("done")
            return
        code = closed_with.error_code
        if self.handle and code in _RESUMABLE_CODES | ({"1000"} if self.go_away else set()):
            self._end_connection("reconnect")
            return
        await self._emit(closed_with)
        hint = ""
        if code in _RESUMABLE_CODES or self.go_away:
            hint = (" No session-resumption handle was received, so the session cannot be "
                    "resumed: set RunConfig.session_resumption=types.SessionResumptionConfig() "
                    "to let trio-adk reconnect transparently.")
        raise LiveConnectionClosedError(
            f"The Gemini Live connection closed (code {code}): "
            f"{closed_with.error_message}.{hint}", code=int(code or 1006),
            reason=closed_with.error_message)

    async def _receive_one(self, response: LlmResponse) -> bool:
        """Handle one response; True when this connection should end now."""
        update = response.live_session_resumption_update
        if update is not None and update.resumable and update.new_handle:
            self.handle = update.new_handle
            self.ctx.live_session_resumption_handle = update.new_handle
        metadata = response.custom_metadata
        if metadata and TOOL_CALL_CANCELLATION in metadata:
            self._cancel_calls(metadata[TOOL_CALL_CANCELLATION])
            return False
        if response.turn_complete:
            self.replies_owed = max(0, self.replies_owed - 1)
            self.model_speaking = False
            self._notify()
        elif response.content is not None or response.output_transcription is not None:
            self.model_speaking = True
        if response.go_away is not None:
            self.go_away = True
            await self._emit(response)
            if self.handle and not self.closing:
                self._end_connection("reconnect")
                return True
            return False
        await self._emit(response)
        return False

    async def _emit(self, response: LlmResponse) -> None:
        """Emit the event of ``response`` (if it carries anything); a function-call event
        then starts its tool calls.  The agent's planner rewrites each response's parts
        first, partial ones too, as in a non-live run (and as ADK's live flow does)."""
        if self.agent.planner is not None:
            response = await planned_response(self.agent, self.ctx, response)
        event = _live_event(self.agent, self.ctx, response)
        if event is None:
            return
        calls = event.get_function_calls()
        if calls:
            populate_call_ids(event)
            event.long_running_tool_ids = long_running_ids(event, self.tools)
        await emit_agent_event(self.agent, self.ctx, event)
        if calls:
            self._start_calls(calls)

    # ---- tools -------------------------------------------------------------------------

    def _start_calls(self, calls: list[types.FunctionCall]) -> None:
        nursery = self.tool_nursery
        assert nursery is not None
        for call in calls:
            if call.name == STOP_STREAMING and STOP_STREAMING in self.tools:
                nursery.start_soon(self._guarded, partial(self._stop_streaming, call),
                                   name="trio_adk.live-tool:stop_streaming")
                continue
            scope = trio.CancelScope()
            if call.id:
                self.running[call.id] = scope
            nursery.start_soon(self._guarded, partial(self._call, call, scope),
                               name=f"trio_adk.live-tool:{call.name}")

    def _cancel_calls(self, ids: list[str]) -> None:
        for call_id in ids:
            scope = self.running.get(call_id)
            if scope is not None:
                scope.cancel()
            for stream in self.streaming.values():
                if stream.call_id == call_id:
                    stream.scope.cancel()

    async def _call(self, call: types.FunctionCall, scope: trio.CancelScope) -> None:
        """Run one tool call, emit its response and send it to the model.  The call counts
        as running (the drain waits for it) until its result was sent."""
        answered = trio.Event()
        try:
            response_event: Event | None = None
            with scope:
                response_event = await run_call(
                    self.agent, self.ctx, call, self.tools,
                    on_stream=lambda c, t, r, s: self._start_stream(c, t, r, s, answered))
                if response_event is not None:
                    await emit_agent_event(self.agent, self.ctx, response_event)
            if response_event is None or scope.cancelled_caught:
                return  # long-running without an answer yet, or cancelled by the model
            if call.name == TASK_COMPLETED and self.tools.get(TASK_COMPLETED) is \
                    _TASK_COMPLETED_TOOL:
                # The SequentialAgent's next sub-agent takes over on its own connection.
                self.closing = True
                self._end_connection("done")
                return
            target_name = response_event.actions.transfer_to_agent
            if target_name:
                target = self.agent.root_agent.find_agent(target_name)
                if target is None:
                    raise ValueError(f"Agent {target_name} not found in the agent tree.")
                self.transfer_to = target
                self.closing = True
                self._end_connection("transfer")
                return
            assert response_event.content is not None
            await self._send_to_model(response_event.content)
        finally:
            answered.set()
            if call.id:
                self.running.pop(call.id, None)
            self._notify()

    def _start_stream(self, call: types.FunctionCall, tool: BaseTool,
                      results: AsyncGenerator[Any, None],
                      input_stream: LiveRequestQueue | None,
                      answered: trio.Event) -> dict[str, Any]:
        """Run an async-generator tool in the background; each value goes to the model,
        after the call's immediate answer (``answered``)."""
        name = tool.name
        previous = self.streaming.get(name)
        if previous is not None:
            previous.scope.cancel()
        stream = _StreamingTool(call_id=call.id, scope=trio.CancelScope(),
                                input_stream=input_stream, answered=answered)
        self.streaming[name] = stream
        nursery = self.tool_nursery
        assert nursery is not None
        nursery.start_soon(self._guarded, partial(self._stream, name, stream, results),
                           name=f"trio_adk.live-stream:{name}")
        return dict(_PENDING)

    async def _stream(self, name: str, stream: _StreamingTool,
                      results: AsyncGenerator[Any, None]) -> None:
        try:
            with stream.scope:
                async with aclosing(results):
                    await stream.answered.wait()
                    async for value in results:
                        text = f"Function {name} returned: {value}"
                        await self._send_to_model(
                            types.Content(role="user", parts=[types.Part(text=text)]))
        finally:
            if self.streaming.get(name) is stream:
                del self.streaming[name]
            if stream.input_stream is not None:
                stream.input_stream.close()

    async def _stop_streaming(self, call: types.FunctionCall) -> None:
        name = (call.args or {}).get("function_name")
        stream = self.streaming.get(name) if isinstance(name, str) else None
        if stream is not None:
            stream.scope.cancel()
            status = f"Successfully stopped streaming function {name}"
        else:
            status = f"No active streaming function named {name} found"
        part = types.Part(function_response=types.FunctionResponse(
            id=call.id, name=STOP_STREAMING, response={"status": status}))
        event = Event(invocation_id=self.ctx.invocation_id, author=self.agent.name,
                      branch=self.ctx.branch, content=types.Content(role="user", parts=[part]))
        await emit_agent_event(self.agent, self.ctx, event)
        assert event.content is not None
        await self._send_to_model(event.content)


def _has_payload(response: LlmResponse) -> bool:
    return bool(
        response.content is not None or response.error_code is not None
        or response.interrupted or response.turn_complete
        or response.input_transcription is not None
        or response.output_transcription is not None
        or response.usage_metadata is not None
        or response.live_session_resumption_update is not None
        or response.go_away is not None or response.grounding_metadata is not None
    )


def _live_event(agent: LlmAgent, ctx: InvocationContext, response: LlmResponse) -> Event | None:
    """The event for one live response; None for a response that carries nothing."""
    if not _has_payload(response):
        return None
    user_side = response.input_transcription is not None or (
        response.content is not None and response.content.role == "user")
    return Event(invocation_id=ctx.invocation_id, author="user" if user_side else agent.name,
                 branch=ctx.branch, **response_fields(response))


def is_live_media(event: Event) -> bool:
    """True for a model event carrying audio, video or image bytes (not persisted in a
    live run unless ``RunConfig.save_live_blob``)."""
    content = event.content
    if content is None or not content.parts or event.author == "user":
        return False
    for part in content.parts:
        blob = part.inline_data
        if blob is not None and (blob.mime_type or "").startswith(("audio/", "video/",
                                                                   "image/")):
            return True
    return False
