"""Gemini over REST and SSE, from trio, with one httpx client per trio run."""

from __future__ import annotations

import functools
import json
import logging
import os
import ssl
from collections.abc import AsyncGenerator, Generator, Iterable, Iterator
from contextlib import AbstractAsyncContextManager, aclosing
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

import httpcore
import httpx
from google.genai import errors as genai_errors
from google.genai import types
from pydantic import Field

from trio_adk._usercode._host import native
from trio_adk.errors import ModelConfigError, ModelConnectionError, ModelResponseError
from trio_adk.models._base_llm import BaseLlm
from trio_adk.models._client_owner import ClientOwners, OwnedClient, client_owners
from trio_adk.models._gemini_live import (
    GeminiLiveOptions,
    GeminiLlmConnection,
    open_gemini_connection,
)
from trio_adk.models._llm_request import LlmRequest
from trio_adk.models._llm_response import LlmResponse
from trio_adk.models._registry import LLMRegistry
from trio_adk.models._retry import RetryPolicy, retryable_http_error
from trio_adk.models._sse import SSETruncatedError, aiter_sse
from trio_adk.models._stream_aggregator import StreamAggregator
from trio_adk.models._wire import (
    display_url,
    generate_content_body,
    model_path,
    parse_error,
    parse_response,
    redirect_error,
    retry_delay,
    stream_error,
)

_log = logging.getLogger("trio_adk.models.gemini")

DEFAULT_BASE_URL = "https://generativelanguage.googleapis.com"
_USER_AGENT = "trio-adk/0.1.0"


