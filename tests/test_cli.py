"""The ``trio-adk`` command line behaves like a good command line.

Ctrl-C and SIGTERM end a command quietly after its clean-up (status 130 / 143), errors are one
line on stderr saying what to do (status 1, the traceback only with ``--debug``), API keys are
never printed, ``--version`` and ``--help`` read as plain text.  Each behaviour runs the real
command in a subprocess (``python -m trio_adk``) with a timeout.
"""

from __future__ import annotations

import errno
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing, contextmanager
from importlib.metadata import version
from pathlib import Path

import pytest
from google.genai import errors as genai_errors

from helpers import serve_in_thread
from trio_adk.cli._errors import ModelServer, describe, leaf_that_matters, redact
from trio_adk.errors import (
    LiveConnectionClosedError,
    ModelConfigError,
    ModelConnectionError,
    ModelResponseError,
)
from trio_adk.testing import FakeGeminiServer
from trio_adk.testing._fake_gemini._script import GeminiError

ROOT = Path(__file__).resolve().parent.parent
ENV_VARS = ("GOOGLE_API_KEY", "GEMINI_API_KEY", "GOOGLE_GEMINI_BASE_URL")
TIMEOUT = 120
SECRET = "AIzaSy-not-a-real-key-0123456789abcdef"
API_KEY_INVALID = {"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                   "reason": "API_KEY_INVALID", "domain": "googleapis.com"}
SERVER = ModelServer("the model server at http://example.test", "Check --base-url.")

needs_posix_signals = pytest.mark.skipif(sys.platform == "win32",
                                         reason="sends POSIX signals to a subprocess")


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ENV_VARS}
    env.update(extra)
    return env


def trio_adk(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "trio_adk", *args], cwd=ROOT,
                          env=clean_env() if env is None else env, capture_output=True,
                          text=True, timeout=TIMEOUT)


def stderr_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.strip()]


@contextmanager
def closed_port() -> Iterator[int]:
    """A loopback port that refuses connections: bound (so nobody else takes it), never
    listening."""
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@contextmanager
def silent_server() -> Iterator[socket.socket]:
    """A loopback server that accepts connections and never answers."""
    with closing(socket.create_server(("127.0.0.1", 0))) as server:
        server.settimeout(TIMEOUT)
        yield server


def wait_for_request_head(connection: socket.socket) -> bytes:
    connection.settimeout(TIMEOUT)
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = connection.recv(65536)
        assert chunk, f"the client hung up after {head!r}"
        head += chunk
    return head


def url_of(server: socket.socket) -> str:
    return f"http://127.0.0.1:{server.getsockname()[1]}"


# -- --version and --help ---------------------------------------------------------------------


def test_version_prints_the_installed_version() -> None:
    """``--version`` prints ``trio-adk <version>`` from the package metadata and exits 0."""
    result = trio_adk("--version")
    assert 0 == result.returncode, result.stderr
    assert f"trio-adk {version('trio-adk')}\n" == result.stdout


@pytest.mark.parametrize("args", [["--help"], ["-h"], ["demo", "--help"]])
def test_help_is_plain_text(args: list[str]) -> None:
    """Help reads as plain text: no reStructuredText backticks or roles."""
    result = trio_adk(*args)
    assert 0 == result.returncode, result.stderr
    assert "Usage: trio-adk" in result.stdout
    assert "`" not in result.stdout
    assert ":func:" not in result.stdout


def test_group_help_lists_the_demo_and_the_exit_statuses() -> None:
    out = trio_adk("--help").stdout
    assert "demo" in out
    for status in ("0 ", "1 ", "2 ", "130", "143"):
        assert f"  {status}" in out, out


def test_demo_help_says_where_the_model_calls_go() -> None:
    out = trio_adk("demo", "--help").stdout
    for word in ("--live", "--base-url", "--debug", "GOOGLE_API_KEY", "GOOGLE_GEMINI_BASE_URL",
                 "offline"):
        assert word in out, out


