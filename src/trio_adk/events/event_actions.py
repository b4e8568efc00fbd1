"""ADK-compatible import path.

Re-exports for ``google.adk.events.event_actions``.
"""

from trio_adk.events._event_actions import EventActions as EventActions

__all__ = ["EventActions"]
