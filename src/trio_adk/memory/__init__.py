"""Memory: long-term recall across sessions, and the services providing it."""

from trio_adk._not_provided import names_not_provided
from trio_adk.memory._base import BaseMemoryService as BaseMemoryService
from trio_adk.memory._base import MemoryEntry as MemoryEntry
from trio_adk.memory._base import SearchMemoryResponse as SearchMemoryResponse
from trio_adk.memory._in_memory import InMemoryMemoryService as InMemoryMemoryService

__all__ = [
    "BaseMemoryService",
    "InMemoryMemoryService",
    "MemoryEntry",
    "SearchMemoryResponse",
]

# ADK names trio-adk lacks: importing one says so.
__getattr__ = names_not_provided("trio_adk.memory", frozenset({
    'SqliteMemoryService', 'VertexAiMemoryBankService', 'VertexAiRagMemoryService',
}))

