"""``trio_adk.models.Gemini`` against ``FakeGeminiServer`` on loopback.

Covers: model-name resolution, configuration (keys, base URL, the missing-config error),
the request body on the wire, unary and SSE turns through the Runner, tool-call round trips,
every error class and retry path, transport faults (malformed, truncated, dropped), mid-stream
errors, cancellation mid-request and mid-stream, ``model_call_timeout``, closing the HTTP
client, sync and asyncio callers, and the offline demo (in-process and as a command).

The suite-wide fixtures (conftest.py) fail a test that leaves a ``trio_adk.*`` task (such as
the ``trio_adk.gemini-http-client`` task that owns the HTTP client), a thread or a socket
behind, so every test closes its runner or model.
"""

from __future__ import annotations

import asyncio
import gc
import io
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import aclosing, asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpcore
import httpx
import pytest
import trio
import trustme
from google.genai import errors as genai_errors

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
from trio_adk._demo import run_demo
from trio_adk.agents import RunConfig, StreamingMode
from trio_adk.errors import ModelConfigError, ModelConnectionError, ModelResponseError
from trio_adk.events import Event
from trio_adk.models import Gemini, LLMRegistry, LlmRequest, LlmResponse
from trio_adk.models._gemini import _CoalescingStream
from trio_adk.sessions import InMemorySessionService
from trio_adk.testing import (
    FakeGeminiServer,
    GeminiReply,
    ScriptItem,
    gemini_blocked,
    gemini_chunks,
    gemini_error,
    gemini_function_call,
    gemini_function_calls,
    gemini_text,
)

MODEL = "gemini-2.0-flash"
ROOT = Path(__file__).resolve().parent.parent
CLIENT_TASK = "trio_adk.gemini-http-client"
ENV_VARS = ("GOOGLE_API_KEY", "GEMINI_API_KEY", "GOOGLE_GEMINI_BASE_URL")
SSE = RunConfig(streaming_mode=StreamingMode.SSE)
NO_STREAM = RunConfig(streaming_mode=StreamingMode.NONE)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test in this module sees the developer's Gemini settings."""
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)


# ---- helpers ------------------------------------------------------------------------------


def get_weather(city: str) -> dict[str, str]:
    """Return the current weather report for a city."""
    return {"city": city, "report": f"sunny in {city}"}


def gemini_for(server: FakeGeminiServer, **kwargs: Any) -> Gemini:
    """A Gemini model object pointed at ``server`` with a fast retry backoff."""
    kwargs.setdefault("retry_initial_delay", 0.01)
    return Gemini(model=MODEL, base_url=server.base_url, api_key="k", **kwargs)


@asynccontextmanager
async def open_model(server: FakeGeminiServer, **kwargs: Any) -> AsyncIterator[Gemini]:
    """A Gemini model for direct calls, its HTTP client closed on exit."""
    model = gemini_for(server, **kwargs)
    try:
        yield model
    finally:
        await model.aclose()


async def call(model: Gemini, text: str = "hello", *, stream: bool = False) -> list[LlmResponse]:
    """Every response of one direct model call with one user message."""
    request = LlmRequest(model=MODEL, contents=[user_text(text)])
    async with aclosing(model.generate_content_async(request, stream=stream)) as responses:
        return [response async for response in responses]


@asynccontextmanager
async def serving(script: list[ScriptItem]) -> AsyncIterator[tuple[FakeGeminiServer, Runner]]:
    """A fake server answering from ``script`` and a runner whose weather agent uses it."""
    async with FakeGeminiServer(script=script) as server, \
            await make_runner(weather_agent(gemini_for(server))) as runner:
        yield server, runner


async def drain(gen: Any, into: list[Any]) -> None:
    """Append everything ``gen`` yields to ``into`` (kept if it raises), closing it."""
    async with aclosing(gen) as items:
        async for item in items:
            into.append(item)


def weather_agent(model: Any, **kwargs: Any) -> Agent:
    """An agent with the weather tool and an instruction."""
    return Agent(name="weather_agent", model=model, instruction="Answer briefly.",
                 tools=[get_weather], **kwargs)


def task_names() -> list[str]:
    """The names of every task of the current trio run (system tasks included)."""
    names: list[str] = []
    stack = [trio.lowlevel.current_root_task()]
    while stack:
        task = stack.pop()
        if task is None:
            continue
        names.append(task.name)
        for nursery in task.child_nurseries:
            stack.extend(nursery.child_tasks)
    return names


def pool_connections(model: Gemini) -> int:
    """Connections held by the model's HTTP client in this trio run (white-box check)."""
    transport: Any = model._client()._transport
    return len(transport._pool.connections)


