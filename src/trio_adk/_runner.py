"""Runner and InMemoryRunner: the public entry points (trio callers)."""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import AsyncGenerator, Awaitable, Coroutine, Generator, Iterable
from types import TracebackType
from typing import Any, Literal

import attrs
import sniffio
import trio
from google.genai import types

from trio_adk._batch import BatchResult, prepare_batch, run_batch
from trio_adk._bridges._asyncio_guest import run_in_trio, stream_asyncio
from trio_adk._bridges._sync_thread import call_sync, stream_sync
from trio_adk._bridges._trio import stream_trio
from trio_adk._run import Run, RunRequest, enclosing_runs
from trio_adk._session_gate import SessionGates
from trio_adk._utils._cancel import CLEANUP_GRACE
from trio_adk._utils._checks import (
    check_id,
    check_instance,
    check_seconds,
    check_state,
    check_user_message,
)
from trio_adk.agents._base_agent import BaseAgent
from trio_adk.agents._live_request_queue import LiveRequestQueue
from trio_adk.agents._llm_agent import LlmAgent
from trio_adk.agents._run_config import RunConfig
from trio_adk.agents._tree import validate_tree
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
from trio_adk.sessions._session import Session
from trio_adk.tools._base_tool import BaseToolset

_log = logging.getLogger("trio_adk")

_TOOLSET_CLOSE_TIMEOUT = 10.0


