"""FakeGeminiServer: lifecycle, connection handling and request dispatch."""

from __future__ import annotations

import json
import logging
import ssl
from collections.abc import Iterable, Mapping
from typing import Any, final

import h11
import trio
import trio_websocket

from trio_adk.testing._fake_gemini._http import (
    DropConnection,
    HttpConnection,
    IncomingRequest,
    sse_event,
)
from trio_adk.testing._fake_gemini._live import LiveScript, LiveSession, decode_message, live_frame
from trio_adk.testing._fake_gemini._normalize import normalize_request
from trio_adk.testing._fake_gemini._records import (
    KeySource,
    RecordedLiveMessage,
    RecordedRequest,
)
from trio_adk.testing._fake_gemini._render import (
    RenderContext,
    count_prompt_tokens,
    merge_responses,
    render_chunks,
)
from trio_adk.testing._fake_gemini._responder import builtin_responder
from trio_adk.testing._fake_gemini._routes import Route, match_route
from trio_adk.testing._fake_gemini._script import (
    GeminiError,
    GeminiReply,
    ReplyItem,
    Responder,
    ScriptItem,
    gemini_text,
)
from trio_adk.testing._fake_gemini._stream import ReplayStream
from trio_adk.testing._http_serving import ScriptedHttpServer

_LIVE_MAX_MESSAGE = 16 * 1024 * 1024
_LIVE_QUEUE = 16
_API_KEY_INVALID = "API key not valid. Please pass a valid API key."
_API_KEY_MISSING = "API key missing. Pass an API key in the x-goog-api-key header or ?key=."
_SSE_HEADERS = [(b"content-type", b"text/event-stream"), (b"x-content-type-options", b"nosniff")]
_MALFORMED_JSON = b'{"candidates": [{"content": {"role": "model", "parts": [{"text": "cut'

def _api_key_error(missing: bool) -> GeminiError:
    message = _API_KEY_MISSING if missing else _API_KEY_INVALID
    return GeminiError(code=400, message=message, details=(
        {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
         "domain": "googleapis.com",
         "metadata": {"service": "generativelanguage.googleapis.com"}},
        {"@type": "type.googleapis.com/google.rpc.LocalizedMessage", "locale": "en-US",
         "message": message},
    ))


def _find_api_key(headers: Mapping[str, str],
                  query: Mapping[str, str]) -> tuple[str | None, KeySource | None]:
    if "x-goog-api-key" in headers:
        return headers["x-goog-api-key"], "header"
    if "key" in query:
        return query["key"], "query"
    if "access_token" in query:
        return query["access_token"], "access_token"
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "token" and token:
        return token.strip(), "authorization"
    return None, None


