"""A resumable invocation whose process is SIGKILLed, resumed from this process.

The child (tests/procs/resume_child.py) runs one invocation of a resumable App over a
SQLite file or PostgreSQL with a deterministic model: a first turn calling ``pay(0)``, a
second calling ``pay(1..3)`` in parallel (and, with a ticket, the long-running
``ticket(9)``), then ``done``.  Its tools and model write what they do to a ledger file
(fsynced line by line), and it blocks for ever at the chosen point, where it is killed:

* ``in_tool``: ``pay(2)`` started and has not returned;
* ``after_done``: ``pay(2)`` finished its work, its response is not stored;
* ``before_tools``: the second turn's function calls are stored, no tool of it started
  (also with a ticket: resumed by id with nothing stored after the call, the
  long-running tool runs again, then the invocation waits for its answer);
* ``paused``: no kill; the run ends paused on the long-running call, which this process
  answers;
* ``killed_twice``: killed ``in_tool``; a second child resumes the invocation by id and
  is killed ``after_done``.

This process then resumes the invocation with ``run_async(invocation_id=...)`` (with the
answers of pending long-running calls) until the final answer is stored, and checks the
README's promises ("Pausing and resuming"): a call whose response was stored is never
run again, the others run again at most once per kill (and once in the resume that
stores their response), every ordinary call ends with exactly one stored response, a
pending long-running call is not run again while it waits, the model is asked once per
turn and the final answer comes once, all in one invocation; and the claim a killed
process held on the session (an flock, an advisory lock) died with it: the session can
be claimed at once, without waiting.

The waits are on facts (ledger lines, the process's exit, PostgreSQL's view of its
connections); the overall deadline is a safety net, not a timing assertion.
"""

# The suite asserts `expected == actual`.

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from contextlib import aclosing
from pathlib import Path
from types import ModuleType

import attrs
import pytest
import trio
from google.genai import types

from pg_fixtures import pg_database, pg_url  # noqa: F401
from trio_adk import Runner
from trio_adk.events import Event
from trio_adk.sessions._base import BaseSessionService

CHILD = Path(__file__).parent / "procs" / "resume_child.py"
HANG_GUARD = 60.0  # seconds; only ever reached if something hangs


def _load_child() -> ModuleType:
    """The child script as a module (this process resumes with the same App)."""
    spec = importlib.util.spec_from_file_location("resume_child", CHILD)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["resume_child"] = module  # pydantic resolves the model's annotations here
    spec.loader.exec_module(module)
    return module


child = sys.modules.get("resume_child") or _load_child()
APP, USER = child.APP, child.USER


# -- the stores ----------------------------------------------------------------------------


@attrs.frozen
class Store:
    """A session store as the child names it and as this process opens it."""

    kind: str
    child_url: str  # what the child's Runner is given
    new_service: Callable[[], BaseSessionService]
    pg_url: str | None = None

    async def claim_released(self, session_id: str) -> None:
        """The killed child's claim on the session is gone: it can be claimed at once
        (``wait=False`` raises SessionBusyError if anyone holds it)."""
        if self.pg_url is not None:
            # The server ends the dead client's connections (and their advisory locks)
            # when it sees their sockets close: wait for that fact.
            await _pg_until_gone(self.pg_url, f"kill-{session_id}")
        service = self.new_service()
        try:
            async with service.claim_session(app_name=APP, user_id=USER,
                                             session_id=session_id, wait=False):
                pass
        finally:
            await service.close()


async def _pg_until_gone(url: str, application_name: str) -> None:
    import psycopg

    def gone() -> bool:
        with psycopg.connect(url, autocommit=True) as conn:
            row = conn.execute("SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE "
                               "application_name = %s)", (application_name,)).fetchone()
            return bool(row and row[0])

    while not await trio.to_thread.run_sync(gone):
        await trio.sleep(0.02)


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    if request.param == "sqlite":
        from trio_adk.sessions import SqliteSessionService

        path = str(tmp_path / "sessions.db")
        return Store("sqlite", f"sqlite:///{path}", lambda: SqliteSessionService(path))
    from trio_adk.sessions.database_session_service import DatabaseSessionService

    url: str = request.getfixturevalue("pg_url")
    return Store("postgresql", url, lambda: DatabaseSessionService(url), pg_url=url)


# -- the ledger and the stored events ------------------------------------------------------


@attrs.frozen
class Line:
    verb: str
    call_id: str
    n: str
    who: str


def read_ledger(path: Path) -> list[Line]:
    return [Line(*line.split()) for line in path.read_text().splitlines() if line]


async def load_events(store: Store, session_id: str) -> list[Event]:
    service = store.new_service()
    try:
        session = await service.get_session(app_name=APP, user_id=USER, session_id=session_id)
    finally:
        await service.close()
    assert session is not None
    return session.events


