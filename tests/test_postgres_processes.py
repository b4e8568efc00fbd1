"""Runner processes sharing one PostgreSQL database, one of them killed with SIGKILL.

Each child (tests/procs/pg_runner.py) is a real runner process over
``DatabaseSessionService(postgresql://...)`` whose model is the fake Gemini server of this
test process, on loopback; it prints every event it consumes.  The tests wait on facts
only (lines the children print, rows and locks in PostgreSQL's own views); the overall
deadline of :func:`hang_guard` is a safety net, not a timing assertion.
"""

# The suite asserts `expected == actual`.

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import trio

from pg_fixtures import pg_database, pg_url  # noqa: F401
from trio_adk.errors import SessionBusyError
from trio_adk.testing import FakeGeminiServer, RecordedRequest, Responder, builtin_responder
from trio_adk.testing._fake_gemini._responder import last_user_text
from trio_adk.testing._fake_gemini._script import ReplyItem

psycopg = pytest.importorskip("psycopg")

from trio_adk.sessions._postgres._service import _CLAIM_PREFIX  # noqa: E402
from trio_adk.sessions.database_session_service import DatabaseSessionService  # noqa: E402

CHILD = Path(__file__).parent / "procs" / "pg_runner.py"
APP, USER = "procs", "user"  # as in CHILD
HANG_GUARD = 240.0  # seconds; only ever reached if something hangs



# -- the model: the fake server's built-in responder, with stalls on request ------------


def _responder(release: trio.Event) -> Responder:
    """Answers like the built-in responder (the message names ``slow_add``: a tool call,
    then a text naming its result), a little late so runs overlap.  The answer after the
    tool's result stalls when the message carries ``hang`` (for ever: that process is
    killed) or ``hold`` (until ``release`` is set): such a run is mid-way, its tool call
    and result handed to the consumer, its final answer not yet."""

    async def respond(request: RecordedRequest) -> ReplyItem:
        body = request.body if isinstance(request.body, dict) else {}
        contents = [c for c in body.get("contents") or [] if isinstance(c, dict)]
        words = last_user_text(contents).split()
        after_tool = bool(contents) and any(
            isinstance(p, dict) and "functionResponse" in p
            for p in contents[-1].get("parts") or [])
        if after_tool and "hang" in words:
            await trio.sleep_forever()
        if after_tool and "hold" in words:
            await release.wait()
        await trio.sleep(0.02)
        return builtin_responder(request)

    return respond


# -- the children ------------------------------------------------------------------------


class Child:
    """A runner process (CHILD) and the lines it printed so far."""

    def __init__(self, name: str, process: trio.Process) -> None:
        self.name = name
        self.process = process
        self.lines: list[str] = []
        self.closed = False  # its stdout ended
        self.killed = False
        self._changed = trio.Event()

    async def pump(self) -> None:
        """Collect stdout lines until the process closes it."""
        assert self.process.stdout is not None
        buffer = b""
        while True:
            chunk = await self.process.stdout.receive_some()
            if not chunk:
                break
            buffer += chunk
            *complete, buffer = buffer.split(b"\n")
            self.lines += [line.decode() for line in complete]
            self._changed.set()
            self._changed = trio.Event()
        self.closed = True
        self._changed.set()

    async def wait_for(self, predicate: Callable[[list[str]], bool]) -> None:
        """Until the lines printed satisfy ``predicate`` (fails if the process ends first)."""
        while not predicate(self.lines):
            if self.closed:
                raise AssertionError(f"{self.name} ended its output before that; it "
                                     f"printed {self.lines}")
            await self._changed.wait()

    @property
    def crashed(self) -> bool:
        """It ended without being told to and without saying ``done``."""
        return self.closed and not self.killed and "done" not in self.lines

    def kill(self) -> None:
        self.killed = True
        self.process.send_signal(signal.SIGKILL)

    async def wait_line(self, line: str) -> None:
        await self.wait_for(lambda lines: line in lines)

    async def send(self, *commands: str) -> None:
        assert self.process.stdin is not None
        await self.process.stdin.send_all("".join(c + "\n" for c in commands).encode())

    async def finish(self) -> None:
        """End its input: it completes every run it started, prints ``done``, exits 0."""
        assert self.process.stdin is not None
        await self.process.stdin.aclose()
        await self.wait_line("done")
        assert 0 == await self.process.wait(), f"{self.name} failed"

    def events(self, sid: str | None = None) -> list[tuple[str, int, str, str]]:
        """(session id, turn, invocation id, event id) of every event it consumed."""
        found = []
        for line in self.lines:
            if line.startswith("event "):
                _, s, turn, invocation, event_id = line.split()
                if sid is None or s == sid:
                    found.append((s, int(turn), invocation, event_id))
        return found

    def ended(self, sid: str) -> list[int]:
        return [int(line.split()[2]) for line in self.lines
                if line.startswith(f"end {sid} ")]