def closed_port() -> int:
    """A loopback port that nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def raw_json(request: Any) -> Any:
    """The body a recorded request carried, exactly as sent (not normalised)."""
    return json.loads(request.raw_body)


def final_events(events: list[Event]) -> list[Event]:
    return [e for e in events if not e.partial]


# ---- model names and configuration ------------------------------------------------------


@pytest.mark.parametrize("name", ["gemini-2.0-flash", "gemini-2.5-pro-preview-05-06",
                                  "models/gemini-2.0-flash", "tunedModels/my-model-1"])
def test_gemini_names_resolve_to_gemini(name: str) -> None:
    """``Agent(model="gemini-...")`` and ``models/...`` names resolve to ``Gemini`` through
    ``LLMRegistry``, with the name kept as given."""
    agent = Agent(name="a", model=name)
    llm = agent.canonical_model
    assert Gemini is type(llm)
    assert name == llm.model
    assert Gemini is LLMRegistry.resolve(name)


async def test_models_prefixed_name_calls_the_same_endpoint() -> None:
    """A ``models/...`` name is sent as the same ``models/{m}`` path segment, not doubled."""
    async with FakeGeminiServer(script=[gemini_text("hi")]) as server:
        model = Gemini(model=f"models/{MODEL}", base_url=server.base_url, api_key="k")
        try:
            await call(model)
        finally:
            await model.aclose()
    assert f"/v1beta/models/{MODEL}:generateContent" == server.requests[0].path


@pytest.mark.parametrize(
    ("constructor", "google", "gemini", "expected"),
    [
        ("from-ctor", "from-google", "from-gemini", "from-ctor"),
        (None, "from-google", None, "from-google"),
        (None, None, "from-gemini", "from-gemini"),
        (None, "from-google", "from-gemini", "from-google"),
    ],
)
async def test_api_key_sources_and_precedence(monkeypatch: pytest.MonkeyPatch,
                                              constructor: str | None, google: str | None,
                                              gemini: str | None, expected: str) -> None:
    """The key comes from the constructor, else ``GOOGLE_API_KEY``, else ``GEMINI_API_KEY``
    (GOOGLE wins over GEMINI), and is sent in the ``x-goog-api-key`` header."""
    if google is not None:
        monkeypatch.setenv("GOOGLE_API_KEY", google)
    if gemini is not None:
        monkeypatch.setenv("GEMINI_API_KEY", gemini)
    async with FakeGeminiServer(script=[gemini_text("hi")]) as server:
        model = Gemini(model=MODEL, base_url=server.base_url, api_key=constructor)
        try:
            await call(model)
        finally:
            await model.aclose()
    request = server.requests[0]
    assert (expected, "header") == (request.api_key, request.api_key_source)
    assert expected == request.headers["x-goog-api-key"]
    assert "key" not in request.query


async def test_agent_with_a_model_name_uses_the_environment(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """``Agent(model="gemini-2.0-flash")`` with ``GOOGLE_GEMINI_BASE_URL`` and
    ``GOOGLE_API_KEY`` set talks to that server with that key (as an ADK app would)."""
    async with FakeGeminiServer(script=[gemini_text("Hello from the fake.")]) as server:
        monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", server.base_url)
        monkeypatch.setenv("GOOGLE_API_KEY", "env-key")
        async with await make_runner(Agent(name="root", model=MODEL)) as runner:
            events = await run_text(runner, "hi")
    assert ["Hello from the fake."] == texts(events)
    assert 1 == len(server.requests)
    request = server.requests[0]
    assert (f"/v1beta/models/{MODEL}:generateContent", "env-key") == \
        (request.path, request.api_key)
    assert ["hi"] == request.texts()


async def test_base_url_without_a_key_sends_no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """A base URL alone is enough (a local server needs no key): no key header is sent."""
    async with FakeGeminiServer(script=[gemini_text("ok")]) as server:
        monkeypatch.setenv("GOOGLE_GEMINI_BASE_URL", server.base_url + "/")
        async with await make_runner(Agent(name="root", model=MODEL)) as runner:
            events = await run_text(runner, "hi")
    assert ["ok"] == texts(events)
    assert (None, None) == (server.requests[0].api_key, server.requests[0].api_key_source)
    assert "x-goog-api-key" not in server.requests[0].headers


async def test_missing_configuration_fails_at_the_first_call_naming_the_variables() -> None:
    """Without a key and a base URL, building the agent and the runner works; the first
    model call raises ``ModelConfigError`` naming GOOGLE_API_KEY, GEMINI_API_KEY and
    GOOGLE_GEMINI_BASE_URL."""
    agent = Agent(name="root", model=MODEL)
    assert Gemini is type(agent.canonical_model)
    async with await make_runner(agent) as runner:
        with pytest.raises(ModelConfigError) as caught:
            await run_text(runner, "hi")
    message = str(caught.value)
    for name in ENV_VARS:
        assert name in message
    model = Gemini(model=MODEL)
    try:
        with pytest.raises(ModelConfigError):
            await call(model)
    finally:
        await model.aclose()


# ---- the request on the wire ------------------------------------------------------------


async def test_request_body_with_instruction_tools_and_history() -> None:
    """The second call of a tool round trip carries ``systemInstruction``, the tool in
    ``tools[].functionDeclarations`` and the history (user text, the model's function call,
    the user-role function response) with the client-side call ids stripped, in camelCase."""
    script: list[ScriptItem] = [gemini_function_call("get_weather", {"city": "Paris"}),
                                gemini_text("Sunny in Paris.")]
    async with serving(script) as (server, runner):
        events = await run_text(runner, "Weather in Paris?")
    call_id = events[0].get_function_calls()[0].id
    assert call_id is not None and call_id.startswith("adk-")
    assert 2 == len(server.requests)
    declaration = {
        "name": "get_weather",
        "description": "Return the current weather report for a city.",
    }
    for request in server.requests:
        body = raw_json(request)
        assert {"contents", "systemInstruction", "tools", "generationConfig"} == set(body)
        assert "user" == body["systemInstruction"]["role"]
        [instruction] = body["systemInstruction"]["parts"]
        assert 'Answer briefly.\n\nYou are an agent. Your internal name is "weather_agent".' \
            == instruction["text"]
        assert 1 == len(body["tools"])
        [sent] = body["tools"][0]["functionDeclarations"]
        assert declaration == {k: sent[k] for k in ("name", "description")}
        schema = sent.get("parameters") or sent.get("parametersJsonSchema")
        assert ["city"] == list(schema["properties"])
        assert ["city"] == schema["required"]
    assert [{"role": "user", "parts": [{"text": "Weather in Paris?"}]}] == \
        raw_json(server.requests[0])["contents"]
    assert [
        {"role": "user", "parts": [{"text": "Weather in Paris?"}]},
        {"role": "model", "parts": [
            {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}]},
        {"role": "user", "parts": [
            {"functionResponse": {"name": "get_weather",
                                  "response": {"city": "Paris", "report": "sunny in Paris"}}}]},
    ] == raw_json(server.requests[1])["contents"]
    assert call_id not in server.requests[1].raw_body.decode()
    headers = server.requests[0].headers
    assert "application/json" == headers["content-type"]


# ---- turns through the Runner -----------------------------------------------------------


async def test_non_streaming_turn() -> None:
    """Without streaming one ``generateContent`` call gives one final, non-partial event,
    which is persisted."""
    async with serving([gemini_text("Hello there.")]) as (server, runner):
        events = await run_text(runner, "hi", run_config=NO_STREAM)
        stored = await stored_events(runner)
    assert ["Hello there."] == texts(events)
    assert [False] == [bool(e.partial) for e in events]
    assert events[0].is_final_response()
    assert "weather_agent" == events[0].author
    assert events[0].usage_metadata is not None
    request = server.requests[0]
    assert (f"/v1beta/models/{MODEL}:generateContent", False) == (request.path, request.stream)
    assert ["user", "weather_agent"] == [e.author for e in stored]
    assert ["hi", "Hello there."] == texts(stored)


async def test_sse_turn_streams_partials_then_one_final_event() -> None:
    """With ``StreamingMode.SSE`` each chunk arrives as a partial event, then one final
    aggregated event; only the final one is persisted."""
    reply = gemini_chunks(["Hello ", "there, ", "traveller."])
    async with serving([reply]) as (server, runner):
        events = await run_text(runner, "hi", run_config=SSE)
        stored = await stored_events(runner)
    assert ["Hello ", "there, ", "traveller.", "Hello there, traveller."] == texts(events)
    assert [True, True, True, False] == [bool(e.partial) for e in events]
    assert events[-1].is_final_response()
    assert not any(e.is_final_response() for e in events[:-1])
    request = server.requests[0]
    assert (f"/v1beta/models/{MODEL}:streamGenerateContent", {"alt": "sse"}, True) == \
        (request.path, request.query, request.stream)
    assert ["hi", "Hello there, traveller."] == texts(stored)
    assert [False, False] == [bool(e.partial) for e in stored]


@pytest.mark.parametrize("config", [NO_STREAM, SSE], ids=["unary", "sse"])
async def test_tool_call_round_trip(config: RunConfig) -> None:
    """The model calls a tool, the tool runs, its response goes back to the model in the
    next call and the model's answer ends the turn (unary and SSE)."""
    script: list[ScriptItem] = [gemini_function_call("get_weather", {"city": "Paris"}),
                                gemini_chunks(["It is ", "sunny in Paris."])]
    async with serving(script) as (server, runner):
        events = await run_text(runner, "Weather in Paris?", run_config=config)
        stored = await stored_events(runner)
    finals = final_events(events)
    assert 3 == len(finals)
    [call_] = finals[0].get_function_calls()
    assert ("get_weather", {"city": "Paris"}) == (call_.name, call_.args)
    [response] = finals[1].get_function_responses()
    assert ("get_weather", call_.id, {"city": "Paris", "report": "sunny in Paris"}) == \
        (response.name, response.id, response.response)
    assert ["It is sunny in Paris."] == texts(finals[2:])
    assert finals[2].is_final_response()
    assert 2 == len(server.requests)
    last_sent = server.requests[1].body["contents"][-1]
    assert "user" == last_sent["role"]
    assert {"name": "get_weather", "response": {"city": "Paris", "report": "sunny in Paris"}} \
        == last_sent["parts"][0]["functionResponse"]
    assert ["user", "weather_agent", "weather_agent", "weather_agent"] == \
        [e.author for e in stored]
    if config is SSE:
        assert ["It is ", "sunny in Paris."] == texts([e for e in events if e.partial][-2:])


