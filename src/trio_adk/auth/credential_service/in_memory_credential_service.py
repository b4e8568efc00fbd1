"""ADK-compatible import path.

Re-exports for ``google.adk.auth.credential_service.in_memory_credential_service``.
"""

from trio_adk.auth._in_memory import InMemoryCredentialService as InMemoryCredentialService

__all__ = ["InMemoryCredentialService"]
