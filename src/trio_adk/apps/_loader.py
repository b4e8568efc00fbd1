"""Finding and importing the apps of an agents directory, as ADK's command line and server do.

An *agents directory* holds one folder per app; the folder's name is the app's name and the
folder is a Python package (or holds ``agent.py``) that defines ``app`` (an
:class:`~trio_adk.apps.App`) or ``root_agent``.  A folder that
itself holds ``agent.py`` is a *single-agent* directory: its one app is the folder itself.
"""

from __future__ import annotations

import importlib
import logging
import os
import re
import sys
import threading
import traceback
from pathlib import Path
from types import ModuleType

from trio_adk.agents._base_agent import BaseAgent
from trio_adk.apps._app import App
from trio_adk.apps._dotenv import load_dotenv_for_agent

_log = logging.getLogger("trio_adk")

_VALID_NAME = re.compile(r"[A-Za-z0-9_]+")
_AGENT_CONFIG = "root_agent.yaml"


class AgentLoadError(ValueError):
    """An app could not be loaded; the message names the app and says what to do.

    Raised by :class:`AgentLoader`.  When the app's own code failed while being imported, the
    error it raised is the ``__cause__``.
    """


class AgentNotFoundError(AgentLoadError):
    """There is no app of that name in the agents directory, or the name is not a valid
    app name (letters, digits and underscores only)."""


