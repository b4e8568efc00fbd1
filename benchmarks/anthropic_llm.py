"""Claude's per-call overhead against the fake Anthropic server on loopback.

Clients call the same ``python -m trio_adk.testing.fake_anthropic`` process, one call at a
time, unary and streamed (the built-in echo reply), and report the median and mean time per
call:

* trio-adk's ``Claude`` (``generate_content_async``: the body built from an ``LlmRequest``,
  sent through the anthropic SDK on trio, the reply parsed into ``LlmResponse`` objects),
  beside the floor measured in the same trio run, call by call: the same HTTP request sent
  with a bare ``httpx.AsyncClient`` (the stream read to its end), so the ratio is the
  adapter's own cost (SDK included);
* google-adk's ``AnthropicLlm`` (the same SDK on asyncio) in ADK's own interpreter
  (``--adk-python``, default $TRIO_ADK_GOOGLE_ADK_PYTHON, else /tmp/adkvenv/bin/python),
  with its own bare-httpx floor on asyncio; skipped when that interpreter or the SDK is
  missing.

    python benchmarks/anthropic_llm.py [--calls 500] [--quick] [--adk-python PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from contextlib import aclosing
from pathlib import Path
from typing import Any

import httpx
import trio
from google.genai import types

from trio_adk.models import Claude, LlmRequest
from trio_adk.models._anthropic_wire import request_body

RESULTS = Path(__file__).resolve().parent / "results" / "anthropic_llm.json"
MODEL = "claude-sonnet-4-20250514"
MESSAGE = "hello there"
KEY = "sk-ant-bench"

ADK_SCRIPT = r"""
import asyncio, json, sys, time, statistics, logging
import httpx
from google.genai import types
from google.adk.models.anthropic_llm import AnthropicLlm
from google.adk.models.llm_request import LlmRequest
logging.disable(logging.WARNING)
base, calls, model_name = sys.argv[1], int(sys.argv[2]), sys.argv[3]

def request():
    return LlmRequest(model=model_name, contents=[types.Content(
        role="user", parts=[types.Part(text="hello there")])])

