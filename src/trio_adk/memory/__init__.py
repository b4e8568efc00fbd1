"""Memory: long-term recall across sessions, and the services providing it."""

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
