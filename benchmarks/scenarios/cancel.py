"""cancel: ``runs`` runs in flight (each parked inside a model call that never answers), then
cancel them all the way each framework's users cancel a group of tasks: trio-adk's consumers
run in one nursery whose cancel scope is cancelled; ADK's are asyncio tasks, each cancelled,
then gathered.

Figures: milliseconds from the cancel until every consumer task has finished (also as the
process's CPU time, steadier than wall time on a shared machine, and the part of it spent in
the garbage collector, with the number of full collections), how many model
calls had finished their cleanup (``finally``) by then, and, measured right then, the tasks
and sockets still alive beyond those alive before the runs started. If some cleanups had not
run when the consumers finished, the time until they all did is
reported as ``all_cleaned_ms`` (waited for up to 2 s).

Floor: ``runs`` bare trio pairs parked the way a run is, with no framework in between: each
consumer (in one nursery, as above) waits on a hand-over from its producer (a system task,
as a run's task is, parked inside a call that never answers, with a ``finally`` that counts
its cleanup); cancelling the nursery makes each consumer cancel its producer's scope and wait,
shielded and bounded, until the producer has finished, as a run's consumer does. Timed the
same way, in a process with the same modules imported (so the garbage collector walks a
heap of about the same size). Target: trio-adk within ``FLOOR_X`` times this floor, and
``ADK_X`` times faster than google-adk.
"""

from __future__ import annotations

import gc
import time
from typing import Any

from scenarios._common import (
    Context,
    Gauge,
    Medians,
    Row,
    SideResult,
    Size,
    at_least,
    at_most,
    cli,
    get,
    open_sockets,
)

NAME = "cancel"
WHAT = "runs in flight, then cancel them all: time until every run's cleanup finished, " \
       "tasks/sockets alive afterwards"
FLOOR = "bare trio consumer/producer pairs parked on a hand-over, cancelled the same way"
SIZES: dict[str, Size] = {
    "quick": {"runs": 20},
    "full": {"runs": 1000},
}
TARGET_MS = 100.0
FLOOR_X = 3.0  # cancel time at most this many times the floor's
ADK_X = 5.0  # and at least this many times faster than google-adk's
TARGET = f"<= {FLOOR_X:g}x floor, >= {ADK_X:g}x faster than ADK"
POLL_SECONDS = 2.0


class Stopwatch:
    """Wall time, process CPU time and the garbage collector's CPU time (timed through
    ``gc.callbacks``) from ``start()`` to ``stop()``, as figures in milliseconds, and the
    number of full collections."""

    def __init__(self) -> None:
        self.gc_seconds = 0.0
        self.full_collections = 0
        self._gc_started = 0.0
        self._wall = self._cpu = 0.0

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._gc_started = time.process_time()
        else:
            self.gc_seconds += time.process_time() - self._gc_started
            self.full_collections += info["generation"] == 2

    def start(self) -> None:
        gc.callbacks.append(self._on_gc)
        self._cpu = time.process_time()
        self._wall = time.perf_counter()

    def stop(self) -> dict[str, float]:
        wall = time.perf_counter() - self._wall
        cpu = time.process_time() - self._cpu
        gc.callbacks.remove(self._on_gc)
        return {"cancel_ms": wall * 1e3, "cancel_cpu_ms": cpu * 1e3,
                "gc_ms": self.gc_seconds * 1e3, "full_gcs": self.full_collections}


