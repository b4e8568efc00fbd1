"""Event: one entry in a session's history, and the unit a run streams to its caller."""

from __future__ import annotations

import time

import attrs
from google.genai import types

from trio_adk._utils._ids import new_uuid4
from trio_adk.events._event_actions import EventActions
from trio_adk.models._llm_response import LlmResponse


def _new_id() -> str:
    return new_uuid4()


@attrs.define(kw_only=True)
class Event(LlmResponse):
    """Something that happened in a conversation: a user message, a model reply, a tool
    call or result, a control signal.

    Non-partial events are appended to the session before the caller sees them; partial
    events (streaming fragments) are only streamed.  Events in a fetched session are
    shared records: treat them as read-only and copy (``model_copy(deep=True)``) before
    changing one.

    Attributes:
        id: Unique id; a fresh uuid4 when not given.
        invocation_id: The run (``e-<uuid4>``) that produced the event.
        author: ``'user'`` or the name of the agent that produced the event.
        branch: Dot-joined agent path (``parallel.child``) that hides sibling branches'
            history from each other.
        timestamp: Seconds since the epoch.
        actions: Side effects (state changes, transfer, escalation).
        long_running_tool_ids: Ids of function calls whose tools run in the background.
    """

    author: str
    invocation_id: str = ""
    id: str = attrs.field(factory=_new_id)
    branch: str | None = None
    timestamp: float = attrs.field(factory=time.time)
    actions: EventActions = attrs.field(factory=EventActions)
    long_running_tool_ids: set[str] | None = None

    def __attrs_post_init__(self) -> None:
        if not self.id:
            self.id = _new_id()

    @staticmethod
    def new_id() -> str:
        """Return a fresh event id."""
        return _new_id()

    def get_function_calls(self) -> list[types.FunctionCall]:
        """The function calls in this event's parts, in part order."""
        content = self.content
        if content is None or not content.parts:
            return []
        return [p.function_call for p in content.parts if p.function_call is not None]

    def get_function_responses(self) -> list[types.FunctionResponse]:
        """The function responses in this event's parts, in part order."""
        content = self.content
        if content is None or not content.parts:
            return []
        return [p.function_response for p in content.parts if p.function_response is not None]

    def has_trailing_code_execution_result(self) -> bool:
        """True when the last part is a code execution result."""
        content = self.content
        if content is None or not content.parts:
            return False
        return content.parts[-1].code_execution_result is not None

    def is_final_response(self) -> bool:
        """True when this event ends its agent's turn from the caller's point of view.

        Events that skip summarisation or announce long-running tools are final;
        otherwise an event is final when it carries no function calls or responses, is
        not partial and does not end with a code execution result.  Error-only and
        control-only events are final.
        """
        if self.actions.skip_summarization or self.long_running_tool_ids:
            return True
        return (
            not self.get_function_calls()
            and not self.get_function_responses()
            and not self.partial
            and not self.has_trailing_code_execution_result()
        )
