"""Services from URIs, as ADK's CLI takes them (``--session_service_uri`` and friends).

``memory://`` is in memory everywhere.  Sessions: ``sqlite:///relative.db`` and
``sqlite:////absolute.db`` (ADK's SQLite layout), ``sqlite+aiosqlite:///...`` (ADK's
SQLAlchemy layout in SQLite), ``postgresql://...`` (and the ``+asyncpg``/``+psycopg``
spellings, ``postgres://``).  Artifacts: ``file:///dir``, ``s3://bucket/prefix``.
Other schemes raise a ``ValueError`` that lists the ones we know; apps add their own
with ``get_service_registry().register_*_service(scheme, factory)``.

Factories import their backend when first used, so a URI for a backend whose extra is
not installed fails with an ``ImportError`` naming the extra, not at import time.
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from trio_adk.artifacts._base import BaseArtifactService
from trio_adk.memory._base import BaseMemoryService
from trio_adk.sessions._base import BaseSessionService

_log = logging.getLogger("trio_adk")

ServiceFactory = Callable[..., Any]


class ServiceRegistry:
    """Maps URI schemes to service factories, one table per kind of service.

    A factory is called as ``factory(uri, **kwargs)`` and returns the service.
    Registering a scheme again replaces its factory.  Thread-safe; factories run on
    the calling thread (they open nothing: stores connect on first use).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._factories: dict[str, dict[str, ServiceFactory]] = {
            "session": {}, "artifact": {}, "memory": {}}

    def register_session_service(self, scheme: str, factory: ServiceFactory) -> None:
        """Build session services for ``scheme://`` URIs with ``factory``."""
        self._register("session", scheme, factory)

    def register_artifact_service(self, scheme: str, factory: ServiceFactory) -> None:
        """Build artifact services for ``scheme://`` URIs with ``factory``."""
        self._register("artifact", scheme, factory)

    def register_memory_service(self, scheme: str, factory: ServiceFactory) -> None:
        """Build memory services for ``scheme://`` URIs with ``factory``."""
        self._register("memory", scheme, factory)

    def create_session_service(self, uri: str, **kwargs: Any) -> BaseSessionService:
        """The session service ``uri`` names; ``ValueError`` for an unknown scheme."""
        service: BaseSessionService = self._create("session", uri, BaseSessionService, kwargs)
        return service

    def create_artifact_service(self, uri: str, **kwargs: Any) -> BaseArtifactService:
        """The artifact service ``uri`` names; ``ValueError`` for an unknown scheme."""
        service: BaseArtifactService = self._create("artifact", uri, BaseArtifactService,
                                                    kwargs)
        return service

    def create_memory_service(self, uri: str, **kwargs: Any) -> BaseMemoryService:
        """The memory service ``uri`` names; ``ValueError`` for an unknown scheme."""
        service: BaseMemoryService = self._create("memory", uri, BaseMemoryService, kwargs)
        return service

    def _register(self, kind: str, scheme: str, factory: ServiceFactory) -> None:
        if not isinstance(scheme, str) or not scheme or "://" in scheme:
            raise ValueError(f"scheme must be a URI scheme such as 'mydb' (no '://'), "
                             f"got {scheme!r}.")
        if not callable(factory):
            raise TypeError(f"factory must be callable as factory(uri, **kwargs), got "
                            f"{factory!r}.")
        with self._lock:
            self._factories[kind][scheme.lower()] = factory

    def _create(self, kind: str, uri: str, base: type, kwargs: dict[str, Any]) -> Any:
        if not isinstance(uri, str):
            raise TypeError(f"a {kind} service URI must be a str, got {type(uri).__name__}.")
        scheme = urlsplit(uri).scheme.lower()
        with self._lock:
            factories = dict(self._factories[kind])
        factory = factories.get(scheme)
        if factory is None:
            known = ", ".join(f"{s}://" for s in sorted(factories))
            raise ValueError(
                f"No {kind} service for the URI scheme {scheme + '://' if scheme else '(none)'}"
                f" in {redact_uri(uri)!r}. Known schemes: {known}. Register your own with "
                f"get_service_registry().register_{kind}_service(scheme, factory).")
        service = factory(uri, **kwargs)
        if not isinstance(service, base):
            raise TypeError(f"The {kind} service factory for {scheme}:// returned "
                            f"{type(service).__name__}, not a {base.__name__}.")
        return service


def redact_uri(uri: str) -> str:
    """``uri`` with any password replaced by ``***`` (for logs and errors)."""
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    netloc = parts.netloc.rsplit("@", 1)
    user = netloc[0].split(":", 1)[0]
    return parts._replace(netloc=f"{user}:***@{netloc[1]}").geturl()


# ---- the built-in schemes -------------------------------------------------------------


