"""The run task: one invocation from user message to after-run callback (trio only)."""

from __future__ import annotations

import contextvars
import logging
import threading
import weakref
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any

import attrs
import trio
from google.genai import types

from trio_adk._resuming import resolve_invocation, resume_agent
from trio_adk._usercode._host import AsyncioHost, host_context
from trio_adk._utils._cancel import CLEANUP_GRACE, cancelled_from_outside, leaked_cancel
from trio_adk._utils._copy import copy_state
from trio_adk._utils._rendezvous import ConsumerGone, Rendezvous
from trio_adk.agents._base_agent import BaseAgent, reap_children
from trio_adk.agents._invocation_context import InvocationContext, new_invocation_context_id
from trio_adk.agents._live_request_queue import LiveRequestQueue
from trio_adk.agents._llm_agent import LlmAgent
from trio_adk.agents._run_config import RunConfig
from trio_adk.agents._tree import validate_tree
from trio_adk.agents._user_message import accept_user_message
from trio_adk.apps._compaction import compaction_after_invocation, compaction_before_model_call
from trio_adk.errors import SessionNotFoundError, StaleSessionError
from trio_adk.events._event import Event
from trio_adk.events._event_actions import EventActions
from trio_adk.events._rewinds import without_rewound
from trio_adk.flows._live_flow import is_live_media
from trio_adk.sessions._base import BaseSessionService, _gates_of
from trio_adk.sessions._gates import SessionGates
from trio_adk.sessions._session import Session
from trio_adk.telemetry._spans import invocation_span, record_cancelled_run

if TYPE_CHECKING:
    from trio_adk._runner import Runner

_log = logging.getLogger("trio_adk")

#: Seconds a compaction (one summarizer call and its append) may take before it is left
#: for a later invocation.
COMPACTION_TIMEOUT = 120.0

# Every run that has started and not finished, for leak checks in tests.
ACTIVE_RUNS: weakref.WeakSet[Run] = weakref.WeakSet()

# The runs the current code is part of, innermost last: set in each run's task, so its
# agents, tools and callbacks (and the threads they start) see it.
_ENCLOSING_RUNS: contextvars.ContextVar[tuple[Run, ...]] = contextvars.ContextVar(
    "trio_adk_enclosing_runs", default=())


def enclosing_runs() -> tuple[Run, ...]:
    """The runs the calling code runs inside of (a tool, a callback, a nested run)."""
    return _ENCLOSING_RUNS.get()


