"""Services named by URI: the registry's built-in schemes, custom ones, errors, and a
Runner that builds its services from URIs and closes them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from helpers import APP, USER, run_text
from trio_adk import Agent, Runner
from trio_adk._service_registry import default_local_storage, redact_uri
from trio_adk.artifacts import FileArtifactService, InMemoryArtifactService, S3ArtifactService
from trio_adk.cli.service_registry import ServiceRegistry, get_service_registry
from trio_adk.memory import InMemoryMemoryService
from trio_adk.sessions import InMemorySessionService
from trio_adk.testing import ScriptedModel


def test_memory_uris_give_in_memory_services() -> None:
    registry = get_service_registry()
    assert isinstance(registry.create_session_service("memory://"), InMemorySessionService)
    assert isinstance(registry.create_artifact_service("memory://"), InMemoryArtifactService)
    assert isinstance(registry.create_memory_service("memory://"), InMemoryMemoryService)
    # ADK reads sqlite:// without a path as in memory.
    assert isinstance(registry.create_session_service("sqlite://"), InMemorySessionService)


def test_file_and_s3_uris(tmp_path: Path) -> None:
    registry = get_service_registry()
    files = registry.create_artifact_service(tmp_path.as_uri())
    assert isinstance(files, FileArtifactService)
    s3 = registry.create_artifact_service(
        "s3://my-bucket/agents/prod", endpoint_url="http://127.0.0.1:9",
        access_key_id="AKID", secret_access_key="secret")
    assert isinstance(s3, S3ArtifactService)
    assert (s3.bucket, s3.prefix) == ("my-bucket", "agents/prod/")


@pytest.mark.parametrize(
    ("uri", "match"),
    [
        ("file://otherhost/srv", "names the host 'otherhost'"),
        ("file://", "has no path"),
        ("s3:///prefix", "has no bucket"),
        ("gs://bucket", "No artifact service for the URI scheme gs://"),
    ],
)
def test_bad_artifact_uris_are_refused(uri: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        get_service_registry().create_artifact_service(uri)


def test_an_unknown_scheme_lists_the_known_ones_and_hides_passwords() -> None:
    with pytest.raises(ValueError, match=r"Known schemes: .*memory://.*sqlite://") as info:
        get_service_registry().create_session_service("mysql://me:hunter2@db/x")
    assert "hunter2" not in str(info.value)
    assert "me:***@db" in str(info.value)


def test_redact_uri_leaves_uris_without_password_alone() -> None:
    assert redact_uri("postgresql://me@db/x") == "postgresql://me@db/x"
    assert redact_uri("postgresql://me:p%40ss@db:5/x?a=1") == "postgresql://me:***@db:5/x?a=1"


def test_custom_schemes_register_and_are_checked() -> None:
    registry = ServiceRegistry()
    seen: list[tuple[str, dict[str, Any]]] = []

    def factory(uri: str, **kwargs: Any) -> InMemorySessionService:
        seen.append((uri, kwargs))
        return InMemorySessionService()

    registry.register_session_service("mine", factory)
    assert isinstance(registry.create_session_service("mine://x", flag=1),
                      InMemorySessionService)
    assert seen == [("mine://x", {"flag": 1})]
    registry.register_memory_service("wrong", lambda uri, **_: object())
    with pytest.raises(TypeError, match="returned object, not a BaseMemoryService"):
        registry.create_memory_service("wrong://")
    with pytest.raises(ValueError, match="no '://'"):
        registry.register_artifact_service("x://", factory)
    with pytest.raises(TypeError, match="must be a str"):
        registry.create_session_service(5)  # type: ignore[arg-type]


def test_default_local_storage_is_adks_layout(tmp_path: Path) -> None:
    sessions, artifacts = default_local_storage(tmp_path / "agent")
    assert sessions == f"sqlite:///{tmp_path / 'agent' / '.adk' / 'session.db'}"
    assert artifacts == (tmp_path / "agent" / ".adk" / "artifacts").as_uri()


class _Closing(InMemorySessionService):
    closed = 0

    async def close(self) -> None:
        type(self).closed += 1


async def test_a_runner_builds_services_from_uris_and_closes_them(tmp_path: Path) -> None:
    get_service_registry().register_session_service("closing", lambda uri, **_: _Closing())
    model = ScriptedModel(replies=["hi"])
    runner = Runner(app_name=APP, agent=Agent(name="a", model=model),
                    session_service="closing://", artifact_service=tmp_path.as_uri(),
                    memory_service="memory://", auto_create_session=True)
    assert isinstance(runner.session_service, _Closing)
    assert isinstance(runner.artifact_service, FileArtifactService)
    events = await run_text(runner, "hello")
    assert events[-1].content is not None
    await runner.close()
    assert _Closing.closed == 1
    shared = InMemorySessionService()
    other = Runner(app_name=APP, agent=Agent(name="b", model=ScriptedModel(replies=[])),
                   session_service=shared)
    await other.close()  # a service the caller passed in is the caller's to close
    assert await shared.list_sessions(app_name=APP, user_id=USER) is not None


async def test_sqlite_uris_pick_adks_two_layouts(tmp_path: Path) -> None:
    """``sqlite:///`` is ADK's SQLite service (its own layout); ``sqlite+aiosqlite:///``
    is ADK's DatabaseSessionService (the SQLAlchemy v1 layout), for new files too."""
    import sqlite3

    from trio_adk.sessions import SqliteSessionService

    registry = get_service_registry()
    for scheme, has_metadata in (("sqlite", False), ("sqlite+aiosqlite", True)):
        path = tmp_path / f"{scheme}.db"
        service = registry.create_session_service(f"{scheme}:///{path}")
        assert isinstance(service, SqliteSessionService)
        await service.create_session(app_name=APP, user_id=USER)
        await service.close()
        with sqlite3.connect(path) as conn:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        assert ("adk_internal_metadata" in tables) is has_metadata
