"""Many concurrent ``/run_sse`` clients, some leaving mid-run: trio-adk's server vs ADK's.

    .venv/bin/python benchmarks/server_load.py                  # 500 clients, both servers
    .venv/bin/python benchmarks/server_load.py --clients 50 --no-adk --runs 2

Each server runs in a process of its own over the same agent (written for each framework as
its users write it: a model on the fake Gemini server, one async tool that sleeps
``--tool-ms``), with in-memory sessions, on this machine:

* trio-adk: ``ApiServer`` + ``serve`` (what ``trio-adk api_server`` runs), started by this
  script's ``--serve-trio`` mode, which adds one benchmark-only route, ``/_bench/stats``
  (runs in flight, requests in flight);
* google-adk: ``adk api_server`` from ADK's virtualenv (``--adk-python``, default
  $TRIO_ADK_GOOGLE_ADK_PYTHON), skipped when there is none.

The fake Gemini server runs in its own process too, shared by both.  The clients (this
process, trio + httpx) create one session each, then all at once each makes ``--runs``
streaming ``/run_sse`` requests in a row; with probability ``--disconnect`` a request is
abandoned after a random number of frames (the connection is closed).  Reported per server:
requests per second (every request, finished or abandoned, over the wall time) and the p50
and p99 latency of finished requests, with trio-adk / ADK ratios.

Checked after the load (trio-adk; reported for ADK too):

* no run and no request is left in flight (``/_bench/stats``);
* nothing persisted that no client received, for every client that stayed to the end: the
  events its run persisted (besides the user's message) all reached it;
* for a client that left, the events it missed are a tail of what its run persisted: the
  events handed to the connection after the client closed it and before the server saw the
  close (see ``trio_adk.server._streams``); their number per run is reported (one or two
  on an idle machine; more when the server is overloaded and slow to see closes).

Exit status 1 when a trio-adk check fails.  ``--json PATH`` writes the figures.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import trio

APP = "bench"
MESSAGE = "please use slow_lookup for benchmarks"
START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0

TRIO_AGENT = """import trio

from trio_adk import Agent

TOOL_SECONDS = {seconds}


async def slow_lookup(query: str) -> dict:
    \"\"\"Look something up (slowly).\"\"\"
    await trio.sleep(TOOL_SECONDS)
    return {{"result": "found " + query}}


root_agent = Agent(name="bench", model="gemini-2.0-flash", instruction="Answer.",
                   tools=[slow_lookup])
"""

ADK_AGENT = """import asyncio

from google.adk.agents import Agent

TOOL_SECONDS = {seconds}


async def slow_lookup(query: str) -> dict:
    \"\"\"Look something up (slowly).\"\"\"
    await asyncio.sleep(TOOL_SECONDS)
    return {{"result": "found " + query}}


root_agent = Agent(name="bench", model="gemini-2.0-flash", instruction="Answer.",
                   tools=[slow_lookup])
"""


# ---- processes ---------------------------------------------------------------------------

@contextlib.contextmanager
def process(command: list[str], env: dict[str, str], *, url_pattern: str | None = None,
            url: str | None = None) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``command`` running for the block: its URL (read from its output with
    ``url_pattern``, or ``url`` once ``/health`` or the URL itself answers); stopped with
    SIGTERM (killed if it lingers) and waited for however the block ends."""
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    readers: list[threading.Thread] = []
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + START_TIMEOUT
        if url_pattern is not None:
            for line in proc.stdout:
                found = re.search(url_pattern, line)
                if found:
                    url = found.group(1)
                    break
                if time.monotonic() > deadline:
                    break
        assert url is not None, f"{command[:3]} did not say where it listens"
        # Keep reading its output (a full pipe would stall it), keeping the last lines.
        tail: list[str] = []
        readers.append(threading.Thread(target=_drain_output, args=(proc.stdout, tail),
                                        daemon=True))
        readers[0].start()
        while True:
            try:
                if httpx.get(url + "/health", timeout=2).status_code < 500:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{command[:3]} did not start")
            time.sleep(0.1)
        yield proc, url
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        for reader in readers:
            reader.join(timeout=STOP_TIMEOUT)
        if proc.stdout is not None:
            proc.stdout.close()


def _drain_output(stream: Any, tail: list[str]) -> None:
    for line in stream:
        tail.append(line)
        del tail[:-50]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# ---- the trio-adk server (--serve-trio) ----------------------------------------------------

