"""An LlmAgent's tools: the entries of ``LlmAgent.tools`` turned into tools, checked.

Static tools (functions and ``BaseTool`` objects) are checked when the agent is built,
and again when its ``tools`` list was changed since (``agent.tools.append(...)``, as
ADK apps do): every name valid for the model, no name twice, every function
declarable.  A toolset's tools exist only at run time; they are checked when listed,
before each model call (``check_listed_tools``).  Pure computation, any thread.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from trio_adk.tools._base_tool import BaseTool, BaseToolset
from trio_adk.tools._function_tool import FunctionTool, as_tool
from trio_adk.tools._tool_names import check_tool_name, check_unique_tool_names


@attrs.frozen
class AgentTools:
    """The tools built from one ``LlmAgent.tools`` list.

    ``entries`` is that list's contents when they were built: the agent compares it with
    its current list to know whether to build again.  ``named`` holds each static tool's
    name, entry and place (``tools[i]``), for messages about names used twice.
    """

    entries: tuple[object, ...]
    static: list[BaseTool]
    toolsets: list[BaseToolset]
    named: tuple[tuple[str, object, str], ...]


def build_agent_tools(agent_name: str, entries: Sequence[object]) -> AgentTools:
    """Wrap functions as ``FunctionTool``, keep toolsets apart, check names.

    Raises ``ValueError`` (or ``TypeError`` for something that is not a tool at all)
    naming the agent and the entry: a function the model cannot call, a tool name the
    model does not accept, or two tools with one name.
    """
    static: list[BaseTool] = []
    toolsets: list[BaseToolset] = []
    named: list[tuple[str, object, str]] = []
    for index, entry in enumerate(entries):
        if isinstance(entry, BaseToolset):
            toolsets.append(entry)
            continue
        try:
            tool = as_tool(entry)
            if not isinstance(tool, FunctionTool):  # a function tool checked its own name
                check_tool_name(tool.name, what=f"tool {tool!r}")
        except (TypeError, ValueError) as exc:
            kind = TypeError if isinstance(exc, TypeError) else ValueError
            raise kind(f"Agent `{agent_name}`, tools[{index}]: {exc}") from exc
        static.append(tool)
        named.append((tool.name, entry, f"tools[{index}]"))
    check_unique_tool_names(named, agent_name=agent_name)
    return AgentTools(entries=tuple(entries), static=static, toolsets=toolsets,
                      named=tuple(named))


def check_listed_tools(
    agent_name: str, tools: AgentTools, listed: Sequence[tuple[BaseTool, BaseToolset]]
) -> None:
    """Check the tools that toolsets listed for one request, with the static ones.

    Raises ``ValueError`` naming the toolset: a tool name the model does not accept, or
    a name used twice (by two toolsets, or by a toolset and a static tool).  Runs before
    the model call, so the model never sees a request it would refuse.
    """
    named = list(tools.named)
    for tool, toolset in listed:
        check_tool_name(tool.name, what=f"tool {tool!r} listed by toolset {toolset!r}")
        named.append((tool.name, tool, f"toolset {toolset!r}"))
    check_unique_tool_names(named, agent_name=agent_name)
