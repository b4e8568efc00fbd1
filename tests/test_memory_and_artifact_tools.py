"""ADK's ready-made tools: exit_loop, get_user_choice, load_memory, preload_memory and
load_artifacts, in real runs (asserting on what the model was sent)."""

# The suite asserts `expected == actual`, which SIM300 calls a Yoda condition.

from __future__ import annotations

import asyncio
import base64
import importlib
import io
import logging
import threading
import zipfile
from typing import Any

import pytest
import sniffio
from google.genai import types

from helpers import APP, USER, collect, run_text, user_text
from trio_adk import Agent, InMemoryRunner, Runner
from trio_adk._usercode._host import native
from trio_adk.agents import LoopAgent
from trio_adk.artifacts import InMemoryArtifactService
from trio_adk.events import Event
from trio_adk.memory import InMemoryMemoryService
from trio_adk.models import LlmRequest
from trio_adk.sessions import InMemorySessionService, Session
from trio_adk.testing import ScriptedModel, function_call
from trio_adk.tools import (
    FunctionTool,
    ToolContext,
    exit_loop,
    get_user_choice,
    load_artifacts,
    load_memory,
    preload_memory,
)
from trio_adk.tools.load_artifacts_tool import LoadArtifactsTool, as_safe_part_for_llm

MEMORY_INSTRUCTION = (
    "\nA memory of earlier conversations with this user is available. When answering needs\n"
    "something from it, call the load_memory function with a query describing what to find.\n"
)


async def _runner(agent: Any, **services: Any) -> Runner:
    session_service = InMemorySessionService()
    await session_service.create_session(app_name=APP, user_id=USER, session_id="s1")
    return Runner(app_name=APP, agent=agent, session_service=session_service, **services)


def _declared(request: LlmRequest) -> list[str]:
    return [d.name or "" for t in request.config.tools or [] if isinstance(t, types.Tool)
            for d in t.function_declarations or []]


def _texts(content: types.Content) -> list[str | None]:
    return [p.text for p in content.parts or []]


async def _memory_with(*texts: str) -> InMemoryMemoryService:
    """A memory service that remembers a past session of ``texts`` (user messages)."""
    memory = InMemoryMemoryService()
    events = [Event(author="user", timestamp=1_700_000_000.0, content=user_text(t))
              for t in texts]
    await memory.add_session_to_memory(
        Session(id="old", app_name=APP, user_id=USER, events=events))
    return memory


# ---- public paths ------------------------------------------------------------------------

PATHS = {
    "tools": ["exit_loop", "get_user_choice", "load_artifacts", "load_memory",
              "preload_memory", "ExampleTool"],
    "tools.exit_loop_tool": ["exit_loop"],
    "tools.get_user_choice_tool": ["get_user_choice", "get_user_choice_tool"],
    "tools.load_memory_tool": ["LoadMemoryResponse", "LoadMemoryTool", "load_memory",
                               "load_memory_tool"],
    "tools.preload_memory_tool": ["PreloadMemoryTool", "preload_memory_tool"],
    "tools.load_artifacts_tool": ["LoadArtifactsTool", "as_safe_part_for_llm",
                                  "load_artifacts_tool"],
    "tools.example_tool": ["ExampleTool"],
    "tools.tool_context": ["ToolContext", "CallbackContext", "AuthConfig", "AuthCredential"],
    "examples": ["BaseExampleProvider", "Example"],
    "examples.example": ["Example"],
    "examples.base_example_provider": ["BaseExampleProvider"],
    "examples.example_util": ["build_example_si", "convert_examples_to_text"],
}


@pytest.mark.parametrize(("module", "names"), PATHS.items())
def test_adk_paths(module: str, names: list[str]) -> None:
    """Each name is at ADK's path and documented."""
    loaded = importlib.import_module(f"trio_adk.{module}")
    for name in names:
        value = getattr(loaded, name)
        assert (getattr(value, "__doc__", None) or type(value).__doc__), name


