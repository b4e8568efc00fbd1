"""MCP toolsets (ADK's ``google.adk.tools.mcp_tool``), on the MCP Python SDK 2.x.

Needs the ``mcp`` extra: ``pip install 'trio-adk[mcp]'``.  The SDK is pure anyio, so
sessions run natively on trio: see :class:`McpToolset` for how sessions are owned,
cancelled and closed.
"""

try:
    import mcp as _mcp  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ModuleNotFoundError(
        "trio_adk.tools.mcp_tool needs the MCP Python SDK: pip install 'trio-adk[mcp]'.",
        name="mcp") from exc

from trio_adk.tools.mcp_tool._params import SseConnectionParams as SseConnectionParams
from trio_adk.tools.mcp_tool._params import StdioConnectionParams as StdioConnectionParams
from trio_adk.tools.mcp_tool._params import (
    StreamableHTTPConnectionParams as StreamableHTTPConnectionParams,
)
from trio_adk.tools.mcp_tool._toolset import MCPTool as MCPTool
from trio_adk.tools.mcp_tool._toolset import McpTool as McpTool
from trio_adk.tools.mcp_tool._toolset import MCPToolset as MCPToolset
from trio_adk.tools.mcp_tool._toolset import McpToolset as McpToolset

__all__ = [
    "MCPTool",
    "MCPToolset",
    "McpTool",
    "McpToolset",
    "SseConnectionParams",
    "StdioConnectionParams",
    "StreamableHTTPConnectionParams",
]
