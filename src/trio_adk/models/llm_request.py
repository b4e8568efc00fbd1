"""ADK-compatible import path.

Re-exports for ``google.adk.models.llm_request``.
"""

from trio_adk.models._llm_request import LlmRequest as LlmRequest

__all__ = ["LlmRequest"]
