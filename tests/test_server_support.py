"""What the server tests share: an in-test agent loader and a server on a real loopback port.

The server runs inside the test's trio run (hypercorn's trio worker on 127.0.0.1, port 0)
and is shut down, with its runners closed, before the test ends.  Clients are real ones:
httpx's AsyncClient (on trio) and trio-websocket.
"""

from __future__ import annotations

import json
import pathlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import attrs
import httpx
import trio

from trio_adk.agents import BaseAgent
from trio_adk.artifacts import InMemoryArtifactService
from trio_adk.memory import InMemoryMemoryService
from trio_adk.server import ApiServer, Services, serve
from trio_adk.sessions import InMemorySessionService


@attrs.define
class DictLoader:
    """An ``AgentLoaderLike`` over agents built in the test (factories called once)."""

    agents: dict[str, BaseAgent | Callable[[], BaseAgent]]
    root: pathlib.Path = pathlib.Path("/nonexistent-agents")
    loaded: list[str] = attrs.Factory(list)

    def list_agents(self) -> list[str]:
        return sorted(self.agents)

    def load_agent(self, agent_name: str) -> BaseAgent:
        if agent_name not in self.agents:
            raise ValueError(f"Agent not found: {agent_name!r}.")
        self.loaded.append(agent_name)
        agent = self.agents[agent_name]
        if not isinstance(agent, BaseAgent):
            agent = self.agents[agent_name] = agent()
        return agent

    def agent_dir(self, agent_name: str) -> pathlib.Path:
        return self.root / agent_name

    def remove_agent_from_cache(self, agent_name: str) -> None:
        pass


def memory_services() -> Services:
    """In-memory session, artifact and memory services."""
    return Services(InMemorySessionService(), InMemoryArtifactService(),
                    InMemoryMemoryService())


@attrs.frozen
class Served:
    """A running server: the ``ApiServer``, its base URL and its port."""

    server: ApiServer
    url: str

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def client(self, **kwargs: Any) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.url, timeout=30, **kwargs)


@asynccontextmanager
async def running(agents: dict[str, Any], *, services: Services | None = None,
                  **options: Any) -> AsyncIterator[Served]:
    """Serve ``agents`` on 127.0.0.1 (any port) for the block; shut down and close after."""
    loader = options.pop("loader", None) or DictLoader(agents)
    async with ApiServer(agent_loader=loader, services=services or memory_services(),
                         bind_host="127.0.0.1", own_services=True, **options) as server:
        stop = trio.Event()
        async with trio.open_nursery() as nursery:
            urls = await nursery.start(partial(serve, server, host="127.0.0.1", port=0,
                                               shutdown_trigger=stop.wait))
            try:
                yield Served(server, urls[0])
            finally:
                stop.set()


def sse_events(body: str) -> list[dict[str, Any]]:
    """The JSON of each ``data:`` frame of an SSE body, checking ADK's framing on the way."""
    assert body.endswith("\n\n") or body == ""
    frames = body.split("\n\n")[:-1]
    out = []
    for frame in frames:
        assert frame.startswith("data: "), frame
        assert "\n" not in frame, frame
        out.append(json.loads(frame[len("data: "):]))
    return out


def user_message(text: str) -> dict[str, Any]:
    return {"role": "user", "parts": [{"text": text}]}


def test_sse_events_reads_adk_frames() -> None:
    """The frame reader takes ADK's framing (one ``data: <json>`` per blank-line frame)."""
    assert [{"a": 1}, {"b": 2}] == sse_events('data: {"a":1}\n\ndata: {"b":2}\n\n')
