"""InMemoryArtifactService: artifacts kept in process memory."""

from __future__ import annotations

import threading

from google.genai import types

from trio_adk._utils._locked import locked
from trio_adk.artifacts._base import BaseArtifactService
from trio_adk.artifacts._layout import is_rewind_marker

_USER_PREFIX = "user:"

# (app_name, user_id, session_id) for session files; session_id is None for the user's
# ``user:`` files, so no session id can collide with the user namespace.
_Scope = tuple[str, str, str | None]


def _scope(app_name: str, user_id: str, session_id: str, filename: str) -> _Scope:
    if filename.startswith(_USER_PREFIX):
        return (app_name, user_id, None)
    return (app_name, user_id, session_id)


class InMemoryArtifactService(BaseArtifactService):
    """Keeps every version of every artifact in a dict; nothing survives the process.

    Versions start at 0.  Files named ``user:...`` are shared by all sessions of the
    same app and user.  ``save_artifact`` stores a deep copy of the part and
    ``load_artifact`` returns a deep copy, so neither side can change stored versions.
    ``load_artifact`` indexes versions like a Python list: ``-1`` is the latest, and an
    out-of-range version gives None.

    Threads and cancellation: call the methods from the trio thread that runs the
    runner (not thread-safe).  None of them suspends, so a cancelled call either
    completed or did not start.
    """

    def __init__(self) -> None:
        # Runs on several threads may use one service (sync run() has a worker thread).
        self._lock = threading.RLock()
        self._artifacts: dict[_Scope, dict[str, list[types.Part]]] = {}

    @locked
    async def save_artifact(
        self,
        *,
        app_name: str,
        user_id: str,
        session_id: str,
        filename: str,
        artifact: types.Part,
    ) -> int:
        """Store a copy of ``artifact`` as the next version of ``filename``; return it.

        Does not suspend: a cancelled call either saved the version or did not start.
        """
        files = self._artifacts.setdefault(_scope(app_name, user_id, session_id, filename), {})
        versions = files.setdefault(filename, [])
        versions.append(artifact.model_copy(deep=True))
        return len(versions) - 1

    @locked
    async def load_artifact(
        self,
        *,
        app_name: str,
        user_id: str,
        session_id: str,
        filename: str,
        version: int | None = None,
    ) -> types.Part | None:
        """Return a copy of a version of ``filename`` (latest when None), or None.

        None when nothing was saved under the name, when ``version`` is out of range,
        and for the marker a session rewind saves over a file that did not exist (an
        empty ``application/octet-stream`` blob; every store loads it as absent).
        Does not suspend.
        """
        files = self._artifacts.get(_scope(app_name, user_id, session_id, filename))
        versions = files.get(filename) if files else None
        if not versions:
            return None
        index = -1 if version is None else version
        if not -len(versions) <= index < len(versions):
            return None
        part = versions[index]
        blob = part.inline_data
        if blob is not None and is_rewind_marker(blob.mime_type, blob.data or b"",
                                                 blob.display_name):
            return None  # what a session rewind saves over a file that did not exist
        return part.model_copy(deep=True)

    @locked
    async def list_artifact_keys(
        self, *, app_name: str, user_id: str, session_id: str
    ) -> list[str]:
        """Return the sorted filenames of the session plus the user's ``user:`` files.

        Does not suspend.
        """
        keys: set[str] = set()
        for scope in ((app_name, user_id, session_id), (app_name, user_id, None)):
            files = self._artifacts.get(scope)
            if files:
                keys.update(files)
        return sorted(keys)

    @locked
    async def delete_artifact(
        self, *, app_name: str, user_id: str, session_id: str, filename: str
    ) -> None:
        """Delete every version of ``filename``; an unknown filename is ignored.

        Does not suspend.
        """
        scope = _scope(app_name, user_id, session_id, filename)
        files = self._artifacts.get(scope)
        if files is None:
            return
        files.pop(filename, None)
        if not files:
            del self._artifacts[scope]

    @locked
    async def list_versions(
        self, *, app_name: str, user_id: str, session_id: str, filename: str
    ) -> list[int]:
        """Return ``[0, ..., n-1]`` for the ``n`` saved versions of ``filename``.

        Empty when nothing is saved under the name.  Does not suspend.
        """
        files = self._artifacts.get(_scope(app_name, user_id, session_id, filename))
        versions = files.get(filename) if files else None
        return list(range(len(versions))) if versions else []
