"""The Gemini REST wire layer (``trio_adk.models._wire``).

Request bodies are compared with google-genai's own Gemini API ("mldev") request
converter, called offline as an oracle, after normalising key case (the SDK sends a
camel/snake mix) and the base64 alphabet.  The few deliberate differences are tested
explicitly in ``test_deliberate_differences_from_the_sdk``.
"""

from __future__ import annotations

import base64
import enum
import functools
import json
from collections.abc import Callable
from typing import Any, Literal

import pydantic
import pytest
from google.genai import _common, _transformers, errors, types
from google.genai import models as genai_models
from google.genai._api_client import BaseApiClient

from trio_adk._utils._serde import to_camel
from trio_adk.models._llm_request import LlmRequest
from trio_adk.models._wire import (
    generate_content_body,
    model_path,
    parse_error,
    parse_response,
    prune,
    retry_delay,
    stream_error,
)

# --------------------------------------------------------------------------- oracle


@functools.cache
def _sdk_client() -> BaseApiClient:
    return BaseApiClient(api_key="x")


def first_parts(response: types.GenerateContentResponse) -> list[types.Part]:
    assert response.candidates
    content = response.candidates[0].content
    assert content is not None
    assert content.parts is not None
    return content.parts


def sdk_body(request: LlmRequest) -> dict[str, Any]:
    """The body google-genai would send for ``request`` (its private mldev converter)."""
    config = request.config.model_copy(deep=True)  # the SDK edits schema dicts in place
    params = types._GenerateContentParameters(
        model=request.model or "gemini-2.5-flash", contents=request.contents, config=config
    )
    body = genai_models._GenerateContentParameters_to_mldev(_sdk_client(), params, None, params)
    body.pop("_url", None)
    body.pop("config", None)
    body = _common.convert_to_dict(body)
    body = _common.encode_unserializable_types(body)
    result: dict[str, Any] = json.loads(json.dumps(body))
    return result


# Values that are JSON payloads (Struct / JSON Schema / free-form): keys kept verbatim.
_OPAQUE = {"args", "response", "parametersJsonSchema", "responseJsonSchema", "default",
           "example", "partMetadata", "labels"}
# Dicts whose keys are user names and whose values are schemas.
_NAMED_SCHEMAS = {"properties", "defs"}
_BYTES = {"data", "thoughtSignature", "continuationToken"}


