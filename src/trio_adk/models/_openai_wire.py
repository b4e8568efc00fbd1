"""The OpenAI Chat Completions wire format, for :class:`~trio_adk.models.lite_llm.LiteLlm`.

Everything here is pure (no I/O, no event loop):

* :func:`chat_body` turns an :class:`~trio_adk.models.LlmRequest` into the JSON body of
  ``POST /chat/completions`` (messages, tools, sampling options, structured output);
* :func:`parse_completion` reads a non-streamed reply into an ``LlmResponse``;
* :class:`StreamAssembler` reads the ``data:`` chunks of a streamed reply: partial
  responses for text as it arrives, tool-call deltas assembled by index, and one final
  aggregated response;
* :func:`api_error` and :func:`retry_after` map error replies to the
  ``google.genai.errors`` classes the Gemini client raises, and read the server's delay.
"""

from __future__ import annotations

import base64
import copy
import email.utils
import http
import json
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs
import pydantic
from google.genai import errors, types

from trio_adk.errors import ModelConfigError, ModelResponseError
from trio_adk.models._llm_request import LlmRequest
from trio_adk.models._llm_response import LlmResponse

FALLBACK_USER_TEXT = "Handle the requests as specified in the System Instruction."
CONTINUE_USER_TEXT = ("Continue processing previous requests as instructed. Exit or provide a "
                      "summary if no more outputs are needed.")
MISSING_TOOL_RESULT = ("Error: Missing tool result (tool execution may have been interrupted "
                       "before a response was recorded).")

# --------------------------------------------------------------------------- request


@attrs.frozen(kw_only=True)
class BodyOptions:
    """What the model object adds to every request body."""

    model: str
    """The model name as the server knows it (the provider prefix removed)."""
    extra: Mapping[str, Any] = attrs.field(factory=dict)
    """Constructor options sent in the body (``temperature=``, ``max_tokens=`` ...)."""
    send_top_k: bool = True
    """False for OpenAI and Azure, which reject ``top_k``."""


def chat_body(request: LlmRequest, options: BodyOptions, *, stream: bool) -> dict[str, Any]:
    """The JSON body of a Chat Completions call for ``request`` (``request`` is not changed).

    Raises:
        ModelConfigError: a part or tool that Chat Completions cannot carry (a file URI of
            an unknown type, an inline blob of an unsupported MIME type, a built-in Gemini
            tool such as Google Search).
    """
    config = request.config
    messages: list[dict[str, Any]] = []
    system = _system_text(config.system_instruction)
    if system:
        messages.append({"role": "system", "content": system})
    for content in _with_user_turn(request.contents):
        messages.extend(_messages(content))
    body: dict[str, Any] = {"model": options.model, "messages": _heal_tool_results(messages)}
    body.update(options.extra)
    tools = _tools(config.tools or [])
    if tools:
        body["tools"] = tools
        choice = _tool_choice(config.tool_config)
        if choice is not None:
            body["tool_choice"] = choice
    body.update(_sampling(config, send_top_k=options.send_top_k))
    if "max_completion_tokens" in body and "max_completion_tokens" not in options.extra:
        body.pop("max_tokens", None)
    response_format = _response_format(config)
    if response_format is not None:
        body["response_format"] = response_format
    if config.http_options is not None and config.http_options.extra_body:
        body.update(config.http_options.extra_body)
    if stream:
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
    return body


def _system_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, types.Content):
        texts = [part.text for part in value.parts or [] if part.text]
        return "\n".join(texts) or None
    if isinstance(value, types.Part):
        return value.text
    if isinstance(value, Sequence):
        texts = [item if isinstance(item, str) else getattr(item, "text", None) or ""
                 for item in value]
        return "\n".join(text for text in texts if text) or None
    return None


def _has_payload(part: types.Part) -> bool:
    return bool(part.text or (part.inline_data and part.inline_data.data)
                or (part.file_data and part.file_data.file_uri) or part.function_response)


