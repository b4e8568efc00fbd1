"""One run per session across processes: an OS file lock per session, next to the file.

A claim is ``fcntl.flock(LOCK_EX)`` on ``<db>.locks/<sha256 of the session key>``.  The
kernel releases it when the holder closes the file or dies (``SIGKILL`` included), so a
crashed runner never leaves a session held.  flock locks belong to the open file
description, so two services (or two claims) in one process exclude each other too.

Waiting polls ``LOCK_NB`` with a growing ``trio.sleep`` (1 ms up to 50 ms) instead of
blocking a thread in ``flock``: a blocked ``flock`` cannot be cancelled from trio, a
``trio.sleep`` can, and the process's own claims are already queued first come, first
served by the service's in-process gates, so at most one task per process polls for a
given session.  Across processes the turn goes to whoever polls first after a release.

Lock files are left in place when released: unlinking one while another process waits
on it would let a third process lock a new file of the same name at the same time.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
from collections.abc import AsyncIterator

import trio

from trio_adk.errors import StorageError
from trio_adk.sessions._gates import busy_error

if sys.platform != "win32":
    import fcntl

_FIRST_WAIT = 0.001
_MAX_WAIT = 0.05


def lock_dir_for(db_path: str) -> str:
    """The directory holding the session lock files of the database at ``db_path``."""
    return os.path.abspath(db_path) + ".locks"


def _lock_name(key: tuple[str, str, str]) -> str:
    return hashlib.sha256(json.dumps(list(key)).encode()).hexdigest()


def _open_lock_file(directory: str, key: tuple[str, str, str]) -> int:
    os.makedirs(directory, exist_ok=True)
    return os.open(os.path.join(directory, _lock_name(key)),
                   os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


@contextlib.asynccontextmanager
async def file_claim(
    directory: str, key: tuple[str, str, str], *, wait: bool
) -> AsyncIterator[None]:
    """Hold ``key`` against every other process using the same lock directory.

    ``wait=False`` raises ``SessionBusyError`` when another holder has it.  Cancellation
    while waiting gives up (the file is closed).  Release is immediate and cannot block.

    Raises:
        StorageError: the lock directory or file cannot be created.
    """
    if sys.platform == "win32":  # pragma: no cover - no flock: this process only
        yield
        return
    try:
        fd = await trio.to_thread.run_sync(_open_lock_file, directory, key)
    except OSError as exc:
        raise StorageError(
            f"cannot create the session lock file in {directory} ({exc}); the directory "
            "next to the session database must be writable."
        ) from exc
    try:
        delay = _FIRST_WAIT
        while not _try_lock(fd):
            if not wait:
                raise busy_error(key)
            await trio.sleep(delay)
            delay = min(delay * 2, _MAX_WAIT)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