def normalise(value: Any) -> Any:
    """snake_case keys -> camelCase (outside payloads); base64 -> bytes."""
    if isinstance(value, list):
        return [normalise(v) for v in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        camel = to_camel(key)
        if camel in _OPAQUE:
            out[camel] = item
        elif camel in _NAMED_SCHEMAS and isinstance(item, dict):
            out[camel] = {name: normalise(sub) for name, sub in item.items()}
        elif camel in _BYTES and isinstance(item, str):
            out[camel] = base64.urlsafe_b64decode(item.replace("+", "-").replace("/", "_"))
        else:
            out[camel] = normalise(item)
    return out


def snake_keys(value: Any, path: str = "") -> list[str]:
    """Paths of keys containing ``_`` outside payload fields."""
    found: list[str] = []
    if isinstance(value, list):
        for i, item in enumerate(value):
            found += snake_keys(item, f"{path}[{i}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            if "_" in key:
                found.append(f"{path}.{key}")
            if key in _OPAQUE:
                continue
            if key in _NAMED_SCHEMAS and isinstance(item, dict):
                for name, sub in item.items():
                    found += snake_keys(sub, f"{path}.{key}.{name}")
            else:
                found += snake_keys(item, f"{path}.{key}")
    return found


# ---------------------------------------------------------------------- request cases

BLOB = bytes(range(250, 256)) + b"\x00\x01>?"  # '+' '/' in standard base64


def user(text: str) -> types.Content:
    return types.Content(role="user", parts=[types.Part(text=text)])


def model(text: str) -> types.Content:
    return types.Content(role="model", parts=[types.Part(text=text)])


def req(*contents: types.Content, **config: Any) -> LlmRequest:
    request = LlmRequest(model="gemini-2.5-flash", contents=list(contents))
    request.config = types.GenerateContentConfig(**config)
    return request


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Address(pydantic.BaseModel):
    street_name: str
    zip_code: int | None = None


class Person(pydantic.BaseModel):
    """A person."""

    name: str
    age: int = pydantic.Field(description="years")
    tags: list[str]
    color: Color
    kind: Literal["human"]
    home: Address
    work: Address | None = None
    past: list[Address] = []
    score: float | None = None


def get_weather(city: str, unit: str = "celsius") -> dict[str, str]:
    """Get the weather for a city."""
    return {"city": city, "unit": unit}


def _text_turns() -> LlmRequest:
    return req(user("hi"), model("hello!"), user("how are you?"))


def _function_history() -> LlmRequest:
    call = types.Part(
        function_call=types.FunctionCall(
            id="call-1", name="get_weather", args={"city": "Paris", "nested_arg": {"a_b": [1, 2]}}
        ),
        thought_signature=BLOB,
    )
    response = types.Part(
        function_response=types.FunctionResponse(
            id="call-1", name="get_weather", response={"temp_c": 21, "sky": {"is_clear": True}}
        )
    )
    return req(user("weather in Paris?"), types.Content(role="model", parts=[call]),
               types.Content(role="user", parts=[response]))


def _system_instruction_str() -> LlmRequest:
    return req(user("hi"), system_instruction="You are terse.")


def _system_instruction_content() -> LlmRequest:
    return req(user("hi"), system_instruction=types.Content(
        role="user", parts=[types.Part(text="one"), types.Part(text="two")]))


def _system_instruction_part() -> LlmRequest:
    return req(user("hi"), system_instruction=types.Part(text="be brief"))


def _system_instruction_list() -> LlmRequest:
    return req(user("hi"), system_instruction=["first", types.Part(text="second")])


def _tools() -> LlmRequest:
    schema_decl = types.FunctionDeclaration(
        name="book_flight",
        description="Book a flight.",
        parameters=types.Schema(
            type=types.Type.OBJECT,
            properties={
                "from_city": types.Schema(type=types.Type.STRING, description="origin"),
                "passengers": types.Schema(type=types.Type.ARRAY, items=types.Schema(
                    type=types.Type.OBJECT,
                    properties={"full_name": types.Schema(type=types.Type.STRING)},
                )),
                "seat_class": types.Schema(type=types.Type.STRING, enum=["eco", "biz"],
                                           nullable=True),
            },
            required=["from_city"],
        ),
        response=types.Schema(type=types.Type.STRING),
    )
    json_decl = types.FunctionDeclaration(
        name="lookup",
        description="Look up a record.",
        parameters_json_schema={
            "type": "object",
            "properties": {"record_id": {"type": "string", "title": "Record Id"}},
            "required": ["record_id"],
        },
    )
    return req(
        user("book it"),
        tools=[
            types.Tool(function_declarations=[schema_decl]),
            types.Tool(google_search=types.GoogleSearch()),
            types.Tool(function_declarations=[json_decl], code_execution=types.ToolCodeExecution()),
            types.Tool(url_context=types.UrlContext()),
        ],
    )


def _callable_tool() -> LlmRequest:
    return req(user("weather?"), tools=[get_weather])


def _tool_config() -> LlmRequest:
    return req(
        user("x"),
        tools=[types.Tool(function_declarations=[types.FunctionDeclaration(name="f")])],
        tool_config=types.ToolConfig(function_calling_config=types.FunctionCallingConfig(
            mode=types.FunctionCallingConfigMode.ANY, allowed_function_names=["f"])),
    )


def _safety() -> LlmRequest:
    return req(user("x"), safety_settings=[
        types.SafetySetting(category=types.HarmCategory.HARM_CATEGORY_HARASSMENT,
                            threshold=types.HarmBlockThreshold.BLOCK_ONLY_HIGH),
        types.SafetySetting(category=types.HarmCategory.HARM_CATEGORY_DANGEROUS_CONTENT,
                            threshold=types.HarmBlockThreshold.OFF),
    ])


def _generation_params() -> LlmRequest:
    return req(
        user("x"),
        temperature=0.3, top_p=0.9, top_k=40, candidate_count=1, max_output_tokens=256,
        stop_sequences=["END"], presence_penalty=0.1, frequency_penalty=-0.2, seed=7,
        response_mime_type="text/plain", response_modalities=["TEXT", "AUDIO"],
        media_resolution=types.MediaResolution.MEDIA_RESOLUTION_LOW,
        response_logprobs=True, logprobs=3, speech_config="Puck",
        image_config=types.ImageConfig(aspect_ratio="16:9"),
        enable_enhanced_civic_answers=True,
    )


def _speech_config_object() -> LlmRequest:
    return req(user("x"), speech_config=types.SpeechConfig(
        language_code="en-US",
        voice_config=types.VoiceConfig(
            prebuilt_voice_config=types.PrebuiltVoiceConfig(voice_name="Kore"))))


def _thinking() -> LlmRequest:
    thought = types.Part(text="pondering", thought=True, thought_signature=BLOB)
    return req(user("q"), types.Content(role="model", parts=[thought, types.Part(text="a")]),
               user("q2"),
               thinking_config=types.ThinkingConfig(include_thoughts=True, thinking_budget=1024))


def _thinking_level() -> LlmRequest:
    return req(user("q"), thinking_config=types.ThinkingConfig(
        thinking_level=types.ThinkingLevel.LOW))


def _schema_pydantic() -> LlmRequest:
    request = req(user("who?"))
    request.set_output_schema(Person)
    return request


def _schema_dict() -> LlmRequest:
    schema = {
        "type": "object",
        "properties": {
            "answer_text": {"type": "string"},
            "confidence": {"anyOf": [{"type": "number"}, {"type": "null"}]},
            "choices": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}},
        },
        "required": ["answer_text"],
    }
    return req(user("q"), response_mime_type="application/json", response_schema=schema)