class _Finished:
    """A run's end, for waiters on any thread: ``set`` once on the run's thread; ``wait``
    from any thread.  The ``threading.Event`` is made only when a thread has to block on
    it (``Runner.close()`` from another trio run), not for every run."""

    __slots__ = ("_event", "_set")

    _LOCK = threading.Lock()  # guards the lazy creation of ``_event``

    def __init__(self) -> None:
        self._set = False
        self._event: threading.Event | None = None

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        self._set = True
        # Read after the write above; a waiter publishes ``_event`` before reading
        # ``_set``, so one of the two sees the other's write.
        event = self._event
        if event is not None:
            event.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until set (or ``timeout`` seconds passed); True if set."""
        if self._set:
            return True
        with self._LOCK:
            event = self._event
            if event is None:
                event = self._event = threading.Event()
        if self.is_set():  # set meanwhile, before ``_event`` was published
            return True
        return event.wait(timeout)


#: Shielded schedule points a consumer waits for its run's end before a bounded wait.
_DONE_SPINS = 2

# Per session service class: does its claim consist of this process's gate alone (the
# base ``claim_session`` with nothing held elsewhere)?
_LOCAL_CLAIMS: dict[type, bool] = {}


def _claims_locally(service: object) -> bool:
    """True when ``service``'s claim is only the in-process gate: a run then takes and
    gives back its turn at the gate directly; the release does not wait, so it needs no
    shielded scope."""
    kind = type(service)
    local = _LOCAL_CLAIMS.get(kind)
    if local is None:
        local = _LOCAL_CLAIMS[kind] = (
            issubclass(kind, BaseSessionService)
            and kind.claim_session is BaseSessionService.claim_session
            and kind._claim_elsewhere is BaseSessionService._claim_elsewhere)
    return local


def _cleanup_scope(grace: float = CLEANUP_GRACE) -> trio.CancelScope:
    """A shielded scope bounded by ``grace`` seconds, shielded from its creation (setting
    ``shield`` on an entered scope recomputes the cancel state of every scope inside)."""
    return trio.CancelScope(deadline=trio.current_time() + grace, shield=True)


async def _run_ended(event: Event) -> None:
    raise RuntimeError(
        "This run has ended: its InvocationContext can no longer emit events."
    )



@attrs.define(kw_only=True, eq=False)
class RunRequest:
    """What a caller asked for: who, which session, which message."""

    user_id: str
    session_id: str
    new_message: types.Content | None
    agent: BaseAgent  # the root agent of this run
    state_delta: dict[str, Any] | None = None
    run_config: RunConfig = attrs.field(factory=RunConfig)
    timeout: float | None = None
    # Live runs (``Runner.run_live``): the input queue, and the deprecated session object.
    live_request_queue: LiveRequestQueue | None = None
    session: Session | None = None
    # ``run_async(invocation_id=...)``: the invocation to resume (or to start).
    invocation_id: str | None = None

    @property
    def live(self) -> bool:
        return self.live_request_queue is not None


class Run:
    """One invocation in flight: its task, its cancel scope, its hand-over point.

    The task is started with :meth:`start` and always ends by setting ``done``.  The
    consumer side reads ``handoff`` and, when it leaves early, calls :meth:`abandon`.
    """

    def __init__(self, runner: Runner, request: RunRequest) -> None:
        self.runner = runner
        self.request = request
        self.cancel_scope = trio.CancelScope()
        self.done = trio.Event()
        # Set together with ``done``; lets other threads and trio runs wait for the end.
        self.finished = _Finished()
        # Called (on the run's thread) right after ``finished`` is set.
        self.on_finished: list[Callable[[], None]] = []
        self.token: trio.lowlevel.TrioToken | None = None
        self.handoff: Rendezvous[Event] = Rendezvous()
        self.error: BaseException | None = None
        self.closed_by_runner = False
        self.consumer_left = False
        self.ctx: InvocationContext | None = None
        self._cancel_requested = False
        self._after_run_done = False
        # The session's claim (one run per session), released when the run ends.
        self._claim: AbstractAsyncContextManager[None] | None = None
        # ... or, for a service whose claim is the in-process gate alone, the gate.
        self._gate: tuple[SessionGates, tuple[str, str, str]] | None = None

    def __repr__(self) -> str:
        state = "done" if self.done.is_set() else "running"
        return (f"<Run {state} session={self.request.session_id!r} "
                f"user={self.request.user_id!r}>")

    def start(self, host: AsyncioHost | None = None) -> None:
        """Start the run task in the current trio run (a system task).

        Called from a trio task, or from asyncio code on the thread hosting a trio guest
        run.  The task inherits the caller's contextvars.  ``host``: where the run's user
        code runs (``None``: on trio, directly).
        """
        ACTIVE_RUNS.add(self)
        self.token = trio.lowlevel.current_trio_token()
        if self.closed_by_runner:
            self.cancel_scope.cancel()  # close() reached the run before it started
        if self.request.timeout is not None:
            self.cancel_scope.deadline = trio.current_time() + self.request.timeout
        trio.lowlevel.spawn_system_task(
            self._drive, name=f"trio_adk.run:{self.request.session_id}",
            context=host_context(host),
        )

    def abandon(self, *, consumer_closed: bool) -> None:
        """The consumer stopped before the end: cancel the run (it cleans up itself).

        Call from the run's own trio thread.
        """
        self.consumer_left = consumer_closed
        self.handoff.close_consumer()
        self._cancel_requested = True
        self.cancel_scope.cancel()

    def cancel_by_runner(self) -> None:
        """``Runner.close()``: cancel the run from any thread or trio run.

        A run that already finished is left alone (its consumer sees its real outcome);
        a run not started yet starts cancelled.
        """
        token = self.token
        if token is None:
            self.closed_by_runner = True  # start() sees it and starts cancelled
            self._cancel_requested = True
            return
        try:
            if _current_token() is token:
                self._cancel_on_own_thread()
            else:
                token.run_sync_soon(self._cancel_on_own_thread)
        except trio.RunFinishedError:
            pass  # its trio run is over, so the run is too

    def _cancel_on_own_thread(self) -> None:
        if not self.done.is_set():
            self.closed_by_runner = True
            self._cancel_requested = True
            self.cancel_scope.cancel()

    async def wait_finished(self, grace: float = CLEANUP_GRACE) -> None:
        """Wait, shielded and bounded, for the run to end, from any trio run."""
        if self.finished.is_set():
            return
        if _current_token() is self.token:
            await self.wait_done(grace)
            return
        with trio.CancelScope(shield=True):
            ended = await trio.to_thread.run_sync(self.finished.wait, grace)
        if not ended:
            _log.warning("%r did not finish its cleanup within %.1f s.", self, grace)

    async def wait_done(self, grace: float = CLEANUP_GRACE) -> None:
        """Wait, shielded and bounded by ``grace``, until the run's cleanup finished."""
        # A cancelled run usually finishes its cleanup in its next step: look again after
        # a few shielded schedule points (no cancel scope needed) before arming the
        # bounded wait.
        for _ in range(_DONE_SPINS):
            if self.done.is_set():
                return
            await trio.lowlevel.cancel_shielded_checkpoint()
        if self.done.is_set():
            return
        with _cleanup_scope(grace) as scope:
            await self.done.wait()
        if scope.cancelled_caught:
            _log.warning("%r did not finish its cleanup within %.1f s.", self, grace)

    async def _drive(self) -> None:
        _ENCLOSING_RUNS.set((*_ENCLOSING_RUNS.get(), self))  # this task's own context
        try:
            error: BaseException | None = None
            try:
                with self.cancel_scope:
                    await self._invoke()
                if self.cancel_scope.cancelled_caught:
                    record_cancelled_run(self._cancel_reason())
                if self.cancel_scope.cancelled_caught and not self._cancel_requested:
                    error = TimeoutError(
                        f"The run took longer than its timeout of {self.request.timeout} s "
                        "and was cancelled."
                    )
            except trio.Cancelled as exc:
                if cancelled_from_outside():
                    record_cancelled_run("caller")
                    raise  # cancelled from outside (the trio run is ending)
                error = leaked_cancel("The agent", exc)
            except ConsumerGone:  # the consumer went away while an event was handed over
                record_cancelled_run("consumer_left")
            except BaseException as exc:  # delivered to the consumer, never dropped
                error = exc
            if self.consumer_left:
                # The consumer closed the stream before its end: from its side the run
                # ended early, so after_run runs; an error it will never see is logged.
                if error is not None:
                    _log.error("Run failed after its consumer left: %r", self,
                               exc_info=error)
                await self._after_run_on_early_close()
            elif error is not None:
                self.error = error
        finally:
            ctx = self.ctx
            if ctx is not None:
                if ctx._shared.children:
                    await reap_children(ctx._shared)
                # The context no longer reaches the run (no reference cycle left for
                # the garbage collector); an emit through it after the end is an error.
                ctx._emit = _run_ended
            gate, self._gate = self._gate, None
            if gate is not None:
                gate[0].release(gate[1])  # does not wait
            claim, self._claim = self._claim, None
            if claim is not None:
                with _cleanup_scope():
                    await claim.__aexit__(None, None, None)
            self.handoff.close_producer()
            self.runner._forget(self)
            ACTIVE_RUNS.discard(self)
            self.done.set()
            self.finished.set()
            for callback in self.on_finished:
                callback()

    def _cancel_reason(self) -> str:
        if self.closed_by_runner:
            return "runner_closed"
        if self._cancel_requested:
            return "consumer_left"
        return "timeout"

    async def _after_run_on_early_close(self) -> None:
        ctx = self.ctx
        if ctx is None or self._after_run_done:
            return
        self._after_run_done = True
        with _cleanup_scope():
            try:
                await ctx.plugin_manager.run_after_run_callback(invocation_context=ctx)
            except Exception:
                _log.exception("after_run_callback failed after the consumer left early.")

    # ---- the invocation ---------------------------------------------------------------

    async def _invoke(self) -> None:
        # A tree changed since it was built (sub-agents or tools appended) is checked
        # before anything is stored; unchanged, this costs a cached comparison.
        validate_tree(self.request.agent)
        if self.request.live:
            await self._invoke_live()
            return
        request = self.request
        message = request.new_message  # checked by the runner when the run was asked for
        ctx = await self._open_invocation(user_content=message)
        run_config = ctx.run_config
        resolution = resolve_invocation(ctx.session.events, message, request.invocation_id,
                                        request.session_id)
        ctx.invocation_id = resolution.invocation_id
        ctx._shared.resuming = resolution.resumed
        actions = EventActions(state_delta=copy_state(request.state_delta)) \
            if request.state_delta else EventActions()
        user_event: Event | None
        if resolution.store_message and message is not None:
            message = await accept_user_message(ctx, message)
            if run_config.save_input_blobs_as_artifacts:
                message = await _save_input_blobs(ctx, message)
            ctx.user_content = message if resolution.user_content is request.new_message \
                else resolution.user_content
            user_event = Event(invocation_id=ctx.invocation_id, author="user",
                               content=message, actions=actions)
        else:
            # Resuming: the invocation keeps its own message; a state delta is stored
            # in a user event of its own.
            ctx.user_content = resolution.user_content
            user_event = Event(invocation_id=ctx.invocation_id, author="user",
                               actions=actions) if request.state_delta else None
        if user_event is not None:
            _stamp_metadata(user_event, run_config)
            await ctx.session_service.append_event(ctx.session, user_event)
        await self._run_agent(ctx, live=False)

    async def _invoke_live(self) -> None:
        """``run_live``: no user message; the agent talks to the model until the input
        queue ends (or the run is cancelled)."""
        queue = self.request.live_request_queue
        assert queue is not None
        queue.bind()
        ctx = await self._open_invocation(user_content=None, live_request_queue=queue)
        await self._run_agent(ctx, live=True)

    async def _open_invocation(
        self, *, user_content: types.Content | None,
        live_request_queue: LiveRequestQueue | None = None,
    ) -> InvocationContext:
        """Wait for the session's turn, load the session, build the invocation context."""
        runner = self.runner
        request = self.request
        service = runner.session_service
        wait = runner.session_concurrency == "queue"
        if _claims_locally(service):
            # What the base ``claim_session`` does, without its context manager.
            gates = _gates_of(service)
            key = (runner.app_name, request.user_id, request.session_id)
            await gates.acquire(key, wait=wait)
            self._gate = (gates, key)  # released when the run ends
        else:
            claim = service.claim_session(
                app_name=runner.app_name, user_id=request.user_id,
                session_id=request.session_id, wait=wait)
            await claim.__aenter__()
            self._claim = claim  # released (shielded, bounded) when the run ends
        session = request.session
        if session is None:
            session = await _load_session(runner, request)
        ctx = InvocationContext(
            artifact_service=runner.artifact_service,
            session_service=runner.session_service,
            memory_service=runner.memory_service,
            credential_service=runner.credential_service,
            plugin_manager=runner.plugin_manager,
            invocation_id=new_invocation_context_id(),
            agent=request.agent,
            user_content=user_content,
            session=session,
            run_config=request.run_config,
            live_request_queue=live_request_queue,
            resumability_config=None if runner.app is None else runner.app.resumability_config,
            events_compaction_config=(None if runner.app is None
                                      else runner.app.events_compaction_config),
        )
        ctx._emit = self._emit
        if ctx.events_compaction_config is not None \
                and ctx.events_compaction_config.token_threshold is not None:
            ctx._shared.before_model_call = _compact_before_model_call
        ctx._shared.run_scope = self.cancel_scope
        ctx._shared.run_token = self.token
        self.ctx = ctx
        return ctx

    async def _run_agent(self, ctx: InvocationContext, *, live: bool) -> None:
        """The agent that answers, wrapped in the before/after-run plugin callbacks."""
        plugins = ctx.plugin_manager
        root = self.request.agent
        agent = None
        if ctx._shared.resuming:
            agent, path = resume_agent(without_rewound(ctx.session.events),
                                       ctx.invocation_id, root)
            ctx._shared.resume_path = path
        ctx.agent = agent or find_agent_to_run(ctx.session, root)
        with invocation_span(ctx, self.request.agent):
            early = await plugins.run_before_run_callback(invocation_context=ctx)
            if early is not None:
                await self._emit(Event(invocation_id=ctx.invocation_id, author="model",
                                       content=early))
            else:
                await ctx.agent._execute(ctx, live=live)
            self._after_run_done = True
            await plugins.run_after_run_callback(invocation_context=ctx)
            if ctx.events_compaction_config is not None and not live:
                await _compact_after_invocation(ctx)

    async def _emit(self, event: Event) -> None:
        """The sink of every agent event: metadata, on_event, persist, hand over."""
        ctx = self.ctx
        assert ctx is not None
        run_config = ctx.run_config
        if run_config.custom_metadata:
            _stamp_metadata(event, run_config)
        plugins = ctx.plugin_manager
        if plugins.plugins:
            replacement = await plugins.run_on_event_callback(
                invocation_context=ctx, event=event)
            if replacement is not None:
                event = _merge_replacement(event, replacement)
        if event.partial or (self.request.live and not run_config.save_live_blob
                             and is_live_media(event)):
            await self.handoff.deliver(event)
        else:
            await self.handoff.deliver(event, self._persist)

    async def _persist(self, event: Event) -> None:
        ctx = self.ctx
        assert ctx is not None
        delta = event.actions.state_delta
        if delta:
            # Values in the delta are shared with session state (State writes both);
            # the stored event keeps a snapshot, so later in-place changes of a value
            # do not rewrite history.
            event.actions.state_delta = copy_state(delta)
        await ctx.session_service.append_event(ctx.session, event)


