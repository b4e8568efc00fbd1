"""Engine behaviours of issue 2 / adk-semantics.md that the rest of the suite leaves open.

Runner construction, user-message handling (roles, blobs, caller isolation), the session
config, LoggingPlugin in a real run, the context helpers (artifacts, credentials, memory,
credential requests), Event/EventActions helpers, InvocationContext copies, LLMRegistry,
LlmResponse.create, plugin-vs-agent callback precedence, and the "no yield inside a
nursery or cancel scope" rule for src/.
"""

from __future__ import annotations

import ast
import copy
import logging
import re
import time
from collections.abc import AsyncGenerator
from contextlib import aclosing
from pathlib import Path
from typing import Any

import pytest
import trio
from google.genai import types

from helpers import APP, USER, collect, make_runner, run_text, stored_events, texts, user_text
from trio_adk import Agent, InMemoryRunner, Runner
from trio_adk.agents import CallbackContext, InvocationContext, RunConfig
from trio_adk.artifacts import InMemoryArtifactService
from trio_adk.auth import AuthConfig, AuthCredential, InMemoryCredentialService
from trio_adk.errors import LlmCallsLimitExceededError
from trio_adk.events import Event, EventActions
from trio_adk.memory import InMemoryMemoryService
from trio_adk.models import BaseLlm, LLMRegistry, LlmRequest, LlmResponse
from trio_adk.plugins import BasePlugin, LoggingPlugin
from trio_adk.sessions import GetSessionConfig, InMemorySessionService, Session
from trio_adk.testing import ScriptedModel, function_call, function_calls
from trio_adk.tools import LongRunningFunctionTool, ToolContext

SRC = Path(__file__).resolve().parent.parent / "src" / "trio_adk"

UUID4 = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"


# ---- small helpers -------------------------------------------------------------------


async def run_message(runner: Runner, message: types.Content, **kwargs: Any) -> list[Event]:
    """Run one turn with an arbitrary message and collect its events."""
    return await collect(runner.run_async(user_id=USER, session_id="s1", new_message=message,
                                          **kwargs))


async def run_expecting_error(runner: Runner, text: str,
                              **kwargs: Any) -> tuple[list[Event], BaseException]:
    """Run one turn that must fail: the events received, then the error."""
    got: list[Event] = []
    gen = runner.run_async(user_id=USER, session_id="s1", new_message=user_text(text),
                           **kwargs)
    try:
        async with aclosing(gen) as events:
            async for event in events:
                got.append(event)
    except Exception as exc:
        return got, exc
    raise AssertionError(f"the run did not fail; events: {texts(got)}")


def part_kinds(content: types.Content | None) -> list[str]:
    """Each part as 'text:<t>', 'call:<name>', 'response:<name>' or 'data:<mime>'."""
    out: list[str] = []
    for part in (content.parts or []) if content else []:
        if part.function_call is not None:
            out.append(f"call:{part.function_call.name}")
        elif part.function_response is not None:
            out.append(f"response:{part.function_response.name}")
        elif part.inline_data is not None:
            out.append(f"data:{part.inline_data.mime_type}")
        else:
            out.append(f"text:{part.text}")
    return out


def make_ctx(**kwargs: Any) -> InvocationContext:
    """An InvocationContext that is not attached to a run (for unit tests)."""
    service = InMemorySessionService()
    session = Session(id="s1", app_name=APP, user_id=USER)
    return InvocationContext(session_service=service, session=session,
                             agent=Agent(name="bot", model=ScriptedModel()), **kwargs)


def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


# ---- 1. Runner construction ----------------------------------------------------------


def test_runner_constructor_is_keyword_only_with_documented_defaults() -> None:
    """Runner takes keyword arguments only; auto_create_session defaults to False and
    plugin_close_timeout to 5.0; the optional services default to None."""
    agent = Agent(name="bot", model=ScriptedModel())
    service = InMemorySessionService()
    with pytest.raises(TypeError):
        Runner(APP, agent, service)  # type: ignore[misc]
    runner = Runner(app_name=APP, agent=agent, session_service=service)
    assert (False, 5.0) == (runner.auto_create_session, runner.plugin_close_timeout)
    assert [None, None, None] == [runner.artifact_service, runner.memory_service,
                                  runner.credential_service]
    assert service is runner.session_service
    assert agent is runner.agent
    assert APP == runner.app_name


def test_in_memory_runner_wires_in_memory_services_and_no_credentials() -> None:
    """InMemoryRunner(agent, *, app_name='InMemoryRunner', plugins=None): in-memory
    session, artifact and memory services, no credential service, auto-created sessions."""
    agent = Agent(name="bot", model=ScriptedModel())
    runner = InMemoryRunner(agent)
    assert [InMemorySessionService, InMemoryArtifactService, InMemoryMemoryService] == [
        type(runner.session_service), type(runner.artifact_service),
        type(runner.memory_service)]
    assert runner.credential_service is None
    assert ("InMemoryRunner", True) == (runner.app_name, runner.auto_create_session)
    assert [] == runner.plugin_manager.plugins
    with pytest.raises(TypeError):
        InMemoryRunner(agent, "my_app")  # type: ignore[misc]
    named = InMemoryRunner(agent=Agent(name="other", model=ScriptedModel()), app_name="my_app",
                           plugins=[LoggingPlugin()])
    assert "my_app" == named.app_name
    assert ["logging_plugin"] == [p.name for p in named.plugin_manager.plugins]


# ---- 3/4. The user message ---------------------------------------------------------------


@pytest.mark.parametrize("role", [None, "model"])
async def test_user_message_role_is_normalised_on_a_copy(role: str | None) -> None:
    """A message whose role is None or 'model' is stored (and sent to the model) with
    role 'user'; the caller's Content object keeps its role."""
    model = ScriptedModel(replies=["ok"])
    runner = await make_runner(Agent(name="bot", model=model))
    message = types.Content(role=role, parts=[types.Part(text="hi")])
    events = await run_message(runner, message)
    assert ["ok"] == texts(events)
    stored = await stored_events(runner)
    assert ("user", "user") == (stored[0].author, stored[0].content.role)  # type: ignore[union-attr]
    assert [("user", ["text:hi"])] == [(c.role, part_kinds(c))
                                       for c in model.requests[0].contents]
    assert role == message.role


class _ModelRoleRewriter(BasePlugin):
    """Replaces the user message with model-role content."""

    async def on_user_message_callback(self, *, invocation_context: Any,
                                       user_message: types.Content) -> types.Content:
        return types.Content(role="model", parts=[types.Part(text="rewritten")])