def _memory_sessions(uri: str, **_: Any) -> BaseSessionService:
    from trio_adk.sessions._in_memory import InMemorySessionService

    return InMemorySessionService()


def _sqlite_path(uri: str) -> str | None:
    """ADK's reading: ``sqlite:///rel.db`` is relative, ``sqlite:////abs.db`` absolute,
    ``sqlite://`` (no path) in memory."""
    path = unquote(urlsplit(uri).path)
    if not path:
        return None
    return path[1:] if path.startswith("/") else path


def _sqlite_sessions(uri: str, **_: Any) -> BaseSessionService:
    path = _sqlite_path(uri)
    if path is None:
        return _memory_sessions(uri)
    factory = _backend("trio_adk.sessions.sqlite_session_service", "SqliteSessionService",
                       "")
    service: BaseSessionService = factory(db_path=path)
    return service


def _sqlalchemy_sqlite_sessions(uri: str, **_: Any) -> BaseSessionService:
    """ADK hands ``sqlite+aiosqlite://`` to its DatabaseSessionService: the file is in
    (or, when new, gets) that service's SQLAlchemy v1 layout."""
    if _sqlite_path(uri) is None:
        return _memory_sessions(uri)
    factory = _backend("trio_adk.sessions.sqlite_session_service", "SqliteSessionService",
                       "")
    service: BaseSessionService = factory._in_adk_database_layout(uri)
    return service


def _database_sessions(uri: str, **kwargs: Any) -> BaseSessionService:
    factory = _backend("trio_adk.sessions.database_session_service",
                       "DatabaseSessionService", "postgres")
    service: BaseSessionService = factory(db_url=uri, **kwargs)
    return service


def _backend(module: str, name: str, extra: str) -> Any:
    """A backend class, imported when first asked for (its driver may be an extra)."""
    try:
        return getattr(importlib.import_module(module), name)
    except ImportError as exc:
        if not extra:
            raise
        raise ImportError(f"{name} needs the {extra!r} extra: pip install "
                          f"'trio-adk[{extra}]' ({exc}).") from exc


def _memory_artifacts(uri: str, **_: Any) -> BaseArtifactService:
    from trio_adk.artifacts._in_memory import InMemoryArtifactService

    return InMemoryArtifactService()


def _file_artifacts(uri: str, **_: Any) -> BaseArtifactService:
    parts = urlsplit(uri)
    if parts.netloc not in ("", "localhost"):
        raise ValueError(f"file:// artifact URIs name a local directory; {uri!r} names "
                         f"the host {parts.netloc!r}. Use file:///absolute/path.")
    if not parts.path:
        raise ValueError(f"file:// artifact URI {uri!r} has no path; use file:///dir.")
    from trio_adk.artifacts import FileArtifactService

    return FileArtifactService(root_dir=Path(unquote(parts.path)))


def _s3_artifacts(uri: str, **kwargs: Any) -> BaseArtifactService:
    parts = urlsplit(uri)
    if not parts.netloc:
        raise ValueError(f"s3:// artifact URI {uri!r} has no bucket; use s3://bucket/prefix.")
    from trio_adk.artifacts import S3ArtifactService

    prefix = parts.path.strip("/")
    if prefix:
        kwargs.setdefault("prefix", prefix)
    return S3ArtifactService(parts.netloc, **kwargs)


def _memory_memory(uri: str, **_: Any) -> BaseMemoryService:
    from trio_adk.memory._in_memory import InMemoryMemoryService

    return InMemoryMemoryService()


def _register_builtins(registry: ServiceRegistry) -> None:
    registry.register_session_service("memory", _memory_sessions)
    registry.register_session_service("sqlite", _sqlite_sessions)
    registry.register_session_service("sqlite+aiosqlite", _sqlalchemy_sqlite_sessions)
    for scheme in ("postgresql", "postgres", "postgresql+asyncpg",
                   "postgresql+psycopg", "postgresql+psycopg2"):
        registry.register_session_service(scheme, _database_sessions)
    registry.register_artifact_service("memory", _memory_artifacts)
    registry.register_artifact_service("file", _file_artifacts)
    registry.register_artifact_service("s3", _s3_artifacts)
    registry.register_memory_service("memory", _memory_memory)


_REGISTRY = ServiceRegistry()
_register_builtins(_REGISTRY)


def get_service_registry() -> ServiceRegistry:
    """The process-wide registry (ADK's ``get_service_registry``)."""
    return _REGISTRY


def default_local_storage(agent_dir: str | os.PathLike[str]) -> tuple[str, str]:
    """The session and artifact URIs ADK's CLI uses for an agent with no URIs given:
    ``<agent_dir>/.adk/session.db`` and ``<agent_dir>/.adk/artifacts``."""
    base = Path(agent_dir).resolve() / ".adk"
    return f"sqlite:///{base / 'session.db'}", (base / "artifacts").as_uri()