def trio_side(size: Size) -> SideResult:
    import trio
    from google.genai import types

    from scenarios import _trio_app
    from trio_adk import Agent, InMemoryRunner

    runs = size["runs"]
    gauge = Gauge(runs, trio.Event)
    message = types.Content(role="user", parts=[types.Part(text="hi")])
    runner = InMemoryRunner(Agent(name="bench", model=_trio_app.BlockingModel(gauge=gauge)),
                            app_name="bench")

    async def consume(session_id: str) -> None:
        async for _event in runner.run_async(user_id="u", session_id=session_id,
                                             new_message=message):
            pass

    async def main() -> SideResult:
        for i in range(runs):
            await runner.session_service.create_session(app_name="bench", user_id="u",
                                                        session_id=f"s{i}")
        tasks_before = len(_trio_app.all_tasks())
        sockets_before = open_sockets()
        async with trio.open_nursery() as nursery:
            for i in range(runs):
                nursery.start_soon(consume, f"s{i}")
            await gauge.all_entered.wait()
            tasks_in_flight = len(_trio_app.all_tasks()) - tasks_before
            watch = Stopwatch()
            watch.start()
            start = time.perf_counter()
            nursery.cancel_scope.cancel()
        timing = watch.stop()
        cancel_ms = timing["cancel_ms"]
        cleaned = gauge.cleaned
        tasks_alive = len(_trio_app.all_tasks()) - tasks_before
        sockets_now = open_sockets()
        all_cleaned_ms = cancel_ms if cleaned == runs else None
        with trio.move_on_after(POLL_SECONDS):
            await gauge.all_cleaned.wait()
            all_cleaned_ms = all_cleaned_ms or (time.perf_counter() - start) * 1e3
        from trio_adk._run import ACTIVE_RUNS  # internal: the runs still registered

        runs_alive = len(ACTIVE_RUNS)
        await runner.close()
        return {**timing, "all_cleaned_ms": all_cleaned_ms,
                "cleaned": cleaned, "runs": runs, "tasks_in_flight": tasks_in_flight,
                "tasks_alive": tasks_alive, "runs_alive": runs_alive,
                "sockets_alive": None if sockets_before is None or sockets_now is None
                else sockets_now - sockets_before}

    return trio.run(main)


def adk_side(size: Size) -> SideResult:
    import asyncio

    from google.genai import types

    from scenarios._adk_app import Agent, BlockingModel, InMemoryRunner

    runs = size["runs"]
    gauge = Gauge(runs, asyncio.Event)
    message = types.Content(role="user", parts=[types.Part(text="hi")])
    runner = InMemoryRunner(agent=Agent(name="bench", model=BlockingModel(gauge=gauge)),
                            app_name="bench")

    async def consume(session_id: str) -> None:
        async for _event in runner.run_async(user_id="u", session_id=session_id,
                                             new_message=message):
            pass

    async def main() -> SideResult:
        for i in range(runs):
            await runner.session_service.create_session(app_name="bench", user_id="u",
                                                        session_id=f"s{i}")
        tasks_before = len(asyncio.all_tasks())
        sockets_before = open_sockets()
        tasks = [asyncio.create_task(consume(f"s{i}")) for i in range(runs)]
        await gauge.all_entered.wait()
        tasks_in_flight = len(asyncio.all_tasks()) - tasks_before
        watch = Stopwatch()
        watch.start()
        start = time.perf_counter()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        timing = watch.stop()
        cancel_ms = timing["cancel_ms"]
        cleaned = gauge.cleaned
        tasks_alive = len(asyncio.all_tasks()) - tasks_before
        sockets_now = open_sockets()
        all_cleaned_ms = cancel_ms if cleaned == runs else None
        try:
            async with asyncio.timeout(POLL_SECONDS):
                await gauge.all_cleaned.wait()
                all_cleaned_ms = all_cleaned_ms or (time.perf_counter() - start) * 1e3
        except TimeoutError:
            pass
        await runner.close()
        return {**timing, "all_cleaned_ms": all_cleaned_ms,
                "cleaned": cleaned, "runs": runs, "tasks_in_flight": tasks_in_flight,
                "tasks_alive": tasks_alive,
                "sockets_alive": None if sockets_before is None or sockets_now is None
                else sockets_now - sockets_before}

    return asyncio.run(main())


def floor_side(size: Size) -> SideResult:
    import math

    import trio

    from scenarios import _trio_app

    runs = size["runs"]
    gauge = Gauge(runs, trio.Event)

    class Pair:
        """One consumer's producer: its cancel scope, hand-over channel and end."""

        def __init__(self) -> None:
            self.scope = trio.CancelScope()
            self.done = trio.Event()
            self.send, self.receive = trio.open_memory_channel[str](0)

        async def produce(self) -> None:
            try:
                with self.scope:
                    gauge.call_started()
                    try:
                        await trio.sleep(math.inf)  # the call that never answers
                        await self.send.send("never")
                    finally:
                        gauge.cleanup_done()
            finally:
                self.send.close()
                self.done.set()

    async def consume() -> None:
        pair = Pair()
        trio.lowlevel.spawn_system_task(pair.produce)
        try:
            async for _item in pair.receive:
                pass
        finally:
            pair.scope.cancel()
            with trio.move_on_after(5.0) as scope:
                scope.shield = True
                await pair.done.wait()

    async def main() -> SideResult:
        tasks_before = len(_trio_app.all_tasks())
        async with trio.open_nursery() as nursery:
            for _ in range(runs):
                nursery.start_soon(consume)
            await gauge.all_entered.wait()
            tasks_in_flight = len(_trio_app.all_tasks()) - tasks_before
            watch = Stopwatch()
            watch.start()
            nursery.cancel_scope.cancel()
        timing = watch.stop()
        return {**timing, "all_cleaned_ms": timing["cancel_ms"], "cleaned": gauge.cleaned,
                "runs": runs, "tasks_in_flight": tasks_in_flight,
                "tasks_alive": len(_trio_app.all_tasks()) - tasks_before}

    return trio.run(main)