async def test_plugin_replacement_message_is_stored_with_user_role() -> None:
    """A message returned by on_user_message_callback replaces the user's, and is stored
    with role 'user' whatever role the plugin gave it (2.x behaviour)."""
    model = ScriptedModel(replies=["ok"])
    runner = await make_runner(Agent(name="bot", model=model),
                               plugins=[_ModelRoleRewriter(name="rw")])
    await run_text(runner, "original")
    stored = await stored_events(runner)
    assert [("user", "user", ["text:rewritten"])] == [
        (e.author, e.content.role, part_kinds(e.content)) for e in stored[:1]  # type: ignore[union-attr]
    ]
    assert [["text:rewritten"]] == [part_kinds(c) for c in model.requests[0].contents]


async def test_caller_mutating_its_message_after_the_run_does_not_rewrite_history() -> None:
    """Reusing (mutating) the Content object passed as new_message for the next turn must
    not change the stored user event of the earlier turn nor what the model is sent
    later: callers never mutate stored state by accident (issue 2, Performance)."""
    model = ScriptedModel(replies=["one", "two"])
    runner = await make_runner(Agent(name="bot", model=model))
    message = types.Content(role="user", parts=[types.Part(text="first")])
    await run_message(runner, message)
    assert message.parts is not None
    message.parts[0].text = "second"
    await run_message(runner, message)
    assert ["first", "one", "second", "two"] == texts(await stored_events(runner))
    assert [["text:first"], ["text:one"], ["text:second"]] == [
        part_kinds(c) for c in model.requests[1].contents]


async def test_caller_mutating_its_state_delta_after_the_run_does_not_change_the_event(
) -> None:
    """A nested value passed in state_delta and mutated by the caller afterwards changes
    neither the session state nor the delta recorded on the stored user event."""
    runner = await make_runner(Agent(name="bot", model=ScriptedModel(replies=["ok"])))
    settings = {"lang": "en"}
    await run_text(runner, "hi", state_delta={"settings": settings})
    settings["lang"] = "fr"
    session = await runner.session_service.get_session(app_name=APP, user_id=USER,
                                                       session_id="s1")
    assert session is not None
    assert {"settings": {"lang": "en"}} == session.state
    assert {"settings": {"lang": "en"}} == session.events[0].actions.state_delta


async def test_a_later_in_place_state_change_does_not_rewrite_earlier_events() -> None:
    """The common accumulate pattern (read a list from state, append, write it back) run
    over two tool rounds of one invocation: each response event keeps the delta it had
    when it was yielded and persisted; the later round does not rewrite the earlier
    event's record (events are stored state that must not change by accident)."""

    def add_item(item: str, tool_context: ToolContext) -> str:
        """Add an item to the shopping list."""
        items = tool_context.state.get("items", [])
        items.append(item)
        tool_context.state["items"] = items
        return "added"

    model = ScriptedModel(replies=[function_call("add_item", {"item": "milk"}),
                                   function_call("add_item", {"item": "eggs"}), "done"])
    runner = await make_runner(Agent(name="bot", model=model, tools=[add_item]))
    events = await run_text(runner, "shop")
    expected = [{}, {"items": ["milk"]}, {}, {"items": ["milk", "eggs"]}, {}]
    assert expected == [e.actions.state_delta for e in events]
    assert expected == [e.actions.state_delta for e in (await stored_events(runner))[1:]]
    session = await runner.session_service.get_session(app_name=APP, user_id=USER,
                                                       session_id="s1")
    assert session is not None
    assert {"items": ["milk", "eggs"]} == session.state


async def test_state_delta_is_applied_before_the_agent_runs_temp_keys_included() -> None:
    """The run's state_delta is in effect when the agent starts: plain and temp: keys
    fill the instruction of the first model call; the temp: key is not persisted."""
    model = ScriptedModel(replies=["ok"])
    runner = await make_runner(Agent(name="bot", model=model,
                                     instruction="lang={lang} scratch={temp:scratch}"))
    await run_text(runner, "hi", state_delta={"lang": "fr", "temp:scratch": 7})
    instruction = str(model.requests[0].config.system_instruction)
    assert instruction.startswith("lang=fr scratch=7\n")
    session = await runner.session_service.get_session(app_name=APP, user_id=USER,
                                                       session_id="s1")
    assert session is not None
    assert {"lang": "fr"} == session.state


async def test_invocation_ids_are_e_uuid4_and_shared_by_every_event_of_a_run() -> None:
    """Every event of one run (user, call, response, final) carries the same
    'e-<uuid4>' invocation id; the next run gets a new one."""
    model = ScriptedModel(replies=[function_call("add", {"a": 1, "b": 2}), "3", "again"])
    runner = await make_runner(Agent(name="bot", model=model, tools=[add]))
    first = await run_text(runner, "add")
    await run_text(runner, "again")
    stored = await stored_events(runner)
    ids = [e.invocation_id for e in stored]
    assert re.fullmatch("e-" + UUID4, ids[0])
    assert [ids[0]] * 4 + [ids[4]] * 2 == ids
    assert ids[0] != ids[4]
    assert [ids[0]] * 3 == [e.invocation_id for e in first]


# ---- 2.5 save_input_blobs_as_artifacts ---------------------------------------------------


def _message_with_blob() -> types.Content:
    return types.Content(role="user", parts=[
        types.Part(text="look at this"),
        types.Part(inline_data=types.Blob(mime_type="image/png", data=b"\x89PNG-bytes")),
    ])


async def test_save_input_blobs_as_artifacts_saves_inline_data_and_replaces_it() -> None:
    """With save_input_blobs_as_artifacts, each inline-data part i of the user message
    is saved as artifact 'artifact_<invocation_id>_<i>' and replaced, in the stored user
    event and in the model's history, by the text 'Uploaded file: <name>. It is saved
    into artifacts'; no artifact_delta is recorded."""
    model = ScriptedModel(replies=["nice picture"])
    artifacts = InMemoryArtifactService()
    runner = await make_runner(Agent(name="bot", model=model), artifact_service=artifacts)
    await run_message(runner, _message_with_blob(),
                      run_config=RunConfig(save_input_blobs_as_artifacts=True))
    user_event = (await stored_events(runner))[0]
    name = f"artifact_{user_event.invocation_id}_1"
    replacement = f"Uploaded file: {name}. It is saved into artifacts"
    assert ["text:look at this", f"text:{replacement}"] == part_kinds(user_event.content)
    assert {} == user_event.actions.artifact_delta
    assert [name] == await artifacts.list_artifact_keys(app_name=APP, user_id=USER,
                                                        session_id="s1")
    saved = await artifacts.load_artifact(app_name=APP, user_id=USER, session_id="s1",
                                          filename=name)
    assert saved is not None and saved.inline_data is not None
    assert (b"\x89PNG-bytes", "image/png") == (saved.inline_data.data,
                                                saved.inline_data.mime_type)
    assert [["text:look at this", f"text:{replacement}"]] == [
        part_kinds(c) for c in model.requests[0].contents]


