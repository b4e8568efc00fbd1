"""ADK-compatible import path.

Re-exports for ``google.adk.models.base_llm_connection``.
"""

from trio_adk.models._base_llm import BaseLlmConnection as BaseLlmConnection

__all__ = ["BaseLlmConnection"]
