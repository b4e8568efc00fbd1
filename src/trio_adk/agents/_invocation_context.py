"""InvocationContext: everything one invocation (one run) carries."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import attrs
import trio
from google.genai import types

from trio_adk._utils._ids import new_uuid4
from trio_adk.agents._run_config import RunConfig
from trio_adk.errors import LlmCallsLimitExceededError

if TYPE_CHECKING:
    from trio_adk.agents._base_agent import BaseAgent
    from trio_adk.agents._live_request_queue import LiveRequest, LiveRequestQueue
    from trio_adk.apps._app import EventsCompactionConfig, ResumabilityConfig
    from trio_adk.artifacts._base import BaseArtifactService
    from trio_adk.auth._base import BaseCredentialService
    from trio_adk.auth._types import AuthCredential
    from trio_adk.events._event import Event
    from trio_adk.memory._base import BaseMemoryService
    from trio_adk.plugins._plugin_manager import PluginManager
    from trio_adk.sessions._base import BaseSessionService
    from trio_adk.sessions._session import Session

EmitFn = Callable[["Event"], Awaitable[None]]


def new_invocation_context_id() -> str:
    """A fresh invocation id: ``e-<uuid4>``."""
    return "e-" + new_uuid4()


class _Shared:
    """State shared by every copy of one invocation's context (per invocation)."""

    __slots__ = ("before_model_call", "children", "custom_metadata", "live_unsent",
                 "llm_calls", "paused",
                 "resume_path", "resuming", "run_scope", "run_token", "stepped",
                 "tool_limiter", "trace_context")

    def __init__(self) -> None:
        self.llm_calls = 0
        self.tool_limiter: trio.CapacityLimiter | None = None
        # A live request taken off the queue but not sent when an agent's live run
        # handed over (transfer, task_completed): (request, already stored); the next
        # agent's live run sends it first.
        self.live_unsent: tuple[LiveRequest, bool] | None = None
        # Agent tasks started by ``BaseAgent.run_async`` and not finished yet; the run
        # cancels and awaits any left when it ends.
        self.children: set[Any] = set()
        # The invocation's ``custom_metadata`` scratch dict that contexts expose (seeded
        # from ``run_config.custom_metadata`` on first use).
        self.custom_metadata: dict[str, Any] | None = None
        # The run's cancel scope and trio run: ``is_aborted`` reads the scope there.
        self.run_scope: trio.CancelScope | None = None
        self.run_token: trio.lowlevel.TrioToken | None = None
        # The OpenTelemetry context of the run's span: agents handed over to (transfer)
        # get their spans under it, as in ADK.
        self.trace_context: Any = None
        # The run continues an invocation the session already holds (resume by
        # invocation id or by answering its calls).  ``stepped``: the agents that have
        # taken a model step in this run (the first step of each looks at where it
        # stopped).  ``resume_path``: agent names from the root to the agent that was
        # running when the invocation stopped (workflow agents start there).
        self.resuming = False
        self.stepped: set[str] = set()
        self.resume_path: tuple[str, ...] = ()
        # Set by the runner for Apps that compact events by token count: awaited
        # before each model call of an agent (may append a compaction event).
        self.before_model_call: Callable[[InvocationContext, Any], Awaitable[None]] | None \
            = None
        # A resumable invocation waits on a long-running call or a confirmation:
        # workflow agents start no further sub-agent.
        self.paused = False


async def _no_sink(event: Event) -> None:
    raise RuntimeError(
        "This InvocationContext is not attached to a run: events can only be emitted "
        "while a Runner drives the agent."
    )


