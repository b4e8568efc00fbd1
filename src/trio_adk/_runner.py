"""Runner and InMemoryRunner: the public entry points (trio callers)."""

from __future__ import annotations

import enum
import logging
import threading
import warnings
from collections.abc import AsyncGenerator, Awaitable, Coroutine, Generator, Iterable
from contextlib import aclosing
from types import TracebackType
from typing import Any, Final, Literal, overload

import attrs
import sniffio
import trio
from google.genai import types

from trio_adk._batch import BatchResult, prepare_batch, run_batch
from trio_adk._bridges._asyncio_guest import run_in_trio, stream_asyncio
from trio_adk._bridges._sync_thread import call_sync, stream_sync
from trio_adk._bridges._trio import stream_trio
from trio_adk._resuming import check_resume_message
from trio_adk._rewind import rewind_session
from trio_adk._run import Run, RunRequest, enclosing_runs
from trio_adk._run_result import RunResult, TextStream
from trio_adk._service_registry import get_service_registry, redact_uri
from trio_adk._usercode._host import await_method
from trio_adk._utils._cancel import CLEANUP_GRACE
from trio_adk._utils._checks import (
    check_id,
    check_instance,
    check_seconds,
    check_state,
    check_user_message,
)
from trio_adk._utils._ids import new_uuid4
from trio_adk.agents._base_agent import BaseAgent
from trio_adk.agents._live_request_queue import LiveRequestQueue
from trio_adk.agents._llm_agent import LlmAgent
from trio_adk.agents._run_config import RunConfig, StreamingMode, check_run_config
from trio_adk.agents._tree import validate_tree
from trio_adk.apps._app import App
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

#: The app name of ``Runner()`` built without an agent (and without ``app_name``).
DEFAULT_APP_NAME: Final = "Runner"

#: The user of a compact run (``runner.run(agent, text)``) that names none.
DEFAULT_USER_ID: Final = "user"


class _Missing(enum.Enum):
    """The default of arguments whose absence means something (not ``None``)."""

    MISSING = "missing"

    def __repr__(self) -> str:
        return "<not given>"


_MISSING: Final = _Missing.MISSING


