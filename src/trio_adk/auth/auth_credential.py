"""ADK-compatible import path.

Re-exports for ``google.adk.auth.auth_credential``.
"""

from trio_adk.auth._credential_parts import AuthCredentialTypes as AuthCredentialTypes
from trio_adk.auth._credential_parts import HttpAuth as HttpAuth
from trio_adk.auth._credential_parts import HttpCredentials as HttpCredentials
from trio_adk.auth._credential_parts import OAuth2Auth as OAuth2Auth
from trio_adk.auth._credential_parts import ServiceAccount as ServiceAccount
from trio_adk.auth._credential_parts import ServiceAccountCredential as ServiceAccountCredential
from trio_adk.auth._types import AuthCredential as AuthCredential

__all__ = [
    "AuthCredential",
    "AuthCredentialTypes",
    "HttpAuth",
    "HttpCredentials",
    "OAuth2Auth",
    "ServiceAccount",
    "ServiceAccountCredential",
]
