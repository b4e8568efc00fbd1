"""ADK-compatible import path.

Re-exports for ``google.adk.agents.loop_agent``.
"""

from trio_adk.agents._workflow_agents import LoopAgent as LoopAgent

__all__ = ["LoopAgent"]
