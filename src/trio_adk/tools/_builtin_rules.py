"""When Gemini's built-in search tools may share a request with function calls.

Gemini models before 3 refuse a request that holds a built-in search tool
(``google_search``, ``VertexAiSearchTool``, enterprise web search) next to function
declarations.  ADK's rules, applied by the flow before each model call:

* An agent with such a tool and agents to transfer to: when a sub-agent is among the
  targets, ``ValueError`` (the model could never transfer); when only its parent or
  peers are, the agent is not offered ``transfer_to_agent`` at all.
* ``bypass_multi_tools_limit=True`` on a search tool of an agent with other tools (or
  transfer targets): ADK swaps the tool for a search sub-agent or a Discovery Engine
  function tool; trio-adk has neither, so on models before Gemini 3 this raises
  ``ValueError`` saying what to do instead.

Gemini 3 and later take both in one request: nothing is checked.  Pure; any thread.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from trio_adk.tools._enterprise_search import EnterpriseWebSearchTool
from trio_adk.tools._gemini_models import takes_builtin_with_functions
from trio_adk.tools._google_search import GoogleSearchTool
from trio_adk.tools._vertex_ai_search import VertexAiSearchTool

if TYPE_CHECKING:
    from trio_adk.agents._base_agent import BaseAgent
    from trio_adk.agents._llm_agent import LlmAgent

_SEARCH = (GoogleSearchTool, VertexAiSearchTool, EnterpriseWebSearchTool)


def _tool_model(tool: object, model: str | None) -> str | None:
    override = tool.model if isinstance(tool, GoogleSearchTool) else None
    return override or model


def _transfer_conflict(agent_name: str, tools: Sequence[object],
                       model: str | None) -> str | None:
    for tool in tools:
        if not isinstance(tool, _SEARCH) or takes_builtin_with_functions(
                _tool_model(tool, model)):
            continue
        if isinstance(tool, EnterpriseWebSearchTool):
            return (f"Agent `{agent_name}` has sub-agents to transfer to and "
                    "EnterpriseWebSearchTool; Gemini models before 3 cannot combine it with "
                    "function calls (transfer_to_agent). Use a Gemini 3+ model, or move the "
                    "search into a sub-agent of its own.")
        if not tool.bypass_multi_tools_limit:
            return (f"Agent `{agent_name}` has sub-agents to transfer to and "
                    f"{type(tool).__name__}; Gemini models before 3 cannot combine built-in "
                    "search with function calls (transfer_to_agent). Use a Gemini 3+ model, "
                    "or move the search into a sub-agent of its own.")
    return None


def _check_bypass(agent_name: str, tools: Sequence[object], model: str | None,
                  shared: bool) -> None:
    if not shared:
        return
    for tool in tools:
        if (isinstance(tool, (GoogleSearchTool, VertexAiSearchTool))
                and tool.bypass_multi_tools_limit
                and not takes_builtin_with_functions(_tool_model(tool, model))):
            raise ValueError(
                f"Agent `{agent_name}`: {type(tool).__name__}(bypass_multi_tools_limit="
                f"True) with other tools needs a Gemini 3+ model in trio-adk (ADK swaps in "
                f"a search sub-agent, which trio-adk does not). Use a Gemini 3+ model, or "
                f"give the search tool an LlmAgent of its own and reach it by transfer."
            )


def check_builtin_tools(agent: LlmAgent, targets: list[BaseAgent],
                        model: str | None) -> list[BaseAgent]:
    """Apply the rules above to ``agent`` about to call ``model``; return the transfer
    targets to offer (``targets``, or none).  Raises ``ValueError`` naming the agent."""
    tools = list(agent.tools)
    if not any(isinstance(tool, _SEARCH) for tool in tools):
        return targets
    _check_bypass(agent.name, tools, model, shared=len(tools) > 1 or bool(targets))
    if not targets:
        return targets
    conflict = _transfer_conflict(agent.name, tools, model)
    if conflict is None:
        return targets
    if any(target is sub for target in targets for sub in agent.sub_agents):
        raise ValueError(conflict)
    return []
