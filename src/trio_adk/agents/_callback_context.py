"""ReadonlyContext and CallbackContext: what callbacks and instruction providers see."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from google.genai import types

from trio_adk.events._event_actions import EventActions
from trio_adk.sessions._state import State

if TYPE_CHECKING:
    from trio_adk.agents._invocation_context import InvocationContext
    from trio_adk.auth._types import AuthConfig, AuthCredential


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
    def agent_name(self) -> str:
        """The name of the agent being run."""
        return self._invocation_context.agent.name

    @property
    def session(self) -> Any:
        """The session of the invocation (treat as read-only)."""
        return self._invocation_context.session

    @property
    def state(self) -> Mapping[str, Any]:
        """The session state, read-only."""
        return MappingProxyType(self._invocation_context.session.state)


class CallbackContext(ReadonlyContext):
    """The context of agent and model callbacks: writable state, artifacts, credentials.

    State written here is visible at once and is recorded in ``event_actions``, so it
    is persisted with the next event the agent emits.  Use it from the run's trio task
    (callbacks run there); the artifact and credential helpers await their services and
    are cancelled with the run (a cancelled save either stored the artifact or did not).
    """

    __slots__ = ("_event_actions", "_state")

    def __init__(
        self,
        invocation_context: InvocationContext,
        *,
        event_actions: EventActions | None = None,
    ) -> None:
        super().__init__(invocation_context)
        self._event_actions = event_actions if event_actions is not None else EventActions()
        self._state = State(
            value=invocation_context.session.state, delta=self._event_actions.state_delta
        )

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

    async def load_artifact(self, filename: str, version: int | None = None) -> types.Part | None:
        """Load an artifact of the current session (latest version by default)."""
        ctx = self._invocation_context
        if ctx.artifact_service is None:
            raise ValueError("Artifact service is not initialized.")
        return await ctx.artifact_service.load_artifact(
            app_name=ctx.app_name,
            user_id=ctx.user_id,
            session_id=ctx.session.id,
            filename=filename,
            version=version,
        )

    async def save_artifact(self, filename: str, artifact: types.Part) -> int:
        """Save an artifact and record its version in ``actions.artifact_delta``."""
        ctx = self._invocation_context
        if ctx.artifact_service is None:
            raise ValueError("Artifact service is not initialized.")
        version = await ctx.artifact_service.save_artifact(
            app_name=ctx.app_name,
            user_id=ctx.user_id,
            session_id=ctx.session.id,
            filename=filename,
            artifact=artifact,
        )
        self._event_actions.artifact_delta[filename] = version
        return version

    async def list_artifacts(self) -> list[str]:
        """List the artifact filenames visible to the current session."""
        ctx = self._invocation_context
        if ctx.artifact_service is None:
            raise ValueError("Artifact service is not initialized.")
        return await ctx.artifact_service.list_artifact_keys(
            app_name=ctx.app_name, user_id=ctx.user_id, session_id=ctx.session.id
        )

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