def _schema_object() -> LlmRequest:
    schema = types.Schema(
        type=types.Type.OBJECT,
        properties={"a_field": types.Schema(type=types.Type.INTEGER),
                    "b_field": types.Schema(type=types.Type.STRING, nullable=True)},
        property_ordering=["b_field", "a_field"],
    )
    return req(user("q"), response_mime_type="application/json", response_schema=schema)


def _schema_enum() -> LlmRequest:
    return req(user("q"), response_mime_type="text/x.enum", response_schema=Color)


def _schema_int_enum() -> LlmRequest:
    return req(user("q"), response_mime_type="text/x.enum", response_schema=Level)


def _response_json_schema() -> LlmRequest:
    return req(user("q"), response_mime_type="application/json", response_json_schema={
        "type": "object", "properties": {"snake_key": {"type": "integer"}},
        "additionalProperties": False})


def _inline_bytes() -> LlmRequest:
    content = types.Content(role="user", parts=[
        types.Part(text="what is this?"),
        types.Part(inline_data=types.Blob(mime_type="image/png", data=BLOB)),
        types.Part(file_data=types.FileData(mime_type="application/pdf",
                                            file_uri="https://x.test/files/abc")),
    ])
    return req(content)


def _top_level_extras() -> LlmRequest:
    return req(user("q"), cached_content="abc123",
               service_tier=types.ServiceTier.FLEX, store=False, continuation_token=BLOB)


def _cached_full_name() -> LlmRequest:
    return req(user("q"), cached_content="cachedContents/xyz")


def _empty_config() -> LlmRequest:
    return req(user("q"))


def _client_only() -> LlmRequest:
    return req(
        user("q"),
        http_options=types.HttpOptions(timeout=1000, headers={"x-a": "b"}),
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
        should_return_http_response=True,
        temperature=0.0,
    )


CASES: dict[str, Callable[[], LlmRequest]] = {
    f.__name__.lstrip("_"): f
    for f in [
        _text_turns, _function_history, _system_instruction_str, _system_instruction_content,
        _system_instruction_part, _system_instruction_list, _tools, _callable_tool,
        _tool_config, _safety, _generation_params, _speech_config_object, _thinking,
        _thinking_level, _schema_pydantic, _schema_dict, _schema_object, _schema_enum,
        _schema_int_enum, _response_json_schema, _inline_bytes, _top_level_extras,
        _cached_full_name, _empty_config, _client_only,
    ]
}


