"""The Anthropic Messages API on the wire: requests from ``LlmRequest``, replies to ``LlmResponse``.

Sans-I/O and dict-based: the request is built as the JSON the Messages API takes, replies are
read from the decoded JSON (a whole ``message`` object, or the events of a stream fed one by
one to :class:`MessageAssembler`).  Every function here is pure and may be called from any
thread.
"""

from __future__ import annotations

import base64
import copy
import json
import logging
import re
import warnings
from collections.abc import Iterable, Mapping
from typing import Any, Literal

import attrs
from google.genai import types
from pydantic import Field, TypeAdapter, model_validator

from trio_adk.errors import ModelConfigError, ModelResponseError
from trio_adk.models._llm_request import LlmRequest
from trio_adk.models._llm_response import LlmResponse

_log = logging.getLogger("trio_adk.models.anthropic")

IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
_TOOL_ID = re.compile(r"[a-zA-Z0-9_-]+")

STOP_REASONS: dict[str, types.FinishReason] = {
    "end_turn": types.FinishReason.STOP,
    "stop_sequence": types.FinishReason.STOP,
    "tool_use": types.FinishReason.STOP,
    "pause_turn": types.FinishReason.STOP,
    "max_tokens": types.FinishReason.MAX_TOKENS,
    "refusal": types.FinishReason.SAFETY,
}
"""Anthropic ``stop_reason`` -> genai finish reason (others: ``FINISH_REASON_UNSPECIFIED``)."""

_CONTENT_FIELDS = ("function_call", "function_response", "inline_data", "file_data",
                   "executable_code", "code_execution_result", "tool_call", "tool_response",
                   "audio_transcription")


class AnthropicGenerateContentConfig(types.GenerateContentConfig):
    """A ``GenerateContentConfig`` with Claude's reasoning ``effort`` (sent as
    ``output_config.effort``); ``thinking_config.thinking_level`` is refused here, since
    Claude's five effort levels do not map onto genai's four thinking levels."""

    effort: Literal["low", "medium", "high", "xhigh", "max"] | None = Field(default=None)

    @model_validator(mode="after")
    def _no_thinking_level(self) -> AnthropicGenerateContentConfig:
        if self.thinking_config is not None and self.thinking_config.thinking_level is not None:
            raise ValueError("thinking_level is not supported in "
                             "AnthropicGenerateContentConfig: set `effort` instead.")
        return self


# ---- request ------------------------------------------------------------------------------


class ToolIds:
    """Keeps tool_use / tool_result ids valid (``[a-zA-Z0-9_-]+``) and paired.

    A valid id passes unchanged.  An invalid id gets a stable fallback, the same for its call
    and its result.  A call without an id gets a new fallback; a result without one takes
    the oldest unanswered id-less call of its name (else of any name).  One instance per
    request, so the history is mapped the same way every time.
    """

    def __init__(self) -> None:
        self._mapped: dict[str, str] = {}
        self._unanswered: list[tuple[str | None, str]] = []
        self._count = 0

    def _fresh(self) -> str:
        self._count += 1
        return f"toolu_fallback_{self._count - 1}"  # ADK's spelling: same bodies as ADK

    def call(self, call_id: str | None, name: str | None) -> str:
        if call_id and _TOOL_ID.fullmatch(call_id):
            return call_id
        if call_id:
            return self._mapped.setdefault(call_id, self._fresh())
        fresh = self._fresh()
        self._unanswered.append((name, fresh))
        return fresh

    def result(self, call_id: str | None, name: str | None) -> str:
        if call_id:
            return self.call(call_id, name)
        for index, (call_name, fresh) in enumerate(self._unanswered):
            if call_name == name:
                del self._unanswered[index]
                return fresh
        if self._unanswered:
            return self._unanswered.pop(0)[1]
        return self._fresh()


def system_text(config: types.GenerateContentConfig | None) -> str | None:
    """The system instruction as one string (text parts joined with newlines), if any."""
    instruction = config.system_instruction if config is not None else None
    if isinstance(instruction, str):
        return instruction or None
    if isinstance(instruction, types.Content):
        texts = [part.text for part in instruction.parts or [] if part.text]
        return "\n".join(texts) or None
    if isinstance(instruction, types.Part):
        return instruction.text or None
    if isinstance(instruction, list):
        texts = [item if isinstance(item, str) else item.text or ""
                 for item in instruction if isinstance(item, str | types.Part)]
        return "\n".join(text for text in texts if text) or None
    return None


