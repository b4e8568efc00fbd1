"""ADK-compatible import path.

Re-exports for ``google.adk.models.base_llm``.
"""

from trio_adk.models._base_llm import BaseLlm as BaseLlm

__all__ = ["BaseLlm"]
