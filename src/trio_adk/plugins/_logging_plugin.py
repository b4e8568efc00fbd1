"""LoggingPlugin: one INFO line per callback, for following a run in the logs."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from trio_adk._usercode._host import native
from trio_adk.plugins._base_plugin import BasePlugin

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

logger = logging.getLogger("trio_adk.plugins.logging")

_TEXT_LIMIT = 60
_VALUE_LIMIT = 120
_MAX_PARTS = 4


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _short(value: object, limit: int = _VALUE_LIMIT) -> str:
    """A one-line, length-bounded repr that never raises."""
    try:
        text = repr(value)
    except Exception:
        text = f"<unrepresentable {type(value).__name__}>"
    return _clip(text, limit)


def _part(part: types.Part) -> str:
    if part.text is not None:
        prefix = "thought " if part.thought else ""
        return prefix + repr(_clip(part.text, _TEXT_LIMIT))
    if part.function_call is not None:
        call = part.function_call
        return f"call {call.name}({_short(call.args or {}, _TEXT_LIMIT)})"
    if part.function_response is not None:
        return f"response {part.function_response.name}"
    if part.inline_data is not None:
        return f"<{part.inline_data.mime_type or 'data'}>"
    return "<part>"


def _content(content: types.Content | None) -> str:
    """A preview of a content: its texts, calls and responses, a few parts at most."""
    if content is None or not content.parts:
        return "(no content)"
    pieces = [_part(part) for part in content.parts[:_MAX_PARTS]]
    if len(content.parts) > _MAX_PARTS:
        pieces.append(f"+{len(content.parts) - _MAX_PARTS} parts")
    return " ".join(pieces)


def _error(error: BaseException) -> str:
    return f"{type(error).__name__}: {_clip(str(error), _VALUE_LIMIT)}"


def _event_flags(event: Event) -> str:
    actions = event.actions
    flags = [f"partial={bool(event.partial)}", f"final={event.is_final_response()}"]
    if actions.transfer_to_agent:
        flags.append(f"transfer_to={actions.transfer_to_agent}")
    if actions.escalate:
        flags.append("escalate")
    if actions.state_delta:
        flags.append(f"state={sorted(actions.state_delta)}")
    if event.error_code or event.error_message:
        flags.append(f"error={event.error_code}: {event.error_message}")
    return " ".join(flags)


class LoggingPlugin(BasePlugin):
    """Logs a one-line summary of every callback to ``trio_adk.plugins.logging``.

    Lines are logged at INFO and start with the invocation id, e.g.
    ``[e-…] agent 'root': tool get_weather call_id=… args={'city': 'Paris'}``.
    Nothing is formatted unless that logger is enabled for INFO.  Every callback
    returns ``None``, so the plugin never changes what a run does.
    """

    def __init__(self, name: str = "logging_plugin") -> None:
        super().__init__(name)

    @native
    async def on_user_message_callback(
        self, *, invocation_context: InvocationContext, user_message: types.Content
    ) -> None:
        if logger.isEnabledFor(logging.INFO):
            logger.info("[%s] user message: %s",
                        invocation_context.invocation_id, _content(user_message))

    @native
    async def before_run_callback(self, *, invocation_context: InvocationContext) -> None:
        if logger.isEnabledFor(logging.INFO):
            logger.info("[%s] run start: agent '%s' session=%s",
                        invocation_context.invocation_id, invocation_context.agent.name,
                        invocation_context.session.id)

    @native
    async def on_event_callback(
        self, *, invocation_context: InvocationContext, event: Event
    ) -> None:
        if logger.isEnabledFor(logging.INFO):
            logger.info("[%s] event %s author=%s %s: %s",
                        invocation_context.invocation_id, event.id, event.author,
                        _event_flags(event), _content(event.content))

    @native
    async def after_run_callback(self, *, invocation_context: InvocationContext) -> None:
        if logger.isEnabledFor(logging.INFO):
            logger.info("[%s] run end: agent '%s'",
                        invocation_context.invocation_id, invocation_context.agent.name)

    @native
    async def before_agent_callback(
        self, *, agent: BaseAgent, callback_context: CallbackContext
    ) -> None:
        if logger.isEnabledFor(logging.INFO):
            logger.info("[%s] agent '%s': start", callback_context.invocation_id, agent.name)

    @native
    async def after_agent_callback(
        self, *, agent: BaseAgent, callback_context: CallbackContext
    ) -> None:
        if logger.isEnabledFor(logging.INFO):
            logger.info("[%s] agent '%s': end", callback_context.invocation_id, agent.name)

    @native
    async def before_model_callback(
        self, *, callback_context: CallbackContext, llm_request: LlmRequest
    ) -> None:
        if logger.isEnabledFor(logging.INFO):
            logger.info("[%s] agent '%s': model %s call contents=%d tools=%s",
                        callback_context.invocation_id, callback_context.agent_name,
                        llm_request.model, len(llm_request.contents),
                        sorted(llm_request.tools_dict))

    @native
    async def after_model_callback(
        self, *, callback_context: CallbackContext, llm_response: LlmResponse
    ) -> None:
        if logger.isEnabledFor(logging.INFO):
            extra = ""
            if llm_response.error_code or llm_response.error_message:
                extra = f" error={llm_response.error_code}: {llm_response.error_message}"
            logger.info("[%s] agent '%s': model response partial=%s finish=%s%s: %s",
                        callback_context.invocation_id, callback_context.agent_name,
                        bool(llm_response.partial), llm_response.finish_reason, extra,
                        _content(llm_response.content))

    @native
    async def on_model_error_callback(
        self, *, callback_context: CallbackContext, llm_request: LlmRequest, error: Exception
    ) -> None:
        if logger.isEnabledFor(logging.INFO):
            logger.info("[%s] agent '%s': model %s error %s",
                        callback_context.invocation_id, callback_context.agent_name,
                        llm_request.model, _error(error))

    @native
    async def before_tool_callback(
        self, *, tool: BaseTool, tool_args: dict[str, Any], tool_context: ToolContext
    ) -> None:
        if logger.isEnabledFor(logging.INFO):
            logger.info("[%s] agent '%s': tool %s call_id=%s args=%s",
                        tool_context.invocation_id, tool_context.agent_name, tool.name,
                        tool_context.function_call_id, _short(tool_args))

    @native
    async def after_tool_callback(
        self,
        *,
        tool: BaseTool,
        tool_args: dict[str, Any],
        tool_context: ToolContext,
        result: Any,
    ) -> None:
        if logger.isEnabledFor(logging.INFO):
            logger.info("[%s] agent '%s': tool %s call_id=%s result=%s",
                        tool_context.invocation_id, tool_context.agent_name, tool.name,
                        tool_context.function_call_id, _short(result))

    @native
    async def on_tool_error_callback(
        self,
        *,
        tool: BaseTool,
        tool_args: dict[str, Any],
        tool_context: ToolContext,
        error: Exception,
    ) -> None:
        if logger.isEnabledFor(logging.INFO):
            logger.info("[%s] agent '%s': tool %s call_id=%s error %s",
                        tool_context.invocation_id, tool_context.agent_name, tool.name,
                        tool_context.function_call_id, _error(error))
