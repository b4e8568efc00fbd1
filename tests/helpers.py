"""Shared helpers for the test suite."""

from __future__ import annotations

import os
import queue
import ssl
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Iterator
from contextlib import aclosing, contextmanager
from typing import Any

import trio
import trustme
from google.genai import types

from trio_adk import Runner
from trio_adk.agents import InvocationContext
from trio_adk.events import Event
from trio_adk.plugins import BasePlugin
from trio_adk.sessions import InMemorySessionService
from trio_adk.testing import FakeGeminiServer
from trio_adk.tools import BaseTool, BaseToolset

APP = "test_app"
USER = "user1"


def self_signed() -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """Server and client TLS contexts around a throwaway certificate authority."""
    authority = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1", "localhost").configure_cert(server_context)
    client_context = ssl.create_default_context()
    authority.configure_trust(client_context)
    return server_context, client_context


def user_text(text: str) -> types.Content:
    """A user message with one text part."""
    return types.Content(role="user", parts=[types.Part(text=text)])


def texts(events: list[Event]) -> list[str]:
    """The text of each event that has some (joined per event)."""
    out = []
    for event in events:
        if event.content and event.content.parts:
            joined = "".join(p.text or "" for p in event.content.parts)
            if joined:
                out.append(joined)
    return out


async def collect(gen: AsyncGenerator[Event, None]) -> list[Event]:
    """Every event of a run, closing the generator properly."""
    async with aclosing(gen) as events:
        return [e async for e in events]


async def make_runner(agent: Any, *, session_id: str = "s1", plugins: Any = None,
                      **kwargs: Any) -> Runner:
    """A Runner over an in-memory session service with session ``session_id`` created."""
    service = InMemorySessionService()
    await service.create_session(app_name=APP, user_id=USER, session_id=session_id)
    return Runner(app_name=APP, agent=agent, session_service=service, plugins=plugins,
                  **kwargs)


async def run_text(runner: Runner, text: str, *, session_id: str = "s1",
                   **kwargs: Any) -> list[Event]:
    """Run one user turn and collect its events."""
    return await collect(runner.run_async(user_id=USER, session_id=session_id,
                                          new_message=user_text(text), **kwargs))


async def stored_events(runner: Runner, session_id: str = "s1") -> list[Event]:
    """The events the session service holds for the session."""
    session = await runner.session_service.get_session(app_name=APP, user_id=USER,
                                                       session_id=session_id)
    assert session is not None
    return session.events


async def aiter_list(items: list[Any]) -> AsyncIterator[Any]:
    for item in items:
        yield item


def socket_fds() -> set[str]:
    """The process's open sockets (``socket:[inode]``); empty where /proc is missing."""
    found: set[str] = set()
    try:
        names = os.listdir("/proc/self/fd")
    except OSError:  # not Linux: no socket check
        return found
    for name in names:
        try:
            target = os.readlink(f"/proc/self/fd/{name}")
        except OSError:
            continue
        if target.startswith("socket:"):
            found.add(target)
    return found


def model_text(value: str) -> types.Content:
    """Agent-side content with one text part."""
    return types.Content(role="model", parts=[types.Part(text=value)])


class RunLog(BasePlugin):
    """Counts after_run callbacks and closes."""

    def __init__(self, name: str = "runlog") -> None:
        super().__init__(name=name)
        self.after_runs = 0
        self.closes = 0

    async def after_run_callback(self, *, invocation_context: InvocationContext) -> None:
        self.after_runs += 1

    async def close(self) -> None:
        self.closes += 1


class CountingToolset(BaseToolset):
    """A toolset with no tools that counts its closes."""

    def __init__(self) -> None:
        super().__init__()
        self.closes = 0

    async def get_tools(self, readonly_context: Any = None) -> list[BaseTool]:
        return []

    async def close(self) -> None:
        self.closes += 1


@contextmanager
def serve_in_thread(server: FakeGeminiServer, *, timeout: float = 30) -> Iterator[str]:
    """Serve ``server`` in a trio run on a background thread; yields its base URL.

    For tests whose caller is asyncio or sync code.  On exit the server is cancelled and
    the thread joined.  Read the server's records only after the block: until then the
    server belongs to that thread's trio run.
    """
    ready: queue.Queue[Any] = queue.Queue()

    async def serve() -> None:
        with trio.CancelScope() as scope:
            async with server:
                ready.put((trio.lowlevel.current_trio_token(), scope, server.base_url))
                await trio.sleep_forever()

    def main() -> None:
        try:
            trio.run(serve)
        except BaseException as exc:
            ready.put(exc)
            raise

    thread = threading.Thread(target=main, name="fake-gemini-thread", daemon=True)
    thread.start()
    try:
        got = ready.get(timeout=timeout)
        if isinstance(got, BaseException):
            raise got
        token, scope, base_url = got
        try:
            yield base_url
        finally:
            token.run_sync_soon(scope.cancel)
    finally:
        thread.join(timeout=timeout)
    assert not thread.is_alive()