def test_package_names_are_the_tool_instances() -> None:
    """As in ADK, ``tools.load_memory`` etc. are the tool objects, ``exit_loop`` the
    function."""
    from trio_adk.tools import get_user_choice_tool, load_artifacts_tool, load_memory_tool
    from trio_adk.tools import preload_memory_tool as preload_module

    assert load_memory is load_memory_tool.load_memory_tool
    assert load_artifacts is load_artifacts_tool.load_artifacts_tool
    assert get_user_choice is get_user_choice_tool.get_user_choice_tool
    assert preload_memory is preload_module.preload_memory_tool
    assert callable(exit_loop)
    assert get_user_choice.is_long_running


# ---- exit_loop ---------------------------------------------------------------------------


async def test_exit_loop_escalates_and_ends_the_loop() -> None:
    """An agent calling exit_loop ends its LoopAgent after that iteration; the response
    event escalates and skips summarization, so the model is not called again."""
    model = ScriptedModel(replies=[function_call("exit_loop")])
    worker = Agent(name="worker", model=model, tools=[exit_loop])
    runner = await _runner(LoopAgent(name="loop", max_iterations=5, sub_agents=[worker]))
    async with runner:
        events = await run_text(runner, "go")
    assert 1 == model.calls
    response = events[-1]
    assert response.get_function_responses()[0].name == "exit_loop"
    assert response.actions.escalate is True
    assert response.actions.skip_summarization is True


async def test_engine_sync_functions_run_in_the_trio_task() -> None:
    """exit_loop and get_user_choice (marked native) run in the run's trio task, not in a
    worker thread as a user's sync function does."""
    threads: dict[str, str] = {}

    @native
    def engine_like(tool_context: ToolContext) -> str:
        threads["native"] = threading.current_thread().name
        return "ok"

    def users(tool_context: ToolContext) -> str:
        threads["user"] = threading.current_thread().name
        return "ok"

    model = ScriptedModel(replies=[function_call("engine_like"), function_call("users"), "x"])
    runner = await _runner(Agent(name="agent", model=model, tools=[engine_like, users]))
    async with runner:
        await run_text(runner, "go")
    assert threading.main_thread().name == threads["native"]
    assert threading.main_thread().name != threads["user"]
    assert FunctionTool(exit_loop)._runs_inline
    assert FunctionTool(get_user_choice.func)._runs_inline  # type: ignore[attr-defined]
    assert not FunctionTool(users)._runs_inline


# ---- get_user_choice ---------------------------------------------------------------------


async def test_get_user_choice_is_long_running_and_waits_for_the_client() -> None:
    """The call is reported as long-running and answered by nobody; the client's
    function response with the choice reaches the model on the next turn."""
    model = ScriptedModel(replies=[
        function_call("get_user_choice", {"options": ["tea", "coffee"]}, id="c1"),
        "Coffee it is.",
    ])
    agent = Agent(name="agent", model=model, tools=[get_user_choice])
    runner = await _runner(agent)
    async with runner:
        events = await run_text(runner, "drink?")
        assert 1 == len(events)
        assert {"c1"} == events[0].long_running_tool_ids
        answer = types.Content(role="user", parts=[types.Part(
            function_response=types.FunctionResponse(id="c1", name="get_user_choice",
                                                     response={"result": "coffee"}))])
        await collect(runner.run_async(user_id=USER, session_id="s1", new_message=answer))
    declaration = model.requests[0].config.tools[0].function_declarations[0]  # type: ignore[index,union-attr]
    assert "options" in (declaration.parameters.properties or {})  # type: ignore[union-attr]
    last = model.requests[1].contents[-1].parts[0].function_response  # type: ignore[index]
    assert last is not None and {"result": "coffee"} == last.response


# ---- load_memory -------------------------------------------------------------------------