@pytest.mark.parametrize("config", [NO_STREAM, SSE], ids=["unary", "sse"])
async def test_parallel_function_calls_in_one_turn(config: RunConfig) -> None:
    """Two function calls in one model reply both run; their responses go back together in
    one user-role content, in call order, and the model's answer ends the turn."""
    script: list[ScriptItem] = [
        gemini_function_calls(("get_weather", {"city": "Paris"}),
                              ("get_weather", {"city": "Rome"})),
        gemini_text("Sunny in both."),
    ]
    async with serving(script) as (server, runner):
        events = await run_text(runner, "Paris and Rome?", run_config=config)
    finals = final_events(events)
    calls = finals[0].get_function_calls()
    assert [("get_weather", {"city": "Paris"}), ("get_weather", {"city": "Rome"})] == \
        [(c.name, c.args) for c in calls]
    assert len({c.id for c in calls}) == 2
    responses = finals[1].get_function_responses()
    assert [c.id for c in calls] == [r.id for r in responses]
    assert [{"city": "Paris", "report": "sunny in Paris"},
            {"city": "Rome", "report": "sunny in Rome"}] == [r.response for r in responses]
    assert ["Sunny in both."] == texts(finals[2:])
    sent = server.requests[1].body["contents"]
    assert 2 == len(sent[-2]["parts"])  # the model's two calls
    assert [{"city": "Paris", "report": "sunny in Paris"},
            {"city": "Rome", "report": "sunny in Rome"}] == \
        [p["functionResponse"]["response"] for p in sent[-1]["parts"]]


# ---- errors and retries -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "cls", "status"),
    [
        (400, genai_errors.ClientError, "INVALID_ARGUMENT"),
        (403, genai_errors.ClientError, "PERMISSION_DENIED"),
        (404, genai_errors.ClientError, "NOT_FOUND"),
        (500, genai_errors.ServerError, "INTERNAL"),
        (503, genai_errors.ServerError, "UNAVAILABLE"),
    ],
)
@pytest.mark.parametrize("stream", [False, True], ids=["unary", "sse"])
async def test_http_errors_map_to_google_genai_errors(code: int, cls: type[Exception],
                                                      status: str, stream: bool) -> None:
    """An HTTP error status raises ``ClientError`` (4xx) or ``ServerError`` (5xx) with the
    code, status and message of Google's error body (retries off here)."""
    script: list[ScriptItem] = [gemini_error(code, f"error {code} happened")]
    async with FakeGeminiServer(script=script) as server, \
            open_model(server, retry_attempts=1) as model:
        with pytest.raises(genai_errors.APIError) as caught:
            await call(model, stream=stream)
    error: Any = caught.value
    assert cls is type(error)
    assert (code, status, f"error {code} happened") == (error.code, error.status, error.message)
    assert 1 == len(server.requests)


