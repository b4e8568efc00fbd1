"""A streamed Chat Completions reply assembles to the same response however it is split.

The stream is a real one: the bytes ``FakeOpenAIServer`` sends for a reply with text, non-ASCII
characters and parallel tool calls whose arguments arrive in deltas.  It is fed to the client's
pipeline (the SSE decoder, then :class:`StreamAssembler`) split at every byte boundary, split
into many random pieces (Hypothesis), and with the tool-call arguments cut at every character
boundary across deltas; the final response is always the unsplit one.  One test also sends it
over a socket in 1-byte HTTP chunks.
"""

from __future__ import annotations

import itertools
import json
from contextlib import aclosing
from typing import Any

import hypothesis.strategies as st
from hypothesis import HealthCheck, given, settings

from helpers import user_text
from trio_adk.models import LiteLlm, LlmRequest, LlmResponse
from trio_adk.models._openai_wire import StreamAssembler
from trio_adk.models._sse import SSEDecoder
from trio_adk.testing import FakeOpenAIServer, OpenAIReply, OpenAIRequest, OpenAIToolCall
from trio_adk.testing._fake_openai import sse_bytes

CALLS = (
    OpenAIToolCall(name="get_weather", id="call_a",
                   arguments=json.dumps({"city": "Zürich", "note": "naïve \"quoted\" ✓"})),
    OpenAIToolCall(name="lookup", id="call_b",
                   arguments=json.dumps({"q": ["日本", {"n": 1.5, "ok": True}], "e": None})),
)
REPLY = OpenAIReply(chunks=("Grüße ", "aus ", "🌍 — ok"), tool_calls=CALLS, args_chunk=5,
                    interleave=True)


def _record(stream: bool = True) -> OpenAIRequest:
    return OpenAIRequest(method="POST", path="/v1/chat/completions", query={}, headers={},
                         body={"model": "m", "messages": [], "stream": stream,
                               "stream_options": {"include_usage": True}},
                         raw_body=b"", api_key=None, timestamp=0.0)


def stream_bytes(reply: OpenAIReply = REPLY) -> bytes:
    events = FakeOpenAIServer().stream_events(reply, _record())
    return b"".join(sse_bytes(event) for event in events)


def assemble(pieces: list[bytes]) -> tuple[list[str], LlmResponse]:
    decoder = SSEDecoder()
    assembler = StreamAssembler()
    partial_texts: list[str] = []
    for piece in pieces:
        for event in decoder.feed(piece):
            for response in assembler.add_event(event.data):
                assert response.content is not None
                partial_texts.append(response.content.parts[0].text or "")
    assert not decoder.close()
    assert assembler.done and assembler.finished
    return partial_texts, assembler.finish()


def summary(response: LlmResponse) -> Any:
    assert response.content is not None
    return [part.model_dump(exclude_none=True) for part in response.content.parts], \
        response.finish_reason, response.usage_metadata


DATA = stream_bytes()
EXPECTED_PARTIALS, EXPECTED = assemble([DATA])


def test_the_unsplit_stream_assembles_text_then_both_calls() -> None:
    parts = EXPECTED.content.parts
    assert "Grüße aus 🌍 — ok" == parts[0].text
    assert [("call_a", "get_weather", json.loads(CALLS[0].arguments)),
            ("call_b", "lookup", json.loads(CALLS[1].arguments))] == [
        (p.function_call.id, p.function_call.name, p.function_call.args) for p in parts[1:]]
    assert ["Grüße ", "aus ", "🌍 — ok"] == EXPECTED_PARTIALS


def test_every_single_byte_boundary() -> None:
    expected = summary(EXPECTED)
    for cut in range(1, len(DATA)):
        partials, response = assemble([DATA[:cut], DATA[cut:]])
        assert expected == summary(response), cut
        assert EXPECTED_PARTIALS == partials


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(min_value=0, max_value=len(DATA)), max_size=40))
def test_any_set_of_byte_boundaries(cuts: list[int]) -> None:
    points = [0, *sorted(set(cuts)), len(DATA)]
    pieces = [DATA[a:b] for a, b in itertools.pairwise(points)]
    assert summary(EXPECTED) == summary(assemble(pieces)[1])


def test_arguments_cut_at_every_character_across_deltas() -> None:
    """Each size of argument delta from 1 character to the whole string, parallel calls
    interleaved or not: the assembled calls are the same."""
    longest = max(len(call.arguments) for call in CALLS)
    for size in range(1, longest + 1):
        for interleave in (False, True):
            reply = OpenAIReply(chunks=REPLY.chunks, tool_calls=CALLS, args_chunk=size,
                                interleave=interleave)
            assert summary(EXPECTED) == summary(assemble([stream_bytes(reply)])[1]), size


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_arbitrary_argument_splits(data: st.DataObject) -> None:
    """Arguments split at arbitrary character positions (different per delta), as a
    server may do: the concatenation is what counts."""
    events: list[Any] = [{"choices": [{"index": 0, "delta": {"role": "assistant"}}]}]
    for index, call in enumerate(CALLS):
        text = call.arguments
        cuts = sorted(set(data.draw(st.lists(st.integers(1, len(text) - 1), max_size=12))))
        bounds = [0, *cuts, len(text)]
        events.append({"choices": [{"index": 0, "delta": {"tool_calls": [
            {"index": index, "id": call.id, "type": "function",
             "function": {"name": call.name, "arguments": ""}}]}}]})
        events.extend({"choices": [{"index": 0, "delta": {"tool_calls": [
            {"index": index, "function": {"arguments": text[a:b]}}]}}]}
            for a, b in itertools.pairwise(bounds))
    events.append({"choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]})
    events.append("[DONE]")
    _, response = assemble([b"".join(sse_bytes(event) for event in events)])
    assert [(c.id, c.name, json.loads(c.arguments)) for c in CALLS] == [
        (p.function_call.id, p.function_call.name, p.function_call.args)
        for p in response.content.parts]


async def test_one_byte_http_chunks_over_a_socket() -> None:
    reply = OpenAIReply(chunks=REPLY.chunks, tool_calls=CALLS, args_chunk=5, interleave=True,
                        byte_chunks=1)
    async with FakeOpenAIServer([reply]) as server:
        model = LiteLlm("local", api_base=server.base_url)
        try:
            async with aclosing(model.generate_content_async(
                    LlmRequest(contents=[user_text("hi")]), stream=True)) as responses:
                got = [response async for response in responses]
        finally:
            await model.aclose()
    final = got[-1]
    assert summary(EXPECTED)[0] == summary(final)[0]
    assert "Grüße aus 🌍 — ok" == "".join(r.content.parts[0].text for r in got[:-1])


async def test_the_connection_is_reused_after_done() -> None:
    """The body is read to its end after ``[DONE]``, so consecutive streamed calls share
    one pooled connection instead of opening one each."""
    async with FakeOpenAIServer([REPLY, REPLY, REPLY]) as server:
        model = LiteLlm("local", api_base=server.base_url)
        try:
            for _ in range(3):
                async with aclosing(model.generate_content_async(
                        LlmRequest(contents=[user_text("hi")]), stream=True)) as responses:
                    async for _ in responses:
                        pass
        finally:
            await model.aclose()
    assert 1 == server.connection_count
