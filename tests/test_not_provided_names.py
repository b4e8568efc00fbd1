"""ADK names that trio-adk lacks inside packages it has: ``from ... import`` says so."""

from __future__ import annotations

import importlib

import pytest

from trio_adk._not_provided import NotProvidedError


@pytest.mark.parametrize(("package", "name"), [
    ("trio_adk", "Workflow"),
    ("trio_adk.sessions", "VertexAiSessionService"),
    ("trio_adk.artifacts", "GcsArtifactService"),
    ("trio_adk.memory", "VertexAiRagMemoryService"),
    ("trio_adk.code_executors", "VertexAiCodeExecutor"),
])
def test_a_missing_adk_name_says_trio_adk_does_not_provide_it(package: str,
                                                              name: str) -> None:
    with pytest.raises(ImportError) as caught:
        exec(f"from {package} import {name}", {})
    assert NotProvidedError is type(caught.value)
    adk = "google.adk" + package[len("trio_adk"):]
    assert f"does not provide {adk}.{name} yet" in str(caught.value)


def test_other_unknown_names_are_the_usual_errors() -> None:
    sessions = importlib.import_module("trio_adk.sessions")
    assert not hasattr(sessions, "NoSuchThing")
    with pytest.raises(ImportError, match="cannot import name 'NoSuchThing'"):
        exec("from trio_adk.sessions import NoSuchThing", {})


def test_event_is_exported_at_the_package_root_as_in_adk_2() -> None:
    from trio_adk import Event
    from trio_adk.events import Event as EventsEvent

    assert Event is EventsEvent
