"""Claude through the anthropic SDK on trio, against FakeAnthropicServer on loopback.

Real SDK, real sockets: tool-using conversations end to end (trio, asyncio and sync callers,
streaming and not), the request and reply mapping, retries under virtual time, error mapping,
stream faults, the input_json_delta assembly split anywhere (a property test), credentials.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import signal
import subprocess
import sys
import traceback
from contextlib import aclosing
from pathlib import Path
from typing import Any

import hypothesis.strategies as st
import pytest
import trio
from google.genai import errors as genai_errors
from google.genai import types
from hypothesis import HealthCheck, given, settings
from pydantic import BaseModel

from canned_http import canned_server, redirect
from helpers import APP, USER, make_runner, run_text, serve_in_thread, stored_events, user_text
from trio_adk import Agent, Runner
from trio_adk.agents import RunConfig, StreamingMode
from trio_adk.errors import ModelConfigError, ModelConnectionError, ModelResponseError
from trio_adk.models import LlmRequest, LlmResponse
from trio_adk.models._registry import LLMRegistry
from trio_adk.models.anthropic_llm import AnthropicGenerateContentConfig, AnthropicLlm, Claude
from trio_adk.sessions import InMemorySessionService
from trio_adk.testing.fake_anthropic import (
    AnthropicReply,
    FakeAnthropicServer,
    TextBlock,
    ThinkingBlock,
    ToolUseBlock,
    anthropic_error,
    anthropic_text,
    anthropic_tool_use,
    anthropic_tool_uses,
)

KEY = "sk-ant-TEST-credential-4c1e7a"
MODEL = "claude-sonnet-4-20250514"
SSE = RunConfig(streaming_mode=StreamingMode.SSE)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL",
                 "GOOGLE_CLOUD_PROJECT", "GOOGLE_CLOUD_LOCATION"):
        monkeypatch.delenv(name, raising=False)


def get_weather(city: str) -> dict[str, str]:
    """The weather in a city."""
    return {"city": city, "weather": "sunny"}


def get_time(city: str) -> dict[str, str]:
    """The local time in a city."""
    return {"city": city, "time": "10:30"}


def claude(server: FakeAnthropicServer | str, **kwargs: Any) -> AnthropicLlm:
    base = server if isinstance(server, str) else server.base_url
    return Claude(model=MODEL, base_url=base, api_key=KEY, **kwargs)


def weather_agent(model: Any) -> Agent:
    return Agent(name="weather", model=model, instruction="You report the weather.",
                 tools=[get_weather, get_time])


def final_texts(events: list[Any]) -> list[str]:
    return ["".join(p.text or "" for p in e.content.parts) for e in events
            if e.content and e.content.parts and not e.partial
            and any(p.text for p in e.content.parts)]


async def call(model: AnthropicLlm, request: LlmRequest | None = None, *,
               stream: bool = False) -> list[LlmResponse]:
    request = request or LlmRequest(contents=[user_text("hi")])
    async with aclosing(model.generate_content_async(request, stream=stream)) as responses:
        return [r async for r in responses]


async def failure(model: AnthropicLlm, *, stream: bool = False,
                  request: LlmRequest | None = None) -> BaseException:
    with pytest.raises(Exception) as info:
        await call(model, request, stream=stream)
    return info.value


# ---- conversations end to end -------------------------------------------------------------


@pytest.mark.parametrize("streaming", [False, True])
async def test_tool_conversation_under_trio(streaming: bool) -> None:
    """The agent calls a tool Claude asked for, sends the result back under the same id,
    and stores Claude's answer."""
    script = [anthropic_tool_use("get_weather", {"city": "Paris"}, id="toolu_01",
                                 text="Let me look."),
              anthropic_text("It is sunny in Paris.", chunks=["It is ", "sunny ", "in Paris."])]
    async with FakeAnthropicServer(script, require_api_key=KEY) as server:
        model = claude(server)
        runner = await make_runner(weather_agent(model))
        try:
            events = await run_text(runner, "Weather in Paris?",
                                    run_config=SSE if streaming else None)
        finally:
            await runner.close()
    assert "It is sunny in Paris." == final_texts(events)[-1]
    calls = [e for e in events if e.get_function_calls()]
    assert [("toolu_01", "get_weather", {"city": "Paris"})] == [
        (c.id, c.name, c.args) for e in calls for c in e.get_function_calls()]
    first, second = server.message_requests
    assert streaming == first.stream
    assert "You report the weather." in first.body["system"]
    assert {"get_weather", "get_time"} == set(first.tool_names)
    tool = next(t for t in first.body["tools"] if t["name"] == "get_weather")
    assert {"type": "object", "properties": {"city": {"type": "string"}},
            "required": ["city"]} == {k: tool["input_schema"][k] for k in
                                      ("type", "properties", "required")}
    assert {"type": "auto"} == first.body["tool_choice"]
    assert 8192 == first.body["max_tokens"]
    assert [{"role": "user", "content": [{"type": "text", "text": "Weather in Paris?"}]}] == \
        first.body["messages"]
    assistant, results = second.body["messages"][1:]
    assert "assistant" == assistant["role"]
    assert {"type": "tool_use", "id": "toolu_01", "name": "get_weather",
            "input": {"city": "Paris"}} == assistant["content"][-1]
    assert "user" == results["role"]
    assert [{"type": "tool_result", "tool_use_id": "toolu_01", "is_error": False,
             "content": json.dumps({"city": "Paris", "weather": "sunny"})}] == results["content"]
    if streaming:
        partial = [e for e in events if e.partial]
        assert ["It is ", "sunny ", "in Paris."] == [e.content.parts[0].text
                                                     for e in partial][-3:]


