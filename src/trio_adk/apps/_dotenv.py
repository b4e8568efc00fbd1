"""Loading an app's ``.env`` file the way ADK's command line does.

The first ``.env`` file found walking up from the app's folder is loaded into
``os.environ``.  Variables that were set before the first ``.env`` load of the process win
over every ``.env`` file; variables that came from one ``.env`` file may be replaced by the
next app's file.  ``ADK_DISABLE_LOAD_DOTENV=1`` (or ``true``, ``yes``, ``on``) turns it off.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import dotenv

_log = logging.getLogger("trio_adk")

DISABLE_VARIABLE = "ADK_DISABLE_LOAD_DOTENV"
"""The environment variable that turns ``.env`` loading off (ADK's name)."""

_TRUTHY = frozenset({"1", "true", "yes", "on"})

_lock = threading.Lock()
_explicit_keys: frozenset[str] | None = None


def dotenv_disabled() -> bool:
    """Whether ``ADK_DISABLE_LOAD_DOTENV`` is set to a true value (``1``, ``true``, ``yes``,
    ``on``, any case)."""
    return os.environ.get(DISABLE_VARIABLE, "0").strip().lower() in _TRUTHY


def find_dotenv(start: Path, filename: str = ".env") -> Path | None:
    """The first file named ``filename`` in ``start`` or one of its parents, or None."""
    for folder in (start, *start.parents):
        candidate = folder / filename
        if candidate.is_file():
            return candidate
    return None


def load_dotenv_for_agent(agent_name: str, agent_parent_folder: str | os.PathLike[str],
                          filename: str = ".env") -> Path | None:
    """Load the ``.env`` file of the app ``agent_parent_folder/agent_name``; return its path.

    The file is the first ``filename`` found in the app's folder or above it (None when
    there is none, or when ``ADK_DISABLE_LOAD_DOTENV`` is set).  Its variables go into
    ``os.environ``, except those set before this process loaded its first ``.env`` file:
    those keep their values.

    Blocking (it reads files); safe to call from any thread, calls are serialized.  It changes
    ``os.environ`` for the whole process.
    """
    global _explicit_keys
    if dotenv_disabled():
        _log.info("Not loading %s: %s is set.", filename, DISABLE_VARIABLE)
        return None
    start = (Path(agent_parent_folder) / agent_name).resolve()
    path = find_dotenv(start, filename)
    if path is None:
        _log.info("No %s file for %s.", filename, agent_name)
        return None
    with _lock:
        if _explicit_keys is None:
            _explicit_keys = frozenset(os.environ)
        explicit = {key: os.environ[key] for key in _explicit_keys if key in os.environ}
        dotenv.load_dotenv(path, override=True)
        os.environ.update(explicit)
    _log.info("Loaded %s for %s.", path, agent_name)
    return path