@pytest.mark.parametrize("case", list(CASES))
def test_body_matches_the_sdk_converter(case: str) -> None:
    """Our body equals google-genai's (mldev) body up to key case and base64 alphabet."""
    ours = generate_content_body(CASES[case]())
    theirs = sdk_body(CASES[case]())
    assert normalise(theirs) == normalise(ours)


@pytest.mark.parametrize("case", list(CASES))
def test_body_is_camel_case_json(case: str) -> None:
    """Our body is canonical: JSON-native values and lowerCamelCase keys outside payloads."""
    body = generate_content_body(CASES[case]())
    assert json.loads(json.dumps(body)) == body
    assert [] == snake_keys(body)


def test_body_shape_for_a_typical_agent_call() -> None:
    """Hand-written expectation from gemini-wire 1.2 for an agent with one tool."""
    request = req(
        user("weather in Paris?"),
        system_instruction="You are an agent.",
        temperature=0.2,
        thinking_config=types.ThinkingConfig(include_thoughts=True),
        tools=[types.Tool(function_declarations=[types.FunctionDeclaration(
            name="get_weather", description="Weather.",
            parameters_json_schema={"type": "object", "properties": {"city": {"type": "string"}}},
        )])],
        safety_settings=[types.SafetySetting(
            category=types.HarmCategory.HARM_CATEGORY_HATE_SPEECH,
            threshold=types.HarmBlockThreshold.BLOCK_NONE)],
    )
    expected = {
        "contents": [{"role": "user", "parts": [{"text": "weather in Paris?"}]}],
        "systemInstruction": {"role": "user", "parts": [{"text": "You are an agent."}]},
        "tools": [{"functionDeclarations": [{
            "name": "get_weather", "description": "Weather.",
            "parametersJsonSchema": {"type": "object",
                                     "properties": {"city": {"type": "string"}}},
        }]}],
        "safetySettings": [{"category": "HARM_CATEGORY_HATE_SPEECH",
                            "threshold": "BLOCK_NONE"}],
        "generationConfig": {"temperature": 0.2, "thinkingConfig": {"includeThoughts": True}},
    }
    assert expected == generate_content_body(request)


def test_inline_bytes_are_urlsafe_base64() -> None:
    body = generate_content_body(_inline_bytes())
    data = body["contents"][0]["parts"][1]["inlineData"]["data"]
    assert base64.urlsafe_b64encode(BLOB).decode() == data


def test_parameters_schema_types_are_upper_case_and_json_schema_untouched() -> None:
    body = generate_content_body(_tools())
    declarations = body["tools"][-1]["functionDeclarations"]
    assert ["book_flight", "lookup"] == [d["name"] for d in declarations]
    assert "OBJECT" == declarations[0]["parameters"]["type"]
    assert "from_city" in declarations[0]["parameters"]["properties"]
    assert "object" == declarations[1]["parametersJsonSchema"]["type"]
    # Non-function tools keep their place; declarations are merged into the last Tool.
    assert [{"googleSearch": {}}, {"codeExecution": {}}, {"urlContext": {}}] == body["tools"][:3]


def test_deliberate_differences_from_the_sdk() -> None:
    """labels are dropped and displayName is removed from parts, as ADK does."""
    content = types.Content(role="user", parts=[
        types.Part(inline_data=types.Blob(mime_type="image/png", data=b"x", display_name="a.png")),
        types.Part(file_data=types.FileData(file_uri="https://x.test/f", mime_type="text/plain",
                                            display_name="f.txt")),
    ])
    request = req(content, labels={"team": "a"})
    ours = generate_content_body(request)
    theirs = normalise(sdk_body(request))
    assert {"team": "a"} == theirs.pop("labels")
    for part in theirs["contents"][0]["parts"]:
        next(iter(part.values())).pop("displayName")
    assert theirs == normalise(ours)
    assert "labels" not in ours


