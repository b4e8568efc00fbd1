"""ADK-compatible import path.

Re-exports for ``google.adk.auth.credential_service``.
"""

