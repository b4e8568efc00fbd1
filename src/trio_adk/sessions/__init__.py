"""Sessions: conversation history and scoped state, and the services that store them."""

from trio_adk._not_provided import names_not_provided
from trio_adk.sessions._base import BaseSessionService as BaseSessionService
from trio_adk.sessions._in_memory import InMemorySessionService as InMemorySessionService
from trio_adk.sessions._session import GetSessionConfig as GetSessionConfig
from trio_adk.sessions._session import ListSessionsResponse as ListSessionsResponse
from trio_adk.sessions._session import Session as Session
from trio_adk.sessions._sqlite._service import SqliteSessionService as SqliteSessionService
from trio_adk.sessions._state import State as State

__all__ = [
    "BaseSessionService",
    "GetSessionConfig",
    "InMemorySessionService",
    "ListSessionsResponse",
    "Session",
    "SqliteSessionService",
    "State",
]

# ADK names trio-adk lacks: importing one says so.
_not_provided = names_not_provided("trio_adk.sessions", frozenset({
    'VertexAiSessionService', 'StateSchemaError',
}))


def __getattr__(name: str) -> object:
    # Imported when first asked for: its driver (psycopg) is the 'postgres' extra.
    if name == "DatabaseSessionService":
        from trio_adk.sessions.database_session_service import DatabaseSessionService

        return DatabaseSessionService
    return _not_provided(name)

