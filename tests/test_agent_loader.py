"""Agent discovery: AgentLoader lists and loads the apps of a folder as ADK's CLI and server do.

Every test writes real app folders under ``tmp_path`` and imports them for real; the
``isolated`` fixture puts ``sys.path``, ``sys.modules`` and ``os.environ`` back afterwards.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio

import trio_adk.apps._dotenv as dotenv_module
from trio_adk.agents import BaseAgent
from trio_adk.apps import AgentLoader, AgentLoadError, AgentNotFoundError

AGENT = """\
from trio_adk import Agent

root_agent = Agent(name={name!r}, model="gemini-2.5-flash", instruction={instruction!r})
"""


@pytest.fixture(autouse=True)
def isolated(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    path, modules, environ = list(sys.path), set(sys.modules), dict(os.environ)
    monkeypatch.setattr(dotenv_module, "_explicit_keys", None)  # a fresh "first load"
    yield
    sys.path[:] = path
    for name in set(sys.modules) - modules:
        del sys.modules[name]
    os.environ.clear()
    os.environ.update(environ)


def write(path: Path, text: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def agent_py(name: str, instruction: str = "Be brief.") -> str:
    return AGENT.format(name=name, instruction=instruction)


def test_list_agents_finds_app_folders_only(tmp_path: Path) -> None:
    write(tmp_path / "alpha" / "agent.py", agent_py("alpha"))
    write(tmp_path / "beta" / "__init__.py", agent_py("beta"))
    write(tmp_path / "gamma" / "root_agent.yaml", "name: gamma\n")
    write(tmp_path / ".hidden" / "agent.py", agent_py("hidden"))
    write(tmp_path / "__pycache__" / "__init__.py")
    (tmp_path / "empty").mkdir()
    write(tmp_path / "notes" / "readme.txt", "not an app")
    write(tmp_path / "loose.txt", "not an app")

    assert ["alpha", "beta", "gamma"] == AgentLoader(tmp_path).list_agents()


def test_a_folder_holding_agent_py_is_a_single_app(tmp_path: Path) -> None:
    folder = tmp_path / "solo"
    write(folder / "agent.py", agent_py("solo"))
    write(folder / "__init__.py", "from . import agent\n")
    write(tmp_path / "other" / "agent.py", agent_py("other"))
    loader = AgentLoader(folder)

    assert loader.is_single_agent
    assert ["solo"] == loader.list_agents()
    assert folder == loader.agent_dir("solo")
    assert "solo" == loader.load_agent("solo").name
    with pytest.raises(AgentNotFoundError, match=r"No app named 'other'.*single app, named"):
        loader.load_agent("other")


def test_the_package_is_imported_first_then_its_agent_module(tmp_path: Path) -> None:
    write(tmp_path / "both" / "__init__.py",
          agent_py("from_init") + "from . import agent\n")
    write(tmp_path / "both" / "agent.py", agent_py("from_agent_py"))
    write(tmp_path / "bare" / "agent.py", agent_py("from_bare"))  # no __init__.py
    write(tmp_path / "module_app.py", agent_py("from_module"))
    loader = AgentLoader(tmp_path)

    assert "from_init" == loader.load_agent("both").name
    assert "from_bare" == loader.load_agent("bare").name
    assert "from_module" == loader.load_agent("module_app").name
    assert tmp_path / "both" == loader.agent_dir("both")
    assert tmp_path == loader.agent_dir("module_app")
    assert str(tmp_path) == sys.path[0]


def test_adks_layout_package_importing_agent(tmp_path: Path) -> None:
    """What ``adk create`` writes: ``__init__.py`` imports ``agent``, which holds root_agent."""
    write(tmp_path / "weather" / "__init__.py", "from . import agent\n")
    write(tmp_path / "weather" / "agent.py", agent_py("weather_agent"))

    agent = AgentLoader(tmp_path).load_agent("weather")

    assert isinstance(agent, BaseAgent)
    assert "weather_agent" == agent.name


@pytest.mark.parametrize("name", ["../outside", "outside/..", "a/b", "", ".", "a.b", "x\n",
                                  "sp ace", "ünï"])
def test_bad_names_are_refused_before_any_import(tmp_path: Path, name: str) -> None:
    agents = tmp_path / "agents"
    write(agents / "fine" / "agent.py", agent_py("fine"))
    marker = tmp_path / "imported"
    write(tmp_path / "outside" / "agent.py",
          f"open({str(marker)!r}, 'w').close()\n" + agent_py("outside"))
    write(tmp_path / "outside" / "__init__.py", f"open({str(marker)!r}, 'w').close()\n")
    loader = AgentLoader(agents)

    with pytest.raises(AgentNotFoundError, match="Invalid app name"):
        loader.load_agent(name)
    with pytest.raises(AgentNotFoundError, match="Invalid app name"):
        loader.agent_dir(name)
    assert not marker.exists()
    assert str(agents) not in sys.path


def test_an_unknown_app_names_the_apps_there_are(tmp_path: Path) -> None:
    write(tmp_path / "alpha" / "agent.py", agent_py("alpha"))
    write(tmp_path / "beta" / "agent.py", agent_py("beta"))

    with pytest.raises(AgentNotFoundError) as caught:
        AgentLoader(tmp_path).load_agent("gamma")

    assert (f"No app named 'gamma' in {str(tmp_path)!r} (apps: alpha, beta). Check the name, "
            "or create it with: trio-adk create gamma") == str(caught.value)
    assert isinstance(caught.value, AgentLoadError)
    assert isinstance(caught.value, ValueError)


def test_an_error_in_the_apps_code_names_the_file_and_line(tmp_path: Path) -> None:
    write(tmp_path / "broken" / "__init__.py", "from . import agent\n")
    source = write(tmp_path / "broken" / "agent.py",
                   "from trio_adk import Agent\n\nroot_agent = Agent(name=undefined_name)\n")

    with pytest.raises(AgentLoadError) as caught:
        AgentLoader(tmp_path).load_agent("broken")

    message = str(caught.value)
    assert f"App 'broken' failed to import ({source}, line 3): NameError: " in message
    assert message.endswith("Fix the app's code (or install what it imports) and try again.")
    assert isinstance(caught.value.__cause__, NameError)
    assert "broken" not in sys.modules  # nothing half-imported stays behind


def test_a_syntax_error_names_the_file_and_line(tmp_path: Path) -> None:
    source = write(tmp_path / "typo" / "agent.py", "root_agent = (\n")

    with pytest.raises(AgentLoadError, match=rf"\({source}, line 1\): SyntaxError") as caught:
        AgentLoader(tmp_path).load_agent("typo")
    assert isinstance(caught.value.__cause__, SyntaxError)


def test_a_missing_dependency_of_the_app_is_not_taken_for_a_missing_app(tmp_path: Path) -> None:
    write(tmp_path / "needy" / "agent.py", "import no_such_package_for_trio_adk\n")

    with pytest.raises(AgentLoadError) as caught:
        AgentLoader(tmp_path).load_agent("needy")

    assert not isinstance(caught.value, AgentNotFoundError)
    assert "ModuleNotFoundError: No module named 'no_such_package_for_trio_adk'" in str(
        caught.value)
    assert isinstance(caught.value.__cause__, ModuleNotFoundError)


def test_a_module_without_root_agent(tmp_path: Path) -> None:
    write(tmp_path / "empty_app" / "__init__.py", "x = 1\n")

    with pytest.raises(AgentLoadError) as caught:
        AgentLoader(tmp_path).load_agent("empty_app")

    assert ("App 'empty_app' defines no root_agent: looked in empty_app and empty_app.agent. "
            "Define root_agent = Agent(...) in empty_app/agent.py, and in "
            "empty_app/__init__.py write: from . import agent") == str(caught.value)


def test_a_root_agent_that_is_not_an_agent(tmp_path: Path) -> None:
    write(tmp_path / "wrong" / "agent.py", "root_agent = 'an agent'\n")

    with pytest.raises(AgentLoadError) as caught:
        AgentLoader(tmp_path).load_agent("wrong")

    assert ("App 'wrong': wrong.agent.root_agent is a builtins.str, not a trio-adk agent. "
            "Set root_agent to an agent, e.g. root_agent = Agent(...).") == str(caught.value)


def test_another_kind_of_app_attribute_is_ignored(tmp_path: Path) -> None:
    """As in ADK, only an App under ``app`` counts (a web framework's ``app`` does not)."""
    write(tmp_path / "webby" / "agent.py", agent_py("webby") + "app = object()\n")

    assert "webby" == AgentLoader(tmp_path).load_agent("webby").name


def test_an_agent_config_yaml_app_is_listed_but_not_loaded(tmp_path: Path) -> None:
    write(tmp_path / "configured" / "root_agent.yaml", "name: configured\n")
    loader = AgentLoader(tmp_path)

    assert ["configured"] == loader.list_agents()
    with pytest.raises(AgentLoadError, match="trio-adk does not load Agent Config YAML yet"):
        loader.load_agent("configured")


def test_an_app_named_like_an_imported_module_is_refused(tmp_path: Path) -> None:
    write(tmp_path / "json" / "agent.py", agent_py("json_app"))

    with pytest.raises(AgentLoadError, match=r"has the name of another Python module, 'json', "
                                             r"already imported from .*Rename the app's folder"):
        AgentLoader(tmp_path).load_agent("json")


def test_a_missing_agents_dir_says_so(tmp_path: Path) -> None:
    with pytest.raises(AgentLoadError, match=r"Cannot list the apps in .*nowhere"):
        AgentLoader(tmp_path / "nowhere").list_agents()


def test_loaded_agents_are_cached_until_removed(tmp_path: Path) -> None:
    source = write(tmp_path / "cached" / "agent.py", agent_py("cached", "First."))
    loader = AgentLoader(tmp_path)

    first = loader.load_agent("cached")
    source.write_text(agent_py("cached", "The second, longer instruction."))
    assert first is loader.load_agent("cached")

    loader.remove_agent_from_cache("cached")
    assert "cached" not in sys.modules
    assert "cached.agent" not in sys.modules
    second = loader.load_agent("cached")
    assert second is not first
    assert "The second, longer instruction." == second.instruction  # type: ignore[union-attr]


def test_removing_leaves_modules_from_elsewhere_alone(tmp_path: Path) -> None:
    loader = AgentLoader(tmp_path)
    loader.remove_agent_from_cache("json")
    loader.remove_agent_from_cache("never_loaded")
    loader.remove_agent_from_cache("../x")
    assert "json" in sys.modules


async def test_loading_from_a_worker_thread(tmp_path: Path) -> None:
    """The server's way: load in a worker thread, so importing never blocks the trio loop."""
    write(tmp_path / "threaded" / "agent.py", agent_py("threaded"))
    loader = AgentLoader(tmp_path)

    agent = await trio.to_thread.run_sync(loader.load_agent, "threaded")

    assert agent is loader.load_agent("threaded")


# ---- .env ----------------------------------------------------------------------------------


def test_dotenv_is_found_walking_up_and_set_variables_win(tmp_path: Path) -> None:
    write(tmp_path / ".env", "TRIO_ADK_T_FROM_FILE=file\nTRIO_ADK_T_EXPLICIT=file\n")
    agents = tmp_path / "project" / "agents"
    write(agents / "envy" / "agent.py",
          "import os\n" + agent_py("envy")
          + "seen = os.environ.get('TRIO_ADK_T_FROM_FILE')\n")
    os.environ["TRIO_ADK_T_EXPLICIT"] = "explicit"

    AgentLoader(agents).load_agent("envy")

    assert "file" == sys.modules["envy.agent"].seen  # loaded before the app's code ran
    assert "file" == os.environ["TRIO_ADK_T_FROM_FILE"]
    assert "explicit" == os.environ["TRIO_ADK_T_EXPLICIT"]


def test_a_later_apps_dotenv_replaces_values_from_an_earlier_one(tmp_path: Path) -> None:
    write(tmp_path / "one" / "agent.py", agent_py("one"))
    write(tmp_path / "one" / ".env", "TRIO_ADK_T_SHARED=one\n")
    write(tmp_path / "two" / "agent.py", agent_py("two"))
    write(tmp_path / "two" / ".env", "TRIO_ADK_T_SHARED=two\n")
    loader = AgentLoader(tmp_path)

    loader.load_agent("one")
    assert "one" == os.environ["TRIO_ADK_T_SHARED"]
    loader.load_agent("two")
    assert "two" == os.environ["TRIO_ADK_T_SHARED"]


@pytest.mark.parametrize("value", ["1", "true", " YES ", "on"])
def test_adk_disable_load_dotenv(tmp_path: Path, value: str) -> None:
    write(tmp_path / "quiet" / "agent.py", agent_py("quiet"))
    write(tmp_path / "quiet" / ".env", "TRIO_ADK_T_QUIET=loaded\n")
    os.environ["ADK_DISABLE_LOAD_DOTENV"] = value

    AgentLoader(tmp_path).load_agent("quiet")

    assert "TRIO_ADK_T_QUIET" not in os.environ


def test_adks_public_paths() -> None:
    from trio_adk.apps._dotenv import load_dotenv_for_agent
    from trio_adk.cli.utils import agent_loader, envs

    assert AgentLoader is agent_loader.AgentLoader
    assert AgentLoadError is agent_loader.AgentLoadError
    assert load_dotenv_for_agent is envs.load_dotenv_for_agent
