"""Artifacts: versioned files saved by agents and tools, and the services storing them."""

from trio_adk.artifacts._base import BaseArtifactService as BaseArtifactService
from trio_adk.artifacts._in_memory import InMemoryArtifactService as InMemoryArtifactService

__all__ = ["BaseArtifactService", "InMemoryArtifactService"]
