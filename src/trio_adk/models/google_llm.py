"""ADK-compatible import path.

Re-exports for ``google.adk.models.google_llm``.
"""

from trio_adk.models._gemini import Gemini as Gemini

__all__ = ["Gemini"]
