"""Property: interrupt a resumable invocation anywhere, resume it until it finishes, and
no tool execution is lost or duplicated beyond what the README promises.

Each example draws a model turn of parallel calls (ordinary tools and long-running
ones) and a list of interruptions: the consumer leaves after some events, or the run is
cancelled inside a tool (standing in for a crash there).  Every attempt after the first
uses a fresh session service on the same store (what another process sees), and
resumes by ``invocation_id`` or by answering the pending long-running calls.  Checked:

* a tool never runs for a call whose response is already stored (exactly once once
  stored), and never twice at the same time;
* every ordinary call ends with exactly one stored response, from a completed run of
  its tool (at least once);
* every long-running call gets exactly one answer, and the model's last request holds
  one response for every call;
* all of it happens in one invocation, and the model gives its final answer once.

Run against SQLite files and, when reachable, PostgreSQL.
"""

# The suite asserts `expected == actual`.

from __future__ import annotations

import itertools
from collections.abc import AsyncGenerator, Callable
from contextlib import aclosing
from pathlib import Path
from typing import Any

import attrs
import pytest
import trio
from google.genai import types
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pg_fixtures import pg_database, pg_url  # noqa: F401
from trio_adk import Agent, Runner
from trio_adk.apps import App, ResumabilityConfig
from trio_adk.events import Event
from trio_adk.models import BaseLlm, LlmRequest, LlmResponse
from trio_adk.sessions._base import BaseSessionService
from trio_adk.tools import FunctionTool, LongRunningFunctionTool, ToolContext

APP = "resume_prop"
USER = "u"
_sessions = itertools.count()


class PlanModel(BaseLlm):
    """Calls every tool of its plan at once, then answers "done" once all are answered."""

    model: str = "plan"
    plan: list[tuple[str, int]] = []
    finals: int = 0
    answered_in_final: list[str] = []  # tools whose responses the final request held

    async def generate_content_async(
        self, llm_request: LlmRequest, stream: bool = False
    ) -> AsyncGenerator[LlmResponse, None]:
        await trio.lowlevel.checkpoint()
        called = any(p.function_call for c in llm_request.contents for p in c.parts or ())
        if not called:
            parts = [types.Part(function_call=types.FunctionCall(name=name, args={"n": n}))
                     for name, n in self.plan]
            yield LlmResponse(content=types.Content(role="model", parts=parts))
            return
        self.finals += 1
        self.answered_in_final = [p.function_response.name or "" for c in llm_request.contents
                                  for p in c.parts or () if p.function_response]
        yield LlmResponse(content=types.Content(role="model", parts=[types.Part(text="done")]))


@attrs.define
class Ledger:
    """What the tools saw: completed runs per call id, and the interruption plan."""

    completed: list[str] = attrs.Factory(list)
    running: set[str] = attrs.Factory(set)
    violations: list[str] = attrs.Factory(list)
    cancel_in: set[int] = attrs.Factory(set)  # tool runs (by start order) to cancel in
    starts: int = 0
    scope: trio.CancelScope | None = None

    async def run(self, tool_context: ToolContext, result: Any) -> Any:
        call_id = tool_context.function_call_id or ""
        stored = {r.id for e in tool_context.session.events
                  for r in e.get_function_responses()}
        if call_id in stored:
            self.violations.append(f"{call_id} ran with its response already stored")
        if call_id in self.running:
            self.violations.append(f"{call_id} ran twice at once")
        self.running.add(call_id)
        start = self.starts
        self.starts += 1
        try:
            if start in self.cancel_in and self.scope is not None:
                self.scope.cancel()  # a crash inside the tool
            await trio.lowlevel.checkpoint()
        finally:
            self.running.discard(call_id)
        self.completed.append(call_id)
        return result


def build_app(model: PlanModel, ledger: Ledger) -> App:
    async def pay(n: int, tool_context: ToolContext) -> dict[str, Any]:
        """Pays n."""
        return await ledger.run(tool_context, {"paid": n})  # type: ignore[no-any-return]

    async def ticket(n: int, tool_context: ToolContext) -> None:
        """Opens ticket n; the answer comes later."""
        await ledger.run(tool_context, None)

    agent = Agent(name="root", model=model,
                  tools=[FunctionTool(pay), LongRunningFunctionTool(ticket)])
    return App(name=APP, root_agent=agent,
               resumability_config=ResumabilityConfig(is_resumable=True))


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[tuple[str, int]], list[Any], list[bool]]:
    ordinary = draw(st.integers(0, 3))
    waiting = draw(st.integers(0 if ordinary else 1, 2))
    plan = [("pay", i) for i in range(ordinary)] + [("ticket", i) for i in range(waiting)]
    plan = draw(st.permutations(plan))
    stops = draw(st.lists(st.one_of(
        st.tuples(st.just("leave"), st.integers(0, 4)),
        st.tuples(st.just("crash_in_tool"), st.integers(0, 5))), max_size=5))
    # When long-running calls are pending: answer them all at once, or one at a time.
    answer_all = draw(st.lists(st.booleans(), min_size=1, max_size=6))
    return plan, stops, answer_all


