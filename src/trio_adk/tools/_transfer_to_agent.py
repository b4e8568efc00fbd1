"""transfer_to_agent: the tool that hands the conversation to another agent."""

from __future__ import annotations

from google.genai import types

from trio_adk.tools._function_tool import FunctionTool
from trio_adk.tools._tool_context import ToolContext


def transfer_to_agent(agent_name: str, tool_context: ToolContext) -> None:
    """Hand the user's question over to another agent.

    Call this when a different agent is better suited to answer the user, for
    example because its description matches the request better than yours. That
    agent then continues the conversation.

    Args:
        agent_name: The name of the agent to hand the question to.
    """
    tool_context.actions.transfer_to_agent = agent_name


class TransferToAgentTool(FunctionTool):
    """The ``transfer_to_agent`` tool, restricted to the given target agents.

    With ``agent_names`` the declaration lists them as an ``enum`` for
    ``agent_name``, so the model can only pick one of them.  Calling the tool only
    records the transfer in the response event's actions; the flow performs it.
    The function returns at once, so it runs in the calling trio task (no worker
    thread, no wait for the tool limiter).  Construct from any thread.
    """

    _runs_inline = True

    def __init__(self, agent_names: list[str] | None = None) -> None:
        super().__init__(transfer_to_agent)
        self.agent_names = list(agent_names) if agent_names else None

    def _build_declaration(self) -> types.FunctionDeclaration:
        declaration = super()._build_declaration()
        parameters = declaration.parameters
        if self.agent_names and parameters is not None and parameters.properties:
            parameters.properties["agent_name"].enum = list(self.agent_names)
        return declaration
