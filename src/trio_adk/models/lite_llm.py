"""ADK-compatible import path.

Re-exports for ``google.adk.models.lite_llm``.
"""

from trio_adk.models._lite_llm import LiteLlm as LiteLlm

__all__ = ["LiteLlm"]