def _with_user_turn(contents: Sequence[types.Content]) -> list[types.Content]:
    """The contents, ending with a user turn as ADK's LiteLlm makes sure they do."""
    result = list(contents)
    if not result:
        return [types.Content(role="user", parts=[types.Part(text=FALLBACK_USER_TEXT)])]
    if result[-1].role != "user":
        result.append(types.Content(role="user", parts=[types.Part(text=CONTINUE_USER_TEXT)]))
        return result
    for index in range(len(result) - 1, -1, -1):
        if result[index].role == "user":
            if not any(_has_payload(part) for part in result[index].parts or []):
                parts = [*(result[index].parts or []), types.Part(text=FALLBACK_USER_TEXT)]
                result[index] = types.Content(role="user", parts=parts)
            break
    return result


def _json_text(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        return str(value)


def _messages(content: types.Content) -> list[dict[str, Any]]:
    parts = content.parts or []
    if not parts:
        return []
    tool_messages: list[dict[str, Any]] = []
    others: list[types.Part] = []
    for part in parts:
        if part.function_response is not None:
            response = part.function_response.response
            tool_messages.append({
                "role": "tool", "tool_call_id": part.function_response.id or "",
                "content": response if isinstance(response, str) else _json_text(response)})
        else:
            others.append(part)
    if tool_messages:
        if others:
            tool_messages.extend(_messages(types.Content(role=content.role, parts=others)))
        return tool_messages
    if content.role in ("model", "assistant"):
        return [_assistant_message(parts)]
    blocks = [block for part in parts if not part.thought
              if (block := _block(part)) is not None]
    if not blocks:
        return []
    if len(blocks) == 1 and blocks[0]["type"] == "text":
        return [{"role": "user", "content": blocks[0]["text"]}]
    return [{"role": "user", "content": blocks}]


def _assistant_message(parts: Sequence[types.Part]) -> dict[str, Any]:
    texts: list[str] = []
    calls: list[dict[str, Any]] = []
    for part in parts:
        if part.function_call is not None:
            call = part.function_call
            if not call.name:
                raise ModelConfigError("A function call in the history has no name; "
                                       "Chat Completions needs one.")
            calls.append({"type": "function", "id": call.id or "",
                          "function": {"name": call.name,
                                       "arguments": _json_text(call.args or {})}})
        elif part.thought:
            continue  # the reasoning of earlier turns is not sent back
        elif part.text:
            texts.append(part.text)
    message: dict[str, Any] = {"role": "assistant", "content": "\n".join(texts) or None}
    if calls:
        message["tool_calls"] = calls
    return message


def _block(part: types.Part) -> dict[str, Any] | None:
    if part.text:
        return {"type": "text", "text": part.text}
    if part.inline_data is not None and part.inline_data.data:
        mime = (part.inline_data.mime_type or "").split(";")[0].strip().lower()
        data = part.inline_data.data
        if mime.startswith("text/"):
            return {"type": "text", "text": data.decode("utf-8", "replace")}
        encoded = base64.b64encode(data).decode("ascii")
        if mime.startswith("image/"):
            return {"type": "image_url", "image_url": {"url": f"data:{mime};base64,{encoded}"}}
        if mime.startswith("audio/"):
            audio_format = mime.split("/", 1)[1].removeprefix("x-")
            audio_format = {"mpeg": "mp3", "wave": "wav"}.get(audio_format, audio_format)
            return {"type": "input_audio", "input_audio": {"data": encoded,
                                                            "format": audio_format}}
        if mime.startswith("video/"):
            return {"type": "video_url", "video_url": {"url": f"data:{mime};base64,{encoded}"}}
        if mime in ("application/pdf", "application/json"):
            return {"type": "file", "file": {"file_data": f"data:{mime};base64,{encoded}"}}
        raise ModelConfigError(
            f"LiteLlm cannot send an inline part of MIME type {part.inline_data.mime_type!r} "
            "over Chat Completions (images, audio, video, text, PDF and JSON are supported).")
    if part.file_data is not None and part.file_data.file_uri:
        uri = part.file_data.file_uri
        mime = (part.file_data.mime_type or "").lower()
        if uri.startswith(("http://", "https://")) and (mime.startswith("image/") or not mime):
            return {"type": "image_url", "image_url": {"url": uri}}
        if uri.startswith("file-"):
            return {"type": "file", "file": {"file_id": uri}}
        raise ModelConfigError(
            f"LiteLlm cannot send the file URI part ({mime or 'unknown type'}) over Chat "
            "Completions: send images as http(s) URLs or inline data, other files inline.")
    return None


def _heal_tool_results(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Add a placeholder result for every tool call left without one (as ADK does):
    Chat Completions rejects a history where a call is not answered before the next turn."""
    healed: list[dict[str, Any]] = []
    pending: list[str] = []

    def flush() -> None:
        healed.extend({"role": "tool", "tool_call_id": call_id, "content": MISSING_TOOL_RESULT}
                      for call_id in pending)
        pending.clear()

    for message in messages:
        role = message["role"]
        if pending and role != "tool":
            flush()
        if role == "assistant":
            pending[:] = [call["id"] for call in message.get("tool_calls", []) if call["id"]]
        elif role == "tool" and message["tool_call_id"] in pending:
            pending.remove(message["tool_call_id"])
        healed.append(message)
    flush()
    return healed


# ---- tools and schemas


def _tools(tools: Sequence[Any]) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = []
    for tool in tools:
        if not isinstance(tool, types.Tool):
            continue  # callables are turned into declarations by the flow
        if tool.function_declarations:
            result.extend(_function_tool(decl) for decl in tool.function_declarations)
            continue
        kinds = sorted(name for name, value in tool if value is not None)
        if kinds:
            raise ModelConfigError(
                f"LiteLlm cannot send the built-in Gemini tool(s) {', '.join(kinds)} over Chat "
                "Completions; use a Gemini model for them, or function tools.")
    return result


def _function_tool(decl: types.FunctionDeclaration) -> dict[str, Any]:
    parameters: Any
    if decl.parameters_json_schema is not None:
        parameters = copy.deepcopy(decl.parameters_json_schema)
        _lower_types(parameters)
    elif decl.parameters is not None:
        parameters = schema_json(decl.parameters)
        parameters.setdefault("type", "object")
        parameters.setdefault("properties", {})
    else:
        parameters = {"type": "object", "properties": {}}
    return {"type": "function", "function": {"name": decl.name,
                                             "description": decl.description or "",
                                             "parameters": parameters}}


def _lower_types(schema: Any) -> None:
    if isinstance(schema, dict):
        kind = schema.get("type")
        if isinstance(kind, str):
            schema["type"] = kind.lower()
        elif isinstance(kind, list):
            schema["type"] = [k.lower() if isinstance(k, str) else k for k in kind]
        for value in schema.values():
            _lower_types(value)
    elif isinstance(schema, list):
        for item in schema:
            _lower_types(item)


_SCHEMA_KEYS = {
    "description": "description", "format": "format", "title": "title", "pattern": "pattern",
    "default": "default", "example": "example", "minimum": "minimum", "maximum": "maximum",
    "min_items": "minItems", "max_items": "maxItems", "min_length": "minLength",
    "max_length": "maxLength", "min_properties": "minProperties",
    "max_properties": "maxProperties", "required": "required",
}


def schema_json(schema: types.Schema) -> dict[str, Any]:
    """A genai ``Schema`` as JSON Schema (lower-case types, ``nullable`` as a ``null`` type,
    ``anyOf``/``items``/``properties`` converted recursively)."""
    result: dict[str, Any] = {}
    if schema.type is not None and schema.type != types.Type.TYPE_UNSPECIFIED:
        kind = str(schema.type.value).lower()
        result["type"] = [kind, "null"] if schema.nullable else kind
    for field, key in _SCHEMA_KEYS.items():
        value = getattr(schema, field)
        if value is not None:
            result[key] = value
    if schema.enum is not None:
        result["enum"] = [value for value in schema.enum if value is not None]
    if schema.items is not None:
        result["items"] = schema_json(schema.items)
    if schema.properties is not None:
        result["properties"] = {name: schema_json(value)
                                for name, value in schema.properties.items()}
    if schema.any_of is not None:
        result["anyOf"] = [schema_json(item) for item in schema.any_of]
    return result


def _tool_choice(config: types.ToolConfig | None) -> Any:
    calling = config.function_calling_config if config is not None else None
    if calling is None or calling.mode is None:
        return None
    if calling.mode == types.FunctionCallingConfigMode.NONE:
        return "none"
    if calling.mode in (types.FunctionCallingConfigMode.ANY,
                        types.FunctionCallingConfigMode.VALIDATED):
        names = calling.allowed_function_names or []
        if len(names) == 1:
            return {"type": "function", "function": {"name": names[0]}}
        return "required"
    return None


_SAMPLING = {"temperature": "temperature", "top_p": "top_p", "top_k": "top_k", "seed": "seed",
             "max_output_tokens": "max_completion_tokens", "stop_sequences": "stop",
             "presence_penalty": "presence_penalty", "frequency_penalty": "frequency_penalty"}


def _sampling(config: types.GenerateContentConfig, *, send_top_k: bool) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for field, key in _SAMPLING.items():
        value = getattr(config, field, None)
        if value is None or (key == "top_k" and not send_top_k):
            continue
        found[key] = value
    return found


def _response_format(config: types.GenerateContentConfig) -> dict[str, Any] | None:
    schema: Any = config.response_json_schema
    name = "response"
    if schema is not None:
        schema = copy.deepcopy(schema) if isinstance(schema, dict) else schema
    elif config.response_schema is not None:
        value = config.response_schema
        if isinstance(value, types.Schema):
            schema = schema_json(value)
        elif isinstance(value, type) and issubclass(value, pydantic.BaseModel):
            schema, name = value.model_json_schema(), value.__name__
        elif isinstance(value, pydantic.BaseModel):
            schema, name = type(value).model_json_schema(), type(value).__name__
        elif isinstance(value, dict):
            kind = value.get("type")
            if isinstance(kind, str) and kind.lower() in ("json_object", "json_schema"):
                return dict(value)  # already a response_format
            schema = copy.deepcopy(value)
        else:
            adapter: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(value)  # type: ignore[arg-type]
            schema = adapter.json_schema()
    elif config.response_mime_type == "application/json":
        return {"type": "json_object"}
    else:
        return None
    if not isinstance(schema, dict):
        return None
    if isinstance(schema.get("title"), str) and name == "response":
        name = schema["title"]
    _lower_types(schema)
    _strict(schema)
    return {"type": "json_schema", "json_schema": {"name": name, "strict": True,
                                                   "schema": schema}}


def _strict(schema: Any) -> None:
    """Shape a JSON schema for strict structured output: closed objects with every
    property required, bare ``$ref`` nodes."""
    if not isinstance(schema, dict):
        return
    if "$ref" in schema:
        for key in [key for key in schema if key != "$ref"]:
            del schema[key]
        return
    if schema.get("type") == "object" and "properties" in schema:
        schema["additionalProperties"] = False
        schema["required"] = sorted(schema["properties"])
    for key in ("$defs", "definitions", "properties"):
        for value in (schema.get(key) or {}).values():
            _strict(value)
    for key in ("anyOf", "oneOf", "allOf"):
        for item in schema.get(key) or []:
            _strict(item)
    _strict(schema.get("items"))


# --------------------------------------------------------------------------- responses

_FINISH = {"stop": types.FinishReason.STOP, "tool_calls": types.FinishReason.STOP,
           "function_call": types.FinishReason.STOP, "length": types.FinishReason.MAX_TOKENS,
           "content_filter": types.FinishReason.SAFETY}


def finish_reason(value: Any) -> types.FinishReason | None:
    """A Chat Completions ``finish_reason`` as a genai ``FinishReason`` (unknown: OTHER)."""
    if not value:
        return None
    return _FINISH.get(str(value).lower(), types.FinishReason.OTHER)


def usage_metadata(usage: Any) -> types.GenerateContentResponseUsageMetadata | None:
    """``usage`` of a reply as genai usage metadata (``None`` if there is none)."""
    if not isinstance(usage, Mapping):
        return None
    prompt_details = usage.get("prompt_tokens_details")
    completion_details = usage.get("completion_tokens_details")
    cached = prompt_details.get("cached_tokens") if isinstance(prompt_details, Mapping) else None
    reasoning = (completion_details.get("reasoning_tokens")
                 if isinstance(completion_details, Mapping) else None)
    return types.GenerateContentResponseUsageMetadata(
        prompt_token_count=_int(usage.get("prompt_tokens")),
        candidates_token_count=_int(usage.get("completion_tokens")),
        total_token_count=_int(usage.get("total_tokens")),
        cached_content_token_count=_int(cached) or None,
        thoughts_token_count=_int(reasoning) or None,
    )


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _text_of(content: Any) -> str:
    """Message content as text: a string, or the text blocks of a list of blocks."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(block.get("text") or "" for block in content
                       if isinstance(block, Mapping) and block.get("type") in ("text", None))
    return ""


def _reasoning_of(message: Mapping[str, Any]) -> str:
    value = message.get("reasoning_content")
    if value is None:
        value = message.get("reasoning")
    return value if isinstance(value, str) else ""


@attrs.define
class _Call:
    id: str | None = None
    name: str = ""
    arguments: list[str] = attrs.field(factory=list)


def _build(text: str, reasoning: str, calls: Iterable[_Call], reason: Any,
           usage: types.GenerateContentResponseUsageMetadata | None,
           model_version: str | None) -> LlmResponse:
    """The final response from the assembled pieces of one reply."""
    parts: list[types.Part] = []
    if reasoning:
        parts.append(types.Part(text=reasoning, thought=True))
    if text:
        parts.append(types.Part(text=text))
    malformed: list[str] = []
    for call in calls:
        raw = "".join(call.arguments)
        try:
            args = json.loads(raw) if raw.strip() else {}
        except (ValueError, RecursionError):
            args = None
        if not isinstance(args, dict):
            malformed.append(call.name or "<unnamed>")
            continue
        parts.append(types.Part(function_call=types.FunctionCall(id=call.id or None,
                                                                 name=call.name, args=args)))
    mapped = finish_reason(reason)
    response = LlmResponse(content=types.Content(role="model", parts=parts) if parts else None,
                           finish_reason=mapped, usage_metadata=usage,
                           model_version=model_version, partial=False)
    if malformed and mapped in (None, types.FinishReason.STOP, types.FinishReason.OTHER):
        response.finish_reason = types.FinishReason.MALFORMED_FUNCTION_CALL
        response.error_code = types.FinishReason.MALFORMED_FUNCTION_CALL.value
        response.error_message = ("Arguments for the following function calls were not a "
                                  "valid JSON object: " + ", ".join(malformed))
    elif mapped is not None and mapped != types.FinishReason.STOP:
        response.error_code = mapped.value
        response.error_message = ("Maximum tokens reached" if
                                  mapped == types.FinishReason.MAX_TOKENS else
                                  f"Finished with {mapped.value}")
        if malformed:
            response.error_message += (". Arguments for the following function calls were "
                                       "not a valid JSON object: " + ", ".join(malformed))
    return response


def parse_completion(data: Any) -> LlmResponse:
    """A non-streamed ``chat.completion`` object as one response (first choice only).

    Raises:
        ModelResponseError: ``data`` is not a chat completion object.
        google.genai.errors.APIError: ``data`` is an error object.
    """
    error = body_error(data)
    if error is not None:
        raise error
    if not isinstance(data, Mapping) or not isinstance(data.get("choices"), list):
        raise ModelResponseError(
            "The server sent a body that is not a Chat Completions object (no `choices` "
            "list); is api_base an OpenAI-compatible endpoint?")
    choices = data["choices"]
    choice = choices[0] if choices and isinstance(choices[0], Mapping) else {}
    message = choice.get("message")
    message = message if isinstance(message, Mapping) else {}
    calls = []
    for raw in message.get("tool_calls") or []:
        if not isinstance(raw, Mapping):
            continue
        function = raw.get("function")
        function = function if isinstance(function, Mapping) else {}
        arguments = function.get("arguments")
        if isinstance(arguments, Mapping):
            arguments = json.dumps(arguments)
        calls.append(_Call(id=raw.get("id") if isinstance(raw.get("id"), str) else None,
                           name=function.get("name") or "",
                           arguments=[arguments if isinstance(arguments, str) else ""]))
    model = data.get("model")
    return _build(_text_of(message.get("content")), _reasoning_of(message), calls,
                  choice.get("finish_reason"), usage_metadata(data.get("usage")),
                  model if isinstance(model, str) else None)


class StreamAssembler:
    """Assembles one streamed reply from its decoded ``data:`` chunks (sans-I/O).

    :meth:`add` takes each chunk and returns the partial responses it gives (text and
    reasoning deltas, one response each); tool-call deltas are assembled by their
    ``index`` (parallel calls, arguments split anywhere) and only appear in the final
    response from :meth:`finish`.  :attr:`done` turns true on ``[DONE]``.
    """

    def __init__(self) -> None:
        self._text: list[str] = []
        self._reasoning: list[str] = []
        self._calls: dict[int, _Call] = {}
        self._finish: Any = None
        self._usage: types.GenerateContentResponseUsageMetadata | None = None
        self._model: str | None = None
        self.chunk_count = 0
        self.done = False

    def __repr__(self) -> str:
        return (f"<StreamAssembler {self.chunk_count} chunk(s), {len(self._calls)} tool "
                f"call(s), finish_reason={self._finish!r}>")

    @property
    def finished(self) -> bool:
        """True once a choice carried a ``finish_reason``: the reply was not cut off."""
        return self._finish is not None

    def add_event(self, data: str) -> list[LlmResponse]:
        """Decode one ``data:`` payload and :meth:`add` it (``[DONE]`` ends the stream).

        Raises:
            ModelResponseError: the payload is not JSON, or not a chunk object.
            google.genai.errors.APIError: the payload is an error object.
        """
        if data.strip() == "[DONE]":
            self.done = True
            return []
        try:
            chunk = json.loads(data)
        except (ValueError, RecursionError) as exc:
            raise ModelResponseError(
                f"The server sent a stream chunk that is not JSON: {data[:200]!r}") from exc
        return self.add(chunk)

    def add(self, chunk: Any) -> list[LlmResponse]:
        """Take one decoded chunk; return its partial responses."""
        error = body_error(chunk)
        if error is not None:
            raise error
        if not isinstance(chunk, Mapping):
            raise ModelResponseError(
                f"The server sent a stream chunk that is not an object: {chunk!r:.200}")
        self.chunk_count += 1
        if isinstance(chunk.get("model"), str):
            self._model = chunk["model"]
        usage = usage_metadata(chunk.get("usage"))
        if usage is not None:
            self._usage = usage
        partials: list[LlmResponse] = []
        for choice in chunk.get("choices") or []:
            if not isinstance(choice, Mapping) or (choice.get("index") or 0) != 0:
                continue  # only the first choice is used, as in ADK
            if choice.get("finish_reason"):
                self._finish = choice["finish_reason"]
            delta = choice.get("delta")
            if not isinstance(delta, Mapping):
                continue
            reasoning = _reasoning_of(delta)
            if reasoning:
                self._reasoning.append(reasoning)
                partials.append(self._partial(types.Part(text=reasoning, thought=True)))
            text = _text_of(delta.get("content"))
            if text:
                self._text.append(text)
                partials.append(self._partial(types.Part(text=text)))
            for position, raw in enumerate(delta.get("tool_calls") or []):
                if isinstance(raw, Mapping):
                    self._add_call(raw, position)
        return partials

    def _partial(self, part: types.Part) -> LlmResponse:
        return LlmResponse(content=types.Content(role="model", parts=[part]), partial=True,
                           model_version=self._model)

    def _add_call(self, raw: Mapping[str, Any], position: int) -> None:
        index = raw.get("index")
        if not isinstance(index, int) or isinstance(index, bool):
            index = position
        call = self._calls.setdefault(index, _Call())
        if isinstance(raw.get("id"), str) and raw["id"]:
            call.id = raw["id"]
        function = raw.get("function")
        if not isinstance(function, Mapping):
            return
        name = function.get("name")
        if isinstance(name, str) and name and name != call.name:
            # Servers send the name whole, once; a few repeat it on every delta.
            call.name = name if not call.name else call.name + name
        arguments = function.get("arguments")
        if isinstance(arguments, str) and arguments:
            call.arguments.append(arguments)

    def finish(self) -> LlmResponse:
        """The aggregated, non-partial reply: text, then the tool calls by index."""
        calls = [self._calls[index] for index in sorted(self._calls)]
        return _build("".join(self._text), "".join(self._reasoning), calls, self._finish,
                      self._usage, self._model)


# --------------------------------------------------------------------------- errors


def _phrase(status: int) -> str:
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return ""


def _error_class(status: int) -> type[errors.APIError]:
    if 400 <= status < 500:
        return errors.ClientError
    if 500 <= status < 600:
        return errors.ServerError
    return errors.APIError


def _error_json(status: int, inner: Mapping[str, Any]) -> dict[str, Any]:
    error = dict(inner)
    error.setdefault("message", _phrase(status) or "Unknown error.")
    kind = error.get("type")
    error["status"] = kind if isinstance(kind, str) and kind else (
        _phrase(status).upper().replace(" ", "_") or "UNKNOWN")
    return {"error": error}


def api_error(status: int, body: bytes | str) -> errors.APIError:
    """The google-genai error for an HTTP error reply (returned, not raised).

    4xx gives ``ClientError``, 5xx ``ServerError``; ``code`` is the status, ``message``
    the server's message, ``status`` the OpenAI error ``type`` (or the HTTP reason in
    capitals), ``details`` the whole error JSON.
    """
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        payload: Any = json.loads(text)
    except ValueError:
        payload = None
    inner = payload.get("error") if isinstance(payload, Mapping) else None
    if isinstance(inner, str):
        inner = {"message": inner}
    if not isinstance(inner, Mapping):
        inner = {"message": text.strip()[:500] or _phrase(status)}
    return _error_class(status)(status, _error_json(status, inner))


def body_error(data: Any) -> errors.APIError | None:
    """The error carried by a 200 body or stream chunk ``{"error": {...}}``, if any."""
    if not isinstance(data, Mapping) or "error" not in data or "choices" in data:
        return None
    inner = data["error"]
    if isinstance(inner, str):
        inner = {"message": inner}
    if not isinstance(inner, Mapping):
        inner = {"message": repr(inner)}
    code = inner.get("code")
    if isinstance(code, str) and code.isdigit():
        code = int(code)
    if not isinstance(code, int) or isinstance(code, bool) or not 400 <= code < 600:
        code = 500
    return _error_class(code)(code, _error_json(code, inner))


def retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """The delay the server asked for, in seconds: ``retry-after-ms``, else ``retry-after``
    (seconds or an HTTP date); ``None`` when absent or unreadable."""
    millis = headers.get("retry-after-ms")
    if millis is not None:
        try:
            value = float(millis) / 1000
        except ValueError:
            value = -1
        if value >= 0:
            return value
    raw = headers.get("retry-after")
    if raw is None:
        return None
    raw = raw.strip()
    try:
        seconds = float(raw)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
        return max(0.0, seconds)
    return seconds if seconds >= 0 else None