@attrs.define(kw_only=True, eq=False, slots=False)
class InvocationContext:
    """The context of one invocation: services, session, the agent being run.

    Each agent runs on its own shallow copy of its parent's context, so
    ``end_invocation`` ends only the current agent's run, while the model-call counter
    is shared by all copies.  Lives in the run's trio task; not thread-safe.
    """

    artifact_service: BaseArtifactService | None = None
    session_service: BaseSessionService
    memory_service: BaseMemoryService | None = None
    credential_service: BaseCredentialService | None = None
    plugin_manager: PluginManager = attrs.field(factory=lambda: _plugin_manager())
    invocation_id: str = attrs.field(factory=new_invocation_context_id)
    branch: str | None = None
    agent: BaseAgent
    user_content: types.Content | None = None
    session: Session
    end_invocation: bool = False
    live_request_queue: LiveRequestQueue | None = None
    active_streaming_tools: dict[str, Any] | None = None
    live_session_resumption_handle: str | None = None
    run_config: RunConfig = attrs.field(factory=RunConfig)
    # Credentials resolved during this invocation, by credential key; shared by every
    # copy of the context, never persisted (what ``get_credential`` on a context reads).
    credential_by_key: dict[str, AuthCredential] = attrs.field(factory=dict)
    # The App's settings (``Runner(app=...)``); None for a runner built with an agent.
    resumability_config: ResumabilityConfig | None = None
    events_compaction_config: EventsCompactionConfig | None = None
    _shared: _Shared = attrs.field(factory=_Shared, alias="_shared")
    _emit: EmitFn = attrs.field(default=_no_sink, alias="_emit")
    # The agent a SequentialAgent is running live: it gets the ``task_completed`` tool,
    # whose call ends its live run so the next sub-agent takes over.
    _live_task_agent: str | None = attrs.field(default=None, alias="_live_task_agent")

    @property
    def app_name(self) -> str:
        """The app name of the session."""
        return self.session.app_name

    @property
    def user_id(self) -> str:
        """The user id of the session."""
        return self.session.user_id

    @property
    def is_resumable(self) -> bool:
        """True when the App's invocations may pause and resume
        (``ResumabilityConfig(is_resumable=True)``)."""
        config = self.resumability_config
        return config is not None and config.is_resumable

    @property
    def is_aborted(self) -> bool:
        """True once the run was asked to stop: its consumer left, its timeout passed,
        ``Runner.close()``, or an outer run (``AgentTool``) stopping.

        A sync tool in a worker thread, which cancellation cannot interrupt, may poll
        it to return early.  Any thread.
        """
        scope, token = self._shared.run_scope, self._shared.run_token
        if scope is None or token is None:
            return False
        try:
            here = trio.lowlevel.current_trio_token() is token
        except RuntimeError:
            here = False
        if here:
            return scope.cancel_called
        try:  # a worker thread: ask the run's thread (a round trip of about 0.1 ms)
            return trio.from_thread.run_sync(lambda: scope.cancel_called, trio_token=token)
        except trio.RunFinishedError:
            return True

    def increment_llm_call_count(self) -> None:
        """Count one model call; raise ``LlmCallsLimitExceededError`` past the limit."""
        self._shared.llm_calls += 1
        limit = self.run_config.max_llm_calls
        if limit > 0 and self._shared.llm_calls > limit:
            raise LlmCallsLimitExceededError(
                f"Max number of llm calls limit of `{limit}` exceeded"
            )

    def model_copy(self, *, update: dict[str, Any] | None = None) -> InvocationContext:
        """A shallow copy with ``update`` applied (shares the call counter)."""
        return self._replace(**(update or {}))

    def _replace(self, **changes: Any) -> InvocationContext:
        # A dict copy: far cheaper than attrs.evolve on this hot path (one per agent).
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new.__dict__.update(changes)
        return new

    def _for_agent(self, agent: BaseAgent) -> InvocationContext:
        """The context an agent runs on: a shallow copy naming that agent."""
        return self._replace(agent=agent)

    def _with_emit(self, emit: EmitFn) -> InvocationContext:
        """A shallow copy whose events go to ``emit``."""
        return self._replace(_emit=emit)

    async def emit(self, event: Event) -> None:
        """Hand ``event`` to whoever drives this agent; returns when it was taken.

        For the runner that means: ``on_event`` plugins ran, the event was appended to the
        session (unless partial) and the consumer received it.  Cancellation: if
        cancelled before the hand-over, the event was not delivered.
        """
        await self._emit(event)


def _plugin_manager() -> PluginManager:
    from trio_adk.plugins._plugin_manager import PluginManager

    return PluginManager()
