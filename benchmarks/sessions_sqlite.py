"""trio-adk's SqliteSessionService against google-adk's, on the same machine, in one run.

    .venv/bin/python benchmarks/sessions_sqlite.py                      # full sizes
    .venv/bin/python benchmarks/sessions_sqlite.py --quick              # tiny sizes
    .venv/bin/python benchmarks/sessions_sqlite.py --adk-python PATH    # google-adk's side

google-adk's side runs in its own interpreter (``--adk-python``, else the environment
variable ``TRIO_ADK_GOOGLE_ADK_PYTHON``, else ``benchmarks/.adk-venv/bin/python`` as
``compare.py`` creates it); without one, only trio-adk's figures are printed.  Each side
runs in a fresh subprocess of this script (``--side trio|adk``), so neither pays for the
other's imports or memory.

Figures:

* **append**: one ``append_event`` (a short text and a one-key state delta) on a session
  that already holds some events; the median over ``APPENDS`` appends, and the mean.
  trio-adk's default is WAL with ``synchronous=NORMAL`` (a commit survives the process
  crashing); its ``synchronous="full"`` row survives power loss too, fsyncing each commit.
* **load N**: ``get_session`` of a session of N events (10, 1,000, 5,000).  Both sides
  load the very same file: the sessions are written once, in google-adk's Sqlite-JSON
  layout, which both services read.  google-adk's figure is the median of ``LOADS``
  loads.  trio-adk's "first" is the median of ``LOADS`` loads each by a new service (the
  file opened anew, every event decoded; the process has loaded before, as google-adk's
  has in its median); "again" is the median of later loads by one service, which finds
  the session unchanged since its last load and reads no event row (its session
  snapshot; a runner loads its session on every run, so this is the common case in a
  long-running server).  ``benchmarks/sessions_reload.py`` measures reloads in detail,
  with appends by another service in between and with snapshots disabled.

Results go to ``benchmarks/results/sessions_sqlite.json`` and ``.md`` (``--quick``:
``sessions_sqlite-quick.*``).  "vs ADK" is ADK's time divided by trio-adk's: above 1 means
trio-adk is faster.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"
APP, USER = "bench", "user"
SIZES = {"full": (10, 1_000, 5_000), "quick": (10, 100, 300)}
APPENDS = {"full": 200, "quick": 20}
LOADS = {"full": 5, "quick": 3}
GOALS = {"append": 50.0, "load 5000, first": 10.0, "load 5000, again": 10.0}


def _text(i: int) -> str:
    return f"Event {i}: " + "a reasonably ordinary sentence of model output. " * 2


# ---- trio-adk's side ---------------------------------------------------------------------

def trio_side(command: str, path: str, size: str) -> dict[str, Any]:
    import trio
    from google.genai import types

    from trio_adk.events import Event, EventActions
    from trio_adk.sessions import SqliteSessionService

    def event(i: int) -> Event:
        return Event(author="agent", invocation_id=f"inv-{i // 10}",
                     content=types.Content(role="model", parts=[types.Part(text=_text(i))]),
                     actions=EventActions(state_delta={"counter": i}))

    async def populate() -> dict[str, Any]:
        service = SqliteSessionService(path)
        try:
            for n in SIZES[size]:
                session = await service.create_session(app_name=APP, user_id=USER,
                                                        session_id=f"load-{n}")
                for i in range(n):
                    await service.append_event(session, event(i))
        finally:
            await service.close()
        return {}

    async def measure(synchronous: str) -> dict[str, Any]:
        service = SqliteSessionService(path, synchronous=synchronous)  # type: ignore[arg-type]
        try:
            session = await service.create_session(app_name=APP, user_id=USER)
            for i in range(10):
                await service.append_event(session, event(i))
            appends = []
            for i in range(APPENDS[size]):
                item = event(10 + i)
                start = time.perf_counter()
                await service.append_event(session, item)
                appends.append(time.perf_counter() - start)
            loads: dict[str, list[float]] = {}
            cold: dict[str, list[float]] = {}
            if synchronous == "normal":
                for n in SIZES[size]:
                    # Cold: a new service each time (nothing decoded yet, the file
                    # opened anew), in a process that has loaded before.
                    cold[str(n)] = []
                    for _ in range(LOADS[size]):
                        fresh = SqliteSessionService(path)
                        try:
                            cold[str(n)].append(await timed_load(fresh, n))
                        finally:
                            await fresh.close()
                    # Again: the same service, after its first load.
                    await timed_load(service, n)
                    loads[str(n)] = [await timed_load(service, n)
                                     for _ in range(LOADS[size])]
        finally:
            await service.close()
        return {"appends": appends, "loads": loads, "cold": cold}

    async def timed_load(service: SqliteSessionService, n: int) -> float:
        start = time.perf_counter()
        loaded = await service.get_session(app_name=APP, user_id=USER,
                                           session_id=f"load-{n}")
        elapsed = time.perf_counter() - start
        assert loaded is not None and n == len(loaded.events)
        return elapsed

    if command == "populate":
        return trio.run(populate)
    return trio.run(measure, command)


# ---- google-adk's side -------------------------------------------------------------------

def adk_side(path: str, size: str) -> dict[str, Any]:
    from google.adk import version
    from google.adk.events import Event, EventActions
    from google.adk.sessions.sqlite_session_service import SqliteSessionService
    from google.genai import types

    def event(i: int) -> Event:
        return Event(author="agent", invocation_id=f"inv-{i // 10}",
                     content=types.Content(role="model", parts=[types.Part(text=_text(i))]),
                     actions=EventActions(state_delta={"counter": i}))

    async def measure() -> dict[str, Any]:
        service = SqliteSessionService(path)
        try:
            session = await service.create_session(app_name=APP, user_id=USER)
            for i in range(10):
                await service.append_event(session, event(i))
            appends = []
            for i in range(APPENDS[size]):
                item = event(10 + i)
                start = time.perf_counter()
                await service.append_event(session, item)
                appends.append(time.perf_counter() - start)
            loads: dict[str, list[float]] = {}
            for n in SIZES[size]:
                loads[str(n)] = []
                for _ in range(LOADS[size]):
                    start = time.perf_counter()
                    loaded = await service.get_session(app_name=APP, user_id=USER,
                                                       session_id=f"load-{n}")
                    loads[str(n)].append(time.perf_counter() - start)
                    assert loaded is not None and n == len(loaded.events)
        finally:
            await service.close()
        return {"appends": appends, "loads": loads, "version": version.__version__}

    return asyncio.run(measure())


# ---- driver ------------------------------------------------------------------------------

def run_side(python: str, side: str, command: str, path: Path, size: str) -> dict[str, Any]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(BENCH.parent / "src"),
                                                       os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run([python, __file__, "--side", side, "--command", command,
                           "--path", str(path), "--size", size],
                          capture_output=True, text=True, env=env, timeout=3600, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the {side} side failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _adk_python(option: str | None) -> str | None:
    for candidate in (option, os.environ.get("TRIO_ADK_GOOGLE_ADK_PYTHON"),
                      str(BENCH / ".adk-venv" / "bin" / "python")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:,.0f} µs" if seconds < 0.01 else f"{seconds * 1e3:,.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes")
    parser.add_argument("--adk-python", default=None, help="google-adk's interpreter")
    parser.add_argument("--side", choices=("trio", "adk"), help=argparse.SUPPRESS)
    parser.add_argument("--command", help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    parser.add_argument("--size", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side == "trio":
        print(json.dumps(trio_side(args.command, args.path, args.size)))
        return
    if args.side == "adk":
        print(json.dumps(adk_side(args.path, args.size)))
        return

    size = "quick" if args.quick else "full"
    adk_python = _adk_python(args.adk_python)
    with tempfile.TemporaryDirectory() as scratch:
        base = Path(scratch) / "base.db"
        run_side(sys.executable, "trio", "populate", base, size)
        sides: dict[str, dict[str, Any]] = {}
        for name, python, side, command in (
                ("trio-adk", sys.executable, "trio", "normal"),
                ("trio-adk full", sys.executable, "trio", "full"),
                ("google-adk", adk_python, "adk", "")):
            if python is None:
                continue
            copy = Path(scratch) / f"{side}-{command or 'adk'}.db"
            _copy(base, copy)
            sides[name] = run_side(python, side, command, copy, size)

    rows: list[dict[str, Any]] = []

    def row(figure: str, ours: list[float], theirs: list[float] | None) -> None:
        mine = statistics.median(ours)
        adk = statistics.median(theirs) if theirs else None
        ratio = adk / mine if adk else None
        goal = GOALS.get(figure)
        rows.append({"figure": figure, "trio_adk_s": mine, "google_adk_s": adk,
                     "vs_adk": ratio, "goal": goal,
                     "met": None if ratio is None or goal is None else ratio >= goal})

    adk = sides.get("google-adk")
    row("append", sides["trio-adk"]["appends"], adk["appends"] if adk else None)
    row("append (synchronous=full)", sides["trio-adk full"]["appends"],
        adk["appends"] if adk else None)
    for n in SIZES[size]:
        theirs = adk["loads"][str(n)] if adk else None
        row(f"load {n}, first", sides["trio-adk"]["cold"][str(n)], theirs)
        row(f"load {n}, again", sides["trio-adk"]["loads"][str(n)], theirs)

    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    version = adk["version"] if adk else "not run (no google-adk interpreter)"
    lines = [f"SqliteSessionService, trio-adk vs google-adk {version} ({machine}); medians.",
             "", "| figure | trio-adk | google-adk | vs ADK | goal | met |",
             "|---|---:|---:|---:|---:|:-:|"]
    for r in rows:
        theirs = _us(r["google_adk_s"]) if r["google_adk_s"] is not None else "—"
        ratio = f"{r['vs_adk']:,.0f}x" if r["vs_adk"] is not None else "—"
        goal = f"≥{r['goal']:.0f}x" if r["goal"] else ""
        met = {True: "yes", False: "no", None: ""}[r["met"]]
        lines.append(f"| {r['figure']} | {_us(r['trio_adk_s'])} | {theirs} | {ratio} | "
                     f"{goal} | {met} |")
    table = "\n".join(lines)
    print(table)
    stem = "sessions_sqlite-quick" if args.quick else "sessions_sqlite"
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{stem}.md").write_text(table + "\n")
    (RESULTS / f"{stem}.json").write_text(json.dumps(
        {"machine": machine, "google_adk": version, "size": size, "rows": rows,
         "sides": sides}, indent=1) + "\n")


def _copy(source: Path, target: Path) -> None:
    """A consistent copy of ``source`` (SQLite's backup API), in the rollback-journal
    mode google-adk's own files have (trio-adk switches its copy to WAL when it opens it)."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
        dst.execute("PRAGMA journal_mode = DELETE")


if __name__ == "__main__":
    main()
