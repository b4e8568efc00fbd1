"""The fast decode of stored events gives exactly what the generic decode gives.

Stored events are decoded by generated builders (``_serde.load`` building attrs
instances without their ``__init__``), ``parse_document`` (the stdlib's JSON scanner
without ``json.loads``' wrapper) and ``usage_from_json`` (usage metadata without
genai's validator hook).  For arbitrary events (every field, through ``event_document``
and JSON text) and for damaged documents, the result must equal the generic decode's
(``_serde.load_generic``, ``json.loads``, ``model_validate``): the same values of the
same types all the way down, the same pydantic fields-set and private state, fresh
factory objects per instance; or the same error.
"""

from __future__ import annotations

import copy
import json
import math
from typing import Any

import attrs
import pydantic
import pytest
from google.genai import types
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from trio_adk._utils import _serde
from trio_adk._utils._fast_content import usage_from_json
from trio_adk.events import Event, EventActions
from trio_adk.events._ui_widget import UiWidget
from trio_adk.sessions._storage._documents import (
    event_document,
    event_from_document,
    parse_document,
)

# ---------------------------------------------------------------------------- helpers


def shape(value: Any) -> Any:
    """``value`` with the type of every part of it, for exact comparisons: attrs fields,
    pydantic fields with their fields-set, extra and private state, dict order."""
    cls = type(value)
    if attrs.has(cls):
        return cls, [(a.name, shape(getattr(value, a.name))) for a in attrs.fields(cls)]
    if isinstance(value, pydantic.BaseModel):
        return (cls, [(k, shape(v)) for k, v in value.__dict__.items()],
                sorted(value.__pydantic_fields_set__), shape(value.__pydantic_extra__),
                shape(value.__pydantic_private__))
    if isinstance(value, dict):
        return cls, [(shape(k), shape(v)) for k, v in value.items()]
    if isinstance(value, list | tuple):
        return cls, [shape(v) for v in value]
    if isinstance(value, set | frozenset):
        return cls, sorted(repr(shape(v)) for v in value)
    if isinstance(value, float) and math.isnan(value):
        return cls, "nan"
    return cls, value


def normalised(event: Event, document: Any) -> Event:
    """``event`` with the values its factories drew (a fresh id or timestamp, which two
    decodes draw differently) replaced by fixed ones, after checking their types."""
    given_id = document.get("id") if isinstance(document, dict) else None
    if not given_id:  # absent: the factory's; falsy: __attrs_post_init__'s
        assert type(event.id) is str and len(event.id) == 36
        event.id = "<fresh id>"
    if not isinstance(document, dict) or "timestamp" not in document:
        assert type(event.timestamp) is float
        event.timestamp = -1.0
    return event


def outcome(decode: Any, document: Any, **keys: Any) -> tuple[str, Any]:
    try:
        event = decode(document, **keys)
    except Exception as exc:
        return "error", (type(exc), str(exc))
    doc = dict(document, **{k: v for k, v in (("id", keys.get("event_id")),
                                              ("invocation_id", keys.get("invocation_id")),
                                              ("timestamp", keys.get("timestamp")))
                            if v is not None})
    return "ok", shape(normalised(event, doc))


def generic(document: Any, *, event_id: str | None = None, invocation_id: str | None = None,
            timestamp: float | None = None) -> Event:
    """The decode as it was: ``event_from_document``'s key columns, then the generic
    per-field plans and the attrs ``__init__``."""
    data = dict(document)
    if event_id is not None:
        data["id"] = event_id
    if invocation_id is not None:
        data["invocation_id"] = invocation_id
    if timestamp is not None and "timestamp" not in data:
        data["timestamp"] = timestamp
    return _serde.load_generic(Event, data)


def assert_same(document: Any, **keys: Any) -> None:
    fast = outcome(event_from_document, document, **keys)
    slow = outcome(generic, document, **keys)
    assert fast == slow


# ---------------------------------------------------------------------------- strategies

texts = st.text(max_size=6)
json_scalars = (st.none() | st.booleans() | st.integers(-(2**70), 2**70)
                | st.floats(allow_nan=False, allow_infinity=False) | texts)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=8)
json_objects = st.dictionaries(texts, json_values, max_size=3)
maybe_bool = st.none() | st.booleans()
counts = st.none() | st.integers(0, 10**6)

