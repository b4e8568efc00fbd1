"""Shared helpers of the MCP tests: the tiny server over stdio or HTTP, and reaping checks."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import trio
from mcp import StdioServerParameters

from trio_adk.tools.mcp_tool import McpToolset, StdioConnectionParams

SERVER = [sys.executable, "-m", "trio_adk.testing.mcp_server"]


def stdio_params(timeout: float = 60.0) -> StdioConnectionParams:
    return StdioConnectionParams(
        server_params=StdioServerParameters(command=SERVER[0], args=SERVER[1:]),
        timeout=timeout)


async def call(toolset: McpToolset, name: str, **args: Any) -> dict[str, Any]:
    """Call one of the toolset's tools directly, as the flow does."""
    tools = {tool.name: tool for tool in await toolset.get_tools()}
    result: dict[str, Any] = await tools[name].run_async(args=args, tool_context=None)
    return result


async def result_of(toolset: McpToolset, name: str, **args: Any) -> Any:
    """The structured result of a successful call."""
    result = await call(toolset, name, **args)
    assert not result["isError"], result
    return result["structuredContent"]["result"]


def assert_reaped(pid: int) -> None:
    """The process is gone and reaped: no /proc entry, not even a zombie."""
    assert not os.path.exists(f"/proc/{pid}"), f"process {pid} is still there (zombie?)"


@asynccontextmanager
async def http_server(transport: str, port: int = 0) -> AsyncIterator[tuple[str, int, Any]]:
    """The tiny server over HTTP in a subprocess: (url, port, process); killed and
    reaped on exit."""
    process = await trio.lowlevel.open_process(
        [*SERVER, "--transport", transport, "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert process.stdout is not None
        buffer = b""
        with trio.fail_after(60):
            while b"\n" not in buffer:
                chunk = await process.stdout.receive_some()
                assert chunk, "the MCP test server exited before listening"
                buffer += chunk
        line = buffer.split(b"\n", 1)[0].decode()
        assert line.startswith("READY "), line
        url = line.split(" ", 1)[1]
        yield url, int(url.split(":")[2].split("/")[0]), process
    finally:
        with trio.CancelScope(shield=True):
            process.kill()
            await process.wait()
            if process.stdout is not None:
                await process.stdout.aclose()
