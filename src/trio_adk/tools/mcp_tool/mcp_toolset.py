"""ADK-compatible import path.

Re-exports for ``google.adk.tools.mcp_tool.mcp_toolset``.
"""

from mcp import StdioServerParameters as StdioServerParameters

from trio_adk.tools.mcp_tool._params import SseConnectionParams as SseConnectionParams
from trio_adk.tools.mcp_tool._params import StdioConnectionParams as StdioConnectionParams
from trio_adk.tools.mcp_tool._params import (
    StreamableHTTPConnectionParams as StreamableHTTPConnectionParams,
)
from trio_adk.tools.mcp_tool._toolset import McpTool as McpTool
from trio_adk.tools.mcp_tool._toolset import MCPToolset as MCPToolset
from trio_adk.tools.mcp_tool._toolset import McpToolset as McpToolset

__all__ = [
    "MCPToolset",
    "McpTool",
    "McpToolset",
    "SseConnectionParams",
    "StdioConnectionParams",
    "StdioServerParameters",
    "StreamableHTTPConnectionParams",
]