class Gemini(BaseLlm):
    """Google's Gemini models over the REST API (``generateContent``, SSE streaming).

    Configuration: ``api_key`` (else ``GOOGLE_API_KEY``, else ``GEMINI_API_KEY``),
    ``base_url`` (else ``GOOGLE_GEMINI_BASE_URL``, else Google's endpoint; point it at
    ``trio_adk.testing.FakeGeminiServer`` to run offline), ``api_version``.

    Errors:

    * HTTP errors are raised as ``google.genai.errors.ClientError`` / ``ServerError``
      (status, code and message kept).
    * 408/429/500/502/503/504 and connection failures are retried ``retry_attempts - 1``
      times with exponential backoff (from ``retry_initial_delay``, capped at
      ``retry_max_delay``) and jitter.  A ``RetryInfo`` delay sent by the server replaces
      the backoff when it is at most ``retry_max_delay``; a longer one is not waited out:
      the error is raised at once (with a note giving the delay), since retrying sooner
      than the server asked would fail again and spend quota.  A stream is retried only
      before its first chunk.
    * :class:`~trio_adk.errors.ModelConnectionError`: the service could not be reached
      after the retries, or it answered with a redirect (any 3xx, never retried).
      Redirects are not followed: the Gemini API never redirects, so one means a
      misconfigured base URL or proxy, and following it would send the API key to
      whatever server the ``Location`` names.  The message names the status and the
      redirect's origin.
    * :class:`~trio_adk.errors.ModelResponseError`: a 200 whose body is not JSON, is JSON
      of the wrong shape (not a ``GenerateContentResponse``), or cannot be decoded; for
      streams also any such chunk, a stream cut off inside an event or broken after it
      started, and a stream that ends without a ``finishReason`` (a cut-off reply: only a
      blocked prompt, ``promptFeedback.blockReason``, may end without one).  Never
      retried, never a silently truncated reply.

    Credentials: the API key travels only in the ``x-goog-api-key`` header of requests to
    the configured base URL (Live: the WebSocket handshake to the same host).  It is not
    in ``repr()``, not in ``model_dump()``, not in error messages or log lines; URLs in
    messages are shown without ``user:password@`` and query.

    Cancellation closes the request's connection and is never retried.  One HTTP client
    is opened lazily per trio run (sync ``run()`` and asyncio callers use their own trio
    runs) and closed when that trio run ends or by :meth:`aclose` (``Runner.close()``).

    ``live_options`` (:class:`GeminiLiveOptions`) tunes the Live connections of
    :meth:`connect`: API version, connect/setup/close/send timeouts, message limits, TLS.
    """

    model: str = "gemini-2.0-flash"
    api_key: str | None = Field(default=None, repr=False, exclude=True)
    base_url: str | None = None
    api_version: str = "v1beta"
    retry_attempts: int = 3
    retry_initial_delay: float = 1.0
    retry_max_delay: float = 30.0
    request_timeout: float | None = 300.0
    live_options: GeminiLiveOptions | None = None

    @classmethod
    def supported_models(cls) -> list[str]:
        return [r"gemini-.*", r"models/.+", r"tunedModels/.+"]

    # ---- configuration -------------------------------------------------------------

    def _settings(self) -> tuple[str, str | None]:
        key = self.api_key or os.environ.get("GOOGLE_API_KEY") or os.environ.get(
            "GEMINI_API_KEY")
        base = self.base_url or os.environ.get("GOOGLE_GEMINI_BASE_URL")
        if not key and not base:
            raise ModelConfigError(
                f"Model {self.model!r} needs credentials: set GOOGLE_API_KEY (or "
                "GEMINI_API_KEY) to call Gemini, or set GOOGLE_GEMINI_BASE_URL to a local "
                "server such as `python -m trio_adk.testing.fake_gemini`."
            )
        return (base or DEFAULT_BASE_URL).rstrip("/"), key

    def _url(self, method: str) -> str:
        """The endpoint URL, without any ``user:password@`` (see :meth:`_auth`)."""
        return _endpoint(self._settings()[0], self.api_version, self.model, method)[0]

    def _target(self, method: str) -> tuple[str, httpx.URL, _Credentials]:
        """:meth:`_url`, the same URL parsed with ``?alt=sse`` (parsed once per
        configuration) and :meth:`_auth`, from one look at the settings."""
        base, key = self._settings()
        url, sse_url, userinfo = _endpoint(base, self.api_version, self.model, method)
        return url, sse_url, _Credentials(key, userinfo)

    def _auth(self) -> _Credentials:
        """The request credentials: the API key, and a base URL's ``user:password@``.

        They travel as an ``httpx.Auth`` rather than in the URL or a headers argument, so
        neither httpx's request log line nor the locals of a traceback show them.
        """
        base, key = self._settings()
        return _Credentials(key, _split_userinfo(base)[1])

    # ---- the HTTP client (one per trio run) -------------------------------------------

    def _owners(self) -> ClientOwners[httpx.AsyncClient]:
        return client_owners(self, httpx.AsyncClient.aclose,
                             name="trio_adk.gemini-http-client")

    def _owner(self) -> OwnedClient[httpx.AsyncClient]:
        """This trio run's client owner, opened on first use.  From a trio task."""
        return self._owners().current(self._new_client)

    def _new_client(self) -> httpx.AsyncClient:
        timeout = httpx.Timeout(self.request_timeout, connect=30.0)
        # follow_redirects=False: a redirect is an error (see the class docstring).
        client = httpx.AsyncClient(timeout=timeout, follow_redirects=False)
        _coalesce_writes(client)
        return client

    def _client(self) -> httpx.AsyncClient:
        """This trio run's HTTP client (opened on first use)."""
        return self._owner().client

    @native
    async def aclose(self) -> None:
        """Close the HTTP clients once their requests in flight have finished.

        This trio run's client is retired (and awaited when idle, at most a few seconds,
        shielded: cancelling the caller does not cut the close short); clients of other
        trio runs are told to retire.  A later call opens a fresh client.  Idempotent.
        From a trio task of any run (see :class:`ClientOwners`).
        """
        await self._owners().aclose()

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        # api_key is left out by its field; a base URL's user:password@ is masked.
        for name, value in super().__repr_args__():
            if name == "base_url" and isinstance(value, str):
                value = _mask_userinfo(value)
            yield name, value

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> Gemini:
        # The HTTP clients belong to this object; a copy opens its own.
        return type(self)(**{name: getattr(self, name) for name in type(self).model_fields})

    # ---- calls ------------------------------------------------------------------------

    def connect(self, llm_request: LlmRequest, *, options: GeminiLiveOptions | None = None
                ) -> AbstractAsyncContextManager[GeminiLlmConnection]:
        """Open a Gemini Live session (``async with model.connect(request) as conn:``).

        The WebSocket URL comes from the same base URL and key as REST calls, with the
        Live API version (``v1alpha`` unless configured); ``options`` (else the
        ``live_options`` field) tunes timeouts and limits.  See
        :func:`trio_adk.models._gemini_live.open_gemini_connection` for the steps, errors
        and cleanup: leaving the block closes the socket with 1000, or 1001 on an error or
        cancellation, shielded and bounded.  From a trio task only.
        """
        return open_gemini_connection(self, llm_request, options or self.live_options)

    @native
    async def generate_content_async(
        self, llm_request: LlmRequest, stream: bool = False
    ) -> AsyncGenerator[LlmResponse, None]:
        """Call Gemini: one response, or (``stream=True``) partial chunks then the final
        aggregated response.  Cancellation: the request's connection is closed."""
        if not llm_request.model:
            llm_request.model = self.model
        body = _encode_body(generate_content_body(llm_request))
        if not stream:
            data = await self._post_json(body)
            yield LlmResponse.create(_parse(data, "a response"))
            return
        aggregator = StreamAggregator()
        async with aclosing(self._stream(body)) as chunks:
            async for chunk in chunks:
                for response in aggregator.add(_parse(chunk, "a stream chunk")):
                    yield response
        if aggregator.finish_reason is None and aggregator.block_reason is None:
            raise ModelResponseError(
                f"The Gemini stream ended after {aggregator.chunk_count} chunk(s) without a "
                "finishReason: the reply was cut off (the connection or a proxy ended the "
                "body early), so it is not used. Call the model again.")
        yield aggregator.finish()

    async def _post_json(self, body: bytes) -> Any:
        url, _, auth = self._target("generateContent")
        attempt = 0
        while True:
            attempt += 1
            try:
                with self._owner().request() as client:
                    response = await client.post(url, content=body, headers=_HEADERS,
                                                 auth=auth)
                if 300 <= response.status_code < 400:
                    raise redirect_error(response.status_code,
                                         response.headers.get("location"), url)
                if response.status_code != 200:
                    raise parse_error(response.status_code, response.content)
                try:
                    return response.json()
                except (ValueError, RecursionError) as exc:
                    raise ModelResponseError(
                        f"Gemini returned a body that is not JSON: {response.text[:200]!r}"
                    ) from exc
            except httpx.DecodingError as exc:
                raise _undecodable(exc) from exc
            except (genai_errors.APIError, httpx.TransportError) as exc:
                await self._backoff_or_raise(exc, attempt)

    async def _stream(self, body: bytes) -> AsyncGenerator[Any, None]:
        url, target, auth = self._target("streamGenerateContent")
        attempt = 0
        while True:
            attempt += 1
            started = False
            try:
                with self._owner().request() as client:
                    async with client.stream(
                        "POST", target, content=body, headers=_HEADERS, auth=auth,
                    ) as response:
                        if 300 <= response.status_code < 400:
                            raise redirect_error(response.status_code,
                                                 response.headers.get("location"), url)
                        if response.status_code != 200:
                            raise parse_error(response.status_code, await response.aread())
                        async for event in aiter_sse(response.aiter_bytes()):
                            if not event.data:
                                continue
                            chunk = _decode_chunk(event.data)  # an error event before the
                            started = True                     # first chunk is retried
                            yield chunk
                return
            except SSETruncatedError as exc:
                raise ModelResponseError(
                    "The Gemini stream was cut off in the middle of an event.") from exc
            except httpx.DecodingError as exc:
                raise _undecodable(exc) from exc
            except (genai_errors.APIError, httpx.TransportError) as exc:
                if started:
                    if isinstance(exc, httpx.TransportError):
                        raise ModelResponseError(
                            f"The Gemini stream broke after it started: {exc!r}") from exc
                    raise
                await self._backoff_or_raise(exc, attempt)

    async def _backoff_or_raise(self, exc: Exception, attempt: int) -> None:
        """Wait before the next attempt (see :class:`RetryPolicy`), or raise ``exc`` (a
        transport error as ``ModelConnectionError``).  Cancellation during the wait
        propagates and no further attempt is made."""
        retryable = retryable_http_error(exc)
        policy = RetryPolicy(attempts=self.retry_attempts,
                             initial_delay=self.retry_initial_delay,
                             max_delay=self.retry_max_delay, service="Gemini")
        if await policy.wait_to_retry(exc, attempt, retryable=retryable,
                                      asked=retry_delay(exc), log=_log, caller="Gemini",
                                      reason=repr(exc)):
            return
        if isinstance(exc, httpx.TransportError):
            url = exc.request.url if _has_request(exc) else self._url("generateContent")
            raise ModelConnectionError(
                f"The request to Gemini ({display_url(url)}) failed after {attempt} "
                f"attempt(s): {type(exc).__name__}: {exc}") from exc
        raise exc


