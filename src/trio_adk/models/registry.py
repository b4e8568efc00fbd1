"""ADK-compatible import path.

Re-exports for ``google.adk.models.registry``.
"""

from trio_adk.models._registry import LLMRegistry as LLMRegistry

__all__ = ["LLMRegistry"]
