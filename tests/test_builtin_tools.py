"""Gemini's built-in tools (search, URL context, maps, Vertex AI Search, code execution):
what they add to the request, ADK's rules about models and about mixing them with function
calls, and grounding metadata from the model reaching the events, end to end over HTTP."""

from __future__ import annotations

import importlib
import re
from typing import Any

import pytest
import trio
from google.genai import types

from helpers import collect, make_runner, run_text, stored_events
from trio_adk import Agent
from trio_adk._usercode._host import is_native
from trio_adk.agents import LiveRequestQueue, ReadonlyContext, RunConfig, StreamingMode
from trio_adk.artifacts import InMemoryArtifactService
from trio_adk.code_executors import BaseCodeExecutor, BuiltInCodeExecutor
from trio_adk.models import Gemini, LlmRequest
from trio_adk.testing import (
    FakeGeminiServer,
    GeminiReply,
    LiveScript,
    ScriptedModel,
    function_call,
    gemini_chunks,
    gemini_function_call,
    gemini_text,
)
from trio_adk.testing import live_script as ls
from trio_adk.tools import (
    VertexAiSearchTool,
    enterprise_web_search,
    google_maps_grounding,
    google_search,
    url_context,
)
from trio_adk.tools.google_search_tool import GoogleSearchTool

GEMINI_2 = "gemini-2.5-flash"
GEMINI_3 = "gemini-3-pro-preview"
DATA_STORE = "projects/p/locations/global/collections/c/dataStores/d"
ENGINE = "projects/p/locations/global/collections/c/engines/e"


def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


async def first_request(tools: list[Any], *, model: str = GEMINI_2,
                        **agent_kwargs: Any) -> LlmRequest:
    """Run one turn of an agent with ``tools``; the request its model received."""
    llm = ScriptedModel(model=model, replies=["done"])
    runner = await make_runner(Agent(name="a", model=llm, tools=tools, **agent_kwargs))
    await run_text(runner, "hi")
    return llm.requests[0]


def builtin_tools(request: LlmRequest) -> list[types.Tool]:
    return [t for t in request.config.tools or [] if isinstance(t, types.Tool)
            and not t.function_declarations]


def declared_names(request: LlmRequest) -> set[str]:
    return {d.name for t in request.config.tools or [] if isinstance(t, types.Tool)
            for d in t.function_declarations or [] if d.name}


# ---- what each tool adds -------------------------------------------------------------------

@pytest.mark.parametrize(("tool", "expected"), [
    (google_search, types.Tool(google_search=types.GoogleSearch())),
    (url_context, types.Tool(url_context=types.UrlContext())),
    (google_maps_grounding, types.Tool(google_maps=types.GoogleMaps())),
    (enterprise_web_search, types.Tool(enterprise_web_search=types.EnterpriseWebSearch())),
    (VertexAiSearchTool(data_store_id=DATA_STORE),
     types.Tool(retrieval=types.Retrieval(
         vertex_ai_search=types.VertexAISearch(datastore=DATA_STORE)))),
])
async def test_a_builtin_tool_adds_its_tool_to_the_request_and_declares_no_function(
        tool: Any, expected: types.Tool) -> None:
    request = await first_request([tool])
    assert [expected] == builtin_tools(request)
    assert set() == declared_names(request)
    assert {} == request.tools_dict


async def test_builtin_and_function_tools_share_a_request_on_gemini_3() -> None:
    request = await first_request([google_search, add], model=GEMINI_3)
    assert [types.Tool(google_search=types.GoogleSearch())] == builtin_tools(request)
    assert {"add"} == declared_names(request)


ALL = [google_search, url_context, google_maps_grounding, enterprise_web_search,
       VertexAiSearchTool(search_engine_id=ENGINE)]


@pytest.mark.parametrize("tool", ALL)
def test_builtin_tools_run_on_trio_not_on_the_callers_library(tool: Any) -> None:
    assert is_native(tool.process_llm_request)


@pytest.mark.parametrize("tool", ALL)
async def test_a_builtin_tool_refuses_a_model_that_is_not_gemini(tool: Any) -> None:
    with pytest.raises(ValueError, match=r"not supported for model 'claude-3-opus'"):
        await first_request([tool], model="claude-3-opus")


async def test_the_model_name_check_can_be_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADK_DISABLE_GEMINI_MODEL_ID_CHECK", "true")
    request = await first_request([google_search], model="my-tuned-model")
    assert [types.Tool(google_search=types.GoogleSearch())] == builtin_tools(request)