@pytest.mark.parametrize("streaming", [False, True])
async def test_several_tool_calls_in_one_reply(streaming: bool) -> None:
    script = [anthropic_tool_uses([("get_weather", {"city": "Oslo"}),
                                   ("get_time", {"city": "Oslo"})]),
              anthropic_text("Sunny, 10:30.")]
    async with FakeAnthropicServer(script) as server:
        runner = await make_runner(weather_agent(claude(server)))
        try:
            events = await run_text(runner, "Oslo?", run_config=SSE if streaming else None)
        finally:
            await runner.close()
    assert "Sunny, 10:30." == final_texts(events)[-1]
    results = server.message_requests[1].body["messages"][-1]["content"]
    calls = server.message_requests[1].body["messages"][-2]["content"]
    assert [c["id"] for c in calls] == [r["tool_use_id"] for r in results]
    assert 2 == len(set(r["tool_use_id"] for r in results))


def test_tool_conversation_from_asyncio() -> None:
    """``asyncio.run`` callers (trio guest run), streaming and not."""
    server = FakeAnthropicServer([
        anthropic_tool_use("get_weather", {"city": "Rome"}), anthropic_text("Sunny in Rome."),
        anthropic_tool_use("get_time", {"city": "Rome"}), anthropic_text("10:30 in Rome.")])
    with serve_in_thread(server) as base_url:  # type: ignore[arg-type]
        async def main() -> list[str]:
            runner = Runner(app_name=APP, agent=weather_agent(claude(base_url)),
                            session_service=InMemorySessionService())
            session = await runner.session_service.create_session(app_name=APP, user_id=USER)
            got = []
            for text, config in (("Weather?", None), ("Time?", SSE)):
                events = [e async for e in runner.run_async(
                    user_id=USER, session_id=session.id, new_message=user_text(text),
                    run_config=config)]
                got.append(final_texts(events)[-1])
            await runner.close()
            return got

        assert ["Sunny in Rome.", "10:30 in Rome."] == asyncio.run(main())
    assert 4 == len(server.message_requests)
    assert [False, False, True, True] == [r.stream for r in server.message_requests]


