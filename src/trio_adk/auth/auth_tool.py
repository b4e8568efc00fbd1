"""ADK-compatible import path.

Re-exports for ``google.adk.auth.auth_tool``.
"""

from trio_adk.auth._types import AuthConfig as AuthConfig
from trio_adk.auth._types import AuthToolArguments as AuthToolArguments

__all__ = ["AuthConfig", "AuthToolArguments"]
