"""Gemini Live (``BidiGenerateContent``) over trio-websocket: ``Gemini.connect()``.

The connection layer of live mode.  :func:`open_gemini_connection` (what
``Gemini.connect(llm_request)`` returns) opens the WebSocket, sends the ``setup`` message
built from the request, waits for ``setupComplete`` and yields a
:class:`GeminiLlmConnection`; leaving the ``async with`` closes the WebSocket politely and
always closes the TCP socket.

Wire format: gemini-wire.md section 2.  Server messages are mapped to ``LlmResponse``
objects the way ADK's ``GeminiLlmConnection.receive`` does (section 5.4); see
:meth:`GeminiLlmConnection.receive` for the exact rules and the two places where this
module decides something ADK leaves open (tool-call cancellations, tool-call timing).
"""

from __future__ import annotations

import base64
import collections
import json
import logging
import os
import ssl
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

import attrs
import pydantic
import trio
import trio_websocket
from google.genai import types

from trio_adk.errors import LiveConnectionClosedError as LiveConnectionClosedError
from trio_adk.errors import LiveTimeoutError as LiveTimeoutError
from trio_adk.errors import ModelConnectionError, ModelResponseError
from trio_adk.models._base_llm import BaseLlmConnection
from trio_adk.models._llm_response import LlmResponse
from trio_adk.models._wire import (
    _content,
    _speech_config,
    _system_instruction,
    _tools,
    display_url,
    model_path,
    parse_error,
    prune,
    redirect_error,
)

if TYPE_CHECKING:
    from trio_adk.models._gemini import Gemini
    from trio_adk.models._llm_request import LlmRequest

_log = logging.getLogger("trio_adk.models.gemini_live")

DEFAULT_LIVE_API_VERSION = "v1alpha"
"""The API version of the Live endpoint unless configured (ADK uses ``v1alpha`` too)."""

LIVE_API_VERSION_ENV = "GOOGLE_GEMINI_LIVE_API_VERSION"
"""Environment variable that overrides :data:`DEFAULT_LIVE_API_VERSION`."""

TOOL_CALL_CANCELLATION = "tool_call_cancellation"
"""``LlmResponse.custom_metadata`` key of a ``toolCallCancellation``: the list of call ids."""

_USER_AGENT = "trio-adk/0.1.0"
_EPHEMERAL_PREFIX = "auth_tokens/"
_MiB = 1024 * 1024


# ---------------------------------------------------------------------------- errors


def _closed_error(reason: trio_websocket.CloseReason | None,
                  what: str) -> LiveConnectionClosedError:
    code = reason.code if reason is not None else 1006
    text = reason.reason if reason is not None else None
    name = reason.name if reason is not None else "ABNORMAL_CLOSURE"
    detail = f": {text}" if text else ""
    return LiveConnectionClosedError(
        f"The Gemini Live connection was closed {what} (code {code} {name}){detail}",
        code=code, reason=text)


# --------------------------------------------------------------------------- options


@attrs.frozen(kw_only=True)
class GeminiLiveOptions:
    """Transport settings of ``Gemini.connect()`` (all optional).

    ``api_version``: the Live endpoint's version (else ``$GOOGLE_GEMINI_LIVE_API_VERSION``,
    else ``v1alpha``).  ``connect_timeout``: seconds for TCP connect, TLS and the WebSocket
    opening handshake together.  ``setup_timeout``: seconds to wait for ``setupComplete`` after
    sending ``setup``.  ``close_timeout``: seconds the polite close (and a send that is
    in progress when cancellation arrives) may take before the socket is simply closed.
    ``send_timeout``: seconds one message may take to write (a stalled peer).
    ``max_message_size``: the largest server message accepted (default 16 MiB; larger
    ones close the connection with 1009).  ``message_queue_size``: server messages
    buffered by the WebSocket reader before it stops reading (TCP backpressure).
    ``ssl_context``: for ``wss://`` (default: system trust store plus certifi, honouring
    ``SSL_CERT_FILE``/``SSL_CERT_DIR``).
    """

    api_version: str | None = None
    connect_timeout: float = 30.0
    setup_timeout: float = 30.0
    close_timeout: float = 2.0
    send_timeout: float = 10.0
    max_message_size: int = 16 * _MiB
    message_queue_size: int = 64
    ssl_context: ssl.SSLContext | None = None

    def resolved_api_version(self) -> str:
        """The API version to use (option, else environment, else ``v1alpha``)."""
        return self.api_version or os.environ.get(LIVE_API_VERSION_ENV) or \
            DEFAULT_LIVE_API_VERSION