async def timed(*clients):
    for _ in range(max(5, calls // 10)):
        for one in clients:
            await one()
    samples = [[] for _ in clients]
    for _ in range(calls):
        for one, times in zip(clients, samples):
            start = time.perf_counter()
            await one()
            times.append(time.perf_counter() - start)
    return [{"median_us": statistics.median(t) * 1e6, "mean_us": statistics.fmean(t) * 1e6}
            for t in samples]

async def main():
    model = AnthropicLlm(model=model_name)
    body = json.loads(sys.argv[4])
    async with httpx.AsyncClient() as client:
        async def floor(stream):
            if not stream:
                (await client.post(base + "/v1/messages", json=body)).json()
                return
            async with client.stream("POST", base + "/v1/messages",
                                     json={**body, "stream": True}) as r:
                async for _ in r.aiter_bytes():
                    pass
        async def adk(stream):
            async for _ in model.generate_content_async(request(), stream=stream):
                pass
        out = {}
        for stream in (False, True):
            kind = "sse" if stream else "unary"
            out["adk_" + kind], out["adk_floor_" + kind] = await timed(
                lambda: adk(stream), lambda: floor(stream))
    print(json.dumps(out))

asyncio.run(main())
"""


def start_server() -> tuple[subprocess.Popen[str], str]:
    """The fake Anthropic server in a subprocess, and its base URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "trio_adk.testing.fake_anthropic", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    if not url.startswith("http"):
        proc.kill()
        raise RuntimeError(f"fake server did not start: {url!r}")
    return proc, url


def llm_request() -> LlmRequest:
    return LlmRequest(model=MODEL, contents=[
        types.Content(role="user", parts=[types.Part(text=MESSAGE)])])


async def timed(calls: int, *clients: Callable[[], Awaitable[None]]
                ) -> list[dict[str, float]]:
    """Time each client ``calls`` times, alternating call by call, after a warm-up."""
    for _ in range(max(5, calls // 10)):
        for one in clients:
            await one()
    samples: list[list[float]] = [[] for _ in clients]
    for _ in range(calls):
        for one, times in zip(clients, samples, strict=True):
            start = time.perf_counter()
            await one()
            times.append(time.perf_counter() - start)
    return [{"median_us": statistics.median(times) * 1e6,
             "mean_us": statistics.fmean(times) * 1e6} for times in samples]


async def bench_trio(base: str, calls: int) -> dict[str, dict[str, float]]:
    model = Claude(model=MODEL, base_url=base, api_key=KEY)
    body = request_body(llm_request(), MODEL, model.max_tokens)
    headers = {"authorization": f"Bearer {KEY}", "anthropic-version": "2023-06-01"}
    out: dict[str, dict[str, float]] = {}
    async with httpx.AsyncClient(headers=headers) as client:

        async def floor(stream: bool) -> None:
            if not stream:
                (await client.post(f"{base}/v1/messages", json=body)).json()
                return
            async with client.stream("POST", f"{base}/v1/messages",
                                     json={**body, "stream": True}) as reply:
                async for _ in reply.aiter_bytes():
                    pass

        async def ours(stream: bool) -> None:
            async with aclosing(model.generate_content_async(llm_request(), stream=stream)
                                ) as got:
                async for _ in got:
                    pass

        try:
            for stream in (False, True):
                kind = "sse" if stream else "unary"
                out[f"trio_{kind}"], out[f"floor_{kind}"] = await timed(
                    calls, lambda s=stream: ours(s), lambda s=stream: floor(s))
        finally:
            await model.aclose()
    return out


def bench_adk(python: str, base: str, calls: int) -> dict[str, Any] | None:
    if not Path(python).exists():
        print(f"google-adk skipped: no interpreter at {python}", file=sys.stderr)
        return None
    body = request_body(llm_request(), MODEL, 8192)
    env = {**os.environ, "ANTHROPIC_BASE_URL": base, "ANTHROPIC_API_KEY": KEY}
    done = subprocess.run([python, "-c", ADK_SCRIPT, base, str(calls), MODEL, json.dumps(body)],
                          capture_output=True, text=True, timeout=1800, env=env)
    if done.returncode != 0:
        print(f"google-adk skipped: {done.stderr.strip()[-500:]}", file=sys.stderr)
        return None
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--quick", action="store_true", help="20 calls, no results file")
    parser.add_argument("--adk-python", default=os.environ.get("TRIO_ADK_GOOGLE_ADK_PYTHON",
                                                               "/tmp/adkvenv/bin/python"))
    parser.add_argument("--no-adk", action="store_true")
    args = parser.parse_args()
    calls = 20 if args.quick else args.calls
    proc, base = start_server()
    try:
        results: dict[str, Any] = dict(trio.run(bench_trio, base, calls))
        adk = None if args.no_adk else bench_adk(args.adk_python, base, calls)
        if adk:
            results.update(adk)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    for kind in ("unary", "sse"):
        ours, floor = results[f"trio_{kind}"], results[f"floor_{kind}"]
        ratio = ours["median_us"] / floor["median_us"]
        line = (f"{kind:5}  trio-adk Claude {ours['median_us']:8.0f} us   bare httpx (trio) "
                f"{floor['median_us']:8.0f} us   ratio {ratio:.2f}")
        if f"adk_{kind}" in results:
            theirs, their_floor = results[f"adk_{kind}"], results[f"adk_floor_{kind}"]
            line += (f"   | google-adk AnthropicLlm {theirs['median_us']:8.0f} us   bare httpx "
                     f"(asyncio) {their_floor['median_us']:8.0f} us   ratio "
                     f"{theirs['median_us'] / their_floor['median_us']:.2f}   google-adk / "
                     f"trio-adk {theirs['median_us'] / ours['median_us']:.1f}x")
        print(line)
    if not args.quick:
        results["meta"] = {"calls": calls, "python": platform.python_version(),
                           "machine": platform.machine(), "unit": "microseconds per call"}
        RESULTS.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
