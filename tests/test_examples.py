"""Every example runs offline and prints what it should."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(name: str) -> str:
    result = subprocess.run([sys.executable, str(ROOT / "examples" / name)], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert 0 == result.returncode, result.stderr
    return result.stdout


def test_quickstart_calls_the_tool_and_answers() -> None:
    """The quickstart streams the tool call, its result and the final answer."""
    out = _run("quickstart.py")
    assert "calls get_weather({'city': 'Paris'})" in out
    assert "The weather is sunny, 22 degrees." in out


def test_sync_execution_streams_events_from_plain_code() -> None:
    """``runner.run`` from sync code streams the tool call, its result and the answer,
    and ``with runner:`` closes the runner."""
    out = _run("sync_execution.py")
    lines = out.splitlines()
    assert [
        "[support_agent] calls order_status({'order_id': 'A-17'})",
        "[support_agent] order_status returned {'order_id': 'A-17', 'status': 'shipped'}",
        "[support_agent] Order A-17 has shipped.",
        "3 events received",
        "runner closed: True",
    ] == lines


def test_asyncio_execution_serves_two_users_under_asyncio_run() -> None:
    """``run_async`` inside ``asyncio.run`` answers two concurrent users and the runner
    closes from asyncio."""
    out = _run("asyncio_execution.py")
    assert ["[greeter] Hello, Ada!", "[greeter] Hello, Grace!", "runner closed: True"] == \
        out.splitlines()


def test_context_manager_closes_the_runner_on_exit() -> None:
    """``async with runner:`` and ``with runner:`` both close the runner (the plugin is
    closed before the block's next line runs) and a closed runner refuses new runs."""
    out = _run("context_manager.py")
    assert [
        "[echo_agent] Hi from the async block.",
        "plugin 'async' closed",
        "after `async with`: closed=True",
        "a new run on the closed runner raised RunnerClosedError",
        "[echo_agent] Hi from the sync block.",
        "plugin 'sync' closed",
        "after `with`: closed=True",
    ] == out.splitlines()


def test_batch_processing_prints_each_answer_in_request_order() -> None:
    """``run_batch`` answers each request in request order, reports the failing one
    without stopping the others, and respects ``max_concurrency``."""
    out = _run("batch_processing.py")
    assert [
        "session0: The capital of France is Paris.",
        "session1: The capital of Japan is Tokyo.",
        "session2: The capital of Kenya is Nairobi.",
        "session3: The capital of Peru is Lima.",
        "session9: failed with LookupError('no such country: Atlantis')",
        "4 of 5 requests succeeded, at most 3 ran at once",
    ] == out.splitlines()


def test_error_handling_reports_timeouts_agent_errors_and_missing_sessions() -> None:
    """Timeouts arrive as the built-in TimeoutError (async, per model call and sync),
    a tool's error arrives unchanged after the event before it, and a missing session
    raises SessionNotFoundError."""
    out = _run("error_handling.py")
    assert [
        "timeout: TimeoutError: The run took longer than its timeout of 0.2 s and was "
        "cancelled.",
        "model call timeout: TimeoutError: The model call took longer than "
        "RunConfig.model_call_timeout allows.",
        "agent error after 1 event(s): ValueError: card declined for amount 42",
        "events stored: 2 (the user message and the tool call)",
        "missing session: Session not found: no-such-session",
        "sync timeout: TimeoutError",
    ] == out.splitlines()


# ---- Gemini examples, run against the fake Gemini server's command line -------------------

GEMINI_ENV_VARS = ("GOOGLE_API_KEY", "GEMINI_API_KEY", "GOOGLE_GEMINI_BASE_URL")


@pytest.fixture(scope="module")
def fake_gemini_url() -> Iterator[str]:
    """``python -m trio_adk.testing.fake_gemini --port 0`` in a subprocess (built-in
    responder); yields the base URL it prints first, then stops it with Ctrl-C."""
    process = subprocess.Popen(
        [sys.executable, "-m", "trio_adk.testing.fake_gemini", "--port", "0"], cwd=ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), url
        yield url
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


def _run_gemini(name: str, base_url: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in GEMINI_ENV_VARS}
    if base_url is not None:
        env["GOOGLE_GEMINI_BASE_URL"] = base_url
    return subprocess.run([sys.executable, str(ROOT / "examples" / name)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_gemini_quickstart_calls_the_tool_and_answers(fake_gemini_url: str) -> None:
    """``gemini_quickstart.py`` (``model="gemini-2.0-flash"``, settings from the
    environment) calls the tool the question names and answers from its result."""
    result = _run_gemini("gemini_quickstart.py", fake_gemini_url)
    assert 0 == result.returncode, result.stderr
    assert [
        "you> Please use get_weather for Paris.",
        "[weather_agent] calls get_weather({'city': 'Paris'})",
        "[weather_agent] get_weather returned {'city': 'Paris', 'report': 'sunny, 22 degrees'}",
        '[weather_agent] The get_weather tool returned {"city":"Paris","report":"sunny, 22 '
        'degrees"}.',
    ] == result.stdout.splitlines()


def test_gemini_streaming_prints_partials_then_the_final_reply(fake_gemini_url: str) -> None:
    """``gemini_streaming.py`` prints each SSE chunk as a partial event, then the whole
    reply once, and only the final reply is stored."""
    result = _run_gemini("gemini_streaming.py", fake_gemini_url)
    assert 0 == result.returncode, result.stderr
    assert [
        "you> a lighthouse keeper who collects clocks",
        "partial 1: 'You said: a '",
        "partial 2: 'lighthouse keeper who '",
        "partial 3: 'collects clocks'",
        "final: You said: a lighthouse keeper who collects clocks",
        "3 partial event(s) streamed; 2 event(s) stored (the message and the final reply)",
    ] == result.stdout.splitlines()


def test_gemini_multi_agent_transfers_to_the_sub_agent(fake_gemini_url: str) -> None:
    """``gemini_multi_agent.py``: the root agent calls ``transfer_to_agent`` and the
    booking agent answers in the same turn."""
    result = _run_gemini("gemini_multi_agent.py", fake_gemini_url)
    assert 0 == result.returncode, result.stderr
    lines = result.stdout.splitlines()
    assert [
        "you> I need a room for two nights. Please transfer_to_agent booking_agent.",
        "[front_desk] calls transfer_to_agent({'agent_name': 'booking_agent'})",
        "[front_desk] hands over to booking_agent",
    ] == lines[:3]
    assert 5 == len(lines)
    assert lines[3].startswith("[booking_agent] ")
    assert "authors in the session: user, front_desk, booking_agent" == lines[4]


@pytest.mark.parametrize(
    "name", ["gemini_quickstart.py", "gemini_streaming.py", "gemini_multi_agent.py"])
def test_gemini_examples_explain_missing_configuration(name: str) -> None:
    """Without GOOGLE_API_KEY, GEMINI_API_KEY or GOOGLE_GEMINI_BASE_URL each Gemini example
    exits with status 2 and says which variables to set."""
    result = _run_gemini(name, None)
    assert 2 == result.returncode
    assert "" == result.stdout
    for variable in GEMINI_ENV_VARS:
        assert variable in result.stderr


def test_trio_asyncio_recipe_calls_an_asyncio_library_from_a_trio_tool() -> None:
    """In a process of its own: importing trio-asyncio changes asyncio's loop policy."""
    assert ("tool: Oslo: sunny, read on asyncio's TrioEventLoop\n"
            "agent: It is sunny in Oslo.\n") == _run("trio_asyncio_tools.py")
