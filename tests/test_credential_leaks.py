"""The API key goes to the configured origin only, and shows up nowhere else.

Real sockets throughout: ``FakeGeminiServer`` plays Gemini (and the server a redirect points
to), ``canned_http`` plays a misconfigured proxy that redirects.  Every test records what it
can observe (log records of every logger at DEBUG, httpx/httpcore/trio-websocket included;
``str``, ``repr`` and tracebacks, with and without locals, of every exception and its
``__cause__``/``__context__`` chain; reprs and dumps of the objects involved) and asserts
that the key never appears in any of it.
"""

from __future__ import annotations

import base64
import copy
import json
import logging
import socket
import traceback
from collections.abc import Awaitable, Callable, Iterator
from contextlib import aclosing
from typing import Any

import pytest
import trio
from google.genai import errors as genai_errors

from canned_http import canned_server, host_of, json_body, redirect
from helpers import make_runner, run_text, user_text
from trio_adk import Agent
from trio_adk.agents import RunConfig, StreamingMode
from trio_adk.errors import (
    LiveConnectionClosedError,
    ModelConnectionError,
    ModelResponseError,
)
from trio_adk.models import Gemini, LlmRequest, LlmResponse
from trio_adk.models._gemini_live import GeminiLiveOptions, live_url
from trio_adk.models._wire import display_url, redirect_error
from trio_adk.plugins import LoggingPlugin
from trio_adk.testing import (
    FakeGeminiServer,
    LiveScript,
    ScriptItem,
    gemini_chunks,
    gemini_error,
    gemini_text,
)

