"""Agents that report how their runs ended, for the cancellation and caller tests.

They sleep with anyio, so the same agents serve trio tests and asyncio callers (where trio
runs as a guest of the caller's loop).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

import anyio
from pydantic import Field

from helpers import USER, model_text, user_text
from trio_adk import Runner
from trio_adk.agents import BaseAgent, InvocationContext
from trio_adk.events import Event


class Probe:
    """What the agents of a test did, for the test to check."""

    def __init__(self) -> None:
        self.cancelled: list[str] = []  # session ids whose run reached its cleanup
        self.cleaned: list[str] = []  # session ids whose cleanup finished
        self.raised: list[BaseException] = []
        self.background_started = False
        self.background_cleaned = False
        self.seen: list[Any] = []


class Worker(BaseAgent):
    """Yields ``count`` events ``gap`` seconds apart, then works ``tail`` seconds.

    Its ``finally`` records the cancellation, sleeps ``cleanup`` seconds shielded (per
    session id when a dict) and records that the cleanup finished.
    """

    count: int = 3
    gap: float = 0.0
    tail: float = 0.0
    cleanup: float | dict[str, float] = 0.2
    probe: Probe = Field(default_factory=Probe)

    async def _run_async_impl(  # type: ignore[override]
        self, ctx: InvocationContext
    ) -> AsyncGenerator[Event, None]:
        session_id = ctx.session.id
        finished = False
        try:
            for i in range(self.count):
                if i and self.gap:
                    await anyio.sleep(self.gap)
                yield Event(author=self.name, invocation_id=ctx.invocation_id,
                            branch=ctx.branch, content=model_text(f"e{i}"))
            await anyio.sleep(self.tail)
            finished = True
        finally:
            if not finished:
                self.probe.cancelled.append(session_id)
                cleanup = self.cleanup
                if isinstance(cleanup, dict):
                    cleanup = cleanup[session_id]
                with anyio.CancelScope(shield=True):
                    await anyio.sleep(cleanup)
                self.probe.cleaned.append(session_id)


class Failing(BaseAgent):
    """Yields two events, then raises ValueError (recorded in the probe)."""

    probe: Probe = Field(default_factory=Probe)

    async def _run_async_impl(  # type: ignore[override]
        self, ctx: InvocationContext
    ) -> AsyncGenerator[Event, None]:
        for i in range(2):
            yield Event(author=self.name, invocation_id=ctx.invocation_id,
                        content=model_text(f"e{i}"))
        error = ValueError("agent broke")
        self.probe.raised.append(error)
        raise error


def start(runner: Runner, session_id: str = "s1",
          **kwargs: Any) -> AsyncGenerator[Event, None]:
    """The event stream of one turn on ``session_id``."""
    return runner.run_async(user_id=USER, session_id=session_id, new_message=user_text("go"),
                            **kwargs)