def _media_type(part: types.Part) -> str | None:
    blob = part.inline_data
    if blob is None or not blob.mime_type:
        return None
    return blob.mime_type.split(";", 1)[0].strip().lower()


def _b64(data: bytes | None) -> str:
    return base64.b64encode(data or b"").decode("ascii")


def _tool_result_content(response: types.FunctionResponse) -> str | list[dict[str, Any]]:
    data = response.response or {}
    content = data.get("content")
    if isinstance(content, list) and content:
        text = "\n".join(item["text"] if isinstance(item, dict) and item.get("type") == "text"
                         and "text" in item else str(item) for item in content)
    elif isinstance(content, str) and content:
        text = content
    elif set(data) == {"result"} and data["result"] is not None:
        result = data["result"]
        text = json.dumps(result) if isinstance(result, dict | list) else str(result)
    elif data:
        text = json.dumps(data, default=str)
    else:
        text = ""
    media: list[dict[str, Any]] = []
    for part in response.parts or []:
        blob = part.inline_data
        if blob is None or blob.data is None or not blob.mime_type:
            continue
        kind = blob.mime_type.split(";", 1)[0].strip().lower()
        if kind in IMAGE_TYPES:
            media.append({"type": "image", "source": {"type": "base64", "media_type": kind,
                                                      "data": _b64(blob.data)}})
        elif kind == "application/pdf":
            media.append({"type": "document", "source": {
                "type": "base64", "media_type": kind, "data": _b64(blob.data)}})
        else:
            _log.warning("A tool result's %s attachment was dropped: Claude takes only images "
                         "and PDFs in tool results.", kind)
    if not media:
        return text
    return ([{"type": "text", "text": text}] if text else []) + media


def part_block(part: types.Part, ids: ToolIds, role: str) -> dict[str, Any] | None:
    """The content block for one part, or ``None`` for a part to leave out.

    Raises:
        ModelConfigError: a part Claude cannot take (an unsupported image type, a file
            reference, ...).
    """
    if part.thought and part.text:
        signature = part.thought_signature.decode("utf-8") if part.thought_signature else ""
        return {"type": "thinking", "thinking": part.text, "signature": signature}
    if part.thought and part.thought_signature:
        return {"type": "redacted_thinking", "data": part.thought_signature.decode("utf-8")}
    if part.text:
        return {"type": "text", "text": part.text}
    if part.function_call is not None:
        call = part.function_call
        return {"type": "tool_use", "id": ids.call(call.id, call.name), "name": call.name or "",
                "input": dict(call.args or {})}
    if part.function_response is not None:
        response = part.function_response
        return {"type": "tool_result", "tool_use_id": ids.result(response.id, response.name),
                "content": _tool_result_content(response), "is_error": False}
    media_type = _media_type(part)
    if media_type is not None and (media_type.startswith("image/")
                                   or media_type == "application/pdf"):
        if role != "user":
            _log.warning("A %s part in a model turn was left out: Claude takes media in user "
                         "turns only.", media_type)
            return None
        assert part.inline_data is not None
        data = _b64(part.inline_data.data)
        if media_type == "application/pdf":
            return {"type": "document",
                    "source": {"type": "base64", "media_type": media_type, "data": data}}
        if media_type not in IMAGE_TYPES:
            raise ModelConfigError(
                f"Claude cannot take an image of type {media_type}: use one of "
                f"{', '.join(sorted(IMAGE_TYPES))}.")
        return {"type": "image",
                "source": {"type": "base64", "media_type": media_type, "data": data}}
    if part.executable_code is not None:
        return {"type": "text",
                "text": "Code:```python\n" + (part.executable_code.code or "") + "\n```"}
    if part.code_execution_result is not None:
        return {"type": "text", "text": "Execution Result:```code_output\n"
                + (part.code_execution_result.output or "") + "\n```"}
    if part.text == "" or part.thought_signature or not any(
            getattr(part, name, None) for name in _CONTENT_FIELDS):
        return None  # an empty text, a bare signature from another model, annotations only
    raise ModelConfigError(
        f"Claude cannot take this part: {part.model_dump(exclude_none=True)!r:.200}")