KEY = "AIzaTEST-credential-7f3e9c1d"
"""The API key every test uses: distinctive, so a substring search finds any copy of it."""
PASSWORD = "pw-userinfo-5b2e8a"
MODEL = "gemini-2.0-flash"
LIVE_MODEL = "gemini-2.0-flash-live-001"
LOGGERS = ("httpx", "httpcore", "trio-websocket", "trio_adk", "h11", "wsproto")
SSE = RunConfig(streaming_mode=StreamingMode.SSE)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("GOOGLE_API_KEY", "GEMINI_API_KEY", "GOOGLE_GEMINI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every log record of every logger at DEBUG; after the test, none may show the key."""
    caplog.set_level(logging.DEBUG)
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    yield caplog
    assert_clean(log_text(caplog))


def log_text(caplog: pytest.LogCaptureFixture) -> str:
    """All records fully formatted (exception tracebacks included)."""
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    return "\n".join(formatter.format(record) for record in caplog.records)


def exception_texts(exc: BaseException) -> str:
    """``str``, ``repr`` and tracebacks (plain and with every frame's locals) of ``exc``
    and of each exception in its ``__cause__`` / ``__context__`` chain."""
    texts = ["".join(traceback.format_exception(exc)),
             "".join(traceback.TracebackException.from_exception(
                 exc, capture_locals=True).format())]
    current: BaseException | None = exc
    while current is not None:
        texts += [str(current), repr(current), repr(current.args)]
        current = current.__cause__ or current.__context__
    return "\n".join(texts)


def assert_clean(text: str) -> None:
    assert KEY not in text
    assert PASSWORD not in text


async def failure(action: Callable[[], Awaitable[Any]]) -> BaseException:
    """Run ``action``; return what it raised (it must raise)."""
    try:
        await action()
    except Exception as exc:
        return exc
    raise AssertionError(f"{action} did not raise")


def rest_model(base_url: str, **kwargs: Any) -> Gemini:
    kwargs.setdefault("retry_initial_delay", 0.01)
    return Gemini(model=MODEL, base_url=base_url, api_key=KEY, **kwargs)


async def call(model: Gemini, *, stream: bool = False) -> list[LlmResponse]:
    request = LlmRequest(model=MODEL, contents=[user_text("hello")])
    async with aclosing(model.generate_content_async(request, stream=stream)) as responses:
        return [response async for response in responses]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# ---- redirects: the key never reaches another origin ----------------------------------------


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize("stream", [False, True], ids=["unary", "sse"])
async def test_a_redirect_to_another_origin_is_not_followed(status: int, stream: bool,
                                                            logs: Any) -> None:
    """A base URL (or proxy) answering with a redirect to another server: the request is not
    repeated there (that server sees nothing, so no key), and not retried; the
    ``ModelConnectionError`` names the status and the Location's origin, never its path,
    its query or the key."""
    async with FakeGeminiServer() as elsewhere:
        location = f"{elsewhere.base_url}/secret-path/v1beta/models/{MODEL}:x?token=t0k3n"
        async with canned_server(redirect(location, status)) as proxy:
            model = rest_model(proxy.base_url, retry_attempts=3)
            try:
                exc = await failure(lambda: call(model, stream=stream))
            finally:
                await model.aclose()
    assert isinstance(exc, ModelConnectionError), exc
    assert [] == elsewhere.requests
    assert 1 == len(proxy.requests)
    assert KEY.encode() in proxy.requests[0]  # the configured origin did get it
    message = str(exc)
    assert f"answered {status}" in message
    assert f"to another server, {elsewhere.base_url}." in message
    assert "secret-path" not in message and "t0k3n" not in message
    assert "base_url" in message  # says what to fix
    assert_clean(exception_texts(exc))


@pytest.mark.parametrize("stream", [False, True], ids=["unary", "sse"])
async def test_a_redirect_loop_ends_at_once_in_model_connection_error(stream: bool,
                                                                      logs: Any) -> None:
    """A server redirecting to itself costs one request and raises ``ModelConnectionError``
    (not httpx's ``TooManyRedirects``); a same-origin redirect is not followed either."""
    async with canned_server(lambda raw: redirect(f"http://{host_of(raw)}/again", 302)) as loop:
        model = rest_model(loop.base_url, retry_attempts=3)
        try:
            exc = await failure(lambda: call(model, stream=stream))
        finally:
            await model.aclose()
    assert isinstance(exc, ModelConnectionError), repr(exc)
    assert 1 == len(loop.requests)
    assert f"back to the same server ({loop.base_url})" in str(exc)
    assert_clean(exception_texts(exc))


async def test_a_live_upgrade_redirect_is_not_followed(logs: Any) -> None:
    """The Live handshake answered with 307 to another server: ``ModelConnectionError``
    naming the status and that origin; the other server sees no connection."""
    async with FakeGeminiServer() as elsewhere, \
            canned_server(redirect(elsewhere.live_url("v1alpha"))) as proxy:
        model = Gemini(model=LIVE_MODEL, base_url=proxy.base_url, api_key=KEY)

        async def open_live() -> None:
            async with model.connect(LlmRequest()):
                pass

        exc = await failure(open_live)
    assert isinstance(exc, ModelConnectionError), repr(exc)
    assert ([], []) == (elsewhere.requests, elsewhere.live_sessions)
    assert 1 == len(proxy.requests)
    assert KEY.encode() in proxy.requests[0]
    assert "answered 307" in str(exc)
    assert f"to another server, ws://127.0.0.1:{elsewhere.port}." in str(exc)
    assert_clean(exception_texts(exc))


@pytest.mark.parametrize(
    ("status", "location", "says"),
    [(301, None, "a redirect without a Location header"),
     (308, "http://[not-a-host", "a redirect to an unusable Location"),
     (302, "mailto:someone", "a redirect to an unusable Location"),
     (307, "/v1/x?key=" + KEY, "a redirect back to the same server (https://h:8443)"),
     (303, "//other.example/p?key=" + KEY, "a redirect to another server, https://other.example."),
     (399, "HTTP://Other.Example:80/x", "a redirect to another server, http://other.example:80.")])
def test_redirect_messages_name_status_and_origin_only(status: int, location: str | None,
                                                        says: str) -> None:
    """Every shape of Location gives a message naming the status and where it pointed (an
    origin at most); the key and the password in either URL never show."""
    url = f"https://user:{PASSWORD}@h:8443/v1beta/models/m:generateContent?key={KEY}"
    message = str(redirect_error(status, location, url))
    assert message.startswith(f"https://h:8443/v1beta/models/m:generateContent answered {status}")
    assert says in message
    assert_clean(message)


def test_display_url_drops_userinfo_query_and_fragment() -> None:
    assert "http://[::1]:8080/a" == display_url(f"http://u:{PASSWORD}@[::1]:8080/a?key={KEY}#f")
    assert "https://h" == display_url("https://h/some/path", origin_only=True)
    assert "<unparseable URL>" == display_url("http://h:99999999/")


# ---- logs, errors and tracebacks -------------------------------------------------------------


async def test_rest_and_sse_logs_errors_and_tracebacks_hold_no_key(logs: Any) -> None:
    """Successes, a retried 503 (its INFO retry line), a refused key, an unreachable host,
    a body of the wrong shape, cut-off streams: httpx's and httpcore's DEBUG lines, our
    retry line and every error leave the key out."""
    script: list[ScriptItem] = [
        gemini_text("unary ok"),
        gemini_chunks(["sse ", "ok"]),
        gemini_error(503, "overloaded"), gemini_text("after a retry"),
        gemini_chunks(["cut ", "off"], fault="truncate", fault_after=1),
        gemini_chunks(["no ", "finish"], finish_reason=None),
        gemini_chunks(["broken"], fault="drop", fault_after=1),
    ]
    errors: list[BaseException] = []
    async with FakeGeminiServer(script=script, require_api_key=KEY) as server:
        model = rest_model(server.base_url)
        try:
            await call(model)
            await call(model, stream=True)
            await call(model)
            for _ in range(3):
                errors.append(await failure(lambda: call(model, stream=True)))
        finally:
            await model.aclose()
        wrong_key = Gemini(model=MODEL, base_url=server.base_url, api_key=KEY + "-revoked",
                           retry_attempts=1)
        try:
            errors.append(await failure(lambda: call(wrong_key)))
        finally:
            await wrong_key.aclose()
    assert all(r.api_key == KEY for r in server.requests[:-1])  # the key did travel
    async with canned_server(json_body({"candidates": 5})) as odd:
        model = rest_model(odd.base_url)
        try:
            errors.append(await failure(lambda: call(model)))
        finally:
            await model.aclose()
    unreachable = rest_model(f"http://127.0.0.1:{closed_port()}", retry_attempts=2)
    try:
        errors.append(await failure(lambda: call(unreachable)))
        errors.append(await failure(lambda: call(unreachable, stream=True)))
    finally:
        await unreachable.aclose()

    assert [ModelResponseError] * 3 + [genai_errors.ClientError, ModelResponseError] + \
        [ModelConnectionError] * 2 == [type(e) for e in errors]
    for exc in errors:
        assert_clean(exception_texts(exc))
    text = log_text(logs)
    assert "retrying in" in text  # the retry line was logged (and checked)
    assert "HTTP Request: POST" in text and "send_request_headers" in text


async def test_live_logs_errors_and_reprs_hold_no_key(logs: Any) -> None:
    """A Live turn (trio-websocket DEBUG lines, the connection's repr and URL), a key refused
    with 1008, a refused upgrade, an unreachable endpoint and a message of the wrong shape:
    no key anywhere."""
    errors: list[BaseException] = []
    shown: list[str] = []

    async def bad_message(session: Any) -> None:
        await session.send({"serverContent": 5})
        await trio.sleep_forever()

    async with FakeGeminiServer(require_api_key=KEY) as server:
        model = Gemini(model=LIVE_MODEL, base_url=server.base_url, api_key=KEY)
        async with model.connect(LlmRequest()) as conn:
            shown += [repr(conn), str(conn), conn.url, json.dumps(conn.setup)]
            await conn.send_content(user_text("hi"))
            async with aclosing(conn.receive()) as responses:
                async for response in responses:
                    shown.append(repr(response))
                    if response.turn_complete:
                        break
        assert KEY == server.requests[0].api_key  # the key did travel

        async def open_with(gemini: Gemini, options: GeminiLiveOptions | None = None) -> None:
            async with gemini.connect(LlmRequest(), options=options) as live, \
                    aclosing(live.receive()) as responses:
                async for _ in responses:
                    pass

        revoked = Gemini(model=LIVE_MODEL, base_url=server.base_url, api_key=KEY + "-revoked")
        errors.append(await failure(lambda: open_with(revoked)))
        errors.append(await failure(
            lambda: open_with(model, GeminiLiveOptions(api_version="v9"))))
        server.live = LiveScript(handler=bad_message)
        errors.append(await failure(lambda: open_with(model)))
    unreachable = Gemini(model=LIVE_MODEL, base_url=f"http://127.0.0.1:{closed_port()}",
                         api_key=KEY)
    errors.append(await failure(lambda: open_with(unreachable)))

    assert [LiveConnectionClosedError, genai_errors.ClientError, ModelResponseError,
            ModelConnectionError] == [type(e) for e in errors]
    for exc in errors:
        assert_clean(exception_texts(exc))
    assert_clean("\n".join(shown))
    assert "trio-websocket" in log_text(logs)


async def test_an_ephemeral_token_goes_in_the_handshake_headers_only(logs: Any) -> None:
    """An ``auth_tokens/...`` key selects ``BidiGenerateContentConstrained`` and travels in
    ``x-goog-api-key`` and ``Authorization: Token`` of the handshake, never in the URL, a
    log line or the connection's repr."""
    token = f"auth_tokens/{KEY}"
    async with FakeGeminiServer() as server:
        model = Gemini(model=LIVE_MODEL, base_url=server.base_url, api_key=token)
        async with model.connect(LlmRequest()) as conn:
            shown = [repr(conn), conn.url]
    (session,) = server.live_sessions
    assert session.path.endswith("GenerativeService.BidiGenerateContentConstrained")
    assert (token, f"Token {token}") == (session.headers["x-goog-api-key"],
                                         session.headers["authorization"])
    assert {} == server.requests[0].query
    assert_clean("\n".join(shown))


async def test_runner_with_logging_plugin_shows_no_key(logs: Any) -> None:
    """LoggingPlugin's lines for a good turn, a streamed turn and a failing model call (its
    error line included) leave the key out; so does the error the caller gets."""
    script: list[ScriptItem] = [gemini_text("fine"), gemini_chunks(["streamed ", "fine"]),
                                gemini_error(400, "API key not valid. Please pass a valid API "
                                                  "key.")]
    async with FakeGeminiServer(script=script, require_api_key=KEY) as server:
        model = rest_model(server.base_url)
        agent = Agent(name="assistant", model=model, instruction="Be brief.")
        async with await make_runner(agent, plugins=[LoggingPlugin()]) as runner:
            await run_text(runner, "one")
            await run_text(runner, "two", run_config=SSE)
            exc = await failure(lambda: run_text(runner, "three"))
    assert isinstance(exc, genai_errors.ClientError)
    assert_clean(exception_texts(exc))
    plugin_lines = [r for r in logs.records if r.name == "trio_adk.plugins.logging"]
    assert any("model gemini-2.0-flash error ClientError" in r.getMessage()
               for r in plugin_lines)


# ---- reprs and dumps -------------------------------------------------------------------------


def test_reprs_and_dumps_of_the_model_hold_no_key() -> None:
    """``repr``/``str`` of the model, of an agent holding it and of a deep copy, and their
    ``model_dump``/``model_dump_json``: no key (the reprs also mask a base URL's
    ``user:password@``).  The key still works (the copy keeps it)."""
    model = Gemini(model=MODEL, api_key=KEY, base_url=f"http://user:{PASSWORD}@h")
    agent = Agent(name="assistant", model=model)
    duplicate = copy.deepcopy(model)
    texts = [repr(model), str(model), repr(duplicate), repr(agent), str(agent),
             model.model_dump_json(), repr(model.model_dump()), repr(duplicate.model_dump()),
             repr(agent.model_dump()), repr(model._auth()),
             repr(GeminiLiveOptions()), repr(LlmRequest(model=MODEL, contents=[user_text("x")]))]
    assert KEY not in "\n".join(texts)
    assert_clean("\n".join([repr(model), str(model), repr(duplicate), repr(agent)]))
    assert "base_url='http://***@h'" in repr(model)
    assert (KEY, KEY) == (model.api_key, duplicate.api_key)


# ---- credentials in the base URL -------------------------------------------------------------


async def test_userinfo_in_the_base_url_is_basic_auth_and_never_shown(logs: Any) -> None:
    """``http://user:password@host`` still authenticates (basic auth, as before), but the
    password is in no log line (httpx's request line included), no error and no Live URL."""
    async with FakeGeminiServer(script=[gemini_text("ok")]) as server:
        model = rest_model(server.base_url.replace("http://", f"http://user:{PASSWORD}@"))
        try:
            responses = await call(model)
        finally:
            await model.aclose()
    assert "ok" == responses[-1].content.parts[0].text  # type: ignore[union-attr]
    expected = "Basic " + base64.b64encode(f"user:{PASSWORD}".encode()).decode()
    assert expected == server.requests[0].headers["authorization"]
    assert KEY == server.requests[0].api_key

    base = f"http://user:{PASSWORD}@127.0.0.1:{closed_port()}"
    unreachable = rest_model(base, retry_attempts=1)
    try:
        rest_error = await failure(lambda: call(unreachable, stream=True))
    finally:
        await unreachable.aclose()
    live_model = Gemini(model=LIVE_MODEL, base_url=base, api_key=KEY)

    async def open_live() -> None:
        async with live_model.connect(LlmRequest()):
            pass

    live_error = await failure(open_live)
    assert isinstance(rest_error, ModelConnectionError)
    assert isinstance(live_error, ModelConnectionError)
    for exc in (rest_error, live_error):
        assert_clean(exception_texts(exc))
    assert_clean(live_url(base))
    bad_scheme = await failure(_raise_live_url_error)
    assert_clean(str(bad_scheme))


async def _raise_live_url_error() -> None:
    live_url(f"ftp://user:{PASSWORD}@h")
