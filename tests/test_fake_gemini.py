"""FakeGeminiServer speaks Gemini's REST, SSE and Live wire protocols on loopback."""

from __future__ import annotations

import base64
import functools
import json
import signal
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import trio
import trio_websocket
from google import genai
from google.genai import errors as genai_errors
from google.genai import types

from helpers import self_signed
from trio_adk.testing import (
    FakeGeminiServer,
    GeminiReply,
    LiveScript,
    LiveSession,
    RecordedRequest,
    gemini_blocked,
    gemini_chunks,
    gemini_error,
    gemini_function_call,
    gemini_function_calls,
    gemini_parts,
    gemini_responses,
    gemini_text,
)

MODEL = "gemini-2.0-flash"
GENERATE = f"/v1beta/models/{MODEL}:generateContent"
STREAM = f"/v1beta/models/{MODEL}:streamGenerateContent?alt=sse"
LIVE_PATH = "/ws/google.ai.generativelanguage.v1beta.GenerativeService.BidiGenerateContent"
HELLO = {"contents": [{"role": "user", "parts": [{"text": "hello there"}]}]}


@pytest.fixture
async def client_for() -> AsyncIterator[Any]:
    """A factory of httpx clients bound to a server, closed when the test ends."""
    clients: list[httpx.AsyncClient] = []

    def make(server: FakeGeminiServer, **kwargs: Any) -> httpx.AsyncClient:
        client = httpx.AsyncClient(base_url=server.base_url, timeout=None, **kwargs)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.aclose()


def sse_events(raw: bytes) -> list[Any]:
    """Parse an SSE body the strict way Gemini frames it."""
    assert raw.endswith(b"\r\n\r\n")
    events = raw.split(b"\r\n\r\n")[:-1]
    out = []
    for event in events:
        assert event.startswith(b"data: ")
        assert b"\n" not in event
        out.append(json.loads(event[len(b"data: "):]))
    return out


# -- REST --------------------------------------------------------------------------------------


async def test_generate_content_json_reply(client_for: Any) -> None:
    """A unary call gets a pretty JSON GenerateContentResponse that google-genai's types accept."""
    async with FakeGeminiServer(script=[gemini_text("Hi!")]) as server:
        response = await client_for(server).post(GENERATE, json=HELLO)
    assert 200 == response.status_code
    assert "application/json; charset=UTF-8" == response.headers["content-type"]
    body = response.json()
    assert {"candidates", "usageMetadata", "modelVersion", "responseId"} == set(body)
    assert [{"content": {"role": "model", "parts": [{"text": "Hi!"}]}, "finishReason": "STOP",
             "index": 0}] == body["candidates"]
    assert {"promptTokenCount": 2, "candidatesTokenCount": 1, "totalTokenCount": 3,
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 2}]} == body["usageMetadata"]
    assert MODEL == body["modelVersion"]
    parsed = types.GenerateContentResponse.model_validate(body)
    assert "Hi!" == parsed.text
    assert 0 == server.script_remaining


async def test_sse_framing_is_byte_exact(client_for: Any) -> None:
    """Each chunk is exactly ``data: <compact json>\\r\\n\\r\\n``; the last carries finishReason."""
    reply = gemini_chunks(["Hel", "lo"], usage=None, model_version="v-1")
    async with (FakeGeminiServer(script=[reply]) as server,
                client_for(server).stream("POST", STREAM, json=HELLO) as response):
        raw = b"".join([chunk async for chunk in response.aiter_raw()])
        headers = response.headers
    assert "text/event-stream" == headers["content-type"]
    assert "chunked" == headers["transfer-encoding"]
    expected = (
        b'data: {"candidates":[{"content":{"role":"model","parts":[{"text":"Hel"}]},"index":0}],'
        b'"modelVersion":"v-1","responseId":"fake-response-1"}\r\n\r\n'
        b'data: {"candidates":[{"content":{"role":"model","parts":[{"text":"lo"}]},'
        b'"finishReason":"STOP","index":0}],"modelVersion":"v-1","responseId":"fake-response-1"}'
        b"\r\n\r\n"
    )
    assert expected == raw
    record = server.requests[0]
    assert record.stream
    assert "streamGenerateContent" == record.kind
    assert {"alt": "sse"} == record.query


async def test_unary_call_merges_streamed_chunks(client_for: Any) -> None:
    """A chunked reply answered unary is one response with the texts joined and the calls kept."""
    reply = GeminiReply(chunks=(({"text": "a"},), ({"text": "b"},),
                                ({"functionCall": {"name": "f", "args": {}}},)),
                        finish_reason="MAX_TOKENS")
    async with FakeGeminiServer(script=[reply]) as server:
        body = (await client_for(server).post(GENERATE, json=HELLO)).json()
    candidate = body["candidates"][0]
    assert [{"text": "ab"}, {"functionCall": {"name": "f", "args": {}}}] == \
        candidate["content"]["parts"]
    assert "MAX_TOKENS" == candidate["finishReason"]
    assert 3 == body["usageMetadata"]["candidatesTokenCount"]


async def test_stream_without_alt_sse_is_a_json_array(client_for: Any) -> None:
    """``:streamGenerateContent`` without ``alt=sse`` answers one JSON array of chunks."""
    async with FakeGeminiServer(script=[gemini_chunks(["x", "y"])]) as server:
        response = await client_for(server).post(
            f"/v1beta/models/{MODEL}:streamGenerateContent", json=HELLO)
    chunks = response.json()
    assert ["x", "y"] == [c["candidates"][0]["content"]["parts"][0]["text"] for c in chunks]