def is_single_agent_directory(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a folder that is itself an app (it holds ``agent.py`` or
    ``root_agent.yaml``)."""
    folder = Path(path)
    return folder.is_dir() and ((folder / "agent.py").is_file()
                                or (folder / _AGENT_CONFIG).is_file())


def _is_app_folder(folder: Path) -> bool:
    return folder.is_dir() and any(
        (folder / name).is_file() for name in ("agent.py", "__init__.py", _AGENT_CONFIG))


def _module_paths(module: ModuleType) -> list[Path]:
    """Where ``module`` was loaded from: its file, or a namespace package's folders."""
    file = getattr(module, "__file__", None)
    if file:
        return [Path(file).resolve()]
    return [Path(p).resolve() for p in getattr(module, "__path__", [])]


def _within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


class AgentLoader:
    """The apps of an agents directory: list them, load their root agents, forget them.

    ``agents_dir`` is either an agents directory, whose apps are its subfolders (not starting
    with ``.``, not ``__pycache__``) holding ``agent.py``, ``__init__.py`` or
    ``root_agent.yaml``; or a single app's folder (it holds ``agent.py``), whose one app is
    named after the folder.  As in ADK, app names are letters, digits and underscores.

    Loading an app ``name`` puts the agents directory first on ``sys.path``, loads the first
    ``.env`` file found walking up from the app's folder (see
    :func:`~trio_adk.cli.utils.envs.load_dotenv_for_agent`), then imports, in order:
    ``name`` (``name/__init__.py`` or ``name.py``) and ``name.agent`` (``name/agent.py``),
    taking the first ``app`` (an :class:`~trio_adk.apps.App`) or ``root_agent`` found; in
    one module, ``app`` wins, as in ADK.  The agent or App is cached until
    :meth:`remove_agent_from_cache`.  Apps described by Agent Config YAML
    (``root_agent.yaml``) are listed, but trio-adk does not load them yet.

    Loading imports the user's code, which may block for as long as it likes: it is
    synchronous and cannot be cancelled.  From trio, call it in a worker thread
    (``await trio.to_thread.run_sync(loader.load_agent, name)``), as the server does.  All
    methods may be called from any thread; loads and removals are serialized.
    """

    def __init__(self, agents_dir: str | os.PathLike[str]) -> None:
        path = Path(agents_dir).resolve()
        self._single_agent_name: str | None = None
        if is_single_agent_directory(path):
            self._single_agent_name = path.name
            path = path.parent
        self.agents_dir: Path = path
        self._lock = threading.RLock()
        self._cache: dict[str, BaseAgent | App] = {}

    def __repr__(self) -> str:
        mode = (f"single agent {self._single_agent_name!r}" if self._single_agent_name
                else "agents directory")
        return f"<AgentLoader {str(self.agents_dir)!r}, {mode}, {len(self._cache)} loaded>"

    @property
    def is_single_agent(self) -> bool:
        """Whether the loader was given one app's folder rather than an agents directory."""
        return self._single_agent_name is not None

    def list_agents(self) -> list[str]:
        """The names of the apps, sorted.

        Raises:
            AgentLoadError: the agents directory does not exist or is not a directory.
        """
        if self._single_agent_name is not None:
            return [self._single_agent_name]
        try:
            entries = list(self.agents_dir.iterdir())
        except OSError as exc:
            raise AgentLoadError(
                f"Cannot list the apps in {str(self.agents_dir)!r}: "
                f"{exc.strerror or exc}. Give the folder that holds your app folders."
            ) from exc
        return sorted(entry.name for entry in entries
                      if not entry.name.startswith(".") and entry.name != "__pycache__"
                      and _is_app_folder(entry))

    def agent_dir(self, agent_name: str) -> Path:
        """The folder of the app ``agent_name`` (where its ``.adk/`` local storage lives).

        For an app that is a single module (``agents_dir/name.py``) it is the agents
        directory.  Nothing is imported.

        Raises:
            AgentNotFoundError: no such app, or an invalid name.
        """
        self._check_name(agent_name)
        folder = self.agents_dir / agent_name
        return folder if folder.is_dir() else self.agents_dir

    def load_agent(self, agent_name: str) -> BaseAgent | App:
        """The app ``agent_name``: its ``App`` if it defines ``app``, otherwise its root
        agent; imported on first use, then cached.

        Blocking and not cancellable (it imports the app's code); call it from a worker
        thread when an event loop is running.  Any thread.

        Raises:
            AgentNotFoundError: no such app, or an invalid name (checked before anything is
                imported, so a name like ``../x`` imports nothing).
            AgentLoadError: the app's code failed to import (its error is the
                ``__cause__``; the message names the file and line), it defines no
                ``app`` or ``root_agent``, its ``root_agent`` is not a trio-adk agent, its
                ``app`` is ADK's ``App``, or it is an Agent Config YAML app.
        """
        with self._lock:
            cached = self._cache.get(agent_name)
            if cached is not None:
                return cached
            self._check_name(agent_name)
            agent = self._load(agent_name)
            self._cache[agent_name] = agent
            return agent

    def remove_agent_from_cache(self, agent_name: str) -> None:
        """Forget the loaded app ``agent_name``, so the next load imports its code again.

        Drops the cached agent and the app's modules (``name`` and ``name.*`` imported from
        the agents directory) from ``sys.modules``; modules of that name from elsewhere are
        left alone.  Does nothing for an app that is not loaded.  Any thread.
        """
        with self._lock:
            self._cache.pop(agent_name, None)
            if not isinstance(agent_name, str) or not _VALID_NAME.fullmatch(agent_name):
                return
            for module_name, module in list(sys.modules.items()):
                if module_name != agent_name and not module_name.startswith(agent_name + "."):
                    continue
                if module is not None and any(_within(path, self.agents_dir)
                                              for path in _module_paths(module)):
                    del sys.modules[module_name]

    # ---- loading --------------------------------------------------------------------------

    def _check_name(self, agent_name: str) -> None:
        if not isinstance(agent_name, str) or not _VALID_NAME.fullmatch(agent_name):
            raise AgentNotFoundError(
                f"Invalid app name {agent_name!r}: app names are letters, digits and "
                f"underscores only (the name of the app's folder).")
        if self._single_agent_name is not None:
            if agent_name != self._single_agent_name:
                folder = self.agents_dir / self._single_agent_name
                raise AgentNotFoundError(
                    f"No app named {agent_name!r}: {str(folder)!r} is a single app, named "
                    f"{self._single_agent_name!r}.")
            return
        if not ((self.agents_dir / agent_name).is_dir()
                or (self.agents_dir / f"{agent_name}.py").is_file()):
            names = ", ".join(self.list_agents()) or "none"
            raise AgentNotFoundError(
                f"No app named {agent_name!r} in {str(self.agents_dir)!r} (apps: {names}). "
                f"Check the name, or create it with: trio-adk create {agent_name}")

    def _load(self, name: str) -> BaseAgent | App:
        folder = self.agents_dir / name
        where = str(self.agents_dir)
        if where not in sys.path:
            sys.path.insert(0, where)
        load_dotenv_for_agent(name, self.agents_dir)
        for module_name in (name, f"{name}.agent"):
            module = self._import(name, module_name)
            if module is None:
                continue
            agent = self._root_agent_of(name, module)
            if agent is not None:
                _log.info("Loaded app %r from %s.", name, module_name)
                return agent
        if (folder / _AGENT_CONFIG).is_file():
            raise AgentLoadError(
                f"App {name!r} is described by Agent Config YAML "
                f"({str(folder / _AGENT_CONFIG)!r}): trio-adk does not load Agent Config "
                f"YAML yet. Define root_agent = Agent(...) in {name}/agent.py instead.")
        hint = ""
        if (self.agents_dir / "agent.py").is_file() and self._single_agent_name is None:
            hint = (f" ({str(self.agents_dir)!r} holds an agent.py itself: give the folder of "
                    f"the app, or the folder above it.)")
        raise AgentLoadError(
            f"App {name!r} defines no root_agent: looked in {name} and {name}.agent. "
            f"Define root_agent = Agent(...) in {name}/agent.py, and in {name}/__init__.py "
            f"write: from . import agent{hint}")

    def _import(self, name: str, module_name: str) -> ModuleType | None:
        """``module_name`` imported, or None when it does not exist."""
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name in (name, module_name):
                return None
            raise self._import_failure(name, module_name, exc) from exc
        except Exception as exc:
            raise self._import_failure(name, module_name, exc) from exc
        paths = _module_paths(module)
        if paths and not any(_within(p, self.agents_dir) for p in paths):
            raise AgentLoadError(
                f"App {name!r} has the name of another Python module, {module_name!r}, "
                f"already imported from {str(paths[0])!r}. Rename the app's folder.")
        return module

    def _import_failure(self, name: str, module_name: str, exc: Exception) -> AgentLoadError:
        """The error for the app's code failing to import, naming the file and line."""
        place = module_name
        if isinstance(exc, SyntaxError) and exc.filename:
            place = f"{exc.filename}, line {exc.lineno}"
        else:
            for frame in reversed(traceback.extract_tb(exc.__traceback__)):
                if _within(Path(frame.filename).resolve(), self.agents_dir):
                    place = f"{frame.filename}, line {frame.lineno}"
                    break
        what = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return AgentLoadError(
            f"App {name!r} failed to import ({place}): {what}. Fix the app's code "
            f"(or install what it imports) and try again.")

    def _root_agent_of(self, name: str, module: ModuleType) -> BaseAgent | App | None:
        where = module.__name__
        app = getattr(module, "app", None)
        if isinstance(app, App):
            return app
        kind = f"{type(app).__module__}.{type(app).__qualname__}"
        if kind.startswith("google.adk.") and _looks_like_app(app):  # others: not an App
            raise AgentLoadError(
                f"App {name!r}: {where}.app is a {kind}, not a trio-adk App. Import App "
                f"from trio_adk.apps instead of google.adk.apps.")
        if not hasattr(module, "root_agent"):
            return None
        agent = module.root_agent
        if isinstance(agent, BaseAgent):
            return agent
        kind = f"{type(agent).__module__}.{type(agent).__qualname__}"
        if kind.startswith("google.adk."):
            hint = "Import Agent from trio_adk instead of google.adk."
        elif _looks_like_app(agent):
            hint = "Expose the App as app = App(...) instead (or its root agent as root_agent)."
        else:
            hint = "Set root_agent to an agent, e.g. root_agent = Agent(...)."
        raise AgentLoadError(
            f"App {name!r}: {where}.root_agent is a {kind}, not a trio-adk agent. {hint}")


def _looks_like_app(value: object) -> bool:
    """Whether ``value`` is an ADK ``App`` (an object that wraps a root agent)."""
    return type(value).__name__ == "App" and hasattr(value, "root_agent")