def test_tool_conversation_from_sync_code() -> None:
    """The sync ``run()`` generator (its own trio run in a worker thread)."""
    server = FakeAnthropicServer([
        anthropic_tool_use("get_weather", {"city": "Kyiv"}), anthropic_text("Sunny in Kyiv."),
        anthropic_tool_use("get_weather", {"city": "Lviv"}), anthropic_text("Sunny in Lviv.")])
    with serve_in_thread(server) as base_url:  # type: ignore[arg-type]
        service = InMemorySessionService()
        trio.run(lambda: service.create_session(app_name=APP, user_id=USER, session_id="s1"))
        runner = Runner(app_name=APP, agent=weather_agent(claude(base_url)),
                        session_service=service)
        got = []
        for text, config in (("Kyiv?", None), ("Lviv?", SSE)):
            events = list(runner.run(user_id=USER, session_id="s1",
                                     new_message=user_text(text), run_config=config))
            got.append(final_texts(events)[-1])
    assert ["Sunny in Kyiv.", "Sunny in Lviv."] == got


async def test_model_name_resolves_through_the_registry(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """``Agent(model="claude-...")`` resolves to Claude, configured from the environment."""
    assert Claude is LLMRegistry.resolve("claude-3-5-haiku-latest")
    async with FakeAnthropicServer(["Hello from the fake."]) as server:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.base_url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
        runner = await make_runner(Agent(name="a", model="claude-3-5-haiku-latest"))
        try:
            events = await run_text(runner, "hi")
        finally:
            await runner.close()
    assert ["Hello from the fake."] == final_texts(events)
    assert "claude-3-5-haiku-latest" == server.message_requests[0].model
    assert KEY == server.message_requests[0].api_key


# ---- mapping ------------------------------------------------------------------------------


async def test_request_mapping_of_config_media_and_history() -> None:
    config = types.GenerateContentConfig(
        system_instruction=types.Content(parts=[types.Part(text="Be brief."),
                                                types.Part(text="Be kind.")]),
        temperature=0.2, top_p=0.9, top_k=40, stop_sequences=["END"], max_output_tokens=77)
    contents = [
        types.Content(role="user", parts=[
            types.Part(text="Look:"),
            types.Part(inline_data=types.Blob(mime_type="image/png", data=b"\x89PNG")),
            types.Part(inline_data=types.Blob(mime_type="application/pdf", data=b"%PDF"))]),
        types.Content(role="model", parts=[
            types.Part(text="hmm", thought=True, thought_signature=b"sig-1"),
            types.Part(function_call=types.FunctionCall(id="bad id!", name="f", args={"x": 1})),
            types.Part(function_call=types.FunctionCall(name="g", args={}))]),
        types.Content(role="user", parts=[
            types.Part(function_response=types.FunctionResponse(id="bad id!", name="f",
                                                                 response={"result": [1, 2]})),
            types.Part(function_response=types.FunctionResponse(name="g",
                                                                 response={"a": "b"}))]),
        types.Content(role="user", parts=[types.Part(text="")]),
    ]
    async with FakeAnthropicServer(["ok"]) as server:
        await call(claude(server), LlmRequest(contents=contents, config=config))
    body = server.message_requests[0].body
    assert "Be brief.\nBe kind." == body["system"]
    assert (0.2, 0.9, 40, ["END"], 77) == (body["temperature"], body["top_p"], body["top_k"],
                                           body["stop_sequences"], body["max_tokens"])
    user, assistant, results, empty = body["messages"]
    assert [{"type": "text", "text": "Look:"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                         "data": "iVBORw=="}},
            {"type": "document", "source": {"type": "base64", "media_type": "application/pdf",
                                            "data": "JVBERg=="}}] == user["content"]
    thinking, bad, unnamed = assistant["content"]
    assert {"type": "thinking", "thinking": "hmm", "signature": "sig-1"} == thinking
    assert bad["id"] != "bad id!" and unnamed["id"]
    first, second = results["content"]
    assert (bad["id"], "[1, 2]") == (first["tool_use_id"], first["content"])
    assert (unnamed["id"], '{"a": "b"}') == (second["tool_use_id"], second["content"])
    assert {"role": "user", "content": [{"type": "text", "text": "."}]} == empty