async def serve_trio(agents_dir: str) -> None:
    """``ApiServer`` + ``serve`` over ``agents_dir`` in memory, plus ``/_bench/stats``; SIGTERM
    drains (grace 0) and stops."""
    from trio_adk._run import ACTIVE_RUNS
    from trio_adk.apps import AgentLoader
    from trio_adk.server import ApiServer, build_services, serve

    loader = AgentLoader(agents_dir)
    services = build_services(loader, agents_dir, session_service_uri="memory://",
                              artifact_service_uri="memory://")
    async with ApiServer(agent_loader=loader, services=services, own_services=True,
                         bind_host="127.0.0.1") as server:
        async def stats() -> dict[str, int]:
            return {"active_runs": len(list(ACTIVE_RUNS)),
                    "requests_in_flight": server.requests.in_flight - 1}  # minus this one

        server.app.add_api_route("/_bench/stats", stats, methods=["GET"])
        with trio.open_signal_receiver(signal.SIGTERM) as signals:
            async def stop() -> None:
                async for _ in signals:
                    return

            async with trio.open_nursery() as nursery:
                urls = await nursery.start(lambda task_status: serve(
                    server, host="127.0.0.1", port=0, shutdown_trigger=stop, drain_timeout=0,
                    task_status=task_status))
                print(f"serving {urls[0]}", flush=True)


# ---- the clients -------------------------------------------------------------------------

@dataclass
class RunRecord:
    """One /run_sse request as its client saw it."""

    session: str
    left: bool
    seconds: float
    invocation: str | None = None
    received: set[str] = field(default_factory=set)
    failed: str | None = None


@dataclass
class Load:
    """A server's figures for one load."""

    name: str
    requests: int = 0
    seconds: float = 0.0
    records: list[RunRecord] = field(default_factory=list)
    stats: dict[str, int] | None = None
    unreceived: int = 0
    left_unread_runs: int = 0
    max_unread: int = 0
    violations: list[str] = field(default_factory=list)

    @property
    def finished(self) -> list[float]:
        return sorted(r.seconds for r in self.records if not r.left and r.failed is None)

    def percentile(self, q: float) -> float:
        values = self.finished
        if not values:
            return float("nan")
        return values[min(len(values) - 1, int(q * len(values)))]

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def summary(self) -> dict[str, Any]:
        return {"requests": self.requests, "seconds": round(self.seconds, 3),
                "requests_per_second": round(self.rps, 1),
                "p50_ms": round(self.percentile(0.50) * 1000, 1),
                "p99_ms": round(self.percentile(0.99) * 1000, 1),
                "finished": len(self.finished),
                "left": sum(r.left for r in self.records),
                "failed": sum(r.failed is not None for r in self.records),
                "stats_after": self.stats, "persisted_unreceived": self.unreceived,
                "left_runs_with_unread_tail": self.left_unread_runs,
                "max_unread_per_left_run": self.max_unread,
                "failure_kinds": dict(collections.Counter(
                    r.failed for r in self.records if r.failed is not None).most_common(5)),
                "violations": self.violations[:20]}


async def one_run(client: httpx.AsyncClient, session: str, rng: random.Random,
                  disconnect: float) -> RunRecord:
    """One streaming /run_sse on ``session``; maybe leave after a random number of frames."""
    leave_after = rng.randint(1, 6) if rng.random() < disconnect else None
    body = {"appName": APP, "userId": session, "sessionId": session, "streaming": True,
            "newMessage": {"role": "user", "parts": [{"text": MESSAGE}]}}
    record = RunRecord(session, left=False, seconds=0.0)
    start = time.perf_counter()
    try:
        async with client.stream("POST", "/run_sse", json=body) as response:
            if response.status_code != 200:
                record.failed = f"status {response.status_code}"
                return record
            frames = 0
            async for line in response.aiter_lines():
                if not line.startswith("data: "):
                    continue
                frame = json.loads(line[len("data: "):])
                if "error" in frame:
                    record.failed = str(frame["error"])[:200]
                    break
                frames += 1
                record.invocation = frame.get("invocationId", record.invocation)
                if frame.get("id"):
                    record.received.add(frame["id"])
                if leave_after is not None and frames >= leave_after:
                    record.left = True
                    break  # leaving the block closes the connection mid-stream
    except httpx.HTTPError as exc:
        record.failed = f"{type(exc).__name__}: {exc}"[:200]
    record.seconds = time.perf_counter() - start
    return record


