"""BasePlugin: hooks that apply to every agent, model call and tool call of a Runner."""

from __future__ import annotations

import abc
from typing import TYPE_CHECKING, Any

from trio_adk._usercode._host import native

if TYPE_CHECKING:
    from google.genai import types

    from trio_adk.agents._base_agent import BaseAgent
    from trio_adk.agents._callback_context import CallbackContext
    from trio_adk.agents._invocation_context import InvocationContext
    from trio_adk.events._event import Event
    from trio_adk.models._llm_request import LlmRequest
    from trio_adk.models._llm_response import LlmResponse
    from trio_adk.tools._base_tool import BaseTool
    from trio_adk.tools._tool_context import ToolContext


class BasePlugin(abc.ABC):
    """A named set of callbacks applied across a whole Runner.

    Subclass it and override the callbacks you need; the others return ``None``,
    which means "carry on as if this plugin were not there".  A non-``None``
    return short-circuits: later plugins and the agent's own callbacks of the same
    kind are not called, and the value is used as described on each callback.
    Arguments may be mutated in place; later plugins and agent callbacks see it.

    Every callback runs in the run's trio task (tool callbacks in the task of their
    tool call), so it may be cancelled at any ``await`` when the run is cancelled,
    times out or the runner is closed.  Blocking work belongs in
    ``trio.to_thread.run_sync``.  An exception raised by a callback ends the run,
    wrapped in a ``RuntimeError`` that names the plugin and the callback.

    Args:
        name: The plugin's identity; unique within one Runner.
    """

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"

    async def on_user_message_callback(
        self, *, invocation_context: InvocationContext, user_message: types.Content
    ) -> types.Content | None:
        """Called with the user's message before anything else of the run.

        Returns:
            A ``Content`` that replaces the user message, or ``None``.
        """
        return None

    async def before_run_callback(
        self, *, invocation_context: InvocationContext
    ) -> types.Content | None:
        """Called once the user event is stored, before the agent starts.

        Returns:
            A ``Content``: the runner emits it as an event and does not run the
            agent; or ``None``.
        """
        return None

    async def on_event_callback(
        self, *, invocation_context: InvocationContext, event: Event
    ) -> Event | None:
        """Called for every event the agents yield, before it reaches the caller.

        Returns:
            An ``Event`` that takes the place of ``event`` in the stream, or ``None``.
        """
        return None

    async def after_run_callback(self, *, invocation_context: InvocationContext) -> None:
        """Called when the run has finished normally; its return value is ignored."""
        return None

    async def before_agent_callback(
        self, *, agent: BaseAgent, callback_context: CallbackContext
    ) -> types.Content | None:
        """Called before an agent runs.

        Returns:
            A ``Content``: the agent is skipped and the content is emitted as the
            agent's event; or ``None``.
        """
        return None

    async def after_agent_callback(
        self, *, agent: BaseAgent, callback_context: CallbackContext
    ) -> types.Content | None:
        """Called after an agent has run.

        Returns:
            A ``Content`` emitted as one more event of the agent, or ``None``.
        """
        return None

    async def before_model_callback(
        self, *, callback_context: CallbackContext, llm_request: LlmRequest
    ) -> LlmResponse | None:
        """Called before each model call; ``llm_request`` may be edited in place.

        Returns:
            An ``LlmResponse``: the model is not called and this response is used
            instead; or ``None``.
        """
        return None

    async def after_model_callback(
        self, *, callback_context: CallbackContext, llm_response: LlmResponse
    ) -> LlmResponse | None:
        """Called with each response of the model (each chunk when streaming).

        Returns:
            An ``LlmResponse`` that replaces the model's response, or ``None``.
        """
        return None

    async def on_model_error_callback(
        self, *, callback_context: CallbackContext, llm_request: LlmRequest, error: Exception
    ) -> LlmResponse | None:
        """Called when the model call raises.

        Returns:
            An ``LlmResponse`` used as the model's response instead of raising
            ``error``, or ``None`` to let the error propagate.
        """
        return None

    async def before_tool_callback(
        self, *, tool: BaseTool, tool_args: dict[str, Any], tool_context: ToolContext
    ) -> dict[str, Any] | None:
        """Called before a tool runs; ``tool_args`` may be edited in place.

        Returns:
            A ``dict``: the tool is not run and the dict is its result; or ``None``.
        """
        return None

    async def after_tool_callback(
        self,
        *,
        tool: BaseTool,
        tool_args: dict[str, Any],
        tool_context: ToolContext,
        result: Any,
    ) -> dict[str, Any] | None:
        """Called with a tool's result (usually a ``dict``).

        Returns:
            A ``dict`` that replaces the result, or ``None``.
        """
        return None

    async def on_tool_error_callback(
        self,
        *,
        tool: BaseTool,
        tool_args: dict[str, Any],
        tool_context: ToolContext,
        error: Exception,
    ) -> dict[str, Any] | None:
        """Called when a tool raises, or when the model names a tool that does not exist.

        Returns:
            A ``dict`` used as the tool's result instead of raising ``error``, or
            ``None`` to let the error propagate.
        """
        return None

    @native
    async def close(self) -> None:
        """Release the plugin's resources; the default does nothing.

        Called once by ``Runner.close()`` (through ``PluginManager.close()``), shielded
        from the caller's cancellation but bounded by the manager's ``close_timeout``:
        past the deadline the call is cancelled and reported as a ``TimeoutError``.
        """
        return None
