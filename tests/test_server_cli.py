"""``trio-adk api_server`` as a user runs it: a real process over an agents folder written by
the test, the model played by a fake Gemini server, Ctrl-C ending it with status 130."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx
import pytest

from cli_procs import assert_ctrl_c_exits_130, fake_gemini_env, serving_process, write_echo_agent
from test_server_support import sse_events, user_message


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_api_server_serves_run_sse_and_ctrl_c_exits_130(tmp_path: Path) -> None:
    write_echo_agent(tmp_path)
    with fake_gemini_env() as env, serving_process(
            "api_server", "--port", "0", "--session_service_uri", "memory://",
            "--artifact_service_uri", "memory://", str(tmp_path), env=env,
            announce=r"serving (http://[\d.]+:\d+)") as (process, url):
        with httpx.Client(base_url=url, timeout=30) as client:
            assert 200 == client.post("/apps/echo/users/u/sessions",
                                      json={"sessionId": "s1"}).status_code
            response = client.post("/run_sse", json={
                "appName": "echo", "userId": "u", "sessionId": "s1",
                "newMessage": user_message("hello"), "streaming": True})
        frames = sse_events(response.text)
        assert "You said: hello" == frames[-1]["content"]["parts"][0]["text"]
        assert_ctrl_c_exits_130(process)
