"""ADK-compatible import path.

Re-exports for ``google.adk.artifacts.base_artifact_service``.
"""

from trio_adk.artifacts._base import ArtifactVersion as ArtifactVersion
from trio_adk.artifacts._base import BaseArtifactService as BaseArtifactService

__all__ = ["ArtifactVersion", "BaseArtifactService"]
