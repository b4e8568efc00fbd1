"""Event compaction wired into runs: after an invocation (sliding window) and before a
model call (token threshold), stored but not yielded, bounded and cancellable."""

# The suite asserts `expected == actual`.

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from pathlib import Path

import pytest
import trio
from google.genai import types

from helpers import collect, user_text
from trio_adk import Agent, Runner
from trio_adk.apps import App, EventsCompactionConfig
from trio_adk.apps.llm_event_summarizer import LlmEventSummarizer
from trio_adk.models import BaseLlm, LlmRequest, LlmResponse
from trio_adk.sessions import InMemorySessionService, SqliteSessionService
from trio_adk.sessions._base import BaseSessionService
from trio_adk.testing import ScriptedModel

APP, USER, SESSION = "compacting", "u", "s"


def texts(contents: list[types.Content]) -> list[tuple[str | None, str | None]]:
    return [(c.role, c.parts[0].text if c.parts else None) for c in contents]


async def run_turns(runner: Runner, *messages: str) -> None:
    for message in messages:
        await collect(runner.run_async(user_id=USER, session_id=SESSION,
                                       new_message=user_text(message)))


@pytest.mark.parametrize("store", ["memory", "sqlite"])
async def test_a_summary_replaces_older_turns_in_the_next_request(
        store: str, tmp_path: Path) -> None:
    model = ScriptedModel(replies=["r1", "r2", "r3"])
    summarizer = ScriptedModel(replies=["SUMMARY of m1 and m2"])
    config = EventsCompactionConfig(compaction_interval=2, overlap_size=0,
                                    summarizer=LlmEventSummarizer(llm=summarizer))
    service: BaseSessionService = InMemorySessionService() if store == "memory" else \
        SqliteSessionService(str(tmp_path / "c.db"))
    await service.create_session(app_name=APP, user_id=USER, session_id=SESSION)
    runner = Runner(app=App(name=APP, root_agent=Agent(name="root", model=model),
                            events_compaction_config=config), session_service=service)
    yielded = []
    for message in ("m1", "m2"):
        yielded += await collect(runner.run_async(user_id=USER, session_id=SESSION,
                                                  new_message=user_text(message)))
    assert all(e.actions.compaction is None for e in yielded)  # stored, not yielded
    assert 1 == summarizer.calls

    await run_turns(runner, "m3")

    assert [("model", "SUMMARY of m1 and m2"), ("user", "m3")] == texts(
        model.requests[-1].contents)
    session = await service.get_session(app_name=APP, user_id=USER, session_id=SESSION)
    assert session is not None
    [summary] = [e for e in session.events if e.actions.compaction is not None]
    assert "user" == summary.author and summary.content is None
    await runner.close()
    await service.close()


class Stalling(BaseLlm):
    """A summarizer model that never answers; notes when it starts and is cancelled."""

    model: str = "stalling"
    notes: list[str] = []

    async def generate_content_async(
        self, llm_request: LlmRequest, stream: bool = False
    ) -> AsyncGenerator[LlmResponse, None]:
        self.notes.append("started")
        try:
            await trio.sleep_forever()
        except trio.Cancelled:
            self.notes.append("cancelled")
            raise
        yield LlmResponse()


async def test_a_summarizer_that_never_answers_is_given_up_on(
        autojump_clock: trio.testing.MockClock, caplog: pytest.LogCaptureFixture) -> None:
    """The run ends after the bound (the history stays whole), with a warning."""
    model = ScriptedModel(replies=["r1", "r2", "r3"])
    config = EventsCompactionConfig(compaction_interval=1, overlap_size=0,
                                    summarizer=LlmEventSummarizer(llm=Stalling()))
    service = InMemorySessionService()
    await service.create_session(app_name=APP, user_id=USER, session_id=SESSION)
    runner = Runner(app=App(name=APP, root_agent=Agent(name="root", model=model),
                            events_compaction_config=config), session_service=service)
    start = trio.current_time()
    await run_turns(runner, "m1")
    assert trio.current_time() - start >= 120
    assert "took longer than 120 s" in caplog.text
    await run_turns(runner, "m2")
    assert [("user", "m1"), ("model", "r1"), ("user", "m2")] == texts(
        model.requests[-1].contents)
    await runner.close()


async def test_leaving_the_run_cancels_its_compaction() -> None:
    """A consumer that stops waiting while the summary is being written cancels the
    summarizer with the run, and the run ends at once."""
    model = ScriptedModel(replies=["r1"])
    stalling = Stalling()
    config = EventsCompactionConfig(compaction_interval=1, overlap_size=0,
                                    summarizer=LlmEventSummarizer(llm=stalling))
    service = InMemorySessionService()
    await service.create_session(app_name=APP, user_id=USER, session_id=SESSION)
    runner = Runner(app=App(name=APP, root_agent=Agent(name="root", model=model),
                            events_compaction_config=config), session_service=service)
    async with aclosing(runner.run_async(user_id=USER, session_id=SESSION,
                                         new_message=user_text("m1"))) as events:
        assert "r1" == (await anext(events)).content.parts[0].text
        with trio.CancelScope() as waiting:
            async def stop_when_summarizing() -> None:
                while "started" not in stalling.notes:
                    await trio.sleep(0)
                waiting.cancel()

            async with trio.open_nursery() as nursery:
                nursery.start_soon(stop_when_summarizing)
                await anext(events)
    assert ["started", "cancelled"] == stalling.notes
    await runner.close()