async def test_http_error_reaches_the_runner_caller_unchanged() -> None:
    """A 404 from the service arrives at the ``run_async`` caller as the same
    ``ClientError``; only the user message is stored."""
    script: list[ScriptItem] = [gemini_error(404, "models/gemini-2.0-flash is not found")]
    async with serving(script) as (_, runner):
        with pytest.raises(genai_errors.ClientError) as caught:
            await run_text(runner, "hi")
        stored = await stored_events(runner)
    assert (404, "NOT_FOUND") == (caught.value.code, caught.value.status)
    assert ["user"] == [e.author for e in stored]


@pytest.mark.parametrize("stream", [False, True], ids=["unary", "sse"])
async def test_429_is_retried_then_succeeds(stream: bool) -> None:
    """A 429 is retried (default attempts); the second request succeeds."""
    script: list[ScriptItem] = [gemini_error(429), gemini_text("after the retry")]
    async with FakeGeminiServer(script=script) as server, open_model(server) as model:
        responses = await call(model, stream=stream)
    assert "after the retry" == responses[-1].content.parts[0].text
    assert 2 == len(server.requests)


@pytest.mark.parametrize("stream", [False, True], ids=["unary", "sse"])
async def test_two_503s_then_success_with_three_attempts(stream: bool) -> None:
    """With ``retry_attempts=3`` two 503s are retried and the third request succeeds."""
    script: list[ScriptItem] = [gemini_error(503), gemini_error(503), gemini_text("third time")]
    async with FakeGeminiServer(script=script) as server, \
            open_model(server, retry_attempts=3) as model:
        responses = await call(model, stream=stream)
    assert "third time" == responses[-1].content.parts[0].text
    assert 3 == len(server.requests)


@pytest.mark.parametrize("stream", [False, True], ids=["unary", "sse"])
async def test_exhausted_attempts_raise_the_last_error(stream: bool) -> None:
    """When every attempt fails with a retryable status, the last error is raised."""
    script: list[ScriptItem] = [gemini_error(503, "first"), gemini_error(500, "second"),
                                gemini_error(503, "third"), gemini_text("never sent")]
    async with FakeGeminiServer(script=script) as server, \
            open_model(server, retry_attempts=3) as model:
        with pytest.raises(genai_errors.ServerError) as caught:
            await call(model, stream=stream)
    assert (503, "third") == (caught.value.code, caught.value.message)
    assert (3, 1) == (len(server.requests), server.script_remaining)


@pytest.mark.parametrize("stream", [False, True], ids=["unary", "sse"])
async def test_400_is_not_retried(stream: bool) -> None:
    """A 400 is raised at once: one request, the next script item unused."""
    script: list[ScriptItem] = [gemini_error(400, "bad request"), gemini_text("never sent")]
    async with FakeGeminiServer(script=script) as server, \
            open_model(server, retry_attempts=5) as model:
        with pytest.raises(genai_errors.ClientError) as caught:
            await call(model, stream=stream)
    assert (400, "bad request") == (caught.value.code, caught.value.message)
    assert (1, 1) == (len(server.requests), server.script_remaining)


async def test_retry_info_delay_is_honoured_in_real_time() -> None:
    """A ``RetryInfo`` ``retryDelay`` of 0.4 s replaces the backoff (which would be 2.5 s
    to 5 s here): the retry reaches the server at least 0.4 s, and well under 2.5 s, after
    the failed request."""
    script: list[ScriptItem] = [gemini_error(429, retry_delay=0.4), gemini_text("ok")]
    async with FakeGeminiServer(script=script) as server, \
            open_model(server, retry_initial_delay=5.0) as model:
        responses = await call(model)
    assert "ok" == responses[-1].content.parts[0].text
    first, second = server.requests
    gap = second.timestamp - first.timestamp
    assert 0.4 <= gap < 2.0, gap


async def test_retry_info_delay_is_honoured_in_trio_time(autojump_clock: trio.abc.Clock) -> None:
    """Under the autojump clock, a ``retryDelay`` of 30 s makes the retry arrive 30 s (of
    trio time) after the failed request."""
    script: list[ScriptItem] = [gemini_error(503, retry_delay="30s"), gemini_text("ok")]
    async with FakeGeminiServer(script=script) as server, open_model(server) as model:
        responses = await call(model, stream=True)
    assert "ok" == responses[-1].content.parts[0].text
    first, second = server.requests
    assert 30.0 <= second.timestamp - first.timestamp < 31.0


@pytest.mark.parametrize("stream", [False, True], ids=["unary", "sse"])
async def test_connection_refused_raises_model_connection_error_after_retries(
        stream: bool) -> None:
    """Nobody listening: every attempt fails to connect and ``ModelConnectionError`` says
    how many attempts were made; the cause is httpx's ``ConnectError``."""
    model = Gemini(model=MODEL, base_url=f"http://127.0.0.1:{closed_port()}", api_key="k",
                   retry_attempts=2, retry_initial_delay=0.01)
    try:
        with pytest.raises(ModelConnectionError) as caught:
            await call(model, stream=stream)
    finally:
        await model.aclose()
    assert "after 2 attempt(s)" in str(caught.value)
    assert isinstance(caught.value.__cause__, httpx.ConnectError)


# ---- broken replies ---------------------------------------------------------------------


@pytest.mark.parametrize("fault", ["malformed", "truncate"])
async def test_unusable_unary_body_is_a_model_response_error(fault: Any) -> None:
    """A 200 whose body is not valid JSON (malformed, or cut in half) raises
    ``ModelResponseError`` and is not retried."""
    script: list[ScriptItem] = [gemini_text("a long enough answer", fault=fault),
                                gemini_text("never sent")]
    async with FakeGeminiServer(script=script) as server, open_model(server) as model:
        with pytest.raises(ModelResponseError):
            await call(model)
    assert 1 == len(server.requests)


