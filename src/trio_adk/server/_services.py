"""The services a server runs its apps with, from ADK's command-line options.

ADK's defaults, kept: with no URI, each app keeps its sessions in ``<app>/.adk/session.db``
(SQLite) and its artifacts under ``<app>/.adk/artifacts``, so one server over several apps
needs a session service and an artifact service that route by ``app_name``
(:class:`PerAppSessionService`, :class:`PerAppArtifactService`).  The memory service is
in memory unless ``memory_service_uri`` names one.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import attrs
import trio
from google.genai import types

from trio_adk._service_registry import default_local_storage, get_service_registry, redact_uri
from trio_adk.artifacts._base import ArtifactVersion, BaseArtifactService
from trio_adk.events._event import Event
from trio_adk.memory._base import BaseMemoryService
from trio_adk.server._loader import AgentLoaderLike
from trio_adk.sessions._base import BaseSessionService
from trio_adk.sessions._session import GetSessionConfig, ListSessionsResponse, Session

_log = logging.getLogger("trio_adk.server")

_CLOSE_TIMEOUT = 10.0


class UnknownAppError(ValueError):
    """A request named an app the agents directory does not have (answered with 404)."""


def _app_dir(loader: AgentLoaderLike, app_name: str) -> Path:
    if app_name not in loader.list_agents():
        raise UnknownAppError(f"Agent not found: {app_name!r}.")
    return Path(loader.agent_dir(app_name))


async def _close_quietly(service: object) -> None:
    """Close ``service`` if it can be closed: bounded, shielded, errors logged."""
    close = getattr(service, "close", None)
    if close is None:
        return
    with trio.CancelScope(shield=True), trio.move_on_after(_CLOSE_TIMEOUT) as scope:
        try:
            await close()
        except Exception:
            _log.exception("Error closing %r.", service)
    if scope.cancelled_caught:
        _log.warning("%r did not close within %.0f s.", service, _CLOSE_TIMEOUT)


class PerAppSessionService(BaseSessionService):
    """Sessions of each app in a service of its own, built on first use by ``factory(app)``.

    ADK's default storage (one ``.adk/session.db`` per agent folder) behind one service.
    ``factory`` opens nothing (stores connect on first use); it raises
    :class:`UnknownAppError` for an app that does not exist.  :meth:`close` closes every
    service built so far.  One run per session holds across the routed services, since
    :meth:`claim_session` is the routed service's own.
    """

    def __init__(self, factory: Callable[[str], BaseSessionService]) -> None:
        self._factory = factory
        self._services: dict[str, BaseSessionService] = {}

    def service_for(self, app_name: str) -> BaseSessionService:
        """The service holding ``app_name``'s sessions (built now if it is the first use)."""
        service = self._services.get(app_name)
        if service is None:
            service = self._services[app_name] = self._factory(app_name)
        return service

    async def create_session(self, *, app_name: str, user_id: str,
                             state: dict[str, Any] | None = None,
                             session_id: str | None = None) -> Session:
        """See :meth:`BaseSessionService.create_session`."""
        return await self.service_for(app_name).create_session(
            app_name=app_name, user_id=user_id, state=state, session_id=session_id)

    async def get_session(self, *, app_name: str, user_id: str, session_id: str,
                          config: GetSessionConfig | None = None) -> Session | None:
        """See :meth:`BaseSessionService.get_session`."""
        return await self.service_for(app_name).get_session(
            app_name=app_name, user_id=user_id, session_id=session_id, config=config)

    async def list_sessions(self, *, app_name: str, user_id: str | None = None,
                            page_size: int | None = None,
                            page_token: str | None = None) -> ListSessionsResponse:
        """See :meth:`BaseSessionService.list_sessions`."""
        return await self.service_for(app_name).list_sessions(
            app_name=app_name, user_id=user_id, page_size=page_size, page_token=page_token)

    async def delete_session(self, *, app_name: str, user_id: str, session_id: str) -> None:
        """See :meth:`BaseSessionService.delete_session`."""
        await self.service_for(app_name).delete_session(
            app_name=app_name, user_id=user_id, session_id=session_id)

    async def get_user_state(self, *, app_name: str, user_id: str) -> dict[str, Any]:
        """See :meth:`BaseSessionService.get_user_state`."""
        return await self.service_for(app_name).get_user_state(app_name=app_name,
                                                                user_id=user_id)

    async def iter_events(self, *, app_name: str, user_id: str, session_id: str,
                          batch_size: int = 500) -> AsyncIterator[list[Event]]:
        """See :meth:`BaseSessionService.iter_events`."""
        # Hands over each batch as it comes; holds no nursery or cancel scope across yields.
        async for batch in self.service_for(app_name).iter_events(
                app_name=app_name, user_id=user_id, session_id=session_id,
                batch_size=batch_size):
            yield batch

    async def append_event(self, session: Session, event: Event) -> Event:
        """See :meth:`BaseSessionService.append_event`."""
        return await self.service_for(session.app_name).append_event(session, event)

    @contextlib.asynccontextmanager
    async def claim_session(self, *, app_name: str, user_id: str, session_id: str,
                            wait: bool = True) -> AsyncIterator[None]:
        """The routed service's claim (see :meth:`BaseSessionService.claim_session`)."""
        async with self.service_for(app_name).claim_session(
                app_name=app_name, user_id=user_id, session_id=session_id, wait=wait):
            yield

    async def flush(self) -> None:
        """Flush every routed service."""
        for service in list(self._services.values()):
            await service.flush()

    async def close(self) -> None:
        """Close every routed service (each shielded and bounded; errors logged)."""
        services, self._services = list(self._services.values()), {}
        for service in services:
            await _close_quietly(service)


