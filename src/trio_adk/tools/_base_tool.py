"""BaseTool and BaseToolset."""

from __future__ import annotations

import abc
import copy
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from google.genai import types

from trio_adk._usercode._host import native

if TYPE_CHECKING:
    from trio_adk.agents._callback_context import ReadonlyContext
    from trio_adk.models._llm_request import LlmRequest
    from trio_adk.tools._tool_context import ToolContext


class BaseTool(abc.ABC):
    """A capability the model can call.

    ``run_async`` runs in the run's trio task (several calls of one model turn run
    concurrently, each in a task of a nursery owned by that turn); it may be cancelled at
    any ``await`` (the run was cancelled, timed out or closed).  Blocking work belongs in
    ``trio.to_thread.run_sync``.
    """

    def __init__(self, *, name: str, description: str, is_long_running: bool = False) -> None:
        self.name = name
        self.description = description
        self.is_long_running = is_long_running

    def _get_declaration(self) -> types.FunctionDeclaration | None:
        """The declaration sent to the model; ``None`` hides the tool from it."""
        return None

    async def run_async(self, *, args: dict[str, Any], tool_context: ToolContext) -> Any:
        """Run the tool with the model's arguments and return its result."""
        raise NotImplementedError(f"{type(self).__name__} does not implement run_async.")

    async def check_require_confirmation(
        self, args: dict[str, Any], tool_context: ToolContext
    ) -> bool:
        """Whether this call needs a human's approval before it runs (False here;
        ``FunctionTool(require_confirmation=...)`` decides per call)."""
        return False

    @native
    async def process_llm_request(
        self, *, tool_context: ToolContext, llm_request: LlmRequest
    ) -> None:
        """Add this tool to the request: by default, declare it and register it."""
        llm_request.append_tools([self])

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


@runtime_checkable
class ToolPredicate(Protocol):
    """Decides whether a toolset's tool is offered to the model for this request.

    Called with the tool and the request's read-only context (``None`` outside a run);
    plain code, called on the run's thread.
    """

    def __call__(self, tool: BaseTool, readonly_context: ReadonlyContext | None = None
                 ) -> bool: ...


class BaseToolset(abc.ABC):
    """A group of tools resolved per request (for example from an MCP server).

    ``tool_filter`` keeps only the named tools, or the tools a :class:`ToolPredicate`
    accepts.  ``tool_name_prefix`` offers each tool
    to the model as ``<prefix>_<name>`` (a copy of the tool is renamed; the filter
    still uses the unprefixed names), so two toolsets with clashing names can serve
    one agent.  ``close`` is called by ``Runner.close()`` under a deadline; errors are
    logged.
    """

    def __init__(self, *, tool_filter: ToolPredicate | list[str] | None = None,
                 tool_name_prefix: str | None = None) -> None:
        if tool_filter is not None and not (callable(tool_filter)
                                            or isinstance(tool_filter, list)):
            raise TypeError("tool_filter must be a list of tool names, a predicate "
                            "(tool, readonly_context) -> bool, or None; got "
                            f"{type(tool_filter).__name__}.")
        if tool_name_prefix is not None and not isinstance(tool_name_prefix, str):
            raise TypeError("tool_name_prefix must be a str or None, got "
                            f"{type(tool_name_prefix).__name__}.")
        self.tool_filter = tool_filter
        self.tool_name_prefix = tool_name_prefix

    @abc.abstractmethod
    async def get_tools(self, readonly_context: ReadonlyContext | None = None) -> list[BaseTool]:
        """The tools to offer for this request.

        Called in the run's trio task before each model call; cancelled with the run.
        """

    @native
    async def close(self) -> None:
        """Release the toolset's resources.  Idempotent; default: nothing.

        Called by ``Runner.close()`` in a shielded scope with a deadline; if the deadline
        passes the toolset is cancelled and a warning logged; errors are logged.
        """

    async def get_tools_with_prefix(
        self, readonly_context: ReadonlyContext | None = None
    ) -> list[BaseTool]:
        """:meth:`get_tools`, each tool renamed ``<tool_name_prefix>_<name>`` when a
        prefix is set.  Cancelled with the caller."""
        return self._prefixed(list(await self.get_tools(readonly_context)))

    def _prefixed(self, tools: list[BaseTool]) -> list[BaseTool]:
        # getattr: a subclass may not have called BaseToolset.__init__.
        prefix = getattr(self, "tool_name_prefix", None)
        if not prefix:
            return tools
        return [_renamed(tool, f"{prefix}_{tool.name}") for tool in tools]

    def _is_tool_selected(self, tool: BaseTool,
                          readonly_context: ReadonlyContext | None = None) -> bool:
        selector = self.tool_filter
        if not selector:
            return True
        if callable(selector):
            return bool(selector(tool, readonly_context))
        return tool.name in selector

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"


def _renamed(tool: BaseTool, name: str) -> BaseTool:
    """A shallow copy of ``tool`` called ``name``, its declaration renamed too."""
    renamed = copy.copy(tool)
    renamed.name = name
    declare = tool._get_declaration

    def declaration() -> types.FunctionDeclaration | None:
        original = declare()
        if original is None:
            return None
        return original.model_copy(update={"name": name})

    renamed._get_declaration = declaration  # type: ignore[method-assign]
    return renamed
