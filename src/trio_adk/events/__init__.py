"""Events: the history of a session and the stream a run produces."""

from trio_adk.events._event import Event as Event
from trio_adk.events._event_actions import EventActions as EventActions

__all__ = ["Event", "EventActions"]
