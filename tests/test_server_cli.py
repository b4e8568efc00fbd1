"""``trio-adk api_server`` as a user runs it: a real process over an agents folder written by
the test, the model played by a fake Gemini server, Ctrl-C ending it with status 130."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest
import trio

from test_server_support import sse_events, user_message
from trio_adk.testing import FakeGeminiServer

AGENT_PY = """from trio_adk import Agent
root_agent = Agent(name="echo", model="gemini-2.0-flash", instruction="Echo.")
"""


def _fake_gemini(ready: list[str], stop: threading.Event) -> None:
    async def main() -> None:
        async with FakeGeminiServer() as server:
            ready.append(server.base_url)
            while not stop.is_set():
                await trio.sleep(0.05)

    trio.run(main)


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_api_server_serves_run_sse_and_ctrl_c_exits_130(tmp_path: Path) -> None:
    (tmp_path / "echo").mkdir()
    (tmp_path / "echo" / "agent.py").write_text(AGENT_PY)
    (tmp_path / "echo" / "__init__.py").write_text("from . import agent\n")
    ready: list[str] = []
    stop = threading.Event()
    gemini = threading.Thread(target=_fake_gemini, args=(ready, stop), name="fake-gemini")
    gemini.start()
    try:
        while not ready:
            stop.wait(0.05)
        env = {**os.environ, "GOOGLE_GEMINI_BASE_URL": ready[0], "GOOGLE_API_KEY": "k"}
        process = subprocess.Popen(
            [sys.executable, "-m", "trio_adk", "api_server", "--port", "0",
             "--session_service_uri", "memory://", "--artifact_service_uri", "memory://",
             str(tmp_path)], env=env, stderr=subprocess.PIPE, text=True)
        try:
            assert process.stderr is not None
            url = None
            for line in process.stderr:
                found = re.search(r"serving (http://[\d.]+:\d+)", line)
                if found:
                    url = found.group(1)
                    break
            assert url is not None
            with httpx.Client(base_url=url, timeout=30) as client:
                assert 200 == client.post("/apps/echo/users/u/sessions",
                                          json={"sessionId": "s1"}).status_code
                response = client.post("/run_sse", json={
                    "appName": "echo", "userId": "u", "sessionId": "s1",
                    "newMessage": user_message("hello"), "streaming": True})
            frames = sse_events(response.text)
            assert "You said: hello" == frames[-1]["content"]["parts"][0]["text"]
            process.send_signal(signal.SIGINT)
            _, err = process.communicate(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate(timeout=30)
        assert 130 == process.returncode, err
        assert "Interrupted." == err.strip().splitlines()[-1]
        assert "Traceback" not in err
    finally:
        stop.set()
        gemini.join()
