"""A runner process running one resumable invocation (a child of tests/test_resume_kill.py).

Usage: python resume_child.py SESSION_URL LEDGER SESSION_ID WHO TICKET [INVOCATION_ID]

One ``Runner`` over SESSION_URL (``sqlite:////...`` or ``postgresql://...``; app
``resume_kill``, user ``u``; the session exists already) whose App is resumable runs
the message ``go`` on SESSION_ID, or, given INVOCATION_ID, resumes that invocation
(``run_async(invocation_id=...)``, no message), and exits 0.  With TICKET ``1``, the
model's second turn also calls a long-running tool, so the run ends paused.

The model is :class:`PlanModel` (deterministic, in process): its first turn calls
``pay(n=0)``, its second ``pay`` for n = 1, 2, 3 in parallel (and ``ticket(n=9)``), and
once both turns are answered it says ``done``.

Every fact goes to the LEDGER file as one line ``VERB CALL_ID N WHO`` written with
flush and fsync, so it survives a SIGKILL right after: ``model`` (a model request; CALL_ID
is the number of model turns with calls in the request, N the number of function
responses in it), ``start`` / ``done`` (a tool run began / finished its work), ``block``
(the process is about to block for ever), ``end`` (the run ended).

The environment variable RESUME_KILL_POINT makes the process block for ever (so the
parent can SIGKILL it there, after the ``block`` line):

* ``in_tool``: ``pay(n=2)`` after its ``start`` line, before it returns;
* ``after_done``: ``pay(n=2)`` after its ``done`` line, before its response is stored;
* ``before_tools``: in ``before_tool_callback`` of every call of the second turn (the
  model's function-call event is stored, no tool of the turn has started).
"""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Any

import trio
from google.genai import types

from trio_adk import Agent, Runner
from trio_adk.apps import App, ResumabilityConfig
from trio_adk.models import BaseLlm, LlmRequest, LlmResponse
from trio_adk.tools import BaseTool, FunctionTool, LongRunningFunctionTool, ToolContext

APP = "resume_kill"
USER = "u"
BLOCKING = 2  # the pay call that blocks at in_tool / after_done
KILL_POINTS = ("in_tool", "after_done", "before_tools")


def note(ledger: str, *words: object) -> None:
    """Append one line to the ledger, on disk before returning."""
    with open(ledger, "a") as file:
        file.write(" ".join(str(w) for w in words) + "\n")
        file.flush()
        os.fsync(file.fileno())


class PlanModel(BaseLlm):
    """Turn one calls pay(0); turn two pay(1..3) in parallel (and ticket(9)); then done."""

    model: str = "plan"
    ledger: str = ""
    who: str = ""
    ticket: bool = False

    async def generate_content_async(
        self, llm_request: LlmRequest, stream: bool = False
    ) -> AsyncGenerator[LlmResponse, None]:
        await trio.lowlevel.checkpoint()
        contents = llm_request.contents
        turns = sum(1 for c in contents if any(p.function_call for p in c.parts or ()))
        answers = sum(1 for c in contents for p in c.parts or () if p.function_response)
        note(self.ledger, "model", turns, answers, self.who)
        if turns < 2:
            plan = [("pay", 0)] if turns == 0 else [("pay", 1), ("pay", 2), ("pay", 3)]
            if turns == 1 and self.ticket:
                plan.append(("ticket", 9))
            parts = [types.Part(function_call=types.FunctionCall(name=name, args={"n": n}))
                     for name, n in plan]
            yield LlmResponse(content=types.Content(role="model", parts=parts))
            return
        yield LlmResponse(content=types.Content(role="model", parts=[types.Part(text="done")]))


def build_app(ledger: str, who: str, *, with_ticket: bool, kill_point: str = "") -> App:
    """The App of the child, and of the parent's resumes (with no kill point)."""

    async def block(call_id: str, n: int) -> None:
        note(ledger, "block", call_id, n, who)
        await trio.sleep_forever()

    async def pay(n: int, tool_context: ToolContext) -> dict[str, Any]:
        """Pays n."""
        call_id = tool_context.function_call_id or ""
        note(ledger, "start", call_id, n, who)
        if kill_point == "in_tool" and n == BLOCKING:
            await block(call_id, n)
        await trio.lowlevel.checkpoint()
        note(ledger, "done", call_id, n, who)
        if kill_point == "after_done" and n == BLOCKING:
            await block(call_id, n)
        return {"paid": n}

    async def ticket(n: int, tool_context: ToolContext) -> None:
        """Opens ticket n; the answer comes later."""
        call_id = tool_context.function_call_id or ""
        note(ledger, "start", call_id, n, who)
        await trio.lowlevel.checkpoint()
        note(ledger, "done", call_id, n, who)

    async def gate(tool: BaseTool, args: dict[str, Any],
                   tool_context: ToolContext) -> dict[str, Any] | None:
        if kill_point == "before_tools" and int(args.get("n", 0)) >= 1:
            await block(tool_context.function_call_id or "", int(args["n"]))
        return None

    agent = Agent(name="root", model=PlanModel(ledger=ledger, who=who, ticket=with_ticket),
                  tools=[FunctionTool(pay), LongRunningFunctionTool(ticket)],
                  before_tool_callback=gate)
    return App(name=APP, root_agent=agent,
               resumability_config=ResumabilityConfig(is_resumable=True))


async def main(url: str, ledger: str, session_id: str, who: str, with_ticket: bool,
               invocation_id: str | None) -> None:
    kill_point = os.environ.get("RESUME_KILL_POINT", "")
    assert kill_point in ("", *KILL_POINTS), kill_point
    app = build_app(ledger, who, with_ticket=with_ticket, kill_point=kill_point)
    async with Runner(app=app, session_service=url) as runner:
        message = None if invocation_id else types.Content(role="user",
                                                           parts=[types.Part(text="go")])
        async with aclosing(runner.run_async(user_id=USER, session_id=session_id,
                                             invocation_id=invocation_id,
                                             new_message=message)) as events:
            async for _event in events:
                pass
    note(ledger, "end", "-", "-", who)


if __name__ == "__main__":
    url, ledger, session_id, who, ticket = sys.argv[1:6]
    trio.run(main, url, ledger, session_id, who, ticket == "1",
             sys.argv[6] if len(sys.argv) > 6 else None)