parts = st.one_of(
    st.builds(types.Part, text=texts, thought=maybe_bool),
    st.builds(types.Part, thought_signature=st.binary(max_size=6), text=texts),
    st.builds(types.Part, function_call=st.builds(
        types.FunctionCall, id=st.none() | texts, name=texts, args=json_objects)),
    st.builds(types.Part, function_response=st.builds(
        types.FunctionResponse, id=st.none() | texts, name=texts, response=json_objects)),
    st.builds(types.Part, inline_data=st.builds(
        types.Blob, data=st.binary(max_size=8), mime_type=st.sampled_from(["image/png"]))),
    st.builds(types.Part, executable_code=st.builds(
        types.ExecutableCode, code=texts, language=st.just(types.Language.PYTHON))),
)
contents = st.builds(types.Content, role=st.none() | st.sampled_from(["user", "model"]),
                     parts=st.none() | st.lists(parts, max_size=3))
grounding = st.builds(
    types.GroundingMetadata, web_search_queries=st.none() | st.lists(texts, max_size=2),
    grounding_chunks=st.none() | st.lists(st.builds(types.GroundingChunk, web=st.builds(
        types.GroundingChunkWeb, uri=texts, title=st.none() | texts)), max_size=2))
usage = st.builds(
    types.GenerateContentResponseUsageMetadata, prompt_token_count=counts,
    candidates_token_count=counts, total_token_count=counts, thoughts_token_count=counts,
    cached_content_token_count=counts,
    prompt_tokens_details=st.none() | st.lists(st.builds(
        types.ModalityTokenCount, modality=st.sampled_from(types.MediaModality),
        token_count=counts), max_size=2))
transcriptions = st.none() | st.builds(types.Transcription, text=st.none() | texts,
                                       finished=maybe_bool)
widgets = st.builds(UiWidget, id=texts, provider=st.sampled_from(["mcp", "x"]),
                    payload=json_objects)
actions = st.builds(
    EventActions, skip_summarization=maybe_bool, state_delta=json_objects,
    artifact_delta=st.dictionaries(texts, st.integers(0, 99), max_size=3),
    transfer_to_agent=st.none() | texts, escalate=maybe_bool,
    requested_auth_configs=st.dictionaries(texts, json_objects, max_size=2),
    end_of_agent=maybe_bool, render_ui_widgets=st.none() | st.lists(widgets, max_size=2))
events = st.builds(
    Event,
    # Ids given (an empty one would draw a uuid while generating); the decodes of
    # documents without one, or with an empty one, are in the damaged-document test.
    author=texts, invocation_id=texts, id=st.uuids().map(str) | texts.filter(bool),
    branch=st.none() | texts,
    timestamp=st.floats(0, 2e9) | st.integers(0, 2**40),
    actions=actions,
    long_running_tool_ids=st.none() | st.sets(texts, max_size=3),
    content=st.none() | contents,
    grounding_metadata=st.none() | grounding,
    partial=maybe_bool, turn_complete=maybe_bool, interrupted=maybe_bool,
    finish_reason=st.none() | st.sampled_from(types.FinishReason),
    error_code=st.none() | texts, error_message=st.none() | texts,
    custom_metadata=st.none() | json_objects,
    usage_metadata=st.none() | usage,
    live_session_resumption_update=st.none() | st.builds(
        types.LiveServerSessionResumptionUpdate, new_handle=st.none() | texts,
        resumable=maybe_bool, last_consumed_client_message_index=counts),
    input_transcription=transcriptions, output_transcription=transcriptions,
    citation_metadata=st.none() | st.builds(types.CitationMetadata, citations=st.lists(
        st.builds(types.Citation, uri=st.none() | texts, start_index=counts), max_size=2)),
    avg_logprobs=st.none() | st.floats(-10, 0) | st.integers(-3, 0),
    model_version=st.none() | texts,
    go_away=st.none() | st.builds(types.LiveServerGoAway, time_left=st.none() | texts),
)

EVENT_KEYS = [a.name for a in attrs.fields(Event)]
ACTION_KEYS = [a.name for a in attrs.fields(EventActions)]
keys = st.sampled_from(EVENT_KEYS + [_serde.to_camel(k) for k in EVENT_KEYS] + ["unknown"])
action_keys = st.sampled_from(ACTION_KEYS + [_serde.to_camel(k) for k in ACTION_KEYS]
                              + ["unknown"])
