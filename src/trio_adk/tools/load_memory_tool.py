"""ADK-compatible import path.

Re-exports for ``google.adk.tools.load_memory_tool``.
"""

from trio_adk.tools._load_memory import LoadMemoryResponse as LoadMemoryResponse
from trio_adk.tools._load_memory import LoadMemoryTool as LoadMemoryTool
from trio_adk.tools._load_memory import load_memory as load_memory
from trio_adk.tools._load_memory import load_memory_tool as load_memory_tool

__all__ = ["LoadMemoryResponse", "LoadMemoryTool", "load_memory", "load_memory_tool"]
