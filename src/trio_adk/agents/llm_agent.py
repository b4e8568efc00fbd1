"""ADK-compatible import path.

Re-exports for ``google.adk.agents.llm_agent``.
"""

from trio_adk.agents._llm_agent import Agent as Agent
from trio_adk.agents._llm_agent import LlmAgent as LlmAgent

__all__ = ["Agent", "LlmAgent"]
