"""ADK-compatible import path.

Re-exports for ``google.adk.sessions.state``.
"""

from trio_adk.sessions._state import State as State

__all__ = ["State"]
