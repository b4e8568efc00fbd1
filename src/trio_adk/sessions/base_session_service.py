"""ADK-compatible import path.

Re-exports for ``google.adk.sessions.base_session_service``.
"""

from trio_adk.sessions._base import BaseSessionService as BaseSessionService
from trio_adk.sessions._session import GetSessionConfig as GetSessionConfig
from trio_adk.sessions._session import ListSessionsResponse as ListSessionsResponse

__all__ = ["BaseSessionService", "GetSessionConfig", "ListSessionsResponse"]
