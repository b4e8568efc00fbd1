"""Type aliases for agent, model and tool callbacks, spelled as ADK spells them.

Each alias is one callback or a list of them (run in order until one returns a value).
A callback may be a plain function or a coroutine function; it runs on the caller's
library.  The engine itself accepts any callable in these fields: the aliases are for
annotating user code.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeAlias

from google.genai import types

from trio_adk.agents._callback_context import CallbackContext
from trio_adk.models._llm_request import LlmRequest
from trio_adk.models._llm_response import LlmResponse
from trio_adk.tools._base_tool import BaseTool
from trio_adk.tools._tool_context import ToolContext

_SingleAgentCallback: TypeAlias = Callable[
    [CallbackContext], Awaitable[types.Content | None] | types.Content | None]
BeforeAgentCallback: TypeAlias = _SingleAgentCallback | list[_SingleAgentCallback]
"""Runs before an agent; returning content skips the agent and answers with it."""
AfterAgentCallback: TypeAlias = _SingleAgentCallback | list[_SingleAgentCallback]
"""Runs after an agent; returning content adds it as the agent's last reply."""

_SingleBeforeModelCallback: TypeAlias = Callable[
    [CallbackContext, LlmRequest], Awaitable[LlmResponse | None] | LlmResponse | None]
BeforeModelCallback: TypeAlias = _SingleBeforeModelCallback | list[_SingleBeforeModelCallback]
"""Runs before a model call; returning a response skips the call."""

_SingleAfterModelCallback: TypeAlias = Callable[
    [CallbackContext, LlmResponse], Awaitable[LlmResponse | None] | LlmResponse | None]
AfterModelCallback: TypeAlias = _SingleAfterModelCallback | list[_SingleAfterModelCallback]
"""Runs after each model response; returning a response replaces it."""

_SingleOnModelErrorCallback: TypeAlias = Callable[
    [CallbackContext, LlmRequest, Exception], Awaitable[LlmResponse | None] | LlmResponse | None]
OnModelErrorCallback: TypeAlias = (
    _SingleOnModelErrorCallback | list[_SingleOnModelErrorCallback])
"""Runs when the model call fails; returning a response replaces the error."""

_ToolResult: TypeAlias = Awaitable[dict[str, Any] | None] | dict[str, Any] | None
_SingleBeforeToolCallback: TypeAlias = Callable[[BaseTool, dict[str, Any], ToolContext],
                                                _ToolResult]
BeforeToolCallback: TypeAlias = _SingleBeforeToolCallback | list[_SingleBeforeToolCallback]
"""Runs before a tool; returning a dict skips the tool and is its result."""

_SingleAfterToolCallback: TypeAlias = Callable[
    [BaseTool, dict[str, Any], ToolContext, dict[str, Any]], _ToolResult]
AfterToolCallback: TypeAlias = _SingleAfterToolCallback | list[_SingleAfterToolCallback]
"""Runs after a tool; returning a dict replaces its result."""

_SingleOnToolErrorCallback: TypeAlias = Callable[
    [BaseTool, dict[str, Any], ToolContext, Exception], _ToolResult]
OnToolErrorCallback: TypeAlias = _SingleOnToolErrorCallback | list[_SingleOnToolErrorCallback]
"""Runs when a tool raises; returning a dict is used as its result instead."""
