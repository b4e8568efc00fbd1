"""Claude over the Anthropic Messages API, from trio, through the anthropic SDK.

The SDK (``AsyncAnthropic``, httpx2 on anyio) runs natively on trio: sniffio reports trio, so
its connection pool uses trio sockets and a cancelled trio scope cancels its reads.  We use it
for what it does well (building requests and headers, HTTP status errors) and keep the rest
here, as for Gemini: the SDK's retries are off (``max_retries=0``) because they wait out any
``retry-after`` however long and retry 409s, redirects are off because the credential must not
reach another origin, and the stream body is read and decoded by our SSE decoder, so a stream
cut inside an event is an error instead of a shorter reply.
"""

from __future__ import annotations

import email.utils
import json
import logging
import os
import time
from collections.abc import AsyncGenerator, Generator, Iterator
from contextlib import aclosing
from typing import TYPE_CHECKING, Any, cast

import trio
from google.genai import errors as genai_errors
from pydantic import Field

from trio_adk._usercode._host import native
from trio_adk.errors import ModelConfigError, ModelConnectionError, ModelResponseError
from trio_adk.models._anthropic_wire import (
    AnthropicGenerateContentConfig,
    MessageAssembler,
    message_response,
    output_tool,
    request_body,
)
from trio_adk.models._base_llm import BaseLlm
from trio_adk.models._client_owner import ClientOwners, OwnedClient, client_owners
from trio_adk.models._gemini import _mask_userinfo
from trio_adk.models._llm_request import LlmRequest
from trio_adk.models._llm_response import LlmResponse
from trio_adk.models._registry import LLMRegistry
from trio_adk.models._retry import RetryPolicy
from trio_adk.models._sse import SSETruncatedError, aiter_sse
from trio_adk.models._wire import display_url, redirect_error

if TYPE_CHECKING:
    import anthropic
    import httpx2

__all__ = ["AnthropicGenerateContentConfig", "AnthropicLlm", "Claude"]

_log = logging.getLogger("trio_adk.models.anthropic")

DEFAULT_BASE_URL = "https://api.anthropic.com"
_CLOSE_TIMEOUT = 2.0

_ERROR_STATUS = {"invalid_request_error": 400, "authentication_error": 401,
                 "billing_error": 402, "permission_error": 403, "not_found_error": 404,
                 "request_too_large": 413, "rate_limit_error": 429, "api_error": 500,
                 "timeout_error": 504, "overloaded_error": 529}
"""Anthropic error ``type`` -> the HTTP status it comes with (for errors inside a stream)."""


def _retryable(status: int) -> bool:
    return status in (408, 429) or status >= 500


def _sdk() -> Any:
    try:
        import anthropic
    except ImportError as exc:
        raise ModelConfigError(
            "Claude models need the anthropic package: pip install 'trio-adk[anthropic]'."
        ) from exc
    return anthropic


class _Credentials:
    """Builds the ``httpx2.Auth`` that puts the key on each request as
    ``Authorization: Bearer`` (as the SDK sends its ``api_key``); its repr hides the key."""

    @staticmethod
    def auth(key: str | None) -> httpx2.Auth:
        import httpx2

        class _Auth(httpx2.Auth):
            def auth_flow(self, request: httpx2.Request
                          ) -> Generator[httpx2.Request, httpx2.Response, None]:
                if key:
                    request.headers["Authorization"] = f"Bearer {key}"
                yield request

            def __repr__(self) -> str:
                return "<Anthropic credentials>"

        return _Auth()


async def _close_client(client: anthropic.AsyncAnthropic) -> None:
    await client.close()


class _Failure(Exception):
    """One attempt failed with ``error``; ``retryable`` tells whether another may follow
    (after ``delay`` seconds when the server asked for one)."""

    def __init__(self, error: Exception, *, retryable: bool, delay: float | None = None
                 ) -> None:
        super().__init__(str(error))
        self.error = error
        self.retryable = retryable
        self.delay = delay