@pytest.mark.parametrize(("path", "version", "model"), [
    (f"/v1beta/models/{MODEL}:generateContent", "v1beta", f"models/{MODEL}"),
    (f"/v1/models/{MODEL}:generateContent", "v1", f"models/{MODEL}"),
    (f"/v1alpha/models/{MODEL}:generateContent", "v1alpha", f"models/{MODEL}"),
    (f"///v1beta/models/{MODEL}:generateContent", "v1beta", f"models/{MODEL}"),
    ("/v1beta/tunedModels/my-tuned-7:generateContent", "v1beta", "tunedModels/my-tuned-7"),
    (f"/v1beta/models/{MODEL}%3AgenerateContent", "v1beta", f"models/{MODEL}"),
])
async def test_routes(path: str, version: str, model: str) -> None:
    """Versions v1beta/v1/v1alpha, repeated leading slashes, tuned models, an escaped colon."""
    async with FakeGeminiServer(script=["ok"]) as server, httpx.AsyncClient() as client:
        response = await client.post(server.base_url + path, json=HELLO)
    assert 200 == response.status_code
    record = server.requests[0]
    assert (version, model, "generateContent") == (record.api_version, record.model, record.kind)
    assert model.removeprefix("models/") == record.model_id


@pytest.mark.parametrize(("method", "path"), [
    ("POST", "/v1beta/models/x:countTokens"),
    ("POST", "/v2/models/x:generateContent"),
    ("GET", GENERATE),
    ("GET", "/"),
])
async def test_unknown_routes_get_a_google_404(client_for: Any, method: str, path: str) -> None:
    """Anything else is 404 with a Google error body, and uses no script item."""
    async with FakeGeminiServer(script=["unused"]) as server:
        response = await client_for(server).request(method, path)
    assert 404 == response.status_code
    error = response.json()["error"]
    assert (404, "NOT_FOUND") == (error["code"], error["status"])
    assert 1 == server.script_remaining
    assert "unknown" == server.requests[0].kind


async def test_keep_alive_serves_many_requests_on_one_connection(client_for: Any) -> None:
    """Sequential calls reuse one connection (h11 keep-alive), also after an SSE stream."""
    async with FakeGeminiServer(script=["one", gemini_chunks(["t", "wo"]), "three"]) as server:
        client = client_for(server)
        await client.post(GENERATE, json=HELLO)
        async with client.stream("POST", STREAM, json=HELLO) as response:
            await response.aread()
        last = await client.post(GENERATE, json=HELLO)
    assert "three" == last.json()["candidates"][0]["content"]["parts"][0]["text"]
    peers = {r.headers.get("host") for r in server.requests}
    assert 1 == len(peers)


async def test_concurrent_calls_consume_the_script_in_arrival_order(client_for: Any) -> None:
    """Concurrent calls are all answered, each by its own script item."""
    async with FakeGeminiServer(script=[str(i) for i in range(8)]) as server:
        client = client_for(server)
        answers: list[str] = []

        async def call() -> None:
            body = (await client.post(GENERATE, json=HELLO)).json()
            answers.append(body["candidates"][0]["content"]["parts"][0]["text"])

        async with trio.open_nursery() as nursery:
            for _ in range(8):
                nursery.start_soon(call)
    assert sorted(str(i) for i in range(8)) == sorted(answers)


async def test_parts_function_calls_blocked_and_verbatim(client_for: Any) -> None:
    """Several parts, calls with and without ids, a blocked prompt, verbatim responses."""
    thought = {"text": "hmm", "thought": True, "thought_signature": "-_8A"}
    script = [
        gemini_parts(thought, "answer", types.Part(text="!")),
        gemini_function_calls(("a", {"x": 1}), ("b", {})),
        gemini_function_call("c", {"k": "v"}, id="fc-1"),
        gemini_blocked("PROHIBITED_CONTENT", message="no"),
        gemini_responses({"candidates": [{"content": {"role": "model", "parts": []},
                                          "finish_reason": "SAFETY"}]}),
    ]
    async with FakeGeminiServer(script=script) as server:
        client = client_for(server)
        bodies = [(await client.post(GENERATE, json=HELLO)).json() for _ in script]
    parts = bodies[0]["candidates"][0]["content"]["parts"]
    assert [{"text": "hmm", "thought": True, "thoughtSignature": "+/8A"}, {"text": "answer!"}] \
        == parts
    assert [{"functionCall": {"name": "a", "args": {"x": 1}}},
            {"functionCall": {"name": "b", "args": {}}}] == \
        bodies[1]["candidates"][0]["content"]["parts"]
    assert {"name": "c", "args": {"k": "v"}, "id": "fc-1"} == \
        bodies[2]["candidates"][0]["content"]["parts"][0]["functionCall"]
    assert "candidates" not in bodies[3]
    assert {"blockReason": "PROHIBITED_CONTENT", "blockReasonMessage": "no"} == \
        bodies[3]["promptFeedback"]
    assert "SAFETY" == bodies[4]["candidates"][0]["finishReason"]
    for body in bodies:
        types.GenerateContentResponse.model_validate(body)


# -- errors and faults -------------------------------------------------------------------------


