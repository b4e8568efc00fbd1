"""ADK-compatible import path.

Re-exports for ``google.adk.agents.callback_context``.
"""

from trio_adk.agents._callback_context import CallbackContext as CallbackContext

__all__ = ["CallbackContext"]
