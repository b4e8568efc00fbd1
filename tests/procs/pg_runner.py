"""A runner process on a shared PostgreSQL database (a child of tests/test_postgres_processes.py).

Usage: python pg_runner.py DB_URL GEMINI_BASE_URL NAME

One ``Runner`` over ``DatabaseSessionService(DB_URL)`` (app ``procs``, user ``user``), its
agent's model at the fake Gemini server GEMINI_BASE_URL; it may call the slow tool
``slow_add``.  Commands on stdin, one per line:

* ``run SID TURNS [TAG]``: start a task running TURNS turns, one after the other, on
  session SID (runs on one session queue for their claim, across processes).  Turn T's
  message is ``slow_add a=T b=1 [TAG] NAME SID tT``: the fake server's responder reads
  TAG (``hang``, ``hold``) to stall the run after its tool call.
* end of input: wait for every started task, close the service, print ``done``, exit 0.

Stdout, one line per fact, flushed at once:

* ``ready``: the runner is up and reading commands;
* ``event SID TURN INVOCATION_ID EVENT_ID``: an event of that run, printed as it is
  consumed (when the runner handed it over, hence after it was stored);
* ``end SID TURN``: that run has ended.
"""

from __future__ import annotations

import sys

import trio
from google.genai import types

from trio_adk import Agent, Runner
from trio_adk.models import Gemini
from trio_adk.sessions.database_session_service import DatabaseSessionService

APP = "procs"
USER = "user"


async def slow_add(a: int, b: int) -> int:
    """Add two numbers, slowly."""
    await trio.sleep(0.05)  # keeps the run in flight while other runs try to start
    return a + b


def say(line: str) -> None:
    print(line, flush=True)


async def turns(runner: Runner, name: str, sid: str, count: int, tag: str) -> None:
    for turn in range(count):
        words = ["slow_add", f"a={turn}", "b=1", tag, name, sid, f"t{turn}"]
        message = types.Content(role="user", parts=[types.Part(
            text=" ".join(w for w in words if w))])
        async for event in runner.run_async(user_id=USER, session_id=sid,
                                            new_message=message):
            say(f"event {sid} {turn} {event.invocation_id} {event.id}")
        say(f"end {sid} {turn}")


async def main(db_url: str, base_url: str, name: str) -> None:
    service = DatabaseSessionService(db_url)
    try:
        agent = Agent(name="calc", model=Gemini(model="gemini-2.5-flash", base_url=base_url,
                                                api_key="k"),
                      instruction="Add numbers.", tools=[slow_add])
        async with Runner(app_name=APP, agent=agent, session_service=service) as runner:
            say("ready")
            async with trio.open_nursery() as nursery:
                while True:
                    line = await trio.to_thread.run_sync(sys.stdin.readline)
                    if not line:
                        break
                    verb, sid, count, *tag = line.split()
                    assert verb == "run", line
                    nursery.start_soon(turns, runner, name, sid, int(count),
                                       tag[0] if tag else "")
    finally:
        await service.close()
    say("done")


if __name__ == "__main__":
    db_url, base_url, name = sys.argv[1:4]
    trio.run(main, db_url, base_url, name)