async def test_scripted_errors_have_status_and_google_body(client_for: Any) -> None:
    """Errors carry the HTTP status, code/message/status/details, RetryInfo; list wrapping."""
    info = {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "RATE_LIMIT_EXCEEDED"}
    script = [
        gemini_error(429, "slow down", details=[info], retry_delay=1.5),
        gemini_error(503, list_wrapped=True),
        gemini_error(400, status="FAILED_PRECONDITION"),
    ]
    async with FakeGeminiServer(script=script) as server:
        client = client_for(server)
        first = await client.post(GENERATE, json=HELLO)
        async with client.stream("POST", STREAM, json=HELLO) as second:
            await second.aread()
        third = await client.post(GENERATE, json=HELLO)
    assert 429 == first.status_code
    assert {"error": {"code": 429, "message": "slow down", "status": "RESOURCE_EXHAUSTED",
                      "details": [info, {"@type": "type.googleapis.com/google.rpc.RetryInfo",
                                         "retryDelay": "1.5s"}]}} == first.json()
    assert 503 == second.status_code
    assert "application/json; charset=UTF-8" == second.headers["content-type"]
    wrapped = second.json()
    assert isinstance(wrapped, list)
    assert ("UNAVAILABLE", 503) == (wrapped[0]["error"]["status"], wrapped[0]["error"]["code"])
    assert ("FAILED_PRECONDITION", 400) == (third.json()["error"]["status"], third.status_code)


async def test_mid_stream_error_event(client_for: Any) -> None:
    """``stream_error`` sends ``data: {"error": ...}`` after the chunks; unary gets the status."""
    reply = gemini_chunks(["par", "tial"], stream_error=gemini_error(500, "boom"))
    async with FakeGeminiServer(script=[reply, reply]) as server:
        client = client_for(server)
        async with client.stream("POST", STREAM, json=HELLO) as response:
            events = sse_events(await response.aread())
        unary = await client.post(GENERATE, json=HELLO)
    assert 200 == response.status_code
    assert 3 == len(events)
    assert {"error": {"code": 500, "message": "boom", "status": "INTERNAL"}} == events[-1]
    assert 500 == unary.status_code


async def test_delays_follow_trio_time(autojump_clock: trio.abc.Clock, client_for: Any) -> None:
    """``delay`` and ``chunk_delay`` wait in trio time: a MockClock makes them instant."""
    reply = gemini_chunks(["a", "b", "c"], delay=30, chunk_delay=5)
    async with FakeGeminiServer(script=[gemini_text("x", delay=12), reply,
                                        gemini_error(503, delay=7)]) as server:
        client = client_for(server)
        start = trio.current_time()
        await client.post(GENERATE, json=HELLO)
        assert 12 <= trio.current_time() - start < 13
        start = trio.current_time()
        arrivals = []
        async with client.stream("POST", STREAM, json=HELLO) as response:
            async for _ in response.aiter_raw():
                arrivals.append(trio.current_time() - start)
        assert 40 <= arrivals[-1] < 41
        start = trio.current_time()
        assert 503 == (await client.post(GENERATE, json=HELLO)).status_code
        assert 7 <= trio.current_time() - start < 8


async def test_dropped_stream_is_a_protocol_error_and_the_server_goes_on(client_for: Any) -> None:
    """``fault="drop"`` closes the connection after k chunks: the client sees an incomplete
    chunked body; the next request (on a new connection) is served normally."""
    reply = gemini_chunks(["one", "two", "three"], fault="drop", fault_after=1)
    async with FakeGeminiServer(script=[reply, "after"]) as server:
        client = client_for(server)
        received: list[bytes] = []

        async def read_all() -> None:
            async with client.stream("POST", STREAM, json=HELLO) as response:
                async for chunk in response.aiter_raw():
                    received.append(chunk)

        with pytest.raises(httpx.RemoteProtocolError):
            await read_all()
        assert b"one" in b"".join(received)
        assert b"two" not in b"".join(received)
        after = await client.post(GENERATE, json=HELLO)
    assert 200 == after.status_code
    assert [] == server.errors


async def test_dropped_unary_reply(client_for: Any) -> None:
    """A unary drop with ``fault_after=0`` sends nothing; with 1, half a body."""
    script = [gemini_text("x", fault="drop"), gemini_text("x", fault="drop", fault_after=1), "ok"]
    async with FakeGeminiServer(script=script) as server:
        client = client_for(server)
        with pytest.raises(httpx.RemoteProtocolError):
            await client.post(GENERATE, json=HELLO)
        with pytest.raises(httpx.RemoteProtocolError):
            await client.post(GENERATE, json=HELLO)
        assert 200 == (await client.post(GENERATE, json=HELLO)).status_code


async def test_truncated_stream_and_malformed_json(client_for: Any) -> None:
    """``truncate`` ends the body cleanly mid-event; ``malformed`` sends invalid JSON."""
    script = [
        gemini_chunks(["one", "two"], fault="truncate", fault_after=1),
        gemini_chunks(["one"], fault="malformed", fault_after=1),
        gemini_text("x", fault="malformed"),
        gemini_text("x", fault="truncate"),
    ]
    async with FakeGeminiServer(script=script) as server:
        client = client_for(server)
        async with client.stream("POST", STREAM, json=HELLO) as response:
            truncated = await response.aread()
        async with client.stream("POST", STREAM, json=HELLO) as response:
            malformed = await response.aread()
        bad_unary = await client.post(GENERATE, json=HELLO)
        cut_unary = await client.post(GENERATE, json=HELLO)
    first, rest = truncated.split(b"\r\n\r\n", 1)
    assert b"one" in first
    assert rest.startswith(b"data: {") and not rest.endswith(b"\r\n\r\n")
    events = malformed.split(b"\r\n\r\n")
    json.loads(events[0][len(b"data: "):])
    with pytest.raises(json.JSONDecodeError):
        json.loads(events[1][len(b"data: "):])
    for response in (bad_unary, cut_unary):
        assert 200 == response.status_code
        with pytest.raises(json.JSONDecodeError):
            response.json()


