"""ADK-compatible import path.

Re-exports for ``google.adk.agents.sequential_agent``.
"""

from trio_adk.agents._workflow_agents import SequentialAgent as SequentialAgent

__all__ = ["SequentialAgent"]