odd_values: st.SearchStrategy[Any] = json_values | st.sampled_from([
    {}, [], "", 0, 1.5, True, None, ["a", "a"], {"parts": "x"}, {"role": None},
    {"state_delta": []}, {"artifact_delta": {"f": "1"}}, {"render_ui_widgets": [{}]},
    {"render_ui_widgets": [{"id": "w", "provider": "p", "payload": []}]},
    {"prompt_token_count": True}, {"promptTokenCount": 3, "prompt_token_count": 4},
    {"total_token_count": 2**64}, {"candidates_token_count": 1.0}, "STOP", "NOPE"])
mutation = st.one_of(
    st.tuples(st.just("set"), keys, odd_values),
    st.tuples(st.just("del"), keys, st.none()),
    st.tuples(st.just("set action"), action_keys, odd_values),
    st.tuples(st.just("del action"), action_keys, st.none()),
)


def stored(event: Event) -> dict[str, Any]:
    """``event`` as a row holds it: ``event_document``, through JSON text."""
    document: dict[str, Any] = json.loads(json.dumps(event_document(event)))
    return document


# ---------------------------------------------------------------------------- properties


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(event=events)
def test_stored_events_decode_as_the_generic_decode_does(event: Event) -> None:
    document = stored(event)
    text = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
    fast = event_from_document(parse_document(text))
    slow = generic(json.loads(text))
    assert shape(fast) == shape(slow)
    assert fast.model_dump() == slow.model_dump()
    assert event_document(fast) == document
    # The builder took the document itself (no fallback).
    build = _serde._LOAD_PLANS[Event].build
    assert build is not None
    assert shape(build(document)) == shape(slow)
    # The document is not changed, and the decoded event shares none of its dicts.
    assert document == stored(event)
    assert fast.actions.state_delta is not document["actions"]["state_delta"]
    # ADK's v1 reader: the key columns win (the document's timestamp is kept).
    assert_same(document, event_id="col-id", invocation_id="col-inv", timestamp=12.5)
    assert_same({k: v for k, v in document.items() if k != "timestamp"},
                event_id="col-id", invocation_id="col-inv", timestamp=12.5)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(event=events, mutations=st.lists(mutation, min_size=1, max_size=4))
def test_damaged_documents_decode_or_fail_as_the_generic_decode_does(
        event: Event, mutations: list[tuple[str, str, Any]]) -> None:
    document = stored(event)
    for kind, key, shared in mutations:
        # sampled_from hands out the same objects every time: a fresh copy each, or one
        # mutation could put a dict inside itself (and examples would change each other).
        value = copy.deepcopy(shared)
        if kind == "set":
            document[key] = value
        elif kind == "del":
            document.pop(key, None)
        elif isinstance(document.get("actions"), dict):
            if kind == "set action":
                document["actions"][key] = value
            else:
                document["actions"].pop(key, None)
    assert_same(document)
    assert_same(document, event_id="col-id", invocation_id="col-inv", timestamp=3.0)


@settings(max_examples=300, deadline=None)
@given(document=st.dictionaries(keys, odd_values, max_size=6) | json_values)
def test_arbitrary_documents_decode_or_fail_as_the_generic_decode_does(document: Any) -> None:
    if isinstance(document, dict):
        assert_same(document)
    else:
        with pytest.raises(Exception) as fast:
            event_from_document(document)
        with pytest.raises(Exception) as slow:
            generic(document)
        assert (type(fast.value), str(fast.value)) == (type(slow.value), str(slow.value))


def _parsed(parse: Any, text: Any) -> tuple[str, Any]:
    try:
        value = parse(text)
    except Exception as exc:
        return "error", (type(exc), str(exc))
    return "ok", shape(value)


@settings(max_examples=500, deadline=None)
@given(text=st.one_of(
    st.text(max_size=12),
    st.text(alphabet='{}[]":,0123456789.eE+-tfnrulasx \t\n\ufeff\\', max_size=16),
    json_values.map(json.dumps),
    st.tuples(st.sampled_from(["", " ", "\n", "\ufeff"]), json_values,
              st.sampled_from(["", " ", "\n\t", "x", ",1", "}"])).map(
        lambda t: t[0] + json.dumps(t[1]) + t[2]),
    st.binary(max_size=8),
    json_values.map(lambda v: json.dumps(v).encode()),
))
def test_parse_document_is_json_loads(text: Any) -> None:
    assert _parsed(parse_document, text) == _parsed(json.loads, text)


def _validated(load: Any, data: Any) -> tuple[str, Any]:
    try:
        value = load(data)
    except Exception as exc:
        return "error", type(exc)
    return "ok", (shape(value), value.model_dump(exclude_unset=True))


