"""ADK-compatible import path.

Re-exports for ``google.adk.artifacts.file_artifact_service``.
"""

from trio_adk.artifacts._file import FileArtifactService as FileArtifactService

__all__ = ["FileArtifactService"]
