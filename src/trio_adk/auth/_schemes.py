"""Auth scheme types: OpenAPI's scheme kinds, OAuth2 grant types, and OpenID Connect
with its endpoints spelled out."""

from __future__ import annotations

import enum
from typing import Any, TypeAlias

import attrs

from trio_adk._utils._model import ModelMixin


class AuthSchemeType(enum.StrEnum):
    """OpenAPI 3 security scheme kinds."""

    apiKey = "apiKey"
    http = "http"
    oauth2 = "oauth2"
    openIdConnect = "openIdConnect"


class OAuthGrantType(enum.StrEnum):
    """An OAuth2 flow (grant type)."""

    CLIENT_CREDENTIALS = "client_credentials"
    AUTHORIZATION_CODE = "authorization_code"
    IMPLICIT = "implicit"
    PASSWORD = "password"

    @staticmethod
    def from_flow(flow: Any) -> OAuthGrantType | None:
        """The grant type of an OpenAPI ``OAuthFlows`` object (or dict): the first flow
        set among client credentials, authorization code, implicit and password."""
        def has(name: str) -> bool:
            if isinstance(flow, dict):
                return bool(flow.get(name))
            return bool(getattr(flow, name, None))

        for name, grant in (("clientCredentials", OAuthGrantType.CLIENT_CREDENTIALS),
                            ("authorizationCode", OAuthGrantType.AUTHORIZATION_CODE),
                            ("implicit", OAuthGrantType.IMPLICIT),
                            ("password", OAuthGrantType.PASSWORD)):
            if has(name):
                return grant
        return None


@attrs.define(kw_only=True)
class OpenIdConnectWithConfig(ModelMixin):
    """OpenID Connect with its endpoints given directly (no discovery document)."""

    type_: AuthSchemeType = AuthSchemeType.openIdConnect
    description: str | None = None
    authorization_endpoint: str
    token_endpoint: str
    userinfo_endpoint: str | None = None
    revocation_endpoint: str | None = None
    token_endpoint_auth_methods_supported: list[str] | None = None
    grant_types_supported: list[str] | None = None
    scopes: list[str] | None = None


@attrs.define(kw_only=True)
class CustomAuthScheme(ModelMixin):
    """Base for schemes OpenAPI does not describe; subclasses give ``type_`` a default."""

    type_: str


AuthScheme: TypeAlias = Any
"""An auth scheme: an OpenAPI security scheme (e.g. from ``fastapi.openapi.models``, or
its dict), an ``OpenIdConnectWithConfig`` or a ``CustomAuthScheme``."""
