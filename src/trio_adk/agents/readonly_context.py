"""ADK-compatible import path.

Re-exports for ``google.adk.agents.readonly_context``.
"""

from trio_adk.agents._callback_context import ReadonlyContext as ReadonlyContext

__all__ = ["ReadonlyContext"]