class Runner:
    """Runs an agent tree against a session: the ADK ``Runner`` API on trio.

    Every run is a trio task with its own cancel scope, owned by this runner; when a
    consumer leaves, a deadline passes or ``close()`` is called, the run is cancelled and
    its cleanup awaited (bounded by a grace period, after which it is logged).
    ``close()`` cancels the runs still in flight, waits for their cleanup, then closes
    toolsets, plugins and the session service.

    Args:
        app_name: The app the sessions belong to (non-empty).
        agent: The root agent.
        plugins: Plugins applied to every run, in order (names must be unique).
        artifact_service, session_service, memory_service, credential_service: The
            services runs use; only the session service is required.
        auto_create_session: Create a missing session instead of raising
            ``SessionNotFoundError``.
        plugin_close_timeout: Seconds each plugin's ``close()`` may take.
        session_concurrency: What a run does when another run of this runner is in
            flight on the same session: ``"queue"`` (default) waits its turn, in arrival
            order, so the two runs' events never interleave and the second sees
            everything the first appended; ``"reject"`` raises ``SessionBusyError``.

    A runner may be used from trio tasks, asyncio tasks and plain threads at once.
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
        session_concurrency: Literal["queue", "reject"] = "queue",
    ) -> None:
        check_id(app_name, "app_name")
        if agent is None:
            raise ValueError("Runner needs an agent: pass agent=<your root agent>.")
        if not isinstance(agent, BaseAgent):
            raise TypeError(
                f"Runner needs an agent (a BaseAgent such as LlmAgent), got {type(agent)!r}."
            )
        validate_tree(agent)
        if session_service is None:
            raise ValueError("Runner needs a session_service, e.g. InMemorySessionService().")
        check_instance(session_service, BaseSessionService, "session_service")
        for value, kind, what in (
            (artifact_service, BaseArtifactService, "artifact_service"),
            (memory_service, BaseMemoryService, "memory_service"),
            (credential_service, BaseCredentialService, "credential_service"),
        ):
            if value is not None:
                check_instance(value, kind, what)
        if not isinstance(auto_create_session, bool):
            raise TypeError(f"auto_create_session must be True or False, got "
                            f"{auto_create_session!r}.")
        check_seconds(plugin_close_timeout, "plugin_close_timeout", optional=False)
        self.app_name = app_name
        self.agent = agent
        self.artifact_service = artifact_service
        self.session_service = session_service
        self.memory_service = memory_service
        self.credential_service = credential_service
        self.auto_create_session = auto_create_session
        self.plugin_close_timeout = plugin_close_timeout
        if session_concurrency not in ("queue", "reject"):
            raise ValueError(
                f"session_concurrency must be 'queue' or 'reject', got {session_concurrency!r}.")
        self.session_concurrency = session_concurrency
        self.plugin_manager = PluginManager(plugins, close_timeout=plugin_close_timeout)
        self._gates = SessionGates(reject=session_concurrency == "reject")
        self._lock = threading.Lock()
        self._runs: set[Run] = set()
        self._closed = False
        self._close_done: threading.Event | None = None

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return (f"<{type(self).__name__} app={self.app_name!r} agent={self.agent.name!r} "
                f"{state}, {len(self._runs)} runs in flight>")

    @property
    def closed(self) -> bool:
        """True once ``close()`` was called."""
        return self._closed

    # ---- runs -------------------------------------------------------------------------

    def _new_run(self, request: RunRequest) -> Run:
        """Register a new run (called where the run will live)."""
        run = Run(self, request)
        with self._lock:
            if self._closed:
                raise RunnerClosedError(
                    f"{self!r} is closed: create a new Runner to run again.")
            self._runs.add(run)
        return run

    def _forget(self, run: Run) -> None:
        with self._lock:
            self._runs.discard(run)

    def run_async(
        self,
        *,
        user_id: str,
        session_id: str,
        new_message: types.Content | None = None,
        state_delta: dict[str, Any] | None = None,
        run_config: RunConfig | None = None,
        timeout: float | None = None,
    ) -> AsyncGenerator[Event, None]:
        """Run the agent on a new user message and yield its events as they happen.

        Use as ``async for event in runner.run_async(...)`` from trio, or from asyncio
        (trio then runs as a guest on the caller's loop; anyio works on either backend);
        the caller's library is detected when this method is called.  Non-partial events
        are persisted before they are yielded, and the agent waits for you to take each
        event.  Errors (a missing session, an agent failure) are raised from the
        iteration after the events produced before them.

        ``new_message`` is a ``types.Content`` or, for plain user text, a ``str``.  Ids
        are used exactly as given (non-empty ``str``, at most 128 characters, no
        surrounding whitespace); ``state_delta`` holds JSON values; ``timeout`` is a
        finite number of seconds (0 times out at once).  Arguments are checked when this
        method is called: a bad one raises ``TypeError`` or ``ValueError`` naming it,
        before a run starts and before anything is stored.

        Cancellation: leaving the loop early (``break`` under ``contextlib.aclosing``,
        ``aclose()``) or being cancelled (``trio.fail_after`` / ``asyncio.timeout`` around
        the loop, ``task.cancel()``) cancels the run; the generator finishes only after
        the run's cleanup finished, and nothing further is persisted.
        ``after_run_callback`` runs on normal completion and on early close, not on errors
        or outside cancellation.  ``timeout`` (seconds, whole run) ends the run with the
        built-in ``TimeoutError``.  ``close()`` ends it with ``RunnerClosedError``.
        """
        return self._stream(_request(self.agent, user_id, session_id, new_message,
                                     state_delta, run_config, timeout))

    def run_live(
        self,
        *,
        user_id: str | None = None,
        session_id: str | None = None,
        live_request_queue: LiveRequestQueue | None = None,
        run_config: RunConfig | None = None,
        session: Session | None = None,
        timeout: float | None = None,
    ) -> AsyncGenerator[Event, None]:
        """Run the agent live (voice, video, text) and yield its events as they happen.

        What you send through ``live_request_queue`` goes to the model as it comes; the
        model's replies arrive as events: partial text and audio chunks, the aggregated
        text, input and output transcriptions (partial fragments, then a final one),
        ``turn_complete``, ``interrupted`` (barge-in), usage metadata, function calls and
        responses, and error events with ``error_code`` when the server closes the
        connection with an error.  Tool calls run concurrently in the run's nursery and
        their results go back to the model; a ``toolCallCancellation`` cancels the named
        calls; async-generator tools stream their values to the model and end with the
        run.  There is no user message: nothing is appended for you except the user
        text you send through the queue.  Non-partial events are persisted before they
        are yielded, except model audio, video and image chunks (kept only with
        ``RunConfig.save_live_blob``).

        The session is named by ``user_id`` and ``session_id`` (``session=`` still works
        but is deprecated).  ``run_config`` is never modified: the run works on a copy
        in which ``response_modalities`` defaults to ``["AUDIO"]`` and, when the root
        agent has sub-agents, input and output transcription default to on (hand-overs
        need transcripts).  With ``RunConfig.session_resumption`` set, a ``goAway`` or a
        dropped connection is resumed transparently with the newest handle (at most
        three failed attempts in a row, with backoff); without it a dropped connection
        ends the run with ``LiveConnectionClosedError`` after its error event.

        Ending: ``live_request_queue.close()`` sends what was queued, waits for the reply
        in flight (at most ``RunConfig.live_drain_timeout``), closes the connection with
        1000, runs ``after_run_callback`` and finishes.  Leaving the loop early,
        cancellation, ``timeout`` (``TimeoutError``) and ``close()``
        (``RunnerClosedError``) cancel the sender, receiver and tool tasks and close the
        connection with 1001, shielded and bounded, before the generator finishes.

        Iterate from trio or from asyncio (trio then runs as a guest on the caller's
        loop), as for :meth:`run_async`.

        Raises:
            TypeError, ValueError: a bad argument (checked as for :meth:`run_async`,
                when this method is called); no ids and no ``session``; no queue.
            SessionNotFoundError: no such session (unless ``auto_create_session``).
        """
        if session is not None:
            warnings.warn(
                "The `session` parameter is deprecated. Please use `user_id` and "
                "`session_id` instead.", DeprecationWarning, stacklevel=2)
            check_instance(session, Session, "session")
            user_id, session_id = session.user_id, session.id
        elif user_id is None or session_id is None:
            raise ValueError("Either session or user_id and session_id must be provided.")
        if live_request_queue is None:
            raise ValueError("live_request_queue is required for run_live: pass "
                             "live_request_queue=LiveRequestQueue().")
        check_instance(live_request_queue, LiveRequestQueue, "live_request_queue")
        request = RunRequest(
            agent=self.agent,
            user_id=check_id(user_id, "user_id"), session_id=check_id(session_id, "session_id"),
            new_message=None,
            run_config=_live_run_config(_run_config(run_config), self.agent),
            timeout=check_seconds(timeout, "timeout", zero=True),
            live_request_queue=live_request_queue, session=session)
        return self._stream(request)

    def _stream(self, request: RunRequest) -> AsyncGenerator[Event, None]:
        """The events of a new run, for the calling library (asyncio, else trio)."""
        if _caller_library() == "asyncio":
            return stream_asyncio(self, request)
        return stream_trio(self, request)

    def run(
        self,
        *,
        user_id: str,
        session_id: str,
        new_message: types.Content | None = None,
        state_delta: dict[str, Any] | None = None,
        run_config: RunConfig | None = None,
        timeout: float | None = None,
    ) -> Generator[Event, None, None]:
        """Sync twin of :meth:`run_async`: ``for event in runner.run(...)``.

        Works from plain code and from a thread whose event loop is running (Jupyter, an
        asyncio program calling sync code): the run lives in a private trio run on a
        worker thread.  Raises ``RuntimeError`` when called from inside a trio task (use
        :meth:`run_async` there).  Events are handed over one at a time, each persisted
        as it is received.  Breaking out of the loop cancels the run and returns after its
        cleanup; ``after_run_callback`` still runs.  Agent errors are re-raised here after
        the events before them; a failure that is not an ``Exception`` arrives as
        ``RuntimeError`` chained to it.  ``KeyboardInterrupt`` cancels the run cleanly.
        Arguments are checked when this method is called, as for :meth:`run_async`.
        """
        return stream_sync(self, _request(self.agent, user_id, session_id, new_message,
                                          state_delta, run_config, timeout))

    async def run_batch_async(
        self,
        requests: Iterable[Any],
        *,
        max_concurrency: int = 8,
        fail_fast: bool = False,
        run_config: RunConfig | None = None,
        run_timeout: float | None = None,
    ) -> list[BatchResult]:
        """Run many conversation turns concurrently under one nursery.

        ``requests`` are ``BatchRequest`` objects, ``(user_id, session_id, message)``
        tuples or dicts (a plain string message is a user text).  At most
        ``max_concurrency`` run at once.  Returns one :class:`BatchResult` per request,
        in request order, each with its events or its error; a failing request does not
        cancel the others unless ``fail_fast=True`` (the others then end with
        ``BatchCancelledError``).  ``run_timeout`` (seconds) applies to each run.
        Cancelling the call cancels every run.  Await from trio or asyncio.  Every
        request and option is checked when this method is called, before any request
        runs: a bad one raises ``TypeError``/``ValueError`` naming it
        (``requests[3].session_id ...``).
        """
        batch = prepare_batch(requests, max_concurrency=max_concurrency, fail_fast=fail_fast,
                              run_config=run_config, run_timeout=run_timeout)
        if _caller_library() == "asyncio":
            return await run_in_trio(run_batch, self, batch)
        return await run_batch(self, batch)

    def run_batch(
        self,
        requests: Iterable[Any],
        *,
        max_concurrency: int = 8,
        fail_fast: bool = False,
        run_config: RunConfig | None = None,
        run_timeout: float | None = None,
    ) -> list[BatchResult]:
        """Sync twin of :meth:`run_batch_async`.

        Runs in a private trio run on a worker thread, so it works in plain code and in a
        thread whose asyncio loop is running, but not inside a trio task.  Ctrl-C cancels
        every run of the batch and waits for their cleanup before propagating.
        """
        batch = prepare_batch(requests, max_concurrency=max_concurrency, fail_fast=fail_fast,
                              run_config=run_config, run_timeout=run_timeout)
        return call_sync(run_batch, self, batch, what="Runner.run_batch()")

    # ---- closing ------------------------------------------------------------------------

    def close(self) -> Awaitable[None]:
        """Cancel runs in flight, wait for their cleanup, then close everything.

        Order: runs (cancelled from whichever thread or loop they live in, cleanup
        awaited), toolsets of the agent tree (each with a deadline; errors logged),
        model clients, plugins (each bounded by ``plugin_close_timeout``; failures raised
        together as one ``RuntimeError``), the session service's ``flush()``.  Shielded
        from the caller's cancellation and bounded in time.  Idempotent.

        ``await runner.close()`` from trio or asyncio; plain ``runner.close()`` from sync
        code (outside any event loop) closes before returning, and returns a finished
        coroutine, so ``asyncio.run(runner.close())`` and ``trio.run(runner.close)`` work
        too.  Called from inside one of this runner's runs (a tool or a callback), it
        cancels that run as well, closes everything else without waiting for it, and
        returns; the run ends at its next checkpoint and its consumer gets
        ``RunnerClosedError``.
        """
        library = _caller_library()
        if library == "trio":
            return self._aclose()
        if library == "asyncio":
            return run_in_trio(self._aclose)
        call_sync(self._aclose, what="Runner.close()")
        return _Done()

    async def _aclose(self) -> None:
        with self._lock:
            first = self._close_done is None
            if first:
                self._closed = True
                self._close_done = threading.Event()
                runs = list(self._runs)
        assert self._close_done is not None
        if not first:
            with trio.CancelScope(shield=True):
                while not self._close_done.is_set():
                    await trio.to_thread.run_sync(self._close_done.wait, 0.5)
            return
        # A run that this close() is called from (a tool, a callback) cannot end before
        # close() returns to it: it is cancelled, and ends at its next checkpoint.
        inside = enclosing_runs()
        try:
            with trio.CancelScope(shield=True):
                for run in runs:
                    run.cancel_by_runner()
                deadline = trio.current_time() + CLEANUP_GRACE
                for run in runs:  # one grace period for all runs, not one each
                    if run not in inside:
                        await run.wait_finished(max(0.0, deadline - trio.current_time()))
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
        """``async with runner:`` (trio or asyncio): the runner, closed on exit."""
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the runner (see :meth:`close`); exceptions are not suppressed.  The close
        is shielded from the caller's cancellation and bounded in time."""
        await self.close()

    def __enter__(self) -> Runner:
        """``with runner:`` in sync code (not inside a trio task): closed on exit."""
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the runner in a private trio run; Ctrl-C while closing cancels that."""
        call_sync(self._aclose, what="with runner:")


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
        session_concurrency: Literal["queue", "reject"] = "queue",
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
            session_concurrency=session_concurrency,
        )


def _request(agent: BaseAgent, user_id: Any, session_id: Any, new_message: Any,
             state_delta: Any, run_config: Any, timeout: Any) -> RunRequest:
    """The checked request of ``run`` / ``run_async``: every argument is checked here,
    when the method is called, before a run is registered or anything stored."""
    return RunRequest(agent=agent, user_id=check_id(user_id, "user_id"),
                      session_id=check_id(session_id, "session_id"),
                      new_message=check_user_message(new_message),
                      state_delta=check_state(state_delta, "state_delta"),
                      run_config=_run_config(run_config),
                      timeout=check_seconds(timeout, "timeout", zero=True))


def _run_config(value: Any) -> RunConfig:
    if value is None:
        return RunConfig()
    hint = "build one with RunConfig(**your_dict)" if isinstance(value, dict) else ""
    check_instance(value, RunConfig, "run_config", hint)
    return value  # type: ignore[no-any-return]


def _live_run_config(run_config: RunConfig, root: BaseAgent) -> RunConfig:
    """The caller's RunConfig with live defaults applied, as a copy."""
    changes: dict[str, Any] = {}
    if run_config.response_modalities is None:
        changes["response_modalities"] = ["AUDIO"]
    if root.sub_agents:
        if run_config.output_audio_transcription is None:
            changes["output_audio_transcription"] = types.AudioTranscriptionConfig()
        if run_config.input_audio_transcription is None:
            changes["input_audio_transcription"] = types.AudioTranscriptionConfig()
    return attrs.evolve(run_config, **changes)


def _caller_library() -> str | None:
    """``"trio"``, ``"asyncio"`` or ``None`` (sync code) for the calling context."""
    try:
        return sniffio.current_async_library()
    except sniffio.AsyncLibraryNotFoundError:
        return None


class _Done(Coroutine[Any, Any, None]):
    """What sync ``close()`` returns: a coroutine that has finished already.

    A real ``Coroutine``, so ``asyncio.run(runner.close())`` (the natural port of ADK
    code) accepts it; awaiting it returns at once, and never awaiting it warns nothing.
    """

    def __await__(self) -> Generator[Any, None, None]:
        return
        yield

    def send(self, value: Any) -> Any:
        raise StopIteration

    def throw(self, typ: Any, val: Any = None, tb: Any = None) -> Any:
        raise typ if val is None else val

    def close(self) -> None:
        pass


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
