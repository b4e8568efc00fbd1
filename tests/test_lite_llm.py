"""``trio_adk.models.lite_llm.LiteLlm`` against ``FakeOpenAIServer`` on loopback.

Covers: provider resolution (prefixes, environment variables, unsupported providers, the
registry), the request body on the wire, tool-using conversations through the Runner
(streaming and not; trio, asyncio and sync callers), retries in virtual time, error mapping,
cut streams (a typed error, nothing stored), credentials, and the command-line fake server.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing, asynccontextmanager, contextmanager
from typing import Any

import pydantic
import pytest
import trio
from google.genai import errors as genai_errors
from google.genai import types

from helpers import (
    APP,
    USER,
    make_runner,
    run_text,
    serve_in_thread,
    stored_events,
    texts,
    user_text,
)
from trio_adk import Agent, Runner
from trio_adk.agents import RunConfig, StreamingMode
from trio_adk.errors import ModelConfigError, ModelConnectionError, ModelResponseError
from trio_adk.events import Event
from trio_adk.models import LiteLlm, LLMRegistry, LlmRequest, LlmResponse
from trio_adk.models.lite_llm import LiteLlm as AdkPathLiteLlm
from trio_adk.sessions import InMemorySessionService
from trio_adk.testing import (
    FakeOpenAIServer,
    OpenAIReply,
    openai_chunks,
    openai_error,
    openai_text,
    openai_tool_call,
    openai_tool_calls,
)

MODEL = "openai/gpt-4o-mini"
KEY = "sk-test-secret-1234567890"
SSE = RunConfig(streaming_mode=StreamingMode.SSE)
NO_STREAM = RunConfig(streaming_mode=StreamingMode.NONE)
ENV_VARS = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_API_BASE", "AZURE_API_KEY",
            "AZURE_OPENAI_API_KEY", "AZURE_API_BASE", "AZURE_API_VERSION", "OLLAMA_API_BASE",
            "HOSTED_VLLM_API_BASE", "HOSTED_VLLM_API_KEY", "LITELLM_PROXY_API_BASE",
            "LITELLM_PROXY_API_KEY", "GROQ_API_KEY")


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test here sees the developer's provider settings."""
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)


def get_weather(city: str) -> dict[str, str]:
    """Return the current weather report for a city."""
    return {"city": city, "report": f"sunny in {city}"}


def model_for(server: FakeOpenAIServer, name: str = MODEL, **kwargs: Any) -> LiteLlm:
    kwargs.setdefault("retry_initial_delay", 0.01)
    return LiteLlm(model=name, api_base=server.base_url, api_key=KEY, **kwargs)


def weather_agent(model: Any) -> Agent:
    return Agent(name="weather_agent", model=model, instruction="Answer briefly.",
                 tools=[get_weather])


@asynccontextmanager
async def open_model(server: FakeOpenAIServer, **kwargs: Any) -> AsyncIterator[LiteLlm]:
    model = model_for(server, **kwargs)
    try:
        yield model
    finally:
        await model.aclose()


async def call(model: LiteLlm, request: LlmRequest | None = None, *,
               stream: bool = False) -> list[LlmResponse]:
    request = request or LlmRequest(contents=[user_text("hello")])
    async with aclosing(model.generate_content_async(request, stream=stream)) as responses:
        return [response async for response in responses]


def finals(events: list[Event]) -> list[Event]:
    return [e for e in events if not e.partial]


# ---- providers and the registry ---------------------------------------------------------


def test_adk_import_path_and_registry() -> None:
    """``models.lite_llm.LiteLlm`` is the class; ADK's patterns resolve to it."""
    assert AdkPathLiteLlm is LiteLlm
    for name in ("openai/gpt-4o-mini", "azure/my-deployment", "ollama_chat/llama3",
                 "hosted_vllm/meta-llama/Llama-3", "litellm_proxy/gpt-4o", "groq/llama3"):
        assert LiteLlm is LLMRegistry.resolve(name)


@pytest.mark.parametrize(("name", "hint"), [
    ("anthropic/claude-3-5-sonnet", "Claude"),
    ("gemini/gemini-2.0-flash", "Gemini"),
    ("vertex_ai/claude-3", "LiteLLM proxy"),
    ("bedrock/anthropic.claude-3", "LiteLLM proxy"),
    ("cohere/command-r", "LiteLLM proxy"),
])
def test_unsupported_providers_name_what_is_supported(name: str, hint: str) -> None:
    with pytest.raises(ModelConfigError) as caught:
        LiteLlm(model=name)
    message = str(caught.value)
    assert hint in message
    assert "openai/" in message
    assert "azure/" in message


