"""ADK-compatible import path.

Re-exports for ``google.adk.agents.llm_agent``.
"""

from trio_adk.agents._callback_types import AfterModelCallback as AfterModelCallback
from trio_adk.agents._callback_types import AfterToolCallback as AfterToolCallback
from trio_adk.agents._callback_types import BeforeModelCallback as BeforeModelCallback
from trio_adk.agents._callback_types import BeforeToolCallback as BeforeToolCallback
from trio_adk.agents._callback_types import OnModelErrorCallback as OnModelErrorCallback
from trio_adk.agents._callback_types import OnToolErrorCallback as OnToolErrorCallback
from trio_adk.agents._llm_agent import Agent as Agent
from trio_adk.agents._llm_agent import InstructionProvider as InstructionProvider
from trio_adk.agents._llm_agent import LlmAgent as LlmAgent
from trio_adk.agents._llm_agent import ToolUnion as ToolUnion

__all__ = [
    "AfterModelCallback",
    "AfterToolCallback",
    "Agent",
    "BeforeModelCallback",
    "BeforeToolCallback",
    "InstructionProvider",
    "LlmAgent",
    "OnModelErrorCallback",
    "OnToolErrorCallback",
    "ToolUnion",
]
