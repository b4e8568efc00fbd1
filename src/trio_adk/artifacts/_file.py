"""FileArtifactService: artifacts as files, in google-adk 2.13's directory layout."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import trio
from google.genai import types

from trio_adk.artifacts._base import ArtifactVersion, BaseArtifactService
from trio_adk.artifacts._layout import (
    USER_PREFIX,
    RunLimiters,
    check_segment,
    is_rewind_marker,
    part_payload,
    split_filename,
)
from trio_adk.errors import StorageError

T = TypeVar("T")

_VERSIONS = "versions"
_METADATA = "metadata.json"
_CHUNK = 1 << 20  # bytes written between cancellation checks


class FileArtifactService(BaseArtifactService):
    """Keeps artifacts under ``root_dir`` exactly as google-adk 2.13's
    ``FileArtifactService`` does, so both can share one directory::

        root_dir/apps/{app}/users/{user}/sessions/{session}/artifacts/{filename}/
            versions/{n}/{last segment of filename}   the payload
            versions/{n}/metadata.json                fileName, mimeType, customMetadata...
        root_dir/apps/{app}/users/{user}/artifacts/{filename without 'user:'}/...

    Text is stored as UTF-8 and its metadata has no ``mimeType``; binary data keeps its
    MIME type (``application/octet-stream`` when it had none) and ``displayName``.
    ``custom_metadata`` (a dict of JSON values) is stored with each version and given
    back by ``get_artifact_version``/``list_artifact_versions``.  ``load_artifact``
    takes negative versions as list indexes (-1 is the latest), like
    ``InMemoryArtifactService``.

    Filenames may contain ``/`` (subdirectories); the rules that keep every name inside
    its scope and in a directory of its own are in ``trio_adk.artifacts._layout``: a
    name that breaks one raises ``ValueError`` before anything is written.
    ``list_artifact_keys`` names each file after its directory (``user:`` + path for
    user files), so every listed name loads, whatever an older writer recorded.

    A save writes into a hidden ``versions/.{n}.pending`` directory (created atomically,
    which reserves ``n`` against other writers, ADK's included), flushes the files to
    disk and publishes the version with one rename: a reader sees all of a version or
    none of it.  A failed or cancelled save removes its staging directory.  Deletes
    rename the ``versions`` directory away before removing it.  Disk errors (read-only
    or full disk, permissions) raise ``trio_adk.errors.StorageError`` naming the path;
    the ``OSError`` is its ``__cause__``.

    Threads and cancellation: the methods are awaited from trio tasks (or asyncio, via
    the guest run), from any number of trio runs and threads at once.  File I/O runs in
    worker threads, at most ``max_threads`` at a time per trio run.  A cancelled save is
    all-or-nothing: cancellation is noticed between 1 MiB writes and before the
    publishing rename (then nothing is published and ``Cancelled`` propagates); once the
    rename happened the save returns its version.  Other methods finish their (short)
    I/O before the cancellation is delivered.  Symbolic links inside ``root_dir`` are
    followed: the directory is trusted, the names are not.
    """

    def __init__(self, root_dir: str | os.PathLike[str], *, max_threads: int = 8) -> None:
        if not isinstance(root_dir, str | os.PathLike):
            raise TypeError(f"root_dir must be a str or a path, got {type(root_dir).__name__}.")
        if isinstance(max_threads, bool) or not isinstance(max_threads, int) or max_threads < 1:
            raise ValueError(f"max_threads must be a positive int, got {max_threads!r}.")
        #: Where the tree starts (made absolute; created on the first save).
        self.root_dir = Path(root_dir).expanduser().absolute()
        self._limiters = RunLimiters(max_threads)

    def __repr__(self) -> str:
        return f"FileArtifactService({str(self.root_dir)!r})"

    # ----------------------------------------------------------------- locating

    def _user_root(self, app_name: str, user_id: str) -> Path:
        check_segment(app_name, "app_name")
        check_segment(user_id, "user_id")
        return self.root_dir / "apps" / app_name / "users" / user_id

    def _scope(self, app_name: str, user_id: str, session_id: str,
               filename: str) -> tuple[Path, tuple[str, ...]]:
        """(scope directory, path segments) of a file; checks every name."""
        user_root = self._user_root(app_name, user_id)
        check_segment(session_id, "session_id")
        user_scoped, segments = split_filename(filename)
        if user_scoped:
            return user_root / "artifacts", segments
        return user_root / "sessions" / session_id / "artifacts", segments

    async def _in_thread(self, fn: Callable[..., T], *args: Any) -> T:
        return await trio.to_thread.run_sync(fn, *args, limiter=self._limiters.current())

    # ----------------------------------------------------------------- the API

    async def save_artifact(
        self,
        *,
        app_name: str,
        user_id: str,
        session_id: str,
        filename: str,
        artifact: types.Part,
        custom_metadata: dict[str, Any] | None = None,
    ) -> int:
        """Store ``artifact`` as the next version of ``filename``; return the version.

        Bad names or parts raise ``ValueError`` before anything is written; disk
        failures raise ``StorageError`` and leave no version.  Cancellation: see the
        class docstring (all-or-nothing).
        """
        scope, segments = self._scope(app_name, user_id, session_id, filename)
        payload, mime_type, display_name = part_payload(artifact, filename)
        metadata = {
            "customMetadata": dict(custom_metadata or {}),
            "mimeType": mime_type,
            "fileName": filename,
            "displayName": display_name,
        }
        # Serialise now: a value json cannot write fails here, before any I/O.
        json.dumps(metadata, ensure_ascii=False, allow_nan=False)
        return await self._in_thread(
            self._save_sync, scope.joinpath(*segments), filename, payload, metadata)

    async def load_artifact(
        self,
        *,
        app_name: str,
        user_id: str,
        session_id: str,
        filename: str,
        version: int | None = None,
    ) -> types.Part | None:
        """Return a version of ``filename`` (latest when None, negative counts from
        the latest), or None when there is no such version (or it is ADK's rewind
        marker).  A damaged payload raises ``StorageError``."""
        scope, segments = self._scope(app_name, user_id, session_id, filename)
        return await self._in_thread(self._load_sync, scope.joinpath(*segments), version)

    async def list_artifact_keys(
        self, *, app_name: str, user_id: str, session_id: str
    ) -> list[str]:
        """Return the sorted filenames of the session plus the user's ``user:`` files."""
        user_root = self._user_root(app_name, user_id)
        check_segment(session_id, "session_id")
        return await self._in_thread(
            _list_keys, user_root / "sessions" / session_id / "artifacts",
            user_root / "artifacts")

    async def delete_artifact(
        self, *, app_name: str, user_id: str, session_id: str, filename: str
    ) -> None:
        """Delete every version of ``filename``; an unknown filename is ignored.

        Files nested under the same path (``doc`` and ``doc/part``) are kept.
        """
        scope, segments = self._scope(app_name, user_id, session_id, filename)
        await self._in_thread(_delete, scope, scope.joinpath(*segments))

    async def list_versions(
        self, *, app_name: str, user_id: str, session_id: str, filename: str
    ) -> list[int]:
        """Return the published versions of ``filename`` in ascending order.

        Versions need not be contiguous: a save killed mid-way keeps its number.
        """
        scope, segments = self._scope(app_name, user_id, session_id, filename)
        return await self._in_thread(
            _with_storage_errors, "list versions of", scope.joinpath(*segments),
            _versions_on_disk, scope.joinpath(*segments))

    async def list_artifact_versions(
        self, *, app_name: str, user_id: str, session_id: str, filename: str
    ) -> list[ArtifactVersion]:
        """Return the metadata of every version of ``filename``, oldest first."""
        scope, segments = self._scope(app_name, user_id, session_id, filename)
        return await self._in_thread(_version_infos, scope.joinpath(*segments), False)

    async def get_artifact_version(
        self,
        *,
        app_name: str,
        user_id: str,
        session_id: str,
        filename: str,
        version: int | None = None,
    ) -> ArtifactVersion | None:
        """Return the metadata of one version (latest when None), or None."""
        scope, segments = self._scope(app_name, user_id, session_id, filename)
        infos = await self._in_thread(
            _version_infos, scope.joinpath(*segments), True, version)
        return infos[0] if infos else None

    # ----------------------------------------------------------------- worker threads

    def _save_sync(self, artifact_dir: Path, filename: str, payload: bytes,
                   metadata: dict[str, Any]) -> int:
        with _storage_errors("save", artifact_dir):
            versions_dir = artifact_dir / _VERSIONS
            versions_dir.mkdir(parents=True, exist_ok=True)
            version, staging = _reserve(versions_dir)
            final = versions_dir / str(version)
            try:
                payload_path = staging / artifact_dir.name
                _write_durably(payload_path, payload)
                document = {
                    "version": version,
                    "canonicalUri": (final / artifact_dir.name).resolve().as_uri(),
                    "customMetadata": metadata["customMetadata"],
                    "createTime": time.time(),
                    "mimeType": metadata["mimeType"],
                    "fileName": filename,
                    "displayName": metadata["displayName"],
                }
                text = json.dumps({k: v for k, v in document.items() if v is not None},
                                  ensure_ascii=False, separators=(",", ":"))
                _write_durably(staging / _METADATA, text.encode("utf-8"))
                _fsync_dir(staging)
                trio.from_thread.check_cancelled()  # the last point where a cancel wins
                os.rename(staging, final)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
            _fsync_dir(versions_dir)
            return version

    def _load_sync(self, artifact_dir: Path, version: int | None) -> types.Part | None:
        with _storage_errors("load", artifact_dir):
            chosen = _choose(_versions_on_disk(artifact_dir), version)
            if chosen is None:
                return None
            version_dir = artifact_dir / _VERSIONS / str(chosen)
            metadata = _read_metadata(version_dir / _METADATA)
            try:
                data = (version_dir / artifact_dir.name).read_bytes()
            except FileNotFoundError:
                return None  # deleted meanwhile
            mime_type = metadata.get("mimeType")
            if not mime_type:
                try:
                    return types.Part(text=data.decode("utf-8"))
                except UnicodeDecodeError as exc:
                    raise StorageError(
                        f"Text artifact {version_dir / artifact_dir.name} is not UTF-8 "
                        f"({exc.reason} at byte {exc.start}); the file is damaged."
                    ) from exc
            display_name = metadata.get("displayName")
            if not isinstance(display_name, str):
                display_name = None
            if is_rewind_marker(mime_type, data, display_name):
                return None
            return types.Part(inline_data=types.Blob(
                data=data, mime_type=mime_type, display_name=display_name))


# ----------------------------------------------------------------------- helpers

@contextlib.contextmanager
def _storage_errors(action: str, where: Path) -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        raise StorageError(
            f"File artifact store could not {action} {where}: "
            f"{exc.strerror or exc} ({exc.filename or where})."
        ) from exc


def _with_storage_errors(action: str, where: Path, fn: Callable[..., T], *args: Any) -> T:
    with _storage_errors(action, where):
        return fn(*args)


def _reserve(versions_dir: Path) -> tuple[int, Path]:
    """Claim the next version number by creating its staging directory."""
    existing = _versions_on_disk(versions_dir.parent)
    version = existing[-1] + 1 if existing else 0
    while True:
        staging = versions_dir / f".{version}.pending"
        try:
            staging.mkdir()
        except FileExistsError:
            version += 1
            continue
        if not (versions_dir / str(version)).exists():
            return version, staging
        staging.rmdir()
        version += 1


def _write_durably(path: Path, data: bytes) -> None:
    with open(path, "xb") as file:
        view = memoryview(data)
        for start in range(0, len(view), _CHUNK):
            trio.from_thread.check_cancelled()
            file.write(view[start:start + _CHUNK])
        file.flush()
        os.fsync(file.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _versions_on_disk(artifact_dir: Path) -> list[int]:
    try:
        names = os.listdir(artifact_dir / _VERSIONS)
    except (FileNotFoundError, NotADirectoryError):
        return []
    return sorted(int(name) for name in names if name.isascii() and name.isdigit())


def _choose(versions: list[int], version: int | None) -> int | None:
    if not versions:
        return None
    if version is None:
        return versions[-1]
    if version < 0:
        return versions[version] if -len(versions) <= version else None
    return version if version in versions else None


def _read_metadata(path: Path) -> dict[str, Any]:
    """The version's metadata document, or ``{}`` when it is missing or unreadable
    (ADK reads such a version as text, and so do we)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, NotADirectoryError, UnicodeDecodeError, ValueError):
        return {}
    return document if isinstance(document, dict) else {}


def _version_infos(artifact_dir: Path, one: bool,
                   version: int | None = None) -> list[ArtifactVersion]:
    """Metadata of every version, or (``one``) of ``version`` (latest when None)."""
    with _storage_errors("read versions of", artifact_dir):
        wanted = _versions_on_disk(artifact_dir)
        if one:
            chosen = _choose(wanted, version)
            wanted = [] if chosen is None else [chosen]
        infos: list[ArtifactVersion] = []
        for number in wanted:
            version_dir = artifact_dir / _VERSIONS / str(number)
            metadata = _read_metadata(version_dir / _METADATA)
            payload = version_dir / artifact_dir.name
            custom = metadata.get("customMetadata")
            created = metadata.get("createTime")
            mime_type = metadata.get("mimeType")
            if not isinstance(created, int | float):
                try:
                    created = version_dir.stat().st_mtime
                except FileNotFoundError:
                    continue
            infos.append(ArtifactVersion(
                version=number,
                canonical_uri=payload.resolve().as_uri(),
                custom_metadata=custom if isinstance(custom, dict) else {},
                create_time=float(created),
                mime_type=mime_type if isinstance(mime_type, str) and mime_type else None,
            ))
        return infos


def _list_keys(session_root: Path, user_root: Path) -> list[str]:
    names: set[str] = set()
    for root, prefix in ((session_root, ""), (user_root, USER_PREFIX)):
        with _storage_errors("list artifacts in", root):
            for directory, subdirs, _files in os.walk(root):
                here = Path(directory)
                if _VERSIONS in subdirs:
                    subdirs.remove(_VERSIONS)  # payloads, not nested artifacts
                    if here != root and _versions_on_disk(here):
                        names.add(prefix + here.relative_to(root).as_posix())
                subdirs[:] = [d for d in subdirs if not d.startswith(".")]
    return sorted(names)


def _delete(scope: Path, artifact_dir: Path) -> None:
    with _storage_errors("delete", artifact_dir):
        versions_dir = artifact_dir / _VERSIONS
        doomed = artifact_dir / f".versions.deleting-{uuid.uuid4().hex}"
        try:
            os.rename(versions_dir, doomed)  # readers see all versions or none
        except FileNotFoundError:
            return
        shutil.rmtree(doomed)
        # Remove directories left empty, up to the scope; a directory that still holds
        # nested files ("doc" for "doc/part") stays.
        current = artifact_dir
        while current != scope and current.is_relative_to(scope):
            try:
                current.rmdir()
            except OSError:
                break
            current = current.parent
