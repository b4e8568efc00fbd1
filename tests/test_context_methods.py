"""ToolContext and CallbackContext: the properties and helpers ADK's contexts have."""

# The suite asserts `expected == actual`, which SIM300 calls a Yoda condition.

from __future__ import annotations

from typing import Any

import pytest
from google.genai import types

from helpers import APP, USER, run_text, stored_events
from trio_adk import Agent, Runner
from trio_adk.agents import CallbackContext, ReadonlyContext, RunConfig
from trio_adk.artifacts import InMemoryArtifactService
from trio_adk.auth import AuthConfig
from trio_adk.memory import InMemoryMemoryService
from trio_adk.sessions import InMemorySessionService
from trio_adk.testing import ScriptedModel, function_call
from trio_adk.tools import ToolContext


async def _runner(agent: Agent, **services: Any) -> Runner:
    session_service = InMemorySessionService()
    await session_service.create_session(app_name=APP, user_id=USER, session_id="s1")
    return Runner(app_name=APP, agent=agent, session_service=session_service, **services)


def _tool_agent(tool: Any, **kwargs: Any) -> Agent:
    model = ScriptedModel(replies=[function_call(tool.__name__, {}), "done"])
    return Agent(name="agent", model=model, tools=[tool], **kwargs)


async def test_tool_context_properties() -> None:
    """A tool sees the ids, the run config, the session and the agent of its invocation."""
    seen: dict[str, Any] = {}

    async def look(tool_context: ToolContext) -> str:
        seen.update(
            user_id=tool_context.user_id,
            run_config=tool_context.run_config,
            session_id=tool_context.session.id,
            agent_name=tool_context.agent_name,
            invocation_id=tool_context.invocation_id,
            function_call_id=tool_context.function_call_id,
            user_text=tool_context.user_content.parts[0].text
            if tool_context.user_content and tool_context.user_content.parts else None,
            branch=tool_context.branch,
        )
        return "ok"

    runner = await _runner(_tool_agent(look))
    config = RunConfig(max_llm_calls=7)
    async with runner:
        events = await run_text(runner, "hello", run_config=config)
    call = events[0].get_function_calls()[0]
    assert USER == seen["user_id"]
    assert 7 == seen["run_config"].max_llm_calls
    assert "s1" == seen["session_id"]
    assert "agent" == seen["agent_name"]
    assert events[0].invocation_id == seen["invocation_id"]
    assert call.id == seen["function_call_id"]
    assert "hello" == seen["user_text"]
    assert seen["branch"] is None


async def test_callback_context_has_no_function_call_id_and_cannot_request_credentials() -> None:
    """In a callback ``function_call_id`` is None and request_credential says what to use."""
    seen: list[Any] = []

    def before(callback_context: CallbackContext) -> None:
        seen.append(callback_context.function_call_id)
        seen.append(callback_context.user_id)
        with pytest.raises(ValueError, match="save_credential/load_credential"):
            callback_context.request_credential(AuthConfig(credential_key="k"))

    agent = Agent(name="agent", model=ScriptedModel(replies=["hi"]), before_agent_callback=before)
    runner = await _runner(agent)
    async with runner:
        await run_text(runner, "x")
    assert [None, USER] == seen


async def test_save_artifact_records_delta_and_versions() -> None:
    """save_artifact returns the version and records it in the event's artifact_delta;
    load_artifact, list_artifacts read it back."""
    seen: dict[str, Any] = {}

    async def store(tool_context: ToolContext) -> str:
        first = await tool_context.save_artifact("a.txt", types.Part(text="one"))
        second = await tool_context.save_artifact("a.txt", types.Part(text="two"))
        seen["versions"] = (first, second)
        seen["names"] = await tool_context.list_artifacts()
        latest = await tool_context.load_artifact("a.txt")
        old = await tool_context.load_artifact("a.txt", version=0)
        seen["texts"] = (latest.text if latest else None, old.text if old else None)
        return "stored"

    runner = await _runner(_tool_agent(store), artifact_service=InMemoryArtifactService())
    async with runner:
        events = await run_text(runner, "x")
        stored = await stored_events(runner)
    assert (0, 1) == seen["versions"]
    assert ["a.txt"] == seen["names"]
    assert ("two", "one") == seen["texts"]
    assert {"a.txt": 1} == events[1].actions.artifact_delta
    assert {"a.txt": 1} == stored[2].actions.artifact_delta


