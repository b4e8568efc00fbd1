"""ADK's path for loading an app's ``.env`` file (``load_dotenv_for_agent``)."""

from trio_adk.apps._dotenv import load_dotenv_for_agent as load_dotenv_for_agent

__all__ = ["load_dotenv_for_agent"]
