"""ADK-compatible import path.

Re-exports for ``google.adk.agents.parallel_agent``.
"""

from trio_adk.agents._workflow_agents import ParallelAgent as ParallelAgent

__all__ = ["ParallelAgent"]