async def test_load_memory_declares_instructs_and_returns_memories() -> None:
    """The model sees the declaration and the memory instruction; its call returns the
    matching memories as ``{"result": {"memories": [...]}}``."""
    model = ScriptedModel(replies=[function_call("load_memory", {"query": "giraffes"}), "ok"])
    agent = Agent(name="agent", model=model, instruction="Be brief.", tools=[load_memory])
    runner = await _runner(agent, memory_service=await _memory_with("I like giraffes",
                                                                     "and cake"))
    async with runner:
        await run_text(runner, "what do I like?")
    first = model.requests[0]
    assert ["load_memory"] == _declared(first)
    declaration = first.config.tools[0].function_declarations[0]  # type: ignore[index,union-attr]
    assert declaration.parameters is not None
    assert ["query"] == declaration.parameters.required
    assert types.Type.STRING == declaration.parameters.properties["query"].type  # type: ignore[index]
    assert str(first.config.system_instruction).endswith("\n\n" + MEMORY_INSTRUCTION)
    response = model.requests[1].contents[-1].parts[0].function_response  # type: ignore[index]
    assert response is not None
    memories = response.response["result"]["memories"]  # type: ignore[index]
    assert 1 == len(memories)
    assert memories[0].pop("id")  # the remembered event's id, as ADK 2.13
    assert {"result": {"memories": [{
        "content": {"parts": [{"text": "I like giraffes"}], "role": "user"},
        "custom_metadata": {},
        "author": "user",
        "timestamp": "2023-11-14T22:13:20+00:00",
    }]}} == response.response


async def test_load_memory_without_query_tells_the_model() -> None:
    """A call without ``query`` is answered with the missing-argument error."""
    model = ScriptedModel(replies=[function_call("load_memory", {}), "ok"])
    runner = await _runner(Agent(name="agent", model=model, tools=[load_memory]),
                           memory_service=InMemoryMemoryService())
    async with runner:
        await run_text(runner, "x")
    response = model.requests[1].contents[-1].parts[0].function_response  # type: ignore[index]
    assert response is not None and "query" in response.response["error"]  # type: ignore[index]


# ---- preload_memory ----------------------------------------------------------------------

PAST = (
    "Excerpts of earlier conversations with this user follow; use them if they help\n"
    "with the current request.\n"
    "<PAST_CONVERSATIONS>\nTime: 2023-11-14T22:13:20+00:00\nuser: I like giraffes\n"
    "</PAST_CONVERSATIONS>\n"
)


async def test_preload_memory_puts_past_conversations_before_the_current_turn() -> None:
    """Memories matching the user's message go in a user content just before that
    message, on every model call, after the function responses when the model continues
    a tool call; nothing is declared or stored."""

    def ping() -> str:
        return "pong"

    model = ScriptedModel(replies=["first", function_call("ping"), "second"])
    agent = Agent(name="agent", model=model, tools=[preload_memory, ping])
    runner = await _runner(agent, memory_service=await _memory_with("I like giraffes"))
    async with runner:
        await run_text(runner, "hello")  # matches nothing: no block
        events = await run_text(runner, "giraffes again?")
    first, second, third = model.requests
    assert ["ping"] == _declared(first)
    assert [["hello"]] == [_texts(c) for c in first.contents]
    assert [["hello"], ["first"], [PAST], ["giraffes again?"]] == [
        _texts(c) for c in second.contents]
    assert PAST == _texts(third.contents[-1])[0]
    assert third.contents[-2].parts[0].function_response is not None  # type: ignore[index]
    assert PAST not in str(second.config.system_instruction)
    assert all(PAST not in str(e.content) for e in events)


