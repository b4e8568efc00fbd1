"""Behaviour of InMemoryCredentialService and the auth value types."""

# The suite asserts `expected == actual`, which SIM300 calls a Yoda condition.

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from trio_adk.auth import (
    AuthConfig,
    AuthCredential,
    BaseCredentialService,
    InMemoryCredentialService,
)


def _context(app_name: str = "app", user_id: str = "user") -> Any:
    """A stand-in callback context: only ``_invocation_context.app_name/user_id``."""
    return SimpleNamespace(_invocation_context=SimpleNamespace(app_name=app_name, user_id=user_id))


def _config(token: str = "tok", *, key: str | None = "key") -> AuthConfig:
    exchanged = AuthCredential(auth_type="oauth2", oauth2={"access_token": token})
    if key is None:
        return AuthConfig(
            auth_scheme={"type": "oauth2"},
            raw_auth_credential=AuthCredential(auth_type="oauth2", oauth2={"client_id": "c"}),
            exchanged_auth_credential=exchanged,
        )
    return AuthConfig(credential_key=key, exchanged_auth_credential=exchanged)


@pytest.fixture
def service() -> InMemoryCredentialService:
    return InMemoryCredentialService()


def test_is_a_base_credential_service() -> None:
    """The in-memory service implements the base contract."""
    assert issubclass(InMemoryCredentialService, BaseCredentialService)


async def test_load_missing_returns_none(service: InMemoryCredentialService) -> None:
    """Loading before anything was saved gives None."""
    assert await service.load_credential(_config(), _context()) is None


async def test_save_then_load(service: InMemoryCredentialService) -> None:
    """A saved exchanged credential is loaded back under the same key."""
    config = _config("abc")
    await service.save_credential(config, _context())
    assert config.exchanged_auth_credential == await service.load_credential(
        _config("ignored"), _context()
    )


async def test_save_overwrites(service: InMemoryCredentialService) -> None:
    """Saving again under the same key replaces the stored credential."""
    await service.save_credential(_config("first"), _context())
    await service.save_credential(_config("second"), _context())
    expected = AuthCredential(auth_type="oauth2", oauth2={"access_token": "second"})
    assert expected == await service.load_credential(_config(), _context())


async def test_keys_are_separate(service: InMemoryCredentialService) -> None:
    """Credentials under different keys do not replace each other."""
    await service.save_credential(_config("one", key="k1"), _context())
    await service.save_credential(_config("two", key="k2"), _context())
    loaded = await service.load_credential(_config(key="k1"), _context())
    assert loaded is not None
    assert {"access_token": "one"} == loaded.oauth2


async def test_isolated_by_app_and_user(service: InMemoryCredentialService) -> None:
    """A credential saved for one app and user is invisible to other apps and users."""
    await service.save_credential(_config(), _context("app1", "u1"))
    assert await service.load_credential(_config(), _context("app2", "u1")) is None
    assert await service.load_credential(_config(), _context("app1", "u2")) is None
    assert await service.load_credential(_config(), _context("app1", "u1")) is not None


async def test_saving_without_exchanged_credential_stores_none(
    service: InMemoryCredentialService,
) -> None:
    """Saving a config without an exchanged credential leaves None under its key."""
    await service.save_credential(_config(), _context())
    await service.save_credential(AuthConfig(credential_key="key"), _context())
    assert await service.load_credential(_config(), _context()) is None


async def test_storage_is_isolated_from_callers(service: InMemoryCredentialService) -> None:
    """Mutating the saved or loaded credential does not change the stored one."""
    config = _config("orig")
    await service.save_credential(config, _context())
    assert config.exchanged_auth_credential is not None
    assert config.exchanged_auth_credential.oauth2 is not None
    config.exchanged_auth_credential.oauth2["access_token"] = "mutated"
    loaded = await service.load_credential(config, _context())
    assert loaded is not None
    assert loaded.oauth2 is not None
    assert "orig" == loaded.oauth2["access_token"]
    loaded.oauth2["access_token"] = "mutated again"
    again = await service.load_credential(config, _context())
    assert again is not None
    assert {"access_token": "orig"} == again.oauth2


async def test_derived_key_round_trip(service: InMemoryCredentialService) -> None:
    """Configs with equal scheme and raw credential derive the same key, so a credential
    saved with one loads with the other."""
    await service.save_credential(_config("derived", key=None), _context())
    loaded = await service.load_credential(_config("other", key=None), _context())
    assert loaded is not None
    assert {"access_token": "derived"} == loaded.oauth2


def test_credential_key_defaults() -> None:
    """The derived key is stable, starts with adk_, names the scheme type, depends on
    the scheme and raw credential but not the exchanged one, and a given key wins."""
    a = _config("x", key=None)
    b = _config("y", key=None)
    assert a.credential_key == b.credential_key
    assert a.credential_key.startswith("adk_oauth2_")
    other_raw = AuthConfig(
        auth_scheme={"type": "oauth2"},
        raw_auth_credential=AuthCredential(auth_type="oauth2", oauth2={"client_id": "d"}),
    )
    assert a.credential_key != other_raw.credential_key
    other_scheme = AuthConfig(
        auth_scheme={"type": "apiKey", "name": "k"},
        raw_auth_credential=a.raw_auth_credential,
    )
    assert a.credential_key != other_scheme.credential_key
    assert "given" == AuthConfig(credential_key="given").credential_key
    assert "adk__" == AuthConfig().credential_key


def test_credential_key_is_stable_across_processes() -> None:
    """The derived key is a SHA-256 content hash (independent of dict key order and of
    Python's per-process hash()), so this pinned value holds in every process."""
    config = AuthConfig(
        auth_scheme={"type": "http", "scheme": "bearer"},
        raw_auth_credential=AuthCredential(auth_type="http", http={"scheme": "bearer"}),
    )
    reordered = AuthConfig(
        auth_scheme={"scheme": "bearer", "type": "http"},
        raw_auth_credential=AuthCredential(http={"scheme": "bearer"}, auth_type="http"),
    )
    expected = "adk_http_178204f758fb78d5_http_1c9ffece9b59410b"
    assert expected == config.credential_key
    assert expected == reordered.credential_key
