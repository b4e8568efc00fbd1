"""McpToolset over stdio against the tiny MCP server (a real subprocess, the real SDK):
listing, declarations, results, cancellation that reaches the server, a server that
crashes mid-call or ignores cancellation, and closing (every server process reaped)."""

from __future__ import annotations

import copy
import functools
from typing import Any

import pytest
import trio
from google.genai import types

from helpers import collect, make_runner, run_text, user_text
from mcp_support import assert_reaped, call, result_of, stdio_params
from trio_adk import Agent
from trio_adk.errors import McpConnectionError
from trio_adk.testing import ScriptedModel, function_call
from trio_adk.tools.mcp_tool import McpTool, MCPToolset, McpToolset, StdioConnectionParams


def function_responses(events: list[Any]) -> list[types.FunctionResponse]:
    return [part.function_response for event in events if event.content
            for part in event.content.parts or [] if part.function_response]


async def test_tools_are_listed_sorted_with_the_servers_schemas() -> None:
    toolset = McpToolset(connection_params=stdio_params())
    try:
        tools = await toolset.get_tools()
        names = [tool.name for tool in tools]
        assert sorted(names) == names
        assert {"add", "echo", "slow", "crash", "pid"} <= set(names)
        add = next(tool for tool in tools if tool.name == "add")
        assert isinstance(add, McpTool)
        declaration = add._get_declaration()
        assert "add" == declaration.name
        assert "Add two integers." == declaration.description
        assert add.raw_mcp_tool.input_schema == declaration.parameters_json_schema
        assert {"a", "b"} == set(declaration.parameters_json_schema["properties"])
        assert ["result"] == declaration.response_json_schema["required"]
    finally:
        await toolset.close()


async def test_filter_and_prefix_as_for_every_toolset() -> None:
    toolset = McpToolset(connection_params=stdio_params(), tool_filter=["add", "echo"],
                         tool_name_prefix="calc")
    model = ScriptedModel(replies=[function_call("calc_add", {"a": 2, "b": 3}), "5"])
    runner = await make_runner(Agent(name="bot", model=model, tools=[toolset]))
    try:
        events = await run_text(runner, "2+3?")
    finally:
        await runner.close()
    config = model.requests[0].config
    assert config is not None and config.tools
    assert ["calc_add", "calc_echo"] == [d.name for d in config.tools[0].function_declarations]
    [response] = function_responses(events)
    assert "calc_add" == response.name
    assert {"content": [{"type": "text", "text": "5"}], "structuredContent": {"result": 5},
            "isError": False} == response.response


async def test_a_tool_error_is_the_tools_result_as_in_adk() -> None:
    toolset = McpToolset(connection_params=stdio_params())
    try:
        result = await call(toolset, "fail", message="no such file")
        assert {"content": [{"type": "text", "text": "Error executing tool fail: no such file"}],
                "isError": True} == result
        listed = (await toolset.get_tools())[0].raw_mcp_tool
        gone = McpTool(mcp_tool=listed.model_copy(update={"name": "gone"}), mcp_toolset=toolset)
        print(await gone.run_async(args={}, tool_context=None))
    finally:
        await toolset.close()


async def test_one_session_per_trio_run_reused_by_every_call() -> None:
    toolset = McpToolset(connection_params=stdio_params())
    try:
        first = await result_of(toolset, "pid")
        async with trio.open_nursery() as nursery:
            for i in range(5):
                nursery.start_soon(functools.partial(result_of, toolset, "add", a=i, b=1))
        assert first == await result_of(toolset, "pid")
    finally:
        await toolset.close()
    assert_reaped(first)