_HEADERS = {"content-type": "application/json", "user-agent": _USER_AGENT,
            "x-goog-api-client": _USER_AGENT}


@functools.lru_cache(maxsize=64)
def _endpoint(base: str, api_version: str, model: str, method: str
              ) -> tuple[str, httpx.URL, tuple[str, str] | None]:
    """The URL of ``method`` (without any ``user:password@``), the same URL parsed with
    ``?alt=sse`` (parsing a URL is a good part of building a request), and the base
    URL's ``(user, password)``."""
    stripped, userinfo = _split_userinfo(base)
    url = f"{stripped}/{api_version}/{model_path(model)}:{method}"
    return url, httpx.URL(url, params={"alt": "sse"}), userinfo


def _encode_body(body: dict[str, Any]) -> bytes:
    """The request body as httpx's ``json=`` would encode it, encoded once (retries send
    the same bytes)."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"),
                      allow_nan=False).encode("utf-8")


_COALESCE_LIMIT = 64 * 1024


class _CoalescingStream(httpcore.AsyncNetworkStream):
    """A connection that holds a request's writes until its first read, so that the
    request line, headers and body (httpcore writes them separately) leave in one send:
    one system call and one trio checkpoint fewer per request, and the server reads the
    whole request at once.  Writes that would hold more than ``_COALESCE_LIMIT`` bytes
    go out straight away (after what is held).  Held bytes are sent before a read or a
    TLS upgrade, with the timeout of the last held write; closing drops them.  A write
    error when they are sent before a read is passed over, as httpcore passes over one
    while writing a request, so that a response the server sent already is read."""

    def __init__(self, stream: httpcore.AsyncNetworkStream) -> None:
        self._stream = stream
        self._held = bytearray()
        self._timeout: float | None = None

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109 (httpcore's API)
        if not buffer:
            return
        if len(self._held) + len(buffer) <= _COALESCE_LIMIT:
            self._held += buffer
            self._timeout = timeout
            return
        await self._flush()
        await self._stream.write(buffer, timeout)

    async def _flush(self) -> None:
        if self._held:
            data = bytes(self._held)
            self._held.clear()
            await self._stream.write(data, self._timeout)

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109 (httpcore's API)
        try:
            await self._flush()
        except httpcore.WriteError:
            # As httpcore treats a request it could not finish writing: the server may
            # have answered already (an early error response), which the read gets.
            pass
        return await self._stream.read(max_bytes, timeout)

    async def aclose(self) -> None:
        self._held.clear()
        await self._stream.aclose()

    async def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                        timeout: float | None = None) -> httpcore.AsyncNetworkStream:  # noqa: ASYNC109 (httpcore's API)
        await self._flush()
        return _CoalescingStream(
            await self._stream.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _CoalescingBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network backend, with :class:`_CoalescingStream` connections."""

    def __init__(self, backend: httpcore.AsyncNetworkBackend) -> None:
        self._backend = backend

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,  # noqa: ASYNC109 (httpcore's API)
                          local_address: str | None = None,
                          socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
                          ) -> httpcore.AsyncNetworkStream:
        return _CoalescingStream(await self._backend.connect_tcp(
            host, port, timeout, local_address, socket_options))

    async def connect_unix_socket(self, path: str, timeout: float | None = None,  # noqa: ASYNC109 (httpcore's API)
                                  socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
                                  ) -> httpcore.AsyncNetworkStream:
        return _CoalescingStream(await self._backend.connect_unix_socket(
            path, timeout, socket_options))

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


