"""ADK-compatible import path.

Re-exports for ``google.adk.tools.transfer_to_agent_tool``.
"""

from trio_adk.tools._transfer_to_agent import transfer_to_agent as transfer_to_agent

__all__ = ["transfer_to_agent"]