async def test_artifact_helpers_without_a_service() -> None:
    """Without an artifact service every artifact helper raises ValueError."""
    errors: list[str] = []

    async def store(tool_context: ToolContext) -> str:
        for attempt in (
            tool_context.save_artifact("a", types.Part(text="x")),
            tool_context.load_artifact("a"),
            tool_context.list_artifacts(),
            tool_context.get_artifact_version("a"),
        ):
            try:
                await attempt
            except ValueError as exc:
                errors.append(str(exc))
        return "done"

    runner = await _runner(_tool_agent(store))
    async with runner:
        await run_text(runner, "x")
    assert ["Artifact service is not initialized."] * 4 == errors


async def test_get_artifact_version_asks_the_service() -> None:
    """get_artifact_version delegates to the service's method of that name; a service
    without one raises NotImplementedError naming it."""

    class Versioned(InMemoryArtifactService):
        async def get_artifact_version(self, **kwargs: Any) -> dict[str, Any]:
            return kwargs

    results: list[Any] = []

    async def ask(tool_context: ToolContext) -> str:
        try:
            results.append(await tool_context.get_artifact_version("f", 3))
        except NotImplementedError as exc:
            results.append(str(exc))
        return "done"

    for service in (Versioned(), InMemoryArtifactService()):
        runner = await _runner(_tool_agent(ask), artifact_service=service)
        async with runner:
            await run_text(runner, "x")
    assert {"app_name": APP, "user_id": USER, "session_id": "s1", "filename": "f",
            "version": 3} == results[0]
    assert "InMemoryArtifactService has no get_artifact_version()" in results[1]


async def test_add_session_to_memory_then_search_memory() -> None:
    """An after-agent callback adds the session to memory; the next turn's tool finds it."""
    found: list[list[str]] = []

    async def remember(callback_context: CallbackContext) -> None:
        await callback_context.add_session_to_memory()

    async def recall(tool_context: ToolContext) -> str:
        response = await tool_context.search_memory("giraffes")
        found.append([p.text or "" for m in response.memories for p in m.content.parts or []])
        return "ok"

    model = ScriptedModel(replies=["noted", function_call("recall", {}), "done"])
    agent = Agent(name="agent", model=model, tools=[recall], after_agent_callback=remember)
    runner = await _runner(agent, memory_service=InMemoryMemoryService())
    async with runner:
        await run_text(runner, "I like giraffes")
        await run_text(runner, "what do I like?")
    assert ["I like giraffes"] == found[0]


async def test_memory_helpers_without_a_service() -> None:
    """Without a memory service the memory helpers raise ValueError saying so."""
    errors: list[str] = []

    async def use(tool_context: ToolContext) -> str:
        for attempt in (
            tool_context.search_memory("q"),
            tool_context.add_session_to_memory(),
            tool_context.add_memory(memories=[]),
            tool_context.add_events_to_memory(events=[]),
            tool_context.delete_memory("m"),
        ):
            try:
                await attempt
            except ValueError as exc:
                errors.append(str(exc))
        return "done"

    runner = await _runner(_tool_agent(use))
    async with runner:
        await run_text(runner, "x")
    assert [
        "Memory service is not available.",
        "Cannot add session to memory: memory service is not available.",
        "Cannot add memory: memory service is not available.",
        "Cannot add events to memory: memory service is not available.",
        "Cannot delete memory: memory service is not available.",
    ] == errors


