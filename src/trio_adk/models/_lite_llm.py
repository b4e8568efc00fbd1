"""LiteLlm: ``provider/model`` names over OpenAI-compatible Chat Completions, native on trio.

ADK's ``LiteLlm`` hands every call to litellm (asyncio, threads).  This one speaks the
OpenAI Chat Completions protocol itself over httpx-on-trio, which covers OpenAI, Azure
OpenAI and every OpenAI-compatible server (vLLM, Ollama, LM Studio, a LiteLLM proxy, Groq,
DeepSeek, Mistral, Together, Fireworks, OpenRouter); other providers raise a
:class:`~trio_adk.errors.ModelConfigError` that says what to use instead.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import AsyncGenerator, Generator, Iterator, Mapping
from contextlib import aclosing
from typing import Any
from urllib.parse import urlsplit

import attrs
import httpx
import trio
from google.genai import errors as genai_errors
from pydantic import PrivateAttr

from trio_adk._usercode._host import native
from trio_adk.errors import ModelConfigError, ModelConnectionError, ModelResponseError
from trio_adk.models._base_llm import BaseLlm
from trio_adk.models._client_owner import ClientOwners, OwnedClient, client_owners
from trio_adk.models._gemini import _has_request, _split_userinfo
from trio_adk.models._llm_request import LlmRequest
from trio_adk.models._llm_response import LlmResponse
from trio_adk.models._openai_wire import (
    BodyOptions,
    StreamAssembler,
    api_error,
    chat_body,
    parse_completion,
    retry_after,
)
from trio_adk.models._registry import LLMRegistry
from trio_adk.models._retry import RetryPolicy, retryable_http_error
from trio_adk.models._sse import SSETruncatedError, aiter_sse
from trio_adk.models._wire import display_url

_log = logging.getLogger("trio_adk.models.lite_llm")

_USER_AGENT = "trio-adk/0.1.0"
AZURE_DEFAULT_API_VERSION = "2025-02-01-preview"
_DRAIN_TIMEOUT = 1.0
"""How long the rest of a body after ``[DONE]`` is read before the connection is dropped."""


@attrs.frozen(kw_only=True)
class Provider:
    """How one ``provider/`` prefix is reached."""

    name: str
    default_base: str | None
    """The base URL when neither ``api_base`` nor an environment variable gives one."""
    base_env: tuple[str, ...] = ()
    key_env: tuple[str, ...] = ()
    key_required: bool = False
    """True for hosted services: calling them without a key is a configuration error."""
    append_v1: bool = False
    """Ollama: the OpenAI-compatible API lives under ``/v1`` of the server's address."""
    send_top_k: bool = True


_OPENAI = Provider(name="openai", default_base="https://api.openai.com/v1",
                   base_env=("OPENAI_BASE_URL", "OPENAI_API_BASE"), key_env=("OPENAI_API_KEY",),
                   key_required=True, send_top_k=False)
_AZURE = Provider(name="azure", default_base=None, base_env=("AZURE_API_BASE",),
                  key_env=("AZURE_API_KEY", "AZURE_OPENAI_API_KEY"), key_required=True,
                  send_top_k=False)

PROVIDERS: dict[str, Provider] = {p.name: p for p in [
    _OPENAI,
    _AZURE,
    Provider(name="hosted_vllm", default_base=None, base_env=("HOSTED_VLLM_API_BASE",),
             key_env=("HOSTED_VLLM_API_KEY",)),
    Provider(name="ollama_chat", default_base="http://localhost:11434",
             base_env=("OLLAMA_API_BASE",), key_env=("OLLAMA_API_KEY",), append_v1=True),
    Provider(name="ollama", default_base="http://localhost:11434",
             base_env=("OLLAMA_API_BASE",), key_env=("OLLAMA_API_KEY",), append_v1=True),
    Provider(name="litellm_proxy", default_base=None, base_env=("LITELLM_PROXY_API_BASE",),
             key_env=("LITELLM_PROXY_API_KEY",)),
    Provider(name="lm_studio", default_base=None, base_env=("LM_STUDIO_API_BASE",),
             key_env=("LM_STUDIO_API_KEY",)),
    Provider(name="groq", default_base="https://api.groq.com/openai/v1",
             base_env=("GROQ_API_BASE",), key_env=("GROQ_API_KEY",), key_required=True),
    Provider(name="deepseek", default_base="https://api.deepseek.com/beta",
             base_env=("DEEPSEEK_API_BASE",), key_env=("DEEPSEEK_API_KEY",), key_required=True),
    Provider(name="mistral", default_base="https://api.mistral.ai/v1",
             base_env=("MISTRAL_API_BASE",), key_env=("MISTRAL_API_KEY",), key_required=True),
    Provider(name="together_ai", default_base="https://api.together.ai/v1",
             base_env=("TOGETHER_AI_API_BASE",),
             key_env=("TOGETHER_AI_API_KEY", "TOGETHERAI_API_KEY", "TOGETHER_API_KEY"),
             key_required=True),
    Provider(name="fireworks_ai", default_base="https://api.fireworks.ai/inference/v1",
             base_env=("FIREWORKS_AI_API_BASE",),
             key_env=("FIREWORKS_AI_API_KEY", "FIREWORKS_API_KEY"), key_required=True),
    Provider(name="openrouter", default_base="https://openrouter.ai/api/v1",
             base_env=("OPENROUTER_API_BASE",), key_env=("OPENROUTER_API_KEY",),
             key_required=True),
]}
"""Every provider prefix LiteLlm speaks, all over Chat Completions."""