def _coalesce_writes(client: httpx.AsyncClient) -> None:
    """Give the direct (not proxied) connections of ``client`` coalesced writes; a
    client whose transport is not httpx's default pool is left as it is."""
    pool = getattr(client._transport, "_pool", None)
    if type(pool) is httpcore.AsyncConnectionPool and hasattr(pool, "_network_backend"):
        pool._network_backend = _CoalescingBackend(pool._network_backend)


class _Credentials(httpx.Auth):
    """Puts the API key (``x-goog-api-key``) and basic-auth userinfo on a request; its
    repr shows neither."""

    def __init__(self, key: str | None, userinfo: tuple[str, str] | None) -> None:
        self._key = key
        self._basic = None if userinfo is None else httpx.BasicAuth(*userinfo)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self._key:
            request.headers["x-goog-api-key"] = self._key
        if self._basic is not None:
            yield from self._basic.auth_flow(request)
        else:
            yield request

    def __repr__(self) -> str:
        return "<Gemini credentials>"


def _split_userinfo(base: str) -> tuple[str, tuple[str, str] | None]:
    """``http://u:p@h/x`` -> ``("http://h/x", ("u", "p"))``; other URLs pass through."""
    parts = urlsplit(base)
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if not at:
        return base, None
    user, _, password = userinfo.partition(":")
    return urlunsplit(parts._replace(netloc=hostport)), (unquote(user), unquote(password))


