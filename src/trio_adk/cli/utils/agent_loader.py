"""ADK's path for the agent loader: ``from trio_adk.cli.utils.agent_loader import AgentLoader``."""

from trio_adk.apps._loader import AgentLoader as AgentLoader
from trio_adk.apps._loader import AgentLoadError as AgentLoadError
from trio_adk.apps._loader import AgentNotFoundError as AgentNotFoundError
from trio_adk.apps._loader import is_single_agent_directory as is_single_agent_directory

__all__ = ["AgentLoadError", "AgentLoader", "AgentNotFoundError", "is_single_agent_directory"]
