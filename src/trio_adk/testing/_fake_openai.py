"""FakeOpenAIServer: an OpenAI-compatible Chat Completions server on loopback, scripted.

Any ``POST .../chat/completions`` (``/v1/chat/completions``, Azure's
``/openai/deployments/{d}/chat/completions?api-version=...``) is answered from a script, one
item per call: an :class:`OpenAIReply` (text, chunked text, tool calls, usage, faults), an
:class:`OpenAIError` (a status with an OpenAI error body and headers such as
``Retry-After``), a ``str`` (a one-chunk text reply) or a responder (a function of the
:class:`OpenAIRequest`, possibly ``async``, returning one of those).  ``"stream": true``
requests get server-sent events exactly as OpenAI frames them (``data: {...}\\n\\n``, then
``data: [DONE]``), the usage chunk only when ``stream_options.include_usage`` is set.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Literal, TypeAlias, final
from urllib.parse import parse_qsl, unquote

import attrs
import trio

from trio_adk.testing._fake_gemini._http import DropConnection, HttpConnection, IncomingRequest
from trio_adk.testing._http_serving import ScriptedHttpServer

OpenAIFault: TypeAlias = Literal["drop", "truncate", "malformed"]
"""``"drop"``: the connection closes abruptly after ``fault_after`` chunks (a unary reply:
before any response when ``fault_after=0``, else half the body).  ``"truncate"``: half of the
next event is sent, then the body ends cleanly.  ``"malformed"``: an event (or body) that is
not JSON is sent with a 200."""


@attrs.frozen(kw_only=True)
class OpenAIToolCall:
    """One tool call of a reply; ``arguments`` is the JSON text (a dict is dumped)."""

    name: str
    arguments: str
    id: str


@attrs.frozen(kw_only=True)
class OpenAIReply:
    """A scripted successful reply.

    ``chunks``: the text deltas (a unary reply joins them); ``tool_calls``: the calls, their
    arguments streamed in pieces of ``args_chunk`` characters (``None``: whole), parallel
    calls interleaved delta by delta when ``interleave``; ``reasoning``: a reasoning delta
    (``reasoning_content``) sent first.  ``finish_reason`` defaults to ``"tool_calls"`` when
    there are calls, else ``"stop"`` (``None`` sends none).  ``usage``: ``"auto"`` (word
    counts), a dict (sent as given) or ``None``.  ``events`` replaces every chunk of a
    stream with these verbatim objects (``"[DONE]"`` is sent raw).  Timing in trio time:
    ``delay`` before the reply, ``chunk_delay`` between events.  ``byte_chunks``: send the
    stream in HTTP chunks of that many bytes.  ``fault`` strikes after ``fault_after``
    complete events; ``done=False`` leaves out ``data: [DONE]``.
    """

    chunks: tuple[str, ...] = ()
    tool_calls: tuple[OpenAIToolCall, ...] = ()
    reasoning: str | None = None
    finish_reason: str | Literal["auto"] | None = "auto"
    usage: Mapping[str, Any] | Literal["auto"] | None = "auto"
    model: str | None = None
    events: tuple[Any, ...] | None = None
    args_chunk: int | None = 7
    interleave: bool = False
    delay: float = 0.0
    chunk_delay: float = 0.0
    byte_chunks: int | None = None
    fault: OpenAIFault | None = None
    fault_after: int = 0
    done: bool = True


@attrs.frozen(kw_only=True)
class OpenAIError:
    """A scripted error reply: ``status`` with ``{"error": {"message", "type", "param",
    "code"}}`` (``body`` replaces it verbatim); ``retry_after`` adds a ``Retry-After``
    header (seconds), ``headers`` any others; ``delay`` seconds pass first."""

    status: int = 500
    message: str | None = None
    type: str | None = None
    code: str | None = None
    retry_after: float | str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    body: Any = None
    delay: float = 0.0

    def wire_body(self) -> Any:
        if self.body is not None:
            return self.body
        kind = self.type or ("rate_limit_exceeded" if self.status == 429 else
                             "invalid_request_error" if self.status < 500 else "server_error")
        return {"error": {"message": self.message or f"fake error {self.status}",
                          "type": kind, "param": None, "code": self.code}}


@attrs.frozen(kw_only=True)
class OpenAIRequest:
    """One request the server received (``body`` the decoded JSON, ``None`` if not JSON)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    raw_body: bytes
    api_key: str | None
    """From ``Authorization: Bearer`` or the Azure ``api-key`` header."""
    timestamp: float

    @property
    def stream(self) -> bool:
        return isinstance(self.body, dict) and self.body.get("stream") is True

    @property
    def model(self) -> str | None:
        value = self.body.get("model") if isinstance(self.body, dict) else None
        return value if isinstance(value, str) else None

    @property
    def messages(self) -> list[dict[str, Any]]:
        value = self.body.get("messages") if isinstance(self.body, dict) else None
        return list(value) if isinstance(value, list) else []

    def texts(self) -> list[str]:
        """The string contents of the messages, in order (an assertion helper)."""
        return [m["content"] for m in self.messages if isinstance(m.get("content"), str)]