@pytest.mark.parametrize("model", [
    "models/gemini-2.5-flash",
    "projects/p/locations/us-central1/publishers/google/models/gemini-2.5-pro",
    "gemini/gemini-2.5-flash",
    "apigee/gemini-2.5-flash",
])
async def test_gemini_is_recognised_in_its_other_spellings(model: str) -> None:
    request = await first_request([url_context], model=model)
    assert [types.Tool(url_context=types.UrlContext())] == builtin_tools(request)


async def test_google_search_with_a_model_replaces_the_requests_model() -> None:
    request = await first_request([GoogleSearchTool(model="gemini-2.0-flash")])
    assert "gemini-2.0-flash" == request.model


def test_google_search_tool_checks_its_arguments() -> None:
    with pytest.raises(TypeError, match="bypass_multi_tools_limit must be a bool"):
        GoogleSearchTool(bypass_multi_tools_limit="yes")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="model must be a non-empty model name"):
        GoogleSearchTool(model="")
    assert ("google_search", False, None) == (
        google_search.name, google_search.bypass_multi_tools_limit, google_search.model)


# ---- Vertex AI Search -------------------------------------------------------------------------

def test_vertex_ai_search_needs_exactly_one_of_data_store_and_engine() -> None:
    with pytest.raises(ValueError, match="exactly one of data_store_id and search_engine_id"):
        VertexAiSearchTool()
    with pytest.raises(ValueError, match="exactly one of data_store_id and search_engine_id"):
        VertexAiSearchTool(data_store_id=DATA_STORE, search_engine_id=ENGINE)
    with pytest.raises(ValueError, match="data_store_specs needs search_engine_id"):
        VertexAiSearchTool(data_store_id=DATA_STORE,
                           data_store_specs=[types.VertexAISearchDataStoreSpec()])
    with pytest.raises(TypeError, match="max_results must be an int"):
        VertexAiSearchTool(data_store_id=DATA_STORE, max_results="5")  # type: ignore[arg-type]


async def test_vertex_ai_search_sends_the_engine_specs_filter_and_limit() -> None:
    spec = types.VertexAISearchDataStoreSpec(data_store=DATA_STORE, filter="lang: en")
    tool = VertexAiSearchTool(search_engine_id=ENGINE, data_store_specs=[spec],
                              filter="year > 2020", max_results=3, name="docs_search")
    request = await first_request([tool])
    assert [types.Tool(retrieval=types.Retrieval(vertex_ai_search=types.VertexAISearch(
        engine=ENGINE, data_store_specs=[spec], filter="year > 2020", max_results=3,
    )))] == builtin_tools(request)
    assert "docs_search" == tool.name


async def test_a_vertex_ai_search_subclass_builds_the_search_per_request_from_state() -> None:
    class PerUserSearch(VertexAiSearchTool):
        def _build_vertex_ai_search_config(
                self, readonly_context: ReadonlyContext) -> types.VertexAISearch:
            user = readonly_context.state.get("team", "none")
            return types.VertexAISearch(datastore=self.data_store_id, filter=f"team = {user}")

    llm = ScriptedModel(model=GEMINI_2, replies=["done"])
    runner = await make_runner(Agent(name="a", model=llm, tools=[
        PerUserSearch(data_store_id=DATA_STORE)]))
    await runner.session_service.create_session(app_name=runner.app_name, user_id="user1",
                                                session_id="s2", state={"team": "red"})
    await run_text(runner, "hi", session_id="s2")
    search = builtin_tools(llm.requests[0])[0].retrieval
    assert search is not None and search.vertex_ai_search is not None
    assert "team = red" == search.vertex_ai_search.filter


async def test_a_search_config_override_must_return_a_vertex_ai_search() -> None:
    class Broken(VertexAiSearchTool):
        def _build_vertex_ai_search_config(self, readonly_context: ReadonlyContext) -> Any:
            return {"datastore": DATA_STORE}

    with pytest.raises(TypeError, match=r"must return types\.VertexAISearch, got dict"):
        await first_request([Broken(data_store_id=DATA_STORE)])


# ---- mixing built-in search with function calls (models before Gemini 3) ---------------------

def helper_agent(name: str = "helper") -> Agent:
    return Agent(name=name, model=ScriptedModel(model=GEMINI_2, replies=["hello"]),
                 description="helps")


