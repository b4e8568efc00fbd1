"""Sessions: conversation history and scoped state, and the services that store them."""

from trio_adk._not_provided import names_not_provided
from trio_adk.sessions._base import BaseSessionService as BaseSessionService
from trio_adk.sessions._in_memory import InMemorySessionService as InMemorySessionService
from trio_adk.sessions._session import GetSessionConfig as GetSessionConfig
from trio_adk.sessions._session import ListSessionsResponse as ListSessionsResponse
from trio_adk.sessions._session import Session as Session
from trio_adk.sessions._state import State as State

__all__ = [
    "BaseSessionService",
    "GetSessionConfig",
    "InMemorySessionService",
    "ListSessionsResponse",
    "Session",
    "State",
]

# ADK names trio-adk lacks: importing one says so.
__getattr__ = names_not_provided("trio_adk.sessions", frozenset({
    'DatabaseSessionService', 'VertexAiSessionService', 'StateSchemaError',
}))

