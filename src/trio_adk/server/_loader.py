"""What the server needs from an agent loader (``trio_adk.apps.AgentLoader`` has it)."""

from __future__ import annotations

import pathlib
from typing import Protocol, runtime_checkable

from trio_adk.agents._base_agent import BaseAgent
from trio_adk.apps._app import App


@runtime_checkable
class AgentLoaderLike(Protocol):
    """Finds apps by name and imports their root agents.

    ``load_agent`` imports user code, so it is synchronous: the server calls it in a worker
    thread, once per app (the runner it builds is kept).  It raises ``ValueError`` for an
    app that does not exist (the server answers 404 with its message); any other exception
    means the app exists but failed to load (500, details in the server's log).
    """

    def list_agents(self) -> list[str]:
        """The names of the apps, sorted."""
        ...

    def load_agent(self, agent_name: str) -> BaseAgent | App:
        """Import and return the app's ``App`` or root agent (sync; may be slow)."""
        ...

    def agent_dir(self, agent_name: str) -> pathlib.Path:
        """The app's folder (its ``.adk`` storage lives there)."""
        ...

    def remove_agent_from_cache(self, agent_name: str) -> None:
        """Forget the loaded agent, so the next ``load_agent`` imports it again."""
        ...
