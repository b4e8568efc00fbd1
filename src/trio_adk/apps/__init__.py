"""Apps: :class:`App`, and finding and loading the apps of an agents directory.

An :class:`App` is a root agent with the plugins and settings of all its runs
(``Runner(app=App(...), ...)``).  :class:`AgentLoader` lists the apps of a folder and
imports their ``app`` or ``root_agent``, the way ADK's ``adk run``, ``adk web`` and
``adk api_server`` do (ADK's path for it is ``trio_adk.cli.utils.agent_loader``).
"""

from trio_adk.apps._app import App as App
from trio_adk.apps._app import EventsCompactionConfig as EventsCompactionConfig
from trio_adk.apps._app import ResumabilityConfig as ResumabilityConfig
from trio_adk.apps._loader import AgentLoader as AgentLoader
from trio_adk.apps._loader import AgentLoadError as AgentLoadError
from trio_adk.apps._loader import AgentNotFoundError as AgentNotFoundError
from trio_adk.apps._summarizer import BaseEventsSummarizer as BaseEventsSummarizer
from trio_adk.apps._summarizer import LlmEventSummarizer as LlmEventSummarizer

__all__ = ["AgentLoadError", "AgentLoader", "AgentNotFoundError", "App",
           "BaseEventsSummarizer", "EventsCompactionConfig", "LlmEventSummarizer",
           "ResumabilityConfig"]