_ELSEWHERE = {
    "anthropic": "use trio_adk.models.anthropic_llm.Claude (model='claude-...') for the "
                 "Anthropic API, or route it through a LiteLLM proxy (litellm_proxy/...)",
    "gemini": "use trio_adk.models.Gemini (model='gemini-...'): Gemini is native here",
    "vertex_ai": "use trio_adk.models.Gemini for Gemini and Claude for Anthropic models, or "
                 "route it through a LiteLLM proxy (litellm_proxy/...)",
    "bedrock": "route it through a LiteLLM proxy (litellm_proxy/...), which speaks "
               "Chat Completions to us and Bedrock to AWS",
}

_TRANSPORT_KEYS = frozenset({"api_base", "base_url", "api_key", "api_version", "extra_headers",
                             "headers", "timeout", "request_timeout", "num_retries",
                             "max_retries", "drop_params", "custom_llm_provider",
                             "extra_body", "llm_client", "messages", "tools", "stream",
                             "stream_options"})
"""Constructor options that configure the call rather than go into the request body."""


def _supported_list() -> str:
    return ", ".join(f"{name}/" for name in PROVIDERS)


def _env(names: tuple[str, ...]) -> str | None:
    for name in names:
        value = os.environ.get(name, "").strip()
        if value:
            return value
    return None


@attrs.frozen(kw_only=True)
class _Endpoint:
    """The resolved target of the calls: URL, wire model name, credentials."""

    provider: Provider
    url: str
    """The chat completions URL, without userinfo and without query."""
    params: Mapping[str, str]
    wire_model: str
    key: str | None = attrs.field(repr=False)
    userinfo: tuple[str, str] | None = attrs.field(repr=False)