@pytest.mark.parametrize("tool", [google_search, VertexAiSearchTool(data_store_id=DATA_STORE),
                                  enterprise_web_search])
async def test_search_with_sub_agents_to_transfer_to_is_refused_before_gemini_3(
        tool: Any) -> None:
    with pytest.raises(ValueError, match=r"Agent `a` has sub-agents to transfer to and "
                                         r".*Use a Gemini 3\+ model"):
        await first_request([tool], sub_agents=[helper_agent()])


async def test_search_with_sub_agents_on_gemini_3_offers_both() -> None:
    request = await first_request([google_search], model=GEMINI_3, sub_agents=[helper_agent()])
    assert [types.Tool(google_search=types.GoogleSearch())] == builtin_tools(request)
    assert {"transfer_to_agent"} == declared_names(request)


async def test_a_search_sub_agent_is_not_offered_a_transfer_back_before_gemini_3() -> None:
    searcher_model = ScriptedModel(model=GEMINI_2, replies=["found it"])
    searcher = Agent(name="searcher", model=searcher_model, tools=[google_search],
                     description="searches the web")
    root_model = ScriptedModel(model=GEMINI_2, replies=[
        function_call("transfer_to_agent", {"agent_name": "searcher"})])
    runner = await make_runner(Agent(name="root", model=root_model, sub_agents=[searcher]))
    await run_text(runner, "look it up")
    request = searcher_model.requests[0]
    assert [types.Tool(google_search=types.GoogleSearch())] == builtin_tools(request)
    assert set() == declared_names(request)
    assert "transfer_to_agent" not in str(request.config.system_instruction)


async def test_bypassing_the_limit_offers_a_search_agent_as_a_function() -> None:
    llm = ScriptedModel(model=GEMINI_2, replies=[
        function_call("google_search_agent", {"request": "weather in Paris"}),
        "It rains in Paris.",  # the search agent's answer
        "Take an umbrella.",
    ])
    runner = await make_runner(Agent(name="a", model=llm, tools=[
        GoogleSearchTool(bypass_multi_tools_limit=True), add]))
    events = await run_text(runner, "weather?")
    outer, child, last = llm.requests
    assert [] == builtin_tools(outer)
    assert {"add", "google_search_agent"} == declared_names(outer)
    assert [types.Tool(google_search=types.GoogleSearch())] == builtin_tools(child)
    assert set() == declared_names(child)
    responses = [p.function_response for e in events for p in e.content.parts or []
                 if e.content and p.function_response]
    assert [{"result": "It rains in Paris."}] == [r.response for r in responses]
    assert "Take an umbrella." == events[-1].content.parts[0].text  # type: ignore[union-attr,index]
    assert last.contents[-1].parts[0].function_response is not None  # type: ignore[index]


async def test_bypassing_the_limit_with_sub_agents_offers_the_search_agent_too() -> None:
    request = await first_request([GoogleSearchTool(bypass_multi_tools_limit=True)],
                                  sub_agents=[helper_agent()])
    assert [] == builtin_tools(request)
    assert {"google_search_agent", "transfer_to_agent"} == declared_names(request)


async def test_vertex_ai_search_bypass_with_other_tools_is_refused_before_gemini_3() -> None:
    with pytest.raises(ValueError, match=r"VertexAiSearchTool\(bypass_multi_tools_limit=True"
                                         r"\) with other tools needs a Gemini 3\+ model"):
        await first_request([VertexAiSearchTool(data_store_id=DATA_STORE,
                                                bypass_multi_tools_limit=True)],
                            sub_agents=[helper_agent()])
    request = await first_request([VertexAiSearchTool(data_store_id=DATA_STORE,
                                                      bypass_multi_tools_limit=True), add],
                                  model=GEMINI_3)
    assert 1 == len(builtin_tools(request))
    assert {"add"} == declared_names(request)


async def test_bypassing_the_limit_alone_keeps_the_builtin_search() -> None:
    alone = await first_request([GoogleSearchTool(bypass_multi_tools_limit=True)])
    assert [types.Tool(google_search=types.GoogleSearch())] == builtin_tools(alone)
    assert set() == declared_names(alone)


async def test_a_search_tool_on_gemini_3_counts_even_when_the_agent_is_older() -> None:
    request = await first_request([GoogleSearchTool(model=GEMINI_3)],
                                  sub_agents=[helper_agent()])
    assert GEMINI_3 == request.model
    assert {"transfer_to_agent"} == declared_names(request)


