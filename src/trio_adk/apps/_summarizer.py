"""Summarizers for event compaction: the interface and the model-backed default.

A summarizer turns a run of session events into one compaction event: an ``Event``
whose ``actions.compaction`` holds the summary and the timestamps of the first and last
event it stands for.  When and over which events it is called is decided elsewhere
(``trio_adk.apps._compaction``); a summarizer only writes the summary.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence

import trio
from google.genai import types

from trio_adk._bridges._anywhere import awaitable_anywhere
from trio_adk._usercode._host import is_native, iterate_user, native
from trio_adk.events._event import Event
from trio_adk.events._event_actions import EventActions
from trio_adk.events._event_compaction import EventCompaction
from trio_adk.models._base_llm import BaseLlm
from trio_adk.models._llm_request import LlmRequest

# How long closing the model's response stream may take once the call has ended
# (shielded: the stream's own cleanup must run even when the call was cancelled).
_STREAM_CLOSE_GRACE = 5.0


class BaseEventsSummarizer(abc.ABC):
    """Writes the summary that stands in for a run of session events.

    Subclasses implement :meth:`maybe_summarize_events`.  An override written by a user
    runs on the caller's async library (asyncio code works when the run was started
    from asyncio); it may be cancelled at any ``await``.
    """

    @abc.abstractmethod
    async def maybe_summarize_events(self, *, events: list[Event]) -> Event | None:
        """A compaction event summarizing ``events`` (oldest first), or ``None`` when
        no summary was written.

        The returned event carries ``actions.compaction`` with ``start_timestamp`` and
        ``end_timestamp`` set to the timestamps of the first and last event of
        ``events`` and the summary in ``compacted_content`` (role ``model``).
        """
        raise NotImplementedError


# Our own wording; {conversation_history} receives one line per text, tool call or
# tool response.
_DEFAULT_PROMPT = (
    "Below is the transcript of a conversation between a user and an AI agent; its "
    "first lines may themselves be a summary of an earlier part. Write a summary that "
    "will replace the transcript in the agent's memory. Restate what the user is "
    "asking for, then the facts learned, the decisions taken and whatever is still "
    "open or unanswered. Rules: (1) begin with one line naming the language the user "
    "writes in, as 'Conversation Language: <language>'; (2) name every tool the agent "
    "called, with its exact name, so the agent keeps using the same tools. Keep the "
    "rest short.\n\n"
    "Transcript:\n{conversation_history}"
)

_TOOL_TEXT_LIMIT = 2000


def _clip(text: str) -> str:
    """``text`` cut to the tool-content limit, saying how much was cut."""
    extra = len(text) - _TOOL_TEXT_LIMIT
    if extra <= 0:
        return text
    return f"{text[:_TOOL_TEXT_LIMIT]}... [truncated {extra} chars]"


def _is_credential_event(event: Event) -> bool:
    """An ``adk_request_credential`` call or its answer: user secrets, not conversation."""
    for part in (event.content.parts if event.content else None) or ():
        call, response = part.function_call, part.function_response
        if call is not None and call.name == "adk_request_credential":
            return True
        if response is not None and response.name == "adk_request_credential":
            return True
    return False


def transcript(events: Sequence[Event]) -> str:
    """The history lines a summarizer prompt holds for ``events``.

    One line per text part (``author: text``), thought (``author (thought): text``,
    except in an earlier summary), tool call (``author called tool: name(args)``) and
    tool response (``Tool response from name: response``); tool arguments and responses
    longer than 2000 characters are cut.  Credential requests and answers are left out.
    """
    lines: list[str] = []
    for event in events:
        parts = event.content.parts if event.content else None
        if not parts or _is_credential_event(event):
            continue
        summary = event.actions.compaction is not None
        for part in parts:
            if part.text:
                if not part.thought:
                    lines.append(f"{event.author}: {part.text}")
                elif not summary:
                    lines.append(f"{event.author} (thought): {part.text}")
            if part.function_call is not None:
                call = part.function_call
                lines.append(f"{event.author} called tool: {call.name}"
                             f"({_clip(str(call.args))})")
            if part.function_response is not None:
                response = part.function_response
                lines.append(f"Tool response from {response.name}: "
                             f"{_clip(str(response.response))}")
    return "\n".join(lines)


class LlmEventSummarizer(BaseEventsSummarizer):
    """Summarizes events with one non-streaming call to ``llm``.

    The prompt is one user message: ``prompt_template`` (a default instruction when
    ``None``) with ``{conversation_history}`` replaced by the transcript of the events
    (see :func:`transcript`).  The first response with content becomes the summary
    (its role set to ``model``); the summary event is authored ``user``, has a fresh
    invocation id, no ``content``, and the model's usage metadata.

    The model is called the way an agent calls it: a model class written by a user runs
    on the caller's async library.  Cancellable at any ``await``; the model's response
    stream is closed when the call ends, however it ends.
    """

    def __init__(self, llm: BaseLlm, prompt_template: str | None = None) -> None:
        self._llm = llm
        self._prompt_template = prompt_template or _DEFAULT_PROMPT

    @property
    def llm(self) -> BaseLlm:
        """The model that writes the summaries."""
        return self._llm

    @property
    def prompt_template(self) -> str:
        """The prompt, with a ``{conversation_history}`` placeholder."""
        return self._prompt_template

    def __repr__(self) -> str:
        return f"LlmEventSummarizer(llm={self._llm.model!r})"

    @native
    @awaitable_anywhere
    async def maybe_summarize_events(self, *, events: list[Event]) -> Event | None:
        """See :meth:`BaseEventsSummarizer.maybe_summarize_events`; may be awaited from
        trio or from asyncio (a summarizer of a user's that wraps this one)."""
        if not events:
            return None
        prompt = self._prompt_template.format(conversation_history=transcript(events))
        request = LlmRequest(model=self._llm.model,
                             contents=[types.Content(role="user",
                                                     parts=[types.Part(text=prompt)])])
        responses = self._llm.generate_content_async(request, stream=False)
        if not is_native(self._llm.generate_content_async):
            responses = iterate_user(responses)  # a user's model: on the caller's library
        summary: types.Content | None = None
        usage: types.GenerateContentResponseUsageMetadata | None = None
        try:
            async for response in responses:
                if response.content is not None:
                    summary, usage = response.content, response.usage_metadata
                    break
        finally:
            with trio.move_on_after(_STREAM_CLOSE_GRACE) as cleanup:
                cleanup.shield = True
                await responses.aclose()
        if summary is None:
            return None
        summary = summary.model_copy(update={"role": "model"})
        compaction = EventCompaction(start_timestamp=events[0].timestamp,
                                     end_timestamp=events[-1].timestamp,
                                     compacted_content=summary)
        return Event(author="user", invocation_id=Event.new_id(),
                     actions=EventActions(compaction=compaction), usage_metadata=usage)
