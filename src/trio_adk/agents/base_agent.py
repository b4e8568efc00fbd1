"""ADK-compatible import path.

Re-exports for ``google.adk.agents.base_agent``.
"""

from trio_adk.agents._base_agent import BaseAgent as BaseAgent

__all__ = ["BaseAgent"]