def test_no_command_shows_the_help_with_the_usage_status() -> None:
    result = trio_adk()
    assert 2 == result.returncode
    assert "Usage: trio-adk" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unknown_option_is_a_usage_error() -> None:
    result = trio_adk("demo", "--no-such-option")
    assert 2 == result.returncode
    assert "Error: No such option" in result.stderr
    assert "--no-such-option" in result.stderr
    assert "Traceback" not in result.stderr


# -- errors: one line, status 1 ---------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("live", [False, True], ids=["rest", "live"])
def test_connection_refused_is_one_line(live: bool) -> None:
    """A server that refuses connections: one line naming it, saying what to check."""
    with closed_port() as port:
        result = trio_adk("demo", *(["--live"] if live else []),
                          "--base-url", f"http://127.0.0.1:{port}")
    assert 1 == result.returncode
    assert [f"trio-adk: error: cannot reach the model server at http://127.0.0.1:{port}: "
            "connection refused (is the server running?). Check --base-url or "
            "GOOGLE_GEMINI_BASE_URL."] == stderr_lines(result)


@pytest.mark.slow
def test_base_url_from_the_environment_is_named_in_the_error() -> None:
    with closed_port() as port:
        url = f"http://127.0.0.1:{port}"
        result = trio_adk("demo", "--live", env=clean_env(GOOGLE_GEMINI_BASE_URL=url))
    assert 1 == result.returncode
    [line] = stderr_lines(result)
    assert line.startswith(f"trio-adk: error: cannot reach the model server at {url}: ")


@pytest.mark.slow
@pytest.mark.parametrize("where", ["before", "after"])
def test_debug_adds_the_traceback(where: str) -> None:
    """``--debug`` (before or after the command name) prints the traceback, groups and all,
    then the same one-line error."""
    with closed_port() as port:
        base = ["--base-url", f"http://127.0.0.1:{port}", "--live"]
        args = ["--debug", "demo", *base] if where == "before" else ["demo", *base, "--debug"]
        result = trio_adk(*args)
    assert 1 == result.returncode
    assert "Traceback" in result.stderr
    assert "ConnectionRefusedError" in result.stderr
    assert stderr_lines(result)[-1].startswith("trio-adk: error: cannot reach the model server")


@pytest.mark.parametrize("live", [False, True], ids=["rest", "live"])
def test_a_rejected_api_key_is_one_line_and_never_printed(live: bool) -> None:
    """The server refuses the key (400 API_KEY_INVALID; Live: close 1008): one line that
    says to check GOOGLE_API_KEY, and the key appears nowhere."""
    server = FakeGeminiServer(require_api_key="the-right-key")
    with serve_in_thread(server) as url:
        result = trio_adk("demo", *(["--live"] if live else []), "--base-url", url,
                          env=clean_env(GOOGLE_API_KEY=SECRET))
    assert 1 == result.returncode
    [line] = stderr_lines(result)
    assert line.startswith(f"trio-adk: error: the model server at {url} rejected the API key (")
    assert "API key not valid" in line
    assert line.endswith("Check GOOGLE_API_KEY (or GEMINI_API_KEY).")
    assert SECRET not in result.stdout + result.stderr
    assert [SECRET] == [r.api_key for r in server.requests]  # it was sent, just not printed


@pytest.mark.parametrize("variable", ["GOOGLE_API_KEY", "GEMINI_API_KEY"])
@pytest.mark.parametrize("debug", [False, True], ids=["plain", "debug"])
def test_a_key_echoed_by_the_server_is_redacted(variable: str, debug: bool) -> None:
    """A server whose error message repeats the key: it is redacted from the line and from
    the ``--debug`` traceback."""
    error = GeminiError(code=400, message=f"API key {SECRET} not valid.",
                        details=(API_KEY_INVALID,))
    with serve_in_thread(FakeGeminiServer(script=[error])) as url:
        result = trio_adk("demo", "--base-url", url, *(["--debug"] if debug else []),
                          env=clean_env(**{variable: SECRET}))
    assert 1 == result.returncode
    assert SECRET not in result.stdout + result.stderr
    assert "API key <redacted> not valid" in stderr_lines(result)[-1]
    assert debug == ("Traceback" in result.stderr)