def agent_responses(events: list[Event]) -> list[str]:
    return [r.id or "" for e in events if e.author != "user" for r in e.get_function_responses()]


def finals(events: list[Event]) -> int:
    return sum(1 for e in events if e.author != "user" and e.content and e.content.parts
               and e.content.parts[0].text == "done")


def pending_answers(events: list[Event]) -> types.Content | None:
    """The client's answers to the long-running calls still unanswered."""
    answered = {r.id for e in events for r in e.get_function_responses()}
    waiting = [c for e in events for c in e.get_function_calls()
               if c.id in (e.long_running_tool_ids or ()) and c.id not in answered]
    if not waiting:
        return None
    return types.Content(role="user", parts=[types.Part(function_response=types.FunctionResponse(
        id=c.id, name=c.name, response={"ticket": "opened"})) for c in waiting])


# -- the children ---------------------------------------------------------------------------


@attrs.frozen
class Scenario:
    """Children run one after the other, each killed at its point ("" = runs to its
    end); then this process resumes ``resumes`` times until the final answer."""

    kill_points: tuple[str, ...]
    with_ticket: bool
    resumes: int


SCENARIOS = {
    "in_tool": Scenario(("in_tool",), with_ticket=False, resumes=1),
    "after_done": Scenario(("after_done",), with_ticket=False, resumes=1),
    "before_tools": Scenario(("before_tools",), with_ticket=False, resumes=1),
    "before_tools_with_ticket": Scenario(("before_tools",), with_ticket=True, resumes=2),
    "paused": Scenario(("",), with_ticket=True, resumes=1),
    "killed_twice": Scenario(("in_tool", "after_done"), with_ticket=False, resumes=1),
}