async def load(name: str, url: str, *, clients: int, runs: int, disconnect: float,
               seed: int, check_stats: bool) -> Load:
    """Sessions first (not timed), then every client's runs at once; then the checks."""
    result = Load(name)
    # Idle connections expire before the servers' 5 s keep-alive does (else a request may go
    # out on a connection the server is closing).
    limits = httpx.Limits(max_connections=clients + 16, max_keepalive_connections=clients + 16,
                          keepalive_expiry=2.0)
    timeout = httpx.Timeout(120.0)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=timeout) as client:
        await _create_sessions(client, clients)

        async def client_task(i: int) -> None:
            rng = random.Random(seed * 100_003 + i)
            for _ in range(runs):
                result.records.append(await one_run(client, f"c{i}", rng, disconnect))

        start = time.perf_counter()
        async with trio.open_nursery() as nursery:
            for i in range(clients):
                nursery.start_soon(client_task, i)
        result.seconds = time.perf_counter() - start
        result.requests = len(result.records)
        if check_stats:
            result.stats = await _settled_stats(client)
        await _check_persisted(client, result)
    return result


async def _create_sessions(client: httpx.AsyncClient, clients: int) -> None:
    limiter = trio.CapacityLimiter(64)

    async def create(i: int) -> None:
        async with limiter:
            response = await client.post(f"/apps/{APP}/users/c{i}/sessions",
                                         json={"sessionId": f"c{i}"})
            if response.status_code not in (200, 409):
                raise RuntimeError(f"creating session c{i}: {response.status_code}")

    async with trio.open_nursery() as nursery:
        for i in range(clients):
            nursery.start_soon(create, i)


async def _settled_stats(client: httpx.AsyncClient) -> dict[str, int]:
    """``/_bench/stats`` once abandoned requests had time to notice (at most 10 s)."""
    stats: dict[str, int] = {}
    with trio.move_on_after(10):
        while True:
            stats = (await client.get("/_bench/stats")).json()
            if not stats["active_runs"] and not stats["requests_in_flight"]:
                break
            await trio.sleep(0.05)
    return stats


async def _check_persisted(client: httpx.AsyncClient, result: Load) -> None:
    """Per run: a client that stayed received every event its invocation persisted
    (besides the user's message); for a client that left, the events it missed are a tail
    of them (everything persisted before its last received event reached it)."""
    by_invocation = {r.invocation: r for r in result.records if r.invocation}
    limiter = trio.CapacityLimiter(64)
    sessions = sorted({r.session for r in result.records})

    async def check(session: str) -> None:
        async with limiter:
            data = (await client.get(f"/apps/{APP}/users/{session}/sessions/{session}")).json()
        persisted: dict[str, list[str]] = {}
        for event in data.get("events", []):
            if event.get("author") != "user":
                persisted.setdefault(event.get("invocationId"), []).append(event["id"])
        for invocation, ids in persisted.items():
            record = by_invocation.get(invocation)
            if record is None:
                result.unreceived += len(ids)
                result.violations.append(f"{session}: invocation {invocation} reached no "
                                         f"client ({len(ids)} events persisted)")
                continue
            missing = [i for i in ids if i not in record.received]
            if not missing:
                continue
            result.unreceived += len(missing)
            if record.left and missing == ids[len(ids) - len(missing):]:
                result.left_unread_runs += 1
                result.max_unread = max(result.max_unread, len(missing))
            else:
                result.violations.append(
                    f"{session}: {len(missing)} persisted event(s) of {invocation} never "
                    f"received ({'left' if record.left else 'finished'})")

    async with trio.open_nursery() as nursery:
        for session in sessions:
            nursery.start_soon(check, session)


# ---- main ----------------------------------------------------------------------------------

def agents_dir(root: Path, template: str, tool_seconds: float) -> Path:
    folder = root / APP
    folder.mkdir(parents=True)
    (folder / "agent.py").write_text(template.format(seconds=tool_seconds))
    (folder / "__init__.py").write_text("from . import agent\n")
    return root


