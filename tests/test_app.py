"""App and its configuration types at ADK's paths; Runner(app=...), InMemoryRunner(app=...);
the agent loader, the server's runner pool and ``trio-adk run`` using an app's App."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from google.genai import types

from helpers import USER, serve_in_thread, texts, user_text
from trio_adk import Agent, InMemoryRunner, Runner
from trio_adk.agents import CallbackContext
from trio_adk.agents.context_cache_config import ContextCacheConfig
from trio_adk.apps import (
    AgentLoader,
    AgentLoadError,
    App,
    LlmEventSummarizer,
    ResumabilityConfig,
)
from trio_adk.apps.app import EventsCompactionConfig, validate_app_name
from trio_adk.models import LlmRequest
from trio_adk.plugins import BasePlugin
from trio_adk.sessions import InMemorySessionService
from trio_adk.testing import FakeGeminiServer, ScriptedModel


def bot(reply: str = "hello") -> Agent:
    return Agent(name="bot", model=ScriptedModel(replies=[reply]))


class Tagger(BasePlugin):
    """Records each model request's agent name."""

    def __init__(self, name: str = "tagger") -> None:
        super().__init__(name)
        self.seen: list[str] = []

    async def before_model_callback(self, *, callback_context: CallbackContext,
                                    llm_request: LlmRequest) -> None:
        self.seen.append(callback_context.agent_name)


# -- App and its configuration types --------------------------------------------------------


def test_app_at_adk_paths() -> None:
    import trio_adk.apps as apps
    import trio_adk.apps.app as app_module

    assert app_module.App is apps.App is App
    assert app_module.ResumabilityConfig is apps.ResumabilityConfig
    assert {"App", "ResumabilityConfig"} <= set(apps.__all__)
    assert {"App", "EventsCompactionConfig", "ResumabilityConfig",
            "validate_app_name"} == set(app_module.__all__)


def test_app_defaults_and_repr() -> None:
    agent, plugin = bot(), Tagger()
    app = App(name="my_app", root_agent=agent, plugins=[plugin])

    assert "my_app" == app.name
    assert agent is app.root_agent
    assert [plugin] == app.plugins
    assert app.events_compaction_config is None
    assert app.context_cache_config is None
    assert app.resumability_config is None
    assert "<App 'my_app' root_agent='bot' plugins=['tagger']>" == repr(app)
    assert [] == App(name="other", root_agent=bot()).plugins


@pytest.mark.parametrize("name", ["a", "My-App_2", "x" * 200])
def test_valid_app_names(name: str) -> None:
    validate_app_name(name)
    assert name == App(name=name, root_agent=bot()).name


@pytest.mark.parametrize("name", ["", "2fast", "_private", "my app", "a.b", "a/b", "app\n",
                                  "café", "user"])
def test_invalid_app_names_are_refused_as_in_adk(name: str) -> None:
    with pytest.raises(ValueError, match=r"app name|'user'"):
        validate_app_name(name)
    with pytest.raises(ValueError, match=r"app name|'user'"):
        App(name=name, root_agent=bot())


def test_app_fields_are_checked_when_built_and_when_set() -> None:
    with pytest.raises(TypeError, match="app name must be a str"):
        App(name=3, root_agent=bot())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"App\.root_agent must be a trio-adk agent"):
        App(name="a", root_agent="bot")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="root_agent"):
        App(name="a")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="BasePlugin"):
        App(name="a", root_agent=bot(), plugins=["p"])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="ResumabilityConfig"):
        App(name="a", root_agent=bot(),
            resumability_config={"is_resumable": False})  # type: ignore[arg-type]
    app = App(name="a", root_agent=bot())
    with pytest.raises(ValueError, match="Invalid app name"):
        app.name = "no spaces allowed"
    assert "a" == app.name
    app.plugins = [Tagger()]  # ADK's server sets an App's plugins this way
    assert ["tagger"] == [p.name for p in app.plugins]


def test_resumability_config() -> None:
    assert ResumabilityConfig().is_resumable is False
    assert {"is_resumable": True} == ResumabilityConfig(is_resumable=True).model_dump()
    with pytest.raises(TypeError, match="is_resumable must be True or False"):
        ResumabilityConfig(is_resumable="yes")  # type: ignore[arg-type]
    app = App(name="a", root_agent=bot(),
              resumability_config=ResumabilityConfig(is_resumable=False))
    assert app.resumability_config == ResumabilityConfig()