def _takes(method: Callable[..., Any], name: str) -> bool:
    try:
        parameters = inspect.signature(method).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == name or p.kind is p.VAR_KEYWORD for p in parameters)


async def save_with_metadata(service: BaseArtifactService, *, app_name: str, user_id: str,
                             session_id: str, filename: str, artifact: types.Part,
                             custom_metadata: dict[str, Any] | None) -> int:
    """``save_artifact``, passing ``custom_metadata`` to stores that keep it.

    A store without metadata (the in-memory one) saves the part; metadata given to it
    raises ``ValueError`` rather than being dropped silently.
    """
    if isinstance(service, PerAppArtifactService):
        service = service.service_for(app_name)
    if custom_metadata and not _takes(service.save_artifact, "custom_metadata"):
        raise ValueError(f"customMetadata cannot be stored by {type(service).__name__}; "
                         "use a file:// or s3:// artifact service to keep it.")
    extra = {"custom_metadata": custom_metadata} if custom_metadata else {}
    return await service.save_artifact(app_name=app_name, user_id=user_id,
                                       session_id=session_id, filename=filename,
                                       artifact=artifact, **extra)


class PerAppArtifactService(BaseArtifactService):
    """Artifacts of each app in a service of its own, built on first use by ``factory(app)``
    (ADK's default ``<app>/.adk/artifacts``); see :class:`PerAppSessionService`."""

    def __init__(self, factory: Callable[[str], BaseArtifactService]) -> None:
        self._factory = factory
        self._services: dict[str, BaseArtifactService] = {}

    def service_for(self, app_name: str) -> BaseArtifactService:
        """The service holding ``app_name``'s artifacts (built now on first use)."""
        service = self._services.get(app_name)
        if service is None:
            service = self._services[app_name] = self._factory(app_name)
        return service

    async def save_artifact(self, *, app_name: str, user_id: str, session_id: str,
                            filename: str, artifact: types.Part,
                            custom_metadata: dict[str, Any] | None = None) -> int:
        """See :meth:`BaseArtifactService.save_artifact`."""
        return await save_with_metadata(self.service_for(app_name), app_name=app_name,
                                        user_id=user_id, session_id=session_id,
                                        filename=filename, artifact=artifact,
                                        custom_metadata=custom_metadata)

    async def load_artifact(self, *, app_name: str, user_id: str, session_id: str,
                            filename: str, version: int | None = None) -> types.Part | None:
        """See :meth:`BaseArtifactService.load_artifact`."""
        return await self.service_for(app_name).load_artifact(
            app_name=app_name, user_id=user_id, session_id=session_id, filename=filename,
            version=version)

    async def list_artifact_keys(self, *, app_name: str, user_id: str,
                                 session_id: str) -> list[str]:
        """See :meth:`BaseArtifactService.list_artifact_keys`."""
        return await self.service_for(app_name).list_artifact_keys(
            app_name=app_name, user_id=user_id, session_id=session_id)

    async def delete_artifact(self, *, app_name: str, user_id: str, session_id: str,
                              filename: str) -> None:
        """See :meth:`BaseArtifactService.delete_artifact`."""
        await self.service_for(app_name).delete_artifact(
            app_name=app_name, user_id=user_id, session_id=session_id, filename=filename)

    async def list_versions(self, *, app_name: str, user_id: str, session_id: str,
                            filename: str) -> list[int]:
        """See :meth:`BaseArtifactService.list_versions`."""
        return await self.service_for(app_name).list_versions(
            app_name=app_name, user_id=user_id, session_id=session_id, filename=filename)

    async def list_artifact_versions(self, *, app_name: str, user_id: str, session_id: str,
                                     filename: str) -> list[ArtifactVersion]:
        """See :meth:`BaseArtifactService.list_artifact_versions`."""
        return await self.service_for(app_name).list_artifact_versions(
            app_name=app_name, user_id=user_id, session_id=session_id, filename=filename)

    async def get_artifact_version(self, *, app_name: str, user_id: str, session_id: str,
                                   filename: str,
                                   version: int | None = None) -> ArtifactVersion | None:
        """See :meth:`BaseArtifactService.get_artifact_version`."""
        return await self.service_for(app_name).get_artifact_version(
            app_name=app_name, user_id=user_id, session_id=session_id, filename=filename,
            version=version)

    async def close(self) -> None:
        """Close every routed service that can be closed (shielded, bounded)."""
        services, self._services = list(self._services.values()), {}
        for service in services:
            await _close_quietly(service)