# -- signals: quiet, after clean-up -----------------------------------------------------------


@contextmanager
def running(*args: str) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen([sys.executable, "-m", "trio_adk", *args], cwd=ROOT,
                               env=clean_env(), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=TIMEOUT)


@needs_posix_signals
@pytest.mark.parametrize("live", [False, True], ids=["demo", "live"])
@pytest.mark.parametrize(("signum", "status", "message"), [
    (signal.SIGINT, 130, "Interrupted."), (signal.SIGTERM, 143, "Terminated.")],
    ids=["SIGINT", "SIGTERM"])
def test_a_signal_mid_call_ends_the_demo_quietly(live: bool, signum: int, status: int,
                                                 message: str) -> None:
    """SIGINT (Ctrl-C) or SIGTERM while the demo waits for a model that never answers: the
    demo's runner closes, stderr says only "Interrupted." / "Terminated.", status 128 + N."""
    with silent_server() as server, \
            running("demo", *(["--live"] if live else []), "--base-url", url_of(server)) as demo:
        connection, _ = server.accept()
        with closing(connection):
            wait_for_request_head(connection)  # the demo waits for an answer now
            demo.send_signal(signum)
            out, err = demo.communicate(timeout=TIMEOUT)
    assert status == demo.returncode, err
    assert message == err.strip()
    assert out.startswith("trio-adk ")
    assert "Traceback" not in out + err


_SCRIPT = """
import os, signal, trio
from trio_adk.cli._errors import ModelServer
from trio_adk.cli._running import run_command

async def helper():
    try:
        await trio.sleep_forever()
    finally:
        with trio.CancelScope(shield=True):
            print("helper cleaning up", flush=True)
            await trio.sleep(0)
            {helper_cleanup}
            print("helper cleaned up", flush=True)

async def body():
    async with trio.open_nursery() as nursery:
        nursery.start_soon(helper)
        print("started", flush=True)
        os.kill(os.getpid(), signal.{signal})
        await trio.sleep_forever()

raise SystemExit(run_command(body, server=ModelServer("x", "y")))
"""


def run_script(*, signal: str = "SIGINT", helper_cleanup: str = "pass"
               ) -> subprocess.CompletedProcess[str]:
    script = _SCRIPT.format(signal=signal, helper_cleanup=helper_cleanup)
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=TIMEOUT)


@needs_posix_signals
@pytest.mark.parametrize(("signum", "status", "message"), [
    ("SIGINT", 130, "Interrupted."), ("SIGTERM", 143, "Terminated.")])
def test_the_command_cleans_up_before_the_status_is_returned(signum: str, status: int,
                                                             message: str) -> None:
    """The first signal cancels the command: its tasks' ``finally`` blocks (shielded awaits
    too) run to the end before the one-word message and the status."""
    result = run_script(signal=signum)
    assert status == result.returncode, result.stderr
    assert ["started", "helper cleaning up", "helper cleaned up"] == result.stdout.splitlines()
    assert f"{message}\n" == result.stderr


@needs_posix_signals
def test_a_second_ctrl_c_ends_a_clean_up_that_hangs() -> None:
    """A task stuck in its (shielded) clean-up: the second Ctrl-C ends the process anyway,
    status 130, saying that the clean-up was not finished."""
    result = run_script(helper_cleanup="os.kill(os.getpid(), signal.SIGINT); "
                                       "await trio.sleep_forever()")
    assert 130 == result.returncode, result.stderr
    assert ["started", "helper cleaning up"] == result.stdout.splitlines()
    assert "Interrupted. Leaving without finishing the clean-up.\n" == result.stderr


@pytest.mark.slow
def test_a_closed_stdout_ends_the_demo_quietly() -> None:
    """``trio-adk demo | head -1``: the reader goes away; no traceback, status 1."""
    with running("demo") as demo:
        assert demo.stdout is not None
        assert demo.stdout.readline().startswith("trio-adk demo:")
        demo.stdout.close()
        demo.wait(timeout=TIMEOUT)
        assert demo.stderr is not None
        err = demo.stderr.read()
    assert 1 == demo.returncode
    assert "" == err