async def test_preload_memory_without_a_memory_service_logs_and_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A failing search is logged and the request is sent without memories."""
    model = ScriptedModel(replies=["ok"])
    runner = await _runner(Agent(name="agent", model=model, tools=[preload_memory]))
    with caplog.at_level(logging.WARNING, logger="trio_adk"):
        async with runner:
            await run_text(runner, "hello there")
    assert [["hello there"]] == [_texts(c) for c in model.requests[0].contents]
    assert "preload_memory" in caplog.text


# ---- load_artifacts ----------------------------------------------------------------------

ARTIFACTS_INSTRUCTION = (
    "These artifacts are available:\n"
    '  ["notes.txt", "user:pic.png"]\n\n'
    "  Before answering anything about one of them, call the `load_artifacts`\n"
    "  function to load it, even if it was loaded earlier in the conversation; do\n"
    "  not rely on earlier answers about an artifact's content.\n"
)
PNG = types.Part(inline_data=types.Blob(mime_type="image/png", data=b"\x89PNG"))


async def _artifact_runner(tool: Any, model: ScriptedModel) -> Runner:
    artifacts = InMemoryArtifactService()
    for name, part in (("notes.txt", types.Part(inline_data=types.Blob(
            mime_type="text/plain", data=b"buy milk"))), ("user:pic.png", PNG)):
        await artifacts.save_artifact(app_name=APP, user_id=USER, session_id="s1",
                                      filename=name, artifact=part)
    return await _runner(Agent(name="agent", model=model, tools=[tool]),
                         artifact_service=artifacts)


async def test_load_artifacts_lists_and_loads_requested_artifacts() -> None:
    """The instruction lists the artifacts; after the call the next request carries each
    requested, listed artifact (text decoded, image inline, a dropped ``user:`` prefix
    tolerated, unknown names skipped); the session keeps only the names."""
    model = ScriptedModel(replies=[
        function_call("load_artifacts",
                      {"artifact_names": ["notes.txt", "pic.png", "../other", "missing"]}),
        "done",
    ])
    runner = await _artifact_runner(load_artifacts, model)
    async with runner:
        events = await run_text(runner, "what is in my files?")
    first, second = model.requests
    assert ["load_artifacts"] == _declared(first)
    assert str(first.config.system_instruction).endswith("\n\n" + ARTIFACTS_INSTRUCTION)
    assert ["Artifact notes.txt is:", "buy milk"] == _texts(second.contents[-2])
    last = second.contents[-1]
    assert "Artifact pic.png is:" == _texts(last)[0]
    assert last.parts is not None and PNG == last.parts[1]
    response = events[1].get_function_responses()[0].response
    assert response is not None
    assert ["notes.txt", "pic.png", "../other", "missing"] == response["artifact_names"]
    assert "call load_artifacts again" in response["status"]


async def test_load_artifacts_without_artifacts_adds_nothing() -> None:
    """No artifacts: the tool is declared but no instruction is added."""
    model = ScriptedModel(replies=["ok"])
    runner = await _runner(Agent(name="agent", model=model, tools=[load_artifacts]),
                           artifact_service=InMemoryArtifactService())
    async with runner:
        await run_text(runner, "x")
    assert "artifacts" not in str(model.requests[0].config.system_instruction)
    assert ["load_artifacts"] == _declared(model.requests[0])


async def test_load_artifacts_rejects_bad_names() -> None:
    """``artifact_names`` that is not a list of strings is an error for the model."""
    model = ScriptedModel(replies=[function_call("load_artifacts", {"artifact_names": "a"}),
                                   "ok"])
    runner = await _artifact_runner(load_artifacts, model)
    async with runner:
        events = await run_text(runner, "x")
    assert {"error": "'artifact_names' must be a list of strings.",
            "error_code": "INVALID_ARGUMENTS"} == events[1].get_function_responses()[0].response


async def test_process_artifact_replaces_or_drops_parts() -> None:
    """``process_artifact`` (async here) sees the resolved name; None leaves the artifact
    out and an exception skips it."""
    seen: list[str] = []

    async def process(part: types.Part, name: str) -> types.Part | None:
        seen.append(name)
        if name == "notes.txt":
            return types.Part(text="[notes]")
        raise RuntimeError("no images")

    model = ScriptedModel(replies=[
        function_call("load_artifacts", {"artifact_names": ["notes.txt", "pic.png"]}), "ok"])
    runner = await _artifact_runner(LoadArtifactsTool(process_artifact=process), model)
    async with runner:
        await run_text(runner, "x")
    assert ["notes.txt", "user:pic.png"] == seen
    assert ["Artifact notes.txt is:", "[notes]"] == _texts(model.requests[1].contents[-1])


def test_load_artifacts_tool_checks_process_artifact() -> None:
    """A non-callable ``process_artifact`` is refused at construction."""
    with pytest.raises(TypeError, match="process_artifact"):
        LoadArtifactsTool(process_artifact="nope")  # type: ignore[arg-type]


def _docx(*paragraphs: str) -> bytes:
    body = "".join(f"<w:p><w:r><w:t>{p}</w:t></w:r></w:p>" for p in paragraphs)
    xml = ('<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/'
           f'main"><w:body>{body}</w:body></w:document>')
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", xml)
    return buffer.getvalue()


@pytest.mark.parametrize(("part", "name", "expected"), [
    (types.Part(text="plain"), "a", types.Part(text="plain")),
    (PNG, "p.png", PNG),
    (types.Part(inline_data=types.Blob(mime_type="IMAGE/PNG; x=1", data=b"1")), "p",
     types.Part(inline_data=types.Blob(mime_type="image/png; x=1", data=b"1"))),
    (types.Part(inline_data=types.Blob(mime_type="application/json", data=b'{"a": 1}')),
     "d", types.Part(text='{"a": 1}')),
    (types.Part(inline_data=types.Blob(mime_type="image/svg+xml", data=b"<svg/>")), "s",
     types.Part(text="<svg/>")),
    (types.Part(inline_data=types.Blob(mime_type="application/zip", data=b"x" * 2048)),
     "z.zip", types.Part(text="[Binary artifact: z.zip, type: application/zip, size: 2.0 KB. "
                              "Content cannot be displayed inline.]")),
    (types.Part(inline_data=types.Blob(mime_type="application/octet-stream",
                                       data=_docx("Hello", "World"))),
     "r.docx", types.Part(text="Hello\nWorld")),
    (types.Part(inline_data=types.Blob(mime_type="text/csv")), "c",
     types.Part(text="[Artifact: c, type: text/csv. No inline data was provided.]")),
])
def test_as_safe_part_for_llm(part: types.Part, name: str, expected: types.Part) -> None:
    """Media the model takes passes; text-like data and documents become text; other
    binaries become a note."""
    assert expected == as_safe_part_for_llm(part, name)


def test_as_safe_part_for_llm_decodes_base64_strings() -> None:
    """Inline data held as a base64 string is decoded first."""
    blob = types.Blob.model_construct(mime_type="text/plain",
                                      data=base64.b64encode(b"hi").decode())
    assert types.Part(text="hi") == as_safe_part_for_llm(
        types.Part.model_construct(inline_data=blob), "t")


# ---- from asyncio ------------------------------------------------------------------------


def test_the_tools_work_for_asyncio_callers_and_run_user_code_there() -> None:
    """Under ``asyncio.run`` the engine's tools search memory, save and load artifacts,
    and the user's ``process_artifact`` and a tool saving an artifact run on asyncio."""
    seen: list[str] = []

    async def process(part: types.Part, name: str) -> types.Part:
        await asyncio.sleep(0)
        seen.append(sniffio.current_async_library())
        return part

    async def save(tool_context: ToolContext) -> str:
        await asyncio.sleep(0)
        await tool_context.save_artifact("a.txt", types.Part(text="alpha"))
        await tool_context.add_session_to_memory()
        return "saved"

    model = ScriptedModel(replies=[
        function_call("save"),
        function_call("load_artifacts", {"artifact_names": ["a.txt"]}),
        function_call("load_memory", {"query": "remember"}),
        "done",
    ])
    agent = Agent(name="agent", model=model, tools=[
        save, LoadArtifactsTool(process_artifact=process), load_memory, preload_memory])

    async def main() -> list[Event]:
        async with InMemoryRunner(agent, app_name=APP) as runner:
            return await collect(runner.run_async(user_id=USER, session_id="s1",
                                                  new_message=user_text("remember me")))

    events = asyncio.run(main())
    assert ["asyncio"] == seen
    assert ["Artifact a.txt is:", "alpha"] == _texts(model.requests[2].contents[-1])
    memories = events[-2].get_function_responses()[0].response
    assert memories is not None
    assert ["remember me"] == [m["content"]["parts"][0]["text"]
                               for m in memories["result"]["memories"]]