def test_a_resumable_app_is_accepted() -> None:
    app = App(name="a", root_agent=bot(),
              resumability_config=ResumabilityConfig(is_resumable=True))
    assert app.resumability_config == ResumabilityConfig(is_resumable=True)
    with pytest.raises(TypeError, match="must be a ResumabilityConfig or None"):
        app.resumability_config = {"is_resumable": True}  # type: ignore[assignment]


def test_events_compaction_config_checks_its_trigger_pairs() -> None:
    by_interval = EventsCompactionConfig(compaction_interval=3, overlap_size=1)
    assert (3, 1, None) == (by_interval.compaction_interval, by_interval.overlap_size,
                            by_interval.token_threshold)
    EventsCompactionConfig(token_threshold=1000, event_retention_size=0)
    for kwargs, words in [
        ({}, "needs a trigger"),
        ({"compaction_interval": 3}, "go together"),
        ({"token_threshold": 10}, "go together"),
        ({"compaction_interval": 0, "overlap_size": 1}, "at least 1"),
        ({"compaction_interval": 2, "overlap_size": -1}, "at least 0"),
    ]:
        with pytest.raises(ValueError, match=words):
            EventsCompactionConfig(**kwargs)
    with pytest.raises(TypeError, match="must be an int or None"):
        EventsCompactionConfig(compaction_interval=True, overlap_size=1)


def test_compaction_config_is_accepted_and_checks_its_summarizer() -> None:
    config = EventsCompactionConfig(compaction_interval=3, overlap_size=1)
    app = App(name="a", root_agent=bot(), events_compaction_config=config)
    assert config is app.events_compaction_config
    summarizer = LlmEventSummarizer(llm=ScriptedModel(replies=["summary"]))
    assert summarizer is EventsCompactionConfig(
        token_threshold=10, event_retention_size=0, summarizer=summarizer).summarizer
    with pytest.raises(TypeError, match="must be a BaseEventsSummarizer"):
        EventsCompactionConfig(token_threshold=10, event_retention_size=0,
                               summarizer=object())


def test_context_cache_config_and_its_refusal() -> None:
    config = ContextCacheConfig()
    assert (10, 1800, 0, None) == (config.cache_intervals, config.ttl_seconds,
                                   config.min_tokens, config.create_http_options)
    assert "60s" == ContextCacheConfig(ttl_seconds=60).ttl_string
    ContextCacheConfig(create_http_options=types.HttpOptions(timeout=10_000))
    bad: list[dict[str, Any]] = [{"cache_intervals": 0}, {"cache_intervals": 101},
                                 {"ttl_seconds": 0}, {"min_tokens": -1}]
    for kwargs in bad:
        with pytest.raises(ValueError, match="ContextCacheConfig"):
            ContextCacheConfig(**kwargs)
    with pytest.raises(NotImplementedError, match="does not use Gemini context caches yet"):
        App(name="a", root_agent=bot(), context_cache_config=config)


def test_the_adk_modules_import() -> None:
    """``apps.app`` and ``agents.context_cache_config`` are no longer 'not provided'."""
    from trio_adk._not_provided import ADK_MODULES_NOT_PROVIDED

    assert "apps.app" not in ADK_MODULES_NOT_PROVIDED
    assert "agents.context_cache_config" not in ADK_MODULES_NOT_PROVIDED


# -- Runner(app=...) ------------------------------------------------------------------------


async def test_runner_runs_the_apps_agent_with_its_plugins() -> None:
    plugin = Tagger()
    app = App(name="my_app", root_agent=bot("hi there"), plugins=[plugin])
    runner = Runner(app=app, session_service=InMemorySessionService())

    assert "my_app" == runner.app_name
    assert app is runner.app
    assert app.root_agent is runner.agent
    assert [plugin] == runner.plugin_manager.plugins
    assert runner.auto_create_session is False  # as with agent=, as in ADK
    await runner.session_service.create_session(app_name="my_app", user_id=USER,
                                                session_id="s1")
    events = [e async for e in runner.run_async(user_id=USER, session_id="s1",
                                                new_message=user_text("hi"))]
    assert ["hi there"] == texts(events)
    assert ["bot"] == plugin.seen
    await runner.close()


