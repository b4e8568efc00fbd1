"""ADK-compatible import path.

Re-exports for ``google.adk.agents.invocation_context``.
"""

from trio_adk.agents._invocation_context import InvocationContext as InvocationContext
from trio_adk.agents._invocation_context import (
    new_invocation_context_id as new_invocation_context_id,
)
from trio_adk.errors import LlmCallsLimitExceededError as LlmCallsLimitExceededError

__all__ = ["InvocationContext", "LlmCallsLimitExceededError", "new_invocation_context_id"]
