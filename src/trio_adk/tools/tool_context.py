"""ADK-compatible import path.

Re-exports for ``google.adk.tools.tool_context`` (which also offers ``CallbackContext``,
``AuthConfig`` and ``AuthCredential``).
"""

from trio_adk.agents._callback_context import CallbackContext as CallbackContext
from trio_adk.auth._types import AuthConfig as AuthConfig
from trio_adk.auth._types import AuthCredential as AuthCredential
from trio_adk.tools._tool_context import ToolContext as ToolContext

__all__ = ["AuthConfig", "AuthCredential", "CallbackContext", "ToolContext"]