async def _compact_after_invocation(ctx: InvocationContext) -> None:
    """Summarize older events once the invocation is over (App event compaction).

    Runs in the run's task after ``after_run_callback``, before the run ends, so the
    session is still the run's own; bounded by :data:`COMPACTION_TIMEOUT` (then the
    history is left as it is, with a warning).  Cancelling the run (the consumer left,
    ``close()``, the run's timeout) cancels it.  The summary is stored, not yielded (as
    in ADK); a summary the session moved past (``StaleSessionError``) is dropped.
    """
    with trio.move_on_after(COMPACTION_TIMEOUT) as scope:
        event = await compaction_after_invocation(ctx)
        if event is not None:
            await _append_compaction(ctx, event)
    if scope.cancelled_caught:
        _log.warning("Event compaction of session %s took longer than %.0f s and was "
                     "left for a later invocation.", ctx.session.id, COMPACTION_TIMEOUT)


async def _compact_before_model_call(ctx: InvocationContext, agent: LlmAgent) -> None:
    """Token-threshold compaction before a model call (bounded as after an invocation)."""
    with trio.move_on_after(COMPACTION_TIMEOUT) as scope:
        event = await compaction_before_model_call(ctx, agent)
        if event is not None:
            await _append_compaction(ctx, event)
    if scope.cancelled_caught:
        _log.warning("Event compaction of session %s took longer than %.0f s; the model "
                     "call goes ahead with the whole history.", ctx.session.id,
                     COMPACTION_TIMEOUT)