def test_another_app_name_may_be_given_with_app() -> None:
    """As in ADK, ``app_name`` overrides the App's name (the server names runners by
    folder)."""
    runner = Runner(app=App(name="my_app", root_agent=bot()), app_name="folder_name",
                    session_service=InMemorySessionService())
    assert "folder_name" == runner.app_name
    runner.close()


def test_app_and_agent_together_is_adks_error() -> None:
    agent = bot()
    with pytest.raises(ValueError) as caught:
        Runner(app=App(name="a", root_agent=agent), agent=agent,
               session_service=InMemorySessionService())
    assert str(caught.value).startswith(
        "Only one of app or agent may be provided, but got: app=App, agent=LlmAgent. "
        "Pass exactly one to Runner()")
    # As in ADK, agent=None with app is no agent.
    runner = Runner(app=App(name="a", root_agent=agent), agent=None,  # type: ignore[arg-type]
                    session_service=InMemorySessionService())
    assert agent is runner.agent
    runner.close()


def test_app_and_plugins_together_is_adks_error() -> None:
    with pytest.raises(ValueError, match="When app is provided, plugins should not be "
                                         "provided and should be provided in the app"):
        Runner(app=App(name="a", root_agent=bot()), plugins=[Tagger()],
               session_service=InMemorySessionService())


def test_runner_app_checks() -> None:
    with pytest.raises(TypeError, match="app"):
        Runner(app="my_app", session_service=InMemorySessionService())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="session_service"):
        Runner(app=App(name="a", root_agent=bot()))


def test_the_other_forms_have_no_app() -> None:
    compact = Runner()
    adk = Runner(app_name="x", agent=bot(), session_service=InMemorySessionService())
    assert compact.app is None and adk.app is None
    compact.close()
    adk.close()


def test_the_app_plugins_list_is_copied() -> None:
    """Plugins appended to the App later do not change a runner built from it."""
    app = App(name="a", root_agent=bot(), plugins=[Tagger()])
    runner = Runner(app=app, session_service=InMemorySessionService())
    app.plugins.append(Tagger("late"))
    assert ["tagger"] == [p.name for p in runner.plugin_manager.plugins]
    runner.close()


async def test_in_memory_runner_of_an_app() -> None:
    plugin = Tagger()
    runner = InMemoryRunner(app=App(name="my_app", root_agent=bot("yo"), plugins=[plugin]))

    assert "my_app" == runner.app_name
    assert runner.auto_create_session is True
    events = [e async for e in runner.run_async(user_id=USER, session_id="s1",
                                                new_message=user_text("hi"))]
    assert ["yo"] == texts(events)
    assert ["bot"] == plugin.seen
    assert "other" == InMemoryRunner(app=App(name="my_app", root_agent=bot()),
                                     app_name="other").app_name
    assert "InMemoryRunner" == InMemoryRunner(bot()).app_name
    assert "InMemoryRunner" == InMemoryRunner().app_name
    with pytest.raises(ValueError, match="Only one of app or agent"):
        InMemoryRunner(bot(), app=App(name="a", root_agent=bot()))
    await runner.close()


# -- loading an App -------------------------------------------------------------------------

APP_PY = """\
from trio_adk import Agent
from trio_adk.apps import App
from trio_adk.plugins import BasePlugin

root_agent = Agent(name="plain", model="gemini-2.5-flash")
app = App(name={name!r}, root_agent=Agent(name="{agent}", model="gemini-2.5-flash"),
          plugins=[BasePlugin("app_plugin")])
"""


@pytest.fixture
def isolated() -> Iterator[None]:
    path, modules = list(sys.path), set(sys.modules)
    yield
    sys.path[:] = path
    for name in set(sys.modules) - modules:
        del sys.modules[name]


def write_app(parent: Path, folder: str, name: str, agent: str = "from_app") -> Path:
    app_folder = parent / folder
    app_folder.mkdir(parents=True)
    (app_folder / "__init__.py").write_text("from . import agent as agent\n")
    (app_folder / "agent.py").write_text(APP_PY.format(name=name, agent=agent))
    return app_folder