async def test_invalid_request_json_is_400_and_recorded(client_for: Any) -> None:
    """A body that is not JSON gets 400 INVALID_ARGUMENT and does not use the script."""
    async with FakeGeminiServer(script=["x"]) as server:
        response = await client_for(server).post(GENERATE, content=b"{nope")
    assert (400, "INVALID_ARGUMENT") == (response.status_code, response.json()["error"]["status"])
    assert (None, b"{nope") == (server.requests[0].body, server.requests[0].raw_body)
    assert 1 == server.script_remaining


async def test_client_disconnecting_mid_response_does_not_kill_the_server(
        client_for: Any) -> None:
    """A client that leaves mid-stream (or mid-delay) leaves the server serving."""
    slow = gemini_chunks([f"c{i}" for i in range(50)], chunk_delay=0.01)
    async with FakeGeminiServer(script=[slow, gemini_text("x", delay=10), "still here"]) as server:
        client = client_for(server)
        async with client.stream("POST", STREAM, json=HELLO) as response:
            async for _ in response.aiter_raw():
                break  # leave after the first chunk: the connection is closed
        with trio.move_on_after(0.05):
            await client.post(GENERATE, json=HELLO)
        await trio.sleep(0.05)  # the server notices the dead connections
        last = await client.post(GENERATE, json=HELLO)
    assert "still here" == last.json()["candidates"][0]["content"]["parts"][0]["text"]
    assert [] == server.errors


# -- recording and normalisation ---------------------------------------------------------------


async def test_requests_are_recorded_normalised(client_for: Any) -> None:
    """snake_case keys become camelCase outside Struct fields; URL-safe base64 is decoded."""
    blob = bytes([0xFB, 0xFF, 0xBF, 0x00, 0x10])
    url_safe = base64.urlsafe_b64encode(blob).decode()
    assert "-" in url_safe or "_" in url_safe
    body = {
        "contents": [
            {"role": "user", "parts": [
                {"text": "look"},
                {"inline_data": {"mime_type": "image/png", "data": url_safe.rstrip("=")}},
            ]},
            {"role": "model", "parts": [{"function_call": {"name": "f", "args": {"snake_arg": 1}},
                                          "thought_signature": url_safe}]},
            {"role": "user", "parts": [{"function_response": {
                "name": "f", "response": {"result_value": {"nested_key": 2}}}}]},
        ],
        "system_instruction": {"parts": [{"text": "be brief"}], "role": "user"},
        "tools": [{"function_declarations": [
            {"name": "f", "parameters_json_schema": {
                "type": "object", "properties": {"snake_arg": {"type": "integer"}},
                "additional_properties": False}},
            {"name": "g", "parameters": {"type": "OBJECT", "properties": {
                "city_name": {"type": "STRING", "max_length": "5"}}, "required": ["city_name"]},
             "response": {"type": "OBJECT", "properties": {"out_value": {"type": "STRING"}}}},
        ]}],
        "tool_config": {"function_calling_config": {"mode": "ANY",
                                                    "allowed_function_names": ["f"]}},
        "generation_config": {"thinking_config": {"include_thoughts": True},
                              "response_json_schema": {"type": "object", "min_properties": 1}},
        "labels": {"my_label": "x"},
    }
    async with FakeGeminiServer(script=["ok"]) as server:
        await client_for(server).post(GENERATE, json=body)
    got = server.requests[0].body
    standard = base64.b64encode(blob).decode()
    assert {"mimeType": "image/png", "data": standard} == got["contents"][0]["parts"][1][
        "inlineData"]
    assert blob == base64.b64decode(got["contents"][0]["parts"][1]["inlineData"]["data"])
    assert {"functionCall": {"name": "f", "args": {"snake_arg": 1}},
            "thoughtSignature": standard} == got["contents"][1]["parts"][0]
    assert {"name": "f", "response": {"result_value": {"nested_key": 2}}} == \
        got["contents"][2]["parts"][0]["functionResponse"]
    assert {"parts": [{"text": "be brief"}], "role": "user"} == got["systemInstruction"]
    declarations = got["tools"][0]["functionDeclarations"]
    assert body["tools"][0]["function_declarations"][0]["parameters_json_schema"] == \
        declarations[0]["parametersJsonSchema"]
    assert {"type": "OBJECT", "properties": {"city_name": {"type": "STRING", "maxLength": "5"}},
            "required": ["city_name"]} == declarations[1]["parameters"]
    assert {"type": "OBJECT", "properties": {"out_value": {"type": "STRING"}}} == \
        declarations[1]["response"]
    assert {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["f"]}} == \
        got["toolConfig"]
    assert {"thinkingConfig": {"includeThoughts": True},
            "responseJsonSchema": {"type": "object", "min_properties": 1}} == \
        got["generationConfig"]
    assert {"my_label": "x"} == got["labels"]
    record = server.requests[0]
    assert ["look"] == record.texts()
    assert record.timestamp > 0
    assert ("POST", "/v1beta/models/gemini-2.0-flash:generateContent") == \
        (record.method, record.path)


async def test_api_key_from_header_or_query(client_for: Any) -> None:
    """The key is taken from ``x-goog-api-key`` or ``?key=``, and recorded with its source."""
    async with FakeGeminiServer(script=["a", "b", "c"]) as server:
        client = client_for(server)
        await client.post(GENERATE, json=HELLO, headers={"x-goog-api-key": "from-header"})
        await client.post(GENERATE, json=HELLO, params={"key": "from-query"})
        await client.post(GENERATE, json=HELLO)
    assert [("from-header", "header"), ("from-query", "query"), (None, None)] == [
        (r.api_key, r.api_key_source) for r in server.requests]
    assert "from-header" == server.requests[0].headers["x-goog-api-key"]