class Runner:
    """Runs agents against sessions: the ADK ``Runner`` API on trio.

    Two forms, which may be mixed on one runner:

    * The ADK form: ``Runner(app_name=..., agent=..., session_service=...)`` (or
      ``InMemoryRunner(agent)``) and runs of that root agent,
      ``runner.run(user_id=..., session_id=..., new_message=...)``, which yield events.
    * The compact form: ``Runner()`` (or ``InMemoryRunner()``) without an agent, and runs
      that name their agent, ``runner.run(agent, "text")``, which return a
      :class:`RunResult` (``str()`` of it is the reply).  Any runner takes them.

    Every run is a trio task with its own cancel scope, owned by this runner; when a
    consumer leaves, a deadline passes or ``close()`` is called, the run is cancelled and
    its cleanup awaited (bounded by a grace period, after which it is logged).
    ``close()`` cancels the runs still in flight, waits for their cleanup, then closes
    the toolsets and models of every agent tree this runner has run, the plugins and
    the session service.  (So the runner keeps each root agent it has run until it is
    closed: build agents once and reuse them rather than one per request.)

    Args:
        app: An :class:`~trio_adk.apps.App`: its root agent is the runner's agent and its
            plugins the runner's plugins (``plugins=`` must then be left out), as in ADK.
            Give ``app`` or ``agent``, not both.
        app_name: The app the sessions belong to (non-empty).  Required with ``agent``;
            with ``app`` it defaults to the app's name (another name may be given, as in
            ADK); without either it defaults to ``"Runner"``.
        agent: The root agent of the ADK-form runs.  Leave it (and ``app``) out
            (``Runner()``) for a runner whose runs name their agent; ``agent=None`` is an
            error.
        plugins: Plugins applied to every run, in order (names must be unique).
        artifact_service, session_service, memory_service, credential_service: The
            services runs use.  With ``agent``, only the session service is required
            and the others default to none; without an agent, the session, artifact and
            memory services default to in-memory ones (gone when the process ends).
            Beyond ADK, the session, artifact and memory services may be given as URIs
            (``"sqlite:///sessions.db"``, ``"postgresql://host/db"``,
            ``"file:///srv/artifacts"``, ``"s3://bucket"``, ``"memory://"``, or a scheme
            registered with ``get_service_registry()``): the runner builds them and
            closes them in ``close()``.
        auto_create_session: Create a missing session instead of raising
            ``SessionNotFoundError``.  Defaults to False with ``agent`` (as in ADK), True
            without one.
        plugin_close_timeout: Seconds each plugin's ``close()`` may take.
        session_concurrency: What a run does when another run is in flight on the same
            session (from this runner, another runner over the same session service, or,
            with a durable service, another process or host): ``"queue"`` (default)
            waits its turn, in arrival order within a process, so the two runs' events
            never interleave and the second sees everything the first appended;
            ``"reject"`` raises ``SessionBusyError``.

    Raises:
        TypeError, ValueError: a bad argument, named in the message; with ``agent``, a
            missing ``app_name`` or ``session_service`` (as in ADK); ``app`` with
            ``agent`` or ``plugins`` (ValueError, as in ADK).
        AgentTreeError: an invalid agent tree.

    A runner may be built anywhere and used from trio tasks, asyncio tasks and plain
    threads at once.
    """

    app_name: str
    app: App | None
    """The :class:`~trio_adk.apps.App` given to the constructor, or None."""
    agent: BaseAgent | None
    artifact_service: BaseArtifactService | None = None
    session_service: BaseSessionService
    memory_service: BaseMemoryService | None = None
    credential_service: BaseCredentialService | None = None
    plugin_manager: PluginManager

    def __init__(
        self,
        *,
        app: App | None = None,
        app_name: str | None = None,
        agent: BaseAgent | _Missing = _MISSING,
        plugins: list[BasePlugin] | None = None,
        artifact_service: BaseArtifactService | str | None = None,
        session_service: BaseSessionService | str | None = None,
        memory_service: BaseMemoryService | str | None = None,
        credential_service: BaseCredentialService | None = None,
        auto_create_session: bool | None = None,
        plugin_close_timeout: float = 5.0,
        session_concurrency: Literal["queue", "reject"] = "queue",
    ) -> None:
        root: BaseAgent | None = None
        if app is not None:  # the ADK form, the agent and plugins taken from the App
            if agent is not _MISSING and agent is not None:  # ADK accepts agent=None
                raise ValueError(
                    f"Only one of app or agent may be provided, but got: "
                    f"app={type(app).__name__}, agent={type(agent).__name__}. Pass exactly "
                    f"one to Runner(); the app's agent is app.root_agent.")
            check_instance(app, App, "app")
            if plugins is not None:
                raise ValueError(
                    "When app is provided, plugins should not be provided and should be "
                    "provided in the app instead: App(..., plugins=[...]).")
            agent = app.root_agent
            plugins = list(app.plugins)
            if app_name is None:
                app_name = app.name
        if agent is _MISSING:  # the compact form: runs name their agent
            app_name = check_id(DEFAULT_APP_NAME if app_name is None else app_name,
                                "app_name")
        else:  # the ADK form
            if app_name is None:
                raise TypeError(
                    "Runner(agent=...) needs app_name= as well, as in ADK: "
                    "Runner(app_name='my_app', agent=agent, session_service=...); or use "
                    "InMemoryRunner(agent).")
            check_id(app_name, "app_name")
            if agent is None:
                raise ValueError(
                    "Runner needs an agent: pass agent=<your root agent>, or leave agent "
                    "out (Runner()) to name the agent in each run: runner.run(agent, text).")
            if not isinstance(agent, BaseAgent):
                raise TypeError(
                    f"Runner needs an agent (a BaseAgent such as LlmAgent), got {type(agent)!r}."
                )
            validate_tree(agent)
            if session_service is None:
                raise ValueError(
                    "Runner needs a session_service, e.g. InMemorySessionService().")
            root = agent
        # Services named by URI ("sqlite:///sessions.db") are built here, owned by this
        # runner and closed by close().
        owned: list[Any] = []
        if isinstance(session_service, str):
            session_service = _from_uri("session", session_service)
            owned.append(session_service)
        if isinstance(artifact_service, str):
            artifact_service = _from_uri("artifact", artifact_service)
            owned.append(artifact_service)
        if isinstance(memory_service, str):
            memory_service = _from_uri("memory", memory_service)
            owned.append(memory_service)
        for value, kind, what in (
            (session_service, BaseSessionService, "session_service"),
            (artifact_service, BaseArtifactService, "artifact_service"),
            (memory_service, BaseMemoryService, "memory_service"),
            (credential_service, BaseCredentialService, "credential_service"),
        ):
            if value is not None:
                check_instance(value, kind, what)
        if auto_create_session is None:
            auto_create_session = root is None
        elif not isinstance(auto_create_session, bool):
            raise TypeError(f"auto_create_session must be True or False, got "
                            f"{auto_create_session!r}.")
        check_seconds(plugin_close_timeout, "plugin_close_timeout", optional=False)
        if session_concurrency not in ("queue", "reject"):
            raise ValueError(
                f"session_concurrency must be 'queue' or 'reject', got {session_concurrency!r}.")
        if root is None:
            if session_service is None:
                session_service = InMemorySessionService()
            if artifact_service is None:
                artifact_service = InMemoryArtifactService()
            if memory_service is None:
                memory_service = InMemoryMemoryService()
        assert session_service is not None and not isinstance(session_service, str)
        assert not isinstance(artifact_service, str) and not isinstance(memory_service, str)
        self.app_name = app_name
        self.app = app
        self.agent = root
        self.artifact_service = artifact_service
        self.session_service = session_service
        self.memory_service = memory_service
        self.credential_service = credential_service
        self.auto_create_session = auto_create_session
        self.plugin_close_timeout = plugin_close_timeout
        self.session_concurrency = session_concurrency
        self.plugin_manager = PluginManager(plugins, close_timeout=plugin_close_timeout)
        self._lock = threading.Lock()
        self._runs: set[Run] = set()
        # Root agents of every run so far (by identity): close() closes their trees.
        self._roots: dict[int, BaseAgent] = {} if root is None else {id(root): root}
        self._closed = False
        self._close_done: threading.Event | None = None
        self._owned_services = owned

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        agent = "named per run" if self.agent is None else repr(self.agent.name)
        return (f"<{type(self).__name__} app={self.app_name!r} agent={agent} "
                f"{state}, {len(self._runs)} runs in flight>")

    @property
    def closed(self) -> bool:
        """True once ``close()`` was called."""
        return self._closed

    # ---- runs -------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise RunnerClosedError(f"{self!r} is closed: create a new Runner to run again.")

    def _new_run(self, request: RunRequest) -> Run:
        """Register a new run (called where the run will live)."""
        run = Run(self, request)
        with self._lock:
            self._check_open()
            self._runs.add(run)
            self._roots.setdefault(id(request.agent), request.agent)
        return run

    def _forget(self, run: Run) -> None:
        with self._lock:
            self._runs.discard(run)

    def _own_agent(self, method: str) -> BaseAgent:
        """The root agent of an ADK-form run: the runner's own."""
        if self.agent is None:
            compact = method if method in ("run", "run_async", "run_live") else "run"
            raise TypeError(
                f"Runner.{method}(user_id=..., session_id=..., ...) runs the runner's own "
                f"agent, and {self!r} was built without one. Name the agent in the run, "
                f"runner.{compact}(agent, 'your text'), or build the runner with it: "
                "Runner(app_name=..., agent=..., session_service=...) or "
                "InMemoryRunner(agent).")
        return self.agent

    def _adk_request(self, method: str, user_id: Any, session_id: Any, new_message: Any,
                     state_delta: Any, run_config: Any, timeout: Any,
                     invocation_id: Any = None) -> RunRequest:
        """The checked request of an ADK-form run (``method(user_id=..., ...)``)."""
        root = self._own_agent(method)
        if user_id is None and session_id is None and new_message is None \
                and invocation_id is None:
            raise TypeError(
                f"Runner.{method}() needs user_id=, session_id= and new_message= (the ADK "
                f"form), or an agent and a message: runner.{method}(agent, 'your text').")
        return _request(root, user_id, session_id, new_message, state_delta, run_config,
                        timeout, invocation_id=invocation_id)

    def _compact_request(
        self, method: str, agent: Any, message: Any, message_name: str, user_id: Any,
        session_id: Any, state_delta: Any, run_config: Any, timeout: Any,
    ) -> tuple[RunRequest, bool]:
        """The checked request of a compact run (``method(agent, message, ...)``), and
        whether its session must be created first (a generated one, on a runner that
        does not create missing sessions)."""
        if message is _MISSING:
            if isinstance(agent, str | types.Content):
                raise TypeError(
                    f"Runner.{method}() was given the message but no agent: name the agent "
                    f"first, runner.{method}(agent, {message_name}), or use the ADK form, "
                    f"runner.{method}(user_id=..., session_id=..., ...) on a runner built "
                    "with its agent.")
            raise TypeError(f"Runner.{method}(agent, {message_name}) needs the "
                            f"{message_name}: a str of user text or a types.Content.")
        check_instance(agent, BaseAgent, "agent",
                       f"the first argument of runner.{method}(agent, {message_name}) is the "
                       "agent to run, such as Agent(name=..., model=...)")
        validate_tree(agent)
        generated = session_id is None
        request = _request(agent, DEFAULT_USER_ID if user_id is None else user_id,
                           new_uuid4() if generated else session_id, message, state_delta,
                           run_config, timeout, message_name=message_name)
        return request, generated and not self.auto_create_session

    async def _create_session(self, request: RunRequest) -> None:
        """Create the generated session of a compact run (trio or asyncio)."""
        self._check_open()
        await self.session_service.create_session(
            app_name=self.app_name, user_id=request.user_id, session_id=request.session_id)

    async def _collect(self, request: RunRequest, create_session: bool) -> RunResult:
        """Run a compact request to its end in the current trio run."""
        if create_session:
            await self._create_session(request)
        async with aclosing(stream_trio(self, request)) as stream:
            return _result(request, [event async for event in stream])

    async def _result(self, request: RunRequest, create_session: bool) -> RunResult:
        """:meth:`_collect` for the awaiting library (asyncio, else trio)."""
        if _caller_library() == "asyncio":
            return await run_in_trio(self._collect, request, create_session)
        return await self._collect(request, create_session)

    @overload
    def run_async(
        self,
        /,
        *,
        user_id: str,
        session_id: str,
        invocation_id: str | None = None,
        new_message: types.Content | str | None = None,
        state_delta: dict[str, Any] | None = None,
        run_config: RunConfig | None = None,
        timeout: float | None = None,
    ) -> AsyncGenerator[Event, None]: ...

    @overload
    def run_async(
        self,
        agent: BaseAgent,
        message: types.Content | str,
        /,
        *,
        user_id: str | None = None,
        session_id: str | None = None,
        state_delta: dict[str, Any] | None = None,
        run_config: RunConfig | None = None,
        timeout: float | None = None,
    ) -> Coroutine[Any, Any, RunResult]: ...

    def run_async(
        self,
        agent: Any = _MISSING,
        message: Any = _MISSING,
        /,
        *,
        user_id: Any = None,
        session_id: Any = None,
        invocation_id: Any = None,
        new_message: Any = None,
        state_delta: Any = None,
        run_config: Any = None,
        timeout: Any = None,
    ) -> AsyncGenerator[Event, None] | Coroutine[Any, Any, RunResult]:
        """Run an agent on a new user message, from trio or asyncio code.

        The ADK form, ``async for event in runner.run_async(user_id=..., session_id=...,
        new_message=...)``, runs the runner's own agent and yields its events as they
        happen.  The compact form, ``result = await runner.run_async(agent, "text")``,
        runs ``agent`` (any agent, on any runner) and returns its :class:`RunResult`
        once the run has finished; the session is a fresh one (a generated id) unless
        you name it with ``session_id``, and the user is ``"user"`` unless you name one.
        A named session that does not exist yet is created if the runner has
        ``auto_create_session`` (``Runner()`` and ``InMemoryRunner`` do).

        Use either from trio, or from asyncio (trio then runs as a guest on the caller's
        loop; anyio works on either backend): for the ADK form the caller's library is
        detected when this method is called, for the compact form when the result is
        awaited (so ``asyncio.run(runner.run_async(agent, "Hi"))`` works).  Non-partial
        events are persisted before they are yielded, and the agent waits for you to
        take each event.  Errors (a missing session, an agent failure) are raised from
        the iteration after the events produced before them, or from the ``await``.

        The message (``new_message``, or the compact form's second argument) is a
        ``types.Content`` or, for plain user text, a ``str``.  Ids are used exactly as
        given (non-empty ``str``, at most 128 characters, no surrounding whitespace);
        ``state_delta`` holds JSON values; ``timeout`` is a finite number of seconds (0
        times out at once).  Arguments are checked when this method is called: a bad one
        raises ``TypeError`` or ``ValueError`` naming it, before a run starts and before
        anything is stored.  The ADK form on a runner built without an agent is a
        ``TypeError`` that says to name the agent.

        Resuming (ADK form): a message that answers function calls (function responses
        with the calls' ids: a long-running tool's result, a tool confirmation) continues
        the invocation that made the calls, under its invocation id, whether or not
        ``invocation_id`` is given.  ``invocation_id`` alone (no ``new_message``)
        continues that invocation where it stopped: in a resumable App, calls of its
        last model turn that have no stored response run again, then the agent goes on;
        a pending long-running call keeps it paused.  ``invocation_id`` with a text
        message retries that invocation with its original message (the new one is not
        stored), or, for an id the session does not hold, starts a new invocation under
        that id.  See the README, "Pausing, resuming and compacting", for what runs at
        least once.

        Cancellation: leaving the loop early (``break`` under ``contextlib.aclosing``,
        ``aclose()``) or being cancelled (``trio.fail_after`` / ``asyncio.timeout`` around
        the loop or the ``await``, ``task.cancel()``) cancels the run; the generator or
        the ``await`` finishes only after the run's cleanup finished, and nothing further
        is persisted.  ``after_run_callback`` runs on normal completion and on early
        close, not on errors or outside cancellation.  ``timeout`` (seconds, whole run)
        ends the run with the built-in ``TimeoutError``.  ``close()`` ends it with
        ``RunnerClosedError``.
        """
        if agent is _MISSING:
            return self._stream(self._adk_request("run_async", user_id, session_id,
                                                  new_message, state_delta, run_config,
                                                  timeout, invocation_id))
        _no_adk_message("run_async", new_message, invocation_id)
        request, create = self._compact_request("run_async", agent, message, "message",
                                                user_id, session_id, state_delta,
                                                run_config, timeout)
        return self._result(request, create)

    async def rewind_async(
        self,
        *,
        user_id: str,
        session_id: str,
        rewind_before_invocation_id: str,
        run_config: RunConfig | None = None,
    ) -> None:
        """Rewind the session to before invocation ``rewind_before_invocation_id``.

        Nothing is deleted: one ``user`` event is appended
        (``actions.rewind_before_invocation_id`` set) whose state and artifact deltas
        undo that invocation and everything after it.  Later runs, request building,
        resumes and compaction no longer see the rewound events.  Afterwards the
        session's state is what it was before the invocation (keys added since are
        removed, in every session store), and each session artifact changed since gets
        its old content back as a new version (one created since loads as absent).

        Not undone, as in ADK: ``app:`` and ``user:`` state, ``user:`` artifacts.
        Rewinding before an invocation that an earlier rewind took away (or before a
        rewind event's own invocation) is allowed and undoes that earlier rewind.  The
        rewind takes the session's turn like a run (``session_concurrency``), so it
        never lands in the middle of a run on the same session.

        Args:
            user_id: The session's user.
            session_id: The session to rewind.
            rewind_before_invocation_id: An invocation id from the session's events (for
                example ``event.invocation_id`` of an event a run yielded).
            run_config: Accepted for ADK compatibility; its ``get_session_config`` is
                ignored, with a warning (a rewind always reads the whole history).

        Raises:
            SessionNotFoundError: no such session.
            InvocationNotFoundError: no event of the session has that invocation id (a
                ``ValueError``).
            SessionBusyError: the session is in use and ``session_concurrency`` is
                ``"reject"``.
            RunnerClosedError: the runner is closed.

        Cancellation: a rewind cancelled before its event is appended leaves the session
        unchanged (restored artifact versions may already be saved); once the call
        returns, the rewind is stored.  Await it from trio or asyncio code.
        """
        user_id = check_id(user_id, "user_id")
        session_id = check_id(session_id, "session_id")
        invocation_id = check_id(rewind_before_invocation_id, "rewind_before_invocation_id")
        config = check_run_config(run_config)
        if config is not None and config.get_session_config is not None:
            _log.warning("rewind_async ignores run_config.get_session_config: a rewind "
                         "reads the whole session.")
        if _caller_library() == "asyncio":
            await run_in_trio(self._rewind, user_id, session_id, invocation_id)
        else:
            await self._rewind(user_id, session_id, invocation_id)

    async def _rewind(self, user_id: str, session_id: str, invocation_id: str) -> None:
        self._check_open()
        async with self.session_service.claim_session(
                app_name=self.app_name, user_id=user_id, session_id=session_id,
                wait=self.session_concurrency == "queue"):
            await rewind_session(session_service=self.session_service,
                                 artifact_service=self.artifact_service,
                                 app_name=self.app_name, user_id=user_id,
                                 session_id=session_id,
                                 rewind_before_invocation_id=invocation_id)

    @overload
    def run_live(
        self,
        /,
        *,
        user_id: str | None = None,
        session_id: str | None = None,
        live_request_queue: LiveRequestQueue | None = None,
        run_config: RunConfig | None = None,
        session: Session | None = None,
        timeout: float | None = None,
    ) -> AsyncGenerator[Event, None]: ...

    @overload
    def run_live(
        self,
        agent: BaseAgent,
        /,
        input_text: types.Content | str,
        *,
        user_id: str | None = None,
        session_id: str | None = None,
        state_delta: dict[str, Any] | None = None,
        run_config: RunConfig | None = None,
        timeout: float | None = None,
    ) -> TextStream: ...

    def run_live(
        self,
        agent: Any = _MISSING,
        /,
        input_text: Any = _MISSING,
        *,
        user_id: Any = None,
        session_id: Any = None,
        live_request_queue: Any = None,
        run_config: Any = None,
        session: Any = None,
        timeout: Any = None,
        state_delta: Any = None,
    ) -> AsyncGenerator[Event, None] | TextStream:
        """Run an agent live and stream what it says as it says it.

        **The compact form**, ``runner.run_live(agent, input_text="Tell me a story")``,
        runs ``agent`` on one user message and returns a :class:`TextStream` of the
        reply's text chunks: ``for chunk in ...: print(chunk, end="")`` in sync code, or
        ``async for chunk in ...`` from trio or asyncio.  It streams with SSE
        (``StreamingMode.SSE`` through the ordinary run, set on a copy of
        ``run_config``), not the Live API: SSE works with every model that streams,
        while the Live API needs a live model and is about audio and video.  Sessions,
        users, ``state_delta``, ``timeout`` and the argument checks are as for the
        compact :meth:`run_async`; the run starts when the first chunk is asked for, and
        leaving the iteration early cancels it (see :class:`TextStream`).

        **The ADK form**, ``async for event in runner.run_live(user_id=..., session_id=...,
        live_request_queue=..., run_config=...)``, runs the runner's own agent over the
        Live API (voice, video, text).  What you send through ``live_request_queue``
        goes to the model as it comes; the model's replies arrive as events: partial
        text and audio chunks, the aggregated text, input and output transcriptions
        (partial fragments, then a final one), ``turn_complete``, ``interrupted``
        (barge-in), usage metadata, function calls and responses, and error events with
        ``error_code`` when the server closes the connection with an error.  Tool calls
        run concurrently in the run's nursery and their results go back to the model; a
        ``toolCallCancellation`` cancels the named calls; async-generator tools stream
        their values to the model and end with the run.  There is no user message:
        nothing is appended for you except the user text you send through the queue.
        Non-partial events are persisted before they are yielded, except model audio,
        video and image chunks (kept only with ``RunConfig.save_live_blob``).

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
                when this method is called); no ids and no ``session``; no queue; a
                compact call given ``live_request_queue`` or ``session``.
            SessionNotFoundError: no such session (unless ``auto_create_session``).
        """
        if agent is not _MISSING or input_text is not _MISSING:
            return self._live_text(agent, input_text, user_id, session_id,
                                   live_request_queue, run_config, session, timeout,
                                   state_delta)
        root = self._own_agent("run_live")
        if state_delta is not None:
            raise TypeError("state_delta is for runner.run_live(agent, input_text=...); "
                            "the live form of run_live takes none (send state with your "
                            "first message's run instead).")
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
            agent=root,
            user_id=check_id(user_id, "user_id"), session_id=check_id(session_id, "session_id"),
            new_message=None,
            run_config=_live_run_config(_run_config(run_config), root),
            timeout=check_seconds(timeout, "timeout", zero=True),
            live_request_queue=live_request_queue, session=session)
        return self._stream(request)

    def _live_text(self, agent: Any, input_text: Any, user_id: Any, session_id: Any,
                   live_request_queue: Any, run_config: Any, session: Any, timeout: Any,
                   state_delta: Any) -> TextStream:
        """The compact ``run_live(agent, input_text=...)``: an SSE run as text chunks."""
        if agent is _MISSING:
            raise TypeError("runner.run_live(input_text=...) needs the agent first: "
                            "runner.run_live(agent, input_text=...).")
        for value, name in ((live_request_queue, "live_request_queue"), (session, "session")):
            if value is not None:
                raise TypeError(
                    f"{name} belongs to the ADK form, runner.run_live(user_id=..., "
                    "session_id=..., live_request_queue=...); runner.run_live(agent, "
                    f"input_text=...) takes no {name}.")
        request, create = self._compact_request("run_live", agent, input_text, "input_text",
                                                user_id, session_id, state_delta,
                                                run_config, timeout)
        request.run_config = attrs.evolve(request.run_config,
                                          streaming_mode=StreamingMode.SSE)
        return TextStream(self, request, create_session=create)

    def _stream(self, request: RunRequest) -> AsyncGenerator[Event, None]:
        """The events of a new run, for the calling library (asyncio, else trio)."""
        if _caller_library() == "asyncio":
            return stream_asyncio(self, request)
        return stream_trio(self, request)

    @overload
    def run(
        self,
        /,
        *,
        user_id: str,
        session_id: str,
        invocation_id: str | None = None,
        new_message: types.Content | str | None = None,
        state_delta: dict[str, Any] | None = None,
        run_config: RunConfig | None = None,
        timeout: float | None = None,
    ) -> Generator[Event, None, None]: ...

    @overload
    def run(
        self,
        agent: BaseAgent,
        message: types.Content | str,
        /,
        *,
        user_id: str | None = None,
        session_id: str | None = None,
        state_delta: dict[str, Any] | None = None,
        run_config: RunConfig | None = None,
        timeout: float | None = None,
    ) -> RunResult: ...

    def run(
        self,
        agent: Any = _MISSING,
        message: Any = _MISSING,
        /,
        *,
        user_id: Any = None,
        session_id: Any = None,
        invocation_id: Any = None,
        new_message: Any = None,
        state_delta: Any = None,
        run_config: Any = None,
        timeout: Any = None,
    ) -> Generator[Event, None, None] | RunResult:
        """Sync twin of :meth:`run_async`.

        The ADK form, ``for event in runner.run(user_id=..., session_id=...,
        new_message=...)``, yields the events of the runner's own agent; the compact
        form, ``response = runner.run(agent, "text")``, runs ``agent`` and returns its
        :class:`RunResult` once the run has finished (``print(response)`` prints the
        reply).  Sessions, users and argument checks are as for :meth:`run_async`.

        Works from plain code and from a thread whose event loop is running (Jupyter, an
        asyncio program calling sync code): the run lives in a private trio run on a
        worker thread.  Raises ``RuntimeError`` when called from inside a trio task (use
        :meth:`run_async` there).  ADK form: events are handed over one at a time, each
        persisted as it is received; breaking out of the loop cancels the run and
        returns after its cleanup; ``after_run_callback`` still runs; agent errors are
        re-raised after the events before them, and a failure that is not an
        ``Exception`` arrives as ``RuntimeError`` chained to it.  Compact form: the same
        run, its events collected; errors are raised from the call.  In both,
        ``timeout`` raises the built-in
        ``TimeoutError``, ``close()`` from another thread ``RunnerClosedError``, and
        ``KeyboardInterrupt`` cancels the run cleanly (its cleanup finished) before it
        propagates.
        """
        if agent is _MISSING:
            return stream_sync(self, self._adk_request("run", user_id, session_id, new_message,
                                                       state_delta, run_config, timeout,
                                                       invocation_id))
        _no_adk_message("run", new_message, invocation_id)
        request, create = self._compact_request("run", agent, message, "message", user_id,
                                                session_id, state_delta, run_config, timeout)
        if create:
            call_sync(self._create_session, request, what="Runner.run()")
        # Through stream_sync, whose caller waits in short slices: Ctrl-C cancels the run
        # and arrives once its cleanup finished.
        return _result(request, stream_sync(self, request))

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
        (``requests[3].session_id ...``).  Every request runs the runner's own agent: on
        a runner built without one (``Runner()``) this raises ``TypeError``.
        """
        self._own_agent("run_batch")
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
        self._own_agent("run_batch")
        batch = prepare_batch(requests, max_concurrency=max_concurrency, fail_fast=fail_fast,
                              run_config=run_config, run_timeout=run_timeout)
        return call_sync(run_batch, self, batch, what="Runner.run_batch()")

    # ---- closing ------------------------------------------------------------------------

    def close(self) -> Awaitable[None]:
        """Cancel runs in flight, wait for their cleanup, then close everything.

        Order: runs (cancelled from whichever thread or loop they live in, cleanup
        awaited), toolsets of every agent tree this runner has run, its own agent's
        included (each once, with a deadline; errors logged), their model clients,
        plugins (each bounded by ``plugin_close_timeout``; failures raised together as
        one ``RuntimeError``), the session service's ``flush()``.  Shielded
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
                    await self._close_owned_services()
        finally:
            self._close_done.set()

    async def _close_owned_services(self) -> None:
        """Close the services this runner built from URIs (each bounded; errors logged)."""
        for service in self._owned_services:
            close = getattr(service, "close", None)
            if close is None:
                continue
            with trio.move_on_after(_TOOLSET_CLOSE_TIMEOUT) as scope:
                try:
                    await close()
                except Exception:
                    _log.exception("Error closing %r.", service)
            if scope.cancelled_caught:
                _log.warning("%r did not close within %.0f s.", service,
                             _TOOLSET_CLOSE_TIMEOUT)

    def _trees(self) -> list[BaseAgent]:
        """The root agents of every run so far (and the runner's own agent)."""
        with self._lock:
            return list(self._roots.values())

    async def _close_toolsets(self) -> None:
        for toolset in _toolsets(self._trees()):
            with trio.move_on_after(_TOOLSET_CLOSE_TIMEOUT) as scope:
                try:
                    await await_method(toolset.close)
                except Exception:
                    _log.exception("Error closing toolset %r.", toolset)
            if scope.cancelled_caught:
                _log.warning("Toolset %r did not close within %.0f s.", toolset,
                             _TOOLSET_CLOSE_TIMEOUT)

    async def _close_models(self) -> None:
        for agent in _walk(self._trees()):
            if isinstance(agent, LlmAgent) and agent._llm is not None:
                with trio.move_on_after(_TOOLSET_CLOSE_TIMEOUT):
                    try:
                        await await_method(agent._llm.aclose)
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
    session id that does not exist yet creates it.  ``InMemoryRunner(agent)`` runs
    ``agent`` in the ADK-form methods; ``InMemoryRunner()`` has no agent of its own, and
    its runs name theirs (``runner.run(agent, "text")``), as with ``Runner()``.
    ``InMemoryRunner(None)`` is an error.  ``InMemoryRunner(app=App(...))`` runs the app's
    root agent with its plugins; the app name is then the app's, otherwise
    ``"InMemoryRunner"``.
    """

    def __init__(
        self,
        agent: BaseAgent | _Missing = _MISSING,
        *,
        app: App | None = None,
        app_name: str | None = None,
        plugins: list[BasePlugin] | None = None,
        auto_create_session: bool = True,
        plugin_close_timeout: float = 5.0,
        session_concurrency: Literal["queue", "reject"] = "queue",
    ) -> None:
        if app is None and app_name is None:
            app_name = "InMemoryRunner"
        super().__init__(
            app=app,
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


def _from_uri(kind: str, uri: str) -> Any:
    """The service a URI argument names; a bad URI names the argument."""
    create = getattr(get_service_registry(), f"create_{kind}_service")
    try:
        return create(uri)
    except ValueError as exc:
        raise ValueError(f"{kind}_service={redact_uri(uri)!r}: {exc}") from None


def _request(agent: BaseAgent, user_id: Any, session_id: Any, new_message: Any,
             state_delta: Any, run_config: Any, timeout: Any, *,
             message_name: str = "new_message", invocation_id: Any = None) -> RunRequest:
    """The checked request of ``run`` / ``run_async``: every argument is checked here,
    when the method is called, before a run is registered or anything stored."""
    if invocation_id is not None:
        invocation_id = check_id(invocation_id, "invocation_id")
    message: types.Content | None = None
    if new_message is not None or invocation_id is None:  # resuming needs no message
        message = check_resume_message(check_user_message(new_message, message_name),
                                       message_name, invocation_id)
    return RunRequest(agent=agent, user_id=check_id(user_id, "user_id"),
                      session_id=check_id(session_id, "session_id"),
                      new_message=message,
                      state_delta=check_state(state_delta, "state_delta"),
                      run_config=_run_config(run_config),
                      timeout=check_seconds(timeout, "timeout", zero=True),
                      invocation_id=invocation_id)


def _result(request: RunRequest, events: Iterable[Event]) -> RunResult:
    return RunResult(events=tuple(events), session_id=request.session_id,
                     user_id=request.user_id)


def _no_adk_message(method: str, new_message: Any, invocation_id: Any = None) -> None:
    if new_message is not None:
        raise TypeError(
            f"runner.{method}(agent, message) takes the message as its second argument; "
            f"new_message= belongs to the ADK form, runner.{method}(user_id=..., "
            "session_id=..., new_message=...).")
    if invocation_id is not None:
        raise TypeError(
            f"invocation_id= (resuming an invocation) belongs to the ADK form, "
            f"runner.{method}(user_id=..., session_id=..., invocation_id=...), on a runner "
            "built with its agent or App.")


def _run_config(value: Any) -> RunConfig:
    return check_run_config(value) or RunConfig()


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


def _walk(roots: Iterable[BaseAgent]) -> list[BaseAgent]:
    """Every agent of the trees of ``roots``, each once (trees may share agents)."""
    seen: dict[int, BaseAgent] = {}
    pending = list(roots)
    while pending:
        agent = pending.pop(0)
        if id(agent) not in seen:
            seen[id(agent)] = agent
            pending.extend(agent.sub_agents)
    return list(seen.values())


def _toolsets(roots: Iterable[BaseAgent]) -> list[BaseToolset]:
    seen: dict[int, BaseToolset] = {}
    for agent in _walk(roots):
        if isinstance(agent, LlmAgent):
            for entry in agent.tools:
                if isinstance(entry, BaseToolset):
                    seen.setdefault(id(entry), entry)
    return list(seen.values())
