"""McpToolset over streamable HTTP and SSE against the tiny MCP server (a real subprocess
on a loopback socket): calls, cancellation seen by the server, and a server restarted on
the same port (the next call works on a new session)."""

from __future__ import annotations

import functools

import pytest
import trio

from mcp_support import call, http_server, result_of
from trio_adk.errors import McpConnectionError
from trio_adk.tools.mcp_tool import (
    McpToolset,
    SseConnectionParams,
    StreamableHTTPConnectionParams,
)

TRANSPORTS = ["streamable-http", "sse"]


def params(transport: str, url: str) -> StreamableHTTPConnectionParams | SseConnectionParams:
    if transport == "sse":
        return SseConnectionParams(url=url, timeout=30)
    return StreamableHTTPConnectionParams(url=url, timeout=30)


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_calls_and_cancellation_reach_the_server(transport: str) -> None:
    async with http_server(transport) as (url, _, _):
        toolset = McpToolset(connection_params=params(transport, url))
        try:
            assert 7 == await result_of(toolset, "add", a=3, b=4)
            with trio.CancelScope() as scope:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(functools.partial(call, toolset, "slow", seconds=3600,
                                                           tag="http1"))
                    await call(toolset, "slow_calls", started_at_least=1)
                    scope.cancel()
            calls = await call(toolset, "slow_calls", cancelled_at_least=1)
            assert ["http1"] == calls["structuredContent"]["cancelled"]
        finally:
            await toolset.close()


@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_the_next_call_after_a_server_restart_works(transport: str) -> None:
    """A scale-to-zero: the server process is replaced by a new one on the same port,
    which does not know the old session (adk-python #7060)."""
    toolset = McpToolset(connection_params=StreamableHTTPConnectionParams(url="unset"))
    try:
        async with http_server(transport) as (url, port, first):
            toolset = McpToolset(connection_params=params(transport, url))
            assert first.pid == await result_of(toolset, "pid")
        async with http_server(transport, port) as (_, _, second):
            assert second.pid == await result_of(toolset, "pid")
            assert 3 == await result_of(toolset, "add", a=1, b=2)
    finally:
        await toolset.close()


async def test_a_server_that_is_down_is_a_connection_error() -> None:
    async with http_server("streamable-http") as (url, _, _):
        pass  # the port is free again
    toolset = McpToolset(connection_params=StreamableHTTPConnectionParams(url=url, timeout=30))
    with pytest.raises(McpConnectionError, match=r"MCP server at http://127\.0\.0\.1"):
        await toolset.get_tools()
    await toolset.close()
