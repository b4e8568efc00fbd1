"""The fast loader of stored Content gives exactly what google-genai's validation gives,
for every input: the same objects (equal, same fields set, same dump), or the same error."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from google.genai import types
from hypothesis import given, settings
from hypothesis import strategies as st

from trio_adk._utils._fast_content import (
    content_from_json,
    fast_response,
    model_content,
    text_part,
)

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | \
    st.text(max_size=8)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                max_size=3),
    max_leaves=8)
raw = st.binary(max_size=12)
b64 = st.one_of(
    raw.map(lambda b: base64.b64encode(b).decode()),
    raw.map(lambda b: base64.urlsafe_b64encode(b).decode()),
    raw.map(lambda b: base64.b64encode(b).decode().rstrip("=")),  # no padding
    st.text(alphabet="ABCab+/-_=", max_size=9),  # anything base64-like, valid or not
)
anything = json_values | st.integers()


def maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(strategy, anything)  # usually right, sometimes a wrong type


call = st.fixed_dictionaries({}, optional={
    "id": maybe(st.text(max_size=5)), "name": maybe(st.text(max_size=5)),
    "args": maybe(st.dictionaries(st.text(max_size=4), json_values, max_size=3)),
    "will_continue": st.booleans()})
response = st.fixed_dictionaries({}, optional={
    "id": maybe(st.text(max_size=5)), "name": maybe(st.text(max_size=5)),
    "response": maybe(st.dictionaries(st.text(max_size=4), json_values, max_size=3))})
blob = st.fixed_dictionaries({}, optional={
    "data": maybe(b64), "mime_type": maybe(st.text(max_size=8)),
    "mimeType": st.text(max_size=8), "display_name": st.text(max_size=4),
    "displayName": st.text(max_size=4)})
part = st.fixed_dictionaries({}, optional={
    "text": maybe(st.text(max_size=10)), "thought": maybe(st.booleans()),
    "thought_signature": maybe(b64), "thoughtSignature": b64,
    "function_call": maybe(call), "functionCall": call,
    "function_response": maybe(response), "functionResponse": response,
    "inline_data": maybe(blob), "inlineData": blob,
    "video_metadata": st.just({"fps": 2.0}), "unknown": st.just(1)})
content = st.one_of(
    st.fixed_dictionaries({}, optional={
        "role": maybe(st.sampled_from(["user", "model"])),
        "parts": st.one_of(st.none(), st.lists(st.one_of(part, anything), max_size=3)),
        "extra": st.just(True)}),
    anything)


def outcome(load: Any, data: Any) -> tuple[str, Any]:
    try:
        result = load(data)
    except Exception as exc:  # the same kind of failure is what matters
        return "error", type(exc)
    return "ok", (result, result.model_dump(exclude_unset=True),
                  result.model_dump(mode="json", exclude_none=True))


@settings(max_examples=600, deadline=None)
@given(data=content)
def test_fast_loading_equals_validation(data: Any) -> None:
    fast = outcome(content_from_json, data)
    slow = outcome(types.Content.model_validate, data)
    assert fast == slow
    if fast[0] == "ok":
        assert type(fast[1][0]) is types.Content


@pytest.mark.parametrize("data", [
    {"role": "user", "parts": [{"text": "hi"}]},
    {"parts": [{"inline_data": {"data": "-__-Pj8=", "mime_type": "image/png"}}]},
    {"parts": [{"inlineData": {"data": "+//+Pj8=", "mimeType": "image/png"}}]},
    {"parts": [{"function_call": {"id": "c", "name": "f", "args": {"a": [1, {"b": None}]}}},
               {"function_response": {"name": "f", "response": {"r": 1}}}]},
    {"parts": [{"text": "t", "thought": True, "thought_signature": "AAEC"}]},
])
def test_common_shapes(data: dict[str, Any]) -> None:
    assert outcome(content_from_json, data) == outcome(types.Content.model_validate, data)


def test_a_content_object_passes_through() -> None:
    value = types.Content(role="user", parts=[types.Part(text="x")])
    assert content_from_json(value) is value


modality_count = st.fixed_dictionaries({}, optional={
    "modality": maybe(st.sampled_from(["TEXT", "IMAGE", "AUDIO", "text", "SMELL"])),
    "tokenCount": maybe(st.integers(min_value=0, max_value=2**40)),
    "token_count": st.integers(min_value=0, max_value=9)})
usage = st.fixed_dictionaries({}, optional={
    "promptTokenCount": maybe(st.integers(min_value=0, max_value=99)),
    "candidatesTokenCount": st.integers(min_value=0, max_value=99),
    "totalTokenCount": maybe(st.integers()),
    "thoughts_token_count": st.integers(min_value=0, max_value=99),
    "promptTokensDetails": maybe(st.lists(st.one_of(modality_count, anything), max_size=2)),
    "candidates_tokens_details": st.lists(modality_count, max_size=2),
    "trafficType": maybe(st.sampled_from(["ON_DEMAND", "PROVISIONED_THROUGHPUT", "x"])),
    "unknownCount": st.just(1)})
candidate = st.fixed_dictionaries({}, optional={
    "content": st.one_of(content, st.none()),
    "finishReason": maybe(st.sampled_from(["STOP", "MAX_TOKENS", "SAFETY", "stop", "NEW"])),
    "finish_message": maybe(st.text(max_size=5)),
    "index": maybe(st.integers(min_value=-1, max_value=3)),
    "tokenCount": maybe(st.integers(min_value=0, max_value=9)),
    "avgLogprobs": maybe(st.floats(allow_nan=False)),
    "safetyRatings": st.just([])})
chunk = st.fixed_dictionaries({}, optional={
    "candidates": maybe(st.lists(st.one_of(candidate, anything), max_size=2)),
    "usageMetadata": st.one_of(usage, anything),
    "usage_metadata": usage,
    "modelVersion": maybe(st.text(max_size=6)),
    "responseId": maybe(st.text(max_size=6)),
    "createTime": st.just("2025-01-01T00:00:00Z"),
    "promptFeedback": st.just({"blockReason": "SAFETY"})})


# Mostly well-formed chunks, so that most examples take the fast path.
good_part = st.fixed_dictionaries({}, optional={
    "text": st.text(max_size=6), "thought": st.booleans(),
    "thoughtSignature": raw.map(lambda b: base64.b64encode(b).decode()),
    "functionCall": st.fixed_dictionaries({"name": st.text(max_size=3)}, optional={
        "args": st.dictionaries(st.text(max_size=3), json_values, max_size=2)})})
good_candidate = st.fixed_dictionaries({
    "content": st.fixed_dictionaries({"parts": st.lists(good_part, min_size=1, max_size=3)},
                                     optional={"role": st.sampled_from(["model", "user"])})},
    optional={
    "finishReason": st.sampled_from(["STOP", "MAX_TOKENS", "stop"]),
    "index": st.integers(min_value=0, max_value=2),
    "avgLogprobs": st.one_of(st.floats(allow_nan=False), st.integers(-2, 0))})
good_chunk = st.fixed_dictionaries({}, optional={
    "candidates": st.lists(good_candidate, max_size=2),
    "usageMetadata": st.fixed_dictionaries({}, optional={
        "promptTokenCount": st.integers(min_value=0, max_value=99),
        "promptTokensDetails": st.lists(st.fixed_dictionaries({}, optional={
            "modality": st.sampled_from(["TEXT", "AUDIO", "audio"]),
            "tokenCount": st.integers(min_value=0, max_value=99)}), max_size=2)}),
    "modelVersion": st.text(max_size=6), "responseId": st.text(max_size=6)})


@settings(max_examples=600, deadline=None)
@given(data=st.one_of(good_chunk, chunk))
def test_fast_response_equals_validation(data: dict[str, Any]) -> None:
    """A streamed chunk built fast is what validation gives; a chunk it declines (None)
    is left to validation."""
    fast = fast_response(data)
    if fast is None:
        return
    assert type(fast) is types.GenerateContentResponse
    assert outcome(lambda _: fast, data) == outcome(types.GenerateContentResponse.model_validate,
                                                    data)


@pytest.mark.parametrize("data", [
    # What the Gemini API streams for a text reply (first, middle, last chunk).
    {"candidates": [{"content": {"role": "model", "parts": [{"text": "You said: "}]},
                     "index": 0}],
     "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 2, "totalTokenCount": 5,
                       "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 3}]},
     "modelVersion": "gemini-2.0-flash", "responseId": "r1"},
    {"candidates": [{"content": {"role": "model", "parts": [
        {"text": "t", "thought": True, "thoughtSignature": "AAEC"},
        {"functionCall": {"name": "f", "args": {"a": 1}}}]}, "finishReason": "STOP",
        "index": 0, "avgLogprobs": -0.5}],
     "usageMetadata": {"promptTokenCount": 3, "totalTokenCount": 9, "thoughtsTokenCount": 4,
                       "trafficType": "ON_DEMAND"},
     "modelVersion": "gemini-2.5-flash"},
    {"usageMetadata": {"promptTokenCount": 3}},
])
def test_fast_response_takes_the_streamed_shapes(data: dict[str, Any]) -> None:
    fast = fast_response(data)
    assert fast is not None
    assert outcome(lambda _: fast, data) == outcome(types.GenerateContentResponse.model_validate,
                                                    data)


def dumps(value: Any) -> tuple[Any, ...]:
    return (value, value.model_fields_set, value.model_dump(exclude_unset=True),
            value.model_dump(mode="json", exclude_none=True))


@pytest.mark.parametrize("thought", [False, True])
@pytest.mark.parametrize("signature", [None, b"", b"\x00sig"])
def test_text_part_and_model_content_equal_the_validated_objects(
        thought: bool, signature: bytes | None) -> None:
    """The aggregator's final reply: the same Part and Content as the constructors give."""
    part = text_part("joined text", thought=thought, signature=signature)
    expected = types.Part(text="joined text", thought=True if thought else None,
                          thought_signature=signature)
    assert type(part) is types.Part
    assert dumps(expected) == dumps(part)
    call = types.Part(function_call=types.FunctionCall(name="f", args={"a": 1}))
    content = model_content([part, call])
    assert type(content) is types.Content
    assert dumps(types.Content(role="model", parts=[expected, call])) == dumps(content)