def live_url(base_url: str, api_version: str = DEFAULT_LIVE_API_VERSION, *,
             ephemeral: bool = False) -> str:
    """The Live endpoint for a REST base URL.

    ``http`` becomes ``ws`` and ``https`` becomes ``wss`` (``ws``/``wss`` pass through);
    a path in the base URL is kept; a ``user:password@`` in it is dropped (the handshake
    would not send it) along with any query.  ``ephemeral=True`` selects the
    ``BidiGenerateContentConstrained`` method used with ``auth_tokens/...`` keys.

    Raises:
        ValueError: the base URL has another scheme.
    """
    parts = urlsplit(base_url.rstrip("/"))
    scheme = {"http": "ws", "https": "wss", "ws": "ws", "wss": "wss"}.get(parts.scheme.lower())
    if scheme is None or not parts.netloc:
        raise ValueError(
            f"cannot derive a Live WebSocket URL from base URL {display_url(base_url)!r}: "
            "it needs an http://, https://, ws:// or wss:// scheme and a host")
    netloc = parts.netloc.rpartition("@")[2]
    method = "BidiGenerateContentConstrained" if ephemeral else "BidiGenerateContent"
    return (f"{scheme}://{netloc}{parts.path}/ws/google.ai.generativelanguage."
            f"{api_version}.GenerativeService.{method}")


# ----------------------------------------------------------------------------- setup

_GENERATION_FIELDS = frozenset({
    "response_modalities", "temperature", "top_p", "top_k", "max_output_tokens",
    "media_resolution", "seed", "thinking_config", "enable_affective_dialog",
    "translation_config",
})
"""``LiveConnectConfig`` fields that go under ``setup.generationConfig`` (plus speech)."""

_FROM_REQUEST_CONFIG = frozenset({
    "response_modalities", "temperature", "top_p", "top_k", "max_output_tokens",
    "media_resolution", "seed", "thinking_config",
})
"""``GenerateContentConfig`` fields used when the live config leaves them unset."""

_NOT_TOP_LEVEL = _GENERATION_FIELDS | {
    "http_options", "generation_config", "speech_config", "system_instruction", "tools",
}


def build_setup(llm_request: LlmRequest, model: str) -> dict[str, Any]:
    """The ``setup`` object (the value of the first client message's ``setup`` key).

    ``model`` becomes ``models/...``.  ``generationConfig`` collects the live config's
    ``generation_config``, response modalities, sampling parameters, speech, thinking,
    affective dialog and translation settings; sampling, modality and thinking settings
    of ``llm_request.config`` fill what the live config leaves unset.  The system
    instruction (live config, else request config) is sent as a ``role: system``
    Content, tools are those of the live config, else of the request (function
    declarations merged as for REST), safety settings likewise.  Every other
    ``LiveConnectConfig`` field (realtimeInputConfig, sessionResumption,
    contextWindowCompression, input/outputAudioTranscription, proactivity, ...) is
    dumped at the top level in camelCase.

    Raises:
        ValueError: ``http_options`` is set in the live config, or transparent session
            resumption is requested (Vertex AI only).
    """
    live = llm_request.live_connect_config or types.LiveConnectConfig()
    config = llm_request.config
    if live.http_options is not None:
        raise ValueError("LiveConnectConfig.http_options is not supported; configure the "
                         "Gemini model (base_url, api key) instead")
    if live.session_resumption is not None and live.session_resumption.transparent:
        raise ValueError("transparent session resumption is only supported on Vertex AI, "
                         "not on the Gemini API")
    setup: dict[str, Any] = {"model": model_path(model)}

    generation: dict[str, Any] = {}
    if live.generation_config is not None:
        generation.update(_dump(live.generation_config))
    generation.update(config.model_dump(mode="json", by_alias=True, exclude_none=True,
                                        include=set(_FROM_REQUEST_CONFIG)))
    if config.speech_config is not None:
        generation["speechConfig"] = _speech_config(config.speech_config)
    generation.update(live.model_dump(mode="json", by_alias=True, exclude_none=True,
                                      include=set(_GENERATION_FIELDS)))
    if live.speech_config is not None:
        generation["speechConfig"] = _speech_config(live.speech_config)
    if generation:
        setup["generationConfig"] = generation

    instruction = live.system_instruction if live.system_instruction is not None \
        else config.system_instruction
    if instruction:
        setup["systemInstruction"] = {**_system_instruction(instruction), "role": "system"}
    tools = live.tools if live.tools else config.tools
    if tools:
        setup["tools"] = _tools(tools)
    if config.safety_settings and not live.safety_settings:
        setup["safetySettings"] = [_dump(s) for s in config.safety_settings]
    setup.update(live.model_dump(mode="json", by_alias=True, exclude_none=True,
                                 exclude=set(_NOT_TOP_LEVEL)))
    return setup


def _dump(obj: pydantic.BaseModel) -> dict[str, Any]:
    return obj.model_dump(mode="json", by_alias=True, exclude_none=True)


# ------------------------------------------------------------------------- transport


