"""ADK-compatible import path.

Re-exports for ``google.adk.tools.preload_memory_tool``.
"""

from trio_adk.tools._preload_memory import PreloadMemoryTool as PreloadMemoryTool
from trio_adk.tools._preload_memory import preload_memory_tool as preload_memory_tool

__all__ = ["PreloadMemoryTool", "preload_memory_tool"]
