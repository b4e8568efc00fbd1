"""ADK-compatible import path.

Re-exports for ``google.adk.tools.mcp_tool.mcp_session_manager``: the connection
parameters.  ADK's ``MCPSessionManager`` itself is not provided: sessions are owned per
trio run by the toolset (see :class:`~trio_adk.tools.mcp_tool.McpToolset`).
"""

from mcp import StdioServerParameters as StdioServerParameters

from trio_adk.tools.mcp_tool._params import SseConnectionParams as SseConnectionParams
from trio_adk.tools.mcp_tool._params import StdioConnectionParams as StdioConnectionParams
from trio_adk.tools.mcp_tool._params import (
    StreamableHTTPConnectionParams as StreamableHTTPConnectionParams,
)

__all__ = [
    "SseConnectionParams",
    "StdioConnectionParams",
    "StdioServerParameters",
    "StreamableHTTPConnectionParams",
]