async def test_url_context_and_maps_do_not_block_transfer() -> None:
    request = await first_request([url_context, google_maps_grounding],
                                  sub_agents=[helper_agent()])
    assert 2 == len(builtin_tools(request))
    assert {"transfer_to_agent"} == declared_names(request)


# ---- BuiltInCodeExecutor ----------------------------------------------------------------------

async def test_built_in_code_executor_adds_code_execution_to_the_request() -> None:
    request = await first_request([add], code_executor=BuiltInCodeExecutor())
    assert [types.Tool(code_execution=types.ToolCodeExecution())] == builtin_tools(request)
    assert {"add"} == declared_names(request)


async def test_built_in_code_executor_refuses_a_model_that_is_not_gemini() -> None:
    with pytest.raises(ValueError, match="Gemini code execution tool is not supported for "
                                         "model 'gpt-4o'"):
        await first_request([], model="gpt-4o", code_executor=BuiltInCodeExecutor())


def test_built_in_code_executor_runs_nothing_locally() -> None:
    executor = BuiltInCodeExecutor()
    assert executor.execute_code(None, None) is None
    assert (2, False) == (executor.error_retry_attempts, executor.stateful)


def test_an_agent_refuses_a_code_executor_that_would_run_code_locally() -> None:
    class Local(BaseCodeExecutor):
        def execute_code(self, invocation_context: Any, code_execution_input: Any) -> Any:
            return None

    with pytest.raises(ValueError, match=r"trio-adk runs only BuiltInCodeExecutor .* not Local"):
        Agent(name="a", model=GEMINI_2, code_executor=Local())


async def test_executable_code_and_its_result_arrive_in_the_event() -> None:
    code = types.Part(executable_code=types.ExecutableCode(code="print(6*7)",
                                                          language=types.Language.PYTHON))
    result = types.Part(code_execution_result=types.CodeExecutionResult(
        outcome=types.Outcome.OUTCOME_OK, output="42\n"))
    async with FakeGeminiServer(script=[gemini_chunks([code, result, "It is 42."])]) as server:
        llm = Gemini(model=GEMINI_2, base_url=server.base_url, api_key="k")
        runner = await make_runner(Agent(name="a", model=llm,
                                         code_executor=BuiltInCodeExecutor()))
        events = await run_text(runner, "what is 6*7?")
    assert [{"codeExecution": {}}] == server.requests[0].body["tools"]
    parts = events[-1].content.parts if events[-1].content else None
    assert parts is not None
    assert "print(6*7)" == parts[0].executable_code.code  # type: ignore[union-attr]
    assert "42\n" == parts[1].code_execution_result.output  # type: ignore[union-attr]


PNG = b"\x89PNG\r\n\x1a\nfake"


def image_reply(display_name: str | None = "chart.png") -> types.Content:
    return types.Content(role="model", parts=[
        types.Part(executable_code=types.ExecutableCode(code="plot()",
                                                        language=types.Language.PYTHON)),
        types.Part(inline_data=types.Blob(data=PNG, mime_type="image/png",
                                          display_name=display_name)),
        types.Part(text="Here is the chart."),
    ])


async def test_an_image_the_models_code_made_is_saved_as_an_artifact() -> None:
    llm = ScriptedModel(model=GEMINI_2, replies=[image_reply()])
    runner = await make_runner(Agent(name="a", model=llm, code_executor=BuiltInCodeExecutor()),
                               artifact_service=InMemoryArtifactService())
    events = await run_text(runner, "plot it")
    saved, reply = events
    assert saved.content is None and {"chart.png": 0} == saved.actions.artifact_delta
    assert ("a", saved.invocation_id) == (reply.author, reply.invocation_id)
    parts = reply.content.parts if reply.content else None
    assert parts is not None and parts[1].inline_data is None
    assert ["Saved as artifact: chart.png. ", "Here is the chart."] == [
        p.text for p in parts[1:]]
    artifact = await runner.artifact_service.load_artifact(  # type: ignore[union-attr]
        app_name=runner.app_name, user_id="user1", session_id="s1", filename="chart.png")
    assert artifact is not None and artifact.inline_data is not None
    assert PNG == artifact.inline_data.data
    assert [saved.id, reply.id] == [e.id for e in (await stored_events(runner))[1:]]


