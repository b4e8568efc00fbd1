"""Auth: credentials for tools, and the services that keep them between runs."""

from trio_adk.auth._base import BaseCredentialService as BaseCredentialService
from trio_adk.auth._credential_parts import AuthCredentialTypes as AuthCredentialTypes
from trio_adk.auth._credential_parts import HttpAuth as HttpAuth
from trio_adk.auth._credential_parts import HttpCredentials as HttpCredentials
from trio_adk.auth._credential_parts import OAuth2Auth as OAuth2Auth
from trio_adk.auth._credential_parts import ServiceAccount as ServiceAccount
from trio_adk.auth._credential_parts import ServiceAccountCredential as ServiceAccountCredential
from trio_adk.auth._in_memory import InMemoryCredentialService as InMemoryCredentialService
from trio_adk.auth._schemes import AuthScheme as AuthScheme
from trio_adk.auth._schemes import AuthSchemeType as AuthSchemeType
from trio_adk.auth._schemes import OpenIdConnectWithConfig as OpenIdConnectWithConfig
from trio_adk.auth._types import AuthConfig as AuthConfig
from trio_adk.auth._types import AuthCredential as AuthCredential

__all__ = [
    "AuthConfig",
    "AuthCredential",
    "AuthCredentialTypes",
    "AuthScheme",
    "AuthSchemeType",
    "BaseCredentialService",
    "HttpAuth",
    "HttpCredentials",
    "InMemoryCredentialService",
    "OAuth2Auth",
    "OpenIdConnectWithConfig",
    "ServiceAccount",
    "ServiceAccountCredential",
]
