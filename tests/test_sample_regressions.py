"""Behaviour gaps found by running ported ADK sample apps against trio-adk (issue 13).

Each test is our own minimal reproduction, marked xfail(strict=True) until the engine is
fixed; the fix turns it into a pass (and strict xfail then fails, so remove the mark).
"""

from __future__ import annotations

from typing import Any

import pytest
from google.genai import types

from helpers import USER, collect, make_runner, run_text
from trio_adk import Agent
from trio_adk.sessions import InMemorySessionService
from trio_adk.testing import ScriptedModel, function_call
from trio_adk.tools import LongRunningFunctionTool


def request_approval(amount: float) -> dict[str, Any]:
    """Ask a manager to approve a payment; the answer arrives later."""
    return {"status": "pending", "amount": amount}


async def test_resumed_long_running_call_drops_the_interim_turn_from_the_history() -> None:
    """Human in the loop: the model calls a long-running tool (pending), says it waits,
    and the user later sends the tool's final response.  The next request's history is
    the user's question, the call and the final response, with nothing after it."""
    model = ScriptedModel(replies=[
        function_call("request_approval", {"amount": 200.0}),
        "Waiting for approval.",
        "Approved and paid.",
    ])
    runner = await make_runner(Agent(name="payer", model=model,
                                     tools=[LongRunningFunctionTool(request_approval)]))
    first = await run_text(runner, "Pay 200")
    call_id = first[0].get_function_calls()[0].id
    answer = types.Content(role="user", parts=[types.Part(function_response=types.FunctionResponse(
        id=call_id, name="request_approval", response={"status": "approved"}))])
    await collect(runner.run_async(user_id=USER, session_id="s1", new_message=answer))

    resumed = model.requests[2].contents

    def shape(content: types.Content) -> tuple[str | None, list[str]]:
        kinds = []
        for part in content.parts or []:
            if part.function_call is not None:
                kinds.append("call")
            elif part.function_response is not None:
                kinds.append(f"response:{part.function_response.response}")
            else:
                kinds.append(f"text:{part.text}")
        return content.role, kinds

    assert [
        ("user", ["text:Pay 200"]),
        ("model", ["call"]),
        ("user", ["response:{'status': 'approved'}"]),
    ] == [shape(c) for c in resumed]


async def test_positional_create_session_error_names_the_public_method() -> None:
    """Old ADK samples call create_session(app_name, user_id) positionally; the
    keyword-only TypeError should name the method the caller called."""
    service = InMemorySessionService()
    with pytest.raises(TypeError) as caught:
        await service.create_session("app", "u")  # type: ignore[misc]
    assert "create_session()" in str(caught.value)
    assert "_check" not in str(caught.value)


def look_up(city: str) -> str:
    """Look a city up."""
    return city


async def test_transfer_to_agent_is_declared_before_the_agents_own_tools() -> None:
    """An agent with a sub-agent and a tool: the model sees transfer_to_agent first."""
    model = ScriptedModel(replies=["hi"])
    helper = Agent(name="helper", model=ScriptedModel(replies=[]), description="Helps.")
    runner = await make_runner(Agent(name="boss", model=model, tools=[look_up],
                                     sub_agents=[helper]))
    await run_text(runner, "hello")
    config = model.requests[0].config
    assert config is not None and config.tools
    declared = [d.name for tool in config.tools for d in tool.function_declarations or []]
    assert ["transfer_to_agent", "look_up"] == declared


async def test_a_later_final_response_replaces_the_pending_one_in_the_resumed_history() -> None:
    """The long-running tool answered 'pending' at once; the user's later final response
    for the same call replaces it, and the model's interim turn is dropped."""

    def start_transfer(amount: float) -> dict[str, Any]:
        """Start a transfer that a human must approve."""
        return {"status": "pending"}

    model = ScriptedModel(replies=[function_call("start_transfer", {"amount": 5.0}),
                                   "Waiting.", "Done."])
    runner = await make_runner(Agent(name="payer", model=model,
                                     tools=[LongRunningFunctionTool(start_transfer)]))
    first = await run_text(runner, "Send 5")
    call_id = first[0].get_function_calls()[0].id
    answer = types.Content(role="user", parts=[types.Part(
        function_response=types.FunctionResponse(id=call_id, name="start_transfer",
                                                 response={"status": "approved"}))])
    await collect(runner.run_async(user_id=USER, session_id="s1", new_message=answer))
    resumed = model.requests[2].contents
    assert ["user", "model", "user"] == [c.role for c in resumed]
    last = resumed[-1].parts or []
    assert [{"status": "approved"}] == [p.function_response.response for p in last
                                        if p.function_response is not None]
