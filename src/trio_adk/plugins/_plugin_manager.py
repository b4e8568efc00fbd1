"""PluginManager: runs the plugins of a Runner as one chain per callback."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import trio

from trio_adk._bridges._anywhere import awaitable_anywhere
from trio_adk._usercode._host import await_method
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

CALLBACK_NAMES = (
    "on_user_message_callback",
    "before_run_callback",
    "on_event_callback",
    "after_run_callback",
    "before_agent_callback",
    "after_agent_callback",
    "before_model_callback",
    "after_model_callback",
    "on_model_error_callback",
    "before_tool_callback",
    "after_tool_callback",
    "on_tool_error_callback",
)

# One link of a chain: the plugin (for error messages) and its bound callback.
_Link = tuple[BasePlugin, Callable[..., Awaitable[Any]]]


def _overrides(plugin: BasePlugin, callback: str) -> bool:
    """True unless ``plugin.<callback>`` is still BasePlugin's no-op."""
    method = getattr(plugin, callback)
    return getattr(method, "__func__", None) is not getattr(BasePlugin, callback)


async def _run_chain(chain: list[_Link], callback: str, kwargs: dict[str, Any]) -> Any:
    """Call each link with ``kwargs``; return the first non-None result, else None.

    A plugin's hook is user code: it runs on the caller's library (trio-adk's own
    plugins, marked native, run on trio).
    """
    for plugin, method in chain:
        try:
            result = await await_method(method, **kwargs)
        except Exception as exc:
            raise RuntimeError(
                f"Error in plugin '{plugin.name}' during '{callback}' callback: {exc}"
            ) from exc
        if result is not None:
            return result
    return None