def fake_gemini() -> contextlib.AbstractContextManager[tuple[subprocess.Popen[str], str]]:
    command = [sys.executable, "-m", "trio_adk.testing.fake_gemini", "--port", "0"]
    return process(command, dict(os.environ), url_pattern=r"(http://[\d.]+:\d+)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--runs", type=int, default=4, help="runs per client, in a row")
    parser.add_argument("--disconnect", type=float, default=0.2,
                        help="probability that a client abandons a run mid-stream")
    parser.add_argument("--tool-ms", type=float, default=20.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--adk-python", default=os.environ.get("TRIO_ADK_GOOGLE_ADK_PYTHON"))
    parser.add_argument("--no-adk", action="store_true")
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--serve-trio", metavar="AGENTS_DIR", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_trio:
        with contextlib.suppress(KeyboardInterrupt):
            trio.run(serve_trio, args.serve_trio)
        return 0

    options = {"clients": args.clients, "runs": args.runs, "disconnect": args.disconnect,
               "seed": args.seed}
    results: dict[str, Load] = {}
    with tempfile.TemporaryDirectory(prefix="trio-adk-load-") as tmp, fake_gemini() as (_, gemini):
        env = {**os.environ, "GOOGLE_GEMINI_BASE_URL": gemini, "GOOGLE_API_KEY": "bench",
               "PYTHONUNBUFFERED": "1"}
        trio_dir = agents_dir(Path(tmp) / "trio", TRIO_AGENT, args.tool_ms / 1000)
        with process([sys.executable, __file__, "--serve-trio", str(trio_dir)], env,
                     url_pattern=r"serving (http://[\d.]+:\d+)") as (_, url):
            results["trio-adk"] = trio.run(lambda: load("trio-adk", url, check_stats=True,
                                                         **options))
        adk = None if args.no_adk else args.adk_python
        if adk:
            adk_dir = agents_dir(Path(tmp) / "adk", ADK_AGENT, args.tool_ms / 1000)
            port = free_port()
            adk_bin = str(Path(adk).parent / "adk")
            command = [adk_bin, "api_server", "--host", "127.0.0.1", "--port", str(port),
                       "--no-reload", "--log_level", "error",
                       "--session_service_uri", "memory://",
                       "--artifact_service_uri", "memory://", str(adk_dir)]
            with process(command, env, url=f"http://127.0.0.1:{port}") as (_, url):
                results["google-adk"] = trio.run(lambda: load("google-adk", url,
                                                              check_stats=False, **options))
        else:
            print("google-adk skipped: pass --adk-python or set TRIO_ADK_GOOGLE_ADK_PYTHON",
                  file=sys.stderr)
    return report(results, args, options)


def report(results: dict[str, Load], args: argparse.Namespace, options: dict[str, Any]) -> int:
    print(f"{args.clients} concurrent /run_sse clients x {args.runs} runs, "
          f"{args.disconnect:.0%} abandoned mid-stream, tool {args.tool_ms:g} ms, "
          "fake Gemini server")
    print(f"{'server':<12}{'requests':>10}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}"
          f"{'left':>7}{'failed':>8}{'unreceived':>12}")
    for name, result in results.items():
        s = result.summary()
        print(f"{name:<12}{s['requests']:>10}{s['requests_per_second']:>10.1f}"
              f"{s['p50_ms']:>10.1f}{s['p99_ms']:>10.1f}{s['left']:>7}{s['failed']:>8}"
              f"{s['persisted_unreceived']:>12}")
    ours, theirs = results.get("trio-adk"), results.get("google-adk")
    ratios: dict[str, float] = {}
    if ours and theirs and theirs.rps and ours.percentile(0.99):
        ratios = {"requests_per_second_x": round(ours.rps / theirs.rps, 2),
                  "p99_x": round(theirs.percentile(0.99) / ours.percentile(0.99), 2)}
        print(f"trio-adk vs google-adk: {ratios['requests_per_second_x']}x the requests/s, "
              f"{ratios['p99_x']}x lower p99 latency")
    failures: list[str] = []
    if ours is not None:
        stats = ours.stats or {}
        if stats.get("active_runs") or stats.get("requests_in_flight"):
            failures.append(f"left in flight after the load: {stats}")
        failures.extend(ours.violations)
        if ours.summary()["failed"]:
            failures.append(f"{ours.summary()['failed']} request(s) failed")
        print(f"trio-adk checks: runs/requests in flight after the load {stats}; "
              f"persisted events never received: {ours.unreceived}, all in the tails of "
              f"{ours.left_unread_runs} abandoned runs (at most {ours.max_unread} per run: "
              "handed to the connection after its client closed it, before the server saw "
              "the close); none missing for the clients that stayed")
    if theirs is not None:
        print(f"google-adk (not asserted): persisted events never received: "
              f"{theirs.unreceived} (tails of {theirs.left_unread_runs} abandoned runs, at "
              f"most {theirs.max_unread} per run; {len(theirs.violations)} runs otherwise)")
    if args.json:
        args.json.write_text(json.dumps({
            "options": options, "tool_ms": args.tool_ms,
            "results": {name: r.summary() for name, r in results.items()},
            "ratios": ratios, "failures": failures}, indent=2))
    for failure in failures[:20]:
        print(f"CHECK FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