def test_agent_model_string_resolves_to_lite_llm() -> None:
    agent = Agent(name="a", model="openai/gpt-4o-mini")
    assert isinstance(agent.canonical_model, LiteLlm)


def test_hosted_provider_without_key_is_a_config_error_at_call_time() -> None:
    model = LiteLlm(model=MODEL)  # construction never needs the key, as in ADK
    with pytest.raises(ModelConfigError, match="OPENAI_API_KEY"):
        model._settings()


@pytest.mark.parametrize(("name", "env", "kwargs", "url", "wire_model"), [
    ("openai/gpt-4o", {"OPENAI_API_KEY": "k"}, {},
     "https://api.openai.com/v1/chat/completions", "gpt-4o"),
    ("openai/gpt-4o", {"OPENAI_API_KEY": "k", "OPENAI_BASE_URL": "http://h:1/v1/"}, {},
     "http://h:1/v1/chat/completions", "gpt-4o"),
    ("azure/dep1", {"AZURE_API_KEY": "k", "AZURE_API_BASE": "https://r.openai.azure.com"}, {},
     "https://r.openai.azure.com/openai/deployments/dep1/chat/completions", "dep1"),
    ("ollama_chat/llama3", {}, {}, "http://localhost:11434/v1/chat/completions", "llama3"),
    ("ollama/llama3", {"OLLAMA_API_BASE": "http://box:11434"}, {},
     "http://box:11434/v1/chat/completions", "llama3"),
    ("hosted_vllm/meta-llama/Llama-3", {"HOSTED_VLLM_API_BASE": "http://gpu:8000/v1"}, {},
     "http://gpu:8000/v1/chat/completions", "meta-llama/Llama-3"),
    ("litellm_proxy/azure/gpt-4", {"LITELLM_PROXY_API_BASE": "http://proxy:4000"}, {},
     "http://proxy:4000/chat/completions", "azure/gpt-4"),
    ("my-local-model", {}, {"api_base": "http://127.0.0.1:9/v1"},
     "http://127.0.0.1:9/v1/chat/completions", "my-local-model"),
    ("gpt-4o", {}, {"api_base": "http://x/v1", "custom_llm_provider": "openai"},
     "http://x/v1/chat/completions", "gpt-4o"),
])
def test_endpoints(monkeypatch: pytest.MonkeyPatch, name: str, env: dict[str, str],
                   kwargs: dict[str, Any], url: str, wire_model: str) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    endpoint = LiteLlm(model=name, **kwargs)._settings()
    assert url == endpoint.url
    assert wire_model == endpoint.wire_model


