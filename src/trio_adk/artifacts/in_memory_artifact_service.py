"""ADK-compatible import path.

Re-exports for ``google.adk.artifacts.in_memory_artifact_service``.
"""

from trio_adk.artifacts._in_memory import InMemoryArtifactService as InMemoryArtifactService

__all__ = ["InMemoryArtifactService"]
