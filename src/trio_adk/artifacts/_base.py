"""BaseArtifactService: the contract every artifact store keeps."""

from __future__ import annotations

import abc
from typing import Any

from google.genai import types

from trio_adk._bridges._anywhere import wrap_coroutine_methods


class BaseArtifactService(abc.ABC):
    """Stores versioned files ("artifacts") per app, user and session.

    Every save of a filename creates a new version; versions are numbered from 0.
    Filenames starting with ``user:`` belong to the user rather than the session: they
    are shared by all of that user's sessions in the app (the prefix stays part of the
    name).

    All methods are coroutines awaited from trio tasks, normally on the trio thread
    that runs the runner.  Implementations that block (files, cloud storage) must do
    so in ``trio.to_thread.run_sync``, never on the event loop, and must keep a
    cancelled save all-or-nothing.
    """

    _ANYWHERE = (
        "save_artifact",
        "load_artifact",
        "list_artifact_keys",
        "delete_artifact",
        "list_versions",
    )

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Overrides stay awaitable from asyncio code too (run in the trio guest).
        wrap_coroutine_methods(cls, cls._ANYWHERE)

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


wrap_coroutine_methods(BaseArtifactService, BaseArtifactService._ANYWHERE)