class AnthropicLlm(BaseLlm):
    """Claude through the Anthropic Messages API (``POST /v1/messages``, SSE streaming).

    Configuration: ``api_key`` (else ``ANTHROPIC_API_KEY``, else ``ANTHROPIC_AUTH_TOKEN``),
    ``base_url`` (else ``ANTHROPIC_BASE_URL``, else Anthropic's endpoint; point it at
    ``trio_adk.testing.FakeAnthropicServer`` to run offline), ``max_tokens`` (sent when the
    request's config has no ``max_output_tokens``).  Needs the ``anthropic`` extra.

    Requests as in ADK: the system instruction is ``system``; contents become ``messages``
    (text, images and PDFs in user turns, ``tool_use`` / ``tool_result`` blocks with their
    ids, thinking blocks with their signatures); function declarations become tools (with
    ``tool_choice`` auto when the agent has tools); ``temperature``, ``top_p``, ``top_k``
    (left out while thinking is on), ``stop_sequences``; ``thinking_budget`` as ``thinking``
    and :class:`AnthropicGenerateContentConfig`'s ``effort`` as ``output_config``; a response
    schema (an agent's ``output_schema``), when the request declares no tools, as the
    ``structured_output`` tool Claude is made to call, whose input comes back as the JSON
    text reply.
    Replies: text, thinking and ``tool_use`` blocks as parts (function calls keep Claude's
    ids), usage and ``stop_reason`` mapped.  Streaming yields a partial response per text
    (or thinking) delta, then the aggregated reply, tool inputs assembled from their
    ``input_json_delta`` pieces.

    Errors:

    * HTTP errors (and ``error`` events in a stream) are raised as
      ``google.genai.errors.ClientError`` / ``ServerError`` with the HTTP status as ``code``,
      Anthropic's error type as ``status`` and its message.
    * 408, 429, 5xx (529 overloaded included) and connection failures are retried
      ``retry_attempts - 1`` times with jittered exponential backoff from
      ``retry_initial_delay`` capped at ``retry_max_delay``.  A ``retry-after`` (or
      ``retry-after-ms``) header replaces the backoff when it is at most
      ``retry_max_delay``; a longer one is not waited out: the error is raised at once, with
      a note.  A stream is retried only before its first partial response.
    * :class:`~trio_adk.errors.ModelConnectionError`: unreachable after the retries, or a
      redirect (any 3xx; never followed, so the key never reaches another server).
    * :class:`~trio_adk.errors.ModelResponseError`: a body that is not a Messages API reply;
      a stream event that is not JSON or of the wrong shape, a stream cut off inside an
      event, broken after it started or ended without ``message_stop``.  Never retried;
      the aggregated reply is not produced, so nothing of a cut reply is stored.
    * :class:`~trio_adk.errors.ModelConfigError`: no credentials and no base URL, the SDK not
      installed, or a request Claude cannot take.

    Credentials travel only in the ``Authorization`` header of requests to the configured
    base URL; they are not in ``repr()``, ``model_dump()``, error messages or logs.

    Cancellation closes the request's connection (shielded, bounded) and is never retried.
    One SDK client is opened lazily per trio run (sync ``run()`` and asyncio callers use
    their own trio runs) and closed when that run ends or by :meth:`aclose`.  Call the
    methods from trio tasks only.
    """

    model: str = "claude-sonnet-4-20250514"
    max_tokens: int = 8192
    api_key: str | None = Field(default=None, repr=False, exclude=True)
    base_url: str | None = None
    retry_attempts: int = 3
    retry_initial_delay: float = 1.0
    retry_max_delay: float = 30.0
    request_timeout: float | None = 600.0
    client: Any = Field(default=None, repr=False, exclude=True)
    """ADK's pre-configured SDK client: not supported (a client belongs to one event loop;
    trio-adk opens one per trio run).  Setting it raises ``ModelConfigError`` at the call."""

    @classmethod
    def supported_models(cls) -> list[str]:
        return [r"claude-.*"]

    # ---- configuration -------------------------------------------------------------------

    def _settings(self) -> tuple[str, str | None]:
        if self.client is not None:
            raise ModelConfigError(
                f"{type(self).__name__}(client=...) is not supported by trio-adk: an SDK client "
                "belongs to one event loop. Pass api_key= and base_url= instead.")
        key = (self.api_key or os.environ.get("ANTHROPIC_API_KEY")
               or os.environ.get("ANTHROPIC_AUTH_TOKEN"))
        base = self.base_url or os.environ.get("ANTHROPIC_BASE_URL")
        if not key and not base:
            raise ModelConfigError(
                f"Model {self.model!r} needs credentials: set ANTHROPIC_API_KEY to call the "
                "Anthropic API, or ANTHROPIC_BASE_URL to a local server such as `python -m "
                "trio_adk.testing.fake_anthropic`.")
        return (base or DEFAULT_BASE_URL).rstrip("/"), key

    def _model_name(self, requested: str | None) -> str:
        return requested or self.model

    # ---- the SDK client (one per trio run) -------------------------------------------------

    def _owners(self) -> ClientOwners[anthropic.AsyncAnthropic]:
        return client_owners(self, _close_client, name="trio_adk.anthropic-client")

    def _owner(self) -> OwnedClient[anthropic.AsyncAnthropic]:
        """This trio run's client owner, opened on first use.  From a trio task."""
        return self._owners().current(self._new_client)

    def _new_client(self) -> anthropic.AsyncAnthropic:
        sdk = _sdk()
        base, key = self._settings()
        timeout = sdk.Timeout(self.request_timeout, connect=30.0)
        http = sdk.DefaultAsyncHttpxClient(
            timeout=timeout, follow_redirects=False, auth=_Credentials.auth(key))
        # The key is not given to the SDK (it would put it in its default headers): an empty
        # api_key keeps it from looking for credentials elsewhere, and omitting the header it
        # would send leaves the Authorization header to our auth.
        return cast("anthropic.AsyncAnthropic", sdk.AsyncAnthropic(
            api_key="", base_url=base, max_retries=0, timeout=timeout, http_client=http,
            default_headers={"Authorization": sdk.omit}, open_telemetry=False))

    @native
    async def aclose(self) -> None:
        """Close the SDK clients once their requests in flight have finished.

        This trio run's client is retired (and awaited when idle, at most a few seconds);
        clients of other trio runs are told to retire.  A later call opens a fresh client.
        Idempotent.  Shielded: cancelling the caller does not cut the close short.  From a
        trio task of any run (see :class:`ClientOwners`).
        """
        await self._owners().aclose()

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        for name, value in super().__repr_args__():
            if name == "base_url" and isinstance(value, str):
                value = _mask_userinfo(value)
            yield name, value

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> AnthropicLlm:
        # The SDK clients belong to this object; a copy opens its own.
        return type(self)(**{name: getattr(self, name) for name in type(self).model_fields})

    # ---- calls ------------------------------------------------------------------------------

    @native
    async def generate_content_async(
        self, llm_request: LlmRequest, stream: bool = False
    ) -> AsyncGenerator[LlmResponse, None]:
        """Call Claude: one response, or (``stream=True``) partial text responses then the
        aggregated one.  From a trio task; cancellation closes the request's connection
        (shielded, bounded) and nothing more is yielded."""
        if not llm_request.model:
            llm_request.model = self.model
        body = request_body(llm_request, self._model_name(llm_request.model), self.max_tokens)
        output = output_tool(llm_request)
        if not stream:
            attempt = 0
            while True:
                attempt += 1
                try:
                    message = await self._create(body)
                    break
                except _Failure as failure:
                    await self._backoff_or_raise(failure, attempt)
            response = message_response(message)
            yield response if output is None else output.unwrap(response)
            return
        attempt = 0
        while True:
            attempt += 1
            assembler = MessageAssembler(output)
            yielded = False
            try:
                async with aclosing(self._events(body)) as events:
                    async for kind, data in events:
                        for response in assembler.add(kind, data):
                            yielded = True
                            yield response
                break
            except _Failure as failure:
                if yielded:
                    if isinstance(failure.error, ModelConnectionError):
                        raise ModelResponseError(
                            f"The Claude stream broke after it started: {failure.error}"
                        ) from failure.error.__cause__
                    raise failure.error from None
                await self._backoff_or_raise(failure, attempt)
        if not assembler.stopped:
            raise ModelResponseError(
                f"The Claude stream ended after {assembler.events} event(s) without "
                "message_stop: the reply was cut off (the connection or a proxy ended the body "
                "early), so it is not used. Call the model again.")
        yield assembler.finish()

    async def _create(self, body: dict[str, Any]) -> Any:
        """One non-streaming attempt: the decoded JSON reply (``_Failure`` when it failed)."""
        sdk = _sdk()
        try:
            with self._owner().request() as client:
                response = await client.messages.with_streaming_response.create(
                    **_sdk_args(body)).__aenter__()
                try:
                    raw = await response.read()
                finally:
                    with trio.move_on_after(_CLOSE_TIMEOUT) as cleanup:
                        cleanup.shield = True
                        await response.close()
        except (sdk.APIStatusError, sdk.APIConnectionError) as exc:
            raise self._failure(exc) from exc
        except _http_errors() as exc:
            raise _Failure(self._connection_error(exc), retryable=True) from exc
        try:
            return json.loads(raw)
        except (ValueError, RecursionError) as exc:
            raise ModelResponseError(
                f"Claude returned a body that is not JSON: {raw[:200]!r}") from exc

    async def _events(self, body: dict[str, Any]) -> AsyncGenerator[tuple[str, Any], None]:
        """One streaming attempt: the decoded events (``_Failure`` when it failed, an
        ``error`` event included)."""
        sdk = _sdk()
        with self._owner().request() as client:
            try:
                response = await client.messages.with_streaming_response.create(
                    **_sdk_args(body), stream=True).__aenter__()
            except (sdk.APIStatusError, sdk.APIConnectionError) as exc:
                raise self._failure(exc) from exc
            try:
                async for event in aiter_sse(response.http_response.aiter_bytes()):
                    if not event.data:
                        continue
                    data = _decode_event(event.data)
                    if event.event == "error" or (isinstance(data, dict)
                                                  and data.get("type") == "error"):
                        error = _event_error(data)
                        raise _Failure(error, retryable=_retryable(error.code))
                    yield event.event, data
            except SSETruncatedError as exc:
                raise ModelResponseError(
                    "The Claude stream was cut off in the middle of an event.") from exc
            except _http_errors() as exc:
                raise _Failure(self._connection_error(exc), retryable=True) from exc
            finally:
                with trio.move_on_after(_CLOSE_TIMEOUT) as cleanup:
                    cleanup.shield = True
                    await response.close()

    def _failure(self, exc: Exception) -> _Failure:
        """An SDK error as a failed attempt with our error."""
        sdk = _sdk()
        if isinstance(exc, sdk.APIStatusError):
            status = exc.status_code
            if 300 <= status < 400:
                return _Failure(redirect_error(status, exc.response.headers.get("location"),
                                               exc.response.request.url), retryable=False)
            error = _status_error(status, exc.body, exc.response.headers.get("request-id"))
            return _Failure(error, retryable=_retryable(status),
                            delay=_retry_after(exc.response.headers))
        return _Failure(self._connection_error(exc), retryable=True)

    def _connection_error(self, exc: Exception) -> ModelConnectionError:
        cause = exc.__cause__ if exc.__cause__ is not None else exc
        return ModelConnectionError(
            f"The request to Claude ({display_url(self._settings()[0])}) failed: "
            f"{type(cause).__name__}: {cause}")

    async def _backoff_or_raise(self, failure: _Failure, attempt: int) -> None:
        """Wait before the next attempt (see :class:`RetryPolicy`), or raise the failure's
        error (from a handler).  Cancellation during the wait propagates and no further
        attempt is made."""
        error = failure.error
        policy = RetryPolicy(attempts=self.retry_attempts,
                             initial_delay=self.retry_initial_delay,
                             max_delay=self.retry_max_delay, service="Claude")
        if await policy.wait_to_retry(error, attempt, retryable=failure.retryable,
                                      asked=failure.delay, log=_log, caller="Claude",
                                      reason=str(error)):
            return
        if isinstance(error, ModelConnectionError) and failure.retryable and \
                attempt >= self.retry_attempts:
            error.add_note(f"trio-adk made {attempt} attempt(s).")
        raise error from failure.__cause__


