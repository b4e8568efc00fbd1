"""GoogleSearchAgentTool: Google Search behind a one-tool agent, for requests that also
declare functions.

Gemini models before 3 refuse built-in search next to function declarations.  ADK's way
round it, kept here: a ``GoogleSearchTool(bypass_multi_tools_limit=True)`` of an agent with
other tools (or agents to transfer to) is offered to the model as a function,
``google_search_agent``; calling it runs a child agent whose only tool is Google Search,
on the same model, and returns its answer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trio_adk.tools._agent_tool import AgentTool

if TYPE_CHECKING:
    from trio_adk.agents._llm_agent import LlmAgent
    from trio_adk.models._base_llm import BaseLlm

SEARCH_AGENT_NAME = "google_search_agent"

_INSTRUCTION = (
    "You answer one search query. Use your built-in Google Search grounding to find the "
    "answer and reply with it directly. You have no functions to call."
)


def create_google_search_agent(model: str | BaseLlm) -> LlmAgent:
    """A new ``LlmAgent`` named ``google_search_agent`` whose only tool is Google Search."""
    from trio_adk.agents._llm_agent import LlmAgent
    from trio_adk.tools._google_search import google_search

    return LlmAgent(
        name=SEARCH_AGENT_NAME,
        model=model,
        description="Searches Google with the model's built-in search grounding and "
                    "answers the query.",
        instruction=_INSTRUCTION,
        tools=[google_search],
    )


class GoogleSearchAgentTool(AgentTool):
    """An ``AgentTool`` over a search agent (see :func:`create_google_search_agent`),
    with ``propagate_grounding_metadata=True``.

    Calling it runs the agent as a child run in the calling task; cancellation reaches
    the child's model call.
    """

    def __init__(self, agent: LlmAgent) -> None:
        super().__init__(agent=agent, propagate_grounding_metadata=True)
