"""Every example runs offline and prints what it should."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
