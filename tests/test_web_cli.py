"""``trio-adk web`` as a user runs it: a real process over an agents folder, the dev UI
bundle from --ui_dir, the model played by a fake Gemini server, spans reaching the trace
view through the process's own tracer provider, Ctrl-C ending it with status 130."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
from importlib import metadata

import httpx
import pytest

from cli_procs import assert_ctrl_c_exits_130, fake_gemini_env, serving_process, write_echo_agent
from test_server_support import sse_events, user_message


def _agents(tmp_path: pathlib.Path) -> pathlib.Path:
    agents = tmp_path / "agents"
    (write_echo_agent(agents) / "README.md").write_text("# Echo\n")
    return agents


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_web_serves_the_ui_and_traces_and_ctrl_c_exits_130(tmp_path: pathlib.Path) -> None:
    ui = tmp_path / "browser"
    ui.mkdir()
    (ui / "index.html").write_text("<!doctype html><title>ui</title>")
    agents = _agents(tmp_path)
    with fake_gemini_env() as env, serving_process(
            "web", "--port", "0", "--in_memory", "--ui_dir", str(ui), str(agents), env=env,
            announce=r"the dev UI is at (http://[\d.]+:\d+)/dev-ui/") as (process, url):
        with httpx.Client(base_url=url, timeout=30) as client:
            assert "/dev-ui/" == client.get("/").headers["location"]
            assert "<title>ui</title>" in client.get("/dev-ui/").text
            assert "# Echo\n" == client.get("/dev/apps/echo/build_graph").json()["readme"]
            client.post("/apps/echo/users/u/sessions", json={"sessionId": "s1"})
            response = client.post("/run_sse", json={
                "appName": "echo", "userId": "u", "sessionId": "s1",
                "newMessage": user_message("hello"), "streaming": True})
            [*_, last] = sse_events(response.text)
            assert "You said: hello" == last["content"]["parts"][0]["text"]
            spans = client.get("/dev/apps/echo/debug/trace/session/s1").json()
            assert "invoke_workflow echo" in {span["name"] for span in spans}
            trace = client.get(f"/dev/apps/echo/debug/trace/{last['id']}").json()
            assert last["id"] == trace["gcp.vertex.agent.event_id"]
            assert 501 == client.get("/dev/apps/echo/eval_sets").status_code
        assert_ctrl_c_exits_130(process)


def _has_google_adk() -> bool:
    try:
        metadata.distribution("google-adk")
    except metadata.PackageNotFoundError:
        return False
    return True


@pytest.mark.skipif(_has_google_adk(), reason="google-adk is installed here: the UI is found")
def test_web_without_a_ui_says_how_to_get_it(tmp_path: pathlib.Path) -> None:
    env = {key: value for key, value in os.environ.items()
           if key != "TRIO_ADK_GOOGLE_ADK_PYTHON"}
    done = subprocess.run([sys.executable, "-m", "trio_adk", "web", str(_agents(tmp_path))],
                          env=env, capture_output=True, text=True, timeout=60, check=False)
    assert 1 == done.returncode
    [line] = done.stderr.splitlines()
    assert line.startswith("Error: ADK's dev UI was not found: pip install 'trio-adk[web]'")