ReplyItem: TypeAlias = OpenAIReply | OpenAIError | str
Responder: TypeAlias = Callable[[OpenAIRequest], ReplyItem | Awaitable[ReplyItem]]
ScriptItem: TypeAlias = ReplyItem | Responder


def openai_text(text: str, **options: Any) -> OpenAIReply:
    """A reply with one text chunk."""
    return OpenAIReply(chunks=(text,), **options)


def openai_chunks(pieces: Sequence[str], **options: Any) -> OpenAIReply:
    """A reply streamed as one text delta per piece."""
    return OpenAIReply(chunks=tuple(pieces), **options)


def _call(index: int, name: str, args: Mapping[str, Any] | str, id: str | None) -> OpenAIToolCall:
    arguments = args if isinstance(args, str) else json.dumps(dict(args))
    return OpenAIToolCall(name=name, arguments=arguments, id=id or f"call_fake_{index}")


def openai_tool_call(name: str, args: Mapping[str, Any] | str | None = None, *,
                     id: str | None = None, **options: Any) -> OpenAIReply:
    """A reply calling one tool (``args`` a dict, or raw JSON text)."""
    return OpenAIReply(tool_calls=(_call(0, name, args or {}, id),), **options)


def openai_tool_calls(*calls: tuple[str, Mapping[str, Any] | str], **options: Any) -> OpenAIReply:
    """A reply calling several tools at once (parallel calls): ``("name", {args}), ...``."""
    return OpenAIReply(tool_calls=tuple(_call(i, name, args, None)
                                        for i, (name, args) in enumerate(calls)), **options)


def openai_error(status: int = 500, message: str | None = None, *,
                 retry_after: float | str | None = None, **options: Any) -> OpenAIError:
    """An HTTP error reply with an OpenAI error body."""
    return OpenAIError(status=status, message=message, retry_after=retry_after, **options)


def echo_responder(request: OpenAIRequest) -> ReplyItem:
    """The built-in responder: after tool results, reports them; if the last user message
    names a declared tool, calls it with no arguments; else echoes the user's text."""
    messages = request.messages
    if messages and messages[-1].get("role") == "tool":
        results = [m.get("content") for m in messages if m.get("role") == "tool"]
        return openai_text(f"Tool result: {results[-1]}")
    said = next((m.get("content") for m in reversed(messages) if m.get("role") == "user"), "")
    said = said if isinstance(said, str) else json.dumps(said)
    tools = request.body.get("tools") if isinstance(request.body, dict) else None
    for tool in tools or []:
        name = (tool.get("function") or {}).get("name") if isinstance(tool, dict) else None
        if isinstance(name, str) and name in said:
            return openai_tool_call(name, {})
    return openai_text(f"You said: {said}")


def _words(value: Any) -> int:
    return len(json.dumps(value).split()) if value is not None else 0


_MALFORMED = b'{"id": "chatcmpl-fake", "choices": [{"delta": {"content": "cut'