async def test_unary_connection_dropped_before_the_reply_is_retried() -> None:
    """A connection closed before any response is a transport failure: retried."""
    script: list[ScriptItem] = [gemini_text("lost", fault="drop"), gemini_text("second try")]
    async with FakeGeminiServer(script=script) as server, open_model(server) as model:
        responses = await call(model)
    assert "second try" == responses[-1].content.parts[0].text
    assert 2 == len(server.requests)


@pytest.mark.parametrize("fault", ["truncate", "drop", "malformed"])
async def test_stream_broken_after_the_first_chunk_is_an_error_not_a_short_reply(
        fault: Any) -> None:
    """A stream cut mid-event, dropped, or sending invalid JSON after a first chunk raises
    ``ModelResponseError`` after that chunk's partial event: never a silently truncated
    final reply, and no retry."""
    reply = gemini_chunks(["one ", "two ", "three"], fault=fault, fault_after=1)
    async with FakeGeminiServer(script=[reply, gemini_text("never sent")]) as server, \
            open_model(server) as model:
        seen: list[LlmResponse] = []
        request = LlmRequest(model=MODEL, contents=[user_text("count")])
        with pytest.raises(ModelResponseError):
            await drain(model.generate_content_async(request, stream=True), seen)
    assert [(True, "one ")] == [(r.partial, r.content.parts[0].text) for r in seen]
    assert 1 == len(server.requests)


async def test_stream_broken_mid_way_through_the_runner_stores_nothing() -> None:
    """Through the Runner: the partial event arrives, then ``ModelResponseError``; the
    session holds only the user message."""
    reply = gemini_chunks(["one ", "two ", "three"], fault="truncate", fault_after=2)
    async with serving([reply]) as (_, runner):
        seen: list[Event] = []
        gen = runner.run_async(user_id=USER, session_id="s1",
                               new_message=user_text("count"), run_config=SSE)
        with pytest.raises(ModelResponseError):
            await drain(gen, seen)
        stored = await stored_events(runner)
    assert ["one ", "two "] == texts(seen)
    assert all(e.partial for e in seen)
    assert ["user"] == [e.author for e in stored]


async def test_stream_failing_before_its_first_chunk_is_retried() -> None:
    """A stream dropped before its first event, and a 503 before the stream starts, are
    retried; the third request streams the answer."""
    script: list[ScriptItem] = [gemini_chunks(["lost"], fault="drop", fault_after=0),
                                gemini_error(503),
                                gemini_chunks(["made ", "it"])]
    async with FakeGeminiServer(script=script) as server, \
            open_model(server, retry_attempts=3) as model:
        responses = await call(model, stream=True)
    assert ["made ", "it", "made it"] == [r.content.parts[0].text for r in responses]
    assert 3 == len(server.requests)


@pytest.mark.parametrize(
    ("code", "cls"), [(400, genai_errors.ClientError), (429, genai_errors.ClientError),
                      (503, genai_errors.ServerError)])
async def test_mid_stream_error_event_is_raised_and_not_retried(code: int,
                                                               cls: type[Exception]) -> None:
    """A ``data: {"error": ...}`` event after a chunk raises the mapped ``APIError`` (even a
    retryable code is not retried once the stream started)."""
    reply = gemini_chunks(["partial "], stream_error=gemini_error(code, "broke mid-stream"))
    async with FakeGeminiServer(script=[reply, gemini_text("never sent")]) as server, \
            open_model(server, retry_attempts=3) as model:
        with pytest.raises(genai_errors.APIError) as caught:
            await call(model, stream=True)
    error: Any = caught.value
    assert cls is type(error)
    assert (code, "broke mid-stream") == (error.code, error.message)
    assert 1 == len(server.requests)


async def test_error_event_before_the_first_chunk_is_retried() -> None:
    """A stream whose very first event is ``data: {"error": 503}`` failed before its first
    chunk, like a 503 status: it is retried, and the retry's answer is streamed."""
    script: list[ScriptItem] = [GeminiReply(responses=(), stream_error=gemini_error(503)),
                                gemini_chunks(["made ", "it"])]
    async with FakeGeminiServer(script=script) as server, \
            open_model(server, retry_attempts=3) as model:
        responses = await call(model, stream=True)
    assert ["made ", "it", "made it"] == [r.content.parts[0].text for r in responses]
    assert 2 == len(server.requests)


@pytest.mark.parametrize("config", [NO_STREAM, SSE], ids=["unary", "sse"])
async def test_blocked_prompt_gives_an_error_event(config: RunConfig) -> None:
    """A blocked prompt (``promptFeedback.blockReason``, no candidates) ends the turn with
    an event carrying the block reason and message, and no content."""
    async with serving([gemini_blocked("SAFETY", message="blocked for safety")]) as (_, runner):
        events = await run_text(runner, "something bad", run_config=config)
    final = events[-1]
    assert (False, "SAFETY", "blocked for safety", None) == \
        (bool(final.partial), final.error_code, final.error_message, final.content)


# ---- cancellation and timeouts ----------------------------------------------------------


async def test_cancellation_mid_request_is_clean_and_not_retried() -> None:
    """Cancelling a run while the server is still thinking ends the run cleanly: one
    request seen, the connection closed, nothing stored from the model, and the same runner
    and model answer the next turn."""
    script: list[ScriptItem] = [gemini_text("too late", delay=10),
                                gemini_text("Second turn answer.")]
    async with FakeGeminiServer(script=script) as server:
        model = gemini_for(server)
        async with await make_runner(weather_agent(model)) as runner:
            with trio.move_on_after(0.5) as scope:
                await run_text(runner, "first")
            assert scope.cancelled_caught
            assert 1 == len(server.requests)
            assert 0 == pool_connections(model)
            assert ["user"] == [e.author for e in await stored_events(runner)]
            events = await run_text(runner, "second")
            assert ["Second turn answer."] == texts(events)
    assert 2 == len(server.requests)


