"""Suite-wide fixtures: every test fails if it leaks a run, a task, a thread or a socket."""

from __future__ import annotations

import os
import threading
from collections.abc import AsyncIterator, Iterator

import pytest
import trio

from helpers import socket_fds
from trio_adk._run import ACTIVE_RUNS


def _live_threads() -> set[threading.Thread]:
    # trio keeps idle worker threads in a cache ("Trio thread N"); they are reused, not leaked.
    return {t for t in threading.enumerate() if not t.name.startswith("Trio thread")}


@pytest.fixture(autouse=True, scope="session")
def _private_data_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Programs the tests start (the demo keeps its history under XDG_DATA_HOME) write
    into a temporary directory, never the user's home."""
    saved = os.environ.get("XDG_DATA_HOME")
    os.environ["XDG_DATA_HOME"] = str(tmp_path_factory.mktemp("data-home"))
    yield
    if saved is None:
        os.environ.pop("XDG_DATA_HOME", None)
    else:
        os.environ["XDG_DATA_HOME"] = saved


@pytest.fixture(autouse=True)
def _no_leaked_threads_or_sockets() -> Iterator[None]:
    threads_before = _live_threads()
    sockets_before = socket_fds()
    yield
    leaked_threads = _live_threads() - threads_before
    for thread in leaked_threads:  # give a finishing thread a moment to be gone
        thread.join(timeout=2.0)
    leaked_threads = {t for t in leaked_threads if t.is_alive()}
    assert not leaked_threads, f"test leaked threads: {sorted(t.name for t in leaked_threads)}"
    leaked_sockets = socket_fds() - sockets_before
    assert not leaked_sockets, f"test leaked sockets: {sorted(leaked_sockets)}"
    assert not list(ACTIVE_RUNS), f"test leaked runs: {list(ACTIVE_RUNS)}"


def _all_tasks() -> list[trio.lowlevel.Task]:
    tasks: list[trio.lowlevel.Task] = []
    stack = [trio.lowlevel.current_root_task()]
    while stack:
        task = stack.pop()
        if task is None:
            continue
        tasks.append(task)
        for nursery in task.child_nurseries:
            stack.extend(nursery.child_tasks)
    return tasks


@pytest.fixture
async def _no_leaked_tasks() -> AsyncIterator[None]:
    yield
    leaked = [t.name for t in _all_tasks() if t.name.startswith("trio_adk.")]
    assert not leaked, f"test left trio-adk tasks running: {leaked}"
    assert not list(ACTIVE_RUNS), f"test left runs in flight: {list(ACTIVE_RUNS)}"


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Add the in-trio task check to every trio test."""
    for item in items:
        if (item.get_closest_marker("trio") is not None
                and item.get_closest_marker("anyio") is None  # anyio runs these itself
                and isinstance(item, pytest.Function)):
            item.fixturenames.append("_no_leaked_tasks")


@pytest.hookimpl(trylast=True, specname="pytest_collection_modifyitems")
def pytest_collection_modifyitems_anyio(items: list[pytest.Item]) -> None:
    """Leave anyio-marked tests to anyio.

    With ``trio_mode = true`` pytest-trio marks every async test ``trio``, including the
    ``anyio``-marked ones, and would silently run their asyncio case under trio: drop
    the ``trio`` marker from items that carry ``anyio`` (trio-design.md section 6)."""
    for item in items:
        if item.get_closest_marker("anyio") is not None:
            item.own_markers[:] = [m for m in item.own_markers if m.name != "trio"]
