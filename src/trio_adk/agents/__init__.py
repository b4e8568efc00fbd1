"""Agents and the contexts they run in."""

from trio_adk.agents._base_agent import BaseAgent as BaseAgent
from trio_adk.agents._callback_context import CallbackContext as CallbackContext
from trio_adk.agents._callback_context import ReadonlyContext as ReadonlyContext
from trio_adk.agents._invocation_context import InvocationContext as InvocationContext
from trio_adk.agents._live_request_queue import LiveRequest as LiveRequest
from trio_adk.agents._live_request_queue import LiveRequestQueue as LiveRequestQueue
from trio_adk.agents._live_request_queue import QueueFull as QueueFull
from trio_adk.agents._llm_agent import Agent as Agent
from trio_adk.agents._llm_agent import LlmAgent as LlmAgent
from trio_adk.agents._run_config import RunConfig as RunConfig
from trio_adk.agents._run_config import StreamingMode as StreamingMode
from trio_adk.agents._run_config import ToolThreadPoolConfig as ToolThreadPoolConfig
from trio_adk.agents._workflow_agents import LoopAgent as LoopAgent
from trio_adk.agents._workflow_agents import ParallelAgent as ParallelAgent
from trio_adk.agents._workflow_agents import SequentialAgent as SequentialAgent

__all__ = [
    "Agent",
    "BaseAgent",
    "CallbackContext",
    "InvocationContext",
    "LiveRequest",
    "LiveRequestQueue",
    "LlmAgent",
    "LoopAgent",
    "ParallelAgent",
    "QueueFull",
    "ReadonlyContext",
    "RunConfig",
    "SequentialAgent",
    "StreamingMode",
    "ToolThreadPoolConfig",
]