async def test_input_blobs_stay_inline_by_default() -> None:
    """Without the flag the user event keeps its inline data and nothing is saved."""
    artifacts = InMemoryArtifactService()
    runner = await make_runner(Agent(name="bot", model=ScriptedModel(replies=["ok"])),
                               artifact_service=artifacts)
    await run_message(runner, _message_with_blob())
    user_event = (await stored_events(runner))[0]
    assert ["text:look at this", "data:image/png"] == part_kinds(user_event.content)
    assert [] == await artifacts.list_artifact_keys(app_name=APP, user_id=USER,
                                                    session_id="s1")


async def test_save_input_blobs_without_artifact_service_is_a_clear_error() -> None:
    """Asking to save blobs on a runner without an artifact service fails with a
    ValueError before anything is stored (trio-adk is explicit where ADK silently
    ignores the flag)."""
    runner = await make_runner(Agent(name="bot", model=ScriptedModel(replies=["ok"])))
    with pytest.raises(ValueError, match="artifact_service"):
        await run_message(runner, _message_with_blob(),
                          run_config=RunConfig(save_input_blobs_as_artifacts=True))
    assert [] == await stored_events(runner)


# ---- 2.1 get_session_config ----------------------------------------------------------------


class _RecordingSessionService(InMemorySessionService):
    """Records the config of every get_session call."""

    def __init__(self) -> None:
        super().__init__()
        self.configs: list[GetSessionConfig | None] = []

    async def get_session(self, *, app_name: str, user_id: str, session_id: str,
                          config: GetSessionConfig | None = None) -> Session | None:
        self.configs.append(config)
        return await super().get_session(app_name=app_name, user_id=user_id,
                                         session_id=session_id, config=config)


async def test_run_passes_get_session_config_to_get_session() -> None:
    """RunConfig.get_session_config is passed to session_service.get_session (None when
    not set)."""
    service = _RecordingSessionService()
    await service.create_session(app_name=APP, user_id=USER, session_id="s1")
    runner = Runner(app_name=APP, agent=Agent(name="bot", model=ScriptedModel(replies=["a",
                                                                                     "b"])),
                    session_service=service)
    config = GetSessionConfig(num_recent_events=3)
    await run_text(runner, "one")
    await run_text(runner, "two", run_config=RunConfig(get_session_config=config))
    assert [None, config] == service.configs


async def test_get_session_config_limits_the_history_but_not_storage() -> None:
    """With num_recent_events=1 the model sees only the newest stored event plus the new
    message; the session service still stores every event."""
    model = ScriptedModel(replies=["one", "two", "three"])
    runner = await make_runner(Agent(name="bot", model=model))
    await run_text(runner, "a")
    await run_text(runner, "b")
    await run_text(runner, "c", run_config=RunConfig(
        get_session_config=GetSessionConfig(num_recent_events=1)))
    assert [["text:two"], ["text:c"]] == [part_kinds(c) for c in model.requests[2].contents]
    assert ["a", "one", "b", "two", "c", "three"] == texts(await stored_events(runner))


# ---- LoggingPlugin in a real run -----------------------------------------------------


def _log_kind(message: str) -> str:
    """The kind of a LoggingPlugin line, without invocation id and details."""
    body = re.sub(r"^\[[^\]]*\] ", "", message)
    for prefix, kind in [
        ("user message", "user message"), ("run start", "run start"),
        ("run end", "run end"), ("event ", "event"),
    ]:
        if body.startswith(prefix):
            return kind
    match = re.match(r"agent '\w+': (start|end|model \S+ call|model response|tool \w+ "
                     r"call_id=\S+ (?:args|result|error))", body)
    assert match, body
    words = match.group(1).split()
    if words[0] == "tool":
        return f"tool {words[-1].split('=')[0]}"
    if words[0] == "model":
        return "model call" if words[-1] == "call" else "model response"
    return f"agent {words[0]}"