def message_params(contents: Iterable[types.Content]) -> list[dict[str, Any]]:
    """``contents`` as Messages API ``messages`` (turns left empty are dropped; a user turn
    that held only empty text becomes ``"."``, so the conversation still ends on it)."""
    ids = ToolIds()
    messages: list[dict[str, Any]] = []
    for content in contents:
        role = "assistant" if content.role in ("model", "assistant") else "user"
        blocks: list[dict[str, Any]] = []
        had_empty_text = False
        for part in content.parts or []:
            block = part_block(part, ids, role)
            if block is not None:
                blocks.append(block)
            elif part.text == "":
                had_empty_text = True
        if not blocks and had_empty_text and role == "user":
            blocks.append({"type": "text", "text": "."})
        if blocks:
            messages.append({"role": role, "content": blocks})
    return messages


_SCHEMA_MAPS = ("properties", "$defs", "definitions", "patternProperties")
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SCHEMA_ONES = ("items", "additionalProperties", "not", "if", "then", "else")


def _lowercase_types(schema: Any) -> Any:
    """JSON Schema ``type`` values in lower case (genai's ``Schema`` dumps ``STRING``), in
    ``schema`` and its subschemas, in place; values such as ``default`` are left alone."""
    if isinstance(schema, list):
        for item in schema:
            _lowercase_types(item)
        return schema
    if not isinstance(schema, dict):
        return schema
    kind = schema.get("type")
    if isinstance(kind, str):
        schema["type"] = kind.lower()
    elif isinstance(kind, list):
        schema["type"] = [v.lower() if isinstance(v, str) else v for v in kind]
    for key in _SCHEMA_MAPS:
        if isinstance(schema.get(key), dict):
            for sub in schema[key].values():
                _lowercase_types(sub)
    for key in (*_SCHEMA_LISTS, *_SCHEMA_ONES):
        if key in schema:
            _lowercase_types(schema[key])
    return schema


OUTPUT_TOOL = "structured_output"
_OUTPUT_VALUE = "response"


@attrs.frozen
class OutputTool:
    """A response schema sent as the one tool Claude is asked to call (Claude takes no
    response schema on most models); its call is turned back into the JSON text reply."""

    param: dict[str, Any]
    nested: bool
    """True when the schema is not an object and was nested under ``"response"``."""

    def choice(self, thinking: bool) -> dict[str, Any]:
        # Claude refuses forced tool use while thinking: offer the tool instead.
        if thinking:
            return {"type": "auto", "disable_parallel_tool_use": True}
        return {"type": "tool", "name": OUTPUT_TOOL, "disable_parallel_tool_use": True}

    def unwrap(self, response: LlmResponse) -> LlmResponse:
        """Replace the call of this tool (if any) by its input as JSON text (in place)."""
        parts = response.content.parts if response.content is not None else None
        call = next((p.function_call for p in parts or [] if p.function_call is not None
                     and p.function_call.name == OUTPUT_TOOL), None)
        if call is None or response.content is None:
            return response
        args = call.args or {}
        value = args.get(_OUTPUT_VALUE) if self.nested else args
        kept = [p for p in parts or [] if p.thought]
        response.content.parts = [*kept, types.Part(text=json.dumps(value, ensure_ascii=False))]
        return response


def output_tool(llm_request: LlmRequest) -> OutputTool | None:
    """The tool carrying the request's response schema, when it has one and declares no
    tools of its own (forcing a call would cut a tool-using turn short)."""
    config = llm_request.config
    schema_source: Any = config.response_schema
    if schema_source is None:
        schema_source = config.response_json_schema
    if schema_source is None or any(
            isinstance(tool, types.Tool) and tool.function_declarations
            for tool in config.tools or []):
        return None
    if isinstance(schema_source, types.Schema):
        schema = schema_source.model_dump(by_alias=True, exclude_none=True, mode="json")
    elif isinstance(schema_source, dict):
        schema = copy.deepcopy(schema_source)
    else:
        schema = TypeAdapter(schema_source).json_schema()
    _lowercase_types(schema)
    nested = schema.get("type") != "object"
    if nested:
        defs = schema.pop("$defs", None)
        schema = {"type": "object", "properties": {_OUTPUT_VALUE: schema},
                  "required": [_OUTPUT_VALUE]}
        if defs:
            schema["$defs"] = defs
    return OutputTool(param={"name": OUTPUT_TOOL, "input_schema": schema, "description": (
        "Provide your final answer. Call this tool exactly once, with your whole answer as "
        "its input.")}, nested=nested)


