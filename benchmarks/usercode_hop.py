"""The cost of running user code on the caller's library.

Under an asyncio caller every async tool, callback, plugin hook and custom-agent step
runs as an asyncio task on the caller's loop, supervised from the trio guest run: one
hop there and back.  Measured in one process, each beside its baseline:

* ``hop``: one awaited no-op coroutine, on the asyncio host vs awaited directly in trio;
* ``plain``: one plain-function callback through the same entry point on the asyncio
  host (it must not pay the hop) vs in trio;
* ``run``: a whole run (an async before-model callback, an async tool, an async
  after-tool callback, two model calls) under ``asyncio.run`` vs under ``trio.run``;
* ``run, hops only``: that run under ``asyncio.run`` vs the same run with plain
  functions (sync tool in a worker thread) under ``asyncio.run``: what the four hops add.

    python benchmarks/usercode_hop.py [--calls 20000] [--runs 2000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import trio

from trio_adk import Agent, InMemoryRunner
from trio_adk._bridges._asyncio_guest import run_in_trio
from trio_adk._usercode._host import await_user, call_user
from trio_adk.testing import ScriptedModel, function_call


async def _noop() -> None:
    return None


def _plain() -> None:
    return None


async def _hops(calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        await await_user(_noop())
    return (time.perf_counter() - start) / calls * 1e6


async def _plains(calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        await call_user(_plain)
    return (time.perf_counter() - start) / calls * 1e6


async def lookup(city: str) -> dict[str, str]:
    """Look a city up."""
    return {"city": city}


async def before_model(callback_context: Any, llm_request: Any) -> None:
    return None


async def after_tool(tool: Any, args: Any, tool_context: Any, tool_response: Any) -> None:
    return None


def _plain_lookup() -> Callable[[str], dict[str, str]]:
    def lookup(city: str) -> dict[str, str]:  # same name as the async one
        """Look a city up."""
        return {"city": city}

    return lookup


def before_model_plain(callback_context: Any, llm_request: Any) -> None:
    return None


def after_tool_plain(tool: Any, args: Any, tool_context: Any, tool_response: Any) -> None:
    return None


def _runner(*, plain: bool = False) -> InMemoryRunner:
    model = ScriptedModel(replies=[function_call("lookup", {"city": "Oslo"}), "done"],
                          repeat=True)
    if plain:  # the same run with plain functions: nothing to hop for
        agent = Agent(name="bench", model=model, tools=[_plain_lookup()],
                      before_model_callback=before_model_plain,
                      after_tool_callback=after_tool_plain)
    else:
        agent = Agent(name="bench", model=model, tools=[lookup],
                      before_model_callback=before_model, after_tool_callback=after_tool)
    return InMemoryRunner(agent, app_name="bench")


async def _plain_runs(runs: int) -> float:
    return await _runs(runs, plain=True)


async def _runs(runs: int, *, plain: bool = False) -> float:
    runner = _runner(plain=plain)
    start = time.perf_counter()
    for i in range(runs):
        async for _ in runner.run_async(user_id="u", session_id=f"s{i}", new_message="hi"):
            pass
    elapsed = (time.perf_counter() - start) / runs * 1e6
    await runner.close()
    return elapsed


def _on_trio(fn: Callable[[int], Awaitable[float]], n: int) -> float:
    return trio.run(fn, n)


def _on_asyncio_host(fn: Callable[[int], Awaitable[float]], n: int) -> float:
    # run_in_trio runs ``fn`` in the guest with user code hosted on this asyncio loop.
    async def main() -> float:
        return await run_in_trio(fn, n)

    return asyncio.run(main())


def _under_asyncio(fn: Callable[[int], Awaitable[float]], n: int) -> float:
    return asyncio.run(fn(n))  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    rows = [
        ("hop (one async call)", lambda: _on_asyncio_host(_hops, args.calls),
         lambda: _on_trio(_hops, args.calls)),
        ("plain function", lambda: _on_asyncio_host(_plains, args.calls),
         lambda: _on_trio(_plains, args.calls)),
        ("run (4 async user calls)", lambda: _under_asyncio(_runs, args.runs),
         lambda: _on_trio(_runs, args.runs)),
        ("run, hops only", lambda: _under_asyncio(_runs, args.runs),
         lambda: _under_asyncio(_plain_runs, args.runs)),
    ]
    print(f"{'what':28} {'measured us':>12} {'baseline us':>12} {'ratio':>7}")
    for name, hosted, direct in rows:
        hosted_us = statistics.median(hosted() for _ in range(args.repeat))
        direct_us = statistics.median(direct() for _ in range(args.repeat))
        print(f"{name:28} {hosted_us:12.2f} {direct_us:12.2f} {hosted_us / direct_us:7.2f}")


if __name__ == "__main__":
    main()
