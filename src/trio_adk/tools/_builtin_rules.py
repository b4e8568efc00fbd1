"""When Gemini's built-in search tools may share a request with function calls.

Gemini models before 3 refuse a request that holds a built-in search tool
(``google_search``, ``VertexAiSearchTool``, enterprise web search) next to function
declarations.  ADK's rules, applied by the flow before each model call:

* An agent with such a tool and agents to transfer to: when a sub-agent is among the
  targets, ``ValueError`` (the model could never transfer); when only its parent or
  peers are, the agent is not offered ``transfer_to_agent`` at all.
* ``bypass_multi_tools_limit=True`` on a search tool of an agent with other tools (or
  transfer targets): ADK swaps the tool for a stand-in.  ``GoogleSearchTool`` becomes the
  function of a one-tool search agent (:func:`search_agent_stand_in`), on every model.
  ``VertexAiSearchTool`` would become a Discovery Engine function tool, which trio-adk
  does not have: on models before Gemini 3 that raises ``ValueError`` saying what to do
  instead; from Gemini 3 on the built-in retrieval is sent as it is.

Gemini 3 and later take built-in tools and functions in one request: no transfer check.
Pure, apart from building the stand-in; any thread.
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
    from trio_adk.tools._base_tool import BaseTool
    from trio_adk.tools._tool_context import ToolContext

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
        if (isinstance(tool, VertexAiSearchTool)
                and tool.bypass_multi_tools_limit
                and not takes_builtin_with_functions(_tool_model(tool, model))):
            raise ValueError(
                f"Agent `{agent_name}`: {type(tool).__name__}(bypass_multi_tools_limit="
                f"True) with other tools needs a Gemini 3+ model in trio-adk (ADK swaps in "
                f"a Discovery Engine search tool, which trio-adk does not have). Use a "
                f"Gemini 3+ model, or give the search tool an LlmAgent of its own and reach "
                f"it through AgentTool."
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


def search_agent_stand_in(tool_context: ToolContext) -> BaseTool | None:
    """The ``GoogleSearchAgentTool`` that replaces a ``GoogleSearchTool`` with
    ``bypass_multi_tools_limit`` in the request of the context's agent, when that agent
    has other tools or agents to transfer to; ``None`` when search goes in as it is."""
    from trio_adk.agents._llm_agent import LlmAgent
    from trio_adk.flows._llm_flow import transfer_targets
    from trio_adk.tools._google_search_agent import (
        GoogleSearchAgentTool,
        create_google_search_agent,
    )

    agent = tool_context._invocation_context.agent
    if not isinstance(agent, LlmAgent):
        return None
    if len(agent.tools) <= 1 and not transfer_targets(agent):
        return None
    return GoogleSearchAgentTool(create_google_search_agent(agent.canonical_model))
