"""An ADK-style MCP sample, ported by renaming ``google.adk`` to ``trio_adk``: an agent
whose tools come from a local MCP server started over stdio (the tiny test server)."""

import sys

from mcp import StdioServerParameters

from trio_adk.agents import LlmAgent
from trio_adk.tools.mcp_tool.mcp_session_manager import StdioConnectionParams
from trio_adk.tools.mcp_tool.mcp_toolset import McpToolset

MODEL = "gemini-2.0-flash"  # replaced by a scripted model in the tests

root_agent = LlmAgent(
    model=MODEL,
    name="calculator_agent",
    instruction="Help the user with arithmetic, using the tools you have.",
    tools=[
        McpToolset(
            connection_params=StdioConnectionParams(
                server_params=StdioServerParameters(
                    command=sys.executable,
                    args=["-m", "trio_adk.testing.mcp_server"],
                ),
                timeout=60,
            ),
            tool_filter=["add", "pid"],
        )
    ],
)
