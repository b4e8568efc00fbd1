"""What the compact run methods give back: a run's result, or its reply as text chunks.

``runner.run(agent, text)`` returns a :class:`RunResult`; ``runner.run_live(agent,
input_text=...)`` returns a :class:`TextStream`.  The ADK form of those methods
(``run(user_id=..., session_id=..., new_message=...)``) yields events instead.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator, Iterable, Sequence
from typing import TYPE_CHECKING, final

import attrs

from trio_adk._bridges._sync_thread import call_sync, stream_sync
from trio_adk.events._event import Event
from trio_adk.tools._agent_tool import STREAMED_FROM_AGENT_TOOL as _RELAYED

if TYPE_CHECKING:
    from trio_adk._run import RunRequest
    from trio_adk._runner import Runner


def event_text(event: Event | None) -> str:
    """The text of an event's parts, thoughts left out ('' for no event or no text)."""
    if event is None or event.content is None or not event.content.parts:
        return ""
    return "".join(part.text or "" for part in event.content.parts if not part.thought)


def final_response_of(events: Iterable[Event]) -> Event | None:
    """The last final-response event that is not a streamed fragment, if any."""
    found: Event | None = None
    for event in events:
        if event.is_final_response() and not event.partial:
            found = event
    return found


@attrs.frozen(kw_only=True, repr=False)
class RunResult:
    """One finished run of ``runner.run(agent, text)`` / ``await runner.run_async(agent,
    text)``: its reply, every event it yielded, and the session it ran in.

    ``str(result)`` is the reply's text, so ``print(runner.run(agent, "Hi"))`` prints
    the answer.  Pass ``result.session_id`` (and ``user_id``) to the next run to go on
    with the same conversation.

    Attributes:
        events: Every event the run yielded, in order (streamed fragments included when
            the run streamed); each non-partial one is stored in the session.
        session_id: The session the run appended to (generated unless you named one).
        user_id: The user the session belongs to.
    """

    events: Sequence[Event]
    session_id: str
    user_id: str

    @property
    def final_response(self) -> Event | None:
        """The last final-response event (the agent's answer), or ``None``."""
        return final_response_of(self.events)

    @property
    def text(self) -> str:
        """The text of :attr:`final_response` ('' when there is none); thoughts are left
        out."""
        return event_text(self.final_response)

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return (f"<RunResult session={self.session_id!r} user={self.user_id!r} "
                f"{len(self.events)} events text={self.text!r}>")


@final
class TextStream:
    """The reply of ``runner.run_live(agent, input_text=...)`` as text, chunk by chunk.

    Iterate it once, either way: ``for chunk in stream`` in sync code (also in a thread
    whose asyncio loop is running, such as Jupyter; not inside a trio task), or
    ``async for chunk in stream`` from trio or asyncio (the library is detected when
    the first chunk is awaited).  The run starts when the first chunk is asked for.

    Chunks come from SSE streaming (``StreamingMode.SSE`` through the ordinary run), so
    every model that can stream works, and the text arrives as the model writes it.  A
    reply the model did not stream (a tool's direct answer, a callback's reply) arrives
    as one chunk; thoughts, tool calls and tool results are not text and are skipped.

    Leaving early cancels the run and waits for its cleanup: ``break`` out of a sync
    ``for`` (once the stream is dropped; ``contextlib.closing(stream)`` or ``close()``
    makes it immediate), ``aclose()`` or ``contextlib.aclosing(stream)`` in async code,
    or cancelling the iterating task.  Errors (``TimeoutError``, ``RunnerClosedError``,
    an agent's error) are raised from the iteration after the chunks before them.

    Attributes:
        session_id: The session the run appends to.
        user_id: The user the session belongs to.
    """

    def __init__(self, runner: Runner, request: RunRequest, *, create_session: bool) -> None:
        self.session_id = request.session_id
        self.user_id = request.user_id
        self._runner = runner
        self._request = request
        self._create_session = create_session
        self._sync: Generator[Event, None, None] | None = None
        self._async: AsyncGenerator[Event, None] | None = None
        self._closed = False
        self._streamed = False  # fragments of the current reply were yielded

    def __repr__(self) -> str:
        if self._sync is None and self._async is None:
            state = "closed" if self._closed else "not started"
        else:
            state = "closed" if self._closed else "streaming"
        return f"<TextStream {state} session={self.session_id!r} user={self.user_id!r}>"

    def _chunk(self, event: Event) -> str:
        """The text ``event`` adds to the reply ('' for none).

        Events an ``AgentTool(stream_events=True)`` relays from its child agent are not
        part of the reply.
        """
        if event.custom_metadata and _RELAYED in event.custom_metadata:
            return ""
        text = event_text(event)
        if event.partial:
            self._streamed = self._streamed or bool(text)
            return text
        # A whole message: its text was streamed already unless no fragment came.
        streamed, self._streamed = self._streamed, False
        return "" if streamed else text

    # ---- sync ---------------------------------------------------------------------------

    def __iter__(self) -> TextStream:
        return self

    def __next__(self) -> str:
        """The next chunk; blocks the calling thread (never call it in a trio task)."""
        if self._async is not None:
            raise RuntimeError("This TextStream is iterated with `async for`; iterate it "
                               "one way only.")
        if self._closed:
            raise StopIteration
        if self._sync is None:
            if self._create_session:
                self._create_session = False
                call_sync(self._runner._create_session, self._request,
                          what="Runner.run_live()")
            self._sync = stream_sync(self._runner, self._request)
        for event in self._sync:
            chunk = self._chunk(event)
            if chunk:
                return chunk
        self._closed = True
        raise StopIteration

    def close(self) -> None:
        """Stop a sync iteration: cancel the run and return once its cleanup finished.

        Idempotent; a stream never iterated just never starts its run.
        """
        self._closed = True
        if self._sync is not None:
            self._sync.close()

    # ---- async --------------------------------------------------------------------------

    def __aiter__(self) -> TextStream:
        return self

    async def __anext__(self) -> str:
        """The next chunk, awaited from trio or asyncio."""
        if self._sync is not None:
            raise RuntimeError("This TextStream is iterated with a sync `for`; iterate it "
                               "one way only.")
        if self._closed:
            raise StopAsyncIteration
        if self._async is None:
            if self._create_session:
                self._create_session = False
                await self._runner._create_session(self._request)
            self._async = self._runner._stream(self._request)
        async for event in self._async:
            chunk = self._chunk(event)
            if chunk:
                return chunk
        self._closed = True
        raise StopAsyncIteration

    async def aclose(self) -> None:
        """Stop an async iteration: cancel the run and return once its cleanup finished
        (shielded and bounded, as for ``run_async``).  Idempotent."""
        self._closed = True
        if self._async is not None:
            await self._async.aclose()
