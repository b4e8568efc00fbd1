"""What the Gemini client raises for server answers it cannot use, over real sockets.

* A body (REST), a stream chunk (SSE) or a Live message that is valid JSON of the wrong shape
  is a ``ModelResponseError``, never google-genai's ``UnknownApiResponseError``, a pydantic
  error or an ``AttributeError`` from deep inside validation; so is a body that cannot be
  decoded.  None of them is retried.
* An SSE stream that ends cleanly without any ``finishReason`` was cut off: a
  ``ModelResponseError``, not a shorter reply.  Only a blocked prompt (``promptFeedback``
  with a ``blockReason``) legitimately ends without one.
* A ``RetryInfo`` delay longer than ``retry_max_delay`` is not waited out: the error is
  raised at once, with a note.  Shorter ones are honoured (trio's autojump clock: no real
  waiting, and the delays are checked in trio time).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import aclosing, asynccontextmanager
from typing import Any

import pytest
import trio
from google.genai import errors as genai_errors
from google.genai import types

from canned_http import answer, canned_server, json_body, sse_body
from helpers import USER, make_runner, run_text, stored_events, texts, user_text
from trio_adk import Agent, Runner
from trio_adk.agents import LiveRequestQueue, RunConfig, StreamingMode
from trio_adk.errors import ModelResponseError
from trio_adk.events import Event
from trio_adk.models import Gemini, LlmRequest, LlmResponse
from trio_adk.testing import (
    FakeGeminiServer,
    GeminiReply,
    LiveScript,
    ScriptItem,
    gemini_blocked,
    gemini_chunks,
    gemini_error,
    gemini_responses,
    gemini_text,
)

MODEL = "gemini-2.0-flash"
LIVE_MODEL = "gemini-2.0-flash-live-001"
SSE = RunConfig(streaming_mode=StreamingMode.SSE)
GOOD_CHUNK = {"candidates": [{"content": {"role": "model", "parts": [{"text": "fine "}]},
                              "index": 0}]}
WRONG_SHAPES: list[Any] = [
    {"candidates": 5},
    {"candidates": [{"content": "x"}]},
    {"candidates": [None]},
    {"candidates": [{"finishReason": 7}]},  # google-genai raises AttributeError for this one
    {"usageMetadata": {"promptTokenCount": "many"}},
    [1, 2],
    [],
    5,
    "a string",
    None,
]
SHAPE_IDS = ["candidates-number", "content-string", "candidate-null", "finish-reason-number",
             "usage-string", "list", "empty-list", "number", "string", "null"]


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GOOGLE_API_KEY", "GEMINI_API_KEY", "GOOGLE_GEMINI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


@asynccontextmanager
async def open_model(base_url: str, **kwargs: Any) -> AsyncIterator[Gemini]:
    kwargs.setdefault("retry_initial_delay", 0.01)
    model = Gemini(model=MODEL, base_url=base_url, api_key="k", **kwargs)
    try:
        yield model
    finally:
        await model.aclose()


async def drain(model: Gemini, seen: list[LlmResponse], *, stream: bool) -> None:
    """Every response of one call into ``seen`` (kept when the call raises)."""
    request = LlmRequest(model=MODEL, contents=[user_text("hello")])
    await collect_into(model.generate_content_async(request, stream=stream), seen)


async def collect_into(gen: Any, seen: list[Any]) -> None:
    """Append everything the async generator ``gen`` yields to ``seen``, closing it."""
    async with aclosing(gen) as items:
        async for item in items:
            seen.append(item)


def chain(exc: BaseException) -> list[type[BaseException]]:
    kinds: list[type[BaseException]] = []
    current: BaseException | None = exc
    while current is not None:
        kinds.append(type(current))
        current = current.__cause__
    return kinds


# ---- bodies of the wrong shape -----------------------------------------------------------------


@pytest.mark.parametrize("shape", WRONG_SHAPES, ids=SHAPE_IDS)
async def test_unary_body_of_the_wrong_shape_is_a_model_response_error(shape: Any) -> None:
    """A 200 whose JSON is not a ``GenerateContentResponse`` raises ``ModelResponseError``
    saying so (and asking whether the base URL is right); it is not retried."""
    async with canned_server(json_body(shape)) as server, \
            open_model(server.base_url, retry_attempts=3) as model:
        with pytest.raises(ModelResponseError) as caught:
            await drain(model, [], stream=False)
    assert 1 == len(server.requests)
    assert "GenerateContentResponse" in str(caught.value)
    assert "base URL" in str(caught.value)


@pytest.mark.parametrize("shape", WRONG_SHAPES, ids=SHAPE_IDS)
@pytest.mark.parametrize("position", ["first", "second"])
async def test_stream_chunk_of_the_wrong_shape_is_a_model_response_error(shape: Any,
                                                                         position: str) -> None:
    """An SSE chunk of the wrong shape raises ``ModelResponseError`` where it arrives: after
    the partial response of a good chunk before it; no retry."""
    chunks = [shape] if position == "first" else [GOOD_CHUNK, shape]
    async with canned_server(sse_body(*chunks)) as server, \
            open_model(server.base_url, retry_attempts=3) as model:
        seen: list[LlmResponse] = []
        with pytest.raises(ModelResponseError, match="stream chunk"):
            await drain(model, seen, stream=True)
    assert 1 == len(server.requests)
    assert ([] if position == "first" else ["fine "]) == \
        [r.content.parts[0].text for r in seen if r.content and r.content.parts]


async def test_validation_failures_keep_google_genais_error_as_the_cause() -> None:
    """The ``ModelResponseError`` of a body that does not validate has google-genai's
    ``UnknownApiResponseError`` as its cause (the pydantic details stay reachable)."""
    async with canned_server(json_body({"candidates": [{"content": "x"}]})) as server, \
            open_model(server.base_url) as model:
        with pytest.raises(ModelResponseError) as caught:
            await drain(model, [], stream=False)
    assert [ModelResponseError, genai_errors.UnknownApiResponseError] == \
        chain(caught.value)[:2]


@pytest.mark.parametrize("stream", [False, True], ids=["unary", "sse"])
async def test_a_body_that_cannot_be_decoded_is_a_model_response_error(stream: bool) -> None:
    """``content-encoding: gzip`` on bytes that are not gzip: ``ModelResponseError`` (httpx's
    ``DecodingError`` as the cause), not retried."""
    broken = answer(200, b"definitely not gzip", headers=[("content-encoding", "gzip")],
                    content_type="text/event-stream" if stream else "application/json")
    async with canned_server(broken) as server, \
            open_model(server.base_url, retry_attempts=3) as model:
        with pytest.raises(ModelResponseError, match="cannot be decoded") as caught:
            await drain(model, [], stream=stream)
    assert 1 == len(server.requests)
    assert "DecodingError" in repr(chain(caught.value))


async def test_absurdly_nested_json_is_a_model_response_error() -> None:
    """JSON nested deeper than Python's recursion limit: ``ModelResponseError``, not a
    ``RecursionError``."""
    deep = b"[" * 100_000 + b"]" * 100_000
    async with canned_server(answer(200, deep)) as server, open_model(server.base_url) as model:
        with pytest.raises(ModelResponseError, match="not JSON"):
            await drain(model, [], stream=False)
    events = b"data: " + deep + b"\r\n\r\n"
    async with canned_server(answer(200, events, content_type="text/event-stream")) as server, \
            open_model(server.base_url) as model:
        with pytest.raises(ModelResponseError, match="not JSON"):
            await drain(model, [], stream=True)


async def test_wrong_shape_through_the_runner_stores_nothing_from_the_model() -> None:
    """Through ``run_async``: the caller gets ``ModelResponseError``; the session holds only
    the user message."""
    async with canned_server(json_body({"candidates": 5})) as server, \
            open_model(server.base_url) as model, \
            await make_runner(Agent(name="assistant", model=model)) as runner:
        with pytest.raises(ModelResponseError):
            await run_text(runner, "hi")
        assert ["user"] == [e.author for e in await stored_events(runner)]


# ---- Live messages of the wrong shape ----------------------------------------------------------


LIVE_WRONG_SHAPES: list[Any] = [
    {"serverContent": 5},
    {"serverContent": {"modelTurn": {"parts": [{"text": 5}]}}},
    {"toolCall": {"functionCalls": [{"name": "f", "args": 5}]}},
    {"usageMetadata": {"trafficType": 5}},  # google-genai raises AttributeError for this one
    [1],
    "text",
    7,
]
LIVE_SHAPE_IDS = ["content-number", "text-number", "args-number", "enum-number", "list",
                  "string", "number"]


def sends_after_the_first_turn(message: Any) -> LiveScript:
    """A Live script that answers the first client turn with ``message`` (any JSON)."""
    async def handler(session: Any) -> None:
        while (received := await session.receive()) is not None:
            if "clientContent" in received:
                await session._ws.send_message(json.dumps(message))
        await trio.sleep_forever()

    return LiveScript(handler=handler)


@pytest.mark.parametrize("message", LIVE_WRONG_SHAPES, ids=LIVE_SHAPE_IDS)
async def test_live_message_of_the_wrong_shape_is_a_model_response_error(message: Any) -> None:
    """``receive()`` raises ``ModelResponseError`` for a server message that is not a
    ``LiveServerMessage`` object."""
    async with FakeGeminiServer(live=sends_after_the_first_turn(message)) as server:
        model = Gemini(model=LIVE_MODEL, base_url=server.base_url, api_key="k")
        async with model.connect(LlmRequest()) as conn:
            await conn.send_content(user_text("hi"))
            with trio.fail_after(10), pytest.raises(ModelResponseError, match="Gemini Live"):
                await collect_into(conn.receive(), [])


@pytest.mark.parametrize("reply", [{"setupComplete": 5},
                                   {"setupComplete": {}, "usageMetadata": {"trafficType": 5}}],
                         ids=["setup-number", "enum-number"])
async def test_live_setup_reply_of_the_wrong_shape_is_a_model_response_error(reply: Any) -> None:
    async with FakeGeminiServer(live=LiveScript(setup_reply=reply)) as server:
        model = Gemini(model=LIVE_MODEL, base_url=server.base_url, api_key="k")
        with trio.fail_after(10), pytest.raises(ModelResponseError, match="does not validate"):
            async with model.connect(LlmRequest()):
                pass


async def test_run_live_raises_model_response_error_for_a_wrong_shape() -> None:
    """Through ``Runner.run_live``: the partial text before the bad message arrives, then the
    caller gets ``ModelResponseError``; no model event is stored."""
    async def handler(session: Any) -> None:
        while (received := await session.receive()) is not None:
            if "clientContent" in received:
                await session.send({"serverContent": {"modelTurn": {
                    "role": "model", "parts": [{"text": "partial"}]}}})
                await session.send({"usageMetadata": {"trafficType": 5}})

    async with FakeGeminiServer(live=LiveScript(handler=handler)) as server:
        agent = Agent(name="assistant",
                      model=Gemini(model=LIVE_MODEL, base_url=server.base_url, api_key="k"))
        runner: Runner
        async with await make_runner(agent) as runner:
            queue = LiveRequestQueue()
            queue.send_content(user_text("hi"))
            seen: list[Event] = []
            events = runner.run_live(user_id=USER, session_id="s1", live_request_queue=queue,
                                     run_config=RunConfig(response_modalities=["TEXT"]))
            with trio.fail_after(10), pytest.raises(ModelResponseError):
                await collect_into(events, seen)
            stored = await stored_events(runner)
    assert ["partial"] == texts(seen)
    assert all(e.author == "user" for e in stored)


def test_wrong_shapes_are_json() -> None:
    """The shapes above are all JSON the canned server can send (guards the parametrisation)."""
    for shape in WRONG_SHAPES + LIVE_WRONG_SHAPES:
        assert json.loads(json.dumps(shape)) == shape
    assert types.GenerateContentResponse.model_validate(GOOD_CHUNK).candidates


# ---- streams that end without a finishReason ---------------------------------------------------


async def test_stream_ending_without_a_finish_reason_is_cut_off() -> None:
    """Chunks arrive (their partial responses are yielded), then the body ends cleanly with no
    ``finishReason`` in any chunk: ``ModelResponseError``, no final reply, no retry."""
    script: list[ScriptItem] = [gemini_chunks(["one ", "two"], finish_reason=None),
                                gemini_text("never sent")]
    async with FakeGeminiServer(script=script) as server, \
            open_model(server.base_url, retry_attempts=3) as model:
        seen: list[LlmResponse] = []
        with pytest.raises(ModelResponseError, match=r"after 2 chunk\(s\) without a finishReason"):
            await drain(model, seen, stream=True)
    assert [(True, "one "), (True, "two")] == \
        [(r.partial, r.content.parts[0].text) for r in seen]  # type: ignore[union-attr]
    assert 1 == len(server.requests)


async def test_an_empty_stream_is_cut_off() -> None:
    """A 200 event stream with no event at all: ``ModelResponseError``."""
    async with FakeGeminiServer(script=[GeminiReply(responses=())]) as server, \
            open_model(server.base_url) as model:
        seen: list[LlmResponse] = []
        with pytest.raises(ModelResponseError, match="after 0 chunk"):
            await drain(model, seen, stream=True)
    assert [] == seen


async def test_a_cut_off_stream_through_the_runner_stores_nothing_from_the_model() -> None:
    """Through ``run_async``: the partial events arrive, then ``ModelResponseError``; only the
    user message is stored."""
    script: list[ScriptItem] = [gemini_chunks(["one ", "two"], finish_reason=None)]
    async with FakeGeminiServer(script=script) as server, \
            open_model(server.base_url) as model, \
            await make_runner(Agent(name="assistant", model=model)) as runner:
        seen: list[Event] = []
        events = runner.run_async(user_id=USER, session_id="s1",
                                  new_message=user_text("count"), run_config=SSE)
        with pytest.raises(ModelResponseError):
            await collect_into(events, seen)
        assert ["one ", "two"] == texts(seen)
        assert ["user"] == [e.author for e in await stored_events(runner)]


async def test_a_finish_reason_on_any_chunk_completes_the_stream() -> None:
    """The finish reason need not be on the last chunk: a usage-only chunk may follow it."""
    done = {"candidates": [{"content": {"role": "model", "parts": [{"text": "done"}]},
                            "finishReason": "STOP", "index": 0}]}
    usage = {"usageMetadata": {"promptTokenCount": 1, "totalTokenCount": 2}}
    async with FakeGeminiServer(script=[gemini_responses(done, usage)]) as server, \
            open_model(server.base_url) as model:
        seen: list[LlmResponse] = []
        await drain(model, seen, stream=True)
    final = seen[-1]
    assert (False, "done", None) == \
        (final.partial, final.content.parts[0].text, final.error_code)  # type: ignore[union-attr]
    assert 2 == final.usage_metadata.total_token_count  # type: ignore[union-attr]


async def test_a_blocked_prompt_may_end_a_stream_without_a_finish_reason() -> None:
    """``promptFeedback.blockReason`` and no candidates (gemini-wire.md 1.3): the documented
    stream without a finishReason; it ends in an error response, not an exception."""
    async with FakeGeminiServer(script=[gemini_blocked("SAFETY", message="no")]) as server, \
            open_model(server.base_url) as model:
        seen: list[LlmResponse] = []
        await drain(model, seen, stream=True)
    assert ("SAFETY", "no", False) == (seen[-1].error_code, seen[-1].error_message,
                                       seen[-1].partial)


async def test_a_unary_reply_without_a_finish_reason_is_complete() -> None:
    """The rule is for streams only: a unary body is whole JSON, so it was not cut off."""
    async with FakeGeminiServer(script=[gemini_text("whole", finish_reason=None)]) as server, \
            open_model(server.base_url) as model:
        seen: list[LlmResponse] = []
        await drain(model, seen, stream=False)
    assert ["whole"] == [r.content.parts[0].text for r in seen]  # type: ignore[union-attr]


# ---- RetryInfo delays are capped by retry_max_delay --------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["unary", "sse"])
async def test_a_retry_delay_longer_than_retry_max_delay_is_not_waited_out(
        stream: bool, autojump_clock: trio.abc.Clock) -> None:
    """A 429 asking for an hour: the ``ClientError`` is raised at once (no trio time passes,
    no second request), with a note naming the delay and ``retry_max_delay``."""
    script: list[ScriptItem] = [gemini_error(429, retry_delay=3600), gemini_text("never sent")]
    async with FakeGeminiServer(script=script) as server, \
            open_model(server.base_url, retry_attempts=5, retry_max_delay=30) as model:
        start = trio.current_time()
        with pytest.raises(genai_errors.ClientError) as caught:
            await drain(model, [], stream=stream)
        elapsed = trio.current_time() - start
    assert elapsed < 1.0
    assert (1, 1) == (len(server.requests), server.script_remaining)
    assert 429 == caught.value.code
    notes = "\n".join(getattr(caught.value, "__notes__", []))
    assert "3600 s" in notes and "retry_max_delay (30 s)" in notes


@pytest.mark.parametrize(("asked", "cap"), [(30.0, 30.0), (45.0, 60.0)])
async def test_a_retry_delay_up_to_retry_max_delay_is_honoured(
        asked: float, cap: float, autojump_clock: trio.abc.Clock) -> None:
    """A delay at or under the cap is waited out exactly (in trio time), then retried."""
    script: list[ScriptItem] = [gemini_error(503, retry_delay=asked), gemini_text("ok")]
    async with FakeGeminiServer(script=script) as server, \
            open_model(server.base_url, retry_max_delay=cap) as model:
        seen: list[LlmResponse] = []
        await drain(model, seen, stream=True)
    assert "ok" == seen[-1].content.parts[0].text  # type: ignore[union-attr]
    first, second = server.requests
    assert asked <= second.timestamp - first.timestamp < asked + 1.0


async def test_computed_backoff_is_capped_by_retry_max_delay(
        autojump_clock: trio.abc.Clock) -> None:
    """Without RetryInfo the exponential backoff never exceeds ``retry_max_delay``."""
    script: list[ScriptItem] = [gemini_error(503), gemini_text("ok")]
    async with FakeGeminiServer(script=script) as server, \
            open_model(server.base_url, retry_initial_delay=100.0, retry_max_delay=5.0) as model:
        await drain(model, [], stream=False)
    first, second = server.requests
    assert 2.5 <= second.timestamp - first.timestamp <= 5.0 + 0.5
