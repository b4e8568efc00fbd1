"""Per-event cost of each caller kind, and the time close() takes with runs in flight.

Workload: a custom BaseAgent that yields N small (text, persisted) events, consumed

* by a trio caller: ``async for event in runner.run_async(...)`` inside ``trio.run``;
* by an asyncio caller: the same loop inside ``asyncio.run`` (trio runs as a guest);
* by a sync caller: ``for event in runner.run(...)`` (trio on a worker thread);

each beside the floor measured just before it in the same process: N objects through a
bare zero-buffer trio memory channel.  Then ``close()`` is timed with many runs in
flight (each parked after its first event), from trio and from asyncio.

Targets (issue 3): asyncio within 1.5x of trio per event; sync within 3x; close() with
1,000 in-flight runs under 100 ms.

    python benchmarks/callers.py [--events 100000] [--repeat 3] [--close-runs 1000] [--big]
    python benchmarks/callers.py --quick        # tiny sizes: checks that the script runs
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import gc
import json
import platform
import statistics
import sys
import threading
import time
from collections.abc import AsyncGenerator, Callable
from pathlib import Path
from typing import Any

import anyio
import trio
import trio.testing
from google.genai import types

from trio_adk import Runner
from trio_adk.agents import BaseAgent, InvocationContext
from trio_adk.errors import RunnerClosedError
from trio_adk.events import Event
from trio_adk.sessions import InMemorySessionService

APP = "bench"
USER = "u"
MESSAGE = types.Content(role="user", parts=[types.Part(text="go")])
TARGETS = {"asyncio_x_trio": 1.5, "sync_x_trio": 3.0, "close_1000_ms": 100.0}
DEFAULT_JSON = Path(__file__).parent / "results" / "callers.json"


# ---- the workload ------------------------------------------------------------------------

_PART = types.Part(text="x")


class Emitter(BaseAgent):
    """Yields ``count`` small text events, then ends."""

    count: int = 0

    async def _run_async_impl(
        self, ctx: InvocationContext
    ) -> AsyncGenerator[Event, None]:
        content = types.Content(role="model", parts=[_PART])
        for _ in range(self.count):
            yield Event(author=self.name, invocation_id=ctx.invocation_id, content=content)


class Parker(BaseAgent):
    """Yields one event, then waits until cancelled (a run in flight)."""

    async def _run_async_impl(
        self, ctx: InvocationContext
    ) -> AsyncGenerator[Event, None]:
        yield Event(author=self.name, invocation_id=ctx.invocation_id,
                    content=types.Content(role="model", parts=[_PART]))
        await anyio.sleep_forever()  # user code: runs on the caller's library


def _runner(agent: BaseAgent) -> Runner:
    return Runner(app_name=APP, agent=agent, session_service=InMemorySessionService(),
                  auto_create_session=True)


def _kwargs(session_id: str) -> dict[str, Any]:
    return {"user_id": USER, "session_id": session_id, "new_message": MESSAGE}


# ---- the floor -----------------------------------------------------------------------------


async def _floor(events: int) -> float:
    """Seconds for ``events`` objects through a bare zero-buffer trio channel."""
    send, receive = trio.open_memory_channel[object](0)

    async def produce() -> None:
        async with send:
            for i in range(events):
                await send.send(i)

    start = time.perf_counter()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(produce)
        async with receive:
            async for _ in receive:
                pass
    return time.perf_counter() - start


def floor(events: int) -> float:
    return trio.run(_floor, events)


def thread_floor(events: int) -> float:
    """Seconds for ``events`` objects pulled one at a time from a trio run on another
    thread (``trio.from_thread.run(receive)``): the cost of a strict one-event hand-off
    between threads, which a sync caller with no prefetch pays per event."""
    ready = threading.Event()
    box: dict[str, Any] = {}

    async def host() -> None:
        send, receive = trio.open_memory_channel[object](0)
        box["token"], box["receive"], box["stop"] = \
            trio.lowlevel.current_trio_token(), receive, trio.Event()

        async def produce() -> None:
            async with send:
                for i in range(events):
                    await send.send(i)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(produce)
            ready.set()
            await box["stop"].wait()

    thread = threading.Thread(target=trio.run, args=(host,), name="bench.thread-floor")
    thread.start()
    ready.wait()
    token, receive = box["token"], box["receive"]
    start = time.perf_counter()
    for _ in range(events):
        trio.from_thread.run(receive.receive, trio_token=token)
    elapsed = time.perf_counter() - start
    token.run_sync_soon(box["stop"].set)
    thread.join()
    return elapsed


# ---- per-event paths -------------------------------------------------------------------------
# Each returns (seconds, events received); a short warm-up run on another session first.


async def _trio_path(events: int) -> tuple[float, int]:
    runner = _runner(Emitter(name="emitter", count=events))
    runner.agent.count = 10  # type: ignore[attr-defined]
    async with contextlib.aclosing(runner.run_async(**_kwargs("warm"))) as gen:
        async for _ in gen:
            pass
    runner.agent.count = events  # type: ignore[attr-defined]
    got = 0
    start = time.perf_counter()
    async with contextlib.aclosing(runner.run_async(**_kwargs("s"))) as gen:
        async for _ in gen:
            got += 1
    elapsed = time.perf_counter() - start
    await runner.close()
    return elapsed, got


def trio_path(events: int) -> tuple[float, int]:
    return trio.run(_trio_path, events)


async def _asyncio_path(events: int) -> tuple[float, int]:
    runner = _runner(Emitter(name="emitter", count=10))
    async with contextlib.aclosing(runner.run_async(**_kwargs("warm"))) as gen:
        async for _ in gen:  # also starts the guest run, which lingers for the next run
            pass
    runner.agent.count = events  # type: ignore[attr-defined]
    got = 0
    start = time.perf_counter()
    async with contextlib.aclosing(runner.run_async(**_kwargs("s"))) as gen:
        async for _ in gen:
            got += 1
    elapsed = time.perf_counter() - start
    await runner.close()
    return elapsed, got


def asyncio_path(events: int) -> tuple[float, int]:
    return asyncio.run(_asyncio_path(events))


def sync_path(events: int) -> tuple[float, int]:
    runner = _runner(Emitter(name="emitter", count=10))
    with contextlib.closing(runner.run(**_kwargs("warm"))) as gen:
        for _ in gen:
            pass
    runner.agent.count = events  # type: ignore[attr-defined]
    got = 0
    start = time.perf_counter()
    with contextlib.closing(runner.run(**_kwargs("s"))) as gen:
        for _ in gen:
            got += 1
    elapsed = time.perf_counter() - start
    runner.close()
    return elapsed, got


# ---- close() with runs in flight ----------------------------------------------------------


class _ParkedRuns:
    """``runs`` consumers of runs that park mid-run; ``all_started`` (a trio or an asyncio
    event) is set once every run has begun; :attr:`ended` says how each consumer ended."""

    def __init__(self, runs: int, all_started: trio.Event | asyncio.Event) -> None:
        self.runner = _runner(Parker(name="parker"))
        self._runs = runs
        self._started = 0
        self._all_started = all_started
        self.ended: list[type[BaseException] | None] = []

    async def consume(self, session_id: str) -> None:
        try:
            async with contextlib.aclosing(self.runner.run_async(**_kwargs(session_id))) as gen:
                async for _ in gen:
                    self._started += 1
                    if self._started == self._runs:
                        self._all_started.set()
        except RunnerClosedError as exc:
            self.ended.append(type(exc))
        else:
            self.ended.append(None)


async def _trio_close(runs: int) -> tuple[float, int]:
    """Seconds from ``close()`` to its return with ``runs`` runs parked mid-run (trio)."""
    all_started = trio.Event()
    parked = _ParkedRuns(runs, all_started)
    async with trio.open_nursery() as nursery:
        for i in range(runs):
            nursery.start_soon(parked.consume, f"s{i}")
        await all_started.wait()
        await trio.testing.wait_all_tasks_blocked()
        gc.collect()
        start = time.perf_counter()
        await parked.runner.close()
        elapsed = time.perf_counter() - start
    return elapsed, parked.ended.count(RunnerClosedError)


def trio_close(runs: int) -> tuple[float, int]:
    return trio.run(_trio_close, runs)


async def _asyncio_close(runs: int) -> tuple[float, int]:
    """The same with asyncio consumers (one task each) on one guest run."""
    all_started = asyncio.Event()
    parked = _ParkedRuns(runs, all_started)
    tasks = [asyncio.create_task(parked.consume(f"s{i}")) for i in range(runs)]
    await all_started.wait()
    await asyncio.sleep(0.01)
    gc.collect()
    start = time.perf_counter()
    await parked.runner.close()
    elapsed = time.perf_counter() - start
    await asyncio.gather(*tasks)
    return elapsed, parked.ended.count(RunnerClosedError)


def asyncio_close(runs: int) -> tuple[float, int]:
    return asyncio.run(_asyncio_close(runs))


# ---- driver -------------------------------------------------------------------------------


def _median_of(repeat: int, fn: Callable[[], tuple[float, int]], expect: int) -> float:
    times = []
    for _ in range(repeat):
        gc.collect()
        elapsed, count = fn()
        if count != expect:
            raise SystemExit(f"{fn}: expected {expect}, got {count}")
        times.append(elapsed)
    return statistics.median(times)


def measure(args: argparse.Namespace) -> dict[str, Any]:
    n = args.events
    paths = {"trio": trio_path, "asyncio": asyncio_path, "sync": sync_path}
    per_event: dict[str, dict[str, float]] = {}
    for name, path in paths.items():
        floors, times = [], []
        for _ in range(args.repeat):  # floor right before each measurement
            gc.collect()
            floors.append(floor(n))
            gc.collect()
            elapsed, got = path(n)
            if got != n:
                raise SystemExit(f"{name}: expected {n} events, got {got}")
            times.append(elapsed)
        per_event[name] = {
            "us_per_event": statistics.median(times) / n * 1e6,
            "floor_us_per_event": statistics.median(floors) / n * 1e6,
        }
    per_event["sync"]["thread_floor_us_per_event"] = statistics.median(
        thread_floor(n) for _ in range(args.repeat)) / n * 1e6
    trio_us = per_event["trio"]["us_per_event"]
    for figures in per_event.values():
        figures["x_trio"] = figures["us_per_event"] / trio_us
        figures["x_floor"] = figures["us_per_event"] / figures["floor_us_per_event"]

    close_ms: dict[str, float] = {}
    sizes = [args.close_runs] + ([10_000] if args.big else [])
    for size in sizes:
        close_ms[f"trio_{size}"] = _median_of(args.repeat, functools.partial(trio_close, size),
                                              size) * 1e3
        close_ms[f"asyncio_{size}"] = _median_of(
            args.repeat, functools.partial(asyncio_close, size), size) * 1e3
    return {"per_event": per_event, "close_ms": close_ms}


def trio_us_of(per_event: dict[str, dict[str, float]]) -> float:
    return per_event["trio"]["us_per_event"]


def _verdict(ok: bool) -> str:
    return "pass" if ok else "FAIL"


def report(results: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    per_event, close_ms = results["per_event"], results["close_ms"]
    checks: dict[str, dict[str, Any]] = {}
    print(f"trio-adk callers: {args.events} events per run, median of {args.repeat} "
          f"(python {platform.python_version()}, trio {trio.__version__}, "
          f"{platform.machine()})")
    print(f"{'path':<22} {'us/event':>9} {'floor us':>9} {'x floor':>8} {'x trio':>7} "
          f"{'target':>8} {'':>5}")
    targets = {"asyncio": TARGETS["asyncio_x_trio"], "sync": TARGETS["sync_x_trio"]}
    labels = {"trio": "trio run_async", "asyncio": "asyncio run_async", "sync": "sync run()"}
    for name, figures in per_event.items():
        target = targets.get(name)
        verdict = ""
        if target is not None:
            ok = figures["x_trio"] <= target
            verdict = _verdict(ok)
            checks[f"{name}_x_trio"] = {"value": figures["x_trio"], "target": target, "ok": ok}
        target_text = f"<={target:.1f}x" if target is not None else ""
        print(f"{labels[name]:<22} {figures['us_per_event']:>9.2f} "
              f"{figures['floor_us_per_event']:>9.2f} {figures['x_floor']:>8.1f} "
              f"{figures['x_trio']:>7.2f} {target_text:>8} {verdict:>5}")
    sync = per_event["sync"]
    print(f"sync hand-off floor: {sync['thread_floor_us_per_event']:.2f} us/event "
          "(one event pulled per thread round trip, bare trio channel); "
          f"the sync target is {TARGETS['sync_x_trio'] * trio_us_of(per_event):.2f} us/event")
    print()
    print(f"{'close() with runs in flight':<34} {'ms':>9} {'target':>9} {'':>5}")
    for key, value in close_ms.items():
        caller, size = key.split("_")
        target = TARGETS["close_1000_ms"] if size == "1000" and caller == "trio" else None
        verdict = ""
        if target is not None:
            ok = value < target
            verdict = _verdict(ok)
            checks[f"close_{key}"] = {"value": value, "target": target, "ok": ok}
        target_text = f"<{target:.0f} ms" if target is not None else ""
        print(f"{f'{caller} callers, {int(size):,} runs':<34} {value:>9.1f} {target_text:>9} "
              f"{verdict:>5}")
    return checks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100_000,
                        help="events per run on each path (default 100000)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (median)")
    parser.add_argument("--close-runs", type=int, default=1000,
                        help="in-flight runs when timing close() (default 1000)")
    parser.add_argument("--big", action="store_true", help="also time close() with 10,000")
    parser.add_argument("--quick", action="store_true",
                        help="tiny sizes (2,000 events, 50 runs, once): checks the script runs")
    parser.add_argument("--json", type=Path, default=None,
                        help=f"where to write the results (default {DEFAULT_JSON}; "
                        "with --quick, nowhere unless given)")
    args = parser.parse_args(argv)
    if args.quick:
        args.events, args.repeat, args.close_runs, args.big = 2000, 1, 50, False
    results = measure(args)
    checks = report(results, args)
    out = args.json if args.json is not None else (None if args.quick else DEFAULT_JSON)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({
            **results, "checks": checks, "targets": TARGETS,
            "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "python": platform.python_version(), "trio": trio.__version__,
        }, indent=2) + "\n")
        print(f"\nwrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
