"""JSON (de)serialisation of the attrs value types (``trio_adk._utils._serde``)."""

from __future__ import annotations

import base64
import enum
import json
from pathlib import Path
from typing import Any

import attrs
import pytest
from google.genai import types

from trio_adk._utils._model import ModelMixin
from trio_adk.agents._run_config import RunConfig, StreamingMode, ToolThreadPoolConfig
from trio_adk.events._event import Event
from trio_adk.events._event_actions import EventActions
from trio_adk.models._llm_request import LlmRequest
from trio_adk.sessions._session import GetSessionConfig, ListSessionsResponse, Session

ADK_EVENTS = Path(__file__).parent / "data" / "adk_events.jsonl"
BLOB = bytes(range(250, 256)) + b"\x00\x01>?"  # encodes with '+' '/' or '-' '_'


def _full_event() -> Event:
    return Event(
        id="ev-1",
        invocation_id="e-1",
        author="root_agent",
        branch="root_agent.child",
        timestamp=1700000000.5,
        content=types.Content(
            role="model",
            parts=[
                types.Part(text="hello"),
                types.Part(inline_data=types.Blob(mime_type="image/png", data=BLOB)),
                types.Part(
                    function_call=types.FunctionCall(
                        id="call-1", name="get_weather", args={"city_name": "Paris", "n": [1, 2]}
                    )
                ),
                types.Part(
                    function_response=types.FunctionResponse(
                        id="call-1", name="get_weather", response={"temp_c": 21}
                    )
                ),
            ],
        ),
        partial=False,
        turn_complete=True,
        finish_reason=types.FinishReason.STOP,
        error_code="E_CODE",
        error_message="message",
        interrupted=False,
        custom_metadata={"trace_id": "abc", "nested_key": {"x_y": None}},
        usage_metadata=types.GenerateContentResponseUsageMetadata(
            prompt_token_count=12, candidates_token_count=7, total_token_count=19
        ),
        input_transcription=types.Transcription(text="hi", finished=True),
        avg_logprobs=-0.25,
        model_version="gemini-x",
        long_running_tool_ids={"call-1", "call-0"},
        actions=EventActions(
            skip_summarization=True,
            state_delta={"user:likes_cats": True, "some_key": {"inner_key": 1}, "temp:gone": None},
            artifact_delta={"report.txt": 2},
            transfer_to_agent="helper_agent",
            escalate=False,
            end_of_agent=True,
        ),
    )


def test_event_json_round_trip_keeps_every_field() -> None:
    event = _full_event()

    actual = Event.model_validate_json(event.model_dump_json())

    assert event == actual
    assert actual.long_running_tool_ids == {"call-0", "call-1"}
    assert actual.finish_reason is types.FinishReason.STOP
    assert actual.content is not None and actual.content.parts is not None
    assert actual.content.parts[1].inline_data is not None
    assert actual.content.parts[1].inline_data.data == BLOB


def test_event_python_dump_round_trip() -> None:
    event = _full_event()

    dumped = event.model_dump()

    assert Event.model_validate(dumped) == event
    assert dumped["long_running_tool_ids"] == {"call-0", "call-1"}
    assert dumped["finish_reason"] is types.FinishReason.STOP
    assert dumped["content"]["parts"][1]["inline_data"]["data"] == BLOB
    assert dumped["actions"]["state_delta"]["temp:gone"] is None
    assert isinstance(dumped["actions"], dict)


def test_json_keys_are_camel_case_and_none_is_omitted() -> None:
    data = json.loads(Event(author="a", id="x", timestamp=1.0).model_dump_json())

    expected = {
        "author": "a",
        "invocationId": "",
        "id": "x",
        "timestamp": 1.0,
        "actions": {"stateDelta": {}, "artifactDelta": {}, "requestedAuthConfigs": {},
                    "requestedToolConfirmations": {}},
    }
    assert expected == data


def test_json_dump_of_full_event_uses_aliases_everywhere() -> None:
    data = json.loads(_full_event().model_dump_json())

    assert data["longRunningToolIds"] == ["call-0", "call-1"]
    assert data["finishReason"] == "STOP"
    assert data["usageMetadata"] == {
        "promptTokenCount": 12,
        "candidatesTokenCount": 7,
        "totalTokenCount": 19,
    }
    assert data["content"]["parts"][1]["inlineData"]["mimeType"] == "image/png"
    assert data["actions"]["skipSummarization"] is True
    assert data["actions"]["transferToAgent"] == "helper_agent"
    assert data["actions"]["endOfAgent"] is True
    assert "invocation_id" not in data
    assert "branch" in data and "groundingMetadata" not in data


def test_dict_value_keys_are_not_renamed() -> None:
    data = json.loads(_full_event().model_dump_json())

    expected_state = {"user:likes_cats": True, "some_key": {"inner_key": 1}, "temp:gone": None}
    assert expected_state == data["actions"]["stateDelta"]
    assert {"trace_id": "abc", "nested_key": {"x_y": None}} == data["customMetadata"]
    assert {"report.txt": 2} == data["actions"]["artifactDelta"]
    call = data["content"]["parts"][2]["functionCall"]
    assert {"city_name": "Paris", "n": [1, 2]} == call["args"]