@attrs.frozen
class Services:
    """The session, artifact and memory services of one server, and how they were chosen."""

    session_service: BaseSessionService
    artifact_service: BaseArtifactService
    memory_service: BaseMemoryService
    description: tuple[str, ...] = ()

    async def aclose(self) -> None:
        """Close the three services (each shielded, bounded; errors logged)."""
        for service in (self.session_service, self.artifact_service, self.memory_service):
            await _close_quietly(service)


def _local_storage_allowed(agents_dir: Path, requested: bool) -> tuple[bool, str | None]:
    """ADK's rule for the per-agent ``.adk`` default (environment overrides, writability)."""
    if os.environ.get("ADK_DISABLE_LOCAL_STORAGE", "").lower() in ("1", "true", "yes"):
        return False, "Local storage is disabled by ADK_DISABLE_LOCAL_STORAGE."
    forced = os.environ.get("ADK_FORCE_LOCAL_STORAGE", "").lower() in ("1", "true", "yes")
    writable = agents_dir.is_dir() and os.access(agents_dir, os.W_OK | os.X_OK)
    if forced:
        return (True, None) if writable else (
            False, f"Local storage is forced, but {agents_dir} is not writable.")
    if not requested:
        return False, None
    if os.environ.get("K_SERVICE") or os.environ.get("KUBERNETES_SERVICE_HOST"):
        return False, ("Cloud Run/Kubernetes detected: in-memory services instead of .adk "
                       "storage (set ADK_FORCE_LOCAL_STORAGE=1 to keep it).")
    if not writable:
        return False, f"{agents_dir} is not writable: in-memory services instead of .adk."
    return True, None


def build_services(agent_loader: AgentLoaderLike, agents_dir: str | os.PathLike[str], *,
                   session_service_uri: str | None = None,
                   artifact_service_uri: str | None = None,
                   memory_service_uri: str | None = None,
                   use_local_storage: bool = True) -> Services:
    """The services ADK's ``api_server`` would use for these options.

    A URI wins (built by ``get_service_registry()``, so registered schemes work);
    otherwise, with ``use_local_storage`` (and ADK's environment overrides
    ``ADK_DISABLE_LOCAL_STORAGE`` / ``ADK_FORCE_LOCAL_STORAGE``, and its Cloud Run and
    Kubernetes detection), per-app SQLite sessions and file artifacts in ``<app>/.adk``;
    else in-memory ones.  Nothing is opened yet: stores connect on first use.  The
    caller closes them with :meth:`Services.aclose`.

    Raises ``ValueError`` for a URI with an unknown scheme.
    """
    registry = get_service_registry()
    root = Path(agents_dir)
    local, why_not = _local_storage_allowed(root, use_local_storage)
    notes: list[str] = []
    if why_not is not None and not (session_service_uri and artifact_service_uri):
        _log.warning("%s", why_not)

    sessions: BaseSessionService
    if session_service_uri:
        sessions = registry.create_session_service(session_service_uri)
        notes.append(f"sessions: {redact_uri(session_service_uri)}")
    elif local:
        def app_sessions(app_name: str) -> BaseSessionService:
            uri = default_local_storage(_app_dir(agent_loader, app_name))[0]
            Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
            return registry.create_session_service(uri)

        sessions = PerAppSessionService(app_sessions)
        notes.append("sessions: <app>/.adk/session.db")
    else:
        sessions = registry.create_session_service("memory://")
        notes.append("sessions: in memory")

    artifacts: BaseArtifactService
    if artifact_service_uri:
        artifacts = registry.create_artifact_service(artifact_service_uri)
        notes.append(f"artifacts: {redact_uri(artifact_service_uri)}")
    elif local:
        def app_artifacts(app_name: str) -> BaseArtifactService:
            uri = default_local_storage(_app_dir(agent_loader, app_name))[1]
            return registry.create_artifact_service(uri)

        artifacts = PerAppArtifactService(app_artifacts)
        notes.append("artifacts: <app>/.adk/artifacts")
    else:
        artifacts = registry.create_artifact_service("memory://")
        notes.append("artifacts: in memory")

    memory = registry.create_memory_service(memory_service_uri or "memory://")
    notes.append(f"memory: {redact_uri(memory_service_uri) if memory_service_uri else 'in memory'}")
    return Services(sessions, artifacts, memory, tuple(notes))
