"""Artifacts: versioned files saved by agents and tools, and the services storing them."""

from trio_adk._not_provided import names_not_provided
from trio_adk.artifacts._base import ArtifactVersion as ArtifactVersion
from trio_adk.artifacts._base import BaseArtifactService as BaseArtifactService
from trio_adk.artifacts._file import FileArtifactService as FileArtifactService
from trio_adk.artifacts._in_memory import InMemoryArtifactService as InMemoryArtifactService
from trio_adk.artifacts._s3 import S3ArtifactService as S3ArtifactService

__all__ = ["ArtifactVersion", "BaseArtifactService", "FileArtifactService",
           "InMemoryArtifactService", "S3ArtifactService"]

# ADK names trio-adk lacks: importing one says so.
__getattr__ = names_not_provided("trio_adk.artifacts", frozenset({
    'GcsArtifactService',
}))

