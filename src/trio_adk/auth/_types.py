"""AuthCredential and AuthConfig: what a tool needs to authenticate, and what it got."""

from __future__ import annotations

import enum
import hashlib
import json
from typing import Any

import attrs

from trio_adk._utils._model import ModelMixin
from trio_adk.auth._credential_parts import (
    AuthCredentialTypes,
    HttpAuth,
    OAuth2Auth,
    ServiceAccount,
)


def _credential_type(value: Any) -> Any:
    if isinstance(value, str) and not isinstance(value, AuthCredentialTypes):
        try:
            return AuthCredentialTypes(value)
        except ValueError:
            return value
    return value


@attrs.define(kw_only=True)
class AuthCredential(ModelMixin):
    """A credential, raw (as configured or sent by the client) or exchanged (usable).

    Attributes:
        auth_type: The kind of credential, an ``AuthCredentialTypes`` (a known name
            given as a string, such as ``'oauth2'``, becomes one).
        resource_ref: A reference to a credential kept elsewhere.
        api_key: The key, for API-key credentials.
        http: An ``HttpAuth`` (scheme, credentials such as a token), for HTTP credentials.
        oauth2: An ``OAuth2Auth`` (client id/secret, auth URI, tokens), for OAuth2.
        service_account: A ``ServiceAccount``, for Google service accounts.

    ``http``, ``oauth2`` and ``service_account`` given as plain dicts are kept as
    dicts (the earlier trio-adk form); loaded from JSON (``model_validate``) they are
    the typed objects.  The API key stays out of ``repr``, as the typed parts' secrets.
    """

    auth_type: AuthCredentialTypes | str | None = attrs.field(default=None,
                                                              converter=_credential_type)
    resource_ref: str | None = None
    api_key: str | None = attrs.field(default=None, repr=False)
    http: HttpAuth | None = None
    oauth2: OAuth2Auth | None = None
    service_account: ServiceAccount | None = None


def _plain(value: Any) -> Any:
    """A JSON-ready, deterministic rendering of ``value`` for hashing."""
    if attrs.has(type(value)):
        return {a.name: _plain(getattr(value, a.name)) for a in attrs.fields(type(value))}
    dump = getattr(value, "model_dump", None)
    if callable(dump) and not isinstance(value, type):
        try:
            return _plain(dump(mode="json", exclude_none=True))
        except TypeError:
            return _plain(dump())
    if isinstance(value, enum.Enum):
        return _plain(value.value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((_plain(v) for v in value), key=repr)
    if isinstance(value, bytes):
        return value.hex()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _digest(value: Any) -> str:
    text = json.dumps(_plain(value), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _scheme_type(scheme: Any) -> str:
    kind = (
        scheme.get("type")
        if isinstance(scheme, dict)
        else getattr(scheme, "type_", getattr(scheme, "type", None))
    )
    if isinstance(kind, enum.Enum):
        kind = kind.name
    return str(kind) if kind is not None else type(scheme).__name__


def _default_credential_key(config: AuthConfig) -> str:
    """``adk_<scheme type>_<hash>_<credential type>_<hash>``, stable across processes."""
    scheme = config.auth_scheme
    raw = config.raw_auth_credential
    scheme_part = f"{_scheme_type(scheme)}_{_digest(scheme)}" if scheme is not None else ""
    raw_part = ""
    if raw is not None:
        kind = raw.auth_type.value if isinstance(raw.auth_type, enum.Enum) else raw.auth_type
        raw_part = f"{kind or 'credential'}_{_digest(raw)}"
    return f"adk_{scheme_part}_{raw_part}"


@attrs.define(kw_only=True)
class AuthConfig(ModelMixin):
    """How a tool authenticates: the scheme, the raw credential and the exchanged one.

    Attributes:
        auth_scheme: The auth scheme (an OpenAPI security scheme object or dict).
        raw_auth_credential: The credential as configured (e.g. OAuth client id/secret).
        exchanged_auth_credential: The usable credential (e.g. with an access token),
            filled in by the client or a credential exchanger.
        credential_key: The key under which credential services store the credential.
            When not given it is derived from the scheme and the raw credential (a
            SHA-256 of their contents), so equal configurations share a key in every
            process.
    """

    auth_scheme: Any = None
    raw_auth_credential: AuthCredential | None = None
    exchanged_auth_credential: AuthCredential | None = None
    credential_key: str = attrs.field(
        default=attrs.Factory(_default_credential_key, takes_self=True)
    )


@attrs.define(kw_only=True)
class AuthToolArguments(ModelMixin):
    """The arguments of the ``adk_request_credential`` call that asks the client for a
    credential: the id of the function call that needs it, and its ``AuthConfig``."""

    function_call_id: str
    auth_config: AuthConfig
