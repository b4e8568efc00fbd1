"""``trio-adk api_server`` drains on SIGTERM (a real process, a real signal): new requests get
503 while a run in flight finishes and its client gets the whole stream; a run that outlasts
``--drain_timeout`` is cancelled with its cleanup; the exit status is 143.

The agent's tool waits for a file the test writes, and writes one in its ``finally``, so the
test proves the order of events, not durations."""

from __future__ import annotations

import json
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import attrs
import httpx
import pytest
import trio

from test_server_support import user_message

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")]

AGENT_PY = """import os
from pathlib import Path

import trio

from trio_adk import Agent
from trio_adk.testing import ScriptedModel, chunks, function_call

GATE = Path(os.environ["TEST_GATE_DIR"])


async def wait_for_gate() -> dict:
    \"\"\"Wait until the test opens the gate.\"\"\"
    (GATE / "started").write_text("")
    try:
        while not (GATE / "open").exists():
            await trio.sleep(0.01)
    finally:
        (GATE / "cleaned_up").write_text("")
    return {"status": "through"}


root_agent = Agent(name="gated", tools=[wait_for_gate], model=ScriptedModel(
    replies=[function_call("wait_for_gate"), chunks(["all ", "done"])]))
"""

RUN = {"appName": "gated", "userId": "u", "sessionId": "s1", "newMessage": user_message("go")}


@attrs.define
class Server:
    process: trio.Process
    url: str
    gate: Path
    stderr: list[str]


@asynccontextmanager
async def api_server(tmp_path: Path, *options: str) -> AsyncIterator[Server]:
    """``trio-adk api_server`` over the gated agent, in memory, on any port."""
    (tmp_path / "agents" / "gated").mkdir(parents=True)
    (tmp_path / "agents" / "gated" / "agent.py").write_text(AGENT_PY)
    (tmp_path / "agents" / "gated" / "__init__.py").write_text("from . import agent\n")
    gate = tmp_path / "gate"
    gate.mkdir()
    env = {**os.environ, "TEST_GATE_DIR": str(gate)}
    process = await trio.lowlevel.open_process(
        [sys.executable, "-m", "trio_adk", "api_server", "--port", "0", "--in_memory",
         *options, str(tmp_path / "agents")], env=env, stderr=-1)
    stderr: list[str] = []
    try:
        assert process.stderr is not None
        buffered = b""
        url = None
        while url is None:
            chunk = await process.stderr.receive_some()
            assert chunk, b"".join([buffered])
            buffered += chunk
            found = re.search(rb"serving (http://[\d.]+:\d+)", buffered)
            if found:
                url = found.group(1).decode()
        stderr.append(buffered.decode())

        async def collect() -> None:
            assert process.stderr is not None
            async for data in process.stderr:
                stderr.append(data.decode())

        async with trio.open_nursery() as nursery:
            nursery.start_soon(collect)
            yield Server(process, url, gate, stderr)
    finally:
        with trio.CancelScope(shield=True):
            if process.returncode is None:
                process.kill()
                await process.wait()
            if process.stderr is not None:
                await process.stderr.aclose()


async def _until_exists(path: Path) -> None:
    """Wait for the agent's tool to write ``path`` (the tool runs after its call was sent)."""
    while not path.exists():
        await trio.sleep(0.01)


async def _until_draining(client: httpx.AsyncClient) -> None:
    """Ask for /health until the answer is the drain's 503."""
    while (await client.get("/health")).status_code != 503:
        await trio.sleep(0.01)