async def test_thinking_and_effort_mapping() -> None:
    async with FakeAnthropicServer(["a", "b", "c", "d"]) as server:
        model = claude(server)
        for budget in (0, -1, 2048):
            config = types.GenerateContentConfig(
                temperature=0.5, thinking_config=types.ThinkingConfig(thinking_budget=budget))
            if budget:
                with pytest.warns(UserWarning, match="temperature"):
                    await call(model, LlmRequest(contents=[user_text("x")], config=config))
            else:
                await call(model, LlmRequest(contents=[user_text("x")], config=config))
        await call(model, LlmRequest(contents=[user_text("x")],
                                     config=AnthropicGenerateContentConfig(effort="high")))
        with pytest.raises(ModelConfigError, match="thinking_budget"):
            await call(model, LlmRequest(contents=[user_text("x")], config=types.
                       GenerateContentConfig(thinking_config=types.ThinkingConfig())))
    bodies = [r.body for r in server.message_requests]
    assert [{"type": "disabled"}, {"type": "adaptive", "display": "summarized"},
            {"type": "enabled", "budget_tokens": 2048}] == [b["thinking"] for b in bodies[:3]]
    assert [True, False, False] == ["temperature" in b for b in bodies[:3]]
    assert {"effort": "high"} == bodies[3]["output_config"]


@pytest.mark.parametrize("streaming", [False, True])
async def test_reply_mapping(streaming: bool) -> None:
    reply = AnthropicReply(
        content=(ThinkingBlock(thinking="pondering", signature="s1"),
                 TextBlock(text="Hello"), ToolUseBlock(name="f", input={"q": [1]}, id="t1")),
        stop_reason="max_tokens", model="claude-x-1",
        usage={"input_tokens": 10, "output_tokens": 7, "cache_read_input_tokens": 3})
    async with FakeAnthropicServer([reply]) as server:
        responses = await call(claude(server), stream=streaming)
    final = responses[-1]
    assert not final.partial
    thought, text, tool = final.content.parts
    assert (True, "pondering", b"s1") == (thought.thought, thought.text,
                                          thought.thought_signature)
    assert "Hello" == text.text
    assert ("t1", "f", {"q": [1]}) == (tool.function_call.id, tool.function_call.name,
                                       tool.function_call.args)
    assert types.FinishReason.MAX_TOKENS == final.finish_reason
    assert "claude-x-1" == final.model_version
    usage = final.usage_metadata
    assert (13, 7, 20, 3) == (usage.prompt_token_count, usage.candidates_token_count,
                              usage.total_token_count, usage.cached_content_token_count)
    if streaming:
        assert [("pondering", True), ("Hello", None)] == [
            (r.content.parts[0].text, r.content.parts[0].thought) for r in responses[:-1]]
        assert all(r.partial for r in responses[:-1])


class Forecast(BaseModel):
    city: str
    degrees: int