class Claude(AnthropicLlm):
    """ADK's ``Claude``: there, Claude served by Vertex AI; here, Claude through the
    Anthropic API as :class:`AnthropicLlm` (the class ``"claude-..."`` model names resolve
    to).  Vertex AI is not supported yet: a ``projects/...`` model name, or no Anthropic
    credentials while ``GOOGLE_CLOUD_PROJECT`` is set, raises ``ModelConfigError`` saying so.
    """

    model: str = "claude-3-5-sonnet-v2@20241022"

    def _settings(self) -> tuple[str, str | None]:
        anthropic_configured = bool(
            self.api_key or self.base_url or os.environ.get("ANTHROPIC_API_KEY")
            or os.environ.get("ANTHROPIC_AUTH_TOKEN") or os.environ.get("ANTHROPIC_BASE_URL"))
        if self.model.startswith("projects/") or (
                not anthropic_configured and os.environ.get("GOOGLE_CLOUD_PROJECT")):
            raise ModelConfigError(
                f"Model {self.model!r}: Claude on Vertex AI (ADK's default for Claude) is not "
                "supported yet by trio-adk. Set ANTHROPIC_API_KEY (and a model name such as "
                "'claude-sonnet-4-20250514') to call Claude through the Anthropic API.")
        return super()._settings()


