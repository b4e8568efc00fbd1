"""Runner and InMemoryRunner: the public entry points (trio callers)."""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator
from types import TracebackType
from typing import Any

import trio
from google.genai import types

from trio_adk._run import CLEANUP_GRACE, Run, RunRequest
from trio_adk.agents._base_agent import BaseAgent
from trio_adk.agents._llm_agent import LlmAgent
from trio_adk.agents._run_config import RunConfig
from trio_adk.artifacts._base import BaseArtifactService
from trio_adk.artifacts._in_memory import InMemoryArtifactService
from trio_adk.auth._base import BaseCredentialService
from trio_adk.errors import RunnerClosedError
from trio_adk.events._event import Event
from trio_adk.memory._base import BaseMemoryService
from trio_adk.memory._in_memory import InMemoryMemoryService
from trio_adk.plugins._base_plugin import BasePlugin
from trio_adk.plugins._plugin_manager import PluginManager
from trio_adk.sessions._base import BaseSessionService
from trio_adk.sessions._in_memory import InMemorySessionService
from trio_adk.tools._base_tool import BaseToolset

_log = logging.getLogger("trio_adk")

_TOOLSET_CLOSE_TIMEOUT = 10.0


class Runner:
    """Runs an agent tree against a session: the ADK ``Runner`` API on trio.

    Every run is a trio task with its own cancel scope, owned by this runner; nothing
    it starts outlives it.  ``close()`` cancels the runs still in flight, waits for their
    cleanup, then closes toolsets, plugins and the session service.

    Args:
        app_name: The app the sessions belong to (non-empty).
        agent: The root agent.
        plugins: Plugins applied to every run, in order (names must be unique).
        artifact_service, session_service, memory_service, credential_service: The
            services runs use; only the session service is required.
        auto_create_session: Create a missing session instead of raising
            ``SessionNotFoundError``.
        plugin_close_timeout: Seconds each plugin's ``close()`` may take.
    """

    app_name: str
    agent: BaseAgent
    artifact_service: BaseArtifactService | None = None
    session_service: BaseSessionService
    memory_service: BaseMemoryService | None = None
    credential_service: BaseCredentialService | None = None
    plugin_manager: PluginManager

    def __init__(
        self,
        *,
        app_name: str,
        agent: BaseAgent,
        plugins: list[BasePlugin] | None = None,
        artifact_service: BaseArtifactService | None = None,
        session_service: BaseSessionService,
        memory_service: BaseMemoryService | None = None,
        credential_service: BaseCredentialService | None = None,
        auto_create_session: bool = False,
        plugin_close_timeout: float = 5.0,
    ) -> None:
        if not isinstance(app_name, str) or not app_name:
            raise ValueError("Runner needs a non-empty app_name.")
        if agent is None:
            raise ValueError("Runner needs an agent: pass agent=<your root agent>.")
        if not isinstance(agent, BaseAgent):
            raise TypeError(
                f"Runner needs an agent (a BaseAgent such as LlmAgent), got {type(agent)!r}."
            )
        if session_service is None:
            raise ValueError("Runner needs a session_service, e.g. InMemorySessionService().")
        self.app_name = app_name
        self.agent = agent
        self.artifact_service = artifact_service
        self.session_service = session_service
        self.memory_service = memory_service
        self.credential_service = credential_service
        self.auto_create_session = auto_create_session
        self.plugin_close_timeout = plugin_close_timeout
        self.plugin_manager = PluginManager(plugins, close_timeout=plugin_close_timeout)
        self._runs: set[Run] = set()
        self._closed = False
        self._close_done: trio.Event | None = None

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return (f"<{type(self).__name__} app={self.app_name!r} agent={self.agent.name!r} "
                f"{state}, {len(self._runs)} runs in flight>")

    @property
    def closed(self) -> bool:
        """True once ``close()`` was called."""
        return self._closed

    def run_async(
        self,
        *,
        user_id: str,
        session_id: str,
        new_message: types.Content | None = None,
        state_delta: dict[str, Any] | None = None,
        run_config: RunConfig | None = None,
    ) -> AsyncGenerator[Event, None]:
        """Run the agent on a new user message and yield its events as they happen.

        Use as ``async for event in runner.run_async(...)``.  Non-partial events are
        persisted before they are yielded; the agent waits for you to take each event.
        Errors (a missing session, a bad message, an agent failure) are raised from the
        iteration after the events produced before them.

        Cancellation: leaving the loop early (``break`` under ``contextlib.aclosing``,
        ``aclose()``) or being cancelled (``trio.fail_after`` around the loop) cancels
        the run; ``aclose()`` returns once its cleanup finished and nothing further is
        persisted.  ``after_run_callback`` runs on normal completion and on early close,
        not on errors or outside cancellation.  ``close()`` ends the iteration with
        ``RunnerClosedError``.  Call from a trio task.
        """
        request = RunRequest(user_id=user_id, session_id=session_id, new_message=new_message,
                             state_delta=state_delta, run_config=run_config or RunConfig())
        return self._run_async_trio(request)

    async def _run_async_trio(self, request: RunRequest) -> AsyncGenerator[Event, None]:
        if self._closed:
            raise RunnerClosedError(f"{self!r} is closed: create a new Runner to run again.")
        run = Run(self, request)
        self._runs.add(run)
        run.start()
        finished = False
        try:
            while True:
                try:
                    event = await run.handoff.receive()
                except trio.EndOfChannel:
                    break
                yield event
            finished = True
        except GeneratorExit:
            run.abandon(consumer_closed=True)
            raise
        finally:
            if not finished:
                run.abandon(consumer_closed=run.consumer_left)
            await run.wait_done()
        if run.closed_by_runner:
            raise RunnerClosedError(
                f"{self!r} was closed while this run was in flight; the run was cancelled.")
        if run.error is not None:
            raise run.error

    async def close(self) -> None:
        """Cancel runs in flight, wait for their cleanup, then close everything.

        Order: runs (cancelled, cleanup awaited), toolsets of the agent tree (each with a
        deadline; errors logged), model clients, plugins (each bounded by
        ``plugin_close_timeout``; failures raised together as one ``RuntimeError``), the
        session service's ``flush()``.  Shielded from the caller's cancellation and
        bounded in time.  Idempotent: a second call waits for the first to finish.
        Call from a trio task.
        """
        if self._close_done is not None:
            with trio.CancelScope(shield=True):
                await self._close_done.wait()
            return
        self._closed = True
        self._close_done = trio.Event()
        try:
            with trio.CancelScope(shield=True):
                runs = list(self._runs)
                for run in runs:
                    run.closed_by_runner = True
                    run.cancel_scope.cancel()
                for run in runs:
                    await run.wait_done(CLEANUP_GRACE)
                await self._close_toolsets()
                await self._close_models()
                try:
                    await self.plugin_manager.close()
                finally:
                    with trio.move_on_after(_TOOLSET_CLOSE_TIMEOUT):
                        await self.session_service.flush()
        finally:
            self._close_done.set()

    async def _close_toolsets(self) -> None:
        for toolset in _toolsets(self.agent):
            with trio.move_on_after(_TOOLSET_CLOSE_TIMEOUT) as scope:
                try:
                    await toolset.close()
                except Exception:
                    _log.exception("Error closing toolset %r.", toolset)
            if scope.cancelled_caught:
                _log.warning("Toolset %r did not close within %.0f s.", toolset,
                             _TOOLSET_CLOSE_TIMEOUT)

    async def _close_models(self) -> None:
        for agent in _walk(self.agent):
            if isinstance(agent, LlmAgent) and agent._llm is not None:
                with trio.move_on_after(_TOOLSET_CLOSE_TIMEOUT):
                    try:
                        await agent._llm.aclose()
                    except Exception:
                        _log.exception("Error closing model %r.", agent._llm.model)

    async def __aenter__(self) -> Runner:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


