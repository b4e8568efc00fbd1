"""ADK-compatible import path.

Re-exports for ``google.adk.events.event_actions``.
"""

from trio_adk.events._event_actions import EventActions as EventActions
from trio_adk.events._event_compaction import EventCompaction as EventCompaction

__all__ = ["EventActions", "EventCompaction"]
