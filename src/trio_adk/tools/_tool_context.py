"""ToolContext: what a tool sees while it runs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from trio_adk.agents._callback_context import CallbackContext
from trio_adk.events._event_actions import EventActions
from trio_adk.events._tool_confirmation import ToolConfirmation

if TYPE_CHECKING:
    from trio_adk.agents._invocation_context import InvocationContext


class ToolContext(CallbackContext):
    """The context of one tool call.

    ``actions`` become the actions of the function-response event: set
    ``actions.transfer_to_agent``, ``actions.escalate`` or ``actions.skip_summarization``
    there, and write state through ``state``.  ``function_call_id`` is the id of the
    call being run (``None`` in the context tools get in ``process_llm_request``); it is
    what ``request_credential`` and ``request_confirmation`` file their requests under.
    ``tool_confirmation`` is the client's answer when the call runs again after a
    confirmation.  Memory, artifact and credential helpers are those of
    :class:`CallbackContext`.
    """

    __slots__ = ("_tool_confirmation",)

    def __init__(
        self,
        invocation_context: InvocationContext,
        *,
        function_call_id: str | None = None,
        event_actions: EventActions | None = None,
        tool_confirmation: ToolConfirmation | None = None,
    ) -> None:
        super().__init__(
            invocation_context, event_actions=event_actions, function_call_id=function_call_id
        )
        self._tool_confirmation = tool_confirmation

    @property
    def tool_confirmation(self) -> ToolConfirmation | None:
        """The client's answer to this call's confirmation request: set when the call
        runs again after the client answered ``adk_request_confirmation``, else None."""
        return self._tool_confirmation

    @tool_confirmation.setter
    def tool_confirmation(self, value: ToolConfirmation | None) -> None:
        self._tool_confirmation = value

    def request_confirmation(self, *, hint: str | None = None, payload: Any = None) -> None:
        """Ask the client to approve this tool call before it takes effect.

        The request is recorded in ``actions.requested_tool_confirmations`` under the
        call's id; once the tool returns, the flow sends the client an
        ``adk_request_confirmation`` function call (the original call and this
        request in its args).  What the tool returns now answers the model meanwhile.
        When the client answers, in a later run, the call runs again with the answer in
        :attr:`tool_confirmation`.  ``payload`` must be JSON-ready.  Raises
        ``ValueError`` in a context without a function call id.
        """
        if not self.function_call_id:
            raise ValueError(
                "request_confirmation requires a function_call_id: it only works in a "
                "tool's context."
            )
        self.actions.requested_tool_confirmations[self.function_call_id] = ToolConfirmation(
            hint=hint or "", payload=payload)