class LiteLlm(BaseLlm):
    """Models named ``provider/model`` over the OpenAI Chat Completions API (ADK's
    ``google.adk.models.lite_llm.LiteLlm``, without litellm).

    ``LiteLlm(model="openai/gpt-4o-mini", **kwargs)``: the prefix picks the provider and
    how it is reached; see :data:`PROVIDERS` for each one's environment variables
    (``OPENAI_API_KEY``, ``AZURE_API_KEY``/``AZURE_API_BASE``/``AZURE_API_VERSION``,
    ``OLLAMA_API_BASE``, ``HOSTED_VLLM_API_BASE``, ``LITELLM_PROXY_API_BASE``/``_KEY`` ...).
    A name without a known prefix is sent as it is to ``api_base`` (any OpenAI-compatible
    server), or to OpenAI when no ``api_base`` is given.  ``custom_llm_provider=`` names the
    provider explicitly, as in litellm.

    Keyword options, as a porting user passes them to ADK's LiteLlm: ``api_base`` (or
    ``base_url``), ``api_key``, ``api_version`` (Azure), ``extra_headers`` (or ``headers``),
    ``timeout`` (seconds), ``num_retries`` (retries after the first attempt),
    ``extra_body`` (merged into every body), ``drop_params`` (accepted, ignored); any
    other keyword (``temperature=``, ``max_tokens=``, ``top_k=``, ``reasoning_effort=``
    ...) goes into every request body, and the request's ``generate_content_config``
    overrides it.  Providers that are not OpenAI-compatible (``anthropic/``, ``gemini/``,
    ``vertex_ai/``, ``bedrock/`` ...) raise :class:`~trio_adk.errors.ModelConfigError` on
    construction, naming what to use instead.

    Errors are those of :class:`~trio_adk.models.Gemini`: HTTP errors raise
    ``google.genai.errors.ClientError`` / ``ServerError`` (``code`` the status,
    ``message`` the server's, ``status`` the OpenAI error ``type``); 408/429/5xx and
    connection failures are retried ``retry_attempts - 1`` times with jittered exponential
    backoff, a ``Retry-After`` (or ``retry-after-ms``) replacing the backoff when it is at
    most ``retry_max_delay`` (a longer one raises at once, with a note); a stream is retried
    only before its first chunk.  :class:`~trio_adk.errors.ModelConnectionError`: not
    reachable after the retries, or a redirect (never followed, so the key never reaches
    another server).  :class:`~trio_adk.errors.ModelResponseError`: a body or chunk that is
    not Chat Completions JSON, or a stream cut off before its ``finish_reason`` (nothing of
    it is used: the runner stores only the final response, which is never yielded then).

    Credentials: the key travels only in the ``Authorization: Bearer`` header (Azure:
    ``api-key``) of requests to the configured endpoint; it is not in ``repr()``,
    ``model_dump()``, error messages or log lines.

    Threads and loops: call it from trio tasks (the runner does; sync ``run()`` and asyncio
    callers reach it through their own trio runs).  One HTTP client is opened lazily per
    trio run and closed when that run ends or by :meth:`aclose` (``Runner.close()``).
    Cancellation closes the request's connection and is never retried.
    """

    retry_attempts: int = 3
    retry_initial_delay: float = 1.0
    retry_max_delay: float = 30.0
    request_timeout: float | None = 600.0

    _additional_args: dict[str, Any] = PrivateAttr(default_factory=dict)

    def __init__(self, model: str, **kwargs: Any) -> None:
        own = {name: kwargs.pop(name) for name in list(kwargs)
               if name in type(self).model_fields and name != "model"}
        if "num_retries" in kwargs and "retry_attempts" not in own:
            own["retry_attempts"] = int(kwargs["num_retries"]) + 1
        for name in ("timeout", "request_timeout"):
            if kwargs.get(name) is not None and "request_timeout" not in own:
                own["request_timeout"] = float(kwargs[name])
        super().__init__(model=model, **own)
        self._additional_args = dict(kwargs)
        self._provider()  # an unsupported provider fails here; keys are read per call

    @classmethod
    def supported_models(cls) -> list[str]:
        # ADK's LiteLlm patterns, plus the OpenAI-compatible prefixes ADK resolves through
        # litellm's provider list.  Unsupported providers resolve here too, so that their
        # error names what to use instead.
        return [r"openai/.*", r"azure/.*", r"azure_ai/.*", r"groq/.*", r"anthropic/.*",
                r"bedrock/.*", r"ollama/.*", r"ollama_chat/.*", r"together_ai/.*",
                r"vertex_ai/.*", r"mistral/.*", r"deepseek/.*", r"fireworks_ai/.*",
                r"cohere/.*", r"databricks/.*", r"ai21/.*", r"hosted_vllm/.*",
                r"litellm_proxy/.*", r"lm_studio/.*", r"openrouter/.*"]

    # ---- configuration -------------------------------------------------------------

    def _provider(self) -> tuple[Provider, str]:
        """The provider and the model name it knows (ModelConfigError if unsupported)."""
        args = self._additional_args
        explicit_base = args.get("api_base") or args.get("base_url")
        prefix, _, rest = self.model.partition("/")
        named = args.get("custom_llm_provider")
        if named:
            provider_name, wire_model = str(named), (rest if prefix == named else self.model)
        elif rest and (prefix in PROVIDERS or prefix in _ELSEWHERE or prefix in _KNOWN_OTHER):
            provider_name, wire_model = prefix, rest
        elif explicit_base or not rest:
            provider_name, wire_model = "openai", self.model  # any OpenAI-compatible server
        else:
            provider_name, wire_model = prefix, rest
        provider = PROVIDERS.get(provider_name)
        if provider is None:
            hint = _ELSEWHERE.get(provider_name, "route it through a LiteLLM proxy "
                                                 "(litellm_proxy/...) or an OpenAI-compatible "
                                                 "server (api_base=...)")
            raise ModelConfigError(
                f"LiteLlm in trio-adk speaks OpenAI-compatible Chat Completions only, and "
                f"{provider_name!r} (model {self.model!r}) is not one of its providers: "
                f"{hint}. Supported prefixes: {_supported_list()}, or any model name with "
                "api_base= pointing to an OpenAI-compatible server.")
        return provider, wire_model

    def _settings(self) -> _Endpoint:
        """Where calls go, from the constructor options and the environment (read on each
        call, as litellm does)."""
        args = self._additional_args
        provider, wire_model = self._provider()
        explicit_base = args.get("api_base") or args.get("base_url")
        base = (str(explicit_base) if explicit_base else None) or _env(provider.base_env) \
            or provider.default_base
        if base is None:
            raise ModelConfigError(
                f"Model {self.model!r} needs the server's address: pass api_base= or set "
                f"{' or '.join(provider.base_env)}.")
        key = args.get("api_key") or _env(provider.key_env)
        if provider.key_required and not key and not explicit_base and \
                not _env(provider.base_env):
            raise ModelConfigError(
                f"Model {self.model!r} needs an API key: pass api_key= or set "
                f"{' or '.join(provider.key_env)} (or point api_base= at a local "
                "OpenAI-compatible server such as `python -m trio_adk.testing.fake_openai`).")
        base, userinfo = _split_userinfo(base.strip().rstrip("/"))
        parts = urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ModelConfigError(
                f"Model {self.model!r}: the API base {display_url(base)!r} is not an "
                "http(s) URL.")
        if parts.query:
            raise ModelConfigError(
                f"Model {self.model!r}: the API base must not carry a query string.")
        params: dict[str, str] = {}
        if provider is _AZURE:
            version = args.get("api_version") or _env(("AZURE_API_VERSION",)) or \
                AZURE_DEFAULT_API_VERSION
            params["api-version"] = str(version)
            if "/openai/deployments/" not in base:
                base = f"{base}/openai/deployments/{wire_model}"
        elif provider.append_v1 and not base.endswith("/v1"):
            base = f"{base}/v1"
        url = base if base.endswith("/chat/completions") else f"{base}/chat/completions"
        return _Endpoint(provider=provider, url=url, params=params, wire_model=wire_model,
                         key=str(key) if key else None, userinfo=userinfo)

    @property
    def provider(self) -> str:
        """The provider serving this model (``"openai"``, ``"azure"``, ``"ollama_chat"`` ...)."""
        return self._provider()[0].name

    def _headers(self, request: LlmRequest) -> dict[str, str]:
        headers = {"content-type": "application/json", "user-agent": _USER_AGENT}
        options = request.config.http_options
        for extra in (self._additional_args.get("headers"),
                      self._additional_args.get("extra_headers"),
                      options.headers if options is not None else None):
            if isinstance(extra, Mapping):
                headers.update({str(k): str(v) for k, v in extra.items()})
        return headers

    def _body_options(self, endpoint: _Endpoint) -> BodyOptions:
        extra = {name: value for name, value in self._additional_args.items()
                 if name not in _TRANSPORT_KEYS}
        body_extra = self._additional_args.get("extra_body")
        if isinstance(body_extra, Mapping):
            extra.update(body_extra)
        return BodyOptions(model=endpoint.wire_model, extra=extra,
                           send_top_k=endpoint.provider.send_top_k)

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        yield from super().__repr_args__()
        yield "provider", self._provider()[0].name

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> LiteLlm:
        # The HTTP clients belong to this object; a copy opens its own.
        fields = {name: getattr(self, name) for name in type(self).model_fields}
        model = fields.pop("model")
        return type(self)(model, **fields, **self._additional_args)

    # ---- the HTTP client (one per trio run) -------------------------------------------

    def _owners(self) -> ClientOwners[httpx.AsyncClient]:
        return client_owners(self, httpx.AsyncClient.aclose,
                             name="trio_adk.lite-llm-http-client")

    def _owner(self) -> OwnedClient[httpx.AsyncClient]:
        """This trio run's client owner, opened on first use.  From a trio task."""
        return self._owners().current(self._new_client)

    def _new_client(self) -> httpx.AsyncClient:
        timeout = httpx.Timeout(self.request_timeout, connect=30.0)
        # follow_redirects=False: a redirect is an error (see the class docstring).
        return httpx.AsyncClient(timeout=timeout, follow_redirects=False)

    @native
    async def aclose(self) -> None:
        """Close the HTTP clients once their requests in flight have finished.

        This trio run's client is retired (and awaited when idle, at most 3 s, shielded);
        clients of other trio runs are told to retire.  A later call opens a fresh client.
        Cancelling the caller does not cut the close short.  Idempotent; from a trio task of
        any run (see :class:`ClientOwners`).
        """
        await self._owners().aclose()

    # ---- calls ------------------------------------------------------------------------

    @native
    async def generate_content_async(
        self, llm_request: LlmRequest, stream: bool = False
    ) -> AsyncGenerator[LlmResponse, None]:
        """Call the model: one response, or (``stream=True``) a partial response per text
        delta, then the final aggregated one (text and tool calls).  From a trio task;
        cancellation closes the request's connection.  See the class docstring for errors.
        """
        endpoint = self._settings()
        body = chat_body(llm_request, self._body_options(endpoint), stream=stream)
        call = _Call(endpoint, self._headers(llm_request), self._call_timeout(llm_request))
        if not stream:
            yield parse_completion(await self._post_json(body, call))
            return
        assembler = StreamAssembler()
        async with aclosing(self._stream(body, call)) as events:
            async for data in events:
                for response in assembler.add_event(data):
                    yield response
        if not assembler.finished:
            raise ModelResponseError(
                f"The stream from {display_url(endpoint.url)} ended after "
                f"{assembler.chunk_count} chunk(s) without a finish_reason: the reply was cut "
                "off, so it is not used. Call the model again.")
        yield assembler.finish()

    def _call_timeout(self, request: LlmRequest) -> httpx.Timeout | None:
        options = request.config.http_options
        if options is None or options.timeout is None:
            return None
        return httpx.Timeout(options.timeout / 1000, connect=30.0)  # milliseconds, as genai

    async def _post_json(self, body: dict[str, Any], call: _Call) -> Any:
        url = call.endpoint.url
        attempt = 0
        while True:
            attempt += 1
            try:
                with self._owner().request() as client:
                    response = await client.post(url, **call.kwargs(body))
                _check_redirect(response, url)
                if response.status_code != 200:
                    raise _RetryHint.attach(api_error(response.status_code, response.content),
                                            response)
                try:
                    return response.json()
                except (ValueError, RecursionError) as exc:
                    raise ModelResponseError(
                        f"{display_url(url)} returned a body that is not JSON: "
                        f"{response.text[:200]!r}") from exc
            except httpx.DecodingError as exc:
                raise _undecodable(exc) from exc
            except (genai_errors.APIError, httpx.TransportError) as exc:
                await self._backoff_or_raise(exc, attempt, url)

    async def _stream(self, body: dict[str, Any], call: _Call) -> AsyncGenerator[str, None]:
        url = call.endpoint.url
        attempt = 0
        while True:
            attempt += 1
            started = False
            try:
                with self._owner().request() as client:
                    async with client.stream("POST", url, **call.kwargs(body, sse=True)
                                             ) as response:
                        _check_redirect(response, url)
                        if response.status_code != 200:
                            raise _RetryHint.attach(
                                api_error(response.status_code, await response.aread()),
                                response)
                        events = aiter_sse(response.aiter_bytes())
                        async for event in events:
                            if event.data.strip() == "[DONE]":
                                break
                            if event.data:
                                started = True
                                yield event.data
                        else:
                            return
                        # After [DONE]: read the end of the body (no yield in the scope), so
                        # the connection goes back to the pool rather than being closed.
                        with trio.move_on_after(_DRAIN_TIMEOUT), \
                                contextlib.suppress(SSETruncatedError, httpx.HTTPError):
                            async for _ in events:
                                pass
                return
            except SSETruncatedError as exc:
                raise ModelResponseError(
                    f"The stream from {display_url(url)} was cut off in the middle of an "
                    "event.") from exc
            except httpx.DecodingError as exc:
                raise _undecodable(exc) from exc
            except (genai_errors.APIError, httpx.TransportError) as exc:
                if started:
                    if isinstance(exc, httpx.TransportError):
                        raise ModelResponseError(
                            f"The stream from {display_url(url)} broke after it started: "
                            f"{type(exc).__name__}: {exc}") from exc
                    raise
                await self._backoff_or_raise(exc, attempt, url)

    async def _backoff_or_raise(self, exc: Exception, attempt: int, url: str) -> None:
        """Wait before the next attempt (see :class:`RetryPolicy`), or raise ``exc`` (a
        transport error as ``ModelConnectionError``).  Cancellation during the wait
        propagates and no further attempt is made."""
        retryable = retryable_http_error(exc)
        policy = RetryPolicy(attempts=self.retry_attempts,
                             initial_delay=self.retry_initial_delay,
                             max_delay=self.retry_max_delay, service="The server")
        if await policy.wait_to_retry(exc, attempt, retryable=retryable,
                                      asked=_RetryHint.delay(exc), log=_log,
                                      caller=self.model, reason=_describe(exc)):
            return
        if isinstance(exc, httpx.TransportError):
            where = exc.request.url if _has_request(exc) else url
            raise ModelConnectionError(
                f"The request to {display_url(where)} ({self.model}) failed after "
                f"{attempt} attempt(s): {type(exc).__name__}: {exc}") from exc
        raise exc