def tool_param(declaration: types.FunctionDeclaration) -> dict[str, Any]:
    """A function declaration as an Anthropic tool (``name``, ``description``,
    ``input_schema``)."""
    if declaration.parameters_json_schema:
        schema = _lowercase_types(copy.deepcopy(declaration.parameters_json_schema))
    else:
        properties: dict[str, Any] = {}
        required: list[str] = []
        parameters = declaration.parameters
        if parameters is not None:
            for name, value in (parameters.properties or {}).items():
                properties[name] = value.model_dump(by_alias=True, exclude_none=True,
                                                    mode="json")
            required = list(parameters.required or [])
        schema = {"type": "object", "properties": properties}
        if required:
            schema["required"] = required
        _lowercase_types(schema)
    return {"name": declaration.name or "", "description": declaration.description or "",
            "input_schema": schema}


def thinking_param(config: types.GenerateContentConfig | None) -> dict[str, Any] | None:
    """``thinking_config.thinking_budget`` as Claude's ``thinking``: 0 disables it, a
    negative budget asks for adaptive thinking (summarized), a positive one for that many
    tokens.  A thinking config without a budget is a :class:`ModelConfigError`."""
    if config is None or config.thinking_config is None:
        return None
    budget = config.thinking_config.thinking_budget
    if budget is None:
        raise ModelConfigError(
            "Claude needs thinking_config.thinking_budget set explicitly: 0 disables "
            "thinking, -1 lets the model choose (adaptive), a positive number (>= 1024) "
            "is a token budget.")
    if budget == 0:
        return {"type": "disabled"}
    if budget < 0:
        return {"type": "adaptive", "display": "summarized"}
    return {"type": "enabled", "budget_tokens": budget}


def _effort(config: types.GenerateContentConfig | None) -> str | None:
    if config is None:
        return None
    if isinstance(config, AnthropicGenerateContentConfig) and config.effort:
        return config.effort
    if config.thinking_config is not None and config.thinking_config.thinking_level:
        warnings.warn("thinking_config.thinking_level is ignored for Claude: use "
                      "AnthropicGenerateContentConfig(effort=...) instead.", UserWarning,
                      stacklevel=4)
    return None


def request_body(llm_request: LlmRequest, model: str, max_tokens: int) -> dict[str, Any]:
    """The Messages API request body for ``llm_request`` (without ``stream``).

    ``max_tokens`` is used when the config sets no ``max_output_tokens``.

    Raises:
        ModelConfigError: the request cannot be expressed for Claude.
    """
    config = llm_request.config
    body: dict[str, Any] = {"model": model,
                            "messages": message_params(llm_request.contents or [])}
    system = system_text(config)
    if system:
        body["system"] = system
    declarations = [declaration for tool in config.tools or []
                    if isinstance(tool, types.Tool)
                    for declaration in tool.function_declarations or []]
    if declarations:
        body["tools"] = [tool_param(declaration) for declaration in declarations]
    if llm_request.tools_dict:
        body["tool_choice"] = {"type": "auto"}
    thinking = thinking_param(config)
    if thinking is not None:
        body["thinking"] = thinking
    output = output_tool(llm_request)
    if output is not None:
        body["tools"] = [output.param]
        body["tool_choice"] = output.choice(thinking is not None
                                            and thinking["type"] != "disabled")
    effort = _effort(config)
    if effort is not None:
        body["output_config"] = {"effort": effort}
    body["max_tokens"] = max_tokens
    sampling = {"temperature": config.temperature, "top_p": config.top_p,
                "top_k": None if config.top_k is None else int(config.top_k)}
    if (thinking is not None and thinking["type"] != "disabled") or effort is not None:
        if any(value is not None for value in sampling.values()):
            warnings.warn("temperature, top_p and top_k are not sent to Claude while thinking "
                          "or effort is set.", UserWarning, stacklevel=3)
    else:
        body.update((name, value) for name, value in sampling.items() if value is not None)
    if config.stop_sequences:
        body["stop_sequences"] = list(config.stop_sequences)
    if config.max_output_tokens is not None:
        body["max_tokens"] = config.max_output_tokens
    return body