@pytest.mark.parametrize("streaming", [False, True])
async def test_output_schema_goes_as_a_forced_tool_and_comes_back_as_text(
        streaming: bool) -> None:
    """As in ADK: an agent's output_schema is sent as the ``structured_output`` tool Claude
    must call; the call comes back as the JSON text reply (streamed as partial text too)."""
    reply = anthropic_tool_use("structured_output", {"city": "Oslo", "degrees": 3},
                               json_chunks=['{"city": "Os', 'lo", "degrees": 3}'])
    async with FakeAnthropicServer([reply]) as server:
        agent = Agent(name="a", model=claude(server), output_schema=Forecast,
                      output_key="forecast")
        runner = await make_runner(agent)
        try:
            events = await run_text(runner, "Oslo?", run_config=SSE if streaming else None)
            session = await runner.session_service.get_session(app_name=APP, user_id=USER,
                                                               session_id="s1")
        finally:
            await runner.close()
    body = server.message_requests[0].body
    assert ["structured_output"] == [t["name"] for t in body["tools"]]
    assert {"type": "object", "properties": {"city": {"type": "string", "title": "City"},
                                             "degrees": {"type": "integer",
                                                         "title": "Degrees"}},
            "required": ["city", "degrees"], "title": "Forecast"} == \
        body["tools"][0]["input_schema"]
    assert {"type": "tool", "name": "structured_output", "disable_parallel_tool_use": True} \
        == body["tool_choice"]
    assert [{"city": "Oslo", "degrees": 3}] == [json.loads(t) for t in final_texts(events)]
    assert {"city": "Oslo", "degrees": 3} == session.state["forecast"]
    assert not [e for e in events if e.get_function_calls()]
    if streaming:
        assert ['{"city": "Os', 'lo", "degrees": 3}'] == [
            e.content.parts[0].text for e in events if e.partial]


async def test_a_schema_that_is_not_an_object_is_nested() -> None:
    config = types.GenerateContentConfig(response_schema=types.Schema(
        type=types.Type.ARRAY, items=types.Schema(type=types.Type.STRING)))
    reply = anthropic_tool_use("structured_output", {"response": ["a", "b"]})
    async with FakeAnthropicServer([reply]) as server:
        responses = await call(claude(server), LlmRequest(contents=[user_text("x")],
                                                          config=config))
    assert {"type": "object", "properties": {"response": {"type": "array",
                                                          "items": {"type": "string"}}},
            "required": ["response"]} == server.message_requests[0].body["tools"][0][
                "input_schema"]
    assert '["a", "b"]' == responses[-1].content.parts[0].text


# ---- retries and errors -------------------------------------------------------------------


@pytest.mark.parametrize("streaming", [False, True])
async def test_retry_after_is_honoured(streaming: bool, autojump_clock: Any) -> None:
    async with FakeAnthropicServer([anthropic_error(429, retry_after=7),
                                    anthropic_error(529, "Overloaded"), "done"]) as server:
        responses = await call(claude(server, retry_initial_delay=2.0), stream=streaming)
    assert "done" == responses[-1].content.parts[0].text
    first, second, third = (r.timestamp for r in server.message_requests)
    assert second - first >= 7
    assert 2.0 <= third - second <= 4.0  # the second backoff: 2 s x 2 x [0.5, 1]


async def test_long_retry_after_is_raised_at_once(autojump_clock: Any) -> None:
    async with FakeAnthropicServer([anthropic_error(429, "slow down", retry_after=120)]
                                   ) as server:
        exc = await failure(claude(server))
    assert isinstance(exc, genai_errors.ClientError)
    assert (429, "slow down", "rate_limit_error") == (exc.code, exc.message, exc.status)
    assert any("120 s" in note for note in exc.__notes__)
    assert 1 == len(server.message_requests)


@pytest.mark.parametrize("streaming", [False, True])
async def test_server_errors_exhaust_the_retries(streaming: bool, autojump_clock: Any) -> None:
    async with FakeAnthropicServer([anthropic_error(500)] * 3) as server:
        exc = await failure(claude(server), stream=streaming)
    assert isinstance(exc, genai_errors.ServerError)
    assert (500, "api_error") == (exc.code, exc.status)
    assert 3 == len(server.message_requests)


async def test_client_errors_are_not_retried(autojump_clock: Any) -> None:
    async with FakeAnthropicServer([anthropic_error(400, "messages: bad")],
                                   require_api_key="other") as server:
        exc = await failure(claude(server))
        assert isinstance(exc, genai_errors.ClientError)
        assert (401, "authentication_error") == (exc.code, exc.status)
    assert 1 == len(server.message_requests)


