"""The typed parts of an AuthCredential: HTTP, OAuth2 and service-account data.

attrs value types with pydantic spellings (``model_dump``, ``model_validate``...).
Secrets (passwords, tokens, keys, codes) are left out of ``repr``.
"""

from __future__ import annotations

import enum
from typing import Any, Literal

import attrs

from trio_adk._utils._model import ModelMixin


class AuthCredentialTypes(enum.StrEnum):
    """The kind of an ``AuthCredential`` (the values are OpenAPI's scheme names)."""

    API_KEY = "apiKey"
    HTTP = "http"
    OAUTH2 = "oauth2"
    OPEN_ID_CONNECT = "openIdConnect"
    SERVICE_ACCOUNT = "serviceAccount"


@attrs.define(kw_only=True)
class HttpCredentials(ModelMixin):
    """A user name and password (basic auth) or a token (bearer auth)."""

    username: str | None = None
    password: str | None = attrs.field(default=None, repr=False)
    token: str | None = attrs.field(default=None, repr=False)


def _http_credentials(value: Any) -> Any:
    return HttpCredentials.model_validate(value) if isinstance(value, dict) else value


@attrs.define(kw_only=True)
class HttpAuth(ModelMixin):
    """HTTP authentication: the scheme (``"basic"``, ``"bearer"``...), its credentials
    and any extra headers to send."""

    scheme: str
    credentials: HttpCredentials = attrs.field(factory=HttpCredentials,
                                               converter=_http_credentials)
    additional_headers: dict[str, str] | None = attrs.field(default=None, repr=False)


@attrs.define(kw_only=True)
class OAuth2Auth(ModelMixin):
    """OAuth2 data: the client's registration, the authorization exchange and the
    tokens it yields."""

    client_id: str | None = None
    client_secret: str | None = attrs.field(default=None, repr=False)
    auth_uri: str | None = None
    nonce: str | None = None
    state: str | None = None
    redirect_uri: str | None = None
    auth_response_uri: str | None = attrs.field(default=None, repr=False)
    auth_code: str | None = attrs.field(default=None, repr=False)
    access_token: str | None = attrs.field(default=None, repr=False)
    refresh_token: str | None = attrs.field(default=None, repr=False)
    id_token: str | None = attrs.field(default=None, repr=False)
    expires_at: int | None = None
    expires_in: int | None = None
    audience: str | None = None
    prompt: str | None = None
    code_verifier: str | None = attrs.field(default=None, repr=False)
    code_challenge_method: str | None = None
    token_endpoint_auth_method: Literal[
        "client_secret_basic", "client_secret_post", "client_secret_jwt", "private_key_jwt"
    ] | None = "client_secret_basic"


@attrs.define(kw_only=True)
class ServiceAccountCredential(ModelMixin):
    """A Google service account's JSON key, field by field (``type_`` is its ``type``)."""

    type_: str = ""
    project_id: str
    private_key_id: str = attrs.field(repr=False)
    private_key: str = attrs.field(repr=False)
    client_email: str
    client_id: str
    auth_uri: str
    token_uri: str
    auth_provider_x509_cert_url: str
    client_x509_cert_url: str
    universe_domain: str


def _service_account_credential(value: Any) -> Any:
    if isinstance(value, dict):
        data = dict(value)
        if "type" in data and "type_" not in data:
            data["type_"] = data.pop("type")
        return ServiceAccountCredential.model_validate(data)
    return value


@attrs.define(kw_only=True)
class ServiceAccount(ModelMixin):
    """Service-account authentication: a JSON key, or the application default
    credentials (``use_default_credential=True``), with the scopes to request; an ID
    token for ``audience`` instead of an access token with ``use_id_token=True``.

    Raises ``ValueError`` without a key and without default credentials, or with
    ``use_id_token`` and no ``audience``.
    """

    service_account_credential: ServiceAccountCredential | None = attrs.field(
        default=None, converter=_service_account_credential)
    scopes: list[str] | None = None
    use_default_credential: bool | None = False
    use_id_token: bool | None = False
    audience: str | None = None

    def __attrs_post_init__(self) -> None:
        if not self.use_default_credential and self.service_account_credential is None:
            raise ValueError("ServiceAccount needs service_account_credential, or "
                             "use_default_credential=True.")
        if self.use_id_token and not self.audience:
            raise ValueError("ServiceAccount(use_id_token=True) needs audience: the URL "
                             "of the service the ID token is for.")