def _http_errors() -> tuple[type[Exception], ...]:
    import httpx2

    return (httpx2.TransportError, httpx2.DecodingError, httpx2.StreamError)


def _sdk_args(body: dict[str, Any]) -> dict[str, Any]:
    """The SDK's arguments for ``body``: the required fields by name, the rest as
    ``extra_body`` (sent as built: the SDK's parameter list changes between versions)."""
    rest = {k: v for k, v in body.items() if k not in ("model", "max_tokens", "messages")}
    return {"model": body["model"], "max_tokens": body["max_tokens"],
            "messages": body["messages"], "extra_body": rest}


def _decode_event(data: str) -> Any:
    try:
        return json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise ModelResponseError(
            f"Claude sent a stream event that is not JSON: {data[:200]!r}") from exc


def _status_error(status: int, body: Any, request_id: str | None) -> genai_errors.APIError:
    """An Anthropic error reply as the genai error Gemini's client raises for that status."""
    inner = body.get("error") if isinstance(body, dict) else None
    if not isinstance(inner, dict):
        inner = {}
    kind = inner.get("type") if isinstance(inner.get("type"), str) else None
    message = inner.get("message") if isinstance(inner.get("message"), str) else None
    if message is None:
        message = body if isinstance(body, str) and body else f"HTTP {status}"
    payload: dict[str, Any] = {"error": {"code": status, "message": message,
                                         "status": kind or "error"}}
    if request_id:
        payload["error"]["request_id"] = request_id
    if 400 <= status < 500:
        return genai_errors.ClientError(status, payload)
    if status >= 500:
        return genai_errors.ServerError(status, payload)
    return genai_errors.APIError(status, payload)


def _event_error(data: Any) -> genai_errors.APIError:
    inner = data.get("error") if isinstance(data, dict) else None
    kind = inner.get("type") if isinstance(inner, dict) else None
    status = _ERROR_STATUS.get(kind, 500) if isinstance(kind, str) else 500
    return _status_error(status, data, None)


def _retry_after(headers: Any) -> float | None:
    """Seconds from ``retry-after-ms`` or ``retry-after`` (seconds or an HTTP date)."""
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value is None:
            continue
        try:
            seconds = float(value) * scale
        except ValueError:
            parsed = email.utils.parsedate_tz(value) if scale == 1.0 else None
            if parsed is None:
                continue
            seconds = float(email.utils.mktime_tz(parsed)) - time.time()
        if seconds >= 0:
            return seconds
    return None


LLMRegistry.register(AnthropicLlm)
LLMRegistry.register(Claude)