@final
class FakeOpenAIServer(ScriptedHttpServer[OpenAIRequest, ReplyItem]):
    """A scripted OpenAI-compatible server on loopback.

    ``async with FakeOpenAIServer(script=[...]) as server:`` inside trio; point a client at
    ``server.base_url`` (``http://127.0.0.1:<port>/v1``).  Each model call takes the next
    script item; with ``script=None`` every call goes to ``responder`` (default
    :func:`echo_responder`); a script that runs out answers with ``responder`` if given, else
    a 500 saying so.  ``require_api_key``: calls without exactly that key get 401.

    Every request is appended to :attr:`requests`.  A client that leaves mid-reply never
    stops the server; unexpected exceptions (a raising responder: the client gets a 500)
    are kept in :attr:`errors`.

    Threads and cancellation: use it from one trio run and read its attributes there.
    Leaving the block (normally, by an exception or by cancellation) cancels and closes
    every connection before it returns.
    """

    _label = "FakeOpenAIServer"
    _logger = logging.getLogger("trio_adk.testing.fake_openai")

    @property
    def origin(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://{self._host}:{self.port}"

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>/v1``: an ``api_base`` for OpenAI-style clients."""
        return f"{self.origin}/v1"

    def __repr__(self) -> str:
        where = "not running" if self._port is None else self.base_url
        return (f"<FakeOpenAIServer {where} [requests: {len(self.requests)} | script: "
                f"{self.script_remaining} left]>")

    async def _serve_request(self, conn: HttpConnection, request: IncomingRequest) -> None:
        path, _, query = request.target.partition("?")
        headers = request.headers
        scheme, _, token = headers.get("authorization", "").partition(" ")
        key = token.strip() if scheme.lower() == "bearer" and token else headers.get("api-key")
        try:
            body: Any = json.loads(request.body) if request.body.strip() else None
        except (ValueError, UnicodeDecodeError):
            body = None
        record = OpenAIRequest(method=request.method, path=unquote(path),
                               query=dict(parse_qsl(query, keep_blank_values=True)),
                               headers=headers, body=body, raw_body=request.body, api_key=key,
                               timestamp=trio.current_time())
        self.requests.append(record)
        if request.method != "POST" or not record.path.endswith("/chat/completions"):
            await self._send_error(conn, OpenAIError(status=404, message=(
                f"Unknown request URL: {request.method} {record.path}.")))
            return
        if self._require_api_key is not None and key != self._require_api_key:
            await self._send_error(conn, OpenAIError(
                status=401, type="invalid_request_error", code="invalid_api_key",
                message="Incorrect API key provided."))
            return
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            await self._send_error(conn, OpenAIError(
                status=400, message="We could not parse the JSON body of your request."))
            return
        item = await self._answer_for(record)
        if isinstance(item, str):
            item = openai_text(item)
        await trio.sleep(item.delay)
        if isinstance(item, OpenAIError):
            await self._send_error(conn, item)
            return
        self._calls += 1
        if record.stream:
            await self._send_stream(conn, item, record)
        else:
            await self._send_unary(conn, item, record)

    def _builtin_answer(self, record: OpenAIRequest) -> ReplyItem:
        return echo_responder(record)

    def _exhausted_answer(self) -> ReplyItem:
        return OpenAIError(status=500, message=(
            "FakeOpenAIServer: the script is exhausted (give more replies or a responder=)"))

    def _failed_answer(self, exc: Exception) -> ReplyItem:
        return OpenAIError(status=500, message=f"FakeOpenAIServer responder raised {exc!r}")

    async def _send_error(self, conn: HttpConnection, error: OpenAIError) -> None:
        extra = [(name.encode("latin-1"), value.encode("latin-1"))
                 for name, value in error.headers]
        if error.retry_after is not None:
            extra.append((b"retry-after", str(error.retry_after).encode("ascii")))
        await conn.send_json(error.status, error.wire_body(), extra_headers=extra)

    # ---- rendering

    def _meta(self, reply: OpenAIReply, record: OpenAIRequest, kind: str) -> dict[str, Any]:
        return {"id": f"chatcmpl-fake-{self._calls}", "object": kind, "created": 1700000000,
                "model": reply.model or record.model or "fake-model"}

    def _usage(self, reply: OpenAIReply, record: OpenAIRequest) -> dict[str, Any] | None:
        if reply.usage is None:
            return None
        if reply.usage != "auto":
            return dict(reply.usage)
        prompt = _words(record.messages)
        completion = sum(len(c.split()) for c in reply.chunks) + sum(
            _words(c.arguments) for c in reply.tool_calls)
        return {"prompt_tokens": prompt, "completion_tokens": completion,
                "total_tokens": prompt + completion}

    def _finish(self, reply: OpenAIReply) -> str | None:
        if reply.finish_reason == "auto":
            return "tool_calls" if reply.tool_calls else "stop"
        return reply.finish_reason

    async def _send_unary(self, conn: HttpConnection, reply: OpenAIReply,
                          record: OpenAIRequest) -> None:
        message: dict[str, Any] = {"role": "assistant",
                                   "content": "".join(reply.chunks) if reply.chunks else None}
        if reply.reasoning:
            message["reasoning_content"] = reply.reasoning
        if reply.tool_calls:
            message["tool_calls"] = [{"id": c.id, "type": "function",
                                      "function": {"name": c.name, "arguments": c.arguments}}
                                     for c in reply.tool_calls]
        value = {**self._meta(reply, record, "chat.completion"),
                 "choices": [{"index": 0, "message": message,
                              "finish_reason": self._finish(reply)}]}
        usage = self._usage(reply, record)
        if usage is not None:
            value["usage"] = usage
        body = json.dumps(value).encode()
        kind = b"application/json"
        if reply.fault == "drop":
            if reply.fault_after == 0:
                raise DropConnection("fault: connection dropped before the response")
            await conn.send_partial_body(200, body, kind)
        elif reply.fault == "truncate":
            await conn.send_body(200, body[: len(body) // 2], kind)
        elif reply.fault == "malformed":
            await conn.send_body(200, _MALFORMED, kind)
        else:
            await conn.send_body(200, body, kind)

    def stream_events(self, reply: OpenAIReply, record: OpenAIRequest) -> list[Any]:
        """The chunk objects of a streamed ``reply`` (``"[DONE]"`` last)."""
        if reply.events is not None:
            return list(reply.events)
        meta = self._meta(reply, record, "chat.completion.chunk")

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            return {**meta, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

        events: list[Any] = [chunk({"role": "assistant", "content": ""})]
        if reply.reasoning:
            events.append(chunk({"reasoning_content": reply.reasoning}))
        events.extend(chunk({"content": text}) for text in reply.chunks)
        per_call: list[list[dict[str, Any]]] = []
        for index, call in enumerate(reply.tool_calls):
            step = reply.args_chunk or max(1, len(call.arguments))
            pieces = [call.arguments[i:i + step] for i in range(0, len(call.arguments), step)]
            deltas = [{"index": index, "id": call.id, "type": "function",
                       "function": {"name": call.name, "arguments": ""}}]
            deltas += [{"index": index, "function": {"arguments": piece}} for piece in pieces]
            per_call.append(deltas)
        if reply.interleave:
            longest = max((len(d) for d in per_call), default=0)
            order = [d[i] for i in range(longest) for d in per_call if i < len(d)]
        else:
            order = [delta for deltas in per_call for delta in deltas]
        events.extend(chunk({"tool_calls": [delta]}) for delta in order)
        events.append(chunk({}, self._finish(reply)))
        options = record.body.get("stream_options") if isinstance(record.body, dict) else None
        usage = self._usage(reply, record)
        if usage is not None and isinstance(options, dict) and options.get("include_usage"):
            events.append({**meta, "choices": [], "usage": usage})
        if reply.done:
            events.append("[DONE]")
        return events

    async def _send_stream(self, conn: HttpConnection, reply: OpenAIReply,
                           record: OpenAIRequest) -> None:
        await conn.start_response(200, [(b"content-type", b"text/event-stream"),
                                        (b"cache-control", b"no-cache")])
        for index, event in enumerate(self.stream_events(reply, record)):
            if index and reply.chunk_delay:
                await trio.sleep(reply.chunk_delay)
            data = sse_bytes(event)
            if reply.fault is not None and index == reply.fault_after:
                if reply.fault == "drop":
                    raise DropConnection("fault: stream dropped")
                await conn.send_data(data[: len(data) // 2] if reply.fault == "truncate"
                                     else b"data: " + _MALFORMED + b"\n\n")
                await conn.end_response()
                return
            if reply.byte_chunks:
                for start in range(0, len(data), reply.byte_chunks):
                    await conn.send_data(data[start:start + reply.byte_chunks])
            else:
                await conn.send_data(data)
        await conn.end_response()


def sse_bytes(event: Any) -> bytes:
    """One event as OpenAI frames it: ``data: <json>\\n\\n`` (``[DONE]`` sent raw)."""
    payload = event if isinstance(event, str) else json.dumps(event, separators=(",", ":"))
    return b"data: " + payload.encode("utf-8") + b"\n\n"
