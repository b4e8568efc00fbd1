"""ADK-compatible import path.

Re-exports for ``google.adk.sessions.session``.
"""

from trio_adk.sessions._session import Session as Session

__all__ = ["Session"]