class _OwnedStream(trio.abc.Stream):
    """The client's TCP (or TLS) stream, owned and closed by this module.

    trio-websocket 0.12.2 never closes a client's stream when the server starts the
    closing handshake, so the connection context closes it itself.  ``eof`` is set when
    the peer closed or reset the connection (the WebSocket handshake waits on it, so a
    server that hangs up during the handshake fails at once instead of timing out).
    """

    def __init__(self, stream: trio.abc.Stream) -> None:
        self._stream = stream
        self.eof = trio.Event()

    async def receive_some(self, max_bytes: int | None = None) -> bytes | bytearray:
        try:
            data = await self._stream.receive_some(max_bytes)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            self.eof.set()
            raise
        if not data:
            self.eof.set()
        return data

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await self._stream.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self._stream.wait_send_all_might_not_block()

    async def aclose(self) -> None:
        await trio.aclose_forcefully(self._stream)


@attrs.frozen
class _Target:
    host: str
    port: int
    secure: bool
    resource: str
    host_header: str

    @classmethod
    def parse(cls, url: str) -> _Target:
        parts = urlsplit(url)
        secure = parts.scheme == "wss"
        host = parts.hostname or ""
        port = parts.port or (443 if secure else 80)
        resource = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        shown = f"[{host}]" if ":" in host else host
        default = port == (443 if secure else 80)
        return cls(host=host, port=port, secure=secure, resource=resource,
                   host_header=shown if default else f"{shown}:{port}")


class _LiveCredentials:
    """The opening handshake's headers, the API key among them.

    Kept in this object, whose repr shows no key, rather than in local variables, so a
    traceback rendered with its frames' locals (``capture_locals``, error trackers) does
    not show the key either.
    """

    __slots__ = ("_headers", "ephemeral")

    def __init__(self, key: str | None) -> None:
        self.ephemeral = bool(key and key.startswith(_EPHEMERAL_PREFIX))
        """An ``auth_tokens/...`` ephemeral token (``BidiGenerateContentConstrained``)."""
        agent = _USER_AGENT.encode()
        self._headers = [(b"user-agent", agent), (b"x-goog-api-client", agent)]
        if key:
            self._headers.append((b"x-goog-api-key", key.encode()))
            if self.ephemeral:
                self._headers.append((b"authorization", f"Token {key}".encode()))

    def headers(self) -> list[tuple[bytes, bytes]]:
        return list(self._headers)

    def __repr__(self) -> str:
        return "<Gemini Live credentials>"


def _default_ssl_context() -> ssl.SSLContext:
    cafile = os.environ.get("SSL_CERT_FILE")
    capath = os.environ.get("SSL_CERT_DIR")
    if cafile is None and capath is None:
        try:
            import certifi
        except ImportError:  # pragma: no cover - certifi comes with httpx
            return ssl.create_default_context()
        cafile = certifi.where()
    return ssl.create_default_context(cafile=cafile, capath=capath)


async def _open_stream(target: _Target, options: GeminiLiveOptions) -> _OwnedStream:
    try:
        tcp = await trio.open_tcp_stream(target.host, target.port)
    except OSError as exc:
        raise ModelConnectionError(
            f"Could not connect to the Gemini Live endpoint {target.host}:{target.port}: "
            f"{exc}") from exc
    stream: trio.abc.Stream = tcp
    if target.secure:
        context = options.ssl_context or _default_ssl_context()
        stream = trio.SSLStream(tcp, context, server_hostname=target.host,
                                https_compatible=True)
    return _OwnedStream(stream)


async def _host_reader(scope: trio.CancelScope, *,
                       task_status: trio.TaskStatus[trio.Nursery]) -> None:
    """Host the WebSocket reader task in ``scope``, a shielded scope.

    The polite close after a cancellation needs the reader to receive the server's close
    reply; a reader cancelled with everything else would leave the close waiting for
    ``close_timeout``.  The connection context cancels ``scope`` itself once the WebSocket
    is closed, in every case (also when it was cancelled before this task started).
    A cancellation that arrived while this task was being started is taken before the
    shielded scope is entered (inside it, ``nursery.start`` would wait forever).
    """
    await trio.lowlevel.checkpoint_if_cancelled()
    with scope:
        async with trio.open_nursery() as nursery:
            task_status.started(nursery)
            await trio.sleep_forever()


async def _handshake(nursery: trio.Nursery, stream: _OwnedStream, target: _Target,
                     credentials: _LiveCredentials, options: GeminiLiveOptions
                     ) -> trio_websocket.WebSocketConnection:
    """The WebSocket opening handshake; its reader task runs in ``nursery``."""
    opened: list[trio_websocket.WebSocketConnection] = []

    async def open_websocket() -> None:
        opened.append(await trio_websocket.wrap_client_stream(
            nursery, cast("Any", stream), target.host_header, target.resource,
            extra_headers=credentials.headers(), message_queue_size=options.message_queue_size,
            max_message_size=options.max_message_size))
        race.cancel_scope.cancel()

    async def watch_eof() -> None:
        await stream.eof.wait()
        race.cancel_scope.cancel()

    async with trio.open_nursery() as race:
        race.start_soon(open_websocket)
        race.start_soon(watch_eof)
    if opened:
        return opened[0]
    raise ModelConnectionError(
        f"The Gemini Live endpoint {target.host}:{target.port} closed the connection during "
        "the WebSocket opening handshake")