def test_exclude_none_false_keeps_none_fields() -> None:
    data = Event(author="a").model_dump(by_alias=True)

    assert data["branch"] is None
    assert data["longRunningToolIds"] is None
    assert data["actions"]["skipSummarization"] is None


def test_unknown_keys_are_ignored() -> None:
    text = json.dumps(
        {
            "author": "a",
            "id": "x",
            "timestamp": 2,
            "fromTheFuture": {"x": 1},
            "liveSessionId": "s",
            "actions": {"stateDelta": {"k": 1}, "requestedToolConfirmations": {},
                        "futureAction": {}},
        }
    )

    actual = Event.model_validate_json(text)

    expected = Event(author="a", id="x", timestamp=2.0, actions=EventActions(state_delta={"k": 1}))
    assert expected == actual
    assert isinstance(actual.timestamp, float)


def test_snake_case_input_is_accepted() -> None:
    event = _full_event()
    text = event.model_dump_json(by_alias=False)

    assert '"invocation_id"' in text and '"state_delta"' in text
    assert event == Event.model_validate_json(text)


@pytest.mark.parametrize(
    "encoded",
    [
        base64.b64encode(BLOB).decode(),
        base64.urlsafe_b64encode(BLOB).decode(),
        base64.b64encode(BLOB).decode().rstrip("="),
        base64.urlsafe_b64encode(BLOB).decode().rstrip("="),
    ],
)
def test_inline_data_accepts_both_base64_alphabets(encoded: str) -> None:
    text = json.dumps(
        {
            "author": "user",
            "content": {"role": "user", "parts": [{"inlineData": {"data": encoded}}]},
        }
    )

    event = Event.model_validate_json(text)

    assert event.content is not None and event.content.parts is not None
    assert event.content.parts[0].inline_data is not None
    assert BLOB == event.content.parts[0].inline_data.data


def _adk_lines() -> list[str]:
    return ADK_EVENTS.read_text().splitlines()


def test_adk_fixtures_load() -> None:
    events = {e.id: e for e in map(Event.model_validate_json, _adk_lines())}

    assert {
        "ev-text",
        "ev-call",
        "ev-resp",
        "ev-blob",
        "ev-transfer",
        "ev-partial",
        "ev-error",
    } == set(events)
    call = events["ev-call"]
    assert {"adk-call-0", "adk-call-1"} == call.long_running_tool_ids
    assert "root_agent.child" == call.branch
    assert types.FinishReason.STOP == call.finish_reason
    assert 19 == (call.usage_metadata and call.usage_metadata.total_token_count)
    assert [
        types.FunctionCall(
            id="adk-call-1",
            name="get_weather",
            args={"city": "Paris", "unit_system": "metric", "days": 3, "nested": {"a_b": [1, 2]}},
        )
    ] == call.get_function_calls()
    resp = events["ev-resp"]
    assert (
        EventActions(
            skip_summarization=True,
            state_delta={"user:likes_cats": True, "some_key": {"inner_key": 1}, "gone": None},
            artifact_delta={"report.txt": 2},
        )
        == resp.actions
    )
    response = resp.get_function_responses()[0].response
    assert {"result": {"temp_c": 21, "sky": "clear"}} == response
    blob = events["ev-blob"]
    assert blob.content is not None and blob.content.parts is not None
    assert blob.content.parts[1].inline_data is not None
    assert BLOB == blob.content.parts[1].inline_data.data
    transfer = events["ev-transfer"].actions
    assert ("helper_agent", True, True) == (
        transfer.transfer_to_agent,
        transfer.escalate,
        transfer.end_of_agent,
    )
    partial = events["ev-partial"]
    assert (True, False, True) == (partial.partial, partial.turn_complete, partial.interrupted)
    assert {"trace_id": "abc", "nested_meta": {"x_y": None}} == partial.custom_metadata
    error = events["ev-error"]
    assert ("SAFETY", "blocked", types.FinishReason.SAFETY) == (
        error.error_code,
        error.error_message,
        error.finish_reason,
    )
    assert 1700000006.0 == error.timestamp


@pytest.mark.parametrize("line", _adk_lines())
def test_adk_fixture_redump_is_stable(line: str) -> None:
    first = Event.model_validate_json(line)
    text = first.model_dump_json()
    second = Event.model_validate_json(text)

    assert first == second
    assert text == second.model_dump_json()
    # Everything ADK wrote that we model survives, under the same camelCase key.
    adk = json.loads(line)
    ours = json.loads(text)
    for key in adk.keys() & ours.keys() - {"actions"}:
        assert adk[key] == ours[key], key


