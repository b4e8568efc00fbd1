"""ADK-compatible import path.

Re-exports for ``google.adk.agents.base_agent``.
"""

from trio_adk.agents._base_agent import BaseAgent as BaseAgent
from trio_adk.agents._callback_types import AfterAgentCallback as AfterAgentCallback
from trio_adk.agents._callback_types import BeforeAgentCallback as BeforeAgentCallback

__all__ = ["AfterAgentCallback", "BaseAgent", "BeforeAgentCallback"]