async def test_optional_memory_methods_delegate_or_say_they_are_missing() -> None:
    """add_memory, add_events_to_memory and delete_memory call the service's methods of
    those names, scoped to the session; a service without them raises
    NotImplementedError."""
    calls: list[tuple[str, dict[str, Any]]] = []

    class Extended(InMemoryMemoryService):
        async def add_memory(self, **kwargs: Any) -> None:
            calls.append(("add_memory", kwargs))

        async def add_events_to_memory(self, **kwargs: Any) -> None:
            calls.append(("add_events_to_memory", kwargs))

        async def delete_memory(self, **kwargs: Any) -> None:
            calls.append(("delete_memory", kwargs))

    missing: list[str] = []

    async def use(tool_context: ToolContext) -> str:
        try:
            await tool_context.add_memory(memories=[], custom_metadata={"k": 1})
            await tool_context.add_events_to_memory(events=[])
            await tool_context.delete_memory("m1")
        except NotImplementedError as exc:
            missing.append(str(exc))
        return "done"

    for service in (Extended(), InMemoryMemoryService()):
        runner = await _runner(_tool_agent(use), memory_service=service)
        async with runner:
            await run_text(runner, "x")
    assert [
        ("add_memory", {"app_name": APP, "user_id": USER, "memories": [],
                        "custom_metadata": {"k": 1}}),
        ("add_events_to_memory", {"app_name": APP, "user_id": USER, "session_id": "s1",
                                  "events": [], "custom_metadata": None}),
        ("delete_memory", {"app_name": APP, "user_id": USER, "memory_id": "m1"}),
    ] == calls
    assert ["InMemoryMemoryService has no add_memory()"] == [m.split(";")[0] for m in missing]


async def test_request_credential_and_get_auth_response() -> None:
    """request_credential files the config under the call id; get_auth_response reads
    the client's answer from ``temp:<credential_key>`` state."""
    seen: list[Any] = []
    config = AuthConfig(credential_key="cred")

    async def auth(tool_context: ToolContext) -> str:
        seen.append(tool_context.get_auth_response(config))
        tool_context.state["temp:cred"] = "token"
        seen.append(tool_context.get_auth_response(config))
        tool_context.request_credential(config)
        seen.append(dict(tool_context.actions.requested_auth_configs))
        return "asked"

    runner = await _runner(_tool_agent(auth))
    async with runner:
        events = await run_text(runner, "x")
    call_id = events[0].get_function_calls()[0].id
    assert [None, "token", {call_id: config}] == seen



async def test_custom_metadata_is_shared_within_the_invocation() -> None:
    """custom_metadata starts as a copy of run_config.custom_metadata; a callback's write
    is seen by the tool (one dict per invocation), read-only in a ReadonlyContext, and
    the run config is untouched; the next invocation starts afresh."""
    seen: list[dict[str, Any]] = []
    readonly: list[Any] = []

    def before(callback_context: CallbackContext) -> None:
        callback_context.custom_metadata["from_callback"] = True

    def instruction(context: ReadonlyContext) -> str:
        readonly.append(context.custom_metadata)
        return "Be brief."

    def look(tool_context: ToolContext) -> str:
        seen.append(dict(tool_context.custom_metadata))
        return "ok"

    agent = _tool_agent(look, before_agent_callback=before, instruction=instruction)
    agent.model.replies.extend([function_call("look", {}), "again"])  # type: ignore[union-attr]
    runner = await _runner(agent)
    config = RunConfig(custom_metadata={"tenant": "t1"})
    async with runner:
        await run_text(runner, "x", run_config=config)
        await run_text(runner, "y")
    assert [{"tenant": "t1", "from_callback": True}, {"from_callback": True}] == seen
    assert {"tenant": "t1"} == config.custom_metadata
    with pytest.raises(TypeError):
        readonly[0]["k"] = 1


async def test_confirmation_state_and_the_invocation_context_is_reachable() -> None:
    """tool_confirmation is None on a first call (the round trip is in
    test_tool_confirmation.py); get_invocation_context is a copy of the invocation's."""
    seen: list[Any] = []

    def ask(tool_context: ToolContext) -> str:
        seen.append(tool_context.tool_confirmation)
        copy = tool_context.get_invocation_context()
        seen.append((copy is tool_context._invocation_context, copy.invocation_id,
                     copy.session.id))
        return "ok"

    runner = await _runner(_tool_agent(ask))
    async with runner:
        events = await run_text(runner, "x")
    assert [None, (False, events[0].invocation_id, "s1")] == seen