async def _append_compaction(ctx: InvocationContext, event: Event) -> None:
    try:
        await ctx.session_service.append_event(ctx.session, event)
    except StaleSessionError:
        _log.info("Dropped a compaction of session %s: another writer appended first.",
                  ctx.session.id)


def _current_token() -> trio.lowlevel.TrioToken | None:
    try:
        return trio.lowlevel.current_trio_token()
    except RuntimeError:
        return None


async def _load_session(runner: Runner, request: RunRequest) -> Session:
    service = runner.session_service
    session = await service.get_session(
        app_name=runner.app_name, user_id=request.user_id, session_id=request.session_id,
        config=request.run_config.get_session_config,
    )
    if session is not None:
        return session
    if runner.auto_create_session:
        return await service.create_session(
            app_name=runner.app_name, user_id=request.user_id, session_id=request.session_id)
    raise SessionNotFoundError(
        f"Session not found: {request.session_id} (app_name={runner.app_name!r}, "
        f"user_id={request.user_id!r}). Create it first with "
        "`await runner.session_service.create_session(app_name=..., user_id=..., "
        "session_id=...)`, or construct the runner with auto_create_session=True."
    )


async def _save_input_blobs(ctx: InvocationContext, message: types.Content) -> types.Content:
    service = ctx.artifact_service
    if service is None:
        raise ValueError("save_input_blobs_as_artifacts needs an artifact_service.")
    parts = list(message.parts or ())
    for index, part in enumerate(parts):
        if part.inline_data is None:
            continue
        name = f"artifact_{ctx.invocation_id}_{index}"
        await service.save_artifact(app_name=ctx.app_name, user_id=ctx.user_id,
                                    session_id=ctx.session.id, filename=name, artifact=part)
        parts[index] = types.Part(text=f"Uploaded file: {name}. It is saved into artifacts")
    return types.Content(role=message.role, parts=parts)