async def test_require_api_key(client_for: Any) -> None:
    """With ``require_api_key`` a missing or wrong key gets 400 API_KEY_INVALID."""
    async with FakeGeminiServer(script=["ok"], require_api_key="sesame") as server:
        client = client_for(server)
        missing = await client.post(GENERATE, json=HELLO)
        wrong = await client.post(GENERATE, json=HELLO, headers={"x-goog-api-key": "nope"})
        right = await client.post(GENERATE, json=HELLO, params={"key": "sesame"})
    for response in (missing, wrong):
        assert 400 == response.status_code
        error = response.json()["error"]
        assert "INVALID_ARGUMENT" == error["status"]
        assert "API_KEY_INVALID" == error["details"][0]["reason"]
    assert 200 == right.status_code


# -- script handling and the built-in responder ------------------------------------------------


async def test_exhausted_script_responders_and_raising_responders(client_for: Any) -> None:
    """An exhausted script answers 500; responders (sync or async) compute replies; a raising
    responder gets the client a 500 and lands in ``server.errors``."""
    async def later(request: RecordedRequest) -> GeminiReply:
        await trio.sleep(0)
        return gemini_text(f"async saw {request.texts()}")

    def explode(request: RecordedRequest) -> str:
        raise ValueError("responder bug")

    async with FakeGeminiServer(script=[later, explode, "done"]) as server:
        client = client_for(server)
        first = (await client.post(GENERATE, json=HELLO)).json()
        broken = await client.post(GENERATE, json=HELLO)
        await client.post(GENERATE, json=HELLO)
        exhausted = await client.post(GENERATE, json=HELLO)
        server.extend_script(["more"])
        assert 1 == server.script_remaining
        more = await client.post(GENERATE, json=HELLO)
    assert "async saw ['hello there']" == first["candidates"][0]["content"]["parts"][0]["text"]
    assert 500 == broken.status_code
    assert [ValueError] == [type(e) for e in server.errors]
    assert 500 == exhausted.status_code
    assert "exhausted" in exhausted.json()["error"]["message"]
    assert 200 == more.status_code
    async with FakeGeminiServer(script=["scripted"], responder=lambda r: "fallback") as server:
        client = client_for(server)
        answers = [(await client.post(GENERATE, json=HELLO)).json() for _ in range(2)]
    assert ["scripted", "fallback"] == [a["candidates"][0]["content"]["parts"][0]["text"]
                                        for a in answers]


WEATHER_OPENAPI = {"functionDeclarations": [{
    "name": "get_weather", "description": "Weather for a city.",
    "parameters": {"type": "OBJECT", "properties": {
        "city": {"type": "STRING"}, "days": {"type": "INTEGER"},
        "unit": {"type": "STRING", "enum": ["CELSIUS", "FAHRENHEIT"]}},
        "required": ["city", "days", "unit"]}}]}
ADD_JSON_SCHEMA = {"function_declarations": [{
    "name": "add", "parameters_json_schema": {
        "type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "number"},
                                         "note": {"type": ["string", "null"]}},
        "required": ["a", "b"]}}]}


async def test_builtin_responder_echoes_and_calls_named_tools(client_for: Any) -> None:
    """No script: echo the last user text; a named tool is called with args from the text
    (``parameters`` or ``parametersJsonSchema``); a function response gets a short text."""
    def ask(text: str, tools: list[Any]) -> dict[str, Any]:
        return {"contents": [{"role": "user", "parts": [{"text": text}]}], "tools": tools}

    async with FakeGeminiServer() as server:
        client = client_for(server)

        async def call(body: dict[str, Any]) -> list[dict[str, Any]]:
            response = await client.post(GENERATE, json=body)
            return list(response.json()["candidates"][0]["content"]["parts"])

        echo = await call(ask("hi there friend", [WEATHER_OPENAPI]))
        weather = await call(ask("use get_weather for Paris over 3 days", [WEATHER_OPENAPI]))
        adding = await call(ask("please add 2 and 3.5", [ADD_JSON_SCHEMA, WEATHER_OPENAPI]))
        explicit = await call(ask('get_weather city="New York" days=4 unit=FAHRENHEIT',
                                  [WEATHER_OPENAPI]))
        result = await call({"contents": [
            {"role": "user", "parts": [{"text": "use get_weather for Paris"}]},
            {"role": "model", "parts": [{"functionCall": {"name": "get_weather", "args": {}}}]},
            {"role": "user", "parts": [{"functionResponse": {
                "name": "get_weather", "response": {"result": "sunny, 21C"}}}]}],
            "tools": [WEATHER_OPENAPI]})
        async with client.stream("POST", STREAM, json=ask("stream me a reply", [])) as response:
            streamed = sse_events(await response.aread())
    assert [{"text": "You said: hi there friend"}] == echo
    assert {"name": "get_weather", "args": {"city": "Paris", "days": 3, "unit": "CELSIUS"}} == \
        weather[0]["functionCall"]
    assert {"name": "add", "args": {"a": 2, "b": 3.5}} == adding[0]["functionCall"]
    assert {"city": "New York", "days": 4, "unit": "FAHRENHEIT"} == \
        explicit[0]["functionCall"]["args"]
    assert [{"text": "The get_weather tool returned sunny, 21C."}] == result
    assert 1 < len(streamed)
    assert "You said: stream me a reply" == "".join(
        e["candidates"][0]["content"]["parts"][0]["text"] for e in streamed)