def test_response_schema_for_a_generic_type_has_no_placeholder_title() -> None:
    """The SDK wraps generic types in a model and leaks its title; we do not."""
    request = req(user("q"), response_mime_type="application/json", response_schema=list[Address])
    ours = normalise(generate_content_body(request))
    theirs = normalise(sdk_body(request))
    assert "Placeholder" == theirs["generationConfig"]["responseSchema"].pop("title")
    assert theirs == ours


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("routing_config", types.GenerationConfigRoutingConfig()),
        ("audio_timestamp", True),
        ("model_armor_config", types.ModelArmorConfig()),
    ],
)
def test_vertex_only_options_are_rejected(field: str, value: Any) -> None:
    request = req(user("q"), **{field: value})
    with pytest.raises(ValueError, match=field):
        generate_content_body(request)
    with pytest.raises(ValueError, match=field):
        sdk_body(request)


def test_response_schema_with_free_form_object_is_rejected() -> None:
    """additionalProperties is not part of the Gemini API Schema (the SDK refuses too)."""

    class Free(pydantic.BaseModel):
        extra: dict[str, int]

    request = req(user("q"), response_schema=Free)
    with pytest.raises(ValueError, match="additionalProperties"):
        generate_content_body(request)
    with pytest.raises(ValueError, match="additionalProperties"):
        sdk_body(request)


def test_recursive_schema_terminates() -> None:
    """A self-reference is cut to ``{}`` (the Schema format has no references), as in the SDK."""

    class Node(pydantic.BaseModel):
        value: int
        children: list[Node] = []

    request = req(user("q"), response_schema=Node)
    schema = generate_content_body(request)["generationConfig"]["responseSchema"]
    assert {} == schema["properties"]["children"]["items"]
    assert normalise(sdk_body(request)) == normalise(generate_content_body(request))


def test_future_config_field_lands_in_generation_config() -> None:
    """A GenerateContentConfig field we do not know is sent under generationConfig."""

    class FutureConfig(types.GenerateContentConfig):
        future_knob: int | None = None

    request = req(user("q"))
    request.config = FutureConfig(future_knob=3, temperature=1.0, safety_settings=[])
    body = generate_content_body(request)
    assert {"futureKnob": 3, "temperature": 1.0} == body["generationConfig"]
    assert [] == body["safetySettings"]


def test_body_does_not_modify_the_request() -> None:
    request = _schema_dict()
    before = request.config.model_copy(deep=True)
    generate_content_body(request)
    generate_content_body(request)
    assert before == request.config


def test_unsupported_tool_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="Gemini tool"):
        generate_content_body(req(user("q"), tools=[object()]))


# ------------------------------------------------------------------------ model path


@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("gemini-2.5-flash", "models/gemini-2.5-flash"),
        ("models/gemini-2.5-pro", "models/gemini-2.5-pro"),
        ("tunedModels/my-model-123", "tunedModels/my-model-123"),
    ],
)
def test_model_path(name: str, path: str) -> None:
    assert path == model_path(name)
    assert path == _transformers.t_model(_sdk_client(), name)


@pytest.mark.parametrize("name", ["", "../secrets", "gemini?key=x", "a&b", "models/x/../y", "g#x"])
def test_model_path_rejects_unsafe_names(name: str) -> None:
    with pytest.raises(ValueError, match="model"):
        model_path(name)


# ---------------------------------------------------------------------------- prune