def _stamp_metadata(event: Event, run_config: RunConfig) -> None:
    extra = run_config.custom_metadata
    if extra:
        event.custom_metadata = {**extra, **(event.custom_metadata or {})}


_KEEP = frozenset({"id", "invocation_id", "timestamp"})


def _default_of(field: Any) -> Any:
    default = field.default
    if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
        return default.factory()
    return default


# (name, default) of the Event fields a plugin may replace; factories evaluated once.
_MERGEABLE = tuple((f.name, _default_of(f)) for f in attrs.fields(Event) if f.name not in _KEEP)


def _merge_replacement(original: Event, replacement: Event) -> Event:
    """Apply what an ``on_event`` plugin set on ``replacement`` onto ``original``.

    A field counts as set when it differs from its default; ``id``, ``invocation_id``
    and ``timestamp`` stay the original's, and an empty author falls back to it.
    """
    if replacement is original:
        return original
    for name, default in _MERGEABLE:
        value = getattr(replacement, name)
        if name == "author" and not value:
            continue
        if value != default:
            setattr(original, name, value)
    return original


def find_agent_to_run(session: Session, root: BaseAgent) -> BaseAgent:
    """Which agent answers the new message.

    A function response goes to the agent that made the call; otherwise the newest
    non-user event's author when it is the root or transferable across the tree;
    otherwise the root.
    """
    events = session.events
    if events:
        responses = events[-1].get_function_responses()
        if responses:
            call_id = responses[0].id
            for event in reversed(events[:-1]):
                if any(c.id == call_id for c in event.get_function_calls()):
                    agent = root.find_agent(event.author)
                    if agent is not None:
                        return agent
                    break
    for event in reversed(events):
        author = event.author
        if author == "user":
            continue
        if author == root.name:
            return root
        agent = root.find_sub_agent(author)
        if agent is None:
            _log.warning("Event from an unknown agent: %s, event id: %s", author, event.id)
            continue
        if is_transferable_across_tree(agent):
            return agent
    return root


def is_transferable_across_tree(agent: BaseAgent) -> bool:
    """True when every agent from ``agent`` up to the root is an LlmAgent that allows
    transfer to its parent."""
    current: BaseAgent | None = agent
    while current is not None:
        if not isinstance(current, LlmAgent) or current.disallow_transfer_to_parent:
            return False
        current = current.parent_agent
    return True