class PluginManager:
    """The plugins of one Runner, called in registration order.

    For each callback the plugins form a chain: the first one that returns something
    other than ``None`` stops it, and that value is returned.  An ``Exception``
    raised by a plugin is re-raised as ``RuntimeError`` naming the plugin and the
    callback (the original is its ``__cause__``) and the remaining plugins are not
    called.  Cancellation (``trio.Cancelled``) and other ``BaseException`` subclasses pass
    through unchanged.

    Each chain only holds the plugins that override that callback, looked up once at
    registration: register plugins with ``register_plugin`` (not by appending to
    ``plugins``) and override callbacks in the class, not on a registered instance.
    With no plugins, every ``run_*`` call returns ``None`` at once.

    The ``run_*`` methods run in the caller's task and may be cancelled at any
    ``await`` inside a plugin.  Not thread-safe.

    Args:
        plugins: Plugins to register, in order.
        close_timeout: Seconds each plugin's ``close()`` may take in ``close()``.
    """

    def __init__(
        self, plugins: list[BasePlugin] | None = None, *, close_timeout: float = 5.0
    ) -> None:
        if not close_timeout >= 0:  # also rejects NaN
            raise ValueError(f"close_timeout must be >= 0, got {close_timeout!r}.")
        self.plugins: list[BasePlugin] = []
        self.close_timeout = close_timeout
        self._chains: dict[str, list[_Link]] = {name: [] for name in CALLBACK_NAMES}
        for plugin in plugins or ():
            self.register_plugin(plugin)

    def __repr__(self) -> str:
        names = ", ".join(repr(plugin.name) for plugin in self.plugins)
        return f"<PluginManager [{names}]>"

    def register_plugin(self, plugin: BasePlugin) -> None:
        """Add ``plugin`` at the end of every chain.

        Raises:
            ValueError: A plugin with the same name is already registered.
        """
        if self.get_plugin(plugin.name) is not None:
            raise ValueError(f"Plugin with name '{plugin.name}' already registered.")
        self.plugins.append(plugin)
        for callback, chain in self._chains.items():
            if _overrides(plugin, callback):
                chain.append((plugin, getattr(plugin, callback)))

    def get_plugin(self, name: str) -> BasePlugin | None:
        """The registered plugin called ``name``, or ``None``."""
        for plugin in self.plugins:
            if plugin.name == name:
                return plugin
        return None

    @awaitable_anywhere
    async def close(self) -> None:
        """Close every plugin, one after the other, in registration order.

        Each ``close()`` is shielded from the caller's cancellation, so cleanup
        finishes even when the caller is being cancelled, but may take at most
        ``close_timeout`` seconds; then it is cancelled and counted as a
        ``TimeoutError``.  A cancelled caller sees ``trio.Cancelled`` at its next
        checkpoint after this returns.

        Raises:
            RuntimeError: Some plugins failed to close, e.g.
                ``Failed to close plugins: 'a': ValueError, 'b': TimeoutError``;
                chained to the first failure.  All plugins were tried.
        """
        failures: list[tuple[str, Exception]] = []
        with trio.CancelScope(shield=True):
            for plugin in self.plugins:
                try:
                    with trio.move_on_after(self.close_timeout) as scope:
                        await await_method(plugin.close)  # a user's: on their library
                except Exception as exc:
                    failures.append((plugin.name, exc))
                    continue
                if scope.cancelled_caught:
                    failures.append((plugin.name, TimeoutError(
                        f"Plugin '{plugin.name}' did not close within {self.close_timeout} s."
                    )))
        if failures:
            summary = ", ".join(f"'{name}': {type(exc).__name__}" for name, exc in failures)
            raise RuntimeError(f"Failed to close plugins: {summary}") from failures[0][1]

    # One method per callback; see BasePlugin for what a non-None result means.

    async def run_on_user_message_callback(
        self, *, invocation_context: InvocationContext, user_message: types.Content
    ) -> types.Content | None:
        """Run ``on_user_message_callback``: a replacement user message, or None."""
        chain = self._chains["on_user_message_callback"]
        if not chain:
            return None
        result: types.Content | None = await _run_chain(
            chain, "on_user_message_callback",
            {"invocation_context": invocation_context, "user_message": user_message},
        )
        return result

    async def run_before_run_callback(
        self, *, invocation_context: InvocationContext
    ) -> types.Content | None:
        """Run ``before_run_callback``: content that replaces the agent's run, or None."""
        chain = self._chains["before_run_callback"]
        if not chain:
            return None
        result: types.Content | None = await _run_chain(
            chain, "before_run_callback", {"invocation_context": invocation_context}
        )
        return result

    async def run_on_event_callback(
        self, *, invocation_context: InvocationContext, event: Event
    ) -> Event | None:
        """Run ``on_event_callback``: a replacement event, or None."""
        chain = self._chains["on_event_callback"]
        if not chain:
            return None
        result: Event | None = await _run_chain(
            chain, "on_event_callback",
            {"invocation_context": invocation_context, "event": event},
        )
        return result

    async def run_after_run_callback(self, *, invocation_context: InvocationContext) -> None:
        """Run ``after_run_callback``; a non-None result only stops the chain."""
        chain = self._chains["after_run_callback"]
        if not chain:
            return None
        await _run_chain(chain, "after_run_callback", {"invocation_context": invocation_context})

    async def run_before_agent_callback(
        self, *, agent: BaseAgent, callback_context: CallbackContext
    ) -> types.Content | None:
        """Run ``before_agent_callback``: content that replaces the agent's run, or None."""
        chain = self._chains["before_agent_callback"]
        if not chain:
            return None
        result: types.Content | None = await _run_chain(
            chain, "before_agent_callback",
            {"agent": agent, "callback_context": callback_context},
        )
        return result

    async def run_after_agent_callback(
        self, *, agent: BaseAgent, callback_context: CallbackContext
    ) -> types.Content | None:
        """Run ``after_agent_callback``: content for one more agent event, or None."""
        chain = self._chains["after_agent_callback"]
        if not chain:
            return None
        result: types.Content | None = await _run_chain(
            chain, "after_agent_callback",
            {"agent": agent, "callback_context": callback_context},
        )
        return result

    async def run_before_model_callback(
        self, *, callback_context: CallbackContext, llm_request: LlmRequest
    ) -> LlmResponse | None:
        """Run ``before_model_callback``: a response that skips the model, or None."""
        chain = self._chains["before_model_callback"]
        if not chain:
            return None
        result: LlmResponse | None = await _run_chain(
            chain, "before_model_callback",
            {"callback_context": callback_context, "llm_request": llm_request},
        )
        return result

    async def run_after_model_callback(
        self, *, callback_context: CallbackContext, llm_response: LlmResponse
    ) -> LlmResponse | None:
        """Run ``after_model_callback``: a replacement response, or None."""
        chain = self._chains["after_model_callback"]
        if not chain:
            return None
        result: LlmResponse | None = await _run_chain(
            chain, "after_model_callback",
            {"callback_context": callback_context, "llm_response": llm_response},
        )
        return result

    async def run_on_model_error_callback(
        self, *, callback_context: CallbackContext, llm_request: LlmRequest, error: Exception
    ) -> LlmResponse | None:
        """Run ``on_model_error_callback``: a response instead of the error, or None."""
        chain = self._chains["on_model_error_callback"]
        if not chain:
            return None
        result: LlmResponse | None = await _run_chain(
            chain, "on_model_error_callback",
            {"callback_context": callback_context, "llm_request": llm_request, "error": error},
        )
        return result

    async def run_before_tool_callback(
        self, *, tool: BaseTool, tool_args: dict[str, Any], tool_context: ToolContext
    ) -> dict[str, Any] | None:
        """Run ``before_tool_callback``: a result that skips the tool, or None."""
        chain = self._chains["before_tool_callback"]
        if not chain:
            return None
        result: dict[str, Any] | None = await _run_chain(
            chain, "before_tool_callback",
            {"tool": tool, "tool_args": tool_args, "tool_context": tool_context},
        )
        return result

    async def run_after_tool_callback(
        self,
        *,
        tool: BaseTool,
        tool_args: dict[str, Any],
        tool_context: ToolContext,
        result: Any,
    ) -> dict[str, Any] | None:
        """Run ``after_tool_callback``: a replacement result, or None."""
        chain = self._chains["after_tool_callback"]
        if not chain:
            return None
        altered: dict[str, Any] | None = await _run_chain(
            chain, "after_tool_callback",
            {"tool": tool, "tool_args": tool_args, "tool_context": tool_context,
             "result": result},
        )
        return altered

    async def run_on_tool_error_callback(
        self,
        *,
        tool: BaseTool,
        tool_args: dict[str, Any],
        tool_context: ToolContext,
        error: Exception,
    ) -> dict[str, Any] | None:
        """Run ``on_tool_error_callback``: a result instead of the error, or None."""
        chain = self._chains["on_tool_error_callback"]
        if not chain:
            return None
        result: dict[str, Any] | None = await _run_chain(
            chain, "on_tool_error_callback",
            {"tool": tool, "tool_args": tool_args, "tool_context": tool_context,
             "error": error},
        )
        return result