def _rejected(group: BaseExceptionGroup[BaseException], url: str) -> BaseException | None:
    """The error a rejected WebSocket handshake stands for, if ``group`` holds one: the
    google-genai HTTP error, or for a redirect (not followed) a ``ModelConnectionError``."""
    matched, _ = group.split(trio_websocket.ConnectionRejected)
    if matched is None:
        return None
    leaf: BaseException = matched
    while isinstance(leaf, BaseExceptionGroup):
        leaf = leaf.exceptions[0]
    assert isinstance(leaf, trio_websocket.ConnectionRejected)
    if 300 <= leaf.status_code < 400:
        location = next((value.decode("latin-1") for name, value in leaf.headers or ()
                         if name.lower() == b"location"), None)
        return redirect_error(leaf.status_code, location, url)
    return parse_error(leaf.status_code, leaf.body or b"")


@asynccontextmanager
async def open_gemini_connection(model: Gemini, llm_request: LlmRequest,
                                 options: GeminiLiveOptions | None = None
                                 ) -> AsyncIterator[GeminiLlmConnection]:
    """Open a Gemini Live session for ``llm_request``; use with ``async with``.

    Steps, all bounded: TCP (and TLS) connect and the WebSocket handshake
    (``connect_timeout``), then ``setup`` → ``setupComplete`` (``setup_timeout``).  The
    API key goes in the ``x-goog-api-key`` header (an ``auth_tokens/...`` ephemeral
    token selects ``BidiGenerateContentConstrained`` and ``Authorization: Token``).

    Leaving the block closes the WebSocket with 1000 (normal exit) or 1001 (an exception
    or cancellation), in a shielded scope bounded by ``close_timeout``, then closes the
    TCP socket in every case.  The WebSocket reader task lives in this context's nursery;
    nothing outlives the block.  Exceptions from the body propagate unchanged (not wrapped
    in an exception group).  Use it from one trio task of one trio run.

    Raises:
        ModelConfigError: no API key and no base URL configured.
        ValueError: the request cannot be expressed as a Live setup (see
            :func:`build_setup`).
        ModelConnectionError: the endpoint cannot be reached or hung up, or answered the
            upgrade with a redirect (any 3xx; not followed, so the API key never reaches
            another server).
        LiveTimeoutError: the connection or setup timed out.
        LiveConnectionClosedError: the server closed the WebSocket during setup
            (``code``/``reason`` say why, e.g. 1008 for an unknown model or a bad key).
        ModelResponseError: the first server message was not ``setupComplete``, or was
            not a JSON object of the ``LiveServerMessage`` shape.
        google.genai.errors.ClientError / ServerError: the HTTP upgrade was refused.
    """
    options = options or GeminiLiveOptions()
    # No local holds the key or the base URL (it may carry user:password@): see
    # _LiveCredentials.
    credentials = _LiveCredentials(model._settings()[1])
    model_name = llm_request.model or model.model
    setup = build_setup(llm_request, model_name)
    url = live_url(model._settings()[0], options.resolved_api_version(),
                   ephemeral=credentials.ephemeral)
    target = _Target.parse(url)

    connect_deadline = trio.current_time() + options.connect_timeout
    stream: _OwnedStream | None = None
    with trio.move_on_at(connect_deadline):
        stream = await _open_stream(target, options)
    if stream is None:
        raise LiveTimeoutError(f"Connecting to the Gemini Live endpoint {url} timed out after "
                               f"{options.connect_timeout} s")
    # Errors of the body, the handshake and the setup are caught inside the nursery and
    # re-raised after it, so they reach the caller as themselves, never in a group.
    error: BaseException | None = None
    try:
        async with trio.open_nursery() as nursery:
            connection: GeminiLlmConnection | None = None
            reader_scope = trio.CancelScope(shield=True)
            code = 1001
            try:
                reader_nursery = await nursery.start(_host_reader, reader_scope)
                with trio.move_on_at(connect_deadline) as handshake_timer:
                    websocket = await _handshake(reader_nursery, stream, target, credentials,
                                                 options)
                if handshake_timer.cancelled_caught:
                    raise LiveTimeoutError(f"The WebSocket handshake with {url} timed out "
                                           f"after {options.connect_timeout} s")
                connection = GeminiLlmConnection(websocket, model=model_name, url=url,
                                                 setup=setup, options=options)
                await connection._start()
                yield connection
                code = 1000
            except BaseException as exc:
                error = exc
            finally:
                if connection is not None:
                    await connection._shutdown(code)
                reader_scope.cancel()
                nursery.cancel_scope.cancel()
    except BaseExceptionGroup as group:  # only the WebSocket reader task raises into it
        http_error = _rejected(group, url)
        if http_error is not None:
            raise http_error from None
        raise
    finally:
        await stream.aclose()
    if error is not None:
        raise error