@final
class FakeGeminiServer(ScriptedHttpServer[RecordedRequest, ReplyItem]):
    """A real Gemini look-alike on loopback: REST, SSE and the Live WebSocket on one port.

    Use it as ``async with FakeGeminiServer(script=[...]) as server:`` inside trio (pytest-trio
    tests, the demo) and point a client at ``server.base_url``. Model calls
    (``POST /{v1beta,v1,v1alpha}/models/{m}:generateContent`` and
    ``:streamGenerateContent?alt=sse``) are answered from ``script``, one item per call (see
    :data:`~trio_adk.testing.ScriptItem`); with ``script=None`` every call goes to ``responder``
    (default :func:`~trio_adk.testing.builtin_responder`). When a script runs out, calls go to
    ``responder`` if one was given, else they get a 500 error saying so. Live connections
    (``/ws/google.ai.generativelanguage.{ver}.GenerativeService.BidiGenerateContent``) follow
    ``live`` (a :class:`~trio_adk.testing.LiveScript`; default: echo; scripted conversations:
    :mod:`trio_adk.testing.live_script`); :attr:`live_sessions` keeps every Live session.

    ``require_api_key``: calls without exactly this key (``x-goog-api-key``, ``?key=``,
    ``?access_token=`` or ``Authorization: Token``) get 400 ``API_KEY_INVALID`` (Live: close 1008).
    ``ssl_context``: serve TLS (``https://`` / ``wss://``) with that server context.

    Every request is appended to :attr:`requests` and every Live client message to
    :attr:`live_messages`. A client that disconnects mid-response never stops the server;
    unexpected exceptions in a connection (including a raising responder, which also gets the
    client a 500) are collected in :attr:`errors` instead of propagating.

    Threads and cancellation: use it from one trio run; read its attributes from that run's
    thread. Leaving the ``async with`` block (normally, by an exception or by cancellation) first
    closes Live sessions with 1001, waiting at most ``close_timeout`` seconds, then cancels and
    closes every connection; that cleanup is shielded, so it completes even when the surrounding
    scope is cancelled.
    """

    _label = "FakeGeminiServer"
    _logger = logging.getLogger("trio_adk.testing.fake_gemini")

    def __init__(self, script: Iterable[ScriptItem] | None = None, *,
                 responder: Responder | None = None, host: str = "127.0.0.1", port: int = 0,
                 require_api_key: str | None = None, live: LiveScript | None = None,
                 ssl_context: ssl.SSLContext | None = None, close_timeout: float = 1.0) -> None:
        super().__init__(script, responder=responder, host=host, port=port,
                         require_api_key=require_api_key, ssl_context=ssl_context)
        self.live = live if live is not None else LiveScript()
        """The :class:`~trio_adk.testing.LiveScript` for new Live connections (assignable)."""
        self._close_timeout = close_timeout
        self.live_messages: list[RecordedLiveMessage] = []
        """Every message Live clients sent, the ``setup`` message included."""
        self.live_sessions: list[LiveSession] = []
        """Every Live session that sent a ``setup`` message, in order (also once closed: their
        ``close_code`` tells how the connection ended, 1006 for a dropped one)."""
        self._model_calls = 0
        self._live_count = 0
        self._open_live: set[trio.CancelScope] = set()
        self._live_idle = trio.Event()
        self._live_idle.set()

    # -- public state -------------------------------------------------------------------------

    @property
    def host(self) -> str:
        """The host the server listens on."""
        return self._host

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>`` (``https://`` with TLS), no trailing slash."""
        scheme = "https" if self._ssl_context is not None else "http"
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"{scheme}://{host}:{self.port}"

    def live_url(self, api_version: str = "v1beta") -> str:
        """The Live endpoint, ``ws://.../ws/google.ai.generativelanguage.<ver>.Generative...``."""
        base = self.base_url.replace("http", "ws", 1)
        return (f"{base}/ws/google.ai.generativelanguage.{api_version}"
                ".GenerativeService.BidiGenerateContent")

    @property
    def model_requests(self) -> list[RecordedRequest]:
        """The recorded REST model calls (``generateContent`` / ``streamGenerateContent``)."""
        return [r for r in self.requests if r.kind in ("generateContent", "streamGenerateContent")]

    def __repr__(self) -> str:
        where = "not running" if self._port is None else self.base_url
        return (f"<FakeGeminiServer {where} [requests: {len(self.requests)} | "
                f"script: {self.script_remaining} left | live: {len(self._open_live)} open]>")

    # -- lifecycle ----------------------------------------------------------------------------

    async def _before_stop(self) -> None:
        """Close Live sessions with 1001, waiting at most ``close_timeout`` seconds."""
        for scope in list(self._open_live):
            scope.cancel()
        with trio.move_on_after(self._close_timeout, shield=True):
            await self._live_idle.wait()

    # -- connections --------------------------------------------------------------------------

    async def _answer_bad_request(self, conn: HttpConnection,
                                  exc: h11.RemoteProtocolError) -> None:
        await conn.send_json(400, GeminiError(code=400, message=str(exc)).wire_body())

    async def _serve_request(self, conn: HttpConnection, request: IncomingRequest) -> None:
        route = match_route(request.method, request.target)
        if route.kind == "live" and request.wants_websocket:
            await self._serve_live(conn, request, route)
        else:
            await self._serve_rest(conn, request, route)

    # -- REST ---------------------------------------------------------------------------------

    async def _serve_rest(self, conn: HttpConnection, request: IncomingRequest,
                          route: Route) -> None:
        headers = request.headers
        api_key, key_source = _find_api_key(headers, route.query)
        body: Any = None
        valid_json = True
        if request.body.strip():
            try:
                body = normalize_request(json.loads(request.body))
            except (ValueError, UnicodeDecodeError):
                valid_json = False
        record = RecordedRequest(
            method=request.method, path=route.path, query=route.query, headers=headers,
            body=body, raw_body=request.body, kind=route.kind, api_version=route.api_version,
            model=route.model, stream=route.stream, api_key=api_key, api_key_source=key_source,
            timestamp=trio.current_time())
        self.requests.append(record)
        if route.kind == "unknown" or route.kind == "live":
            message = (f"{route.model} is not found" if route.model else
                       f"The requested URL {route.path} was not found on this server.")
            await self._send_error(conn, GeminiError(code=404, message=message))
            return
        if self._require_api_key is not None and api_key != self._require_api_key:
            await self._send_error(conn, _api_key_error(missing=api_key is None))
            return
        if not valid_json:
            await self._send_error(conn, GeminiError(
                code=400, message="Invalid JSON payload received. Unexpected token."))
            return
        item = await self._answer_for(record)
        if isinstance(item, str):
            item = gemini_text(item)
        if isinstance(item, GeminiError):
            await trio.sleep(item.delay)
            await self._send_error(conn, item)
            return
        await trio.sleep(item.delay)
        self._model_calls += 1
        context = RenderContext(model_id=record.model_id or "", prompt_tokens=count_prompt_tokens(
            body), response_id=f"fake-response-{self._model_calls}")
        chunks = render_chunks(item, context)
        if route.stream and route.sse:
            await self._send_sse(conn, item, chunks)
        else:
            await self._send_unary(conn, item, chunks, as_array=route.stream)

    def _builtin_answer(self, record: RecordedRequest) -> ReplyItem:
        return builtin_responder(record)

    def _exhausted_answer(self) -> ReplyItem:
        used = len(self.model_requests) - 1
        return GeminiError(code=500, message=(
            f"FakeGeminiServer: the script is exhausted ({used} scripted replies used; "
            "give more replies or a responder=)"))

    def _failed_answer(self, exc: Exception) -> ReplyItem:
        return GeminiError(code=500, message=f"FakeGeminiServer responder raised {exc!r}")

    async def _send_error(self, conn: HttpConnection, error: GeminiError) -> None:
        await conn.send_json(error.code, error.wire_body())

    async def _send_unary(self, conn: HttpConnection, reply: GeminiReply,
                          chunks: list[dict[str, Any]], *, as_array: bool) -> None:
        if reply.stream_error is not None:
            await self._send_error(conn, reply.stream_error)
            return
        value: Any = chunks if as_array else merge_responses(chunks)
        body = (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
        content_type = b"application/json; charset=UTF-8"
        if reply.fault == "drop":
            if reply.fault_after == 0:
                raise DropConnection("fault: connection dropped before the response")
            await conn.send_partial_body(200, body, content_type)
        elif reply.fault == "truncate":
            await conn.send_body(200, body[: len(body) // 2], content_type)
        elif reply.fault == "malformed":
            await conn.send_body(200, _MALFORMED_JSON, content_type)
        else:
            await conn.send_body(200, body, content_type)

    async def _send_sse(self, conn: HttpConnection, reply: GeminiReply,
                        chunks: list[dict[str, Any]]) -> None:
        await conn.start_response(200, list(_SSE_HEADERS))
        for index, chunk in enumerate(chunks):
            if index and reply.chunk_delay:
                await trio.sleep(reply.chunk_delay)
            event = sse_event(chunk)
            if reply.fault is not None and index == reply.fault_after:
                await self._sse_fault(conn, reply, event)
                return
            await conn.send_data(event)
        if reply.fault is not None and reply.fault_after >= len(chunks):
            await self._sse_fault(conn, reply, sse_event(chunks[-1] if chunks else {}))
            return
        if reply.stream_error is not None:
            await conn.send_data(sse_event(reply.stream_error.wire_body()))
        await conn.end_response()

    async def _sse_fault(self, conn: HttpConnection, reply: GeminiReply, event: bytes) -> None:
        if reply.fault == "drop":
            raise DropConnection("fault: stream dropped")
        if reply.fault == "truncate":
            await conn.send_data(event[: len(event) // 2])
        else:
            await conn.send_data(b"data: " + _MALFORMED_JSON + b"\r\n\r\n")
        await conn.end_response()

    # -- Live ---------------------------------------------------------------------------------

    async def _serve_live(self, conn: HttpConnection, request: IncomingRequest,
                          route: Route) -> None:
        stream = ReplayStream(conn.stream, conn.upgrade_bytes(request))
        index = self._live_count
        self._live_count += 1
        scope = trio.CancelScope()
        if not self._open_live:
            self._live_idle = trio.Event()
        self._open_live.add(scope)
        try:
            async with trio.open_nursery() as ws_nursery:
                ws_request = await trio_websocket.wrap_server_stream(
                    ws_nursery, stream, message_queue_size=_LIVE_QUEUE,
                    max_message_size=_LIVE_MAX_MESSAGE)
                websocket = await ws_request.accept()
                code = 1011
                try:
                    with scope:
                        await self._run_live(websocket, stream, index, request, route)
                    code = 1001 if scope.cancelled_caught else 1000
                finally:
                    with trio.move_on_after(self._close_timeout, shield=True):
                        await websocket.aclose(code)
                    ws_nursery.cancel_scope.cancel()
        finally:
            self._open_live.discard(scope)
            if not self._open_live:
                self._live_idle.set()

    async def _run_live(self, websocket: trio_websocket.WebSocketConnection,
                        stream: trio.abc.Stream, index: int, request: IncomingRequest,
                        route: Route) -> None:
        headers = request.headers
        api_key, key_source = _find_api_key(headers, route.query)

        def record_message(message: RecordedLiveMessage) -> None:
            self.live_messages.append(message)

        try:
            raw = await websocket.get_message()
        except trio_websocket.ConnectionClosed:
            raw = None
        message = None if raw is None else decode_message(raw)
        if raw is not None:
            record_message(RecordedLiveMessage(session=index, message=message, raw=raw,
                                               binary=isinstance(raw, bytes),
                                               timestamp=trio.current_time()))
        setup = message.get("setup") if isinstance(message, dict) else None
        model = setup.get("model") if isinstance(setup, dict) else None
        raw_body = raw.encode("utf-8") if isinstance(raw, str) else (raw or b"")
        self.requests.append(RecordedRequest(
            method=request.method, path=route.path, query=route.query, headers=headers,
            body=message, raw_body=raw_body, kind="live", api_version=route.api_version,
            model=model if isinstance(model, str) else None, stream=False, api_key=api_key,
            api_key_source=key_source, timestamp=trio.current_time()))
        if raw is None:
            return
        if self._require_api_key is not None and api_key != self._require_api_key:
            await self._close_live(websocket, 1008, _API_KEY_INVALID)
            return
        if not isinstance(setup, dict):
            await self._close_live(websocket, 1007, "Request contains an invalid argument.")
            return
        script = self.live
        await trio.sleep(script.setup_delay)
        session = LiveSession(websocket, index=index, path=route.path, headers=headers,
                              setup=setup, record=record_message, stream=stream)
        self.live_sessions.append(session)
        if script.close_code is not None:
            await self._close_live(websocket, script.close_code, script.close_reason)
            return
        check_setup = getattr(script.handler, "check_setup", None)
        refusal = check_setup(session.setup) if callable(check_setup) else None
        if refusal is not None:
            code, reason = refusal
            await self._close_live(websocket, code, reason)
            return
        if not script.answer_setup:
            while await session.receive() is not None:
                pass
            return
        await websocket.send_message(live_frame(script.setup_complete()))
        await script.handler(session)

    async def _close_live(self, websocket: trio_websocket.WebSocketConnection, code: int,
                          reason: str | None) -> None:
        with trio.move_on_after(self._close_timeout):
            await websocket.aclose(code, reason)
