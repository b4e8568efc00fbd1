"""cancel: ``runs`` runs in flight (each parked inside a model call that never answers), then
cancel them all the way each framework's users cancel a group of tasks: trio-adk's consumers
run in one nursery whose cancel scope is cancelled; ADK's are asyncio tasks, each cancelled,
then gathered.

Figures: milliseconds from the cancel until every consumer task has finished, how many model
calls had finished their cleanup (``finally``) by then, and, measured right then, the tasks
and sockets still alive beyond those alive before the runs started. If some cleanups had not
run when the consumers finished, the time until they all did is
reported as ``all_cleaned_ms`` (waited for up to 2 s). No floor.
"""

from __future__ import annotations

import time

from scenarios._common import (
    Context,
    Gauge,
    Medians,
    Row,
    SideResult,
    Size,
    at_most,
    cli,
    get,
    open_sockets,
)

NAME = "cancel"
WHAT = "runs in flight, then cancel them all: time until every run's cleanup finished, " \
       "tasks/sockets alive afterwards"
FLOOR = "n/a"
SIZES: dict[str, Size] = {
    "quick": {"runs": 20},
    "full": {"runs": 1000},
}
TARGET_MS = 100.0
POLL_SECONDS = 2.0


def trio_side(size: Size) -> SideResult:
    import trio
    from google.genai import types

    from scenarios import _trio_app
    from trio_adk import Agent, InMemoryRunner

    runs = size["runs"]
    gauge = Gauge(runs, trio.Event)
    message = types.Content(role="user", parts=[types.Part(text="hi")])
    runner = InMemoryRunner(Agent(name="bench", model=_trio_app.BlockingModel(gauge=gauge)),
                            app_name="bench")

    async def consume(session_id: str) -> None:
        async for _event in runner.run_async(user_id="u", session_id=session_id,
                                             new_message=message):
            pass

    async def main() -> SideResult:
        for i in range(runs):
            await runner.session_service.create_session(app_name="bench", user_id="u",
                                                        session_id=f"s{i}")
        tasks_before = len(_trio_app.all_tasks())
        sockets_before = open_sockets()
        async with trio.open_nursery() as nursery:
            for i in range(runs):
                nursery.start_soon(consume, f"s{i}")
            await gauge.all_entered.wait()
            tasks_in_flight = len(_trio_app.all_tasks()) - tasks_before
            start = time.perf_counter()
            nursery.cancel_scope.cancel()
        cancel_ms = (time.perf_counter() - start) * 1e3
        cleaned = gauge.cleaned
        tasks_alive = len(_trio_app.all_tasks()) - tasks_before
        sockets_now = open_sockets()
        all_cleaned_ms = cancel_ms if cleaned == runs else None
        with trio.move_on_after(POLL_SECONDS):
            await gauge.all_cleaned.wait()
            all_cleaned_ms = all_cleaned_ms or (time.perf_counter() - start) * 1e3
        from trio_adk._run import ACTIVE_RUNS  # internal: the runs still registered

        runs_alive = len(ACTIVE_RUNS)
        await runner.close()
        return {"cancel_ms": cancel_ms, "all_cleaned_ms": all_cleaned_ms,
                "cleaned": cleaned, "runs": runs, "tasks_in_flight": tasks_in_flight,
                "tasks_alive": tasks_alive, "runs_alive": runs_alive,
                "sockets_alive": None if sockets_before is None or sockets_now is None
                else sockets_now - sockets_before}

    return trio.run(main)


def adk_side(size: Size) -> SideResult:
    import asyncio

    from google.genai import types

    from scenarios._adk_app import Agent, BlockingModel, InMemoryRunner

    runs = size["runs"]
    gauge = Gauge(runs, asyncio.Event)
    message = types.Content(role="user", parts=[types.Part(text="hi")])
    runner = InMemoryRunner(agent=Agent(name="bench", model=BlockingModel(gauge=gauge)),
                            app_name="bench")

    async def consume(session_id: str) -> None:
        async for _event in runner.run_async(user_id="u", session_id=session_id,
                                             new_message=message):
            pass

    async def main() -> SideResult:
        for i in range(runs):
            await runner.session_service.create_session(app_name="bench", user_id="u",
                                                        session_id=f"s{i}")
        tasks_before = len(asyncio.all_tasks())
        sockets_before = open_sockets()
        tasks = [asyncio.create_task(consume(f"s{i}")) for i in range(runs)]
        await gauge.all_entered.wait()
        tasks_in_flight = len(asyncio.all_tasks()) - tasks_before
        start = time.perf_counter()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        cancel_ms = (time.perf_counter() - start) * 1e3
        cleaned = gauge.cleaned
        tasks_alive = len(asyncio.all_tasks()) - tasks_before
        sockets_now = open_sockets()
        all_cleaned_ms = cancel_ms if cleaned == runs else None
        try:
            async with asyncio.timeout(POLL_SECONDS):
                await gauge.all_cleaned.wait()
                all_cleaned_ms = all_cleaned_ms or (time.perf_counter() - start) * 1e3
        except TimeoutError:
            pass
        await runner.close()
        return {"cancel_ms": cancel_ms, "all_cleaned_ms": all_cleaned_ms,
                "cleaned": cleaned, "runs": runs, "tasks_in_flight": tasks_in_flight,
                "tasks_alive": tasks_alive,
                "sockets_alive": None if sockets_before is None or sockets_now is None
                else sockets_now - sockets_before}

    return asyncio.run(main())


floor_side = None


def rows(medians: Medians, size: Size, context: Context) -> list[Row]:
    ours, adk = medians["trio"], medians["adk"]
    runs = size["runs"]
    limit = TARGET_MS * runs / 1000
    time_row = Row(metric=f"{runs} runs: cancel until consumers finished", unit="ms",
                   trio=get(ours, "cancel_ms"), adk=get(adk, "cancel_ms"),
                   target=f"< {limit:g} ms")
    time_row.checks = [None if time_row.trio is None else time_row.trio < limit]
    cleaned = Row(metric="runs cleaned up by then", unit="runs", trio=get(ours, "cleaned"),
                  adk=get(adk, "cleaned"), target=f"all {runs}", lower_is_better=False)
    cleaned.checks = [None if cleaned.trio is None else cleaned.trio == runs]
    all_cleaned = Row(metric="cancel until every cleanup ran", unit="ms",
                      trio=get(ours, "all_cleaned_ms"), adk=get(adk, "all_cleaned_ms"))
    tasks = Row(metric="tasks still alive", unit="tasks", trio=get(ours, "tasks_alive"),
                adk=get(adk, "tasks_alive"), target="0")
    tasks.checks = [at_most(tasks.trio, 0)]
    sockets = Row(metric="sockets still open", unit="sockets", trio=get(ours, "sockets_alive"),
                  adk=get(adk, "sockets_alive"), target="0")
    sockets.checks = [at_most(sockets.trio, 0)]
    return [time_row, cleaned, all_cleaned, tasks, sockets]


if __name__ == "__main__":
    cli(SIZES, {"trio": trio_side, "adk": adk_side, "floor": floor_side})