# ---- replies ------------------------------------------------------------------------------


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def usage_metadata(usage: Mapping[str, Any]) -> types.GenerateContentResponseUsageMetadata:
    """Anthropic ``usage`` in genai's shape: the prompt count includes cache reads and
    writes (``cached_content_token_count`` is the read part), thinking tokens are taken out
    of the candidates count into ``thoughts_token_count``."""
    cache_read = _int(usage.get("cache_read_input_tokens"))
    cache_write = _int(usage.get("cache_creation_input_tokens"))
    prompt = (_int(usage.get("input_tokens")) or 0) + (cache_read or 0) + (cache_write or 0)
    output = _int(usage.get("output_tokens")) or 0
    details = usage.get("output_tokens_details")
    thinking = _int(details.get("thinking_tokens")) if isinstance(details, Mapping) else None
    if thinking is not None:
        thinking = min(thinking, output)
    return types.GenerateContentResponseUsageMetadata(
        prompt_token_count=prompt, candidates_token_count=output - (thinking or 0),
        total_token_count=prompt + output, cached_content_token_count=cache_read,
        thoughts_token_count=thinking)


def finish_reason(stop_reason: Any) -> types.FinishReason | None:
    if stop_reason is None:
        return None
    return STOP_REASONS.get(str(stop_reason), types.FinishReason.FINISH_REASON_UNSPECIFIED)


def _bad(what: str) -> ModelResponseError:
    return ModelResponseError(f"Claude sent {what}; is the base URL an Anthropic Messages API "
                              "endpoint?")


def block_part(block: Any) -> types.Part | None:
    """One content block of a reply as a part (``None``: a block kind we do not map)."""
    if not isinstance(block, Mapping):
        raise _bad(f"a content block that is not an object: {block!r:.100}")
    kind = block.get("type")
    if kind == "text":
        text = block.get("text")
        if not isinstance(text, str):
            raise _bad("a text block without text")
        return types.Part(text=text)
    if kind == "tool_use":
        call_id, name, args = block.get("id"), block.get("name"), block.get("input")
        if not isinstance(call_id, str) or not isinstance(name, str) or not isinstance(
                args, dict):
            raise _bad(f"a malformed tool_use block: {block!r:.200}")
        return types.Part(function_call=types.FunctionCall(id=call_id, name=name, args=args))
    if kind == "thinking":
        signature = block.get("signature")
        return types.Part(text=str(block.get("thinking") or ""), thought=True,
                          thought_signature=signature.encode("utf-8")
                          if isinstance(signature, str) and signature else None)
    if kind == "redacted_thinking":
        return types.Part(thought=True,
                          thought_signature=str(block.get("data") or "").encode("utf-8"))
    _log.debug("Claude sent a %r content block; it is not mapped to a part.", kind)
    return None


def message_response(message: Any) -> LlmResponse:
    """A whole ``message`` object (the non-streaming reply) as an ``LlmResponse``.

    Raises:
        ModelResponseError: ``message`` is not a Messages API message.
    """
    if not isinstance(message, Mapping) or not isinstance(message.get("content"), list):
        raise _bad(f"a reply that is not a message object: {message!r:.200}")
    parts = [part for part in map(block_part, message["content"]) if part is not None]
    usage = message.get("usage")
    model = message.get("model")
    return LlmResponse(
        content=types.Content(role="model", parts=parts),
        usage_metadata=usage_metadata(usage) if isinstance(usage, Mapping) else None,
        finish_reason=finish_reason(message.get("stop_reason")),
        model_version=model if isinstance(model, str) else None,
    )