def rows(medians: Medians, size: Size, context: Context) -> list[Row]:
    ours, adk, floor = medians["trio"], medians["adk"], medians["floor"]
    runs = size["runs"]
    limit = TARGET_MS * runs / 1000
    time_row = Row(metric=f"{runs} runs: cancel until consumers finished", unit="ms",
                   trio=get(ours, "cancel_ms"), adk=get(adk, "cancel_ms"),
                   floor=get(floor, "cancel_ms"), target=f"< {limit:g} ms")
    time_row.checks = [None if time_row.trio is None else time_row.trio < limit]
    versus_floor = Row(metric=f"{runs} runs cancelled / {runs} bare trio pairs cancelled",
                       unit="x", trio=_over(ours, floor), adk=_over(adk, floor),
                       floor=1.0 if get(floor, "cancel_ms") else None,
                       target=f"<= {FLOOR_X:g}x")
    versus_floor.checks = [at_most(versus_floor.trio, FLOOR_X)]
    versus_adk = Row(metric="google-adk's cancel time / trio-adk's", unit="x",
                     trio=_speedup(ours, adk), adk=1.0 if get(adk, "cancel_ms") else None,
                     target=f">= {ADK_X:g}x", lower_is_better=False)
    versus_adk.checks = [at_least(versus_adk.trio, ADK_X)]
    cpu = Row(metric="the same, process CPU time (steadier on a shared machine)", unit="ms",
              trio=get(ours, "cancel_cpu_ms"), adk=get(adk, "cancel_cpu_ms"),
              floor=get(floor, "cancel_cpu_ms"))
    collector = Row(metric="of which in the garbage collector (CPU)", unit="ms",
                    trio=get(ours, "gc_ms"), adk=get(adk, "gc_ms"), floor=get(floor, "gc_ms"))
    cleaned = Row(metric="runs cleaned up by then", unit="runs", trio=get(ours, "cleaned"),
                  adk=get(adk, "cleaned"), target=f"all {runs}", lower_is_better=False)
    cleaned.checks = [None if cleaned.trio is None else cleaned.trio == runs]
    all_cleaned = Row(metric="cancel until every cleanup ran", unit="ms",
                      trio=get(ours, "all_cleaned_ms"), adk=get(adk, "all_cleaned_ms"))
    tasks = Row(metric="tasks still alive", unit="tasks", trio=get(ours, "tasks_alive"),
                adk=get(adk, "tasks_alive"), target="0")
    tasks.checks = [at_most(tasks.trio, 0)]
    sockets = Row(metric="sockets still open", unit="sockets", trio=get(ours, "sockets_alive"),
                  adk=get(adk, "sockets_alive"), target="0")
    sockets.checks = [at_most(sockets.trio, 0)]
    return [time_row, versus_floor, versus_adk, cpu, collector, cleaned, all_cleaned, tasks,
            sockets]


def _over(side: SideResult | None, floor: SideResult | None) -> float | None:
    """A side's cancel time in floors (None without both)."""
    ms, floor_ms = get(side, "cancel_ms"), get(floor, "cancel_ms")
    return None if ms is None or not floor_ms else ms / floor_ms


def _speedup(ours: SideResult | None, adk: SideResult | None) -> float | None:
    """How many times faster trio-adk cancels than google-adk (None without both)."""
    ms, adk_ms = get(ours, "cancel_ms"), get(adk, "cancel_ms")
    return None if ms is None or adk_ms is None or not ms else adk_ms / ms


if __name__ == "__main__":
    cli(SIZES, {"trio": trio_side, "adk": adk_side, "floor": floor_side})