def test_azure_api_version_from_env_and_kwarg(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AZURE_API_BASE", "https://r.openai.azure.com")
    monkeypatch.setenv("AZURE_API_KEY", "k")
    monkeypatch.setenv("AZURE_API_VERSION", "2024-10-21")
    assert {"api-version": "2024-10-21"} == LiteLlm(model="azure/d")._settings().params
    assert {"api-version": "v9"} == LiteLlm(model="azure/d", api_version="v9")._settings().params


# ---- the request on the wire ------------------------------------------------------------


async def test_request_mapping() -> None:
    """System instruction, history with calls and results, an image, tools with JSON schema
    parameters and the generate_content_config all reach the body as Chat Completions
    spells them; labels are dropped; constructor options go into every body."""
    request = LlmRequest(
        contents=[
            user_text("Weather in Oslo?"),
            types.Content(role="model", parts=[
                types.Part(text="Checking."),
                types.Part(function_call=types.FunctionCall(id="c1", name="get_weather",
                                                            args={"city": "Oslo"}))]),
            types.Content(role="user", parts=[types.Part(function_response=types.
                FunctionResponse(id="c1", name="get_weather", response={"report": "sunny"}))]),
            types.Content(role="user", parts=[
                types.Part(text="And this picture?"),
                types.Part(inline_data=types.Blob(mime_type="image/png", data=b"\x89PNG"))]),
        ],
        config=types.GenerateContentConfig(
            system_instruction="Be brief.", temperature=0.2, top_p=0.9, top_k=5, seed=7,
            max_output_tokens=100, stop_sequences=["END"], labels={"team": "x"},
            tools=[types.Tool(function_declarations=[types.FunctionDeclaration(
                name="get_weather", description="Weather.",
                parameters=types.Schema(type=types.Type.OBJECT, required=["city"], properties={
                    "city": types.Schema(type=types.Type.STRING, description="City name"),
                    "days": types.Schema(type=types.Type.INTEGER, nullable=True),
                    "units": types.Schema(type=types.Type.STRING, enum=["C", "F"]),
                    "tags": types.Schema(type=types.Type.ARRAY,
                                         items=types.Schema(type=types.Type.STRING)),
                }))])],
            tool_config=types.ToolConfig(function_calling_config=types.FunctionCallingConfig(
                mode=types.FunctionCallingConfigMode.ANY)),
        ),
    )
    async with FakeOpenAIServer([openai_text("ok")]) as server, \
            open_model(server, max_tokens=50, user="u-1", extra_headers={"x-trace": "t"}) \
            as model:
        await call(model, request)
    sent = server.requests[0]
    body = sent.body
    assert "/v1/chat/completions" == sent.path
    assert "t" == sent.headers["x-trace"]
    assert [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather in Oslo?"},
        {"role": "assistant", "content": "Checking.", "tool_calls": [
            {"type": "function", "id": "c1",
             "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}]},
        {"role": "tool", "tool_call_id": "c1", "content": '{"report": "sunny"}'},
        {"role": "user", "content": [
            {"type": "text", "text": "And this picture?"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw=="}}]},
    ] == body["messages"]
    assert [{"type": "function", "function": {
        "name": "get_weather", "description": "Weather.",
        "parameters": {"type": "object", "required": ["city"], "properties": {
            "city": {"type": "string", "description": "City name"},
            "days": {"type": ["integer", "null"]},
            "units": {"type": "string", "enum": ["C", "F"]},
            "tags": {"type": "array", "items": {"type": "string"}}}}}}] == body["tools"]
    assert "required" == body["tool_choice"]
    assert {"temperature": 0.2, "top_p": 0.9, "seed": 7, "max_completion_tokens": 100,
            "stop": ["END"], "user": "u-1", "model": "gpt-4o-mini"}.items() <= body.items()
    assert "top_k" not in body  # OpenAI rejects it
    assert "max_tokens" not in body  # the request's limit replaces the constructor's
    assert "labels" not in body
    assert "stream" not in body


class Answer(pydantic.BaseModel):
    city: str
    degrees: int | None = None


async def test_response_schema_becomes_strict_json_schema() -> None:
    request = LlmRequest(contents=[user_text("hi")])
    request.set_output_schema(Answer)
    async with FakeOpenAIServer(['{"city": "Oslo", "degrees": 3}']) as server, \
            open_model(server) as model:
        responses = await call(model, request)
    response_format = server.requests[0].body["response_format"]
    assert "json_schema" == response_format["type"]
    assert "Answer" == response_format["json_schema"]["name"]
    schema = response_format["json_schema"]["schema"]
    assert schema["additionalProperties"] is False
    assert ["city", "degrees"] == schema["required"]
    assert '{"city": "Oslo", "degrees": 3}' == responses[0].content.parts[0].text


async def test_no_user_turn_gets_adks_fallback_and_missing_tool_results_are_healed() -> None:
    request = LlmRequest(contents=[types.Content(role="model", parts=[types.Part(
        function_call=types.FunctionCall(id="lost", name="f", args={}))])])
    async with FakeOpenAIServer(["ok"]) as server, open_model(server) as model:
        await call(model, request)
    messages = server.requests[0].body["messages"]
    assert ["assistant", "tool", "user"] == [m["role"] for m in messages]
    assert "lost" == messages[1]["tool_call_id"]
    assert messages[1]["content"].startswith("Error: Missing tool result")


def test_builtin_gemini_tool_is_a_config_error() -> None:
    from trio_adk.models._openai_wire import BodyOptions, chat_body
    request = LlmRequest(contents=[user_text("hi")], config=types.GenerateContentConfig(
        tools=[types.Tool(google_search=types.GoogleSearch())]))
    with pytest.raises(ModelConfigError, match="google_search"):
        chat_body(request, BodyOptions(model="m"), stream=False)


# ---- replies ----------------------------------------------------------------------------


async def test_unary_reply_with_usage_reasoning_and_parallel_calls() -> None:
    reply = OpenAIReply(chunks=("Let me check.",), reasoning="thinking...",
                        tool_calls=openai_tool_calls(("a", {"x": 1}), ("b", {"y": [2]})).tool_calls,
                        usage={"prompt_tokens": 11, "completion_tokens": 5, "total_tokens": 16,
                               "prompt_tokens_details": {"cached_tokens": 3},
                               "completion_tokens_details": {"reasoning_tokens": 2}})
    async with FakeOpenAIServer([reply]) as server, open_model(server) as model:
        (response,) = await call(model)
    parts = response.content.parts
    assert parts[0].thought and "thinking..." == parts[0].text
    assert "Let me check." == parts[1].text
    assert [("a", {"x": 1}, "call_fake_0"), ("b", {"y": [2]}, "call_fake_1")] == [
        (p.function_call.name, p.function_call.args, p.function_call.id) for p in parts[2:]]
    assert types.FinishReason.STOP == response.finish_reason
    usage = response.usage_metadata
    assert (11, 5, 16, 3, 2) == (usage.prompt_token_count, usage.candidates_token_count,
                                 usage.total_token_count, usage.cached_content_token_count,
                                 usage.thoughts_token_count)
    assert "gpt-4o-mini" == response.model_version


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize(("reason", "code"), [("length", "MAX_TOKENS"),
                                              ("content_filter", "SAFETY"),
                                              ("weird", "OTHER")])
async def test_finish_reasons(stream: bool, reason: str, code: str) -> None:
    async with FakeOpenAIServer([openai_text("cut", finish_reason=reason)]) as server, \
            open_model(server) as model:
        response = (await call(model, stream=stream))[-1]
    assert code == response.error_code
    assert code == response.finish_reason.value


@pytest.mark.parametrize("stream", [False, True])
async def test_malformed_tool_arguments_are_reported_not_raised(stream: bool) -> None:
    async with FakeOpenAIServer([openai_tool_call("f", '{"a": ')]) as server, \
            open_model(server) as model:
        response = (await call(model, stream=stream))[-1]
    assert "MALFORMED_FUNCTION_CALL" == response.error_code
    assert response.content is None


async def test_stream_partials_then_final_with_usage() -> None:
    reply = OpenAIReply(chunks=("Sun", "ny ", "in Oslo."),
                        tool_calls=openai_tool_calls(("f", {"k": "v" * 40})).tool_calls,
                        args_chunk=3)
    async with FakeOpenAIServer([reply]) as server, open_model(server) as model:
        responses = await call(model, stream=True)
    assert ["Sun", "ny ", "in Oslo."] == [r.content.parts[0].text for r in responses[:-1]]
    assert all(r.partial for r in responses[:-1])
    final = responses[-1]
    assert not final.partial
    assert "Sunny in Oslo." == final.content.parts[0].text
    assert {"k": "v" * 40} == final.content.parts[1].function_call.args
    assert final.usage_metadata.total_token_count
    assert {"include_usage": True} == server.requests[0].body["stream_options"]


# ---- through the runner -----------------------------------------------------------------


@pytest.mark.parametrize("run_config", [NO_STREAM, SSE], ids=["unary", "sse"])
async def test_tool_conversation_through_the_runner(run_config: RunConfig) -> None:
    """Agent(model=LiteLlm(...)) calls the tool, sends the result back as a tool message
    with the call's id, and answers; only final events are stored."""
    script = [openai_tool_call("get_weather", {"city": "Oslo"}, id="call_1"),
              openai_chunks(["Sunny ", "in Oslo."])]
    async with FakeOpenAIServer(script) as server, \
            await make_runner(weather_agent(model_for(server))) as runner:
        events = await run_text(runner, "Weather in Oslo?", run_config=run_config)
        stored = await stored_events(runner)
    done = finals(events)
    assert "get_weather" == done[0].get_function_calls()[0].name
    assert {"city": "Oslo", "report": "sunny in Oslo"} == \
        done[1].get_function_responses()[0].response
    assert ["Sunny in Oslo."] == texts(done[2:])
    assert not any(e.partial for e in stored)
    second = server.requests[1].body["messages"]
    assert {"role": "tool", "tool_call_id": "call_1",
            "content": '{"city": "Oslo", "report": "sunny in Oslo"}'} == second[-1]
    assert "Answer briefly." in second[0]["content"]
    assert "get_weather" == server.requests[0].body["tools"][0]["function"]["name"]
    if run_config is SSE:
        assert ["Sunny ", "in Oslo."] == texts([e for e in events if e.partial])


async def test_parallel_tool_calls_through_the_runner() -> None:
    script = [openai_tool_calls(("get_weather", {"city": "Oslo"}),
                                ("get_weather", {"city": "Lima"}), interleave=True),
              openai_text("Both sunny.")]
    async with FakeOpenAIServer(script) as server, \
            await make_runner(weather_agent(model_for(server))) as runner:
        events = await run_text(runner, "Oslo and Lima?", run_config=SSE)
    tool_messages = [m for m in server.requests[1].body["messages"] if m["role"] == "tool"]
    assert ["call_fake_0", "call_fake_1"] == [m["tool_call_id"] for m in tool_messages]
    assert ["Both sunny."] == texts(finals(events)[2:])


async def test_model_string_agent_uses_env_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    async with FakeOpenAIServer(["hi from fake"]) as server:
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", KEY)
        agent = Agent(name="a", model="openai/gpt-4o-mini")
        async with await make_runner(agent) as runner:
            events = await run_text(runner, "hello")
    assert ["hi from fake"] == texts(events)
    assert KEY == server.requests[0].api_key


@pytest.mark.parametrize("fault", ["drop", "truncate"])
async def test_cut_stream_raises_and_stores_nothing(fault: str) -> None:
    reply = OpenAIReply(chunks=("one ", "two ", "three"), fault=fault,  # type: ignore[arg-type]
                        fault_after=3)
    async with FakeOpenAIServer([reply]) as server, \
            await make_runner(weather_agent(model_for(server))) as runner:
        with pytest.raises(ModelResponseError):
            await run_text(runner, "count", run_config=SSE)
        stored = await stored_events(runner)
    assert ["count"] == [e.content.parts[0].text for e in stored]


async def test_stream_without_finish_reason_is_an_error() -> None:
    async with FakeOpenAIServer([openai_text("x", finish_reason=None)]) as server, \
            open_model(server) as model:
        with pytest.raises(ModelResponseError, match="without a finish_reason"):
            await call(model, stream=True)


@pytest.mark.parametrize("stream", [False, True])
async def test_malformed_body_is_a_response_error(stream: bool) -> None:
    async with FakeOpenAIServer([openai_text("x", fault="malformed", fault_after=1)]) \
            as server, open_model(server) as model:
        with pytest.raises(ModelResponseError, match="not JSON"):
            await call(model, stream=stream)


async def test_error_event_inside_a_stream_raises_its_api_error() -> None:
    events = ({"choices": [{"index": 0, "delta": {"content": "a"}}]},
              {"error": {"message": "overloaded", "type": "server_error", "code": 503}})
    async with FakeOpenAIServer([OpenAIReply(events=events)]) as server, \
            open_model(server) as model:
        with pytest.raises(genai_errors.ServerError) as caught:
            await call(model, stream=True)
    assert 503 == caught.value.code
    assert "overloaded" == caught.value.message


# ---- retries and errors -----------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
async def test_retry_after_is_honoured_in_trio_time(autojump_clock: trio.abc.Clock,
                                                    stream: bool) -> None:
    script = [openai_error(429, "slow down", retry_after=7), openai_text("ok")]
    async with FakeOpenAIServer(script) as server, open_model(server) as model:
        responses = await call(model, stream=stream)
    assert "ok" == responses[-1].content.parts[0].text
    gap = server.requests[1].timestamp - server.requests[0].timestamp
    assert 7 <= gap < 7.5


async def test_5xx_backoff_then_success(autojump_clock: trio.abc.Clock) -> None:
    script = [openai_error(500), openai_error(503), "fine"]
    async with FakeOpenAIServer(script) as server, \
            open_model(server, retry_initial_delay=1.0) as model:
        (response,) = await call(model)
    assert "fine" == response.content.parts[0].text
    times = [r.timestamp for r in server.requests]
    assert 0.5 <= times[1] - times[0] <= 1.0
    assert 1.0 <= times[2] - times[1] <= 2.0


async def test_retries_exhausted_raise_the_server_error(autojump_clock: trio.abc.Clock) -> None:
    async with FakeOpenAIServer([openai_error(502)] * 3) as server, \
            open_model(server, num_retries=2) as model:
        with pytest.raises(genai_errors.ServerError) as caught:
            await call(model)
    assert 502 == caught.value.code
    assert 3 == len(server.requests)


async def test_long_retry_after_is_not_waited_out(autojump_clock: trio.abc.Clock) -> None:
    async with FakeOpenAIServer([openai_error(429, retry_after=120)]) as server, \
            open_model(server) as model:
        with pytest.raises(genai_errors.ClientError) as caught:
            await call(model)
    assert 1 == len(server.requests)
    assert any("retry_max_delay" in note for note in caught.value.__notes__)


async def test_client_errors_are_not_retried_and_keep_openais_fields() -> None:
    error = openai_error(400, "bad tool schema", type="invalid_request_error",
                         code="invalid_value")
    async with FakeOpenAIServer([error]) as server, open_model(server) as model:
        with pytest.raises(genai_errors.ClientError) as caught:
            await call(model)
    assert (400, "bad tool schema", "invalid_request_error") == (
        caught.value.code, caught.value.message, caught.value.status)
    assert 1 == len(server.requests)


async def test_unreachable_server_is_a_connection_error(autojump_clock: trio.abc.Clock) -> None:
    with trio.socket.socket() as sock:
        await sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: connections are refused
        model = LiteLlm(model=MODEL, api_base=f"http://127.0.0.1:{port}/v1", api_key=KEY)
        try:
            with pytest.raises(ModelConnectionError, match="after 3 attempt"):
                await call(model)
        finally:
            await model.aclose()


async def test_cancellation_mid_stream_closes_the_request(
        autojump_clock: trio.abc.Clock) -> None:
    """Cancelled between chunks (events 10 s apart, cancelled at 15 s): the partial seen so
    far stays, the model stays usable, and the next call succeeds."""
    reply = openai_chunks(["a", "b", "c"], chunk_delay=10)
    async with FakeOpenAIServer([reply, "next"]) as server, open_model(server) as model:
        got: list[LlmResponse] = []
        with trio.move_on_after(15):
            async with aclosing(model.generate_content_async(
                    LlmRequest(contents=[user_text("x")]), stream=True)) as responses:
                async for response in responses:
                    got.append(response)
        assert ["a"] == [r.content.parts[0].text for r in got]
        assert "next" == (await call(model))[0].content.parts[0].text


# ---- credentials ------------------------------------------------------------------------


async def test_key_stays_out_of_repr_dump_errors_and_logs(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with FakeOpenAIServer([openai_error(503), openai_error(401, "Incorrect API key")]) \
            as server, open_model(server) as model:
        with pytest.raises(genai_errors.ClientError) as caught:
            await call(model)
    assert KEY == server.requests[0].api_key
    assert f"Bearer {KEY}" == server.requests[0].headers["authorization"]
    for text in (repr(model), str(model.model_dump()), model.model_dump_json(), str(caught.value),
                 repr(caught.value), caplog.text):
        assert KEY not in text


async def test_redirect_is_not_followed_and_the_key_goes_nowhere_else() -> None:
    async with FakeOpenAIServer(["never"]) as other:
        redirect = openai_error(307, headers=(("location", f"{other.base_url}/chat/completions"),))
        async with FakeOpenAIServer([redirect]) as server, open_model(server) as model:
            with pytest.raises(ModelConnectionError, match="another server") as caught:
                await call(model)
    assert [] == other.requests
    assert KEY not in str(caught.value)


async def test_azure_sends_the_key_as_api_key_header_with_the_version() -> None:
    async with FakeOpenAIServer(["ok"]) as server:
        model = LiteLlm(model="azure/dep1", api_base=server.origin, api_key=KEY,
                        api_version="2024-10-21")
        try:
            await call(model)
        finally:
            await model.aclose()
    sent = server.requests[0]
    assert "/openai/deployments/dep1/chat/completions" == sent.path
    assert {"api-version": "2024-10-21"} == sent.query
    assert KEY == sent.headers["api-key"]
    assert "authorization" not in sent.headers


async def test_base_url_userinfo_becomes_basic_auth_and_stays_out_of_errors() -> None:
    async with FakeOpenAIServer([openai_error(400, "no")]) as server:
        base = server.base_url.replace("http://", "http://user:pa55word@")
        model = LiteLlm(model="local", api_base=base)
        try:
            with pytest.raises(genai_errors.ClientError) as caught:
                await call(model)
        finally:
            await model.aclose()
    assert server.requests[0].headers["authorization"].startswith("Basic ")
    assert "pa55word" not in str(caught.value) + repr(model)


# ---- sync and asyncio callers -----------------------------------------------------------


@contextmanager
def server_in_thread(script: list[Any]) -> Iterator[tuple[FakeOpenAIServer, str]]:
    server = FakeOpenAIServer(script)
    with serve_in_thread(server) as origin:  # type: ignore[arg-type]
        yield server, f"{origin}/v1"


def test_sync_run_streams_a_tool_conversation() -> None:
    script = [openai_tool_call("get_weather", {"city": "Oslo"}), openai_chunks(["Sun", "ny."])]
    with server_in_thread(script) as (server, base):
        runner = Runner(app_name=APP, agent=weather_agent(LiteLlm(MODEL, api_base=base,
                                                                  api_key=KEY)),
                        session_service=InMemorySessionService(), auto_create_session=True)
        with runner:
            events = list(runner.run(user_id=USER, session_id="sync", run_config=SSE,
                                     new_message=user_text("Weather in Oslo?")))
    done = finals(events)
    assert "get_weather" == done[0].get_function_calls()[0].name
    assert ["Sunny."] == texts(done[2:])
    assert ["Sun", "ny."] == texts([e for e in events if e.partial])
    assert 2 == len(server.requests)


@pytest.mark.parametrize("run_config", [NO_STREAM, SSE], ids=["unary", "sse"])
def test_asyncio_caller_runs_a_tool_conversation(run_config: RunConfig) -> None:
    script = [openai_tool_call("get_weather", {"city": "Lima"}), openai_text("Sunny in Lima.")]

    async def main(base: str) -> list[Event]:
        service = InMemorySessionService()
        await service.create_session(app_name=APP, user_id=USER, session_id="aio")
        runner = Runner(app_name=APP, session_service=service,
                        agent=weather_agent(LiteLlm(MODEL, api_base=base, api_key=KEY)))
        try:
            return [event async for event in runner.run_async(
                user_id=USER, session_id="aio", run_config=run_config,
                new_message=user_text("Weather in Lima?"))]
        finally:
            await runner.close()

    with server_in_thread(script) as (server, base):
        events = asyncio.run(main(base))
    done = finals(events)
    assert ["get_weather"] == [c.name for c in done[0].get_function_calls()]
    assert ["Sunny in Lima."] == texts(done[2:])
    assert 2 == len(server.requests)


# ---- the command-line fake server -------------------------------------------------------


def test_fake_openai_command_serves_until_sigterm() -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen([sys.executable, "-m", "trio_adk.testing.fake_openai",
                                "--port", "0"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert process.stdout is not None
        base = process.stdout.readline().strip()
        assert base.startswith("http://127.0.0.1:") and base.endswith("/v1")

        async def ask() -> list[LlmResponse]:
            model = LiteLlm("local-echo", api_base=base)
            try:
                return await call(model, LlmRequest(contents=[user_text("ping")]), stream=True)
            finally:
                await model.aclose()

        responses = trio.run(ask)
        assert "You said: ping" == responses[-1].content.parts[0].text
        process.send_signal(signal.SIGTERM)
        assert 0 == process.wait(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for pipe in (process.stdout, process.stderr):
            if pipe is not None:
                pipe.close()


def test_benchmark_runs_quick() -> None:
    """``benchmarks/lite_llm.py --quick --no-adk`` runs to the end and prints both rows
    (no results file is written in quick mode)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    done = subprocess.run([sys.executable, os.path.join(root, "benchmarks", "lite_llm.py"),
                           "--quick", "--no-adk"], cwd=root, capture_output=True, text=True,
                          timeout=120)
    assert 0 == done.returncode, done.stderr
    assert "unary  trio-adk LiteLlm" in done.stdout
    assert "sse    trio-adk LiteLlm" in done.stdout