# ------------------------------------------------------------------------ connection


class GeminiLlmConnection(BaseLlmConnection):
    """One open Gemini Live session (made by ``Gemini.connect()``; do not construct).

    Sending (``send_history``, ``send_content``, ``send_realtime``) may happen from
    several tasks at once while one task iterates :meth:`receive`.  Every method must be
    called from the trio run that opened the connection.  A send in progress when
    cancellation arrives still writes its whole frame first (a torn frame would break
    the protocol), bounded by ``send_timeout``; cancellation before the send starts
    sends nothing.  Sends after the connection closed raise
    :class:`LiveConnectionClosedError`.
    """

    def __init__(self, websocket: trio_websocket.WebSocketConnection, *, model: str, url: str,
                 setup: dict[str, Any], options: GeminiLiveOptions) -> None:
        self._ws = websocket
        self._options = options
        self.model = model
        """The model name this session was opened for."""
        self.url = url
        """The Live endpoint URL."""
        self.setup = setup
        """The ``setup`` object that was sent (wire JSON, camelCase)."""
        self.setup_complete: types.LiveServerSetupComplete | None = None
        """The server's ``setupComplete`` (its ``session_id`` when the server sends one)."""
        self._mapper = LiveResponseMapper(model)
        self._pending: collections.deque[LlmResponse] = collections.deque()
        self._finished = False
        self._reading = False

    def __repr__(self) -> str:
        closed = self._ws.closed
        state = "open" if closed is None else f"closed {closed.code}"
        return f"<GeminiLlmConnection {self.model} {state}>"

    @property
    def close_code(self) -> int | None:
        """The WebSocket close code once closed (either side; 1006 for a dropped TCP
        connection), else ``None``.  A close this side started reads 1000."""
        closed = self._ws.closed
        return None if closed is None else closed.code

    # -- lifecycle (called by open_gemini_connection) -------------------------------------

    async def _start(self) -> None:
        timeout = self._options.setup_timeout
        await self._send({"setup": self.setup})
        with trio.move_on_after(timeout) as timer:
            try:
                raw = await self._ws.get_message()
            except trio_websocket.ConnectionClosed as exc:
                raise _closed_error(exc.reason, "during setup") from None
        if timer.cancelled_caught:
            raise LiveTimeoutError(
                f"Gemini Live did not answer the setup message within {timeout} s "
                f"(model {self.model}, {self.url})")
        message = parse_server_message(raw)
        if message.setup_complete is None:
            keys = ", ".join(sorted(_message_keys(raw))) or "nothing"
            raise ModelResponseError(
                f"Gemini Live answered setup with {keys} instead of setupComplete")
        self.setup_complete = message.setup_complete

    async def _shutdown(self, code: int) -> None:
        with trio.move_on_after(self._options.close_timeout, shield=True):
            await self._ws.aclose(code)

    # -- sending ----------------------------------------------------------------------------

    async def _send(self, message: Mapping[str, Any]) -> None:
        text = json.dumps(message, ensure_ascii=False, separators=(",", ":"))
        await trio.lowlevel.checkpoint_if_cancelled()
        with trio.CancelScope(shield=True,
                              relative_deadline=self._options.send_timeout) as scope:
            try:
                await self._ws.send_message(text)
            except trio_websocket.ConnectionClosed as exc:
                raise _closed_error(exc.reason, "before a send") from None
        if scope.cancelled_caught:
            raise LiveTimeoutError(
                f"Sending to Gemini Live stalled for {self._options.send_timeout} s")

    async def send_history(self, history: list[types.Content]) -> None:
        """Send the conversation so far as one ``clientContent`` message.

        Audio ``inline_data`` parts are left out (as ADK does) and emptied contents
        dropped; ``turnComplete`` is true when the last content is the user's, so the
        model answers it.  Nothing is sent for an empty history.
        """
        turns = [c for c in (_without_audio(c) for c in history) if c is not None]
        if not turns:
            return
        await self._send({"clientContent": {"turns": [_content(c) for c in turns],
                                            "turnComplete": turns[-1].role == "user"}})

    async def send_content(self, content: types.Content) -> None:
        """Send a user turn, or tool results.

        A content holding only function responses becomes ``toolResponse``
        (``functionResponses`` with the call ids, as the Gemini API requires); anything
        else becomes ``clientContent`` with ``turnComplete: true``.
        """
        parts = content.parts or []
        if parts and all(p.function_response is not None for p in parts):
            responses = [_dump(p.function_response) for p in parts if p.function_response]
            await self._send({"toolResponse": {"functionResponses": responses}})
            return
        await self._send({"clientContent": {"turns": [_content(content)], "turnComplete": True}})

    async def send_realtime(self, input: Any) -> None:
        """Send realtime input.

        ``input`` is a ``types.Blob`` (``audio/...`` → ``audio``; ``image/...`` or
        ``video/...`` → ``video``), a ``types.ActivityStart`` or ``types.ActivityEnd``
        (only meaningful with automatic activity detection disabled), or a whole
        ``types.LiveClientRealtimeInput`` (for example ``audio_stream_end=True`` when the
        microphone pauses).

        Raises:
            TypeError: another kind of object.
            ValueError: a blob whose mime type is neither audio nor image/video.
        """
        if isinstance(input, types.Blob):
            mime = input.mime_type or ""
            if mime.startswith("audio/"):
                key = "audio"
            elif mime.startswith(("image/", "video/")):
                key = "video"
            else:
                raise ValueError(f"send_realtime needs an audio/* or image/* blob, got mime "
                                 f"type {mime!r}")
            data = base64.b64encode(input.data or b"").decode("ascii")
            await self._send({"realtimeInput": {key: {"data": data, "mimeType": mime}}})
        elif isinstance(input, types.ActivityStart):
            await self._send({"realtimeInput": {"activityStart": {}}})
        elif isinstance(input, types.ActivityEnd):
            await self._send({"realtimeInput": {"activityEnd": {}}})
        elif isinstance(input, types.LiveClientRealtimeInput):
            await self._send({"realtimeInput": _dump(input)})
        else:
            raise TypeError(f"send_realtime takes a Blob, ActivityStart, ActivityEnd or "
                            f"LiveClientRealtimeInput, not {type(input).__name__}")

    # -- receiving -------------------------------------------------------------------------

    async def receive(self) -> AsyncGenerator[LlmResponse, None]:
        """Yield responses as the server sends them, until the connection closes.

        Unlike ADK's, this generator does not stop at ``turn_complete``: it runs across
        turns and ends when the WebSocket closes.  A close with code 1000 (either side)
        just ends it; any other close (the server's 1007/1008/1011, 1006 for a dropped
        TCP connection, 1009 for an oversized message) first yields one
        ``LlmResponse(error_code=str(code), error_message=reason)``.  Leaving the loop
        early loses nothing: responses not yet yielded stay queued on the connection and
        a later ``receive()`` yields them first.  Only one task may wait in ``receive()``
        at a time (``trio.BusyResourceError`` otherwise).

        Mapping (ADK's, gemini-wire.md 5.4): see :class:`LiveResponseMapper`.

        Raises:
            ModelResponseError: a server message is not JSON or does not validate.
        """
        while True:
            while self._pending:
                yield self._pending.popleft()
            if self._finished:
                return
            if self._reading:
                raise trio.BusyResourceError("another task is already receiving from this "
                                             "Gemini Live connection")
            self._reading = True
            try:
                raw = await self._ws.get_message()
            except trio_websocket.ConnectionClosed as exc:
                self._finished = True
                response = _close_response(exc.reason)
                if response is not None:
                    self._pending.append(response)
                continue
            finally:
                self._reading = False
            self._pending.extend(self._mapper.map(parse_server_message(raw)))

    async def close(self) -> None:
        """Close the WebSocket with 1000 and wait (shielded, at most ``close_timeout``)
        for the server's reply.  Idempotent.  Server messages not yet received are
        discarded, so wait for the reply you need (``turn_complete``) first.  A
        ``receive()`` in progress ends without an error."""
        with trio.move_on_after(self._options.close_timeout, shield=True):
            await self._ws.aclose(1000)


