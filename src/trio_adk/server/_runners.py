"""One runner per app, built on first use and closed with the server."""

from __future__ import annotations

import logging
from functools import partial

import trio

from trio_adk._runner import Runner
from trio_adk.agents._base_agent import BaseAgent
from trio_adk.apps._app import App
from trio_adk.auth._in_memory import InMemoryCredentialService
from trio_adk.server._loader import AgentLoaderLike
from trio_adk.server._services import Services

_log = logging.getLogger("trio_adk.server")

RUNNER_CLOSE_TIMEOUT = 30.0
"""Seconds all runners together may take to close when the server shuts down."""


class AppNotFoundError(LookupError):
    """The loader has no app of that name (the server answers 404 with this message)."""


class AppLoadError(RuntimeError):
    """The app exists but importing it failed (the server answers 500; the cause is logged)."""


class RunnerPool:
    """Lazily built runners, one per app, over the server's shared services.

    :meth:`get` imports an app's agent in a worker thread the first time the app is used
    (concurrent first requests for one app wait for the same import) and keeps the runner
    until :meth:`aclose`.  Must be used from one trio run.
    """

    def __init__(self, loader: AgentLoaderLike, services: Services, *,
                 auto_create_session: bool = False) -> None:
        self._loader = loader
        self._services = services
        self._auto_create_session = auto_create_session
        self._runners: dict[str, Runner] = {}
        self._apps: dict[str, App] = {}  # the apps that define an App, as last loaded
        self._locks: dict[str, trio.Lock] = {}
        self._closed = False

    def __repr__(self) -> str:
        return f"<RunnerPool apps={sorted(self._runners)} {'closed' if self._closed else 'open'}>"

    @property
    def runners(self) -> dict[str, Runner]:
        """The runners built so far, by app name (a copy)."""
        return dict(self._runners)

    async def load_agent(self, app_name: str) -> BaseAgent:
        """Import the app's root agent in a worker thread (the loader keeps it cached); for
        an app that defines an ``App``, the App's root agent.

        Raises :class:`AppNotFoundError` (the loader's ``ValueError``) or
        :class:`AppLoadError`.  Cancellation waits for the import to finish (an import
        cannot be interrupted), then raises.
        """
        from trio_adk.apps import AgentLoadError, AgentNotFoundError

        try:
            agent: object = await trio.to_thread.run_sync(self._loader.load_agent, app_name)
        except AgentNotFoundError as exc:
            raise AppNotFoundError(str(exc)) from exc
        except AgentLoadError as exc:  # the app's code failed: details in the log only
            _log.error("Failed to load agent %s: %s", app_name, exc, exc_info=exc.__cause__)
            raise AppLoadError("Failed to load agent") from exc
        except ValueError as exc:  # another loader's "no such app"
            raise AppNotFoundError(str(exc)) from exc
        except Exception as exc:
            _log.exception("Failed to load agent %s", app_name)
            raise AppLoadError("Failed to load agent") from exc
        if isinstance(agent, App):
            self._apps[app_name] = agent
            agent = agent.root_agent
        if not isinstance(agent, BaseAgent):
            _log.error("The loader gave %r for %s, not an agent.", agent, app_name)
            raise AppLoadError("Failed to load agent")
        return agent

    async def get(self, app_name: str) -> Runner:
        """The app's runner, built on first use (see :meth:`load_agent` for errors)."""
        if self._closed:
            raise trio.ClosedResourceError("the server is shutting down")
        runner = self._runners.get(app_name)
        if runner is not None:
            return runner
        lock = self._locks.setdefault(app_name, trio.Lock())
        async with lock:
            runner = self._runners.get(app_name)
            if runner is None:
                agent = await self.load_agent(app_name)
                if self._closed:
                    raise trio.ClosedResourceError("the server is shutting down")
                build = partial(
                    Runner, app_name=app_name, session_service=self._services.session_service,
                    artifact_service=self._services.artifact_service,
                    memory_service=self._services.memory_service,
                    credential_service=InMemoryCredentialService(),
                    auto_create_session=self._auto_create_session)
                app = self._apps.get(app_name)  # an App's plugins apply; its name does not
                runner = (build(app=app) if app is not None and app.root_agent is agent
                          else build(agent=agent))
                self._runners[app_name] = runner
        return runner

    async def aclose(self) -> None:
        """Close every runner: runs in flight are cancelled and their cleanup awaited.

        All runners close concurrently, shielded from the caller's cancellation and bounded
        by :data:`RUNNER_CLOSE_TIMEOUT` in total (a runner still closing then is logged and
        left).  Idempotent; :meth:`get` raises ``trio.ClosedResourceError`` afterwards.
        """
        self._closed = True
        runners, self._runners = list(self._runners.values()), {}
        if not runners:
            return
        with trio.CancelScope(shield=True), trio.move_on_after(RUNNER_CLOSE_TIMEOUT) as scope:
            async with trio.open_nursery() as nursery:
                for runner in runners:
                    nursery.start_soon(_close_runner, runner)
        if scope.cancelled_caught:
            _log.warning("Runners did not close within %.0f s.", RUNNER_CLOSE_TIMEOUT)


async def _close_runner(runner: Runner) -> None:
    try:
        await runner.close()
    except Exception:
        _log.exception("Error closing %r.", runner)