async def test_cancellation_mid_stream_is_clean_and_not_retried() -> None:
    """Cancelling a streaming run after its first partial event ends it cleanly: one
    request, the connection closed, no final event stored, and the next turn works."""
    slow = gemini_chunks(["first ", "second ", "third"], chunk_delay=10)
    script: list[ScriptItem] = [slow, gemini_chunks(["next ", "turn"])]
    async with FakeGeminiServer(script=script) as server:
        model = gemini_for(server)
        async with await make_runner(weather_agent(model)) as runner:
            seen: list[Event] = []
            with trio.CancelScope() as scope:
                gen = runner.run_async(user_id=USER, session_id="s1",
                                       new_message=user_text("stream please"), run_config=SSE)
                async with aclosing(gen) as events:
                    async for event in events:
                        seen.append(event)
                        if event.partial:
                            scope.cancel()
            assert scope.cancelled_caught
            assert ["first "] == texts(seen)
            assert 1 == len(server.requests)
            assert 0 == pool_connections(model)
            assert ["user"] == [e.author for e in await stored_events(runner)]
            events = await run_text(runner, "again", run_config=SSE)
            assert "next turn" == texts(events)[-1]
    assert 2 == len(server.requests)


async def test_cancellation_during_retry_backoff_sends_no_retry() -> None:
    """Cancelled while waiting out a 10 s ``retryDelay``: the retry is never sent, and the
    model answers the next call."""
    script: list[ScriptItem] = [gemini_error(429, retry_delay=10), gemini_text("next call")]
    async with FakeGeminiServer(script=script) as server, open_model(server) as model:
        with trio.move_on_after(0.5) as scope:
            await call(model)
        assert scope.cancelled_caught
        assert 1 == len(server.requests)
        responses = await call(model)
    assert "next call" == responses[-1].content.parts[0].text
    assert 2 == len(server.requests)


async def test_model_call_timeout_raises_builtin_timeout_error() -> None:
    """``RunConfig(model_call_timeout=0.3)`` against a server that takes 10 s ends the run
    with the built-in ``TimeoutError`` quickly, without a retry."""
    script: list[ScriptItem] = [gemini_text("slow", delay=10)]
    async with serving(script) as (server, runner):
        start = trio.current_time()
        with pytest.raises(TimeoutError) as caught:
            await run_text(runner, "hi", run_config=RunConfig(model_call_timeout=0.3))
        elapsed = trio.current_time() - start
    assert TimeoutError is type(caught.value)
    assert elapsed < 5.0
    assert 1 == len(server.requests)


# ---- closing ----------------------------------------------------------------------------


async def test_runner_close_closes_the_model_http_client() -> None:
    """The model's HTTP client task appears with the first call and is gone after
    ``runner.close()``."""
    async with FakeGeminiServer(script=[gemini_text("hi")]) as server:
        runner = await make_runner(weather_agent(gemini_for(server)))
        try:
            assert CLIENT_TASK not in task_names()
            await run_text(runner, "hi")
            assert 1 == task_names().count(CLIENT_TASK)
        finally:
            await runner.close()
        assert CLIENT_TASK not in task_names()


async def test_model_aclose_closes_the_client_and_a_later_call_reopens_it() -> None:
    """``Gemini.aclose()`` ends the client task; the next call opens a new client."""
    async with FakeGeminiServer(script=[gemini_text("one"), gemini_text("two")]) as server, \
            open_model(server) as model:
        await call(model)
        assert 1 == task_names().count(CLIENT_TASK)
        await model.aclose()
        assert CLIENT_TASK not in task_names()
        responses = await call(model)
        assert "two" == responses[-1].content.parts[0].text
        assert 1 == task_names().count(CLIENT_TASK)


async def test_sequential_calls_reuse_one_keep_alive_connection() -> None:
    """Calls in one trio run share the model's client and its keep-alive connection."""
    script: list[ScriptItem] = [gemini_text("one"), gemini_chunks(["two"]), gemini_text("3")]
    async with FakeGeminiServer(script=script) as server, open_model(server) as model:
        await call(model)
        await call(model, stream=True)
        await call(model)
        assert 1 == pool_connections(model)
        assert 1 == task_names().count(CLIENT_TASK)
    assert 3 == len(server.requests)