async def test_cancelling_the_run_cancels_the_call_and_the_server_sees_it() -> None:
    toolset = McpToolset(connection_params=stdio_params())
    model = ScriptedModel(replies=[function_call("slow", {"seconds": 3600, "tag": "run1"})])
    runner = await make_runner(Agent(name="bot", model=model, tools=[toolset]))
    try:
        with trio.CancelScope() as run_scope:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(run_text, runner, "take your time")
                await call(toolset, "slow_calls", started_at_least=1)
                run_scope.cancel()
        calls = await call(toolset, "slow_calls", cancelled_at_least=1)
        assert {"started": ["run1"], "cancelled": ["run1"]} == calls["structuredContent"]
    finally:
        await runner.close()


async def test_a_server_that_crashes_mid_call_raises_a_typed_error_and_is_reaped() -> None:
    toolset = McpToolset(connection_params=stdio_params())
    model = ScriptedModel(replies=[function_call("crash", {}), "unused"])
    runner = await make_runner(Agent(name="bot", model=model, tools=[toolset]))
    try:
        pid = await result_of(toolset, "pid")
        [owner] = toolset._pool._owners.values()
        with pytest.raises(McpConnectionError, match="broke during the call of 'crash'"):
            await run_text(runner, "crash please")
        assert 0 == len(toolset._pool)  # the dead session is dropped at once...
        await owner.done.wait()  # ...and left by its owner task, the process reaped
        assert_reaped(pid)
        new_pid = await result_of(toolset, "pid")  # ...and the next call starts anew
        assert pid != new_pid
    finally:
        await runner.close()
    assert_reaped(new_pid)


@pytest.mark.slow
async def test_a_server_ignoring_cancellation_and_sigterm_does_not_hang_close() -> None:
    toolset = McpToolset(connection_params=stdio_params())
    pid = await result_of(toolset, "pid")
    with trio.move_on_after(0.5):  # the caller's cancellation returns at once
        await call(toolset, "ignore_cancellation", seconds=3600)
    with trio.fail_after(30):  # bounded: stdin closed, SIGTERM ignored, then SIGKILL
        await toolset.close()
    assert_reaped(pid)
    assert 0 == len(toolset._pool)


async def test_runner_close_closes_the_sessions_and_reaps_the_server() -> None:
    toolset = McpToolset(connection_params=stdio_params())
    model = ScriptedModel(replies=[function_call("pid", {}), "done"])
    runner = await make_runner(Agent(name="bot", model=model, tools=[toolset]))
    events = await collect(runner.run_async(user_id="user1", session_id="s1",
                                            new_message=user_text("pid?")))
    [response] = function_responses(events)
    assert response.response is not None
    pid = response.response["structuredContent"]["result"]
    await runner.close()
    assert_reaped(pid)
    assert 0 == len(toolset._pool)


async def test_a_server_that_cannot_start_is_a_connection_error() -> None:
    params = stdio_params(timeout=30)
    params.server_params.command = "/nonexistent/mcp-server"
    toolset = McpToolset(connection_params=params)
    with pytest.raises(McpConnectionError, match="Could not connect to the MCP server"):
        await toolset.get_tools()
    await toolset.close()


async def test_bare_server_parameters_and_the_deprecated_name_work() -> None:
    with pytest.warns(DeprecationWarning, match="use `McpToolset`"):
        toolset = MCPToolset(connection_params=stdio_params().server_params)
    assert isinstance(toolset._pool.params, StdioConnectionParams)
    assert 5.0 == toolset._pool.params.timeout
    try:
        assert 5 == await result_of(toolset, "add", a=2, b=3)
    finally:
        await toolset.close()
    assert isinstance(copy.deepcopy(toolset), McpToolset)


def test_adk_options_not_provided_yet_are_refused_clearly() -> None:
    with pytest.raises(TypeError, match=r"McpToolset\(header_provider=...\): trio-adk does "):
        McpToolset(connection_params=stdio_params(), header_provider=lambda ctx: {})
    with pytest.raises(TypeError, match="unexpected keyword arguments: colour"):
        McpToolset(connection_params=stdio_params(), colour="red")
    McpToolset(connection_params=stdio_params(), use_mcp_resources=False)  # ADK's default
