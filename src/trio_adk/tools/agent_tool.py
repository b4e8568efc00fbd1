"""ADK-compatible import path.

Re-exports for ``google.adk.tools.agent_tool``.
"""

from trio_adk.tools._agent_tool import AgentTool as AgentTool

__all__ = ["AgentTool"]