async def test_unreachable_server(autojump_clock: Any) -> None:
    with trio.socket.socket() as sock:
        await sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    exc = await failure(claude(f"http://127.0.0.1:{port}"))
    assert isinstance(exc, ModelConnectionError)
    assert "3 attempt(s)" in "".join(exc.__notes__)


@pytest.mark.parametrize("streaming", [False, True])
async def test_redirects_are_not_followed(streaming: bool) -> None:
    async with FakeAnthropicServer(["never"]) as elsewhere, \
            canned_server(redirect(elsewhere.base_url + "/v1/messages")) as proxy:
        exc = await failure(claude(proxy.base_url), stream=streaming)
    assert isinstance(exc, ModelConnectionError)
    assert elsewhere.base_url in str(exc)
    assert [] == elsewhere.requests


async def test_configuration_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ModelConfigError, match="ANTHROPIC_API_KEY"):
        await call(AnthropicLlm())
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "p")
    with pytest.raises(ModelConfigError, match="Vertex AI"):
        await call(Claude())
    with pytest.raises(ModelConfigError, match="Vertex AI"):
        await call(Claude(model="projects/p/locations/l/publishers/anthropic/models/claude-x",
                          api_key=KEY))
    with pytest.raises(ModelConfigError, match="client="):
        await call(AnthropicLlm(api_key=KEY, client=object()))


# ---- stream faults ------------------------------------------------------------------------


CHUNKED = ["one ", "two ", "three"]


@pytest.mark.parametrize(("fault", "after"), [
    ("drop", 5), ("truncate", 5), ("end_early", 6), ("malformed", 5)])
async def test_a_broken_stream_is_an_error_and_nothing_is_stored(fault: str, after: int) -> None:
    """After partial text: the run fails with ModelResponseError; the session keeps only the
    user's message."""
    reply = anthropic_text("one two three", chunks=CHUNKED, fault=fault, fault_after=after)
    async with FakeAnthropicServer([reply]) as server:
        runner = await make_runner(Agent(name="a", model=claude(server)))
        try:
            with pytest.raises(ModelResponseError):
                await run_text(runner, "count", run_config=SSE)
            stored = await stored_events(runner)
        finally:
            await runner.close()
    assert ["user"] == [e.author for e in stored]
    assert 1 == len(server.message_requests)


async def test_error_event_before_content_is_retried(autojump_clock: Any) -> None:
    script = [anthropic_text("x", fault="error_event", fault_after=1), "second try"]
    async with FakeAnthropicServer(script) as server:
        responses = await call(claude(server), stream=True)
    assert "second try" == responses[-1].content.parts[0].text
    assert 2 == len(server.message_requests)


async def test_error_event_after_content_is_raised() -> None:
    reply = anthropic_text("one two three", chunks=CHUNKED, fault="error_event", fault_after=5)
    async with FakeAnthropicServer([reply]) as server:
        exc = await failure(claude(server), stream=True)
    assert isinstance(exc, genai_errors.ServerError)
    assert (529, "overloaded_error") == (exc.code, exc.status)


async def test_malformed_whole_reply() -> None:
    async with FakeAnthropicServer([anthropic_text("x", fault="malformed")]) as server:
        exc = await failure(claude(server))
    assert isinstance(exc, ModelResponseError)