async def test_an_image_without_a_name_is_saved_under_a_timestamp() -> None:
    llm = ScriptedModel(model=GEMINI_2, replies=[image_reply(display_name=None)])
    runner = await make_runner(Agent(name="a", model=llm, code_executor=BuiltInCodeExecutor()),
                               artifact_service=InMemoryArtifactService())
    saved, _ = await run_text(runner, "plot it")
    [name] = saved.actions.artifact_delta
    assert re.fullmatch(r"\d{8}_\d{6}\.png", name)


async def test_without_a_code_executor_images_stay_in_the_reply() -> None:
    llm = ScriptedModel(model=GEMINI_2, replies=[image_reply()])
    runner = await make_runner(Agent(name="a", model=llm),
                               artifact_service=InMemoryArtifactService())
    [reply] = await run_text(runner, "plot it")
    assert reply.content and reply.content.parts and reply.content.parts[1].inline_data


async def test_a_generated_image_without_an_artifact_service_is_an_error() -> None:
    llm = ScriptedModel(model=GEMINI_2, replies=[image_reply()])
    runner = await make_runner(Agent(name="a", model=llm, code_executor=BuiltInCodeExecutor()))
    runner.artifact_service = None
    with pytest.raises(ValueError, match="Artifact service is not initialized"):
        await run_text(runner, "plot it")


async def test_support_cfc_gives_the_root_agent_built_in_code_execution() -> None:
    sub_model = ScriptedModel(model=GEMINI_2, replies=["sub done"])
    sub = Agent(name="sub", model=sub_model, description="helps")
    root_model = ScriptedModel(model=GEMINI_2, replies=[
        function_call("transfer_to_agent", {"agent_name": "sub"})])
    runner = await make_runner(Agent(name="root", model=root_model, sub_agents=[sub]))
    await run_text(runner, "hi", run_config=RunConfig(support_cfc=True))
    code_execution = types.Tool(code_execution=types.ToolCodeExecution())
    assert [code_execution] == builtin_tools(root_model.requests[0])
    assert [] == builtin_tools(sub_model.requests[0])


# ---- grounding metadata end to end ---------------------------------------------------------

GROUNDING = {
    "webSearchQueries": ["weather in Paris"],
    "groundingChunks": [{"web": {"uri": "https://example.com/paris", "title": "Paris"}}],
    "groundingSupports": [{"segment": {"startIndex": 0, "endIndex": 8, "text": "It rains"},
                           "groundingChunkIndices": [0]}],
    "searchEntryPoint": {"renderedContent": "<div>Paris</div>"},
}


def check_grounding(metadata: types.GroundingMetadata | None) -> None:
    assert metadata is not None
    assert ["weather in Paris"] == metadata.web_search_queries
    assert metadata.grounding_chunks and metadata.grounding_chunks[0].web
    assert "https://example.com/paris" == metadata.grounding_chunks[0].web.uri
    assert metadata.grounding_supports
    assert [0] == metadata.grounding_supports[0].grounding_chunk_indices


@pytest.mark.parametrize("streaming", [StreamingMode.NONE, StreamingMode.SSE])
async def test_grounding_metadata_from_google_search_reaches_the_event_and_session(
        streaming: StreamingMode) -> None:
    reply = gemini_chunks(["It rains ", "in Paris."], grounding_metadata=GROUNDING)
    async with FakeGeminiServer(script=[reply]) as server:
        llm = Gemini(model=GEMINI_2, base_url=server.base_url, api_key="k")
        runner = await make_runner(Agent(name="a", model=llm, tools=[google_search]))
        events = await run_text(runner, "weather in Paris?",
                                run_config=RunConfig(streaming_mode=streaming))
        stored = await stored_events(runner)
    assert [{"googleSearch": {}}] == server.requests[0].body["tools"]
    final = events[-1]
    assert not final.partial
    assert "It rains in Paris." == final.content.parts[0].text  # type: ignore[union-attr,index]
    check_grounding(final.grounding_metadata)
    check_grounding(stored[-1].grounding_metadata)
    if streaming is StreamingMode.SSE:  # the service sends it with the last chunk
        assert [None, GROUNDING["webSearchQueries"]] == [
            e.grounding_metadata.web_search_queries if e.grounding_metadata else None
            for e in events if e.partial]


