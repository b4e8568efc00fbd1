"""What FakeAnthropicServer answers: replies made of content blocks, errors, and faults."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, Literal, TypeAlias

import attrs

from trio_adk.testing._fake_anthropic._records import RecordedAnthropicRequest

Fault: TypeAlias = Literal["drop", "truncate", "end_early", "malformed", "error_event"]
"""Faults of a reply, injected after ``fault_after`` stream events (or in a whole reply):

* ``"drop"``: the connection is closed without ending the body (a whole reply: after half
  of it);
* ``"truncate"``: half of the next event, then the body ends properly;
* ``"end_early"``: the body ends properly with no more events (no ``message_stop``);
* ``"malformed"``: an event (a whole reply: a body) that is not JSON;
* ``"error_event"``: an ``event: error`` (``error_event``, default 529 overloaded), as the
  API sends when it fails mid-stream.
"""

_ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error",
                402: "billing_error", 403: "permission_error", 404: "not_found_error",
                413: "request_too_large", 429: "rate_limit_error", 500: "api_error",
                504: "timeout_error", 529: "overloaded_error"}


@attrs.frozen(kw_only=True)
class TextBlock:
    """A text block; streamed as the ``chunks`` deltas (default: pieces of 16 characters)."""

    text: str
    chunks: tuple[str, ...] | None = None

    def deltas(self) -> list[str]:
        if self.chunks is not None:
            if "".join(self.chunks) != self.text:
                raise ValueError("TextBlock chunks must add up to its text")
            return list(self.chunks)
        return [self.text[i:i + 16] for i in range(0, len(self.text), 16)]

    def wire(self) -> dict[str, Any]:
        return {"type": "text", "text": self.text}


@attrs.frozen(kw_only=True)
class ToolUseBlock:
    """A ``tool_use`` block; its input is streamed as the ``json_chunks`` pieces (default:
    the compact JSON in two halves); they must add up to JSON for ``input``."""

    name: str
    input: Mapping[str, Any] = attrs.field(factory=dict)
    id: str | None = None
    json_chunks: tuple[str, ...] | None = None

    def deltas(self) -> list[str]:
        if self.json_chunks is not None:
            return list(self.json_chunks)
        text = json.dumps(dict(self.input), separators=(",", ":"))
        half = len(text) // 2
        return [piece for piece in (text[:half], text[half:]) if piece]

    def wire(self, block_id: str) -> dict[str, Any]:
        return {"type": "tool_use", "id": block_id, "name": self.name, "input": dict(self.input)}


@attrs.frozen(kw_only=True)
class ThinkingBlock:
    """A ``thinking`` block with its signature (streamed as one delta of each)."""

    thinking: str
    signature: str = "fake-signature"

    def wire(self) -> dict[str, Any]:
        return {"type": "thinking", "thinking": self.thinking, "signature": self.signature}


Block: TypeAlias = TextBlock | ToolUseBlock | ThinkingBlock


@attrs.frozen(kw_only=True)
class AnthropicError:
    """An error reply: HTTP ``status`` with Anthropic's error body (``type`` defaults from the
    status), sent after ``delay`` seconds; ``retry_after`` adds a ``retry-after`` header."""

    status: int
    message: str = "The fake Anthropic server was told to fail."
    type: str | None = None
    retry_after: float | str | None = None
    delay: float = 0.0
    headers: tuple[tuple[str, str], ...] = ()

    @property
    def error_type(self) -> str:
        return self.type or _ERROR_TYPES.get(self.status, "api_error")

    def wire_body(self, request_id: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"type": "error",
                                "error": {"type": self.error_type, "message": self.message}}
        if request_id is not None:
            body["request_id"] = request_id
        return body


@attrs.frozen(kw_only=True)
class AnthropicReply:
    """A model reply: content blocks, ``stop_reason`` (default ``"tool_use"`` when a block
    calls a tool, else ``"end_turn"``), ``usage`` (default: estimated from the sizes).

    Timing: ``delay`` before the reply, ``event_delay`` between stream events;
    ``stall_after``: after that many stream events the server sends nothing more and waits
    until the client leaves (or the server stops).
    ``write_sizes``: send the stream's bytes in writes of these sizes (cycled), to split
    events anywhere.  ``fault`` / ``fault_after`` / ``error_event``: see :data:`Fault`.
    """

    content: tuple[Block, ...]
    stop_reason: str | None = None
    usage: Mapping[str, Any] | None = None
    model: str | None = None
    delay: float = 0.0
    event_delay: float = 0.0
    stall_after: int | None = None
    write_sizes: tuple[int, ...] | None = None
    fault: Fault | None = None
    fault_after: int = 0
    error_event: AnthropicError | None = None

    @property
    def final_stop_reason(self) -> str:
        if self.stop_reason is not None:
            return self.stop_reason
        if any(isinstance(block, ToolUseBlock) for block in self.content):
            return "tool_use"
        return "end_turn"


Responder: TypeAlias = Callable[
    [RecordedAnthropicRequest],
    "AnthropicReply | AnthropicError | str | Awaitable[AnthropicReply | AnthropicError | str]"]
"""Computes the answer to one request (sync or async)."""

ScriptItem: TypeAlias = AnthropicReply | AnthropicError | str | Responder
"""One scripted answer: a reply, an error, a plain text reply, or a responder."""


def anthropic_text(text: str, *, chunks: Iterable[str] | None = None,
                   **reply: Any) -> AnthropicReply:
    """A text reply (streamed as ``chunks`` when given); ``reply`` sets
    :class:`AnthropicReply` fields (faults, delays, usage...)."""
    pieces = None if chunks is None else tuple(chunks)
    return AnthropicReply(content=(TextBlock(text=text, chunks=pieces),), **reply)


def anthropic_tool_use(name: str, input: Mapping[str, Any] | None = None, *,
                       id: str | None = None, text: str | None = None,
                       json_chunks: Iterable[str] | None = None,
                       **reply: Any) -> AnthropicReply:
    """A reply calling one tool (after an optional ``text`` block)."""
    blocks: list[Block] = [] if text is None else [TextBlock(text=text)]
    blocks.append(ToolUseBlock(name=name, input=dict(input or {}), id=id,
                               json_chunks=None if json_chunks is None else tuple(json_chunks)))
    return AnthropicReply(content=tuple(blocks), **reply)


def anthropic_tool_uses(calls: Iterable[tuple[str, Mapping[str, Any]]], *,
                        text: str | None = None, **reply: Any) -> AnthropicReply:
    """A reply calling several tools, ``(name, input)`` pairs, in that order."""
    blocks: list[Block] = [] if text is None else [TextBlock(text=text)]
    blocks += [ToolUseBlock(name=name, input=dict(args)) for name, args in calls]
    return AnthropicReply(content=tuple(blocks), **reply)


def anthropic_error(status: int, message: str | None = None, *,
                    retry_after: float | str | None = None, **fields: Any) -> AnthropicError:
    """An error reply (``message`` defaults to a generic one)."""
    if message is not None:
        fields["message"] = message
    return AnthropicError(status=status, retry_after=retry_after, **fields)
