"""ADK-compatible import path.

Re-exports for ``google.adk.tools.load_artifacts_tool``.
"""

from trio_adk.tools._artifact_parts import as_safe_part_for_llm as as_safe_part_for_llm
from trio_adk.tools._load_artifacts import LoadArtifactsTool as LoadArtifactsTool
from trio_adk.tools._load_artifacts import ProcessArtifactCallback as ProcessArtifactCallback
from trio_adk.tools._load_artifacts import load_artifacts_tool as load_artifacts_tool

__all__ = [
    "LoadArtifactsTool",
    "ProcessArtifactCallback",
    "as_safe_part_for_llm",
    "load_artifacts_tool",
]
