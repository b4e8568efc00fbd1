"""ADK-compatible import path.

Re-exports for ``google.adk.events.event``.
"""

from trio_adk.events._event import Event as Event

__all__ = ["Event"]
