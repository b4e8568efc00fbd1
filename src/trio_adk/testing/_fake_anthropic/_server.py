"""FakeAnthropicServer: the Messages API on loopback, scripted, with faults."""

from __future__ import annotations

import json
import logging
from typing import Any, final

import h11
import trio

from trio_adk.testing._fake_anthropic._records import RecordedAnthropicRequest
from trio_adk.testing._fake_anthropic._script import (
    AnthropicError,
    AnthropicReply,
    TextBlock,
    ThinkingBlock,
    ToolUseBlock,
    anthropic_error,
    anthropic_text,
    anthropic_tool_use,
)
from trio_adk.testing._fake_gemini._http import DropConnection, HttpConnection, IncomingRequest
from trio_adk.testing._http_serving import ScriptedHttpServer

_SSE_HEADERS = [(b"content-type", b"text/event-stream; charset=utf-8"),
                (b"cache-control", b"no-cache")]
_JSON = b"application/json"
_MALFORMED = b'{"type": "content_block_delta", "index": 0, "delta": {"type": "text_de'

Answer = AnthropicReply | AnthropicError


def _sse(name: str, data: Any) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def _credential(headers: dict[str, str]) -> str | None:
    if "x-api-key" in headers:
        return headers["x-api-key"]
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def _estimate_tokens(value: Any) -> int:
    return max(1, len(json.dumps(value, default=str)) // 4)


def builtin_responder(request: RecordedAnthropicRequest) -> AnthropicReply:
    """The CLI's answers: after tool results, their content; a user text naming a declared
    tool, a call to it (no arguments); any other text, ``"You said: <text>"``."""
    last = request.messages[-1] if request.messages else {}
    content = last.get("content") if isinstance(last, dict) else None
    blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content or []
    results = [b for b in blocks if isinstance(b, dict) and b.get("type") == "tool_result"]
    if results:
        shown = "; ".join(str(b.get("content")) for b in results)
        return anthropic_text(f"The tool returned: {shown}")
    text = " ".join(str(b.get("text")) for b in blocks
                    if isinstance(b, dict) and b.get("type") == "text")
    for name in request.tool_names:
        if name and name in text:
            return anthropic_tool_use(name, {})
    return anthropic_text(f"You said: {text}")


@final
class FakeAnthropicServer(ScriptedHttpServer[RecordedAnthropicRequest, Answer | str]):
    """An Anthropic Messages API look-alike on loopback (HTTP/1.1, JSON and SSE).

    Use it as ``async with FakeAnthropicServer(script=[...]) as server:`` inside trio and
    point a client at ``server.base_url`` (``ANTHROPIC_BASE_URL``).  ``POST /v1/messages``
    is answered from ``script``, one item per call (:data:`ScriptItem`: a reply, an error, a
    plain text, or a responder called with the :class:`RecordedAnthropicRequest`); with
    ``script=None`` every call goes to ``responder`` (default: :func:`builtin_responder`).
    When a script runs out, calls go to ``responder`` if one was given, else they get a 500.
    ``"stream": true`` requests get the event stream (``message_start``, ``ping``, per block
    ``content_block_start`` / deltas / ``content_block_stop``, ``message_delta``,
    ``message_stop``); others get the whole ``message``.
    ``POST /v1/messages/count_tokens`` answers an estimate.

    ``require_api_key``: calls without exactly this key (``x-api-key`` or ``Authorization:
    Bearer``) get 401 ``authentication_error``.

    Every request is appended to :attr:`requests`.  A client that disconnects never stops
    the server; unexpected exceptions (a raising responder included, which also gets the
    client a 500) are collected in :attr:`errors`.

    Threads and cancellation: use it from one trio run; leaving the ``async with`` block
    (normally, by an exception or by cancellation) cancels and closes every connection.
    """

    _label = "FakeAnthropicServer"
    _logger = logging.getLogger("trio_adk.testing.fake_anthropic")

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``, no trailing slash."""
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.port}"

    @property
    def message_requests(self) -> list[RecordedAnthropicRequest]:
        """The recorded ``POST /v1/messages`` calls."""
        return [r for r in self.requests if r.path == "/v1/messages"]

    def __repr__(self) -> str:
        where = "not running" if self._port is None else self.base_url
        return (f"<FakeAnthropicServer {where} [requests: {len(self.requests)} | "
                f"script: {self.script_remaining} left]>")

    async def _answer_bad_request(self, conn: HttpConnection,
                                  exc: h11.RemoteProtocolError) -> None:
        await self._send_error(conn, anthropic_error(400, str(exc)))

    # -- requests -----------------------------------------------------------------------------

    async def _serve_request(self, conn: HttpConnection, request: IncomingRequest) -> None:
        headers = request.headers
        path = request.target.split("?", 1)[0]
        try:
            body: Any = json.loads(request.body) if request.body.strip() else None
            valid = True
        except (ValueError, UnicodeDecodeError):
            body, valid = None, False
        record = RecordedAnthropicRequest(
            method=request.method, path=path, headers=headers, body=body,
            raw_body=request.body, api_key=_credential(headers), timestamp=trio.current_time())
        self.requests.append(record)
        if request.method != "POST" or path not in ("/v1/messages", "/v1/messages/count_tokens"):
            await self._send_error(conn, anthropic_error(404, f"Not found: {path}"))
            return
        if self._require_api_key is not None and record.api_key != self._require_api_key:
            await self._send_error(conn, anthropic_error(401, "invalid x-api-key"))
            return
        if not valid or not isinstance(body, dict):
            await self._send_error(conn, anthropic_error(400, "The request body is not JSON."))
            return
        if path.endswith("count_tokens"):
            await conn.send_body(200, json.dumps({"input_tokens": _estimate_tokens(
                body.get("messages"))}).encode(), _JSON)
            return
        for field in ("model", "max_tokens", "messages"):
            if field not in body:
                await self._send_error(conn, anthropic_error(400, f"{field}: Field required"))
                return
        item = await self._answer_for(record)
        answer = anthropic_text(item) if isinstance(item, str) else item
        await trio.sleep(answer.delay)
        if isinstance(answer, AnthropicError):
            await self._send_error(conn, answer)
            return
        self._calls += 1
        message = self._message(answer, record)
        if record.stream:
            await self._send_stream(conn, answer, message)
        else:
            await self._send_message(conn, answer, message)

    def _builtin_answer(self, record: RecordedAnthropicRequest) -> Answer:
        return builtin_responder(record)

    def _exhausted_answer(self) -> Answer:
        used = len(self.message_requests) - 1
        return anthropic_error(500, f"FakeAnthropicServer: the script is exhausted ({used} "
                                    "scripted replies used; give more or a responder=)")

    def _failed_answer(self, exc: Exception) -> Answer:
        return anthropic_error(500, f"FakeAnthropicServer responder raised {exc!r}")

    async def _send_error(self, conn: HttpConnection, error: AnthropicError) -> None:
        request_id = f"req_fake_{len(self.requests)}"
        headers = [(b"request-id", request_id.encode()),
                   *((k.encode(), v.encode()) for k, v in error.headers)]
        if error.retry_after is not None:
            headers.append((b"retry-after", str(error.retry_after).encode()))
        if error.status == 529 or error.status >= 500:
            headers.append((b"x-should-retry", b"true"))
        body = json.dumps(error.wire_body(request_id)).encode()
        await conn.send_body(error.status, body, _JSON, extra_headers=headers)

    def _message(self, reply: AnthropicReply, record: RecordedAnthropicRequest
                 ) -> dict[str, Any]:
        content: list[dict[str, Any]] = []
        for index, block in enumerate(reply.content):
            if isinstance(block, ToolUseBlock):
                content.append(block.wire(block.id or f"toolu_fake_{self._calls}_{index}"))
            else:
                content.append(block.wire())
        usage = dict(reply.usage) if reply.usage is not None else {
            "input_tokens": _estimate_tokens(record.body.get("messages") if isinstance(
                record.body, dict) else None),
            "output_tokens": _estimate_tokens(content)}
        return {"id": f"msg_fake_{self._calls}", "type": "message", "role": "assistant",
                "model": reply.model or record.model or "claude-fake", "content": content,
                "stop_reason": reply.final_stop_reason, "stop_sequence": None, "usage": usage}

    async def _send_message(self, conn: HttpConnection, reply: AnthropicReply,
                            message: dict[str, Any]) -> None:
        body = json.dumps(message).encode()
        if reply.fault == "drop":
            await conn.send_partial_body(200, body, _JSON)
        elif reply.fault == "malformed":
            await conn.send_body(200, _MALFORMED, _JSON)
        elif reply.fault == "error_event":
            await self._send_error(conn, reply.error_event or anthropic_error(529, "Overloaded"))
        else:
            await conn.send_body(200, body, _JSON)

    async def _send_stream(self, conn: HttpConnection, reply: AnthropicReply,
                           message: dict[str, Any]) -> None:
        events = _events(reply, message)
        await conn.start_response(200, [*_SSE_HEADERS, (b"request-id", b"req_fake_stream")])
        pending = bytearray()
        sizes = list(reply.write_sizes or ())
        for index, event in enumerate(events):
            if index == reply.stall_after:
                await self._flush(conn, pending, sizes)
                await trio.sleep_forever()
            if reply.fault is not None and index == reply.fault_after:
                await self._flush(conn, pending, sizes)
                await self._stream_fault(conn, reply, event)
                return
            if index and reply.event_delay:
                await self._flush(conn, pending, sizes)
                await trio.sleep(reply.event_delay)
            if sizes:
                pending += event
            else:
                await conn.send_data(event)
        await self._flush(conn, pending, sizes)
        if reply.fault is not None:
            await self._stream_fault(conn, reply, b"")
            return
        await conn.end_response()

    @staticmethod
    async def _flush(conn: HttpConnection, pending: bytearray, sizes: list[int]) -> None:
        turn = 0
        while pending:
            size = max(1, sizes[turn % len(sizes)])
            turn += 1
            await conn.send_data(bytes(pending[:size]))
            del pending[:size]

    async def _stream_fault(self, conn: HttpConnection, reply: AnthropicReply,
                            event: bytes) -> None:
        if reply.fault == "drop":
            raise DropConnection("fault: stream dropped")
        if reply.fault == "truncate":
            await conn.send_data(event[: max(1, len(event) // 2)] if event else b"data: {")
        elif reply.fault == "malformed":
            await conn.send_data(b"event: content_block_delta\ndata: " + _MALFORMED + b"\n\n")
        elif reply.fault == "error_event":
            error = reply.error_event or anthropic_error(529, "Overloaded")
            await conn.send_data(_sse("error", error.wire_body()))
        await conn.end_response()


def _events(reply: AnthropicReply, message: dict[str, Any]) -> list[bytes]:
    """The SSE events of ``message`` as the Messages API streams it."""
    usage = message["usage"]
    start = dict(message, content=[], stop_reason=None,
                 usage=dict(usage, output_tokens=1))
    events = [_sse("message_start", {"type": "message_start", "message": start}),
              _sse("ping", {"type": "ping"})]
    for index, (block, wire) in enumerate(zip(reply.content, message["content"], strict=True)):
        if isinstance(block, TextBlock):
            opening: dict[str, Any] = {"type": "text", "text": ""}
            deltas = [{"type": "text_delta", "text": text} for text in block.deltas()]
        elif isinstance(block, ToolUseBlock):
            opening = dict(wire, input={})
            deltas = [{"type": "input_json_delta", "partial_json": piece}
                      for piece in block.deltas()]
        else:
            assert isinstance(block, ThinkingBlock)
            opening = {"type": "thinking", "thinking": "", "signature": ""}
            deltas = [{"type": "thinking_delta", "thinking": block.thinking},
                      {"type": "signature_delta", "signature": block.signature}]
        events.append(_sse("content_block_start", {"type": "content_block_start",
                                                   "index": index, "content_block": opening}))
        events += [_sse("content_block_delta", {"type": "content_block_delta", "index": index,
                                                "delta": delta}) for delta in deltas]
        events.append(_sse("content_block_stop", {"type": "content_block_stop", "index": index}))
    events.append(_sse("message_delta", {
        "type": "message_delta", "delta": {"stop_reason": message["stop_reason"],
                                           "stop_sequence": None},
        "usage": {"output_tokens": usage.get("output_tokens", 0)}}))
    events.append(_sse("message_stop", {"type": "message_stop"}))
    return events
