"""ADK-compatible import path.

Re-exports for ``google.adk.tools.get_user_choice_tool``.
"""

from trio_adk.tools._get_user_choice import get_user_choice as get_user_choice
from trio_adk.tools._get_user_choice import get_user_choice_tool as get_user_choice_tool

__all__ = ["get_user_choice", "get_user_choice_tool"]