async def test_cancelling_mid_stream_closes_the_connection() -> None:
    """The consumer cancels after the first partial while the server holds the stream open:
    the call ends at once (the SDK's response closed, shielded), nothing more is yielded, and
    no socket is left open (the suite's leak check)."""
    reply = anthropic_text("a b c d", chunks=["a ", "b ", "c ", "d"], stall_after=4)
    async with FakeAnthropicServer([reply]) as server:
        model = claude(server)
        got: list[LlmResponse] = []
        with trio.fail_after(30):  # a guard against a hang, not a timing assertion
            with trio.CancelScope() as scope:
                async with aclosing(model.generate_content_async(
                        LlmRequest(contents=[user_text("x")]), stream=True)) as responses:
                    async for response in responses:
                        got.append(response)
                        scope.cancel()
        await model.aclose()
    assert scope.cancelled_caught
    assert [("a ", True)] == [(r.content.parts[0].text, r.partial) for r in got]


async def test_cancelling_a_call_waiting_for_its_reply() -> None:
    """A unary call cancelled while the server sits on the request ends at once, with its
    connection closed (the suite's leak check), and is not retried."""
    arrived = trio.Event()

    async def never_answers(request: Any) -> str:
        arrived.set()
        await trio.sleep_forever()
        raise AssertionError("unreachable")

    async with FakeAnthropicServer(responder=never_answers, script=[]) as server:
        model = claude(server)
        with trio.fail_after(30):  # a guard against a hang, not a timing assertion
            async with trio.open_nursery() as nursery:
                nursery.start_soon(call, model)
                await arrived.wait()
                nursery.cancel_scope.cancel()
        await model.aclose()
    assert 1 == len(server.message_requests)


# ---- input_json_delta pieces split anywhere -------------------------------------------------

_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner,
                                                                max_size=3),
    max_leaves=8)


def _split(text: str, cuts: list[int]) -> list[str]:
    points = sorted({c % (len(text) + 1) for c in cuts} | {0, len(text)})
    return [text[a:b] for a, b in itertools.pairwise(points)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inputs=st.lists(st.dictionaries(st.text(min_size=1, max_size=6), _JSON_VALUES,
                                       max_size=4), min_size=1, max_size=3),
       cuts=st.lists(st.integers(0, 10**4), max_size=8),
       write_sizes=st.lists(st.integers(1, 64), min_size=1, max_size=5))
def test_tool_inputs_assemble_however_the_stream_is_split(
        inputs: list[dict[str, Any]], cuts: list[int], write_sizes: list[int]) -> None:
    """Tool inputs come out whole whatever the input_json_delta pieces and the byte writes
    (any event split across TCP writes, several events in one)."""
    blocks = tuple(ToolUseBlock(name=f"tool_{i}", input=value, id=f"toolu_{i}",
                                json_chunks=tuple(_split(json.dumps(value), cuts)))
                   for i, value in enumerate(inputs))
    reply = AnthropicReply(content=(TextBlock(text="Calling."), *blocks),
                           write_sizes=tuple(write_sizes))

    async def main() -> LlmResponse:
        async with FakeAnthropicServer([reply]) as server:
            model = claude(server)
            try:
                return (await call(model, stream=True))[-1]
            finally:
                await model.aclose()

    final = trio.run(main)
    calls = [p.function_call for p in final.content.parts if p.function_call]
    assert [(f"toolu_{i}", f"tool_{i}", value) for i, value in enumerate(inputs)] == [
        (c.id, c.name, c.args) for c in calls]


# ---- credentials --------------------------------------------------------------------------


def _everything(exc: BaseException) -> str:
    seen, texts, todo = set(), [], [exc]
    while todo:
        item = todo.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        texts += [str(item), repr(item), "".join(traceback.format_exception(item)),
                  "".join(traceback.TracebackException.from_exception(
                      item, capture_locals=True).format())]
        todo += [item.__cause__, item.__context__]
    return "\n".join(texts)


