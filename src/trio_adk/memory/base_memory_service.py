"""ADK-compatible import path.

Re-exports for ``google.adk.memory.base_memory_service``.
"""

from trio_adk.memory._base import BaseMemoryService as BaseMemoryService
from trio_adk.memory._base import SearchMemoryResponse as SearchMemoryResponse

__all__ = ["BaseMemoryService", "SearchMemoryResponse"]
