"""AsyncioHost.run: user code as an asyncio task, supervised from a trio guest task."""

from __future__ import annotations

import asyncio
from typing import Any

import anyio
import outcome
import trio

from trio_adk._usercode._host import AsyncioHost


def test_a_user_task_asyncio_is_already_cancelling_is_not_cancelled_again() -> None:
    """asyncio cancels the user task (as ``asyncio.run``'s shutdown does) and the trio
    side is cancelled too: the task's shielded cleanup still runs to its end."""
    steps: list[str] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        user_task: list[asyncio.Task[Any]] = []
        in_cleanup = asyncio.Event()
        finish_cleanup = asyncio.Event()
        scope = trio.CancelScope()
        done: asyncio.Future[outcome.Outcome[None]] = loop.create_future()

        async def user_code() -> None:
            task = asyncio.current_task()
            assert task is not None
            user_task.append(task)
            try:
                await asyncio.Event().wait()
            finally:
                steps.append("cleanup started")
                with anyio.CancelScope(shield=True):
                    in_cleanup.set()
                    await finish_cleanup.wait()
                steps.append("cleanup finished")

        async def supervise() -> None:
            with scope:
                await AsyncioHost(loop).run(user_code())
            steps.append(f"trio side cancelled: {scope.cancelled_caught}")

        trio.lowlevel.start_guest_run(
            supervise, run_sync_soon_threadsafe=loop.call_soon_threadsafe,
            run_sync_soon_not_threadsafe=loop.call_soon, done_callback=done.set_result,
            host_uses_signal_set_wakeup_fd=True)
        while not user_task:
            await asyncio.sleep(0)
        user_task[0].cancel()  # asyncio's own cancellation first
        await in_cleanup.wait()
        scope.cancel()  # then the trio side's
        for _ in range(20):  # let both sides run a while
            await asyncio.sleep(0)
        steps.append("releasing")
        finish_cleanup.set()
        (await done).unwrap()

    asyncio.run(main())
    assert steps == ["cleanup started", "releasing", "cleanup finished",
                     "trio side cancelled: True"]
