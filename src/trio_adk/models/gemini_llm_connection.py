"""ADK-compatible import path.

Re-exports for ``google.adk.models.gemini_llm_connection``.
"""

from trio_adk.models._gemini_live import GeminiLlmConnection as GeminiLlmConnection

__all__ = ["GeminiLlmConnection"]
