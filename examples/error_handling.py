"""Error handling: timeouts, agent errors and missing sessions.

* ``timeout=`` (seconds, the whole run) on ``run_async``/``run``: when it passes, the run
  is cancelled, its cleanup finishes, and the caller gets the built-in ``TimeoutError``.
* ``RunConfig(model_call_timeout=...)`` bounds each model call the same way.
* An error raised inside the agent (here by a tool) reaches the caller unchanged, after
  the events produced before it; those events are already in the session.
* A run on a session that does not exist raises ``SessionNotFoundError`` at once.

Runs offline: the "slow" model is a ScriptedModel whose reply takes 5 s.
"""

from __future__ import annotations

import trio
from google.genai import types

from trio_adk import Agent, Runner
from trio_adk.agents import RunConfig
from trio_adk.errors import SessionNotFoundError
from trio_adk.sessions import InMemorySessionService
from trio_adk.testing import ScriptedModel, function_call, text

APP = "errors_example"


def charge_card(amount: int) -> dict[str, str]:
    """Charge the customer's card (always declined in this example)."""
    raise ValueError(f"card declined for amount {amount}")


def user_says(words: str) -> types.Content:
    return types.Content(role="user", parts=[types.Part(text=words)])


async def make_runner(agent: Agent) -> Runner:
    runner = Runner(app_name=APP, agent=agent, session_service=InMemorySessionService())
    await runner.session_service.create_session(app_name=APP, user_id="u1", session_id="s1")
    return runner


async def whole_run_timeout() -> None:
    slow = Agent(name="slow_agent", model=ScriptedModel(replies=[text("late", delay=5)]))
    async with await make_runner(slow) as runner:
        try:
            async for _event in runner.run_async(user_id="u1", session_id="s1",
                                                 new_message=user_says("Hi"), timeout=0.2):
                pass
        except TimeoutError as exc:
            print(f"timeout: {type(exc).__name__}: {exc}")


async def model_call_timeout() -> None:
    slow = Agent(name="slow_agent", model=ScriptedModel(replies=[text("late", delay=5)]))
    config = RunConfig(model_call_timeout=0.2)
    async with await make_runner(slow) as runner:
        try:
            async for _event in runner.run_async(user_id="u1", session_id="s1",
                                                 new_message=user_says("Hi"),
                                                 run_config=config):
                pass
        except TimeoutError as exc:
            print(f"model call timeout: {type(exc).__name__}: {exc}")


async def agent_error() -> None:
    cashier = Agent(name="cashier", tools=[charge_card],
                    model=ScriptedModel(replies=[function_call("charge_card", {"amount": 42})]))
    async with await make_runner(cashier) as runner:
        received = 0
        try:
            async for _event in runner.run_async(user_id="u1", session_id="s1",
                                                 new_message=user_says("Pay 42")):
                received += 1
        except ValueError as exc:
            print(f"agent error after {received} event(s): {type(exc).__name__}: {exc}")
        session = await runner.session_service.get_session(app_name=APP, user_id="u1",
                                                           session_id="s1")
        assert session is not None
        print(f"events stored: {len(session.events)} (the user message and the tool call)")


async def missing_session() -> None:
    echo = Agent(name="echo_agent", model=ScriptedModel(replies=["unused"]))
    async with await make_runner(echo) as runner:
        try:
            async for _event in runner.run_async(user_id="u1", session_id="no-such-session",
                                                 new_message=user_says("Hi")):
                pass
        except SessionNotFoundError as exc:
            print(f"missing session: {str(exc).split(' (')[0]}")


def sync_timeout() -> None:
    slow = Agent(name="slow_agent", model=ScriptedModel(replies=[text("late", delay=5)]))
    runner = trio.run(make_runner, slow)
    with runner:
        try:
            for _event in runner.run(user_id="u1", session_id="s1",
                                     new_message=user_says("Hi"), timeout=0.2):
                pass
        except TimeoutError as exc:
            print(f"sync timeout: {type(exc).__name__}")


async def main() -> None:
    await whole_run_timeout()
    await model_call_timeout()
    await agent_error()
    await missing_session()


if __name__ == "__main__":
    trio.run(main)
    sync_timeout()
