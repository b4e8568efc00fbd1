"""Gemini REST through the runner versus bare httpx, against the fake server on loopback.

One-turn runs (user message -> the fake server's echo reply), sequential and concurrent,
unary and SSE. For each: per-run latency p50/p99 (and, for SSE, time to the first partial
event), beside the floor measured in the same invocation: the same HTTP requests sent with a
bare ``httpx.AsyncClient``. The fake server runs in its own process.

    python benchmarks/gemini_rest.py [--runs 1000] [--concurrent 1000] [--quick]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import trio
from google.genai import types

from trio_adk import Agent, Runner
from trio_adk.agents import RunConfig, StreamingMode
from trio_adk.models import Gemini, LlmRequest
from trio_adk.models._wire import generate_content_body
from trio_adk.sessions import InMemorySessionService

MESSAGE = types.Content(role="user", parts=[types.Part(text="hello there")])
AGENT_NAME = "bench"


def start_server() -> tuple[subprocess.Popen[str], str]:
    """The fake Gemini server in a subprocess, and its base URL."""
    proc = subprocess.Popen([sys.executable, "-m", "trio_adk.testing.fake_gemini", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    if not url.startswith("http"):
        proc.kill()
        raise RuntimeError(f"fake server did not start: {url!r}")
    return proc, url


def floor_body() -> dict[str, Any]:
    """The body the runner sends for one turn (same instruction, same contents)."""
    request = LlmRequest(model="gemini-2.0-flash", contents=[MESSAGE])
    request.append_instructions([f'You are an agent. Your internal name is "{AGENT_NAME}".'])
    return generate_content_body(request)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def timed(n: int, concurrent: bool, one: Callable[[int], Awaitable[tuple[float, float]]]
                ) -> tuple[list[float], list[float]]:
    """Latency (and time to first chunk) of ``n`` calls, one at a time or all at once."""
    totals: list[float] = []
    firsts: list[float] = []

    async def run(i: int) -> None:
        total, first = await one(i)
        totals.append(total)
        firsts.append(first)

    if concurrent:
        async with trio.open_nursery() as nursery:
            for i in range(n):
                nursery.start_soon(run, i)
    else:
        for i in range(n):
            await run(i)
    return totals, firsts


async def bench(url: str, runs: int, conc: int) -> dict[str, dict[str, float]]:
    service = InMemorySessionService()
    model = Gemini(model="gemini-2.0-flash", base_url=url, api_key="bench", retry_attempts=1)
    runner = Runner(app_name="bench", agent=Agent(name=AGENT_NAME, model=model),
                    session_service=service)
    body = floor_body()
    counter = 0

    async def runner_call(stream: bool) -> tuple[float, float]:
        nonlocal counter
        counter += 1
        sid = f"s{counter}"
        await service.create_session(app_name="bench", user_id="u", session_id=sid)
        config = RunConfig(streaming_mode=StreamingMode.SSE if stream else StreamingMode.NONE)
        start = time.perf_counter()
        first = 0.0
        async for _event in runner.run_async(user_id="u", session_id=sid, new_message=MESSAGE,
                                             run_config=config):
            if not first:
                first = time.perf_counter() - start
        return time.perf_counter() - start, first

    results: dict[str, dict[str, float]] = {}
    async with httpx.AsyncClient(timeout=60) as client:
        headers = {"x-goog-api-key": "bench"}
        base = f"{url}/v1beta/models/gemini-2.0-flash"

        async def floor_call(stream: bool) -> tuple[float, float]:
            start = time.perf_counter()
            if not stream:
                response = await client.post(f"{base}:generateContent", json=body,
                                             headers=headers)
                response.json()
                elapsed = time.perf_counter() - start
                return elapsed, elapsed
            first = 0.0
            async with client.stream("POST", f"{base}:streamGenerateContent",
                                     params={"alt": "sse"}, json=body,
                                     headers=headers) as response:
                async for line in response.aiter_lines():
                    if line.startswith("data:") and not first:
                        json.loads(line[5:])
                        first = time.perf_counter() - start
            return time.perf_counter() - start, first

        await timed(20, False, lambda i: runner_call(False))  # warm-up, both sides
        await timed(20, False, lambda i: floor_call(False))
        for stream in (False, True):
            mode = "sse" if stream else "unary"
            for concurrent, n in ((False, runs), (True, conc)):
                kind = f"{mode}, {n} {'concurrent' if concurrent else 'sequential'}"
                floor_t, floor_f = await timed(
                    n, concurrent, lambda i, s=stream: floor_call(s))  # type: ignore[misc]
                ours_t, ours_f = await timed(
                    n, concurrent, lambda i, s=stream: runner_call(s))  # type: ignore[misc]
                results[kind] = {
                    "p50_ms": pct(ours_t, 0.5) * 1e3, "p99_ms": pct(ours_t, 0.99) * 1e3,
                    "floor_p50_ms": pct(floor_t, 0.5) * 1e3,
                    "floor_p99_ms": pct(floor_t, 0.99) * 1e3,
                    "first_p50_ms": pct(ours_f, 0.5) * 1e3,
                    "floor_first_p50_ms": pct(floor_f, 0.5) * 1e3,
                    "mean_ms": statistics.fmean(ours_t) * 1e3,
                }
    await runner.close()
    return results


def report(results: dict[str, dict[str, float]]) -> None:
    print(f"trio-adk Gemini REST vs bare httpx (python {platform.python_version()}, "
          f"{platform.machine()}); target: runner adds < 20% at p50")
    print(f"{'scenario':<28} {'p50 ms':>8} {'p99 ms':>8} {'floor p50':>10} {'floor p99':>10} "
          f"{'+% p50':>7} {'first p50':>10} {'floor first':>12}")
    for name, r in results.items():
        added = (r["p50_ms"] / r["floor_p50_ms"] - 1) * 100
        print(f"{name:<28} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f} {r['floor_p50_ms']:>10.2f} "
              f"{r['floor_p99_ms']:>10.2f} {added:>6.0f}% {r['first_p50_ms']:>10.2f} "
              f"{r['floor_first_p50_ms']:>12.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--concurrent", type=int, default=1000)
    parser.add_argument("--quick", action="store_true", help="tiny sizes (for CI)")
    args = parser.parse_args()
    if args.quick:
        args.runs, args.concurrent = 10, 10
    proc, url = start_server()
    try:
        results = trio.run(bench, url, args.runs, args.concurrent)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    report(results)
    if not args.quick:
        out = Path(__file__).parent / "results" / "gemini_rest.json"
        out.write_text(json.dumps({"results": results, "args": vars(args)}, indent=2) + "\n")


if __name__ == "__main__":
    main()
