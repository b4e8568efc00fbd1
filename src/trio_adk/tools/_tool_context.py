"""ToolContext: what a tool sees while it runs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from trio_adk.agents._callback_context import CallbackContext
from trio_adk.events._event_actions import EventActions

if TYPE_CHECKING:
    from trio_adk.agents._invocation_context import InvocationContext
    from trio_adk.auth._types import AuthConfig
    from trio_adk.memory._base import SearchMemoryResponse


class ToolContext(CallbackContext):
    """The context of one tool call.

    ``actions`` become the actions of the function-response event: set
    ``actions.transfer_to_agent``, ``actions.escalate`` or ``actions.skip_summarization``
    there, and write state through ``state``.
    """

    __slots__ = ("function_call_id",)

    def __init__(
        self,
        invocation_context: InvocationContext,
        *,
        function_call_id: str | None = None,
        event_actions: EventActions | None = None,
    ) -> None:
        super().__init__(invocation_context, event_actions=event_actions)
        self.function_call_id = function_call_id

    def request_credential(self, auth_config: AuthConfig) -> None:
        """Ask the client for credentials described by ``auth_config``."""
        if not self.function_call_id:
            raise ValueError("request_credential requires a function_call_id.")
        self._event_actions.requested_auth_configs[self.function_call_id] = auth_config

    def get_auth_response(self, auth_config: AuthConfig) -> Any:
        """The credential the client sent back for ``auth_config`` (from session state)."""
        key = "temp:" + auth_config.credential_key
        return self.state.get(key)

    async def search_memory(self, query: str) -> SearchMemoryResponse:
        """Search the memory service for ``query`` within this app and user."""
        ctx = self._invocation_context
        if ctx.memory_service is None:
            raise ValueError("Memory service is not available.")
        return await ctx.memory_service.search_memory(
            app_name=ctx.app_name, user_id=ctx.user_id, query=query
        )
