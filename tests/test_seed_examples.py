"""The seven usage examples of the project spec run verbatim (``google.adk`` renamed to
``trio_adk``), each in a subprocess as a user would run it, against the fake Gemini server.

The examples live in ``examples/seed/``; the first ends with a top-level ``await``, so it
runs compiled with top-level await allowed, under asyncio, as ``python -m asyncio`` does.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from helpers import serve_in_thread
from trio_adk.testing import FakeGeminiServer, gemini_text

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "examples" / "seed"

# Runs a file whose top level may `await`, as `python -m asyncio` runs what is typed in.
TOP_LEVEL_AWAIT = """
import ast, asyncio, sys

path = sys.argv[1]
with open(path, encoding="utf-8") as file:
    code = compile(file.read(), path, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
namespace = {"__name__": "__main__", "__file__": path}


async def main():
    result = eval(code, namespace)
    if result is not None:  # the code awaits at top level: a coroutine
        await result


asyncio.run(main())
"""

# Runs a script with every trio run on a clock 1000 times faster than real time, so the
# 30 s timeout of the error-handling example passes in 30 ms.
FAST_CLOCK = """
import runpy, sys

import trio
import trio.testing

real_run = trio.run
real_guest_run = trio.lowlevel.start_guest_run


def fast_run(*args, **kwargs):
    return real_run(*args, clock=trio.testing.MockClock(rate=1000), **kwargs)


def fast_guest_run(*args, **kwargs):
    return real_guest_run(*args, clock=trio.testing.MockClock(rate=1000), **kwargs)


trio.run = fast_run
trio.lowlevel.start_guest_run = fast_guest_run  # sync run() hosts trio on asyncio
runpy.run_path(sys.argv[1], run_name="__main__")
"""


@pytest.fixture
def server() -> FakeGeminiServer:
    """The fake Gemini server with its built-in responder (it answers "You said: ...")."""
    return FakeGeminiServer()


@pytest.fixture
def base_url(server: FakeGeminiServer) -> Iterator[str]:
    with serve_in_thread(server) as url:
        yield url


def run_example(name: str, base_url: str, *harness: str) -> str:
    """Run ``examples/seed/<name>`` (through ``python -c <harness>`` if one is given)
    against the fake server; returns its stdout after checking it succeeded."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("GOOGLE_API_KEY", "GEMINI_API_KEY", "GOOGLE_GEMINI_BASE_URL")}
    env["GOOGLE_GEMINI_BASE_URL"] = base_url
    result = subprocess.run([sys.executable, *harness, str(SEED / name)], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=120)
    assert 0 == result.returncode, result.stderr
    assert "" == result.stderr
    return result.stdout


def test_the_examples_are_the_specs_with_trio_adk_imports() -> None:
    """Seven examples, each importing from trio_adk and never from google.adk."""
    names = sorted(path.name for path in SEED.glob("*.py"))
    assert 7 == len(names)
    for name in names:
        source = (SEED / name).read_text()
        assert "google.adk" not in source
        assert "from trio_adk" in source


def test_1_basic_synchronous_execution(base_url: str, server: FakeGeminiServer) -> None:
    """``for event in runner.run(user_id=..., session_id=..., new_message=...)`` then a
    top-level ``await runner.close()``."""
    out = run_example("01_basic_sync.py", base_url, "-c", TOP_LEVEL_AWAIT)
    assert "You said: Hello, how can you help me?" in out
    assert 1 == len(server.requests)


def test_2_asynchronous_execution(base_url: str) -> None:
    out = run_example("02_async_execution.py", base_url)
    assert "You said: What's the weather like?" in out


def test_3_live_streaming_execution(base_url: str, server: FakeGeminiServer) -> None:
    """``for chunk in runner.run_live(agent, input_text=...)`` prints the reply as it
    streams (one SSE request), then the plain ``runner.close()`` closes."""
    out = run_example("03_live_streaming.py", base_url)
    assert "You said: Tell me a story" == out
    assert ["streamGenerateContent"] == [r.kind for r in server.requests]


def test_4_in_memory_runner_for_testing(base_url: str) -> None:
    assert "You said: Test input\n" == run_example("04_in_memory_testing.py", base_url)


def test_5_context_manager_pattern(base_url: str) -> None:
    assert "You said: What can you do?\n" == run_example("05_context_manager.py", base_url)


def test_6_batch_processing(base_url: str, server: FakeGeminiServer) -> None:
    """The example prints nothing: the three inputs reached the model, in order, each in
    a conversation of its own."""
    assert "" == run_example("06_batch_processing.py", base_url)
    assert [["Summarize this text..."], ["Translate this to French..."],
            ["Analyze this data..."]] == [r.texts() for r in server.requests]


def test_7_error_handling_prints_the_response(base_url: str) -> None:
    assert "You said: Process this request\n" == run_example("07_error_handling.py", base_url)


def test_7_error_handling_times_out() -> None:
    """With a model slower than the example's ``timeout=30``, it takes the TimeoutError
    branch (30 s pass in 30 ms: the example's trio runs use a fast clock)."""
    server = FakeGeminiServer([gemini_text("too late", delay=10)])
    with serve_in_thread(server) as url:
        out = run_example("07_error_handling.py", url, "-c", FAST_CLOCK)
    assert "Agent execution timed out\n" == out
