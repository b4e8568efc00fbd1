"""ADK-compatible import path.

Re-exports for ``google.adk.memory.in_memory_memory_service``.
"""

from trio_adk.memory._in_memory import InMemoryMemoryService as InMemoryMemoryService

__all__ = ["InMemoryMemoryService"]