# -- Live WebSocket ----------------------------------------------------------------------------


@asynccontextmanager
async def live_client(server: FakeGeminiServer, path: str | None = None, *,
                      headers: list[tuple[bytes, bytes]] | None = None,
                      ssl_context: ssl.SSLContext | None = None,
                      ) -> AsyncIterator[trio_websocket.WebSocketConnection]:
    """A trio-websocket client on a stream this helper owns and closes.

    trio-websocket 0.12.2 clients never close their TCP stream when the *server* starts the
    closing handshake (``_aclose`` returns early once a close reason is set), which would leak
    the socket; owning the stream makes every test close it.
    """
    resource = path or server.live_url().split(str(server.port), 1)[1]
    stream: trio.abc.Stream = await trio.open_tcp_stream("127.0.0.1", server.port)
    if ssl_context is not None:
        stream = trio.SSLStream(stream, ssl_context, server_hostname="127.0.0.1")
    error: BaseException | None = None
    try:
        async with trio.open_nursery() as nursery:
            ws = await trio_websocket.wrap_client_stream(nursery, stream, "127.0.0.1", resource,
                                                         extra_headers=headers or [])
            try:
                yield ws
            except BaseException as exc:  # re-raised below, not wrapped in a group
                error = exc
            finally:
                with trio.move_on_after(2, shield=True):
                    await ws.aclose()
                nursery.cancel_scope.cancel()
    finally:
        await trio.aclose_forcefully(stream)
    if error is not None:
        raise error


async def live_setup(ws: trio_websocket.WebSocketConnection, **setup: Any) -> bytes | str:
    await ws.send_message(json.dumps({"setup": {"model": "models/gemini-live", **setup}}))
    return await ws.get_message()


async def test_live_setup_echo_and_close() -> None:
    """setup → setupComplete as a binary frame of pretty JSON; a text turn is echoed with
    turnComplete; the client's close (1000) is answered with 1000."""
    async with FakeGeminiServer() as server:
        async with live_client(server) as ws:
            reply = await live_setup(ws, generation_config={"response_modalities": ["TEXT"]})
            await ws.send_message(json.dumps({"client_content": {
                "turns": [{"role": "user", "parts": [{"text": "hi"}]}], "turn_complete": True}}))
            turn = await ws.get_message()
            done = await ws.get_message()
            await ws.send_message(json.dumps({"realtimeInput": {"text": "again"}}))
            again = await ws.get_message()
            await ws.get_message()
            await ws.send_message(json.dumps({"realtime_input": {"audio": {
                "data": base64.urlsafe_b64encode(b"\xfb\xff\xbf").decode(),
                "mime_type": "audio/pcm;rate=16000"}}}))
        assert ws.closed is not None
        assert 1000 == ws.closed.code
        with trio.fail_after(5):
            while not server.requests or len(server.live_messages) < 4:
                await trio.sleep(0.001)
    assert b'{\n  "setupComplete": {}\n}\n' == reply
    assert isinstance(turn, bytes)
    model_turn = {"role": "model", "parts": [{"text": "You said: hi"}]}
    assert {"serverContent": {"modelTurn": model_turn}} == json.loads(turn)
    assert json.loads(done)["serverContent"] == {"turnComplete": True}
    assert "You said: again" == json.loads(again)["serverContent"]["modelTurn"]["parts"][0]["text"]
    record = server.requests[0]
    assert ("live", "v1beta", "models/gemini-live") == (record.kind, record.api_version,
                                                        record.model)
    assert {"setup": {"model": "models/gemini-live",
                      "generationConfig": {"responseModalities": ["TEXT"]}}} == record.body
    assert {"clientContent": {"turns": [{"role": "user", "parts": [{"text": "hi"}]}],
                              "turnComplete": True}} == server.live_messages[1].message
    assert {"realtimeInput": {"audio": {"data": "+/+/", "mimeType": "audio/pcm;rate=16000"}}} \
        == server.live_messages[3].message
    assert not server.live_messages[3].binary


@pytest.mark.parametrize("path", [
    "//ws/google.ai.generativelanguage.v1alpha.GenerativeService.BidiGenerateContent",
    "/ws/google.ai.generativelanguage.v1alpha.GenerativeService.BidiGenerateContentConstrained"
    "?access_token=auth_tokens/abc",
])
async def test_live_paths_and_key_sources(path: str) -> None:
    """The doubled leading slash the SDK sends and the Constrained (ephemeral token) method."""
    async with FakeGeminiServer(require_api_key="auth_tokens/abc") as server:
        headers = [] if "access_token" in path else [(b"x-goog-api-key", b"auth_tokens/abc")]
        async with live_client(server, path, headers=headers) as ws:
            assert b'{\n  "setupComplete": {}\n}\n' == await live_setup(ws)
    assert "v1alpha" == server.requests[0].api_version