@pytest.mark.parametrize("streaming", [False, True])
async def test_the_key_goes_to_the_server_only(streaming: bool, caplog: Any,
                                               autojump_clock: Any) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("httpx2", "httpcore2", "anthropic", "trio_adk"):
        caplog.set_level(logging.DEBUG, logger=name)
    script = [anthropic_error(500), anthropic_error(529), anthropic_error(503),
              anthropic_text("x", chunks=["x"], fault="drop", fault_after=4),
              anthropic_error(401)]
    async with FakeAnthropicServer(script) as server:
        model = claude(server)
        failures = [await failure(model, stream=streaming) for _ in range(3)]
        await model.aclose()
    texts = "\n".join(_everything(exc) for exc in failures)
    texts += repr(model) + str(model.model_dump()) + model.model_dump_json()
    texts += "\n".join(record.getMessage() for record in caplog.records)
    assert KEY not in texts
    assert KEY not in repr(server)
    assert {KEY} == {r.api_key for r in server.requests}
    assert all(r.headers["authorization"] == f"Bearer {KEY}" for r in server.requests)


# ---- the command line and the benchmark -----------------------------------------------------


def test_fake_server_command_line_serves_the_builtin_responder(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """``python -m trio_adk.testing.fake_anthropic --port 0`` prints its URL, answers a
    Claude model (echo, then a declared tool the user names) and exits 0 on SIGTERM."""
    process = subprocess.Popen([sys.executable, "-m", "trio_adk.testing.fake_anthropic",
                                "--port", "0"], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", base_url)

        async def main() -> tuple[list[str], list[str]]:
            runner = await make_runner(weather_agent("claude-3-5-haiku-latest"))
            try:
                echo = await run_text(runner, "hello")
                tool = await run_text(runner, "use get_time please", run_config=SSE)
            finally:
                await runner.close()
            return final_texts(echo), final_texts(tool)

        echo, tool = trio.run(main)
        assert ["You said: hello"] == echo
        assert tool[-1].startswith("The tool returned: ")
    finally:
        process.send_signal(signal.SIGTERM)
        assert 0 == process.wait(timeout=30)
        if process.stdout is not None:
            process.stdout.close()


def test_benchmark_quick() -> None:
    """``benchmarks/anthropic_llm.py --quick --no-adk`` runs both clients and prints ratios."""
    script = Path(__file__).resolve().parent.parent / "benchmarks" / "anthropic_llm.py"
    done = subprocess.run([sys.executable, str(script), "--quick", "--no-adk"],
                          capture_output=True, text=True, timeout=300)
    assert 0 == done.returncode, done.stderr
    assert 2 == done.stdout.count("ratio"), done.stdout


# ---- the same mapping as google-adk ---------------------------------------------------------

_ADK_ENV = "TRIO_ADK_GOOGLE_ADK_PYTHON"
_MAPPING = Path(__file__).resolve().parent / "compat" / "anthropic_mapping.py"


def _adk_python_with_the_sdk() -> str | None:
    python = os.environ.get(_ADK_ENV)
    if not python:
        return None
    found = subprocess.run([python, "-c", "import anthropic, google.adk.models.anthropic_llm"],
                           capture_output=True, timeout=120, check=False)
    return python if found.returncode == 0 else None


@pytest.mark.slow
def test_mapping_matches_google_adk() -> None:
    """One conversation (text, image, PDF, thinking, tool calls with a valid and an invalid
    id, their results, code execution, empty text) and config (system, sampling, stop
    sequences, max tokens, tools from both schema kinds, thinking off) give the same request
    body as google-adk's AnthropicLlm, and one reply (thinking, text, tool_use, cache usage)
    the same LlmResponse."""
    python = _adk_python_with_the_sdk()
    if python is None:
        pytest.skip(f"{_ADK_ENV} is not set to an interpreter with google-adk 2.13 and the "
                    "anthropic SDK")

    def mapped(interpreter: str, which: str) -> Any:
        done = subprocess.run([interpreter, str(_MAPPING), which], capture_output=True,
                              text=True, timeout=120, check=False)
        assert 0 == done.returncode, done.stderr[-3000:]
        return json.loads(done.stdout.strip().splitlines()[-1])

    assert mapped(python, "adk") == mapped(sys.executable, "trio_adk")