def pending_answers(events: list[Event], all_at_once: bool) -> types.Content | None:
    """The client's answers to long-running calls of the stored history still unanswered."""
    answered = {r.id for e in events for r in e.get_function_responses() if e.author == "user"}
    waiting = [c for e in events for c in e.get_function_calls()
               if c.id in (e.long_running_tool_ids or ()) and c.id not in answered]
    if not waiting:
        return None
    chosen = waiting if all_at_once else waiting[:1]
    return types.Content(role="user", parts=[types.Part(function_response=types.FunctionResponse(
        id=c.id, name=c.name, response={"answer": c.id})) for c in chosen])


async def drive(factory: Callable[[], BaseSessionService],
                scenario: tuple[list[tuple[str, int]], list[Any], list[bool]]) -> None:
    plan, stops, answer_all = scenario
    session_id = f"s{next(_sessions)}"
    model = PlanModel(plan=plan)
    ledger = Ledger()
    setup = factory()
    await setup.create_session(app_name=APP, user_id=USER, session_id=session_id)
    await setup.close()
    message: types.Content | None = types.Content(role="user",
                                                  parts=[types.Part(text="go")])
    invocation: str | None = None
    stops = list(stops)
    answers = itertools.cycle(answer_all)
    for _attempt in range(40):
        service = factory()
        runner = Runner(app=build_app(model, ledger), session_service=service)
        stop = stops.pop(0) if stops else None
        leave_after = stop[1] if stop and stop[0] == "leave" else None
        ledger.cancel_in = {ledger.starts + stop[1]} if stop and stop[0] == "crash_in_tool" \
            else set()
        try:
            with trio.CancelScope() as scope:
                ledger.scope = scope
                async with aclosing(runner.run_async(
                        user_id=USER, session_id=session_id, invocation_id=invocation,
                        new_message=message)) as events:
                    taken = 0
                    async for _event in events:
                        taken += 1
                        if leave_after is not None and taken > leave_after:
                            break
        finally:
            await runner.close()
            await service.close()
        checker = factory()
        session = await checker.get_session(app_name=APP, user_id=USER, session_id=session_id)
        await checker.close()
        assert session is not None
        stored = session.events
        if invocation is None and stored:
            invocation = stored[0].invocation_id
        if any(e.content and e.content.parts and e.content.parts[0].text == "done"
               for e in stored):
            break
        message = pending_answers(stored, next(answers))
    else:
        pytest.fail("the invocation never finished")

    assert [] == ledger.violations
    assert {invocation} == {e.invocation_id for e in stored}
    assert 1 == sum(1 for e in stored if e.content and e.content.parts
                    and e.content.parts[0].text == "done")
    calls = [c for e in stored for c in e.get_function_calls()]
    assert sorted(n for _, n in plan) == sorted(int(c.args["n"]) for c in calls)
    by_agent = [r.id for e in stored if e.author != "user" for r in e.get_function_responses()]
    by_user = [r.id for e in stored if e.author == "user" for r in e.get_function_responses()]
    ordinary = {c.id for c in calls if c.name == "pay"}
    waiting = {c.id for c in calls if c.name == "ticket"}
    assert sorted(ordinary) == sorted(by_agent)  # one response per ordinary call
    assert sorted(waiting) == sorted(by_user)  # one answer per long-running call
    assert ordinary <= set(ledger.completed)  # each from a completed run of its tool
    # The model answered once, seeing one response for every call.
    assert 1 == model.finals
    assert sorted(name for name, _ in plan) == sorted(model.answered_in_final)


_SETTINGS: dict[str, Any] = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
}


@settings(max_examples=60, **_SETTINGS)
@given(scenario=scenarios())
async def test_interrupted_invocations_resume_on_sqlite(
        tmp_path: Path, scenario: tuple[list[tuple[str, int]], list[Any], list[bool]]) -> None:
    from trio_adk.sessions import SqliteSessionService

    path = str(tmp_path / "resume.db")
    await drive(lambda: SqliteSessionService(path), scenario)


@settings(max_examples=25, **_SETTINGS)
@given(scenario=scenarios())
async def test_interrupted_invocations_resume_on_postgresql(
        pg_url: str,  # noqa: F811
        scenario: tuple[list[tuple[str, int]], list[Any], list[bool]]) -> None:
    from trio_adk.sessions import DatabaseSessionService

    await drive(lambda: DatabaseSessionService(pg_url), scenario)