async def run_child(store: Store, kill_point: str, ledger: Path, session_id: str, who: str,
                    with_ticket: bool, invocation_id: str | None, stderr: Path) -> None:
    """Run a child; SIGKILL it at its ``block`` line, or let it run to its end."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path),
               RESUME_KILL_POINT=kill_point)
    url = store.child_url
    if store.pg_url is not None:  # to find its connections in pg_stat_activity
        url = f"{url}?application_name=kill-{session_id}"
    with stderr.open("ab") as err:
        process = await trio.lowlevel.open_process(
            [sys.executable, str(CHILD), url, str(ledger), session_id, who,
             "1" if with_ticket else "0", *([invocation_id] if invocation_id else [])],
            env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
    try:
        if not kill_point:
            assert 0 == await process.wait(), stderr.read_text()
            return
        while not any(line.verb == "block" and line.who == who
                      for line in read_ledger(ledger)):
            assert process.poll() is None, (
                f"{who} ended before blocking: {stderr.read_text()}")
            await trio.sleep(0.01)
        process.send_signal(signal.SIGKILL)
        assert -signal.SIGKILL == await process.wait()
    finally:
        with trio.CancelScope(shield=True):
            if process.returncode is None:
                process.kill()
            await process.wait()


# -- the test ------------------------------------------------------------------------------


@pytest.fixture
def session_id(request: pytest.FixtureRequest) -> str:
    # PostgreSQL's database is shared by the module: one session per test.
    return f"s-{request.node.callspec.id}"


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SCENARIOS))
async def test_killed_invocation_resumes_with_the_readme_promises(
        store: Store, name: str, session_id: str, tmp_path: Path) -> None:
    ledger = tmp_path / "ledger"
    ledger.touch()
    stderr = tmp_path / "children.err"
    stderr.touch()
    with trio.move_on_after(HANG_GUARD) as guard:
        await _scenario(store, SCENARIOS[name], session_id, ledger, stderr)
    if guard.cancelled_caught:
        pytest.fail(f"hung for {HANG_GUARD} s; the ledger: {ledger.read_text()}; the "
                    f"children's stderr: {stderr.read_text()}")


async def _scenario(store: Store, scenario: Scenario, session_id: str, ledger: Path,
                    stderr: Path) -> None:
    setup = store.new_service()
    try:
        await setup.create_session(app_name=APP, user_id=USER, session_id=session_id)
    finally:
        await setup.close()

    invocation: str | None = None
    stored_at_stop: set[str] = set()
    for index, kill_point in enumerate(scenario.kill_points):
        await run_child(store, kill_point, ledger, session_id, f"child{index}",
                        scenario.with_ticket, invocation, stderr)
        events = await load_events(store, session_id)
        if invocation is None:
            invocation = events[0].invocation_id
            stored_at_stop = set(agent_responses(events))  # before anything resumed
        if kill_point:
            # The claim died with the process: the session is free, nobody waits.
            await store.claim_released(session_id)
    assert invocation is not None

    # What the first child left: its first turn answered, its second turn's calls
    # stored; their responses stored only when it was not killed.
    turns = [e for e in events if e.get_function_calls()]
    assert 2 == len(turns), events
    first = [c.id or "" for c in turns[0].get_function_calls()]
    second = [c.id or "" for c in turns[1].get_function_calls() if c.name == "pay"]
    tickets = [c.id or "" for c in turns[1].get_function_calls() if c.name == "ticket"]
    assert (1 if scenario.with_ticket else 0) == len(tickets)
    if scenario.kill_points == ("",):
        assert sorted(first + second) == sorted(stored_at_stop)
    else:
        assert sorted(first) == sorted(stored_at_stop)
        assert sorted(first) == sorted(agent_responses(events))
    assert 0 == finals(events)
    at_stop = read_ledger(ledger)

    resumes = 0
    while not finals(events):
        assert resumes < scenario.resumes, f"not finished after {resumes} resumes: {events}"
        # After a kill, first by id alone (continue where it stopped); then with the
        # answers of the long-running calls it waits for.
        by_id_alone = resumes == 0 and bool(scenario.kill_points[-1])
        resumes += 1
        service = store.new_service()
        runner = Runner(app=child.build_app(str(ledger), "resume",
                                            with_ticket=scenario.with_ticket),
                        session_service=service)
        try:
            async with aclosing(runner.run_async(
                    user_id=USER, session_id=session_id, invocation_id=invocation,
                    new_message=None if by_id_alone else pending_answers(events))) as stream:
                async for _event in stream:
                    pass
        finally:
            await runner.close()
            await service.close()
        events = await load_events(store, session_id)
    assert scenario.resumes == resumes

    lines = read_ledger(ledger)
    assert at_stop == lines[:len(at_stop)]  # nothing of the children's after their death
    kills = sum(1 for point in scenario.kill_points if point)

    # One invocation, its calls made once, one final answer.
    assert {invocation} == {e.invocation_id for e in events}
    assert 2 == sum(1 for e in events if e.get_function_calls())
    assert 1 == finals(events)
    pays = [c.id or "" for e in events for c in e.get_function_calls() if c.name == "pay"]
    assert sorted(first + second) == sorted(pays)
    assert ["0", "1", "2", "3"] == sorted(str((c.args or {})["n"]) for e in events
                                          for c in e.get_function_calls() if c.name == "pay")
    # Every ordinary call has exactly one stored response; each long-running one its
    # one answer.
    assert sorted(pays) == sorted(agent_responses(events))
    assert sorted(tickets) == sorted(r.id or "" for e in events if e.author == "user"
                                     for r in e.get_function_responses())

    starts = Counter((line.call_id, line.who) for line in lines if line.verb == "start")
    dones = Counter((line.call_id, line.who) for line in lines if line.verb == "done")
    whos = [f"child{i}" for i in range(len(scenario.kill_points))]
    for call_id in pays:
        if call_id in stored_at_stop:
            # Exactly once from the moment its response is stored.
            assert 1 == starts[call_id, "child0"] == dones[call_id, "child0"]
            assert 0 == sum(n for (c, who), n in starts.items()
                            if c == call_id and who != "child0")
        else:
            # Not stored when killed: run again, at most once per kill, and once in
            # the resume that stored its response.
            assert all(starts[call_id, who] <= 1 for who in whos)
            assert sum(starts[call_id, who] for who in whos) <= kills
            assert 1 == starts[call_id, "resume"] == dones[call_id, "resume"]
    for index, point in enumerate(scenario.kill_points):
        mine = [line for line in at_stop if line.who == f"child{index}"]
        if point == "before_tools":
            assert [] == [line for line in mine if line.verb == "start"
                          and line.call_id not in first]
        if point in ("in_tool", "after_done"):
            blocked = next(line.call_id for line in mine if line.verb == "block")
            assert 1 == starts[blocked, f"child{index}"]
            assert (1 if point == "after_done" else 0) == dones[blocked, f"child{index}"]
    for call_id in tickets:
        # A pending long-running call is not run again while it waits for its answer
        # (it ran once: in the child, or, when the child was killed before any tool
        # of the turn started, in the resume by id).
        assert 1 == sum(n for (c, _), n in starts.items() if c == call_id)
        assert 1 == sum(n for (c, _), n in dones.items() if c == call_id)

    # The model was asked once per turn, the last time with every call answered.
    model = [(line.call_id, line.n) for line in lines if line.verb == "model"]
    assert [("0", "0"), ("1", "1"), ("2", str(len(pays) + len(tickets)))] == model

    # And the session is free again.
    await store.claim_released(session_id)
