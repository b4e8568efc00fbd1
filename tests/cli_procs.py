"""``trio-adk`` server commands run as real processes, for the CLI tests."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from helpers import serve_in_thread
from trio_adk.testing import FakeGeminiServer

ECHO_AGENT_PY = """from trio_adk import Agent
root_agent = Agent(name="echo", model="gemini-2.0-flash", instruction="Echo.")
"""


def write_echo_agent(agents: Path) -> Path:
    """An agents folder holding the app ``echo`` (a Gemini agent); returns its folder."""
    (agents / "echo").mkdir(parents=True)
    (agents / "echo" / "agent.py").write_text(ECHO_AGENT_PY)
    (agents / "echo" / "__init__.py").write_text("from . import agent\n")
    return agents / "echo"


@contextmanager
def fake_gemini_env() -> Iterator[dict[str, str]]:
    """A fake Gemini server (built-in responder) on a background thread; yields this
    process's environment pointed at it."""
    with serve_in_thread(FakeGeminiServer()) as url:
        yield {**os.environ, "GOOGLE_GEMINI_BASE_URL": url, "GOOGLE_API_KEY": "k"}


@contextmanager
def serving_process(*args: str, env: dict[str, str],
                    announce: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``python -m trio_adk *args``; yields the process and the URL its stderr announces
    (group 1 of the regular expression ``announce``).  Killed at the end if still running."""
    process = subprocess.Popen([sys.executable, "-m", "trio_adk", *args], env=env,
                               stderr=subprocess.PIPE, text=True)
    try:
        assert process.stderr is not None
        url = None
        for line in process.stderr:
            found = re.search(announce, line)
            if found:
                url = found.group(1)
                break
        assert url is not None
        yield process, url
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=30)


def assert_ctrl_c_exits_130(process: subprocess.Popen[str]) -> None:
    """Ctrl-C ends ``process`` with status 130 and a one-line "Interrupted.", no traceback."""
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    assert 130 == process.returncode, err
    assert "Interrupted." == err.strip().splitlines()[-1]
    assert "Traceback" not in err