# -- describe(): the leaf that matters, in one line ---------------------------------------------


def client_error(code: int, message: str, reason: str | None = None) -> genai_errors.APIError:
    body: dict[str, object] = {"code": code, "message": message, "status": "STATUS"}
    if reason is not None:
        body["details"] = [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                            "reason": reason}]
    cls = genai_errors.ServerError if code >= 500 else genai_errors.ClientError
    return cls(code, {"error": body})


@pytest.mark.parametrize(("error", "expected"), [
    (client_error(400, "API key not valid.", "API_KEY_INVALID"),
     "the model server at http://example.test rejected the API key (400 STATUS: API key not "
     "valid). Check GOOGLE_API_KEY (or GEMINI_API_KEY)."),
    (client_error(401, "Unauthenticated."), "rejected the API key (401 STATUS: Unauthenticated)"),
    (client_error(403, "No."), "denied access (403 STATUS: No). Check that the API key"),
    (client_error(404, "No model."), "does not know the model or method (404 STATUS: No model)"),
    (client_error(429, "Quota."), "quota or rate limit exceeded (429 STATUS: Quota). Wait"),
    (client_error(400, "Bad field."), "refused the request (400 STATUS: Bad field)."),
    (client_error(503, "Overloaded."), "failed (503 STATUS: Overloaded). Try again later."),
    (ModelResponseError("The Gemini stream was cut off."),
     "sent a reply that cannot be used: The Gemini stream was cut off."),
    (ModelConfigError("Set GOOGLE_API_KEY"), "Set GOOGLE_API_KEY."),
    (LiveConnectionClosedError("closed", code=1008, reason="Unknown model."),
     "refused the Live session (close 1008: Unknown model). Check the API key and the model"),
    (LiveConnectionClosedError("closed", code=1011, reason="Internal."),
     "closed the Live connection (close 1011: Internal)."),
    (ModelConnectionError("Could not connect to x"),
     "cannot reach the model server at http://example.test: Could not connect to x. "
     "Check --base-url."),
    (RuntimeError("a bug"), "RuntimeError: a bug. Run again with --debug to see the traceback."),
])
def test_describe_says_what_went_wrong_and_what_to_do(error: BaseException,
                                                      expected: str) -> None:
    assert expected in describe(error, SERVER)


def test_describe_finds_the_leaf_in_nested_groups() -> None:
    """The model's error inside nested nursery groups, after an error of an unknown kind."""
    cause = ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")
    leaf = ModelConnectionError("failed")
    leaf.__cause__ = OSError("all attempts failed")
    leaf.__cause__.__cause__ = ExceptionGroup("attempts", [cause])
    group = ExceptionGroup("outer", [
        ValueError("unrelated"),
        ExceptionGroup("run", [ExceptionGroup("step", [leaf])]),
    ])
    assert leaf is leaf_that_matters(group)
    assert ("cannot reach the model server at http://example.test: connection refused "
            "(is the server running?). Check --base-url.") == describe(group, SERVER)


def test_describe_keeps_a_long_multi_line_message_on_one_line() -> None:
    line = describe(client_error(400, "first line\nsecond line " + "x" * 1000), SERVER)
    assert "\n" not in line
    assert len(line) < 500


def test_describe_names_an_address_in_use() -> None:
    with closing(socket.create_server(("127.0.0.1", 0))) as taken, \
            closing(socket.socket()) as second, pytest.raises(OSError) as info:
        second.bind(taken.getsockname())
    assert errno.EADDRINUSE == info.value.errno
    line = describe(ExceptionGroup("serve", [info.value]), SERVER)
    assert line.startswith("cannot listen: the address is already in use")
    assert line.endswith("choose another port.")


def test_redact_replaces_every_secret_longest_first() -> None:
    assert "key <redacted> and <redacted>!" == redact("key abcdef and abcdefgh!",
                                                       ["abcdef", "abcdefgh", ""])


def test_main_returns_the_status_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    from trio_adk.cli import main

    assert 0 == main(["--version"])
    assert 2 == main(["demo", "--nope"])
    assert f"trio-adk {version('trio-adk')}" in capsys.readouterr().out

