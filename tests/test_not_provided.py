"""Importing an ADK module trio-adk lacks fails with a message saying so; other missing
names fail as usual, and real modules are never hidden."""

from __future__ import annotations

import importlib
import importlib.machinery
import sys
from pathlib import Path

import pytest

import trio_adk
from trio_adk._not_provided import ADK_MODULES_NOT_PROVIDED, NotProvidedError, install


@pytest.mark.parametrize("name", ["trio_adk.models.apigee_llm", "trio_adk.tools.openapi_tool",
                                  "trio_adk.a2a", "trio_adk.cli.fast_api",
                                  "trio_adk.sessions.vertex_ai_session_service"])
def test_an_adk_module_we_lack_says_so(name: str) -> None:
    with pytest.raises(ImportError) as caught:
        importlib.import_module(name)
    assert isinstance(caught.value, NotProvidedError)
    assert isinstance(caught.value, ModuleNotFoundError)  # `except ModuleNotFoundError` works
    adk = name.replace("trio_adk.", "google.adk.", 1)
    assert f"{name}: trio-adk does not provide {adk} yet (see README: what ports)." == str(
        caught.value)
    assert name == caught.value.name


def test_from_imports_and_deeper_modules_name_the_missing_package() -> None:
    with pytest.raises(NotProvidedError,
                       match=r"^trio_adk\.tools\.openapi_tool: .*openapi_tool yet"):
        exec("from trio_adk.tools.openapi_tool import OpenAPIToolset", {})
    with pytest.raises(NotProvidedError, match=r"^trio_adk\.a2a: "):
        importlib.import_module("trio_adk.a2a.utils.agent_to_a2a")


def test_other_missing_names_fail_as_usual() -> None:
    with pytest.raises(ModuleNotFoundError) as caught:
        importlib.import_module("trio_adk.tools.no_such_tool")
    assert not isinstance(caught.value, NotProvidedError)
    assert "No module named 'trio_adk.tools.no_such_tool'" == str(caught.value)


def test_real_modules_import_normally() -> None:
    for name in ("trio_adk.cli", "trio_adk.planners.plan_re_act_planner",
                 "trio_adk.tools.function_tool", "trio_adk.models.google_llm"):
        assert importlib.import_module(name).__name__ == name


def test_a_module_added_later_is_never_hidden(tmp_path: Path) -> None:
    """The finder runs last: once a listed module exists, it imports."""
    assert "a2a" in ADK_MODULES_NOT_PROVIDED
    package = tmp_path / "a2a"
    package.mkdir()
    (package / "__init__.py").write_text('"""Stand-in."""\nVALUE = 42\n')
    trio_adk.__path__.append(str(tmp_path))
    try:
        module = importlib.import_module("trio_adk.a2a")
        assert 42 == module.VALUE
    finally:
        trio_adk.__path__.remove(str(tmp_path))
        sys.modules.pop("trio_adk.a2a", None)


def test_installed_once_and_last() -> None:
    install()
    install()
    finders = [f for f in sys.meta_path if type(f).__name__ == "_NotProvidedFinder"]
    assert 1 == len(finders)
    assert sys.meta_path.index(finders[0]) > sys.meta_path.index(
        importlib.machinery.PathFinder)