def _close_response(reason: trio_websocket.CloseReason | None) -> LlmResponse | None:
    code = reason.code if reason is not None else 1006
    if code == 1000:
        return None
    text = reason.reason if reason is not None else None
    if not text:
        name = reason.name if reason is not None else "ABNORMAL_CLOSURE"
        text = ("The Gemini Live connection was dropped without a close frame"
                if code == 1006 else f"The Gemini Live connection was closed ({name})")
    return LlmResponse(error_code=str(code), error_message=text)


def _without_audio(content: types.Content) -> types.Content | None:
    parts = content.parts or []
    kept = [p for p in parts if not (p.inline_data is not None and
                                     (p.inline_data.mime_type or "").startswith("audio/"))]
    if not kept:
        return None
    if len(kept) == len(parts):
        return content
    return content.model_copy(update={"parts": kept})


def _message_keys(raw: str | bytes) -> Iterable[str]:
    try:
        data = json.loads(raw)
    except ValueError:
        return ["a message that is not JSON"]
    return list(data) if isinstance(data, dict) else [type(data).__name__]


def parse_server_message(raw: str | bytes | bytearray) -> types.LiveServerMessage:
    """A server frame (text, or binary UTF-8 JSON) as a ``LiveServerMessage``.

    Unknown fields are dropped first (the service adds fields over time).

    Raises:
        ModelResponseError: the frame is not a JSON object or does not validate.
    """
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # RecursionError: absurdly deep nesting
        raise ModelResponseError(
            f"Gemini Live sent a message that is not JSON: {raw[:200]!r}") from exc
    if not isinstance(data, dict):
        raise ModelResponseError(
            f"Gemini Live sent a JSON {type(data).__name__}, not an object")
    try:
        return types.LiveServerMessage.model_validate(prune(types.LiveServerMessage, data))
    # google-genai's enum validators raise AttributeError/TypeError for some wrong types.
    except (pydantic.ValidationError, ValueError, TypeError, AttributeError) as exc:
        raise ModelResponseError(f"Gemini Live sent a message that does not validate: {exc}"
                                 ) from exc