@asynccontextmanager
async def children(pg_url: str, base_url: str, names: Sequence[str],  # noqa: F811
                   started: dict[str, Child]) -> AsyncIterator[None]:
    """One CHILD per name into ``started``, each connecting as
    ``application_name=<name>``; every one is killed (if still running) and reaped on
    the way out."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    async with trio.open_nursery() as nursery:
        try:
            for name in names:
                process = await trio.lowlevel.open_process(
                    [sys.executable, str(CHILD), f"{pg_url}?application_name={name}",
                     base_url, name], env=env, stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE)
                started[name] = Child(name, process)
                nursery.start_soon(started[name].pump)
            for child in started.values():
                await child.wait_line("ready")
            yield
        finally:
            with trio.CancelScope(shield=True):
                for child in started.values():
                    if child.process.returncode is None:
                        child.process.kill()
                    await child.process.wait()
                    for stream in (child.process.stdin, child.process.stdout):
                        if stream is not None:
                            await stream.aclose()
            nursery.cancel_scope.cancel()


# -- PostgreSQL's view of things -----------------------------------------------------------


class Database:
    """One plain psycopg connection of the test's own, for facts the server knows."""

    def __init__(self, pg_url: str) -> None:  # noqa: F811
        self._conn = psycopg.connect(pg_url, autocommit=True)
        self.children: dict[str, Child] = {}  # waits fail early if one of them crashes

    def close(self) -> None:
        self._conn.close()

    async def rows(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        def work() -> list[tuple[Any, ...]]:
            found: list[tuple[Any, ...]] = self._conn.execute(sql, args).fetchall()
            return found

        return await trio.to_thread.run_sync(work)

    async def until(self, sql: str, *args: Any) -> None:
        """Poll until ``sql`` (one boolean) is true: waiting for a fact, not timing it."""
        while not (await self.rows(sql, *args))[0][0]:
            crashed = [c.name for c in self.children.values() if c.crashed]
            assert not crashed, f"{crashed} ended unexpectedly (see their stderr)"
            await trio.sleep(0.02)

    async def waiting_for_claim(self, name: str, sid: str) -> None:
        """Until a backend of process ``name`` waits for the advisory lock of ``sid``."""
        lock = _CLAIM_PREFIX + json.dumps([APP, USER, sid])
        await self.until(
            "SELECT EXISTS (SELECT 1 FROM pg_locks l JOIN pg_stat_activity a USING (pid), "
            "hashtextextended(%s, 0) AS k WHERE l.locktype = 'advisory' AND NOT l.granted "
            "AND a.application_name = %s AND l.classid::bigint = (k >> 32) & 4294967295 "
            "AND l.objid::bigint = k & 4294967295 AND l.database = "
            "(SELECT oid FROM pg_database WHERE datname = current_database()))", lock, name)

    async def idle_backends_gone(self, name: str) -> None:
        """Until the server has dropped every idle connection of process ``name`` (those
        between queries, such as a held claim's: they see the socket close at once)."""
        await self.until("SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE "
                         "application_name = %s AND state LIKE 'idle%%')", name)

    async def backends_gone(self, name: str) -> None:
        await self.until("SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE "
                         "application_name = %s)", name)

    async def stored(self, sid: str) -> list[tuple[str, str, str, Any]]:
        """(event id, invocation id, author, event_data) of ``sid``'s rows, in
        timestamp order."""
        rows = await self.rows(
            "SELECT id, invocation_id, event_data->>'author', event_data FROM events "
            "WHERE app_name = %s AND user_id = %s AND session_id = %s "
            "ORDER BY \"timestamp\", id", APP, USER, sid)
        return [(r[0], r[1], r[2], r[3]) for r in rows]


@pytest.fixture
def database(pg_url: str) -> Iterator[Database]:  # noqa: F811
    db = Database(pg_url)
    try:
        yield db
    finally:
        db.close()


@pytest.fixture
async def service(pg_url: str) -> AsyncIterator[DatabaseSessionService]:  # noqa: F811
    svc = DatabaseSessionService(pg_url)
    try:
        yield svc
    finally:
        await svc.close()


async def _create(service: DatabaseSessionService, *sids: str) -> None:
    for sid in sids:
        await service.create_session(app_name=APP, user_id=USER, session_id=sid)


async def _assert_claimable_now(service: DatabaseSessionService, sid: str) -> None:
    async with service.claim_session(app_name=APP, user_id=USER, session_id=sid,
                                     wait=False):
        pass


async def _assert_busy(service: DatabaseSessionService, sid: str) -> None:
    with pytest.raises(SessionBusyError):
        async with service.claim_session(app_name=APP, user_id=USER, session_id=sid,
                                         wait=False):
            pass  # pragma: no cover


async def _check_stored(service: DatabaseSessionService, database: Database,
                        procs: dict[str, Child], sids: Sequence[str],
                        survivors: Sequence[str]) -> dict[str, list[str]]:
    """The checks every scenario ends with; the invocation ids of each session, in
    stored order.

    * every event any process consumed is stored (the killed one's too);
    * a survivor's runs: what it consumed is exactly what was stored for them, apart
      from the user's message, which is stored and not handed over;
    * runs never interleave: each invocation's rows are contiguous in timestamp order;
    * no half-written event: every row's event_data is a document that loads as an
      event (get_session loads all of them, as many as there are rows).
    """
    order: dict[str, list[str]] = {}
    for sid in sids:
        rows = await database.stored(sid)
        stored_ids = {r[0] for r in rows}
        for child in procs.values():
            consumed = {e[3] for e in child.events(sid)}
            assert set() == consumed - stored_ids, f"{child.name} consumed unstored events"
        for name in survivors:
            for invocation in {e[2] for e in procs[name].events(sid)}:
                assert ([e[3] for e in procs[name].events(sid) if e[2] == invocation]
                        == [r[0] for r in rows if r[1] == invocation and r[2] != "user"])
        runs: list[str] = []
        for _, invocation, _, _ in rows:
            if not runs or runs[-1] != invocation:
                assert invocation not in runs, f"two runs interleaved in session {sid}"
                runs.append(invocation)
        order[sid] = runs
        assert all(isinstance(r[3], dict) and r[3].get("author") for r in rows)
        loaded = await service.get_session(app_name=APP, user_id=USER, session_id=sid)
        assert loaded is not None
        assert [r[0] for r in rows] == [e.id for e in loaded.events]
    return order


@asynccontextmanager
async def hang_guard(database: Database, procs: dict[str, Child]) -> AsyncIterator[None]:
    """Fail after HANG_GUARD seconds, saying what the children printed last and what
    PostgreSQL's backends were doing."""
    with trio.CancelScope(deadline=trio.current_time() + HANG_GUARD) as scope:
        yield
    if scope.cancelled_caught:
        try:
            activity: object = await database.rows(
                "SELECT application_name, state, wait_event_type, wait_event, "
                "left(query, 60) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() ORDER BY 1")
        except psycopg.Error as exc:
            activity = exc
        tails = {name: child.lines[-8:] for name, child in procs.items()}
        raise AssertionError(f"hung for {HANG_GUARD} s: the children printed last {tails}; "
                             f"PostgreSQL's backends: {activity}")


# -- the tests -----------------------------------------------------------------------------


@pytest.mark.slow
async def test_runner_killed_mid_run_loses_nothing_and_frees_its_session(
        pg_url: str, service: DatabaseSessionService,  # noqa: F811
        database: Database) -> None:
    """Three runner processes share sessions s0-s2 (three turns each per process: runs
    queue for each session's claim across processes).  Meanwhile p0 starts runs on
    ``k`` and ``f`` that stall after their tool call, p2 one on ``h`` that stalls until
    released, and p1 queues on ``k`` behind p0.  p0 is SIGKILLed there.  Then: ``f`` can
    be claimed at once (its advisory lock died with p0's connection), p1's runs on ``k``
    proceed, p2's held run and every other run of p1 and p2 finish, everything any
    consumer received is stored, no session's runs interleave, every row loads."""
    shared = ["s0", "s1", "s2"]
    await _create(service, *shared, "k", "f", "h")
    release = trio.Event()
    procs: dict[str, Child] = {}
    database.children = procs
    async with hang_guard(database, procs), \
            FakeGeminiServer(responder=_responder(release)) as server, \
            children(pg_url, server.base_url, ["p0", "p1", "p2"], procs):
        p0, p1, p2 = procs["p0"], procs["p1"], procs["p2"]
        await p0.send("run s0 3", "run s1 3", "run k 1 hang", "run f 1 hang")
        await p1.send("run s0 3", "run s1 3", "run s2 3")
        await p2.send("run s0 3", "run s2 3", "run h 1 hold")

        # p0 is mid-way through its runs on k and f: it consumed their tool call and
        # its result and waits for the model (for ever), holding both sessions' claims.
        await p0.wait_for(lambda _: 2 == len(p0.events("k")) == len(p0.events("f")))
        await p2.wait_for(lambda _: bool(p2.events("h")))  # p2 is mid-run too
        await _assert_busy(service, "f")
        await p1.send("run k 2")
        await database.waiting_for_claim("p1", "k")  # p1 queued behind p0's run
        assert [] == p0.ended("k") + p0.ended("f")

        p0.kill()
        assert -signal.SIGKILL == await p0.process.wait()
        # The kill observed by the server: p0's idle connections (its claims') are
        # gone.  Then the session it held is free, with no waiting.
        await database.idle_backends_gone("p0")
        await _assert_claimable_now(service, "f")
        # The survivor queued on k gets it and runs both its turns.
        await p1.wait_for(lambda _: [0, 1] == p1.ended("k"))
        release.set()
        await p2.wait_for(lambda _: [0] == p2.ended("h"))
        await p1.finish()
        await p2.finish()
        # A connection of p0's that was waiting in line for a claim when it died
        # leaves once it got that lock and found its client gone.
        await database.backends_gone("p0")

    assert [0, 1, 2] == p1.ended("s0") == p1.ended("s1") == p1.ended("s2")
    assert [0, 1, 2] == p2.ended("s0") == p2.ended("s2")
    order = await _check_stored(service, database, procs, [*shared, "k", "f", "h"],
                                survivors=["p1", "p2"])
    # p0's stalled runs: what it consumed (the tool call and its result) is what was
    # stored of them, besides the user's message.
    for sid in ("k", "f"):
        rows = await database.stored(sid)
        (invocation,) = {e[2] for e in p0.events(sid)}
        assert ([e[3] for e in p0.events(sid)]
                == [r[0] for r in rows if r[1] == invocation and r[2] != "user"])
    # k: p0's killed run, then p1's two; f: p0's alone; h: p2's.
    assert [p0.events("k")[0][2]] == order["k"][:1]
    assert {e[2] for e in p1.events("k")} == set(order["k"][1:])
    assert 3 == len(order["k"])
    assert [p0.events("f")[0][2]] == order["f"]
    assert [p2.events("h")[0][2]] == order["h"]
    for sid in shared:
        # Every survivor run is stored, and each of p0's that handed over an event; at
        # most one more run of p0's (the one in flight, its message stored, nothing
        # handed over yet: turns on one session run one after the other).
        survivor_runs = [{e[2] for e in c.events(sid)} for c in (p1, p2)]
        assert [3, 3 if sid != "s1" else 0] == [len(runs) for runs in survivor_runs]
        p0_runs = {e[2] for e in p0.events(sid)}
        assert set.union(p0_runs, *survivor_runs) <= set(order[sid])
        assert len(order[sid]) - len(set.union(p0_runs, *survivor_runs)) in (0, 1)
    await _assert_claimable_now(service, "k")


@pytest.mark.slow
async def test_runner_killed_while_queued_for_a_claim_does_not_block_the_session(
        pg_url: str, service: DatabaseSessionService,  # noqa: F811
        database: Database) -> None:
    """q1 holds session ``q`` mid-run; q2 queues for it (PostgreSQL shows its backend
    waiting on the advisory lock) and is SIGKILLed there.  When q1's run ends, the
    session is not blocked: a run of q1's and then a claim of the test's get it, and
    nothing of q2's was stored."""
    await _create(service, "q")
    release = trio.Event()
    procs: dict[str, Child] = {}
    database.children = procs
    async with hang_guard(database, procs), \
            FakeGeminiServer(responder=_responder(release)) as server, \
            children(pg_url, server.base_url, ["q1", "q2"], procs):
        q1, q2 = procs["q1"], procs["q2"]
        await q1.send("run q 1 hold")
        await q1.wait_for(lambda _: bool(q1.events("q")))
        await q2.send("run q 1")
        await database.waiting_for_claim("q2", "q")
        q2.kill()
        assert -signal.SIGKILL == await q2.process.wait()

        release.set()
        await q1.wait_for(lambda _: [0] == q1.ended("q"))
        await q1.send("run q 2")  # queued behind nothing alive: it gets the session
        await q1.wait_for(lambda _: [0, 0, 1] == q1.ended("q"))
        await q1.finish()
        # q2's connection that was waiting leaves once it got the lock and found its
        # client gone; nothing else of q2's holds anything.
        await database.backends_gone("q2")
        await _assert_claimable_now(service, "q")

    assert [] == q2.events()
    order = await _check_stored(service, database, procs, ["q"], survivors=["q1"])
    assert 3 == len(order["q"]) == len({e[2] for e in q1.events("q")})  # all q1's


async def test_a_service_starting_beside_busy_writers_takes_no_table_locks(
        pg_url: str, service: DatabaseSessionService,  # noqa: F811
        database: Database) -> None:
    """Preparing a database that is prepared already locks none of ADK's tables.
    ``CREATE INDEX IF NOT EXISTS`` takes a SHARE lock on its table even when the index
    exists: each runner process starting beside running ones stalled their appends,
    and deadlocked with an append in flight (the test above found it: "deadlock
    detected" between a process's first query and another's append).  Here a writer
    holds both tables mid-transaction while a new service prepares them: PostgreSQL
    never shows that service waiting for a lock, and it finishes."""
    await service.prepare_tables()
    writer = psycopg.connect(pg_url, autocommit=False)
    try:
        writer.execute("LOCK TABLE sessions, events IN ROW EXCLUSIVE MODE")
        starting = DatabaseSessionService(f"{pg_url}?application_name=starting")
        done = trio.Event()

        async def prepare() -> None:
            await starting.prepare_tables()
            done.set()

        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(prepare)
                while not done.is_set():
                    waiting = await database.rows(
                        "SELECT l.relation::regclass::text FROM pg_locks l JOIN "
                        "pg_stat_activity a USING (pid) WHERE NOT l.granted AND "
                        "a.application_name = 'starting'")
                    assert [] == waiting, "preparing waits for the writers' tables"
                    await trio.sleep(0.02)
        finally:
            await starting.close()
    finally:
        writer.rollback()
        writer.close()