async def test_logging_plugin_logs_a_real_run_in_callback_order(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """In a run with one tool round, LoggingPlugin logs one INFO line per callback, in
    ADK's callback order, each prefixed with the run's invocation id; the run's events
    are unchanged by it."""
    caplog.set_level(logging.INFO, logger="trio_adk.plugins.logging")
    model = ScriptedModel(replies=[function_call("add", {"a": 2, "b": 2}), "four"])
    runner = await make_runner(Agent(name="bot", model=model, tools=[add]),
                               plugins=[LoggingPlugin()])
    events = await run_text(runner, "add")
    assert ["four"] == texts(events)
    records = [r for r in caplog.records if r.name == "trio_adk.plugins.logging"]
    assert {logging.INFO} == {r.levelno for r in records}
    assert [
        "user message", "run start", "agent start",
        "model call", "model response", "event",
        "tool args", "tool result", "event",
        "model call", "model response", "event",
        "agent end", "run end",
    ] == [_log_kind(r.getMessage()) for r in records]
    invocation_id = (await stored_events(runner))[0].invocation_id
    assert all(r.getMessage().startswith(f"[{invocation_id}] ") for r in records)
    assert "'add'" in records[0].getMessage()


# ---- CallbackContext / ToolContext helpers -------------------------------------------------


async def test_callback_context_artifact_helpers_save_load_list_and_record_delta() -> None:
    """save_artifact returns versions from 0 and records the latest version in
    artifact_delta, which is persisted on the agent's event; load_artifact returns the
    latest or a given version; list_artifacts lists the session's files."""
    seen: dict[str, Any] = {}

    async def before_agent(callback_context: CallbackContext) -> None:
        first = await callback_context.save_artifact("notes.txt", types.Part(text="v0"))
        second = await callback_context.save_artifact("notes.txt", types.Part(text="v1"))
        latest = await callback_context.load_artifact("notes.txt")
        oldest = await callback_context.load_artifact("notes.txt", version=0)
        missing = await callback_context.load_artifact("nope.txt")
        seen["versions"] = [first, second]
        seen["loaded"] = [latest.text if latest else None, oldest.text if oldest else None,
                          missing]
        seen["listed"] = await callback_context.list_artifacts()
        callback_context.state["saved"] = True

    artifacts = InMemoryArtifactService()
    runner = await make_runner(Agent(name="bot", model=ScriptedModel(replies=["ok"]),
                                     before_agent_callback=before_agent),
                               artifact_service=artifacts)
    events = await run_text(runner, "go")
    assert {"versions": [0, 1], "loaded": ["v1", "v0", None], "listed": ["notes.txt"]} == seen
    assert [{"notes.txt": 1}, {}] == [e.actions.artifact_delta for e in events]
    stored = await stored_events(runner)
    assert {"notes.txt": 1} == stored[1].actions.artifact_delta
    assert [0, 1] == await artifacts.list_versions(app_name=APP, user_id=USER,
                                                    session_id="s1", filename="notes.txt")


async def test_tool_artifact_save_is_recorded_on_its_response_event() -> None:
    """A tool saving an artifact through its ToolContext records the version in the
    function-response event's artifact_delta."""

    async def write_report(tool_context: ToolContext) -> str:
        """Write the report."""
        version = await tool_context.save_artifact("report.md", types.Part(text="# hi"))
        return f"saved v{version}"

    model = ScriptedModel(replies=[function_call("write_report"), "done"])
    runner = await make_runner(Agent(name="bot", model=model, tools=[write_report]),
                               artifact_service=InMemoryArtifactService())
    events = await run_text(runner, "report")
    assert [{}, {"report.md": 0}, {}] == [e.actions.artifact_delta for e in events]
    assert [{"result": "saved v0"}] == [r.response for r in events[1].get_function_responses()]


async def test_before_model_artifact_save_travels_on_the_model_event() -> None:
    """An artifact saved in before_model_callback is recorded on the event built from
    that model call's response."""

    async def before_model(callback_context: CallbackContext, llm_request: LlmRequest) -> None:
        await callback_context.save_artifact("prompt.txt", types.Part(text="p"))

    runner = await make_runner(Agent(name="bot", model=ScriptedModel(replies=["ok"]),
                                     before_model_callback=before_model),
                               artifact_service=InMemoryArtifactService())
    events = await run_text(runner, "go")
    assert [{"prompt.txt": 0}] == [e.actions.artifact_delta for e in events]


@pytest.mark.parametrize("operation", ["save", "load", "list"])
async def test_artifact_helpers_without_an_artifact_service_raise_value_error(
    operation: str,
) -> None:
    """save_artifact, load_artifact and list_artifacts raise ValueError('Artifact service
    is not initialized.') when the runner has no artifact service; the error reaches the
    consumer after the call event."""

    async def use_artifacts(tool_context: ToolContext) -> Any:
        """Use artifacts."""
        if operation == "save":
            return await tool_context.save_artifact("f", types.Part(text="x"))
        if operation == "load":
            return await tool_context.load_artifact("f")
        return await tool_context.list_artifacts()

    model = ScriptedModel(replies=[function_call("use_artifacts"), "unreached"])
    runner = await make_runner(Agent(name="bot", model=model, tools=[use_artifacts]))
    got, exc = await run_expecting_error(runner, "go")
    assert (ValueError, "Artifact service is not initialized.") == (type(exc), str(exc))
    assert [["call:use_artifacts"]] == [part_kinds(e.content) for e in got]


def _api_key_config(key: str | None = None) -> AuthConfig:
    exchanged = AuthCredential(auth_type="apiKey", api_key=key) if key else None
    return AuthConfig(auth_scheme={"type": "apiKey", "in": "header", "name": "X-Key"},
                      raw_auth_credential=AuthCredential(auth_type="apiKey", api_key="raw"),
                      exchanged_auth_credential=exchanged)


async def test_credential_helpers_round_trip_through_the_credential_service() -> None:
    """ToolContext.save_credential stores the exchanged credential in the runner's
    credential service, scoped to the app and user; load_credential returns it."""
    credentials = InMemoryCredentialService()

    async def login(tool_context: ToolContext) -> dict[str, Any]:
        """Log in."""
        before = await tool_context.load_credential(_api_key_config())
        await tool_context.save_credential(_api_key_config("secret-1"))
        after = await tool_context.load_credential(_api_key_config())
        return {"before": before, "after": after.api_key if after else None}

    model = ScriptedModel(replies=[function_call("login"), "logged in"])
    runner = await make_runner(Agent(name="bot", model=model, tools=[login]),
                               credential_service=credentials)
    events = await run_text(runner, "login")
    assert [{"before": None, "after": "secret-1"}] == [
        r.response for r in events[1].get_function_responses()]


@pytest.mark.parametrize("operation", ["save", "load"])
async def test_credential_helpers_without_a_credential_service_raise_value_error(
    operation: str,
) -> None:
    """save_credential/load_credential raise ValueError('Credential service is not
    initialized.') without a credential service."""

    async def login(tool_context: ToolContext) -> Any:
        """Log in."""
        if operation == "save":
            return await tool_context.save_credential(_api_key_config("k"))
        return await tool_context.load_credential(_api_key_config())

    model = ScriptedModel(replies=[function_call("login"), "unreached"])
    runner = await make_runner(Agent(name="bot", model=model, tools=[login]))
    got, exc = await run_expecting_error(runner, "go")
    assert (ValueError, "Credential service is not initialized.") == (type(exc), str(exc))
    assert 1 == len(got)


async def test_tool_context_search_memory_finds_other_sessions_of_the_user() -> None:
    """ToolContext.search_memory searches the runner's memory service for this app and
    user; another user's memories are not found."""
    found: list[list[str]] = []

    async def recall(query: str, tool_context: ToolContext) -> str:
        """Recall memories."""
        response = await tool_context.search_memory(query)
        found.append(["".join(p.text or "" for p in (m.content.parts or []))
                      for m in response.memories])
        return "recalled"

    model = ScriptedModel(replies=[
        "I like green tea",
        "Bob likes tea too",
        function_call("recall", {"query": "TEA please"}),
        "you like green tea",
    ])
    runner = InMemoryRunner(Agent(name="bot", model=model, tools=[recall]))
    for user, session_id, text in [(USER, "old", "drink?"), ("bob", "bobs", "drink?")]:
        await collect(runner.run_async(user_id=user, session_id=session_id,
                                       new_message=user_text(text)))
        session = await runner.session_service.get_session(
            app_name=runner.app_name, user_id=user, session_id=session_id)
        assert session is not None and runner.memory_service is not None
        await runner.memory_service.add_session_to_memory(session)
    await collect(runner.run_async(user_id=USER, session_id="new",
                                   new_message=user_text("remember?")))
    assert [["I like green tea"]] == found


async def test_search_memory_without_a_memory_service_is_a_value_error() -> None:
    """ToolContext.search_memory raises ValueError('Memory service is not available.')
    when the runner has no memory service."""

    async def recall(tool_context: ToolContext) -> Any:
        """Recall."""
        return await tool_context.search_memory("anything")

    model = ScriptedModel(replies=[function_call("recall"), "unreached"])
    runner = await make_runner(Agent(name="bot", model=model, tools=[recall]))
    _, exc = await run_expecting_error(runner, "go")
    assert (ValueError, "Memory service is not available.") == (type(exc), str(exc))


def _needs_auth(tool_context: ToolContext) -> dict[str, str]:
    """Call an API that needs a key."""
    tool_context.request_credential(_api_key_config())
    return {"status": "waiting for the user's key"}


async def test_request_credential_emits_an_auth_request_before_the_response() -> None:
    """A tool calling request_credential yields, between the call event and the
    function-response event, an event whose single function call is
    'adk_request_credential' (a fresh 'adk-' id listed in long_running_tool_ids, so the
    event is final) pointing at the tool's call id; the response event carries
    requested_auth_configs; all are persisted; the auth request is kept out of the
    model's history."""
    model = ScriptedModel(replies=[function_call("_needs_auth", id="call-1"), "need a key"])
    runner = await make_runner(Agent(name="bot", model=model, tools=[_needs_auth]))
    events = await run_text(runner, "do it")
    assert [["call:_needs_auth"], ["call:adk_request_credential"], ["response:_needs_auth"],
            ["text:need a key"]] == [part_kinds(e.content) for e in events]
    auth_event = events[1]
    auth_call = auth_event.get_function_calls()[0]
    assert auth_call.id is not None and auth_call.id.startswith("adk-")
    assert {auth_call.id} == auth_event.long_running_tool_ids
    assert [False, True, False, True] == [e.is_final_response() for e in events]
    assert "bot" == auth_event.author
    assert auth_event.invocation_id == events[0].invocation_id
    args = auth_call.args or {}
    assert "call-1" in args.values()
    assert ["call-1"] == list(events[2].actions.requested_auth_configs)
    assert events == (await stored_events(runner))[1:]
    assert [["text:do it"], ["call:_needs_auth"], ["response:_needs_auth"]] == [
        part_kinds(c) for c in model.requests[1].contents]


async def test_auth_request_arguments_use_adk_camel_case_keys() -> None:
    """The adk_request_credential call's args are ADK's AuthToolArguments dumped by
    alias: {'functionCallId': <call id>, 'authConfig': {...camelCase...}}, which is what
    ADK client code (and ADK's docs: args.get('authConfig')) reads."""
    model = ScriptedModel(replies=[function_call("_needs_auth", id="call-1"), "need a key"])
    runner = await make_runner(Agent(name="bot", model=model, tools=[_needs_auth]))
    events = await run_text(runner, "do it")
    args = events[1].get_function_calls()[0].args or {}
    assert ["authConfig", "functionCallId"] == sorted(args)
    assert "call-1" == args["functionCallId"]
    assert {"type": "apiKey", "in": "header", "name": "X-Key"} == args["authConfig"][
        "authScheme"]


def test_request_credential_without_a_function_call_id_is_a_value_error() -> None:
    """request_credential needs the tool context of a function call."""
    tool_context = ToolContext(make_ctx())
    with pytest.raises(ValueError, match="function_call_id"):
        tool_context.request_credential(_api_key_config())
    assert {} == tool_context.actions.requested_auth_configs


# ---- 8. plugins before agent callbacks ---------------------------------------------------


class _Answering(BasePlugin):
    """Answers one model/tool callback kind."""

    def __init__(self, kind: str) -> None:
        super().__init__(name=f"answers_{kind}")
        self.kind = kind

    async def before_model_callback(self, *, callback_context: Any,
                                    llm_request: Any) -> Any:
        if self.kind == "before_model":
            return LlmResponse(content=types.Content(role="model",
                                                     parts=[types.Part(text="plugin")]))
        return None

    async def after_model_callback(self, *, callback_context: Any, llm_response: Any) -> Any:
        if self.kind == "after_model":
            return LlmResponse(content=types.Content(role="model",
                                                     parts=[types.Part(text="plugin")]))
        return None

    async def before_tool_callback(self, *, tool: Any, tool_args: Any,
                                   tool_context: Any) -> Any:
        return {"by": "plugin"} if self.kind == "before_tool" else None

    async def after_tool_callback(self, *, tool: Any, tool_args: Any, tool_context: Any,
                                  result: Any) -> Any:
        return {"by": "plugin"} if self.kind == "after_tool" else None


@pytest.mark.parametrize("kind", ["before_model", "after_model", "before_tool", "after_tool"])
async def test_plugin_answer_suppresses_the_agents_callback_of_the_same_kind(
    kind: str,
) -> None:
    """Model and tool callbacks: plugins run first, and a plugin's non-None answer is
    used while the agent's own callback of that kind is not called."""
    agent_calls: list[str] = []

    def recorder(name: str, answer: Any) -> Any:
        def callback(**kwargs: Any) -> Any:
            agent_calls.append(name)
            return answer
        return callback

    agent_response = LlmResponse(content=types.Content(role="model",
                                                       parts=[types.Part(text="agent")]))
    answers: dict[str, Any] = {"before_model": agent_response, "after_model": agent_response,
                               "before_tool": {"by": "agent"}, "after_tool": {"by": "agent"}}
    tool_turn = kind.endswith("_tool")
    replies: list[Any] = [function_call("add", {"a": 1, "b": 1}), "done"] if tool_turn \
        else ["model"]
    agent = Agent(
        name="bot", model=ScriptedModel(replies=replies), tools=[add],
        **{f"{name}_callback": recorder(name, answers[name] if name == kind else None)
           for name in answers},
    )
    runner = await make_runner(agent, plugins=[_Answering(kind)])
    events = await run_text(runner, "go")
    expected_agent_calls = {
        "before_model": [],
        "after_model": ["before_model"],
        "before_tool": ["before_model", "after_model", "after_tool",
                        "before_model", "after_model"],
        "after_tool": ["before_model", "after_model", "before_tool",
                       "before_model", "after_model"],
    }
    assert expected_agent_calls[kind] == agent_calls
    if tool_turn:
        assert [{"by": "plugin"}] == [r.response for r in events[1].get_function_responses()]
    else:
        assert ["plugin"] == texts(events)


# ---- 14. Event helpers -----------------------------------------------------------------


def _call_part(name: str = "f", call_id: str | None = "c1") -> types.Part:
    return types.Part(function_call=types.FunctionCall(name=name, args={}, id=call_id))


def _response_part(name: str = "f", call_id: str | None = "c1") -> types.Part:
    return types.Part(function_response=types.FunctionResponse(name=name, response={},
                                                               id=call_id))


def _model(*parts: types.Part) -> types.Content:
    return types.Content(role="model", parts=list(parts))


@pytest.mark.parametrize(("event", "expected"), [
    (Event(author="a", content=_model(types.Part(text="hi"))), True),
    (Event(author="a", content=_model(types.Part(text="h"), _call_part())), False),
    (Event(author="a", content=_model(_response_part())), False),
    (Event(author="a", content=_model(_response_part()),
           actions=EventActions(skip_summarization=True)), True),
    (Event(author="a", content=_model(_response_part()),
           actions=EventActions(skip_summarization=False)), False),
    (Event(author="a", content=_model(_call_part()), long_running_tool_ids={"c1"}), True),
    (Event(author="a", content=_model(_call_part()), long_running_tool_ids=set()), False),
    (Event(author="a", content=_model(types.Part(text="chunk")), partial=True), False),
    (Event(author="a", error_code="SAFETY", error_message="blocked"), True),
    (Event(author="a", turn_complete=True), True),
    (Event(author="a", interrupted=True), True),
    (Event(author="a"), True),
    (Event(author="a", content=_model(types.Part(text="run it"), types.Part(
        code_execution_result=types.CodeExecutionResult(outcome=types.Outcome.OUTCOME_OK,
                                                        output="1")))), False),
    (Event(author="a", content=_model(types.Part(
        code_execution_result=types.CodeExecutionResult(outcome=types.Outcome.OUTCOME_OK,
                                                        output="1")), types.Part(text="so 1"))),
     True),
], ids=[
    "text", "call", "response", "response-skip-summarization", "response-skip-false",
    "long-running-call", "empty-long-running-set", "partial", "error-only", "turn-complete",
    "interrupted", "empty", "trailing-code-result", "code-result-then-text",
])
def test_is_final_response_rules(event: Event, expected: bool) -> None:
    """is_final_response: True with skip_summarization or long-running ids; otherwise
    True iff no calls, no responses, not partial and no trailing code-execution result
    (error-only and control-only events are final)."""
    assert expected == event.is_final_response()


def test_function_calls_and_responses_are_listed_in_part_order() -> None:
    """get_function_calls/get_function_responses list the payloads in part order and are
    empty for events without content or parts."""
    event = Event(author="a", content=_model(
        _call_part("first", "1"), types.Part(text="between"), _response_part("r", "9"),
        _call_part("second", "2")))
    assert [("first", "1"), ("second", "2")] == [(c.name, c.id)
                                                 for c in event.get_function_calls()]
    assert [("r", "9")] == [(r.name, r.id) for r in event.get_function_responses()]
    for empty in [Event(author="a"), Event(author="a", content=types.Content(role="model"))]:
        assert ([], []) == (empty.get_function_calls(), empty.get_function_responses())


def test_event_ids_are_fresh_uuid4s_unless_given() -> None:
    """Events get a fresh uuid4 id when none (or an empty one) is given; an explicit id
    is kept; Event.new_id() returns fresh ids; timestamps default to now."""
    before = time.time()
    events = [Event(author="a") for _ in range(50)] + [Event(author="a", id="")]
    assert all(re.fullmatch(UUID4, e.id) for e in events)
    assert 51 == len({e.id for e in events})
    assert "mine" == Event(author="a", id="mine").id
    assert re.fullmatch(UUID4, Event.new_id())
    assert Event.new_id() != Event.new_id()
    assert all(before <= e.timestamp <= time.time() for e in events)
    assert ("", None, EventActions()) == (events[0].invocation_id, events[0].branch,
                                          events[0].actions)


async def test_long_running_tool_call_ends_the_turn_without_a_response() -> None:
    """A long-running tool that returns nothing: the call event lists its call id in
    long_running_tool_ids, is final, no response event is produced and the model is not
    called again."""
    started: list[str] = []

    def start_job(name: str) -> None:
        """Start a background job."""
        started.append(name)

    model = ScriptedModel(replies=[function_call("start_job", {"name": "build"})])
    runner = await make_runner(Agent(name="bot", model=model,
                                     tools=[LongRunningFunctionTool(start_job)]))
    events = await run_text(runner, "build")
    assert ["build"] == started
    assert [["call:start_job"]] == [part_kinds(e.content) for e in events]
    call_id = events[0].get_function_calls()[0].id
    assert {call_id} == events[0].long_running_tool_ids
    assert events[0].is_final_response()
    assert 1 == model.calls
    assert events == (await stored_events(runner))[1:]


class _TrailingTurnCompleteModel(BaseLlm):
    """First call: a function call, then a content-less turn_complete response (as some
    streaming back ends send); later calls: a text answer."""

    model: str = "trailing-turn-complete"
    calls: int = 0

    async def generate_content_async(
        self, llm_request: LlmRequest, stream: bool = False
    ) -> AsyncGenerator[LlmResponse, None]:
        self.calls += 1
        if self.calls == 1:
            yield LlmResponse(content=_model(types.Part(function_call=types.FunctionCall(
                name="add", args={"a": 1, "b": 2}))))
            yield LlmResponse(turn_complete=True)
        else:
            yield LlmResponse(content=_model(types.Part(text="the sum is 3")))


async def test_content_less_turn_complete_response_makes_no_event_in_run_async() -> None:
    """adk-semantics 12.1: in run_async a model response with no content, no error code
    and no interrupted flag produces no event (only live keeps turn_complete events).
    So a trailing turn_complete-only response after a function call neither shows up
    as an (empty, final) event nor ends the LLM loop before the model summarises."""
    model = _TrailingTurnCompleteModel()
    runner = await make_runner(Agent(name="bot", model=model, tools=[add]))
    events = await run_text(runner, "add")
    assert [["call:add"], ["response:add"], ["text:the sum is 3"]] == [
        part_kinds(e.content) for e in events]
    assert 2 == model.calls
    assert events == (await stored_events(runner))[1:]


# ---- 16. merging parallel responses ------------------------------------------------------


async def test_parallel_state_deltas_are_deep_merged_and_the_later_call_wins() -> None:
    """The merged response event's state delta deep-merges the calls' deltas in call
    order: nested dicts are merged key by key, and for the same key the later call
    wins."""

    async def first(tool_context: ToolContext) -> str:
        """First."""
        tool_context.state["prefs"] = {"theme": "dark", "size": 1}
        tool_context.state["owner"] = "first"
        await trio.sleep(0.2)
        return "1"

    async def second(tool_context: ToolContext) -> str:
        """Second."""
        await trio.sleep(0.1)
        tool_context.state["prefs"] = {"size": 2, "font": "mono"}
        tool_context.state["owner"] = "second"
        return "2"

    model = ScriptedModel(replies=[function_calls(("first", {}), ("second", {})), "ok"])
    runner = await make_runner(Agent(name="bot", model=model, tools=[first, second]))
    events = await run_text(runner, "go")
    assert {"prefs": {"theme": "dark", "size": 2, "font": "mono"}, "owner": "second"} == \
        events[1].actions.state_delta
    session = await runner.session_service.get_session(app_name=APP, user_id=USER,
                                                       session_id="s1")
    assert session is not None
    assert {"prefs": {"theme": "dark", "size": 2, "font": "mono"}, "owner": "second"} == \
        session.state


async def test_merging_parallel_responses_does_not_mutate_values_tools_stored() -> None:
    """Deep-merging the state deltas of parallel calls builds new dicts: a dict a tool
    put into state (say, a module-level default it shares) is not modified by the
    merge."""
    defaults: dict[str, Any] = {"theme": "dark", "size": 1}
    pristine = copy.deepcopy(defaults)

    async def use_defaults(tool_context: ToolContext) -> str:
        """Use the defaults."""
        tool_context.state["prefs"] = defaults
        return "defaults"

    async def customise(tool_context: ToolContext) -> str:
        """Customise."""
        tool_context.state["prefs"] = {"size": 3}
        return "custom"

    model = ScriptedModel(replies=[function_calls(("use_defaults", {}), ("customise", {})),
                                   "ok"])
    runner = await make_runner(Agent(name="bot", model=model, tools=[use_defaults, customise]))
    events = await run_text(runner, "go")
    assert {"prefs": {"theme": "dark", "size": 3}} == events[1].actions.state_delta
    assert pristine == defaults


async def test_skip_summarization_of_one_parallel_call_makes_the_merged_event_final() -> None:
    """Flags set by one of several parallel calls (skip_summarization) survive the merge:
    the merged response is final and the model is not called again."""

    async def quiet(tool_context: ToolContext) -> str:
        """Quiet."""
        tool_context.actions.skip_summarization = True
        return "q"

    async def loud() -> str:
        """Loud."""
        return "l"

    model = ScriptedModel(replies=[function_calls(("quiet", {}), ("loud", {}))])
    runner = await make_runner(Agent(name="bot", model=model, tools=[quiet, loud]))
    events = await run_text(runner, "go")
    assert [False, True] == [e.is_final_response() for e in events]
    assert events[1].actions.skip_summarization is True
    assert 1 == model.calls


# ---- InvocationContext.model_copy --------------------------------------------------------


def test_model_copy_shares_the_llm_call_counter_but_not_end_invocation() -> None:
    """model_copy(update=...) gives a shallow copy: updated fields differ, the session
    and services are shared, end_invocation is per copy, and the model-call counter is
    shared, so max_llm_calls counts calls made through every copy."""
    ctx = make_ctx(run_config=RunConfig(max_llm_calls=2))
    other = Agent(name="other", model=ScriptedModel())
    copied = ctx.model_copy(update={"agent": other, "branch": "x.y"})
    assert (other, "x.y") == (copied.agent, copied.branch)
    assert ("bot", None) == (ctx.agent.name, ctx.branch)
    assert ctx.session is copied.session
    assert ctx.invocation_id == copied.invocation_id
    copied.end_invocation = True
    assert ctx.end_invocation is False
    ctx.increment_llm_call_count()
    copied.increment_llm_call_count()
    with pytest.raises(LlmCallsLimitExceededError,
                       match=r"^Max number of llm calls limit of `2` exceeded$"):
        ctx.model_copy().increment_llm_call_count()


# ---- LLMRegistry ------------------------------------------------------------------------


def _llm_class(name: str, patterns: list[str]) -> type[BaseLlm]:
    async def generate(self: BaseLlm, llm_request: LlmRequest,
                       stream: bool = False) -> AsyncGenerator[LlmResponse, None]:
        yield LlmResponse(content=_model(types.Part(text=f"{name}:{self.model}")))

    return type(name, (BaseLlm,), {
        "supported_models": classmethod(lambda cls: list(patterns)),
        "generate_content_async": generate,
        "__module__": __name__,
    })


def test_registry_resolve_uses_fullmatch_and_new_llm_instantiates() -> None:
    """resolve returns the class whose pattern matches the whole name; new_llm builds it
    with model=<name>; partial matches raise ValueError('Model <m> not found...')."""
    cls = _llm_class("GapFullLlm", [r"gapfull-\d+"])
    LLMRegistry.register(cls)
    assert cls is LLMRegistry.resolve("gapfull-12")
    assert cls is LLMRegistry.resolve("gapfull-12")
    llm = LLMRegistry.new_llm("gapfull-3")
    assert (cls, "gapfull-3") == (type(llm), llm.model)
    for name in ["gapfull-12x", "xgapfull-12", "gapfull-"]:
        with pytest.raises(ValueError, match=rf"^Model {re.escape(name)} not found"):
            LLMRegistry.resolve(name)


def test_registry_cache_follows_new_registrations() -> None:
    """Resolution is cached, but a name that was unknown resolves once a class is
    registered for it, and re-registering a pattern makes resolve return the new class."""
    with pytest.raises(ValueError, match=r"^Model gaplate-1 not found"):
        LLMRegistry.resolve("gaplate-1")
    old = _llm_class("GapLateOld", [r"gaplate-\d"])
    LLMRegistry.register(old)
    assert old is LLMRegistry.resolve("gaplate-1")
    new = _llm_class("GapLateNew", [r"gaplate-\d"])
    LLMRegistry.register(new)
    assert new is LLMRegistry.resolve("gaplate-1")


def test_registry_earliest_matching_pattern_wins() -> None:
    """When several registered patterns match a name, the pattern registered first
    wins (ADK iterates its registry in registration order)."""
    broad = _llm_class("GapBroad", [r"gaporder-.*"])
    narrow = _llm_class("GapNarrow", [r"gaporder-special"])
    LLMRegistry.register(broad)
    LLMRegistry.register(narrow)
    assert broad is LLMRegistry.resolve("gaporder-special")


# ---- LlmResponse.create ------------------------------------------------------------------


def _candidate_response(**kwargs: Any) -> types.GenerateContentResponse:
    return types.GenerateContentResponse(candidates=[types.Candidate(**kwargs)])


def test_create_from_a_text_candidate() -> None:
    """A candidate with parts becomes content (plus finish reason, usage, model
    version) and no error."""
    usage = types.GenerateContentResponseUsageMetadata(prompt_token_count=3,
                                                       candidates_token_count=2)
    response = types.GenerateContentResponse(
        candidates=[types.Candidate(content=_model(types.Part(text="hello")),
                                    finish_reason=types.FinishReason.STOP)],
        usage_metadata=usage, model_version="m-1")
    created = LlmResponse.create(response)
    assert (["text:hello"], "model", None, None) == (
        part_kinds(created.content), created.content.role if created.content else None,
        created.error_code, created.error_message)
    assert (types.FinishReason.STOP, usage, "m-1") == (created.finish_reason,
                                                        created.usage_metadata,
                                                        created.model_version)


def test_create_keeps_content_cut_short_by_max_tokens() -> None:
    """A candidate with parts but finish reason MAX_TOKENS keeps its content and is not
    an error (the finish reason is reported)."""
    created = LlmResponse.create(_candidate_response(
        content=_model(types.Part(text="trunc")), finish_reason=types.FinishReason.MAX_TOKENS))
    assert (["text:trunc"], None, types.FinishReason.MAX_TOKENS) == (
        part_kinds(created.content), created.error_code, created.finish_reason)


def test_create_without_content_and_finish_reason_not_stop_is_an_error() -> None:
    """A candidate without parts whose finish reason is not STOP becomes an error
    response: error_code = the finish reason, error_message = the finish message."""
    created = LlmResponse.create(_candidate_response(
        finish_reason=types.FinishReason.SAFETY, finish_message="blocked for safety"))
    assert (None, "SAFETY", "blocked for safety") == (
        created.content, created.error_code, created.error_message)


def test_create_with_stop_and_no_parts_is_not_an_error() -> None:
    """An empty candidate that finished with STOP is a (content-less) normal response."""
    created = LlmResponse.create(_candidate_response(finish_reason=types.FinishReason.STOP))
    assert (None, None) == (created.error_code, created.error_message)


def test_create_with_a_blocked_prompt_is_an_error() -> None:
    """No candidates and a prompt_feedback block reason: error_code = the block reason,
    error_message = the block reason message."""
    created = LlmResponse.create(types.GenerateContentResponse(
        prompt_feedback=types.GenerateContentResponsePromptFeedback(
            block_reason=types.BlockedReason.PROHIBITED_CONTENT,
            block_reason_message="not allowed")))
    assert (None, "PROHIBITED_CONTENT", "not allowed") == (
        created.content, created.error_code, created.error_message)


def test_create_from_an_empty_response_is_unknown_error() -> None:
    """Neither candidates nor a block reason: UNKNOWN_ERROR."""
    created = LlmResponse.create(types.GenerateContentResponse())
    assert ("UNKNOWN_ERROR", None) == (created.error_code, created.content)


async def test_created_error_response_becomes_a_final_event_in_a_run() -> None:
    """A model returning LlmResponse.create(<blocked>) produces one final, persisted
    error event with the block reason as error_code."""
    blocked = LlmResponse.create(_candidate_response(finish_reason=types.FinishReason.SAFETY,
                                                     finish_message="nope"))
    runner = await make_runner(Agent(name="bot", model=ScriptedModel(replies=[blocked])))
    events = await run_text(runner, "hi")
    assert [("SAFETY", "nope", True)] == [(e.error_code, e.error_message,
                                           e.is_final_response()) for e in events]
    assert events == (await stored_events(runner))[1:]


# ---- concurrency rule: no yield inside a nursery or cancel scope -------------------------

_SCOPE_WORDS = re.compile(
    r"open_nursery|CancelScope|move_on_after|move_on_at|fail_after|fail_at|TaskGroup|"
    r"create_task_group|nursery|cancel_scope")


def _yields_under_scopes(function: ast.AsyncFunctionDef) -> list[tuple[int, str]]:
    """(line, context expression) of every yield lexically inside a with-block whose
    context expression opens a nursery or cancel scope, in this function's own body."""
    found: list[tuple[int, str]] = []

    def visit(node: ast.AST, scopes: list[str]) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda
                          | ast.ClassDef):
                continue
            inner = scopes
            if isinstance(child, ast.With | ast.AsyncWith):
                opened = [ast.unparse(item.context_expr) for item in child.items]
                inner = scopes + [e for e in opened if _SCOPE_WORDS.search(e)]
            if isinstance(child, ast.Yield | ast.YieldFrom) and scopes:
                found.append((child.lineno, scopes[-1]))
            visit(child, inner)

    visit(function, [])
    return found


