"""The fast loader of stored Content gives exactly what google-genai's validation gives,
for every input: the same objects (equal, same fields set, same dump), or the same error."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from google.genai import types
from hypothesis import given, settings
from hypothesis import strategies as st

from trio_adk._utils._fast_content import content_from_json

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
