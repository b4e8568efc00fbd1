"""ADK-compatible import path.

Re-exports for ``google.adk.sessions.sqlite_session_service``.
"""

from trio_adk.sessions._sqlite._service import SqliteSessionService as SqliteSessionService

__all__ = ["SqliteSessionService"]