def _is_context_manager(function: ast.AsyncFunctionDef) -> bool:
    # @asynccontextmanager generators yield exactly once, under control: trio's documented
    # exception to the rule.
    return any("asynccontextmanager" in ast.unparse(d) for d in function.decorator_list)


def _violations(source: str) -> list[tuple[str, int, str]]:
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.AsyncFunctionDef) and not _is_context_manager(node):
            out.extend((node.name, line, expr) for line, expr in _yields_under_scopes(node))
    return out


def test_the_yield_checker_finds_yields_under_scopes() -> None:
    """Self-check of the static rule below on small samples."""
    bad = (
        "async def g():\n"
        "    async with trio.open_nursery() as n:\n"
        "        yield 1\n"
        "async def h():\n"
        "    with trio.move_on_after(1):\n"
        "        if x:\n"
        "            y = yield 2\n"
    )
    good = (
        "@contextlib.asynccontextmanager\n"
        "async def cm():\n"
        "    async with trio.open_nursery() as n:\n"
        "        yield n\n"
        "async def g():\n"
        "    async with trio.open_nursery() as n:\n"
        "        async def inner():\n"
        "            yield 1\n"
        "    with receive:\n"
        "        yield 2\n"
    )
    assert [("g", 3, "trio.open_nursery()"), ("h", 7, "trio.move_on_after(1)")] == \
        _violations(bad)
    assert [] == _violations(good)


def test_no_async_generator_in_src_yields_inside_a_nursery_or_cancel_scope() -> None:
    """Issue 2: no yield from inside a nursery or cancel scope in any async generator
    anywhere in src/ (checked statically on every module)."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        for name, line, expr in _violations(path.read_text(encoding="utf-8")):
            found.append(f"{path.relative_to(SRC)}:{line} {name}: yield under {expr}")
    assert [] == found
