"""ADK-compatible import path.

Re-exports for ``google.adk.sessions.in_memory_session_service``.
"""

from trio_adk.sessions._in_memory import InMemorySessionService as InMemorySessionService

__all__ = ["InMemorySessionService"]
