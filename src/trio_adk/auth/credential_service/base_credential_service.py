"""ADK-compatible import path.

Re-exports for ``google.adk.auth.credential_service.base_credential_service``.
"""

from trio_adk.auth._base import BaseCredentialService as BaseCredentialService

__all__ = ["BaseCredentialService"]
