"""ADK-compatible import path.

Re-exports for ``google.adk.tools.exit_loop_tool``.
"""

from trio_adk.tools._exit_loop import exit_loop as exit_loop

__all__ = ["exit_loop"]
