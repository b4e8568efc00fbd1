"""SqliteSessionService with several writers: stale copies appending at once (tasks,
services, processes), and session claims held across processes (and freed by SIGKILL)."""

# The suite asserts `expected == actual`.

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import trio

from store_contract import APP, USER, event, fetch
from trio_adk.errors import SessionBusyError, StaleSessionError
from trio_adk.sessions import SqliteSessionService

TRIALS = 20

# A child process driving one service over the file named by argv[1], one command per
# stdin line, one answer per stdout line:
#   load <sid>     -> "loaded"            (get_session, kept as the copy to append to)
#   append <text>  -> "ok" | "stale"      (append_event to that copy)
#   claim <sid>    -> "claimed" | "busy"  (claim_session, wait=False; held until exit)
CHILD = r"""
import sys
import trio
from trio_adk.errors import SessionBusyError, StaleSessionError
from trio_adk.events import Event
from google.genai import types
from trio_adk.sessions import SqliteSessionService

async def main():
    service = SqliteSessionService(sys.argv[1])
    copy = None
    async with trio.open_nursery() as nursery:
        while True:
            line = await trio.to_thread.run_sync(sys.stdin.readline)
            if not line:
                break
            verb, arg = line.split(maxsplit=1)
            arg = arg.strip()
            if verb == "load":
                copy = await service.get_session(app_name="contract_app",
                                                 user_id="contract_user", session_id=arg)
                answer = "loaded"
            elif verb == "append":
                item = Event(author="child", content=types.Content(
                    role="model", parts=[types.Part(text=arg)]))
                try:
                    await service.append_event(copy, item)
                    answer = "ok"
                except StaleSessionError:
                    answer = "stale"
            else:
                ready = trio.Event()
                answer_box = []

                async def hold(sid=arg):
                    try:
                        async with service.claim_session(
                                app_name="contract_app", user_id="contract_user",
                                session_id=sid, wait=False):
                            answer_box.append("claimed")
                            ready.set()
                            await trio.sleep_forever()
                    except SessionBusyError:
                        answer_box.append("busy")
                        ready.set()

                nursery.start_soon(hold)
                await ready.wait()
                answer = answer_box[0]
            print(answer, flush=True)
        nursery.cancel_scope.cancel()
    await service.close()

trio.run(main)
"""


class Child:
    """A child process running CHILD over one database file."""

    def __init__(self, db: Path) -> None:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
        self.proc = subprocess.Popen([sys.executable, "-c", CHILD, str(db)], env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True)

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def answer(self) -> str:
        assert self.proc.stdout is not None
        return self.proc.stdout.readline().strip()

    def ask(self, line: str) -> str:
        self.send(line)
        return self.answer()

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            self.proc.wait(timeout=60)
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()


@pytest.fixture
def children(tmp_path: Path) -> Iterator[list[Child]]:
    started: list[Child] = []
    try:
        yield started
    finally:
        for child in started:
            if child.proc.poll() is None:
                child.proc.kill()
            child.close()


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[SqliteSessionService]:
    service = SqliteSessionService(tmp_path / "sessions.db")
    try:
        yield service
    finally:
        await service.close()


async def _race(first: SqliteSessionService, second: SqliteSessionService, sid: str) -> int:
    """Load two copies of ``sid`` at one revision, append through both at once; the
    number of StaleSessionErrors."""
    copies = [await fetch(first, sid), await fetch(second, sid)]
    stale = 0

    async def append(service: SqliteSessionService, index: int) -> None:
        nonlocal stale
        try:
            await service.append_event(copies[index], event(text=f"{sid}-{index}"))
        except StaleSessionError:
            stale += 1

    async with trio.open_nursery() as nursery:
        nursery.start_soon(append, first, 0)
        nursery.start_soon(append, second, 1)
    return stale


async def test_stale_copies_racing_in_one_service(service: SqliteSessionService) -> None:
    """Two stale copies appending concurrently through one service: exactly one is
    rejected, every time (ADK's SQLite service accepts both, 20 times out of 20)."""
    for trial in range(TRIALS):
        await service.create_session(app_name=APP, user_id=USER, session_id=f"t{trial}")
        assert 1 == await _race(service, service, f"t{trial}")
        assert 1 == len((await fetch(service, f"t{trial}")).events)


