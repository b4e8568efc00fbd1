"""Per-run overhead of trio-adk with an instant in-process model.

A run is one user turn answered by one scripted text reply, through InMemoryRunner.
Reported beside the floor measured in the same process: the same number of events
passed through a bare zero-buffer trio channel.

    python benchmarks/overhead.py [--runs 5000] [--sessions 1000] [--turns 5] [--repeat 5]
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import resource
import statistics
import time
from pathlib import Path

import trio
from google.genai import types

from trio_adk import Agent, InMemoryRunner
from trio_adk.testing import ScriptedModel

MESSAGE = types.Content(role="user", parts=[types.Part(text="hi")])


def _runner() -> InMemoryRunner:
    agent = Agent(name="bench", model=ScriptedModel(replies=["hello"], repeat=True))
    return InMemoryRunner(agent, app_name="bench")


async def _one_turn(runner: InMemoryRunner, session_id: str) -> None:
    gen = runner.run_async(user_id="u", session_id=session_id, new_message=MESSAGE)
    async for _ in gen:
        pass


async def sequential(runs: int) -> float:
    """Microseconds per run, one run at a time, each on a fresh session."""
    runner = _runner()
    ids = [f"s{i}" for i in range(runs)]
    for sid in ids:
        await runner.session_service.create_session(app_name="bench", user_id="u",
                                                    session_id=sid)
    start = time.perf_counter()
    for sid in ids:
        await _one_turn(runner, sid)
    elapsed = time.perf_counter() - start
    await runner.close()
    return elapsed / runs * 1e6


async def concurrent(sessions: int, turns: int) -> float:
    """Microseconds per run with ``sessions`` conversations of ``turns`` turns at once."""
    runner = _runner()

    async def conversation(sid: str) -> None:
        for _ in range(turns):
            await _one_turn(runner, sid)

    start = time.perf_counter()
    async with trio.open_nursery() as nursery:
        for i in range(sessions):
            nursery.start_soon(conversation, f"c{i}")
    elapsed = time.perf_counter() - start
    await runner.close()
    return elapsed / (sessions * turns) * 1e6


async def floor_sequential(events: int) -> float:
    """Microseconds per event through a bare zero-buffer channel (one producer)."""
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
    return (time.perf_counter() - start) / events * 1e6


async def floor_concurrent(pairs: int, events: int) -> float:
    """Microseconds per event with ``pairs`` producer/consumer channel pairs at once."""

    async def pair() -> None:
        send, receive = trio.open_memory_channel[object](0)

        async def produce() -> None:
            async with send:
                for i in range(events):
                    await send.send(i)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(produce)
            async with receive:
                async for _ in receive:
                    pass

    start = time.perf_counter()
    async with trio.open_nursery() as nursery:
        for _ in range(pairs):
            nursery.start_soon(pair)
    return (time.perf_counter() - start) / (pairs * events) * 1e6


async def main(args: argparse.Namespace) -> dict[str, float]:
    results: dict[str, list[float]] = {k: [] for k in
                                       ("seq", "seq_floor", "conc", "conc_floor")}
    await sequential(min(200, args.runs))  # warm-up
    for _ in range(args.repeat):  # alternate so machine noise hits both
        gc.collect()
        results["seq_floor"].append(await floor_sequential(args.runs))
        results["seq"].append(await sequential(args.runs))
        results["conc_floor"].append(await floor_concurrent(args.sessions, args.turns))
        results["conc"].append(await concurrent(args.sessions, args.turns))
    return {k: statistics.median(v) for k, v in results.items()}


def report(figures: dict[str, float], args: argparse.Namespace) -> None:
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rows = [
        ("1 session, sequential", figures["seq"], figures["seq_floor"]),
        (f"{args.sessions} sessions x {args.turns} turns, concurrent", figures["conc"],
         figures["conc_floor"]),
    ]
    print(f"trio-adk overhead, median of {args.repeat} (python {platform.python_version()}, "
          f"{platform.machine()})")
    print(f"{'scenario':<40} {'us/run':>10} {'floor us':>10} {'x floor':>9}")
    for name, value, floor in rows:
        print(f"{name:<40} {value:>10.1f} {floor:>10.2f} {value / floor:>9.1f}")
    print(f"peak RSS: {rss_mib:.1f} MiB")
    out = Path(__file__).parent / "results" / "overhead.json"
    out.write_text(json.dumps({**figures, "peak_rss_mib": rss_mib, "args": vars(args)},
                              indent=2) + "\n")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5000)
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--turns", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=5)
    parsed = parser.parse_args()
    report(trio.run(main, parsed), parsed)