async def test_live_wrong_key_setup_close_and_never_answer(autojump_clock: trio.abc.Clock) -> None:
    """A wrong key closes with 1008; ``close_code`` injects a close on setup; with
    ``answer_setup=False`` the client waits in vain (virtual time); ``setup_delay`` delays."""
    async with FakeGeminiServer(require_api_key="k") as server:
        async with live_client(server) as ws:
            with pytest.raises(trio_websocket.ConnectionClosed) as closed:
                await live_setup(ws)
        assert closed.value.reason is not None
        assert 1008 == closed.value.reason.code
        assert "API key not valid" in (closed.value.reason.reason or "")

        server.live = LiveScript(close_code=1011, close_reason="quota exceeded")
        async with live_client(server, headers=[(b"x-goog-api-key", b"k")]) as ws:
            with pytest.raises(trio_websocket.ConnectionClosed) as closed:
                await live_setup(ws)
        assert closed.value.reason is not None
        assert (1011, "quota exceeded") == (closed.value.reason.code, closed.value.reason.reason)

        server.live = LiveScript(answer_setup=False)
        async with live_client(server, LIVE_PATH + "?key=k") as ws:
            with trio.move_on_after(60) as waited:
                await live_setup(ws)
        assert waited.cancelled_caught

        server.live = LiveScript(setup_delay=20, session_id="s-1")
        async with live_client(server, LIVE_PATH + "?key=k") as ws:
            start = trio.current_time()
            reply = await live_setup(ws)
            assert 20 <= trio.current_time() - start < 21
        assert {"setupComplete": {"sessionId": "s-1"}} == json.loads(reply)


async def test_live_custom_handler_and_non_setup_first_message() -> None:
    """A custom handler runs the session; a first message that is not setup closes with 1007."""
    seen: list[str | None] = []

    async def handler(session: LiveSession) -> None:
        seen.append(session.model)
        await session.send({"toolCall": {"functionCalls": [{"id": "fc-1", "name": "f",
                                                            "args": {}}]}})
        message = await session.receive()
        seen.append(json.dumps(message))
        await session.close(1000, "bye")

    async with FakeGeminiServer(live=LiveScript(handler=handler)) as server:
        async with live_client(server) as ws:
            await live_setup(ws)
            assert "fc-1" == json.loads(await ws.get_message())["toolCall"]["functionCalls"][0][
                "id"]
            await ws.send_message(json.dumps({"tool_response": {"function_responses": [
                {"id": "fc-1", "name": "f", "response": {"snake_key": 1}}]}}))
            with pytest.raises(trio_websocket.ConnectionClosed) as closed:
                await ws.get_message()
        assert closed.value.reason is not None
        assert (1000, "bye") == (closed.value.reason.code, closed.value.reason.reason)
        async with live_client(server) as ws:
            await ws.send_message(json.dumps({"clientContent": {}}))
            with pytest.raises(trio_websocket.ConnectionClosed) as closed:
                await ws.get_message()
        assert closed.value.reason is not None
        assert 1007 == closed.value.reason.code
    assert "models/gemini-live" == seen[0]
    assert {"toolResponse": {"functionResponses": [
        {"id": "fc-1", "name": "f", "response": {"snake_key": 1}}]}} == json.loads(seen[1] or "")


async def test_closing_the_server_closes_live_sessions_with_1001() -> None:
    """Leaving ``async with`` sends Live clients 1001 promptly and closes every connection."""
    codes: list[int] = []

    async def client(server: FakeGeminiServer, *, task_status: trio.TaskStatus[None]) -> None:
        async with live_client(server) as ws:
            await live_setup(ws)
            task_status.started()
            with pytest.raises(trio_websocket.ConnectionClosed) as closed:
                await ws.get_message()
            assert closed.value.reason is not None
            codes.append(closed.value.reason.code)

    with trio.fail_after(5):
        async with trio.open_nursery() as nursery, FakeGeminiServer() as server:
            await nursery.start(client, server)
            await nursery.start(client, server)
            start = trio.current_time()
    assert trio.current_time() - start < 1
    assert [1001, 1001] == codes


async def test_server_exit_by_exception_is_not_wrapped() -> None:
    """An exception from the ``async with`` body propagates as itself (no ExceptionGroup)."""
    with pytest.raises(KeyError):
        async with FakeGeminiServer():
            raise KeyError("mine")


# -- the official google-genai client ----------------------------------------------------------


async def test_official_google_genai_client_accepts_the_answers() -> None:
    """google-genai's sync client (in a worker thread) parses our JSON, SSE and errors."""
    script = [
        gemini_text("Hello from the fake."),
        gemini_function_call("get_weather", {"city": "Paris"}),
        gemini_chunks(["Str", "eam", "ed."]),
        gemini_error(429, retry_delay=2),
        gemini_chunks(["ok"], stream_error=gemini_error(503)),
    ]
    async with FakeGeminiServer(script=script) as server:
        client = genai.Client(api_key="x", http_options=types.HttpOptions(base_url=server.base_url))
        try:
            generate = functools.partial(client.models.generate_content, model=MODEL)
            text = await trio.to_thread.run_sync(functools.partial(generate, contents="Hi"))
            call = await trio.to_thread.run_sync(functools.partial(
                generate, contents="Weather in Paris?",
                config=types.GenerateContentConfig(tools=[types.Tool(function_declarations=[
                    types.FunctionDeclaration(name="get_weather", parameters_json_schema={
                        "type": "object", "properties": {"city": {"type": "string"}}})])])))

            def stream() -> list[types.GenerateContentResponse]:
                return list(client.models.generate_content_stream(model=MODEL, contents="go"))

            chunks = await trio.to_thread.run_sync(stream)
            with pytest.raises(genai_errors.ClientError) as rate_limited:
                await trio.to_thread.run_sync(functools.partial(generate, contents="again"))
            with pytest.raises(genai_errors.ServerError) as mid_stream:
                await trio.to_thread.run_sync(stream)
        finally:
            client.close()
    assert "Hello from the fake." == text.text
    assert text.usage_metadata is not None
    assert 1 + 4 == text.usage_metadata.total_token_count
    assert call.function_calls is not None
    assert [("get_weather", {"city": "Paris"})] == [(c.name, c.args) for c in call.function_calls]
    assert ["Str", "eam", "ed."] == [c.text for c in chunks]
    assert types.FinishReason.STOP == chunks[-1].candidates[0].finish_reason  # type: ignore[index]
    assert (429, "RESOURCE_EXHAUSTED") == (rate_limited.value.code, rate_limited.value.status)
    assert 503 == mid_stream.value.code
    record = server.requests[1]
    assert "header" == record.api_key_source
    assert "get_weather" == record.body["tools"][0]["functionDeclarations"][0]["name"]
    assert record.headers["user-agent"].startswith("google-genai-sdk/")