usage_keys = st.sampled_from([
    "prompt_token_count", "promptTokenCount", "candidates_token_count", "total_token_count",
    "totalTokenCount", "thoughts_token_count", "cached_content_token_count",
    "tool_use_prompt_token_count", "traffic_type", "prompt_tokens_details", "unknown"])
token_values = st.one_of(st.integers(-(2**65), 2**65), st.integers(0, 99), st.booleans(),
                         st.none(), st.floats(0, 5), st.just(2.0), st.just("7"),
                         st.just([{"modality": "TEXT", "token_count": 3}]),
                         st.just("ON_DEMAND"))


@settings(max_examples=400, deadline=None)
@given(data=st.dictionaries(usage_keys, token_values, max_size=5) | json_values)
def test_usage_metadata_loads_as_validation_does(data: Any) -> None:
    assert _validated(usage_from_json, data) == _validated(
        types.GenerateContentResponseUsageMetadata.model_validate, data)


# ---------------------------------------------------------------------------- examples


def test_factories_give_fresh_objects_and_post_init_runs() -> None:
    document = {"author": "a", "id": ""}
    first, second = event_from_document(document), event_from_document(document)
    assert first.actions is not second.actions
    assert first.actions.state_delta is not second.actions.state_delta
    assert first.id and second.id and first.id != second.id  # __attrs_post_init__
    assert type(first.timestamp) is float
    assert type(event_from_document({"author": "a", "timestamp": 3}).timestamp) is float
    assert event_from_document({"author": "a", "long_running_tool_ids": ["x", "x"]}
                               ).long_running_tool_ids == {"x"}


def test_objects_in_documents_pass_through() -> None:
    actions = EventActions(state_delta={"k": 1})
    content = types.Content(role="user", parts=[types.Part(text="x")])
    event = event_from_document({"author": "a", "actions": actions, "content": content})
    assert event.actions is actions and event.content is content


@pytest.mark.parametrize("document", [
    {"invocationId": "camel", "author": "a"},
    {"invocation_id": "snake", "invocationId": "camel", "author": "a"},
    {"author": "a", "actions": {"stateDelta": {"k": 1}}},
    {"author": "a", "actions": None},
    {"author": "a", "actions": []},
    {"author": "a", "timestamp": None},
    {"author": "a", "finish_reason": "NOPE"},
    {"id": "x"},
])
def test_unusual_documents_take_the_generic_path(document: dict[str, Any]) -> None:
    assert_same(document)
    assert_same(document, event_id="c", invocation_id="i", timestamp=1.0)


@attrs.define
class _Hooked:
    a: int = attrs.field(default=0, validator=attrs.validators.instance_of(int))


@attrs.frozen
class _Frozen:
    a: int = 0


@attrs.define(init=False)
class _OwnInit:
    a: int = 0

    def __init__(self, a: int = 0) -> None:
        self.a = a + 1


@attrs.define
class _PreInit:
    a: int = 0

    def __attrs_pre_init__(self) -> None:
        pass


@attrs.define
class _TakesSelf:
    a: int = 0
    b: int = attrs.field(default=attrs.Factory(lambda self: self.a + 1, takes_self=True))


@attrs.define
class _Plain:
    a: int = 0
    b: list[int] = attrs.field(factory=list)
    hidden: int = attrs.field(default=5, metadata={"serialize": False})
    nested: _Plain | None = None


@pytest.mark.parametrize("cls", [_Hooked, _Frozen, _OwnInit, _PreInit, _TakesSelf])
def test_classes_the_builder_cannot_mimic_have_none(cls: type) -> None:
    assert _serde._compile_builder(cls) is None
    assert shape(_serde.load(cls, {"a": 1})) == shape(_serde.load_generic(cls, {"a": 1}))


def test_a_plain_class_is_built_like_its_init_would() -> None:
    assert _serde._compile_builder(_Plain) is not None
    for data in ({}, {"a": 2, "b": [1], "hidden": 9, "nested": {"a": 3}},
                 {"nested": {"nested": {"b": (1, 2)}}}, {"b": None}, {"nested": "x"}):
        fast = outcome_plain(lambda d: _serde.load(_Plain, d), data)
        slow = outcome_plain(lambda d: _serde.load_generic(_Plain, d), data)
        assert fast == slow


def outcome_plain(load: Any, data: Any) -> tuple[str, Any]:
    try:
        return "ok", shape(load(data))
    except Exception as exc:
        return "error", (type(exc), str(exc))
