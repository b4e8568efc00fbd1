"""ADK-compatible import path.

Re-exports for ``google.adk.agents.run_config``.
"""

from trio_adk.agents._run_config import RunConfig as RunConfig
from trio_adk.agents._run_config import StreamingMode as StreamingMode
from trio_adk.agents._run_config import ToolThreadPoolConfig as ToolThreadPoolConfig

__all__ = ["RunConfig", "StreamingMode", "ToolThreadPoolConfig"]