class MessageAssembler:
    """Builds the reply from the events of a Messages stream, one event at a time.

    :meth:`add` returns the partial responses to forward (text and thinking deltas, and the
    JSON answer streamed into ``output``'s tool when that tool was not nested); the
    blocks are kept by index and :meth:`finish` returns the aggregated reply: text, thinking
    (with its signature) and tool_use blocks in index order, a tool's input parsed from its
    ``input_json_delta`` pieces, however they were split.  Not thread-safe; one per stream.
    """

    def __init__(self, output: OutputTool | None = None) -> None:
        self._output = output
        self._blocks: dict[int, dict[str, Any]] = {}
        self._json: dict[int, list[str]] = {}
        self._usage: dict[str, Any] = {}
        self._model: str | None = None
        self._stop_reason: Any = None
        self.started = False
        """True once a ``message_start`` event arrived."""
        self.stopped = False
        """True once the ``message_stop`` event arrived: the reply is complete."""
        self.events = 0

    def add(self, kind: str, data: Any) -> list[LlmResponse]:
        """Take one decoded event (``kind`` is its SSE event name or ``type``).

        Raises:
            ModelResponseError: an event of the wrong shape, or after ``message_stop``.
        """
        if not isinstance(data, Mapping):
            raise _bad(f"a stream event that is not an object: {data!r:.100}")
        kind = str(data.get("type") or kind)
        self.events += 1
        if self.stopped and kind != "ping":
            raise _bad(f"a {kind!r} event after message_stop")
        if kind == "message_start":
            message = data.get("message")
            if not isinstance(message, Mapping):
                raise _bad("a message_start event without a message")
            self.started = True
            model = message.get("model")
            self._model = model if isinstance(model, str) else None
            if isinstance(message.get("usage"), Mapping):
                self._usage.update(message["usage"])
            return []
        if kind == "content_block_start":
            index, block = data.get("index"), data.get("content_block")
            if not isinstance(index, int) or not isinstance(block, Mapping):
                raise _bad("a malformed content_block_start event")
            self._blocks[index] = dict(block)
            if block.get("type") == "tool_use":
                self._json[index] = []
            return []
        if kind == "content_block_delta":
            return self._delta(data)
        if kind == "message_delta":
            delta = data.get("delta")
            if isinstance(delta, Mapping) and delta.get("stop_reason"):
                self._stop_reason = delta["stop_reason"]
            if isinstance(data.get("usage"), Mapping):
                self._usage.update((k, v) for k, v in data["usage"].items() if v is not None)
            return []
        if kind == "message_stop":
            self.stopped = True
        return []  # content_block_stop, ping, and event kinds added later

    def _delta(self, data: Mapping[str, Any]) -> list[LlmResponse]:
        index, delta = data.get("index"), data.get("delta")
        if not isinstance(index, int) or not isinstance(delta, Mapping):
            raise _bad("a malformed content_block_delta event")
        block = self._blocks.get(index)
        if block is None:
            raise _bad(f"a delta for content block {index}, which never started")
        kind = delta.get("type")
        if kind == "text_delta":
            text = str(delta.get("text") or "")
            block["text"] = str(block.get("text") or "") + text
            return [self._partial(types.Part(text=text))] if text else []
        if kind == "thinking_delta":
            text = str(delta.get("thinking") or "")
            block["thinking"] = str(block.get("thinking") or "") + text
            return [self._partial(types.Part(text=text, thought=True))] if text else []
        if kind == "signature_delta":
            block["signature"] = str(block.get("signature") or "") + str(
                delta.get("signature") or "")
            return []
        if kind == "input_json_delta":
            pieces = self._json.get(index)
            if pieces is None:
                raise _bad(f"an input_json_delta for block {index}, which is not a tool_use")
            piece = str(delta.get("partial_json") or "")
            pieces.append(piece)
            if (piece and self._output is not None and not self._output.nested
                    and block.get("name") == OUTPUT_TOOL):
                return [self._partial(types.Part(text=piece))]  # the JSON answer, as it comes
        return []

    def _partial(self, part: types.Part) -> LlmResponse:
        return LlmResponse(content=types.Content(role="model", parts=[part]),
                           model_version=self._model, partial=True)

    def finish(self) -> LlmResponse:
        """The aggregated reply (call after ``message_stop``).

        Raises:
            ModelResponseError: a tool's input is not a JSON object.
        """
        parts: list[types.Part] = []
        for index in sorted(self._blocks):
            block = self._blocks[index]
            if index in self._json:
                text = "".join(self._json[index])
                try:
                    args = json.loads(text) if text.strip() else block.get("input") or {}
                except ValueError as exc:
                    raise _bad(f"tool input that is not JSON: {text[:200]!r}") from exc
                block["input"] = args
            part = block_part(block)
            if part is not None:
                parts.append(part)
        response = LlmResponse(
            content=types.Content(role="model", parts=parts),
            usage_metadata=usage_metadata(self._usage),
            finish_reason=finish_reason(self._stop_reason),
            model_version=self._model, partial=False)
        return response if self._output is None else self._output.unwrap(response)
