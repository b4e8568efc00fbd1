"""Per-turn session reload on the durable stores, with and without snapshots (issue 18).

    .venv/bin/python benchmarks/sessions_reload.py                    # SQLite, PostgreSQL
    .venv/bin/python benchmarks/sessions_reload.py --store sqlite --quick
    .venv/bin/python benchmarks/sessions_reload.py --adk-python .venv-adk/bin/python
    .venv/bin/python benchmarks/sessions_reload.py --no-snapshot      # baseline only

A runner loads its session at the start of every turn.  For sessions of 10, 1,000 and
4,000 stored events this prints the time of one ``get_session`` by a service that
loaded the session before:

* **unchanged**: nothing was stored since this service last loaded it;
* **+1 elsewhere**: another service instance (as another process would) appended one
  event since (each measured load follows one such append, so the session grows by one
  event per load: at most ``ROUNDS * LOADS`` events, noted in the table);

each with the service's session snapshots ("snapshot", the default) and with them
disabled (``SessionSnapshots(0)``: every row read, as before; SQLite's decoded-event
cache still serves the decoding), measured in the same run, alternating.  The ratio
"4,000 / 10" says how the cost grows with the history.  With ``--adk-python``,
google-adk's ``get_session`` on the very same data (the Sqlite-JSON file through its
``SqliteSessionService``; the PostgreSQL database through its
``DatabaseSessionService`` on ``postgresql+asyncpg://``) runs in that interpreter.

Noise: the figure is the median of ``ROUNDS`` round medians (each of ``LOADS``
loads); the spread printed is the lowest and highest round median.  The machine is
shared: compare ratios within one run.  Prints only (``--out FILE`` writes JSON).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

APP, USER = "bench", "user"
SIZES = {"full": (10, 1_000, 4_000), "quick": (10, 100, 400)}
ROUNDS = {"full": 5, "quick": 3}
LOADS = {"full": 20, "quick": 5}
PG_HOST = "127.0.0.1:5432"


def _text(i: int) -> str:
    return f"Event {i}: " + "a reasonably ordinary sentence of model output. " * 2


def _stats(rounds: list[list[float]]) -> dict[str, float]:
    medians = [statistics.median(r) for r in rounds]
    return {"median": statistics.median(medians), "low": min(medians),
            "high": max(medians)}


# ---- trio-adk's side -------------------------------------------------------------------


def trio_side(store: str, target: str, size: str, modes: list[str]) -> dict[str, Any]:
    import trio
    from google.genai import types

    from trio_adk.events import Event, EventActions
    from trio_adk.sessions import BaseSessionService
    from trio_adk.sessions._storage._snapshots import SessionSnapshots

    def event(i: int) -> Event:
        return Event(author="agent", invocation_id=f"inv-{i // 10}",
                     content=types.Content(role="model", parts=[types.Part(text=_text(i))]),
                     actions=EventActions(state_delta={"counter": i}))

    def open_service() -> BaseSessionService:
        if store == "sqlite":
            from trio_adk.sessions import SqliteSessionService

            return SqliteSessionService(target)
        from trio_adk.sessions import DatabaseSessionService

        return DatabaseSessionService(target)

    async def fill(service: BaseSessionService, sid: str, n: int) -> None:
        session = await service.create_session(app_name=APP, user_id=USER, session_id=sid)
        for i in range(n):
            await service.append_event(session, event(i))

    async def timed(service: BaseSessionService, sid: str, n: int | None) -> float:
        start = time.perf_counter()
        loaded = await service.get_session(app_name=APP, user_id=USER, session_id=sid)
        elapsed = time.perf_counter() - start
        assert loaded is not None and (n is None or n == len(loaded.events))
        return elapsed

    async def main() -> dict[str, Any]:
        filler = open_service()
        try:
            for n in SIZES[size]:
                await fill(filler, f"reload-{n}", n)  # also read by google-adk's side
                for mode in modes:
                    await fill(filler, f"grow-{n}-{mode}", n)
        finally:
            await filler.close()
        result: dict[str, Any] = {}
        services = {mode: (open_service(), open_service()) for mode in modes}
        try:
            for mode, (mine, _) in services.items():
                if mode == "baseline":
                    mine._snapshots = SessionSnapshots(0)  # type: ignore[attr-defined]
            for n in SIZES[size]:
                unchanged: dict[str, list[list[float]]] = {m: [] for m in modes}
                grown: dict[str, list[list[float]]] = {m: [] for m in modes}
                counter = n
                for mode, (mine, _) in services.items():  # first loads: not measured
                    await timed(mine, f"reload-{n}", n)
                    await timed(mine, f"grow-{n}-{mode}", None)
                for _ in range(ROUNDS[size]):
                    for mode, (mine, other) in services.items():
                        unchanged[mode].append([await timed(mine, f"reload-{n}", n)
                                                for _ in range(LOADS[size])])
                        times = []
                        for _ in range(LOADS[size]):
                            sid = f"grow-{n}-{mode}"
                            copy = await other.get_session(app_name=APP, user_id=USER,
                                                           session_id=sid)
                            assert copy is not None
                            counter += 1
                            await other.append_event(copy, event(counter))
                            times.append(await timed(mine, sid, None))
                        grown[mode].append(times)
                result[str(n)] = {m: {"unchanged": _stats(unchanged[m]),
                                      "grown": _stats(grown[m])} for m in modes}
        finally:
            for pair in services.values():
                for service in pair:
                    await service.close()
        return result

    return trio.run(main)


# ---- google-adk's side -----------------------------------------------------------------


def adk_side(store: str, target: str, size: str) -> dict[str, Any]:
    async def main() -> dict[str, Any]:
        if store == "sqlite":
            from google.adk.sessions.sqlite_session_service import SqliteSessionService

            service: Any = SqliteSessionService(target)
        else:
            from google.adk.sessions import DatabaseSessionService

            service = DatabaseSessionService(target)
        result: dict[str, Any] = {}
        try:
            for n in SIZES[size]:
                rounds = []
                for _ in range(ROUNDS[size]):
                    times = []
                    for _ in range(LOADS[size]):
                        start = time.perf_counter()
                        loaded = await service.get_session(app_name=APP, user_id=USER,
                                                           session_id=f"reload-{n}")
                        times.append(time.perf_counter() - start)
                        assert loaded is not None and n == len(loaded.events)
                    rounds.append(times)
                result[str(n)] = _stats(rounds)
        finally:
            close = getattr(service, "close", None)
            if close is not None:
                await close()
        return result

    return asyncio.run(main())


# ---- driver ----------------------------------------------------------------------------


def _side(python: str, store: str, side: str, target: str, size: str,
          modes: list[str]) -> dict[str, Any]:
    src = str(Path(__file__).resolve().parent.parent / "src")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([src, os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run(
        [python, __file__, "--side", side, "--store", store, "--target", target,
         "--size", size, "--modes", ",".join(modes)],
        capture_output=True, text=True, env=env, timeout=3600, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the {side} side ({store}) failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _pg_admin(sql: str) -> bool:
    done = subprocess.run(["psql", "-q", "-h", PG_HOST.split(":")[0], "-U", "postgres",
                           "-d", "test", "-c", sql], capture_output=True, text=True,
                          check=False)
    return done.returncode == 0


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3f}"


def _report(store: str, size: str, ours: dict[str, Any], adk: dict[str, Any] | None,
            modes: list[str]) -> list[str]:
    sizes = SIZES[size]
    grow = ROUNDS[size] * LOADS[size]
    lines = [f"{store}: get_session of a session loaded before, ms (median of "
             f"{ROUNDS[size]} rounds of {LOADS[size]}; [lowest, highest round])", "",
             "| events | case | " + " | ".join(modes) + (" | google-adk" if adk else "")
             + (" | baseline / snapshot" if len(modes) == 2 else "") + " |",
             "|---:|---|" + "---:|" * (len(modes) + (1 if adk else 0)
                                      + (1 if len(modes) == 2 else 0))]
    for n in sizes:
        for case, label in (("unchanged", "unchanged"),
                            ("grown", f"+1 elsewhere (≤ +{grow})")):
            cells = [ours[str(n)][m][case] for m in modes]
            row = [f"{_ms(c['median'])} [{_ms(c['low'])}, {_ms(c['high'])}]" for c in cells]
            if adk:
                row.append(_ms(adk[str(n)]["median"]) if case == "unchanged" else "—")
            if len(modes) == 2:
                row.append(f"{cells[1]['median'] / cells[0]['median']:.1f}x")
            lines.append(f"| {n:,} | {label} | " + " | ".join(row) + " |")
    lines.append("")
    big, small = str(sizes[-1]), str(sizes[0])
    for m in modes:
        for case in ("unchanged", "grown"):
            ratio = ours[big][m][case]["median"] / ours[small][m][case]["median"]
            lines.append(f"{m}, {case}: {int(big):,} events / {int(small):,} events = "
                         f"{ratio:.2f}x")
    if adk:
        ratio = adk[big]["median"] / adk[small]["median"]
        lines.append(f"google-adk: {int(big):,} events / {int(small):,} events = "
                     f"{ratio:.2f}x")
        if "snapshot" in modes:
            for n in sizes:
                mine = ours[str(n)]["snapshot"]["unchanged"]["median"]
                lines.append(f"google-adk / trio-adk snapshot, unchanged, {n:,} events: "
                             f"{adk[str(n)]['median'] / mine:.1f}x")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--quick", action="store_true", help="small sizes, few rounds")
    parser.add_argument("--no-snapshot", action="store_true",
                        help="measure the baseline only (snapshots disabled)")
    parser.add_argument("--adk-python", default=os.environ.get("TRIO_ADK_GOOGLE_ADK_PYTHON"),
                        help="an interpreter with google-adk (asyncpg for PostgreSQL)")
    parser.add_argument("--out", help="also write the figures to this JSON file")
    parser.add_argument("--side", choices=("trio", "adk"), help=argparse.SUPPRESS)
    parser.add_argument("--target", help=argparse.SUPPRESS)
    parser.add_argument("--size", help=argparse.SUPPRESS)
    parser.add_argument("--modes", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.side == "trio":
        print(json.dumps(trio_side(args.store, args.target, args.size,
                                   args.modes.split(","))))
        return
    if args.side == "adk":
        print(json.dumps(adk_side(args.store, args.target, args.size)))
        return

    size = "quick" if args.quick else "full"
    modes = ["baseline"] if args.no_snapshot else ["snapshot", "baseline"]
    stores = ("sqlite", "postgres") if args.store == "both" else (args.store,)
    figures: dict[str, Any] = {}
    for store in stores:
        with tempfile.TemporaryDirectory() as scratch:
            database = None
            if store == "sqlite":
                target = adk_target = str(Path(scratch) / "sessions.db")
            else:
                database = f"trio_adk_bench_{secrets.token_hex(4)}"
                if not _pg_admin(f'CREATE DATABASE "{database}"'):
                    print(f"PostgreSQL not reachable at {PG_HOST}: skipped\n")
                    continue
                target = f"postgresql://postgres@{PG_HOST}/{database}"
                adk_target = target.replace("postgresql://", "postgresql+asyncpg://", 1)
            try:
                ours = _side(sys.executable, store, "trio", target, size, modes)
                adk = (_side(args.adk_python, store, "adk", adk_target, size, modes)
                       if args.adk_python else None)
            finally:
                if database is not None:
                    _pg_admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        figures[store] = {"trio_adk": ours, "google_adk": adk}
        print("\n".join(_report(store, size, ours, adk, modes)) + "\n", flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps(figures, indent=1) + "\n")


if __name__ == "__main__":
    main()