_KNOWN_OTHER = frozenset({"azure_ai", "cohere", "databricks", "ai21", "sagemaker", "replicate",
                          "huggingface", "watsonx", "cloudflare", "palm", "xai", "perplexity",
                          "nvidia_nim", "cerebras", "sambanova", "friendliai", "deepinfra"})
"""litellm providers with a ``/`` prefix that LiteLlm does not speak (a clear error)."""


@attrs.frozen
class _Call:
    """One call's target, headers and timeout (fixed across its retries)."""

    endpoint: _Endpoint
    headers: dict[str, str]
    timeout: httpx.Timeout | None

    def kwargs(self, body: dict[str, Any], *, sse: bool = False) -> dict[str, Any]:
        accept = "text/event-stream" if sse else "application/json"
        kwargs: dict[str, Any] = {"json": body, "headers": {**self.headers, "accept": accept},
                                  "auth": _Credentials(self.endpoint)}
        if self.endpoint.params:
            kwargs["params"] = dict(self.endpoint.params)
        if self.timeout is not None:
            kwargs["timeout"] = self.timeout
        return kwargs


class _RetryHint:
    """Carries a reply's ``Retry-After`` on the genai error raised for it."""

    @staticmethod
    def attach(error: genai_errors.APIError, response: httpx.Response) -> genai_errors.APIError:
        error.response = response
        error.__dict__["_trio_adk_retry_after"] = retry_after(response.headers)
        return error

    @staticmethod
    def delay(error: BaseException) -> float | None:
        value = error.__dict__.get("_trio_adk_retry_after")
        return value if isinstance(value, float) else None


