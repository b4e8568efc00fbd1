"""ADK-compatible import path.

Re-exports for ``google.adk.auth.auth_schemes`` (OpenAPI's own scheme classes come
from ``fastapi.openapi.models`` in ADK apps; trio-adk accepts them as they are).
"""

from trio_adk.auth._schemes import AuthScheme as AuthScheme
from trio_adk.auth._schemes import AuthSchemeType as AuthSchemeType
from trio_adk.auth._schemes import CustomAuthScheme as CustomAuthScheme
from trio_adk.auth._schemes import OAuthGrantType as OAuthGrantType
from trio_adk.auth._schemes import OpenIdConnectWithConfig as OpenIdConnectWithConfig

__all__ = [
    "AuthScheme",
    "AuthSchemeType",
    "CustomAuthScheme",
    "OAuthGrantType",
    "OpenIdConnectWithConfig",
]
