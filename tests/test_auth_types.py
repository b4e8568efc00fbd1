"""The auth value types at ADK's paths: typed credential parts, schemes, tool arguments."""

from __future__ import annotations

import pytest

from trio_adk.auth import AuthConfig, AuthCredential, AuthCredentialTypes, OAuth2Auth
from trio_adk.auth.auth_credential import (
    HttpAuth,
    HttpCredentials,
    ServiceAccount,
    ServiceAccountCredential,
)
from trio_adk.auth.auth_schemes import (
    AuthSchemeType,
    OAuthGrantType,
    OpenIdConnectWithConfig,
)
from trio_adk.auth.auth_tool import AuthToolArguments


def oauth_config() -> AuthConfig:
    return AuthConfig(
        auth_scheme=OpenIdConnectWithConfig(authorization_endpoint="https://a/auth",
                                            token_endpoint="https://a/token",
                                            scopes=["openid"]),
        raw_auth_credential=AuthCredential(
            auth_type=AuthCredentialTypes.OPEN_ID_CONNECT,
            oauth2=OAuth2Auth(client_id="cid", client_secret="shh-secret"),
        ),
    )


def test_adk_style_credentials_are_typed_and_keep_secrets_out_of_repr() -> None:
    credential = AuthCredential(
        auth_type=AuthCredentialTypes.HTTP,
        http=HttpAuth(scheme="bearer", credentials=HttpCredentials(token="tok-secret")),
    )
    assert credential.http is not None and "tok-secret" == credential.http.credentials.token
    oauth = OAuth2Auth(client_id="c", client_secret="s3cret", access_token="at-secret")
    key = AuthCredential(auth_type="apiKey", api_key="key-secret")
    text = repr(credential) + repr(oauth) + repr(key)
    for secret in ("tok-secret", "s3cret", "at-secret", "key-secret"):
        assert secret not in text
    assert "client_secret_basic" == oauth.token_endpoint_auth_method


def test_a_known_auth_type_string_becomes_the_enum() -> None:
    assert AuthCredentialTypes.OAUTH2 is AuthCredential(auth_type="oauth2").auth_type
    assert "oauth2" == AuthCredential(auth_type="oauth2").auth_type
    assert "custom" == AuthCredential(auth_type="custom").auth_type


def test_json_round_trip_gives_typed_parts() -> None:
    config = oauth_config()
    data = config.model_dump(mode="json", by_alias=True, exclude_none=True)
    assert "shh-secret" == data["rawAuthCredential"]["oauth2"]["clientSecret"]
    loaded = AuthConfig.model_validate(data)
    raw = loaded.raw_auth_credential
    assert raw is not None and isinstance(raw.oauth2, OAuth2Auth)
    assert "cid" == raw.oauth2.client_id
    assert AuthCredentialTypes.OPEN_ID_CONNECT == raw.auth_type
    assert loaded.credential_key == config.credential_key


def test_the_derived_key_names_scheme_and_credential_types() -> None:
    key = oauth_config().credential_key
    assert key.startswith("adk_openIdConnect_") and "_openIdConnect_" in key[5:]
    assert key == oauth_config().credential_key
    other = oauth_config()
    other.raw_auth_credential.oauth2.client_id = "other"  # type: ignore[union-attr]
    assert key != AuthConfig(auth_scheme=other.auth_scheme,
                             raw_auth_credential=other.raw_auth_credential).credential_key


def test_service_account_needs_a_key_or_default_credentials() -> None:
    with pytest.raises(ValueError, match="service_account_credential"):
        ServiceAccount()
    with pytest.raises(ValueError, match="audience"):
        ServiceAccount(use_default_credential=True, use_id_token=True)
    account = ServiceAccount(service_account_credential={
        "type": "service_account", "project_id": "p", "private_key_id": "k",
        "private_key": "pk-secret", "client_email": "a@b", "client_id": "c",
        "auth_uri": "u", "token_uri": "t", "auth_provider_x509_cert_url": "x",
        "client_x509_cert_url": "y", "universe_domain": "googleapis.com"})
    assert isinstance(account.service_account_credential, ServiceAccountCredential)
    assert "service_account" == account.service_account_credential.type_
    assert "pk-secret" not in repr(account)


def test_grant_types_and_scheme_types() -> None:
    assert OAuthGrantType.AUTHORIZATION_CODE is OAuthGrantType.from_flow(
        {"authorizationCode": {"authorizationUrl": "u", "tokenUrl": "t"}})
    assert OAuthGrantType.from_flow({}) is None
    assert "openIdConnect" == AuthSchemeType.openIdConnect
    assert AuthSchemeType.openIdConnect is OpenIdConnectWithConfig(
        authorization_endpoint="a", token_endpoint="t").type_


def test_auth_tool_arguments() -> None:
    arguments = AuthToolArguments(function_call_id="call-1", auth_config=oauth_config())
    data = arguments.model_dump(mode="json", by_alias=True, exclude_none=True)
    assert "call-1" == data["functionCallId"]
    again = AuthToolArguments.model_validate(data)
    assert "call-1" == again.function_call_id
    assert isinstance(again.auth_config, AuthConfig)
