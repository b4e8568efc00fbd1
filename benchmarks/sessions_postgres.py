"""DatabaseSessionService on PostgreSQL: trio-adk vs google-adk, same database, same run.

    .venv/bin/python benchmarks/sessions_postgres.py [--adk-python PATH] [--appends N]

Creates a scratch database on 127.0.0.1:5432 (user postgres), lets each side fill its own
sessions through its own ``append_event`` (10, 1,000 and 5,000 events), and measures the
median append latency and the median time of ``get_session`` for each size.  google-adk
runs in its own interpreter (``--adk-python``, default $TRIO_ADK_GOOGLE_ADK_PYTHON; it
needs ``sqlalchemy[asyncio]`` and ``asyncpg``) with ``postgresql+asyncpg://``; this file
is its script too (``--side adk``), importing only google-adk there.  Prints a table with
ratios (ADK's time divided by ours: above 1 means trio-adk is faster).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

SIZES = (10, 1000, 5000)
LOADS = 7
HOST = "127.0.0.1:5432"


def _text(i: int) -> str:
    return f"message {i}: " + "lorem ipsum dolor sit amet " * 4


async def _trio_side(url: str, appends: int) -> dict[str, Any]:
    from google.genai import types

    from trio_adk.events import Event, EventActions
    from trio_adk.sessions.database_session_service import DatabaseSessionService

    def event(i: int) -> Any:
        return Event(author="user", invocation_id="inv", content=types.Content(
            role="user", parts=[types.Part(text=_text(i))]),
            actions=EventActions(state_delta={"n": i}))

    return await _measure(DatabaseSessionService(url), event, "bench-trio", appends)


async def _adk_side(url: str, appends: int) -> dict[str, Any]:
    from google.adk.events import Event, EventActions
    from google.adk.sessions import DatabaseSessionService
    from google.genai import types

    def event(i: int) -> Any:
        return Event(author="user", invocation_id="inv", content=types.Content(
            role="user", parts=[types.Part(text=_text(i))]),
            actions=EventActions(state_delta={"n": i}))

    return await _measure(DatabaseSessionService(url), event, "bench-adk", appends)


async def _measure(service: Any, event: Callable[[int], Any], app: str,
                   appends: int) -> dict[str, Any]:
    """Fill a session of each size through ``service`` (either side's service, run by its
    own event loop) and time the appends and the loads; closes ``service``."""
    result: dict[str, Any] = {"append_ms": None, "load_ms": {}}
    try:
        await service.prepare_tables()
        for size in SIZES:
            session = await service.create_session(app_name=app, user_id="u")
            times = []
            for i in range(size):
                one = event(i)
                start = time.perf_counter()
                await service.append_event(session, one)
                times.append(time.perf_counter() - start)
            if size == max(SIZES):
                result["append_ms"] = statistics.median(times[:appends]) * 1000
            loads = []
            for _ in range(LOADS):
                start = time.perf_counter()
                got = await service.get_session(app_name=app, user_id="u",
                                                session_id=session.id)
                loads.append(time.perf_counter() - start)
                assert got is not None and size == len(got.events)
            result["load_ms"][str(size)] = statistics.median(loads) * 1000
    finally:
        await service.close()
    return result


def _admin(sql: str) -> None:
    subprocess.run(["psql", "-q", "-h", HOST.split(":")[0], "-U", "postgres", "-d", "test",
                    "-c", sql], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--side", choices=("trio", "adk", "both"), default="both")
    parser.add_argument("--url")
    parser.add_argument("--appends", type=int, default=1000,
                        help="appends whose median is reported (from the 5,000-event fill)")
    parser.add_argument("--adk-python", default=os.environ.get("TRIO_ADK_GOOGLE_ADK_PYTHON"))
    args = parser.parse_args()
    if args.side == "adk":
        import asyncio

        print(json.dumps(asyncio.run(_adk_side(args.url, args.appends))))
        return
    if args.side == "trio":
        import trio

        print(json.dumps(trio.run(_trio_side, args.url, args.appends)))
        return

    name = f"trio_adk_bench_{secrets.token_hex(4)}"
    _admin(f'CREATE DATABASE "{name}"')
    url = f"postgresql://postgres@{HOST}/{name}"
    try:
        import trio

        ours = trio.run(_trio_side, url, args.appends)
        theirs = None
        if args.adk_python:
            done = subprocess.run(
                [args.adk_python, __file__, "--side", "adk", "--appends", str(args.appends),
                 "--url", url.replace("postgresql://", "postgresql+asyncpg://", 1)],
                capture_output=True, text=True, check=True)
            theirs = json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def row(label: str, mine: float, adk: float | None) -> str:
        adk_cell = f"{adk:9.2f}" if adk is not None else "  skipped"
        ratio = f"{adk / mine:6.1f}x" if adk is not None else "    n/a"
        return f"| {label:<26} | {mine:9.2f} | {adk_cell} | {ratio} |"

    print("| figure (ms, median)        |  trio-adk | google-adk | vs ADK |")
    print("|----------------------------|-----------|-----------|--------|")
    print(row("append_event", ours["append_ms"], theirs and theirs["append_ms"]))
    for size in SIZES:
        print(row(f"get_session, {size:,} events", ours["load_ms"][str(size)],
                  theirs and theirs["load_ms"][str(size)]))
    if theirs is None:
        print("google-adk skipped: pass --adk-python or set TRIO_ADK_GOOGLE_ADK_PYTHON",
              file=sys.stderr)


if __name__ == "__main__":
    main()
