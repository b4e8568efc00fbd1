"""ADK-compatible import path.

Re-exports for ``google.adk.models.llm_response``.
"""

from trio_adk.models._llm_response import LlmResponse as LlmResponse

__all__ = ["LlmResponse"]