# -------------------------------------------------------------------------- mapping


def tool_calls_at_once(model: str) -> bool:
    """Whether tool calls are yielded as they arrive (Gemini 3.x live models) rather than
    at ``turnComplete`` (2.x).

    Gemini 2.x live models send ``turnComplete`` after a ``toolCall``; 3.x models wait for
    the ``toolResponse`` first, so buffering would deadlock.  The rule is deliberately
    simple: a model name containing ``3.`` or ``gemini-3`` is treated as 3.x.
    """
    name = model.lower()
    return "3." in name or "gemini-3" in name


class LiveResponseMapper:
    """Turns ``LiveServerMessage`` objects into ``LlmResponse`` objects (pure, no I/O).

    Per message, in this order:

    * ``usageMetadata`` → ``LlmResponse(usage_metadata=...)`` (renamed to the REST
      shape: ``responseTokenCount`` → ``candidates_token_count``, ...).
    * ``serverContent.modelTurn`` → ``LlmResponse(content=..., interrupted=...)``,
      ``partial=True`` when it carries text.  Text is accumulated; the accumulated text is
      emitted as one ``partial=False`` response (``thought`` kept) before a part that is
      neither text nor audio, before text whose thought flag differs, before a tool
      call, and on ``turnComplete``/``interrupted``.  Audio ``inline_data`` chunks are
      forwarded as they come and do not flush text.
    * ``inputTranscription`` / ``outputTranscription`` → each fragment as
      ``LlmResponse(input_transcription=Transcription(text, finished=False),
      partial=True)``; on ``finished`` (or ``interrupted``/``turnComplete``/
      ``generationComplete``) one ``partial=False`` response with the whole text and
      ``finished=True``.
    * ``toolCall`` → one ``LlmResponse(content=Content(role="model", parts=[function
      calls]))``: for 2.x models when ``turnComplete`` arrives (after the pending text),
      for 3.x models at once (see :func:`tool_calls_at_once`).
    * ``interrupted`` without ``turnComplete`` → the pending text with
      ``interrupted=True``, else ``LlmResponse(interrupted=True)``.
    * ``turnComplete`` → pending text, buffered tool calls, then
      ``LlmResponse(turn_complete=True, interrupted=..., grounding_metadata=...)``.
    * ``groundingMetadata`` is kept for the ``turn_complete`` response; a message with
      nothing else yields it on its own.
    * ``toolCallCancellation`` → ``LlmResponse(custom_metadata={"tool_call_cancellation":
      [ids]})`` (see :data:`TOOL_CALL_CANCELLATION`); ADK drops these.
    * ``sessionResumptionUpdate`` → ``LlmResponse(live_session_resumption_update=...)``;
      ``goAway`` → ``LlmResponse(go_away=...)``.
    * ``setupComplete`` (again), ``voiceActivity`` and ``voiceActivityDetectionSignal``
      are ignored.
    """

    def __init__(self, model: str) -> None:
        self.calls_at_once = tool_calls_at_once(model)
        self._text: list[str] = []
        self._thought = False
        self._input: list[str] = []
        self._output: list[str] = []
        self._calls: list[types.FunctionCall] = []
        self._grounding: types.GroundingMetadata | None = None

    def map(self, message: types.LiveServerMessage) -> list[LlmResponse]:
        """The responses for one server message (possibly none)."""
        out: list[LlmResponse] = []
        if message.usage_metadata is not None:
            out.append(LlmResponse(usage_metadata=_usage(message.usage_metadata)))
        content = message.server_content
        if content is not None:
            self._server_content(content, out)
        call = message.tool_call
        if call is not None and call.function_calls:
            self._flush_text(out)
            if self.calls_at_once:
                out.append(_calls_response(call.function_calls))
            else:
                self._calls.extend(call.function_calls)
        if content is not None:
            self._turn_flags(content, out)
        cancelled = message.tool_call_cancellation
        if cancelled is not None and cancelled.ids:
            out.append(LlmResponse(custom_metadata={TOOL_CALL_CANCELLATION: list(cancelled.ids)}))
        if message.session_resumption_update is not None:
            out.append(LlmResponse(
                live_session_resumption_update=message.session_resumption_update))
        if message.go_away is not None:
            out.append(LlmResponse(go_away=message.go_away))
        return out

    def _server_content(self, content: types.LiveServerContent, out: list[LlmResponse]) -> None:
        turn = content.model_turn
        if turn is not None and turn.parts:
            texts = [p for p in turn.parts if p.text]
            other = any(not p.text and not _is_audio(p) for p in turn.parts)
            thought = bool(texts and texts[0].thought)
            if self._text and (other or (texts and thought != self._thought)):
                self._flush_text(out)
            if texts:
                self._text.extend(p.text for p in texts if p.text)
                self._thought = thought
            out.append(LlmResponse(content=turn, interrupted=content.interrupted,
                                   partial=True if texts else None))
        if content.grounding_metadata is not None:
            self._grounding = content.grounding_metadata
        if content.input_transcription is not None:
            self._transcription(self._input, content.input_transcription, out, "input")
        if content.output_transcription is not None:
            self._transcription(self._output, content.output_transcription, out, "output")

    def _turn_flags(self, content: types.LiveServerContent, out: list[LlmResponse]) -> None:
        if content.interrupted or content.turn_complete or content.generation_complete:
            self._finish_transcription(self._input, out, "input")
            self._finish_transcription(self._output, out, "output")
        if content.turn_complete:
            self._flush_text(out, interrupted=content.interrupted)
            if self._calls:
                out.append(_calls_response(self._calls))
                self._calls = []
            out.append(LlmResponse(turn_complete=True, interrupted=content.interrupted,
                                   grounding_metadata=self._grounding))
            self._grounding = None
        elif content.interrupted:
            if self._text:
                self._flush_text(out, interrupted=True)
            else:
                out.append(LlmResponse(interrupted=True))
        elif content.grounding_metadata is not None and not _has_payload(content):
            out.append(LlmResponse(grounding_metadata=content.grounding_metadata))
            self._grounding = None

    def _flush_text(self, out: list[LlmResponse], *, interrupted: bool | None = None) -> None:
        if not self._text:
            return
        part = types.Part(text="".join(self._text), thought=True if self._thought else None)
        out.append(LlmResponse(content=types.Content(role="model", parts=[part]),
                               partial=False, interrupted=interrupted or None))
        self._text = []
        self._thought = False

    @staticmethod
    def _transcription(acc: list[str], transcription: types.Transcription,
                       out: list[LlmResponse], kind: str) -> None:
        if transcription.text:
            acc.append(transcription.text)
            fragment = types.Transcription(text=transcription.text, finished=False)
            out.append(_transcription_response(kind, fragment, partial=True))
        if transcription.finished:
            LiveResponseMapper._finish_transcription(acc, out, kind)

    @staticmethod
    def _finish_transcription(acc: list[str], out: list[LlmResponse], kind: str) -> None:
        if not acc:
            return
        whole = types.Transcription(text="".join(acc), finished=True)
        out.append(_transcription_response(kind, whole, partial=False))
        acc.clear()