class _CountingBackend(httpcore.AsyncNetworkBackend):
    """The real network backend, counting the writes that reach each connection."""

    def __init__(self, backend: httpcore.AsyncNetworkBackend) -> None:
        self.backend = backend
        self.writes: list[int] = []  # sizes of the writes, on every connection

    async def connect_tcp(self, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        return self._counted(await self.backend.connect_tcp(*args, **kwargs))

    def _counted(self, stream: httpcore.AsyncNetworkStream) -> httpcore.AsyncNetworkStream:
        """``stream`` with its writes counted, and those of the TLS stream it turns into
        (not the handshake's)."""
        real_write, real_start_tls = stream.write, stream.start_tls

        async def write(buffer: bytes, timeout: float | None = None) -> None:
            self.writes.append(len(buffer))
            await real_write(buffer, timeout)

        async def start_tls(*args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
            return self._counted(await real_start_tls(*args, **kwargs))

        stream.write = write  # type: ignore[method-assign]
        stream.start_tls = start_tls  # type: ignore[method-assign]
        return stream

    async def sleep(self, seconds: float) -> None:
        await self.backend.sleep(seconds)


async def test_each_request_leaves_in_one_write() -> None:
    """The request line, headers and body of a request reach the socket in one write
    (httpcore writes them separately; the model's connections hold them until the
    response is read); a body over the holding limit goes out on its own after the
    headers.  The server gets every request whole (white-box: the pool's backend)."""
    long_text = "x" * 100_000
    script: list[ScriptItem] = [gemini_text("one"), gemini_chunks(["two"]), gemini_text("3")]
    async with FakeGeminiServer(script=script) as server, open_model(server) as model:
        transport: Any = model._client()._transport
        pool = transport._pool
        counting = _CountingBackend(pool._network_backend._backend)
        pool._network_backend._backend = counting
        answers = []
        for text, stream in (("hello", False), ("hello", True), (long_text, False)):
            reply = (await call(model, text, stream=stream))[-1]
            assert reply.content is not None and reply.content.parts
            answers.append(reply.content.parts[0].text)
            if len(answers) == 2:
                assert 2 == len(counting.writes)
        assert ["one", "two", "3"] == answers
        assert 4 == len(counting.writes)
        assert counting.writes[3] > 100_000 > counting.writes[2]
    assert [["hello"], ["hello"], [long_text]] == [r.texts() for r in server.requests]


class _RefusingStream(httpcore.AsyncNetworkStream):
    """A connection whose peer stopped reading but had answered: writes fail, reads give
    the answer."""

    def __init__(self, answer: bytes) -> None:
        self.answer = answer
        self.writes = 0

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.writes += 1
        raise httpcore.WriteError("the peer stopped reading")

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        answer, self.answer = self.answer, b""
        return answer


async def test_held_writes_that_fail_still_let_the_answer_be_read() -> None:
    """httpcore passes over a write error while sending a request and reads the answer
    (a server may reply early, e.g. 413, and stop reading); held writes that fail when
    the read sends them are passed over the same way.  A write too large to hold fails
    at once, as an unheld write would."""
    inner = _RefusingStream(b"HTTP/1.1 413 Too Large\r\n\r\n")
    stream = _CoalescingStream(inner)
    await stream.write(b"POST / HTTP/1.1\r\n\r\n")
    await stream.write(b"{}")
    assert 0 == inner.writes
    assert b"HTTP/1.1 413 Too Large\r\n\r\n" == await stream.read(100)
    assert 1 == inner.writes
    with pytest.raises(httpcore.WriteError):
        await stream.write(b"x" * 100_000)


async def test_calls_over_tls(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Over https (the Gemini API's only scheme) the connection upgraded to TLS holds
    writes too: unary and streamed calls get their answers, each request in one write
    to the TLS stream."""
    authority = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(server_context)
    ca_file = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(ca_file))
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    script: list[ScriptItem] = [gemini_text("one"), gemini_chunks(["tw", "o"])]
    async with FakeGeminiServer(script=script, ssl_context=server_context) as server, \
            open_model(server) as model:
        assert server.base_url.startswith("https://")
        transport: Any = model._client()._transport
        counting = _CountingBackend(transport._pool._network_backend._backend)
        transport._pool._network_backend._backend = counting
        unary = (await call(model))[-1]
        streamed = await call(model, stream=True)
    assert unary.content is not None and unary.content.parts
    assert "one" == unary.content.parts[0].text
    assert ["tw", "o", "two"] == [r.content.parts[0].text for r in streamed
                                  if r.content and r.content.parts]
    assert 2 == len(server.requests)
    assert 2 == len(counting.writes)


async def test_concurrent_runs_share_one_client() -> None:
    """Twenty concurrent turns on one runner (built-in echo responder) all get their own
    answer, over one HTTP client."""
    answers: dict[int, list[str]] = {}
    async with FakeGeminiServer() as server:
        runner = Runner(app_name=APP, agent=weather_agent(gemini_for(server)),
                        session_service=InMemorySessionService(), auto_create_session=True)
        async with runner:

            async def turn(i: int) -> None:
                answers[i] = texts(await run_text(runner, f"message {i}",
                                                  session_id=f"s{i}"))
                assert 1 == task_names().count(CLIENT_TASK)

            async with trio.open_nursery() as nursery:
                for i in range(20):
                    nursery.start_soon(turn, i)
    assert {i: [f"You said: message {i}"] for i in range(20)} == answers
    assert 20 == len(server.requests)


# ---- sync and asyncio callers -----------------------------------------------------------


class ThreadedServer:
    """A FakeGeminiServer running in its own trio run on a background thread."""

    def __init__(self, server: FakeGeminiServer) -> None:
        self.server = server
        self.base_url = ""


@contextmanager
def server_in_thread(script: list[ScriptItem]) -> Iterator[ThreadedServer]:
    """Start a fake server on a thread; stop it and join the thread on exit.

    Read ``.server`` attributes (``requests``) only after the block: the server belongs to
    that thread's trio run until then."""
    server = FakeGeminiServer(script=script)
    handle = ThreadedServer(server)
    with serve_in_thread(server) as handle.base_url:
        yield handle


def agent_for_url(base_url: str) -> Agent:
    return weather_agent(Gemini(model=MODEL, base_url=base_url, api_key="k",
                                retry_initial_delay=0.01))


def test_sync_run_against_the_fake_server() -> None:
    """``runner.run(...)`` from plain sync code does a tool round trip over HTTP, streams
    partial events with SSE, and leaves no socket or thread behind after ``close()``."""
    script: list[ScriptItem] = [gemini_function_call("get_weather", {"city": "Oslo"}),
                                gemini_chunks(["Sunny ", "in Oslo."])]
    with server_in_thread(script) as threaded:
        service = InMemorySessionService()
        runner = Runner(app_name=APP, agent=agent_for_url(threaded.base_url),
                        session_service=service, auto_create_session=True)
        with runner:
            events = list(runner.run(user_id=USER, session_id="sync", run_config=SSE,
                                     new_message=user_text("Weather in Oslo?")))
    finals = final_events(events)
    assert "get_weather" == finals[0].get_function_calls()[0].name
    assert {"city": "Oslo", "report": "sunny in Oslo"} == \
        finals[1].get_function_responses()[0].response
    assert ["Sunny in Oslo."] == texts(finals[2:])
    assert ["Sunny ", "in Oslo."] == texts([e for e in events if e.partial][-2:])
    assert 2 == len(threaded.server.requests)


def live_http_clients() -> int:
    gc.collect()
    return sum(1 for obj in gc.get_objects() if isinstance(obj, httpx.AsyncClient))


def test_repeated_sync_runs_do_not_accumulate_http_clients() -> None:
    """Each sync ``runner.run`` is a trio run of its own, with an HTTP client closed when
    that run ends; those closed clients must not pile up while the runner lives (a
    long-lived sync app calling ``run`` per request would grow without bound)."""
    with server_in_thread([gemini_text(f"answer {i}") for i in range(6)]) as threaded:
        runner = Runner(app_name=APP, agent=agent_for_url(threaded.base_url),
                        session_service=InMemorySessionService(), auto_create_session=True)
        with runner:
            list(runner.run(user_id=USER, session_id="s", new_message=user_text("hi")))
            before = live_http_clients()
            for _ in range(5):
                list(runner.run(user_id=USER, session_id="s", new_message=user_text("hi")))
            after = live_http_clients()
    assert before == after


def test_asyncio_caller_against_the_fake_server() -> None:
    """``run_async`` inside ``asyncio.run`` (trio as a guest) talks to the fake server and
    ``await runner.close()`` from asyncio closes everything."""
    script: list[ScriptItem] = [gemini_function_call("get_weather", {"city": "Lima"}),
                                gemini_text("Sunny in Lima.")]

    async def main(base_url: str) -> list[Event]:
        service = InMemorySessionService()
        await service.create_session(app_name=APP, user_id=USER, session_id="aio")
        runner = Runner(app_name=APP, agent=agent_for_url(base_url), session_service=service)
        try:
            return [event async for event in runner.run_async(
                user_id=USER, session_id="aio", new_message=user_text("Weather in Lima?"))]
        finally:
            await runner.close()

    with server_in_thread(script) as threaded:
        events = asyncio.run(main(threaded.base_url))
    assert ["get_weather"] == [c.name for c in events[0].get_function_calls()]
    assert ["Sunny in Lima."] == texts(events[2:])
    assert 2 == len(threaded.server.requests)


# ---- the demo ---------------------------------------------------------------------------

DEMO_LINES = [
    "you> What's the weather in Paris?",
    "[concierge] calls get_weather(city='Paris')",
    "[concierge] get_weather -> {'city': 'Paris', 'report': 'sunny, 22 degrees'}",
    "[concierge] It's sunny in Paris, 22 degrees.",
    "you> And what time is it there?",
    "[concierge] calls get_local_time(city='Paris')",
    "[concierge] get_local_time -> {'city': 'Paris', 'time': '14:05'}",
    "[concierge] It's 14:05 in Paris.",
    "you> I'd like to plan a trip. Can the travel planner help me?",
    "[concierge] calls transfer_to_agent(agent_name='travel_planner')",
    "[concierge] hands over to travel_planner",
    "[travel_planner] Day 1: the Louvre and a walk along the Seine. Day 2: Montmartre and a "
    "picnic at the Eiffel Tower.",
    "done.",
]


def check_demo_transcript(out: str) -> None:
    lines = [line.strip() for line in out.splitlines() if line.strip()]
    assert "runs offline against a fake Gemini server" in lines[0]
    for expected in DEMO_LINES:
        assert expected in lines, f"missing {expected!r} in:\n{out}"
    positions = [lines.index(expected) for expected in DEMO_LINES]
    assert sorted(positions) == positions


@pytest.mark.slow
async def test_demo_runs_offline_in_process() -> None:
    """Without an API key ``run_demo`` starts a fake server, says so in its first line, and
    prints the tool calls, their results, the answers and the hand-over to travel_planner."""
    out = io.StringIO()
    await run_demo(out)
    check_demo_transcript(out.getvalue())


def offline_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ENV_VARS}
    env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.mark.slow
def test_demo_command_python_dash_m() -> None:
    """``python -m trio_adk demo`` with no API key in the environment runs offline."""
    result = subprocess.run([sys.executable, "-m", "trio_adk", "demo"], cwd=ROOT,
                            env=offline_env(), capture_output=True, text=True, timeout=120)
    assert 0 == result.returncode, result.stderr
    check_demo_transcript(result.stdout)


@pytest.mark.slow
def test_demo_console_script() -> None:
    """The ``trio-adk demo`` console script installed in the venv runs offline."""
    script = Path(sys.executable).parent / "trio-adk"
    if not script.exists():
        found = shutil.which("trio-adk")
        if found is None:
            pytest.skip("the trio-adk console script is not installed")
        script = Path(found)
    result = subprocess.run([str(script), "demo"], cwd=ROOT, env=offline_env(),
                            capture_output=True, text=True, timeout=120)
    assert 0 == result.returncode, result.stderr
    check_demo_transcript(result.stdout)


@pytest.mark.slow
def test_the_demo_keeps_its_history_across_runs(tmp_path: Path) -> None:
    """``trio-adk demo`` keeps its sessions in a SQLite file by default: the second run
    finds the first (12 events: three turns); ``--no-history`` keeps nothing."""
    env = {**offline_env(), "XDG_DATA_HOME": str(tmp_path)}
    outputs = []
    for args in ([], [], ["--no-history"]):
        result = subprocess.run([sys.executable, "-m", "trio_adk", "demo", *args], cwd=ROOT,
                                env=env, capture_output=True, text=True, timeout=120)
        assert 0 == result.returncode, result.stderr
        check_demo_transcript(result.stdout)
        outputs.append(result.stdout.splitlines()[1])
    db = tmp_path / "trio-adk" / "demo" / "session.db"
    assert outputs[0] == f"history: kept in {db}; this is the first run (--no-history keeps " \
                         "nothing)."
    assert outputs[1].startswith(f"history: {db} holds 1 earlier run(s) of this demo;")
    assert outputs[1].endswith("with 12 events. This run adds one.")
    assert not outputs[2].startswith("history:")
