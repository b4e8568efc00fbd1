"""``App`` at ADK's path (``google.adk.apps.app``), with its configuration types."""

from trio_adk.apps._app import App as App
from trio_adk.apps._app import EventsCompactionConfig as EventsCompactionConfig
from trio_adk.apps._app import ResumabilityConfig as ResumabilityConfig
from trio_adk.apps._app import validate_app_name as validate_app_name

__all__ = ["App", "EventsCompactionConfig", "ResumabilityConfig", "validate_app_name"]