def test_prune_drops_unknown_fields_everywhere() -> None:
    data = {
        "candidates": [{
            "content": {"role": "model", "parts": [
                {"text": "hi", "someFuturePartField": 1},
                {"functionCall": {"name": "f", "args": {"unknownArg": {"deep_x": 1}},
                                  "newCallField": True}},
            ], "newContentField": "x"},
            "finishReason": "STOP",
            "newCandidateField": [1, 2],
            "safetyRatings": [{"category": "HARM_CATEGORY_HARASSMENT",
                               "probability": "NEGLIGIBLE", "futureScore": 0.1}],
        }],
        "usageMetadata": {"promptTokenCount": 3, "totalTokenCount": 5, "brandNewCount": 9,
                          "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 3,
                                                   "extra": 1}]},
        "modelVersion": "gemini-x",
        "someTopLevelFutureField": {"a": 1},
    }
    pruned = prune(types.GenerateContentResponse, data)
    expected = {
        "candidates": [{
            "content": {"role": "model", "parts": [
                {"text": "hi"},
                {"functionCall": {"name": "f", "args": {"unknownArg": {"deep_x": 1}}}},
            ]},
            "finishReason": "STOP",
            "safetyRatings": [{"category": "HARM_CATEGORY_HARASSMENT",
                               "probability": "NEGLIGIBLE"}],
        }],
        "usageMetadata": {"promptTokenCount": 3, "totalTokenCount": 5,
                          "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 3}]},
        "modelVersion": "gemini-x",
    }
    assert expected == pruned
    with pytest.raises(pydantic.ValidationError):
        types.GenerateContentResponse.model_validate(data)
    response = types.GenerateContentResponse.model_validate(pruned)
    call = first_parts(response)[1].function_call
    assert call is not None
    assert {"unknownArg": {"deep_x": 1}} == call.args


def test_prune_accepts_snake_case_names_and_leaves_input_alone() -> None:
    data = {"usage_metadata": {"prompt_token_count": 1, "junk": 2}, "junk": 3}
    snapshot = json.loads(json.dumps(data))
    assert {"usage_metadata": {"prompt_token_count": 1}} == prune(
        types.GenerateContentResponse, data)
    assert snapshot == data


def test_prune_recurses_into_dicts_of_models_and_keeps_struct_fields() -> None:
    schema = {"type": "OBJECT", "properties": {"a": {"type": "STRING", "newSchemaKey": 1}},
              "default": {"anything": {"goes": 1}}, "unknown": 1}
    assert {"type": "OBJECT", "properties": {"a": {"type": "STRING"}},
            "default": {"anything": {"goes": 1}}} == prune(types.Schema, schema)
    response = {"name": "f", "response": {"whatever_key": [{"x": 1}]}, "extra": 1}
    assert {"name": "f", "response": {"whatever_key": [{"x": 1}]}} == prune(
        types.FunctionResponse, response)


def test_prune_passes_non_objects_through() -> None:
    assert [1, 2] == prune(types.Part, [1, 2])
    assert None is prune(types.Part, None)
    assert {"parts": None} == prune(types.Content, {"parts": None, "x": 1})


# --------------------------------------------------------------------- parse_response


def test_parse_response_with_unknown_fields_and_citation_sources() -> None:
    body = json.dumps({
        "candidates": [{
            "content": {"role": "model", "parts": [{"text": "ok", "newField": 1}]},
            "finishReason": "STOP",
            "citationMetadata": {"citationSources": [
                {"startIndex": 0, "endIndex": 2, "uri": "https://x.test", "newSourceField": 1}]},
        }],
        "usageMetadata": {"promptTokenCount": 1, "candidatesTokenCount": 1,
                          "totalTokenCount": 2},
        "modelVersion": "gemini-2.5-flash",
        "responseId": "r-1",
        "serverAddedThis": True,
    }).encode()
    response = parse_response(body)
    assert "ok" == response.text
    assert response.candidates
    assert types.CitationMetadata(
        citations=[types.Citation(start_index=0, end_index=2, uri="https://x.test")]
    ) == response.candidates[0].citation_metadata
    assert response.usage_metadata is not None
    assert 2 == response.usage_metadata.total_token_count
    assert "r-1" == response.response_id


def test_parse_response_accepts_list_wrapped_object() -> None:
    response = parse_response([{"candidates": [{"content": {"parts": [{"text": "x"}]}}]}])
    assert "x" == response.text


def test_parse_response_standard_and_urlsafe_base64() -> None:
    for encoded in (base64.b64encode(BLOB).decode(), base64.urlsafe_b64encode(BLOB).decode()):
        response = parse_response({"candidates": [{"content": {"parts": [
            {"text": "t", "thoughtSignature": encoded}]}}]})
        assert BLOB == first_parts(response)[0].thought_signature


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b"[]", b'"a string"',
                                  b'{"candidates": "oops"}'])
def test_parse_response_rejects_malformed_bodies(body: bytes) -> None:
    with pytest.raises(errors.UnknownApiResponseError):
        parse_response(body)


def test_parse_response_raises_an_error_object() -> None:
    body = {"error": {"code": 503, "message": "overloaded", "status": "UNAVAILABLE"}}
    with pytest.raises(errors.ServerError) as info:
        parse_response(body)
    assert (503, "UNAVAILABLE", "overloaded") == (
        info.value.code, info.value.status, info.value.message)