async def test_stale_copies_racing_in_two_services(
    service: SqliteSessionService, tmp_path: Path,
) -> None:
    """The same with two services over one file (two writer connections)."""
    other = SqliteSessionService(tmp_path / "sessions.db")
    try:
        for trial in range(TRIALS):
            await service.create_session(app_name=APP, user_id=USER,
                                         session_id=f"t{trial}")
            assert 1 == await _race(service, other, f"t{trial}")
            assert 1 == len((await fetch(other, f"t{trial}")).events)
    finally:
        await other.close()


@pytest.mark.slow
async def test_stale_copies_racing_in_two_processes(
    service: SqliteSessionService, tmp_path: Path, children: list[Child],
) -> None:
    """Two processes load one revision, then append at once: exactly one is rejected,
    every trial."""
    children += [Child(tmp_path / "sessions.db"), Child(tmp_path / "sessions.db")]
    for trial in range(TRIALS):
        sid = f"t{trial}"
        await service.create_session(app_name=APP, user_id=USER, session_id=sid)
        for child in children:
            assert "loaded" == await trio.to_thread.run_sync(child.ask, f"load {sid}")
        for child in children:
            child.send(f"append {sid}")
        answers = sorted([await trio.to_thread.run_sync(child.answer)
                          for child in children])
        assert ["ok", "stale"] == answers
        assert 1 == len((await fetch(service, sid)).events)


@pytest.mark.slow
async def test_claim_held_by_a_killed_process_is_freed(
    service: SqliteSessionService, tmp_path: Path, children: list[Child],
) -> None:
    """A session claimed by another process is busy here (wait=False raises
    SessionBusyError; wait=True waits); when that process is SIGKILLed, the kernel
    drops its lock and the waiting claim gets the session."""
    child = Child(tmp_path / "sessions.db")
    children.append(child)
    assert "claimed" == await trio.to_thread.run_sync(child.ask, "claim s")
    with pytest.raises(SessionBusyError):
        async with service.claim_session(app_name=APP, user_id=USER, session_id="s",
                                         wait=False):
            pass  # pragma: no cover
    async with service.claim_session(app_name=APP, user_id=USER, session_id="other",
                                     wait=False):
        pass  # another session is free
    got = trio.Event()

    async def wait_for_it() -> None:
        async with service.claim_session(app_name=APP, user_id=USER, session_id="s"):
            got.set()

    with trio.fail_after(120):  # a hang guard, not a timing assertion
        async with trio.open_nursery() as nursery:
            nursery.start_soon(wait_for_it)
            await trio.testing.wait_all_tasks_blocked()
            assert not got.is_set()
            child.proc.send_signal(signal.SIGKILL)
            await trio.to_thread.run_sync(child.proc.wait)
            await got.wait()
    # And this process's claim excludes the other process while held.
    second = Child(tmp_path / "sessions.db")
    children.append(second)
    async with service.claim_session(app_name=APP, user_id=USER, session_id="s"):
        assert "busy" == await trio.to_thread.run_sync(second.ask, "claim s")
    assert "claimed" == await trio.to_thread.run_sync(second.ask, "claim s")


async def test_two_services_in_one_process_exclude_each_other(
    service: SqliteSessionService, tmp_path: Path,
) -> None:
    """Claims through two services over one file exclude each other (the OS lock is
    per open file, not per process); cancelling a waiting claim gives up cleanly."""
    other = SqliteSessionService(tmp_path / "sessions.db")
    try:
        async with service.claim_session(app_name=APP, user_id=USER, session_id="s"):
            with pytest.raises(SessionBusyError):
                async with other.claim_session(app_name=APP, user_id=USER,
                                               session_id="s", wait=False):
                    pass  # pragma: no cover
            with trio.move_on_after(0.05) as scope:
                async with other.claim_session(app_name=APP, user_id=USER,
                                               session_id="s"):
                    pass  # pragma: no cover
            assert scope.cancelled_caught
        async with other.claim_session(app_name=APP, user_id=USER, session_id="s",
                                       wait=False):
            pass
    finally:
        await other.close()


async def test_memory_database_claims_stay_in_process() -> None:
    """An in-memory database has no lock files: claims are the in-process gates."""
    service = SqliteSessionService(":memory:")
    try:
        async with service.claim_session(app_name=APP, user_id=USER, session_id="s"):
            with pytest.raises(SessionBusyError):
                async with service.claim_session(app_name=APP, user_id=USER,
                                                 session_id="s", wait=False):
                    pass  # pragma: no cover
        session = await service.create_session(app_name=APP, user_id=USER)
        await service.append_event(session, event(text="x"))
        assert 1 == len((await fetch(service, session.id)).events)
    finally:
        await service.close()
