"""BaseArtifactService: the contract every artifact store keeps."""

from __future__ import annotations

import abc
import time
from typing import Any

import pydantic
from google.genai import types
from pydantic import alias_generators

from trio_adk._bridges._anywhere import wrap_coroutine_methods
from trio_adk._utils._checks import check_filename, check_id, check_instance, check_state


class ArtifactVersion(pydantic.BaseModel):
    """What a store knows about one saved version of an artifact (ADK's model and
    field names; camelCase when serialised with ``by_alias=True``).

    ``canonical_uri`` says where the payload lives (``file://`` for files, ``s3://`` for
    S3, ``artifact://`` where a store has no address of its own), ``create_time`` is a
    Unix timestamp in seconds, ``mime_type`` is None for text artifacts.
    """

    model_config = pydantic.ConfigDict(
        alias_generator=alias_generators.to_camel, populate_by_name=True
    )

    version: int
    canonical_uri: str
    custom_metadata: dict[str, Any] = pydantic.Field(default_factory=dict)
    create_time: float = pydantic.Field(default_factory=time.time)
    mime_type: str | None = None


class BaseArtifactService(abc.ABC):
    """Stores versioned files ("artifacts") per app, user and session.

    Every save of a filename creates a new version; versions are numbered from 0.
    Filenames starting with ``user:`` belong to the user rather than the session: they
    are shared by all of that user's sessions in the app (the prefix stays part of the
    name).

    All methods are coroutines awaited from trio tasks, normally on the trio thread that
    runs the runner.  Their arguments are checked when they are called, for every subclass
    (ids as for sessions; a filename is a non-empty ``str`` without control characters;
    ``version`` an ``int``; ``artifact`` a ``types.Part``): a bad one raises
    ``TypeError``/``ValueError`` naming it, before anything is stored.  Implementations that
    block (files, cloud storage) must do so in ``trio.to_thread.run_sync``, never on the
    event loop, and must keep a cancelled save all-or-nothing.
    """

    _ANYWHERE = (
        "save_artifact",
        "load_artifact",
        "list_artifact_keys",
        "delete_artifact",
        "list_versions",
        "list_artifact_versions",
        "get_artifact_version",
    )

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Overrides stay awaitable from asyncio code too (run in the trio guest), and
        # their arguments are checked when they are called.
        wrap_coroutine_methods(cls, cls._ANYWHERE, _CHECKS)

    @abc.abstractmethod
    async def save_artifact(
        self,
        *,
        app_name: str,
        user_id: str,
        session_id: str,
        filename: str,
        artifact: types.Part,
    ) -> int:
        """Store ``artifact`` as the next version of ``filename``; return that version."""

    @abc.abstractmethod
    async def load_artifact(
        self,
        *,
        app_name: str,
        user_id: str,
        session_id: str,
        filename: str,
        version: int | None = None,
    ) -> types.Part | None:
        """Return a version of ``filename`` (latest when None), or None if there is none."""

    @abc.abstractmethod
    async def list_artifact_keys(
        self, *, app_name: str, user_id: str, session_id: str
    ) -> list[str]:
        """Return the sorted filenames of the session plus the user's ``user:`` files."""

    @abc.abstractmethod
    async def delete_artifact(
        self, *, app_name: str, user_id: str, session_id: str, filename: str
    ) -> None:
        """Delete every version of ``filename``; an unknown filename is ignored."""

    @abc.abstractmethod
    async def list_versions(
        self, *, app_name: str, user_id: str, session_id: str, filename: str
    ) -> list[int]:
        """Return the versions of ``filename`` in ascending order (empty if none)."""

    async def list_artifact_versions(
        self, *, app_name: str, user_id: str, session_id: str, filename: str
    ) -> list[ArtifactVersion]:
        """Return what is known about each version of ``filename``, oldest first.

        Stores that keep version metadata (files, S3) override this; the default raises
        ``NotImplementedError`` naming the store.
        """
        raise NotImplementedError(_no_versions(self, "list_artifact_versions"))

    async def get_artifact_version(
        self,
        *,
        app_name: str,
        user_id: str,
        session_id: str,
        filename: str,
        version: int | None = None,
    ) -> ArtifactVersion | None:
        """Return what is known about one version (latest when None), or None.

        Stores that keep version metadata (files, S3) override this; the default raises
        ``NotImplementedError`` naming the store.
        """
        raise NotImplementedError(_no_versions(self, "get_artifact_version"))


def _no_versions(service: object, method: str) -> str:
    return (f"{type(service).__name__} has no {method}(); use list_versions() and "
            "load_artifact() instead, or an artifact service that keeps version "
            "information (FileArtifactService, S3ArtifactService).")


# Argument checks, one per method, with the method's parameters (extra ones ignored).

def _check_scope(app_name: Any, user_id: Any, session_id: Any) -> None:
    check_id(app_name, "app_name")
    check_id(user_id, "user_id")
    check_id(session_id, "session_id")


def _check_save(self: object, *positional: Any, app_name: Any = None, user_id: Any = None,
                session_id: Any = None, filename: Any = None, artifact: Any = None,
                custom_metadata: Any = None, **_: Any) -> None:
    if positional:
        return  # keyword-only: the method raises its own TypeError
    _check_scope(app_name, user_id, session_id)
    check_filename(filename)
    check_instance(artifact, types.Part, "artifact",
                   "wrap data as types.Part(inline_data=types.Blob(data=..., mime_type=...))"
                   " or text as types.Part(text=...)")
    # Stores that take custom_metadata (files, S3) keep it as JSON.
    check_state(custom_metadata, "custom_metadata")


def _check_load(self: object, *positional: Any, app_name: Any = None, user_id: Any = None,
                session_id: Any = None, filename: Any = None, version: Any = None,
                **_: Any) -> None:
    if positional:
        return  # keyword-only: the method raises its own TypeError
    _check_scope(app_name, user_id, session_id)
    check_filename(filename)
    if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
        raise TypeError(f"version must be an int or None (the latest), got {version!r}.")


def _check_keys(self: object, *positional: Any, app_name: Any = None, user_id: Any = None,
                session_id: Any = None, **_: Any) -> None:
    if positional:
        return  # keyword-only: the method raises its own TypeError
    _check_scope(app_name, user_id, session_id)


def _check_file(self: object, *positional: Any, app_name: Any = None, user_id: Any = None,
                session_id: Any = None, filename: Any = None, **_: Any) -> None:
    if positional:
        return  # keyword-only: the method raises its own TypeError
    _check_scope(app_name, user_id, session_id)
    check_filename(filename)


_CHECKS = {
    "save_artifact": _check_save,
    "load_artifact": _check_load,
    "list_artifact_keys": _check_keys,
    "delete_artifact": _check_file,
    "list_versions": _check_file,
    "list_artifact_versions": _check_file,
    "get_artifact_version": _check_load,
}

wrap_coroutine_methods(BaseArtifactService, BaseArtifactService._ANYWHERE, _CHECKS)