def _describe(exc: BaseException) -> str:
    if isinstance(exc, genai_errors.APIError):
        return f"{exc.code} {exc.status}"
    return type(exc).__name__


def _check_redirect(response: httpx.Response, url: str) -> None:
    if not 300 <= response.status_code < 400:
        return
    location = response.headers.get("location")
    where = "without a Location header"
    if location is not None:
        target = display_url(response.url.join(location), origin_only=True)
        same = target == display_url(url, origin_only=True)
        where = f"back to {target}" if same else f"to another server, {target}"
    raise ModelConnectionError(
        f"{display_url(url)} answered {response.status_code}: a redirect {where}. trio-adk "
        "follows no redirects (the API key must not reach another server): set api_base to "
        "the address that serves the API itself.")


def _undecodable(exc: httpx.DecodingError) -> ModelResponseError:
    return ModelResponseError(
        f"The server sent a body that cannot be decoded ({type(exc).__name__}: {exc}).")


class _Credentials(httpx.Auth):
    """Puts the key (``Authorization: Bearer``, Azure ``api-key``) and a base URL's
    ``user:password@`` on a request to the configured endpoint; its repr shows neither."""

    def __init__(self, endpoint: _Endpoint) -> None:
        self._key = endpoint.key
        self._azure = endpoint.provider is _AZURE
        self._basic = None if endpoint.userinfo is None else httpx.BasicAuth(*endpoint.userinfo)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self._key:
            if self._azure:
                request.headers["api-key"] = self._key
            else:
                request.headers["authorization"] = f"Bearer {self._key}"
        if self._basic is not None and not (self._key and not self._azure):
            yield from self._basic.auth_flow(request)
        else:
            yield request

    def __repr__(self) -> str:
        return "<LiteLlm credentials>"


__all__ = ["PROVIDERS", "LiteLlm", "Provider"]

LLMRegistry.register(LiteLlm)
