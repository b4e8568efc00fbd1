"""ToolContext: what a tool sees while it runs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from trio_adk.agents._callback_context import CallbackContext
from trio_adk.events._event_actions import EventActions

if TYPE_CHECKING:
    from trio_adk.agents._invocation_context import InvocationContext


class ToolContext(CallbackContext):
    """The context of one tool call.

    ``actions`` become the actions of the function-response event: set
    ``actions.transfer_to_agent``, ``actions.escalate`` or ``actions.skip_summarization``
    there, and write state through ``state``.  ``function_call_id`` is the id of the
    call being run (``None`` in the context tools get in ``process_llm_request``); it is
    what ``request_credential`` files the request under.  Memory, artifact and
    credential helpers are those of :class:`CallbackContext`.
    """

    __slots__ = ()

    def __init__(
        self,
        invocation_context: InvocationContext,
        *,
        function_call_id: str | None = None,
        event_actions: EventActions | None = None,
    ) -> None:
        super().__init__(
            invocation_context, event_actions=event_actions, function_call_id=function_call_id
        )
