"""Behaviour of InMemoryArtifactService."""

# The suite asserts `expected == actual`, which SIM300 calls a Yoda condition.

from __future__ import annotations

import pytest
from google.genai import types

from trio_adk.artifacts import BaseArtifactService, InMemoryArtifactService

APP = "app"
USER = "user"
SESSION = "s1"


@pytest.fixture
def service() -> InMemoryArtifactService:
    return InMemoryArtifactService()


def _text(text: str) -> types.Part:
    return types.Part(text=text)


async def _save(
    service: InMemoryArtifactService,
    filename: str,
    part: types.Part,
    *,
    user_id: str = USER,
    session_id: str = SESSION,
) -> int:
    return await service.save_artifact(
        app_name=APP, user_id=user_id, session_id=session_id, filename=filename, artifact=part
    )


async def _load(
    service: InMemoryArtifactService,
    filename: str,
    version: int | None = None,
    *,
    user_id: str = USER,
    session_id: str = SESSION,
) -> types.Part | None:
    return await service.load_artifact(
        app_name=APP, user_id=user_id, session_id=session_id, filename=filename, version=version
    )


def test_is_a_base_artifact_service() -> None:
    """The in-memory service implements the base contract."""
    assert issubclass(InMemoryArtifactService, BaseArtifactService)


async def test_load_missing_returns_none(service: InMemoryArtifactService) -> None:
    """Loading a filename that was never saved gives None."""
    assert await _load(service, "nothing.txt") is None


async def test_versions_start_at_zero_and_load_latest(service: InMemoryArtifactService) -> None:
    """Each save returns the next version from 0; load without version gives the latest."""
    assert 0 == await _save(service, "f.txt", _text("v0"))
    assert 1 == await _save(service, "f.txt", _text("v1"))
    assert 2 == await _save(service, "f.txt", _text("v2"))
    assert _text("v2") == await _load(service, "f.txt")
    assert _text("v0") == await _load(service, "f.txt", 0)
    assert _text("v1") == await _load(service, "f.txt", 1)


async def test_out_of_range_version_returns_none(service: InMemoryArtifactService) -> None:
    """A version that does not exist gives None; negative versions index from the end."""
    await _save(service, "f.txt", _text("v0"))
    await _save(service, "f.txt", _text("v1"))
    assert await _load(service, "f.txt", 2) is None
    assert await _load(service, "f.txt", -3) is None
    assert _text("v1") == await _load(service, "f.txt", -1)


async def test_bytes_round_trip(service: InMemoryArtifactService) -> None:
    """Binary parts are returned with the same bytes and mime type."""
    part = types.Part.from_bytes(data=b"\x89PNG\x00\xff", mime_type="image/png")
    await _save(service, "img.png", part)
    assert part == await _load(service, "img.png")


async def test_delete_removes_all_versions(service: InMemoryArtifactService) -> None:
    """Delete removes every version; deleting an unknown filename does nothing."""
    await _save(service, "f.txt", _text("v0"))
    await _save(service, "f.txt", _text("v1"))
    await service.delete_artifact(app_name=APP, user_id=USER, session_id=SESSION, filename="f.txt")
    assert await _load(service, "f.txt") is None
    assert [] == await service.list_versions(
        app_name=APP, user_id=USER, session_id=SESSION, filename="f.txt"
    )
    await service.delete_artifact(app_name=APP, user_id=USER, session_id=SESSION, filename="no")
    assert 0 == await _save(service, "f.txt", _text("again"))


async def test_list_versions(service: InMemoryArtifactService) -> None:
    """list_versions gives 0..n-1 for n saves, and [] for an unknown filename."""
    for i in range(4):
        await _save(service, "f.txt", _text(str(i)))
    assert [0, 1, 2, 3] == await service.list_versions(
        app_name=APP, user_id=USER, session_id=SESSION, filename="f.txt"
    )
    assert [] == await service.list_versions(
        app_name=APP, user_id=USER, session_id=SESSION, filename="other"
    )


async def test_list_keys_sorted_with_user_files(service: InMemoryArtifactService) -> None:
    """list_artifact_keys gives the session's files and the user's user: files, sorted,
    without other sessions' or users' files."""
    await _save(service, "b.txt", _text("b"))
    await _save(service, "a.txt", _text("a"))
    await _save(service, "a.txt", _text("a2"))
    await _save(service, "user:profile", _text("p"))
    await _save(service, "other.txt", _text("o"), session_id="s2")
    await _save(service, "user:theirs", _text("t"), user_id="someone")

    keys = await service.list_artifact_keys(app_name=APP, user_id=USER, session_id=SESSION)
    assert ["a.txt", "b.txt", "user:profile"] == keys
    assert ["other.txt", "user:profile"] == await service.list_artifact_keys(
        app_name=APP, user_id=USER, session_id="s2"
    )
    assert [] == await service.list_artifact_keys(app_name="x", user_id=USER, session_id=SESSION)


async def test_user_namespace_is_shared_across_sessions(
    service: InMemoryArtifactService,
) -> None:
    """A user: file saved in one session is visible, versioned and deletable from
    another session of the same user, and invisible to other users."""
    assert 0 == await _save(service, "user:notes", _text("n0"), session_id="s1")
    assert 1 == await _save(service, "user:notes", _text("n1"), session_id="s2")
    assert _text("n1") == await _load(service, "user:notes", session_id="s3")
    assert await _load(service, "user:notes", user_id="other") is None
    await service.delete_artifact(
        app_name=APP, user_id=USER, session_id="s9", filename="user:notes"
    )
    assert await _load(service, "user:notes", session_id="s1") is None


async def test_session_files_are_scoped_by_session(service: InMemoryArtifactService) -> None:
    """A plain filename saved in one session is not visible in another session."""
    await _save(service, "f.txt", _text("mine"))
    assert await _load(service, "f.txt", session_id="s2") is None
    assert await _load(service, "f.txt", user_id="other") is None


async def test_storage_is_isolated_from_callers(service: InMemoryArtifactService) -> None:
    """Mutating the saved part or a loaded part does not change the stored version."""
    part = _text("original")
    await _save(service, "f.txt", part)
    part.text = "changed after save"
    loaded = await _load(service, "f.txt")
    assert loaded is not None
    assert "original" == loaded.text
    loaded.text = "changed after load"
    assert _text("original") == await _load(service, "f.txt")
