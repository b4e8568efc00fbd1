"""ReadonlyContext and CallbackContext: what callbacks and instruction providers see."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from google.genai import types

from trio_adk._not_provided import WORKFLOW_GRAPHS, NotProvidedError, member_not_provided
from trio_adk.events._event_actions import EventActions
from trio_adk.sessions._state import State

if TYPE_CHECKING:
    from trio_adk.agents._invocation_context import InvocationContext
    from trio_adk.agents._run_config import RunConfig
    from trio_adk.artifacts._base import BaseArtifactService
    from trio_adk.auth._types import AuthConfig, AuthCredential
    from trio_adk.events._event import Event
    from trio_adk.events._ui_widget import UiWidget
    from trio_adk.memory._base import BaseMemoryService, MemoryEntry, SearchMemoryResponse
    from trio_adk.sessions._session import Session


def _custom_metadata(ctx: InvocationContext) -> dict[str, Any]:
    shared = ctx._shared
    if shared.custom_metadata is None:
        shared.custom_metadata = dict(ctx.run_config.custom_metadata or {})
    return shared.custom_metadata


class ReadonlyContext:
    """A read-only view of the invocation (used by instruction providers)."""

    __slots__ = ("_invocation_context",)

    def __init__(self, invocation_context: InvocationContext) -> None:
        self._invocation_context = invocation_context

    @property
    def user_content(self) -> types.Content | None:
        """The user message that started the invocation."""
        return self._invocation_context.user_content

    @property
    def invocation_id(self) -> str:
        """The current invocation id."""
        return self._invocation_context.invocation_id

    @property
    def is_aborted(self) -> bool:
        """True once the run was asked to stop (see ``InvocationContext.is_aborted``):
        a sync tool may poll it to return early.  Any thread."""
        return self._invocation_context.is_aborted

    @property
    def agent_name(self) -> str:
        """The name of the agent being run."""
        return self._invocation_context.agent.name

    @property
    def session(self) -> Session:
        """The session of the invocation (treat as read-only)."""
        return self._invocation_context.session

    @property
    def user_id(self) -> str:
        """The id of the user the invocation runs for."""
        return self._invocation_context.user_id

    @property
    def run_config(self) -> RunConfig:
        """The run config of the invocation."""
        return self._invocation_context.run_config

    @property
    def custom_metadata(self) -> Mapping[str, Any]:
        """The invocation's custom metadata, read-only (see CallbackContext's)."""
        return MappingProxyType(_custom_metadata(self._invocation_context))

    @property
    def state(self) -> Mapping[str, Any]:
        """The session state, read-only."""
        return MappingProxyType(self._invocation_context.session.state)

    def get_credential(self, key: str) -> AuthCredential | None:
        """The credential resolved for ``key`` during this invocation, or None.

        Reads ``InvocationContext.credential_by_key``, a per-invocation cache that is
        never persisted.  ADK fills it when it resolves a toolset's auth config, which
        trio-adk does not do yet, so it holds only what the app or a plugin put there.
        Any thread (a dict lookup).
        """
        return self._invocation_context.credential_by_key.get(key)


class CallbackContext(ReadonlyContext):
    """The context of agent and model callbacks: writable state, artifacts, credentials.

    State written here is visible at once and is recorded in ``event_actions``, so it
    is persisted with the next event the agent emits.  Use it from the run's trio task
    (callbacks run there); the artifact and credential helpers await their services and
    are cancelled with the run (a cancelled save either stored the artifact or did not).
    """

    __slots__ = ("_event_actions", "_event_author", "_function_call_id", "_state")

    def __init__(
        self,
        invocation_context: InvocationContext,
        *,
        event_actions: EventActions | None = None,
        function_call_id: str | None = None,
    ) -> None:
        super().__init__(invocation_context)
        self._function_call_id = function_call_id
        self._event_actions = event_actions if event_actions is not None else EventActions()
        self._state = State(
            value=invocation_context.session.state, delta=self._event_actions.state_delta
        )
        self._event_author = ""

    @property
    def state(self) -> State:  # type: ignore[override]
        """The session state; writes are recorded in the event actions' state delta."""
        return self._state

    @property
    def actions(self) -> EventActions:
        """The actions that will be attached to the event this context produces."""
        return self._event_actions

    @property
    def event_actions(self) -> EventActions:
        """Alias of :attr:`actions` (ADK spelling)."""
        return self._event_actions

    @property
    def function_call_id(self) -> str | None:
        """The id of the function call being run (a tool's context), else None."""
        return self._function_call_id

    @function_call_id.setter
    def function_call_id(self, value: str | None) -> None:
        self._function_call_id = value

    @property
    def custom_metadata(self) -> dict[str, Any]:
        """The invocation's custom metadata: one dict shared by every context of the
        invocation, starting as a copy of ``run_config.custom_metadata``.

        Callbacks and tools may use it to pass values along within the invocation;
        changing it does not change the run config or the events' metadata.
        """
        return _custom_metadata(self._invocation_context)

    @property
    def tool_confirmation(self) -> Any:
        """None outside a tool's context (a ``ToolContext`` has the client's answer to
        its call's confirmation request here)."""
        return None

    def request_confirmation(self, *, hint: str | None = None, payload: Any = None) -> None:
        """Only a tool's context can ask for a confirmation (``ToolContext``); here
        raises ``ValueError``."""
        raise ValueError(
            "request_confirmation requires a function_call_id: it only works in a "
            "tool's context."
        )

    def get_invocation_context(self) -> InvocationContext:
        """A shallow copy of the invocation context (same session, services and call
        counter)."""
        return self._invocation_context.model_copy()

    @property
    def branch(self) -> str | None:
        """The branch of the invocation (``parent.child`` names), if any."""
        return self._invocation_context.branch

    @property
    def event_author(self) -> str:
        """The author to stamp on a workflow node's events instead of the node's name.

        ADK's Workflow graphs set it so a workflow's events carry the workflow's name;
        outside a workflow, which is everywhere in trio-adk, it is ``""`` and setting
        it changes no event's author (as in ADK).
        """
        return self._event_author

    @event_author.setter
    def event_author(self, value: str) -> None:
        self._event_author = value

    # ---- UI widgets ----------------------------------------------------------------

    def render_ui_widget(self, ui_widget: UiWidget) -> None:
        """Ask the UI to render ``ui_widget`` with the event this context produces.

        Appended to ``actions.render_ui_widgets`` (a tool's widgets come with its
        function-response event; the widgets of calls that ran together are all kept).
        Raises ``ValueError`` if a widget with the same ``id`` is already there.  Call it
        while the tool or callback runs, from the thread it runs in.
        """
        widgets = self._event_actions.render_ui_widgets
        if widgets is None:
            widgets = self._event_actions.render_ui_widgets = []
        if any(w.id == ui_widget.id for w in widgets):
            raise ValueError(
                f"A UI widget with id {ui_widget.id!r} is already in this event's actions; "
                "give each widget of an event its own id."
            )
        widgets.append(ui_widget)

    # ---- ADK Workflow-graph members ------------------------------------------------
    # ADK's contexts also serve the nodes of its Workflow graphs, which trio-adk does not
    # provide.  Members whose value outside a workflow is fixed in ADK give that value;
    # those that only mean something inside one raise NotProvidedError.

    def _no_workflow(self, member: str) -> NotProvidedError:
        return member_not_provided(type(self).__name__, member, WORKFLOW_GRAPHS)

    @property
    def parent_ctx(self) -> None:
        """The context of the enclosing workflow node: None outside a workflow."""
        return None

    @property
    def node(self) -> None:
        """The workflow node being run: None outside a workflow."""
        return None

    @property
    def attempt_count(self) -> int:
        """Which attempt of a workflow node this is (1-based): always 1 here."""
        return 1

    @property
    def resume_inputs(self) -> dict[str, Any]:
        """Inputs a resumed workflow node receives, by interrupt id: always empty here
        (a new dict each time)."""
        return {}

    @property
    def interrupt_ids(self) -> set[str]:
        """Interrupts a workflow node raised so far: always empty here (a new set)."""
        return set()

    @property
    def error(self) -> Exception | None:
        """The exception a failed workflow node raised: None outside a workflow."""
        return None

    @property
    def error_node_path(self) -> str:
        """The path of a failed workflow node: ``""`` outside a workflow."""
        return ""

    @property
    def isolation_scope(self) -> str | None:
        """A workflow's internal scope tag: None outside a workflow."""
        return None

    @property
    def output(self) -> Any:
        """A workflow node's output: None outside a workflow.

        Setting it raises ``NotProvidedError``: only a Workflow graph consumes it.
        """
        return None

    @output.setter
    def output(self, value: Any) -> None:
        raise self._no_workflow("output")

    @property
    def route(self) -> Any:
        """The route a workflow node takes: None outside a workflow.

        Setting it raises ``NotProvidedError``: only a Workflow graph follows routes.
        """
        return None

    @route.setter
    def route(self, value: Any) -> None:
        raise self._no_workflow("route")

    @property
    def node_path(self) -> str:
        """Raises ``NotProvidedError``: the path of a workflow node.

        ADK also gives agents outside a workflow a path, which its node runner derives
        (``'agent@1'`` for a lone agent, ``''`` under a SequentialAgent); trio-adk has
        no node runner to derive one from.
        """
        raise self._no_workflow("node_path")

    @property
    def run_id(self) -> str:
        """Raises ``NotProvidedError``: which run of a workflow node this is (see
        :attr:`node_path`)."""
        raise self._no_workflow("run_id")

    @property
    def telemetry_context(self) -> Any:
        """Raises ``NotProvidedError``: trio-adk does not provide ADK's OpenTelemetry
        integration (``google.adk.telemetry``) yet."""
        raise member_not_provided(type(self).__name__, "telemetry_context",
                                  "google.adk.telemetry")

    async def run_node(self, node: Any, node_input: Any = None, **options: Any) -> Any:
        """Raises ``NotProvidedError``: ADK runs ``node`` as a child of the current
        workflow node, and trio-adk has no Workflow graphs yet."""
        raise self._no_workflow("run_node")

    # ---- artifacts -----------------------------------------------------------------

    def _artifact_service(self) -> BaseArtifactService:
        service = self._invocation_context.artifact_service
        if service is None:
            raise ValueError("Artifact service is not initialized.")
        return service

    async def load_artifact(self, filename: str, version: int | None = None) -> types.Part | None:
        """Load an artifact of the current session (latest version by default).

        ``None`` when there is none.  Raises ``ValueError`` without an artifact service.
        Cancellation: cancelled with the run; nothing is changed.
        """
        ctx = self._invocation_context
        return await self._artifact_service().load_artifact(
            app_name=ctx.app_name,
            user_id=ctx.user_id,
            session_id=ctx.session.id,
            filename=filename,
            version=version,
        )

    async def save_artifact(
        self,
        filename: str,
        artifact: types.Part,
        custom_metadata: dict[str, Any] | None = None,
    ) -> int:
        """Save an artifact and record its version in ``actions.artifact_delta``.

        Returns the new version.  ``custom_metadata`` is passed on to the artifact
        service only when given (a service without that parameter then raises
        ``TypeError``).  Raises ``ValueError`` without an artifact service.
        Cancellation: a cancelled save either stored the artifact or did not; the delta
        is recorded only once the service returned.
        """
        ctx = self._invocation_context
        extra: dict[str, Any] = {}
        if custom_metadata is not None:
            extra["custom_metadata"] = custom_metadata
        version = await self._artifact_service().save_artifact(
            app_name=ctx.app_name,
            user_id=ctx.user_id,
            session_id=ctx.session.id,
            filename=filename,
            artifact=artifact,
            **extra,
        )
        self._event_actions.artifact_delta[filename] = version
        return version

    async def get_artifact_version(self, filename: str, version: int | None = None) -> Any:
        """The version information of an artifact (latest when ``version`` is None).

        Asks the artifact service's ``get_artifact_version``; a service without one
        raises ``NotImplementedError``.  Raises ``ValueError`` without an artifact
        service.  Cancellation: cancelled with the run; nothing is changed.
        """
        ctx = self._invocation_context
        service = self._artifact_service()
        method = getattr(service, "get_artifact_version", None)
        if method is None:
            raise NotImplementedError(
                f"{type(service).__name__} has no get_artifact_version(); use "
                "list_artifacts() and load_artifact() instead, or an artifact service "
                "that keeps version information."
            )
        return await method(
            app_name=ctx.app_name,
            user_id=ctx.user_id,
            session_id=ctx.session.id,
            filename=filename,
            version=version,
        )

    async def list_artifacts(self) -> list[str]:
        """List the artifact filenames visible to the current session.

        Sorted; the user's ``user:`` files included.  Raises ``ValueError`` without an
        artifact service.  Cancellation: cancelled with the run; nothing is changed.
        """
        ctx = self._invocation_context
        return await self._artifact_service().list_artifact_keys(
            app_name=ctx.app_name, user_id=ctx.user_id, session_id=ctx.session.id
        )

    # ---- credentials ---------------------------------------------------------------

    async def save_credential(self, auth_config: AuthConfig) -> None:
        """Store the exchanged credential of ``auth_config`` in the credential service."""
        ctx = self._invocation_context
        if ctx.credential_service is None:
            raise ValueError("Credential service is not initialized.")
        await ctx.credential_service.save_credential(auth_config, self)

    async def load_credential(self, auth_config: AuthConfig) -> AuthCredential | None:
        """Load a stored credential for ``auth_config``."""
        ctx = self._invocation_context
        if ctx.credential_service is None:
            raise ValueError("Credential service is not initialized.")
        return await ctx.credential_service.load_credential(auth_config, self)

    def request_credential(self, auth_config: AuthConfig) -> None:
        """Ask the client for the credentials ``auth_config`` describes.

        Only in a tool's context (one with a ``function_call_id``): the request is
        recorded in ``actions.requested_auth_configs`` under that id, and the flow turns
        it into an ``adk_request_credential`` call to the client.  Elsewhere raises
        ``ValueError``: callbacks use ``save_credential``/``load_credential``.
        """
        if not self._function_call_id:
            raise ValueError(
                "request_credential requires a function_call_id: it only works in a "
                "tool's context. In a callback, use save_credential/load_credential."
            )
        self._event_actions.requested_auth_configs[self._function_call_id] = auth_config

    def get_auth_response(self, auth_config: AuthConfig) -> Any:
        """The credential the client sent back for ``auth_config`` (from session state),
        or None."""
        return self.state.get("temp:" + auth_config.credential_key)

    # ---- memory --------------------------------------------------------------------

    def _memory_service(self, message: str) -> BaseMemoryService:
        service = self._invocation_context.memory_service
        if service is None:
            raise ValueError(message)
        return service

    async def search_memory(self, query: str) -> SearchMemoryResponse:
        """Search the memory of the current app and user for ``query``.

        Raises ``ValueError`` without a memory service.  Cancellation: cancelled with
        the run; nothing is changed.
        """
        ctx = self._invocation_context
        service = self._memory_service("Memory service is not available.")
        return await service.search_memory(
            app_name=ctx.app_name, user_id=ctx.user_id, query=query
        )

    async def add_session_to_memory(self) -> None:
        """Add the current session (its events so far) to the memory service.

        Adding it again later replaces the earlier copy.  Raises ``ValueError`` without
        a memory service.  Cancellation: a cancelled call either added the session or
        did not (as the service guarantees).
        """
        service = self._memory_service(
            "Cannot add session to memory: memory service is not available."
        )
        await service.add_session_to_memory(self._invocation_context.session)

    async def add_events_to_memory(
        self, *, events: list[Event], custom_metadata: dict[str, Any] | None = None
    ) -> None:
        """Add ``events`` to the memory of the current app, user and session.

        Needs a memory service with ``add_events_to_memory`` (else
        ``NotImplementedError``); raises ``ValueError`` without a memory service.
        Cancellation: cancelled with the run, as the service handles it.
        """
        session = self._invocation_context.session
        method = self._memory_method(
            "add_events_to_memory",
            "Cannot add events to memory: memory service is not available.",
        )
        await method(app_name=session.app_name, user_id=session.user_id,
                     session_id=session.id, events=events, custom_metadata=custom_metadata)

    async def add_memory(
        self, *, memories: list[MemoryEntry], custom_metadata: dict[str, Any] | None = None
    ) -> None:
        """Add ``memories`` directly to the memory of the current app and user.

        Needs a memory service with ``add_memory`` (else ``NotImplementedError``);
        raises ``ValueError`` without a memory service.  Cancellation: cancelled with
        the run, as the service handles it.
        """
        session = self._invocation_context.session
        method = self._memory_method(
            "add_memory", "Cannot add memory: memory service is not available."
        )
        await method(app_name=session.app_name, user_id=session.user_id,
                     memories=memories, custom_metadata=custom_metadata)

    async def delete_memory(self, memory_id: str | None = None) -> None:
        """Delete the memory ``memory_id`` of the current app and user.

        Needs a memory service with ``delete_memory`` (else ``NotImplementedError``);
        raises ``ValueError`` without a memory service.  Cancellation: cancelled with
        the run, as the service handles it.
        """
        ctx = self._invocation_context
        method = self._memory_method(
            "delete_memory", "Cannot delete memory: memory service is not available."
        )
        await method(app_name=ctx.app_name, user_id=ctx.user_id, memory_id=memory_id)

    def _memory_method(self, name: str, message: str) -> Any:
        service = self._memory_service(message)
        method = getattr(service, name, None)
        if method is None:
            raise NotImplementedError(
                f"{type(service).__name__} has no {name}(); use add_session_to_memory() "
                "or a memory service that implements it."
            )
        return method