@pytest.mark.parametrize("mode", list(StreamingMode))
def test_run_config_round_trip(mode: StreamingMode) -> None:
    config = RunConfig(
        streaming_mode=mode,
        max_llm_calls=7,
        response_modalities=["AUDIO"],
        speech_config=types.SpeechConfig(language_code="en-US"),
        custom_metadata={"some_key": 1},
        tool_thread_pool_config=ToolThreadPoolConfig(max_workers=2),
    )

    text = config.model_dump_json()

    assert config == RunConfig.model_validate_json(text)
    data = json.loads(text)
    assert mode.value == data["streamingMode"]
    assert {"maxWorkers": 2} == data["toolThreadPoolConfig"]
    assert {"languageCode": "en-US"} == data["speechConfig"]
    assert config == RunConfig.model_validate(config.model_dump())


def test_session_round_trip_with_events() -> None:
    session = Session(
        id="s-1",
        app_name="app",
        user_id="u",
        state={"user:likes_cats": True, "app_key": [1]},
        events=[_full_event(), Event(author="user", id="ev-2", timestamp=3.0)],
        last_update_time=5.5,
    )

    text = session.model_dump_json()
    actual = Session.model_validate_json(text)

    assert session == actual
    data = json.loads(text)
    assert ("app", "u", 5.5) == (data["appName"], data["userId"], data["lastUpdateTime"])
    assert {"user:likes_cats": True, "app_key": [1]} == data["state"]
    listing = ListSessionsResponse(sessions=[session])
    assert listing == ListSessionsResponse.model_validate_json(listing.model_dump_json())


def test_get_session_config_round_trip() -> None:
    config = GetSessionConfig(num_recent_events=3)

    assert '{"numRecentEvents": 3}' == config.model_dump_json()
    assert config == GetSessionConfig.model_validate_json('{"num_recent_events": 3}')


def test_model_copy_deep_is_independent() -> None:
    original = _full_event()

    copy = original.model_copy(update={"author": "other"}, deep=True)
    copy.actions.state_delta["new"] = 1
    assert copy.long_running_tool_ids is not None
    copy.long_running_tool_ids.add("call-9")
    assert copy.content is not None and copy.content.parts is not None
    copy.content.parts[0].text = "changed"

    assert _full_event() == original
    assert "other" == copy.author
    assert "root_agent" == original.author


def test_llm_request_skips_tools_dict() -> None:
    request = LlmRequest(
        model="gemini-x",
        contents=[types.Content(role="user", parts=[types.Part(text="hi")])],
        config=types.GenerateContentConfig(system_instruction="be nice", temperature=0.5),
    )
    request.tools_dict["tool"] = object()  # type: ignore[assignment]

    data = request.model_dump(by_alias=True)
    loaded = LlmRequest.model_validate_json(request.model_dump_json())

    assert "toolsDict" not in data and "tools_dict" not in data
    assert request == loaded
    assert {} == loaded.tools_dict


def test_requested_auth_configs_values_dump_generically() -> None:
    actions = EventActions(
        requested_auth_configs={
            "call-1": ToolThreadPoolConfig(max_workers=3),
            "call-2": types.Blob(mime_type="text/plain"),
        }
    )

    data = json.loads(actions.model_dump_json())

    expected = {"call-1": {"maxWorkers": 3}, "call-2": {"mimeType": "text/plain"}}
    assert expected == data["requestedAuthConfigs"]


class _Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


@attrs.define(kw_only=True)
class _Everything(ModelMixin):
    raw: bytes = b""
    colors: set[_Color] = attrs.field(factory=set)
    pair: tuple[int, ...] = ()
    by_name: dict[str, _Color] = attrs.field(factory=dict)
    maybe: _Color | None = None
    blobs: list[bytes] = attrs.field(factory=list)
    anything: Any = None


def test_own_bytes_sets_enums_and_tuples() -> None:
    obj = _Everything(
        raw=BLOB,
        colors={_Color.RED, _Color.BLUE},
        pair=(1, 2),
        by_name={"first_one": _Color.BLUE},
        maybe=_Color.RED,
        blobs=[b"a", b"b"],
        anything={"x": {1, 3, 2}},
    )

    data = json.loads(obj.model_dump_json())

    expected = {
        "raw": base64.b64encode(BLOB).decode(),
        "colors": ["blue", "red"],
        "pair": [1, 2],
        "byName": {"first_one": "blue"},
        "maybe": "red",
        "blobs": ["YQ==", "Yg=="],
        "anything": {"x": [1, 2, 3]},
    }
    assert expected == data
    assert _Everything.model_validate(data).model_copy(update={"anything": obj.anything}) == obj
    python = obj.model_dump()
    assert (BLOB, {_Color.RED, _Color.BLUE}, (1, 2)) == (
        python["raw"],
        python["colors"],
        python["pair"],
    )


def test_own_bytes_accept_url_safe_unpadded_base64() -> None:
    encoded = base64.urlsafe_b64encode(BLOB).decode().rstrip("=")

    assert BLOB == _Everything.model_validate({"raw": encoded}).raw


def test_invalid_base64_is_rejected() -> None:
    with pytest.raises(ValueError, match="base64"):
        _Everything.model_validate({"raw": "not base64!"})


def test_load_requires_a_mapping() -> None:
    with pytest.raises(TypeError):
        Event.model_validate_json("[1, 2]")