@pytest.mark.usefixtures("isolated")
def test_the_loader_prefers_app_over_root_agent(tmp_path: Path) -> None:
    write_app(tmp_path, "app_one", "app_one")
    loader = AgentLoader(tmp_path)

    loaded = loader.load_agent("app_one")
    assert isinstance(loaded, App)
    assert "from_app" == loaded.root_agent.name
    assert ["app_plugin"] == [p.name for p in loaded.plugins]
    assert loaded is loader.load_agent("app_one")  # cached


@pytest.mark.usefixtures("isolated")
def test_an_app_like_object_that_is_not_an_app_is_ignored(tmp_path: Path) -> None:
    """As in ADK, ``app`` counts only when it is an App (a web framework's does not)."""
    folder = tmp_path / "webby"
    folder.mkdir()
    (folder / "agent.py").write_text(
        "from trio_adk import Agent\n\nroot_agent = Agent(name='webby')\n"
        "class App:\n    root_agent = root_agent\n\napp = App()\n")
    loaded = AgentLoader(tmp_path).load_agent("webby")
    assert not isinstance(loaded, App)
    assert "webby" == loaded.name


@pytest.mark.usefixtures("isolated")
def test_an_app_in_root_agent_says_to_expose_it_as_app(tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "agent.py").write_text(
        "from trio_adk import Agent\nfrom trio_adk.apps import App\n\n"
        "root_agent = App(name='mixed', root_agent=Agent(name='inner'))\n")
    with pytest.raises(AgentLoadError, match=r"Expose the App as app = App\(\.\.\.\)"):
        AgentLoader(tmp_path).load_agent("mixed")


@pytest.mark.usefixtures("isolated")
def test_a_refused_setting_in_an_app_fails_the_load_with_its_message(tmp_path: Path) -> None:
    folder = tmp_path / "cached"
    folder.mkdir()
    (folder / "agent.py").write_text(
        "from trio_adk import Agent\nfrom trio_adk.apps import App\n"
        "from trio_adk.agents.context_cache_config import ContextCacheConfig\n\n"
        "app = App(name='cached', root_agent=Agent(name='a'),\n"
        "          context_cache_config=ContextCacheConfig())\n")
    with pytest.raises(AgentLoadError, match=r"NotImplementedError: .*context caches"):
        AgentLoader(tmp_path).load_agent("cached")


@pytest.mark.usefixtures("isolated")
async def test_the_server_runs_an_apps_agent_with_its_plugins(tmp_path: Path) -> None:
    """The server's runner for an app folder that defines an App: the App's root agent
    and plugins, the folder's name (as ADK's server does)."""
    from trio_adk.server._runners import RunnerPool
    from trio_adk.server._services import Services

    write_app(tmp_path, "served", "named_otherwise")
    from trio_adk.artifacts import InMemoryArtifactService
    from trio_adk.memory import InMemoryMemoryService

    pool = RunnerPool(AgentLoader(tmp_path), Services(
        InMemorySessionService(), InMemoryArtifactService(), InMemoryMemoryService()))
    agent = await pool.load_agent("served")
    assert "from_app" == agent.name
    runner = await pool.get("served")
    assert "served" == runner.app_name
    assert runner.app is not None and agent is runner.agent
    assert ["app_plugin"] == [p.name for p in runner.plugin_manager.plugins]
    await pool.aclose()


def test_trio_adk_run_uses_the_apps_agent(tmp_path: Path) -> None:
    write_app(tmp_path, "my_app", "my_app", agent="app_agent")
    server = FakeGeminiServer()
    env: dict[str, Any] = {k: v for k, v in os.environ.items()
                           if not k.startswith(("GOOGLE_", "GEMINI_", "ADK_"))}
    with serve_in_thread(server) as url:
        env.update(GOOGLE_GEMINI_BASE_URL=url, GOOGLE_API_KEY="test-key")
        result = subprocess.run([sys.executable, "-m", "trio_adk", "run", "--in_memory",
                                 "my_app", "hi"], cwd=tmp_path, env=env,
                                capture_output=True, text=True, timeout=120)
    assert 0 == result.returncode, result.stderr
    assert "[app_agent]: You said: hi\n" == result.stdout