# --------------------------------------------------------------------------- errors


def _error_body(code: int, status: str, message: str, *details: dict[str, Any]) -> bytes:
    error: dict[str, Any] = {"code": code, "message": message, "status": status}
    if details:
        error["details"] = list(details)
    return json.dumps({"error": error}).encode()


@pytest.mark.parametrize(
    ("code", "status", "cls"),
    [
        (400, "INVALID_ARGUMENT", errors.ClientError),
        (403, "PERMISSION_DENIED", errors.ClientError),
        (404, "NOT_FOUND", errors.ClientError),
        (429, "RESOURCE_EXHAUSTED", errors.ClientError),
        (500, "INTERNAL", errors.ServerError),
        (503, "UNAVAILABLE", errors.ServerError),
    ],
)
def test_parse_error_maps_status_codes(code: int, status: str, cls: type[errors.APIError]) -> None:
    error = parse_error(code, _error_body(code, status, f"boom {code}"))
    assert cls is type(error)
    assert (code, status, f"boom {code}") == (error.code, error.status, error.message)
    assert {"error": {"code": code, "message": f"boom {code}", "status": status}} == error.details
    assert None is retry_delay(error)


def test_parse_error_429_with_retry_info() -> None:
    body = _error_body(
        429, "RESOURCE_EXHAUSTED", "quota",
        {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": []},
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "30s"},
    )
    error = parse_error(429, body)
    assert isinstance(error, errors.ClientError)
    assert 30.0 == retry_delay(error)


@pytest.mark.parametrize(
    ("delay", "seconds"),
    [("1.5s", 1.5), ("0.100s", 0.1), ("7s", 7.0), ({"seconds": 2, "nanos": 500000000}, 2.5),
     ("abc", None), ("-3s", None), ("3", None), (None, None)],
)
def test_retry_delay_formats(delay: Any, seconds: float | None) -> None:
    error = parse_error(503, _error_body(
        503, "UNAVAILABLE", "busy",
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": delay}))
    assert seconds == retry_delay(error)


def test_retry_delay_of_other_exceptions_is_none() -> None:
    assert None is retry_delay(ValueError("x"))


def test_parse_error_list_wrapped_body() -> None:
    body = b"[" + _error_body(404, "NOT_FOUND", "models/nope is not found") + b"]"
    error = parse_error(404, body)
    assert isinstance(error, errors.ClientError)
    assert ("NOT_FOUND", "models/nope is not found") == (error.status, error.message)


def test_parse_error_non_json_body() -> None:
    error = parse_error(502, b"<html>Bad Gateway</html>")
    assert isinstance(error, errors.ServerError)
    assert (502, "Bad Gateway", "<html>Bad Gateway</html>") == (
        error.code, error.status, error.message)
    custom = parse_error(500, "oops", reason="Server Exploded")
    assert ("Server Exploded", "oops") == (custom.status, custom.message)


def test_parse_error_other_status_is_plain_api_error() -> None:
    error = parse_error(302, b"")
    assert errors.APIError is type(error)


def test_stream_error() -> None:
    assert None is stream_error({"candidates": []})
    assert None is stream_error("x")
    error = stream_error([{"error": {"code": 429, "message": "slow down",
                                     "status": "RESOURCE_EXHAUSTED"}}])
    assert isinstance(error, errors.ClientError)
    assert (429, "slow down") == (error.code, error.message)
    no_code = stream_error({"error": {"message": "?"}})
    assert isinstance(no_code, errors.ServerError)
    assert 500 == no_code.code


def test_parse_error_matches_the_sdk_for_json_bodies() -> None:
    """Same class and attributes as the SDK's own raise_error for the same JSON."""
    payload = json.loads(_error_body(429, "RESOURCE_EXHAUSTED", "quota"))
    with pytest.raises(errors.APIError) as info:
        errors.APIError.raise_error(429, payload, None)
    ours = parse_error(429, json.dumps(payload))
    theirs = info.value
    assert (type(theirs), theirs.code, theirs.status, theirs.message, theirs.details) == (
        type(ours), ours.code, ours.status, ours.message, ours.details)
    assert str(theirs) == str(ours)