def _transcription_response(kind: str, transcription: types.Transcription, *,
                            partial: bool) -> LlmResponse:
    if kind == "input":
        return LlmResponse(input_transcription=transcription, partial=partial)
    return LlmResponse(output_transcription=transcription, partial=partial)


def _has_payload(content: types.LiveServerContent) -> bool:
    return bool((content.model_turn and content.model_turn.parts) or content.input_transcription
                or content.output_transcription)


def _is_audio(part: types.Part) -> bool:
    blob = part.inline_data
    return blob is not None and (blob.mime_type or "").startswith("audio/")


def _calls_response(calls: Sequence[types.FunctionCall]) -> LlmResponse:
    parts = [types.Part(function_call=call) for call in calls]
    return LlmResponse(content=types.Content(role="model", parts=parts))


def _usage(usage: types.UsageMetadata) -> types.GenerateContentResponseUsageMetadata:
    return types.GenerateContentResponseUsageMetadata(
        prompt_token_count=usage.prompt_token_count,
        cached_content_token_count=usage.cached_content_token_count,
        candidates_token_count=usage.response_token_count,
        tool_use_prompt_token_count=usage.tool_use_prompt_token_count,
        thoughts_token_count=usage.thoughts_token_count,
        total_token_count=usage.total_token_count,
        prompt_tokens_details=usage.prompt_tokens_details,
        cache_tokens_details=usage.cache_tokens_details,
        candidates_tokens_details=usage.response_tokens_details,
        tool_use_prompt_tokens_details=usage.tool_use_prompt_tokens_details,
        traffic_type=usage.traffic_type,
    )
