"""What the per-call overhead benchmarks of model adapters share (anthropic_llm.py, lite_llm.py).

Each measures one trio-adk adapter against a fake server process, beside a bare-httpx floor
sending the same HTTP request, and the google-adk adapter of the same API in ADK's own
interpreter (the script :data:`ADK_SCRIPT`, told by its arguments which model to build and
which request is its floor).  Not a benchmark itself.
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
from collections.abc import Awaitable, Callable, Mapping
from contextlib import aclosing
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import trio

from trio_adk.models import BaseLlm, LlmRequest

Figures = dict[str, dict[str, float]]

ADK_SCRIPT = r"""
import asyncio, importlib, json, sys, time, statistics, logging
import httpx
from google.genai import types
from google.adk.models.llm_request import LlmRequest
logging.disable(logging.WARNING)
(base, calls, model_path, model_kwargs, request_model, url, body,
 stream_extra) = sys.argv[1:]
calls, model_kwargs, body, stream_extra = (
    int(calls), json.loads(model_kwargs), json.loads(body), json.loads(stream_extra))
module_name, _, class_name = model_path.rpartition(".")

def request():
    return LlmRequest(model=request_model, contents=[types.Content(
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
    model = getattr(importlib.import_module(module_name), class_name)(**model_kwargs)
    async with httpx.AsyncClient() as client:
        async def floor(stream):
            if not stream:
                (await client.post(url, json=body)).json()
                return
            async with client.stream("POST", url, json={**body, **stream_extra}) as r:
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


def start_server(module: str) -> tuple[subprocess.Popen[str], str]:
    """``python -m <module> --port 0`` (a fake model server), and the URL it prints first."""
    proc = subprocess.Popen([sys.executable, "-m", module, "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    if not url.startswith("http"):
        proc.kill()
        raise RuntimeError(f"fake server did not start: {url!r}")
    return proc, url


async def timed(calls: int, *clients: Callable[[], Awaitable[None]]) -> list[dict[str, float]]:
    """Time each client ``calls`` times, alternating between them call by call (so load
    from elsewhere on the machine falls on all of them alike), after a warm-up."""
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


async def measure_trio(model: BaseLlm, request: Callable[[], LlmRequest], calls: int, *,
                       url: str, body: Mapping[str, Any], stream_extra: Mapping[str, Any],
                       headers: Mapping[str, str] | None = None) -> Figures:
    """``model`` call by call beside the floor, ``body`` POSTed to ``url`` with bare httpx
    (streamed with ``stream_extra`` added, read to its end); unary then streamed.  Closes
    ``model``."""
    out: Figures = {}
    async with httpx.AsyncClient(headers=headers) as client:

        async def floor(stream: bool) -> None:
            if not stream:
                (await client.post(url, json=body)).json()
                return
            async with client.stream("POST", url, json={**body, **stream_extra}) as reply:
                async for _ in reply.aiter_bytes():
                    pass

        async def ours(stream: bool) -> None:
            async with aclosing(model.generate_content_async(request(), stream=stream)) as got:
                async for _ in got:
                    pass

        try:
            for stream in (False, True):
                kind = "sse" if stream else "unary"
                out[f"trio_{kind}"], out[f"floor_{kind}"] = await timed(
                    calls, partial(ours, stream), partial(floor, stream))
        finally:
            await model.aclose()
    return out


def measure_adk(python: str, base: str, calls: int, *, model_class: str,
                model_kwargs: Mapping[str, Any], request_model: str, url: str,
                body: Mapping[str, Any], stream_extra: Mapping[str, Any],
                env: Mapping[str, str]) -> dict[str, Any] | None:
    """:data:`ADK_SCRIPT` in ADK's interpreter ``python`` (``model_class`` a dotted path,
    built with ``model_kwargs``; ``env`` added to this environment); ``None`` when that
    interpreter is missing or the script fails (said on stderr)."""
    if not Path(python).exists():
        print(f"google-adk skipped: no interpreter at {python}", file=sys.stderr)
        return None
    argv = [base, str(calls), model_class, json.dumps(dict(model_kwargs)), request_model, url,
            json.dumps(dict(body)), json.dumps(dict(stream_extra))]
    done = subprocess.run([python, "-c", ADK_SCRIPT, *argv], capture_output=True, text=True,
                          timeout=1800, env={**os.environ, **env})
    if done.returncode != 0:
        print(f"google-adk skipped: {done.stderr.strip()[-500:]}", file=sys.stderr)
        return None
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main(description: str, *, fake_module: str, results_file: Path, ours_name: str,
         adk_name: str, bench_trio: Callable[[str, int], Awaitable[Figures]],
         bench_adk: Callable[[str, str, int], dict[str, Any] | None]) -> None:
    """The command line: start the fake server, measure both sides, print a line per kind
    (unary, sse) and, without ``--quick``, write ``results_file``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--quick", action="store_true", help="20 calls, no results file")
    parser.add_argument("--adk-python", default=os.environ.get("TRIO_ADK_GOOGLE_ADK_PYTHON",
                                                               "/tmp/adkvenv/bin/python"))
    parser.add_argument("--no-adk", action="store_true")
    args = parser.parse_args()
    calls = 20 if args.quick else args.calls
    proc, base = start_server(fake_module)
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
        line = (f"{kind:5}  trio-adk {ours_name} {ours['median_us']:8.0f} us   bare httpx "
                f"(trio) {floor['median_us']:8.0f} us   ratio {ratio:.2f}")
        if f"adk_{kind}" in results:
            theirs, their_floor = results[f"adk_{kind}"], results[f"adk_floor_{kind}"]
            line += (f"   | google-adk {adk_name} {theirs['median_us']:8.0f} us   bare httpx "
                     f"(asyncio) {their_floor['median_us']:8.0f} us   ratio "
                     f"{theirs['median_us'] / their_floor['median_us']:.2f}   google-adk / "
                     f"trio-adk {theirs['median_us'] / ours['median_us']:.1f}x")
        print(line)
    if not args.quick:
        results["meta"] = {"calls": calls, "python": platform.python_version(),
                           "machine": platform.machine(), "unit": "microseconds per call"}
        results_file.write_text(json.dumps(results, indent=2) + "\n")
