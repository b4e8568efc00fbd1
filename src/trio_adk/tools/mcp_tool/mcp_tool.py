"""ADK-compatible import path.

Re-exports for ``google.adk.tools.mcp_tool.mcp_tool``.
"""

from trio_adk.tools.mcp_tool._toolset import MCPTool as MCPTool
from trio_adk.tools.mcp_tool._toolset import McpTool as McpTool

__all__ = ["MCPTool", "McpTool"]