def _mask_userinfo(url: str) -> str:
    """``http://u:p@h/x`` -> ``http://***@h/x``; other URLs pass through."""
    stripped, userinfo = _split_userinfo(url)
    if userinfo is None:
        return url
    parts = urlsplit(stripped)
    return urlunsplit(parts._replace(netloc=f"***@{parts.netloc}"))


def _has_request(exc: httpx.TransportError) -> bool:
    try:
        exc.request  # noqa: B018  (raises RuntimeError when the error has no request)
    except RuntimeError:
        return False
    return True


_JSON_TYPES = {str: "string", int: "number", float: "number", bool: "boolean",
               type(None): "null"}


def _parse(data: Any, what: str) -> types.GenerateContentResponse:
    """Decoded JSON from the server as a response, at the HTTP boundary: a value of the
    wrong shape is a ``ModelResponseError`` (an error object still raises its
    ``APIError``)."""
    if not isinstance(data, (dict, list)):
        raise ModelResponseError(
            f"Gemini sent {what} that is a JSON {_JSON_TYPES.get(type(data), 'value')}, not "
            "a GenerateContentResponse object; is the base URL a Gemini API endpoint?")
    try:
        return parse_response(data)
    except genai_errors.UnknownApiResponseError as exc:
        raise ModelResponseError(
            f"Gemini sent {what} that is not a GenerateContentResponse ({exc}); is the base "
            "URL a Gemini API endpoint?") from exc


def _undecodable(exc: httpx.DecodingError) -> ModelResponseError:
    return ModelResponseError(
        f"Gemini sent a body that cannot be decoded ({type(exc).__name__}: {exc}).")


def _decode_chunk(data: str) -> Any:
    try:
        decoded = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise ModelResponseError(f"Gemini sent a stream chunk that is not JSON: {data[:200]!r}"
                                 ) from exc
    error = stream_error(decoded)
    if error is not None:
        raise error
    return decoded


LLMRegistry.register(Gemini)