class InMemoryRunner(Runner):
    """A runner with in-memory session, artifact and memory services (no credentials).

    The development runner: ``auto_create_session`` defaults to True, so a run on a
    session id that does not exist yet creates it.
    """

    def __init__(
        self,
        agent: BaseAgent,
        *,
        app_name: str = "InMemoryRunner",
        plugins: list[BasePlugin] | None = None,
        auto_create_session: bool = True,
        plugin_close_timeout: float = 5.0,
    ) -> None:
        super().__init__(
            app_name=app_name,
            agent=agent,
            plugins=plugins,
            artifact_service=InMemoryArtifactService(),
            session_service=InMemorySessionService(),
            memory_service=InMemoryMemoryService(),
            auto_create_session=auto_create_session,
            plugin_close_timeout=plugin_close_timeout,
        )


def _walk(agent: BaseAgent) -> list[BaseAgent]:
    out = [agent]
    for sub in agent.sub_agents:
        out.extend(_walk(sub))
    return out


def _toolsets(root: BaseAgent) -> list[BaseToolset]:
    seen: dict[int, BaseToolset] = {}
    for agent in _walk(root):
        if isinstance(agent, LlmAgent):
            for entry in agent.tools:
                if isinstance(entry, BaseToolset):
                    seen.setdefault(id(entry), entry)
    return list(seen.values())