async def test_sigterm_lets_the_run_in_flight_finish(tmp_path: Path) -> None:
    """SIGTERM while the tool waits: /health turns 503, the gate opens, the client gets the
    rest of the stream, then the process exits 143."""
    async with api_server(tmp_path) as server, \
            httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        await client.post("/apps/gated/users/u/sessions", json={"sessionId": "s1"})
        async with client.stream("POST", "/run_sse", json=RUN) as response:
            lines = response.aiter_lines()
            async for line in lines:
                if line.startswith("data: "):
                    break
            await _until_exists(server.gate / "started")
            server.process.send_signal(signal.SIGTERM)
            async with httpx.AsyncClient(base_url=server.url, timeout=30) as other:
                await _until_draining(other)
                refused = await other.post("/apps/gated/users/u/sessions", json={})
                assert {"detail": "The server is shutting down."} == refused.json()
            assert server.process.returncode is None
            (server.gate / "open").write_text("")
            rest = [line async for line in lines if line.startswith("data: ")]
        final = json.loads(rest[-1][len("data: "):])
        assert "all done" == final["content"]["parts"][0]["text"]
        assert 143 == await server.process.wait()
    err = "".join(server.stderr)
    assert "0 cancelled at the deadline" in err, err
    assert "Terminated." == err.strip().splitlines()[-1]
    assert "Traceback" not in err


async def test_sigterm_cancels_what_outlasts_the_drain_timeout(tmp_path: Path) -> None:
    """A tool that never ends is cancelled after --drain_timeout: its cleanup ran, the typed
    stream's last frame says Cancelled, and the process exits 143."""
    async with api_server(tmp_path, "--drain_timeout", "0.2") as server, \
            httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        await client.post("/apps/gated/users/u/sessions", json={"sessionId": "s1"})
        async with client.stream("POST", "/run_sse?typed_events=true", json=RUN) as response:
            lines = response.aiter_lines()
            async for line in lines:
                if line.startswith("data: "):
                    break
            await _until_exists(server.gate / "started")
            server.process.send_signal(signal.SIGTERM)
            rest = [line async for line in lines if line]
        assert "event: error" == rest[-2]
        assert "Cancelled" == json.loads(rest[-1][len("data: "):])["type"]
        assert 143 == await server.process.wait()
    assert (server.gate / "cleaned_up").exists()
    assert not (server.gate / "open").exists()
    err = "".join(server.stderr)
    assert "1 cancelled at the deadline" in err, err
    assert "Terminated." == err.strip().splitlines()[-1]


def test_auth_options_are_checked_before_serving(capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path) -> None:
    """Usage errors (status 2): --strict_user without --auth, bearer without tokens; a bad
    token file is named, its content never shown."""
    from trio_adk.cli import main

    monkeypatch.delenv("TRIO_ADK_AUTH_TOKENS", raising=False)
    assert 2 == main(["api_server", "--strict_user", str(tmp_path)])
    assert "--strict_user needs --auth bearer or --auth header" in capsys.readouterr().err
    assert 2 == main(["api_server", "--auth", "bearer", str(tmp_path)])
    assert "TRIO_ADK_AUTH_TOKENS is not set" in capsys.readouterr().err
    tokens = tmp_path / "tokens"
    tokens.write_text(" :very-secret\n")
    assert 2 == main(["api_server", "--auth", "bearer", "--auth_tokens_file", str(tokens),
                      str(tmp_path)])
    err = capsys.readouterr().err
    assert "entry 1 has an invalid user id" in err
    assert "very-secret" not in err


async def test_bearer_strict_process(tmp_path: Path) -> None:
    """``--auth bearer --strict_user`` with a token file: 401 without the token, 403 for
    another user, 200 for the token's user; the token is not in the server's output."""
    tokens = tmp_path / "tokens.txt"
    tokens.write_text("u:s3cret-token-for-u\n")
    async with api_server(tmp_path, "--auth", "bearer", "--auth_tokens_file", str(tokens),
                          "--strict_user") as server, \
            httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        assert 401 == (await client.get("/apps/gated/users/u/sessions")).status_code
        good = {"authorization": "Bearer s3cret-token-for-u"}
        assert 403 == (await client.get("/apps/gated/users/v/sessions",
                                        headers=good)).status_code
        assert 200 == (await client.get("/apps/gated/users/u/sessions",
                                        headers=good)).status_code
        server.process.send_signal(signal.SIGINT)
        assert 130 == await server.process.wait()
    err = "".join(server.stderr)
    assert "auth: <BearerAuth 1 token(s)>, strict users" in err
    assert "s3cret" not in err
