"""ADK's own HTTP client judges our server: ``AdkWebServerClient`` (google-adk 2.13's
conformance client, in its own interpreter) against ``trio-adk api_server`` (a real process,
a test agent on the fake Gemini server).

Set TRIO_ADK_GOOGLE_ADK_PYTHON to an interpreter with google-adk 2.13 installed.
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import pytest
import trio

from trio_adk.testing import FakeGeminiServer

_ADK_ENV = "TRIO_ADK_GOOGLE_ADK_PYTHON"
_SCRIPT = Path(__file__).parent / "compat" / "adk_client.py"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not os.environ.get(_ADK_ENV),
                       reason=f"{_ADK_ENV} is not set (an interpreter with google-adk 2.13)"),
]

AGENT_PY = """from trio_adk import Agent
root_agent = Agent(name="echo", model="gemini-2.0-flash", instruction="Echo.")
"""


async def _judge(url: str) -> dict[str, Any]:
    done = await trio.run_process([os.environ[_ADK_ENV], str(_SCRIPT), url, "echo"],
                                  capture_stdout=True, capture_stderr=True, check=False)
    assert 0 == done.returncode, done.stderr.decode()[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.decode().strip().splitlines()[-1])
    return result


async def test_adk_web_server_client_against_trio_adk_api_server(tmp_path: Path) -> None:
    """Every answer parses into ADK's types, with ADK's shapes: version, apps, session
    create/get/update/list/delete (404 after), /run_sse with and without streaming."""
    (tmp_path / "echo").mkdir()
    (tmp_path / "echo" / "agent.py").write_text(AGENT_PY)
    (tmp_path / "echo" / "__init__.py").write_text("from . import agent\n")
    async with FakeGeminiServer() as gemini:
        env = {**os.environ, "GOOGLE_GEMINI_BASE_URL": gemini.base_url, "GOOGLE_API_KEY": "k"}
        process = await trio.lowlevel.open_process(
            [sys.executable, "-m", "trio_adk", "api_server", "--port", "0", "--in_memory",
             str(tmp_path)], env=env, stderr=-1)
        try:
            assert process.stderr is not None
            seen = b""
            while (found := re.search(rb"serving (http://[\d.]+:\d+)", seen)) is None:
                chunk = await process.stderr.receive_some()
                assert chunk, seen.decode()
                seen += chunk
            result = await _judge(found.group(1).decode())
        finally:
            process.kill()
            with trio.CancelScope(shield=True):
                await process.wait()
                if process.stderr is not None:
                    await process.stderr.aclose()
    assert ["language", "language_version", "version"] == result["version_keys"]
    assert ["echo"] == result["apps"]
    assert {"app_name": "echo", "user_id": "judge", "state": {"k": "v"}, "events": 0,
            "last_update_time": True} == result["created"]
    assert result["fetched_same_id"]
    assert {"k": "v", "k2": 2} == result["updated_state"]
    final = {"author": "echo", "partial": False, "text": "You said: hello",
             "invocation_id": True, "id": True, "timestamp": True}
    assert [final] == result["run_sse_streaming_False"]
    streamed = result["run_sse_streaming_True"]
    assert final == streamed[-1]
    assert all(event["partial"] for event in streamed[:-1])
    assert "You said: hello" == "".join(event["text"] for event in streamed[:-1])
    assert ["user", "user", "echo", "user", "echo"] == result["stored_authors"]
    assert [True] == result["listed_ids"]
    assert 404 == result["after_delete"]
