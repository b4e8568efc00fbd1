"""Apps: finding and loading the agents of an agents directory.

:class:`AgentLoader` lists the apps of a folder and imports their root agents, the way
ADK's ``adk run``, ``adk web`` and ``adk api_server`` do (ADK's path for it is
``trio_adk.cli.utils.agent_loader``).
"""

from trio_adk.apps._loader import AgentLoader as AgentLoader
from trio_adk.apps._loader import AgentLoadError as AgentLoadError
from trio_adk.apps._loader import AgentNotFoundError as AgentNotFoundError

__all__ = ["AgentLoadError", "AgentLoader", "AgentNotFoundError"]