async def test_grounding_found_by_the_search_agent_reaches_the_callers_answer() -> None:
    script = [
        gemini_function_call("google_search_agent", {"request": "weather in Paris"}),
        gemini_text("It rains in Paris.", grounding_metadata=GROUNDING),  # the search agent
        gemini_text("Take an umbrella."),
    ]
    async with FakeGeminiServer(script=script) as server:
        llm = Gemini(model=GEMINI_2, base_url=server.base_url, api_key="k")
        runner = await make_runner(Agent(name="a", model=llm, tools=[
            GoogleSearchTool(bypass_multi_tools_limit=True), add]))
        events = await run_text(runner, "weather?")
    outer, child, _ = (r.body for r in server.requests)
    assert [["add", "google_search_agent"]] == [
        sorted(d["name"] for d in t["functionDeclarations"]) for t in outer["tools"]]
    assert [{"googleSearch": {}}] == child["tools"]
    assert "Take an umbrella." == events[-1].content.parts[0].text  # type: ignore[union-attr,index]
    check_grounding(events[-1].grounding_metadata)
    assert events[0].grounding_metadata is None  # the call, before the search ran


async def test_live_sends_google_search_in_the_setup_and_grounding_reaches_the_events(
) -> None:
    talk = ls.LiveConversation(ls.on_turn(ls.say("It rains in Paris.", chunks=1,
                                                 grounding_metadata=GROUNDING)))
    async with FakeGeminiServer(live=LiveScript(handler=talk)) as server:
        llm = Gemini(model="gemini-2.0-flash-live-001", base_url=server.base_url, api_key="k")
        runner = await make_runner(Agent(name="a", model=llm, tools=[google_search]))
        async with runner:
            queue = LiveRequestQueue()
            queue.send_content(types.Content(role="user", parts=[types.Part(text="rain?")]))
            queue.close()
            with trio.fail_after(5):
                events = await collect(runner.run_live(
                    user_id="user1", session_id="s1", live_request_queue=queue,
                    run_config=RunConfig(response_modalities=["TEXT"])))
        assert [{"googleSearch": {}}] == server.live_sessions[0].setup["tools"]
    grounded = [e for e in events if e.grounding_metadata is not None]
    assert 1 == len(grounded) and grounded[0].turn_complete
    check_grounding(grounded[0].grounding_metadata)


async def test_the_fake_server_takes_grounding_as_a_genai_type() -> None:
    metadata = types.GroundingMetadata.model_validate(GROUNDING)
    reply = gemini_text("It rains in Paris.", grounding_metadata=metadata)
    assert GROUNDING == reply.grounding_metadata
    snake = gemini_text("x", grounding_metadata={"web_search_queries": ["q"]})
    assert {"webSearchQueries": ["q"]} == snake.grounding_metadata
    with pytest.raises(TypeError, match="grounding_metadata must be a mapping"):
        GeminiReply(grounding_metadata=["q"])  # type: ignore[arg-type]


# ---- ADK's import paths ----------------------------------------------------------------------

@pytest.mark.parametrize(("module", "names"), [
    ("trio_adk.tools.google_search_tool", ["GoogleSearchTool", "google_search"]),
    ("trio_adk.tools.url_context_tool", ["UrlContextTool", "url_context"]),
    ("trio_adk.tools.google_maps_grounding_tool",
     ["GoogleMapsGroundingTool", "google_maps_grounding"]),
    ("trio_adk.tools.enterprise_search_tool",
     ["EnterpriseWebSearchTool", "enterprise_web_search_tool"]),
    ("trio_adk.tools.vertex_ai_search_tool", ["VertexAiSearchTool"]),
    ("trio_adk.tools.google_search_agent_tool",
     ["GoogleSearchAgentTool", "create_google_search_agent"]),
    ("trio_adk.code_executors", ["BaseCodeExecutor", "BuiltInCodeExecutor"]),
    ("trio_adk.code_executors.built_in_code_executor", ["BuiltInCodeExecutor"]),
    ("trio_adk.code_executors.base_code_executor", ["BaseCodeExecutor"]),
])
def test_adk_module_paths_export_the_builtin_tools(module: str, names: list[str]) -> None:
    loaded = importlib.import_module(module)
    assert sorted(names) == sorted(loaded.__all__)
    for name in names:
        assert getattr(loaded, name).__doc__


def test_the_shared_instances_are_the_ones_at_both_paths() -> None:
    from trio_adk.tools.enterprise_search_tool import enterprise_web_search_tool
    from trio_adk.tools.google_search_tool import google_search as search_at_module

    assert search_at_module is google_search
    assert enterprise_web_search_tool is enterprise_web_search