# -- TLS and the command line ------------------------------------------------------------------


async def test_tls() -> None:
    """With ``ssl_context`` the same port serves https (REST + SSE) and wss (Live)."""
    server_context, client_context = self_signed()
    async with FakeGeminiServer(script=["secure", gemini_chunks(["a", "b"])],
                                ssl_context=server_context) as server:
        assert server.base_url.startswith("https://127.0.0.1:")
        async with httpx.AsyncClient(base_url=server.base_url, verify=client_context) as client:
            unary = await client.post(GENERATE, json=HELLO)
            async with client.stream("POST", STREAM, json=HELLO) as response:
                events = sse_events(await response.aread())
        async with live_client(server, ssl_context=client_context) as ws:
            assert b'{\n  "setupComplete": {}\n}\n' == await live_setup(ws)
    assert "secure" == unary.json()["candidates"][0]["content"]["parts"][0]["text"]
    assert 2 == len(events)
    assert server.live_url().startswith("wss://")


@asynccontextmanager
async def _command_line(*options: str) -> AsyncIterator[tuple[trio.Process, str]]:
    """The fake server's command line in a subprocess, and the base URL it printed; killed
    on the way out if the test did not stop it."""
    process = await trio.lowlevel.open_process(
        [sys.executable, "-m", "trio_adk.testing.fake_gemini", "--port", "0", *options],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        assert process.stdout is not None
        line = b""
        with trio.fail_after(30):
            while not line.endswith(b"\n"):
                data = await process.stdout.receive_some(1)
                assert data, "the CLI exited before printing its URL"
                line += data
        yield process, line.decode().strip()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        if process.stdout is not None:
            await process.stdout.aclose()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
async def test_command_line_serves_until_interrupted(signum: int) -> None:
    """``python -m trio_adk.testing.fake_gemini --port 0`` prints its URL, serves the built-in
    responder and exits 0 on Ctrl-C (SIGINT) or SIGTERM."""
    async with _command_line() as (process, base_url):
        assert base_url.startswith("http://127.0.0.1:")
        async with httpx.AsyncClient(base_url=base_url) as client:
            response = await client.post(GENERATE, json=HELLO)
        assert "You said: hello there" == \
            response.json()["candidates"][0]["content"]["parts"][0]["text"]
        process.send_signal(signum)
        with trio.fail_after(30):
            assert 0 == await process.wait()


async def test_command_line_tls_with_a_throwaway_certificate(tmp_path: Path) -> None:
    """``--tls-ca PATH`` serves https and wss with a fresh certificate whose authority is
    written to PATH before the URL is printed: trusting PATH is enough to connect, and the
    system trust store alone is not."""
    ca = tmp_path / "ca.pem"
    async with _command_line("--tls-ca", str(ca), "--echo-audio") as (process, base_url):
        assert base_url.startswith("https://127.0.0.1:")
        trusted = ssl.create_default_context(cafile=str(ca))
        async with httpx.AsyncClient(base_url=base_url, verify=trusted) as client:
            response = await client.post(GENERATE, json=HELLO)
        assert 200 == response.status_code
        async with httpx.AsyncClient(base_url=base_url) as untrusted:
            with pytest.raises(httpx.ConnectError) as refused:
                await untrusted.post(GENERATE, json=HELLO)
        causes: list[BaseException] = []
        cause: BaseException | None = refused.value
        while cause is not None:
            causes.append(cause)
            cause = cause.__cause__ or cause.__context__
        assert any(isinstance(c, ssl.SSLCertVerificationError) for c in causes), causes
        live = "wss://" + base_url.split("://", 1)[1] + LIVE_PATH
        async with trio_websocket.open_websocket_url(live, ssl_context=trusted) as ws:
            await ws.send_message(json.dumps({"setup": {"model": "models/live"}}))
            assert "setupComplete" in json.loads(await ws.get_message())
            await ws.send_message(json.dumps({"realtimeInput": {"audio": {
                "data": base64.b64encode(b"pcm!").decode(), "mimeType": "audio/pcm"}}}))
            echo = json.loads(await ws.get_message())
        part = echo["serverContent"]["modelTurn"]["parts"][0]
        assert b"pcm!" == base64.b64decode(part["inlineData"]["data"])
        process.send_signal(signal.SIGTERM)
        with trio.fail_after(30):
            assert 0 == await process.wait()


async def test_garbage_bytes_get_a_400_and_the_server_goes_on(client_for: Any) -> None:
    """A peer that does not speak HTTP gets a 400 and a closed connection; nothing breaks."""
    async with FakeGeminiServer(script=["fine"]) as server:
        stream = await trio.open_tcp_stream("127.0.0.1", server.port)
        async with stream:
            await stream.send_all(b"NOT HTTP AT ALL\r\n\r\n")
            answer = b""
            with trio.fail_after(5):
                while data := await stream.receive_some():
                    answer += data
        response = await client_for(server).post(GENERATE, json=HELLO)
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert 200 == response.status_code
    assert [] == server.errors
