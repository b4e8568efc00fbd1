"""Small ADK surfaces at ADK's paths: callback aliases, models.google_llm,
utils.instructions_utils, PluginCallbackName, the adk_agent_name label and
callable objects' docstrings as tool descriptions, toolsets' tool_name_prefix and the
session services' blocking twins."""

from __future__ import annotations

import asyncio
import dataclasses
import typing
from typing import Any

import pytest

from helpers import USER, make_runner, run_text, user_text
from trio_adk import Agent
from trio_adk.agents import CallbackContext
from trio_adk.models import LlmRequest
from trio_adk.sessions import InMemorySessionService
from trio_adk.testing import ScriptedModel, function_call
from trio_adk.tools import BaseTool, BaseToolset, FunctionTool


def test_callback_aliases_at_adk_paths() -> None:
    from trio_adk.agents import base_agent, llm_agent

    for name in ("BeforeAgentCallback", "AfterAgentCallback"):
        assert typing.get_args(getattr(base_agent, name))  # a union: one or a list
    for name in ("BeforeModelCallback", "AfterModelCallback", "OnModelErrorCallback",
                 "BeforeToolCallback", "AfterToolCallback", "OnToolErrorCallback"):
        single, many = typing.get_args(getattr(llm_agent, name))
        assert typing.get_origin(many) is list and typing.get_args(many) == (single,)
    assert llm_agent.InstructionProvider and llm_agent.ToolUnion
    assert llm_agent.LlmAgent is Agent


def test_gemini_and_plugin_callback_name_paths() -> None:
    from trio_adk.models import Gemini
    from trio_adk.models.google_llm import Gemini as FromPath
    from trio_adk.plugins.base_plugin import BasePlugin
    from trio_adk.plugins.plugin_manager import PluginCallbackName

    assert FromPath is Gemini
    names = typing.get_args(PluginCallbackName)
    assert "before_model_callback" in names
    assert all(hasattr(BasePlugin, name) for name in names)


async def test_inject_session_state_from_an_instruction_provider() -> None:
    from trio_adk.utils.instructions_utils import inject_session_state

    async def provider(ctx: Any) -> str:
        return await inject_session_state("Hi {name}, {missing?}.", ctx)

    model = ScriptedModel(replies=["ok"])
    runner = await make_runner(Agent(name="bot", model=model, instruction=provider))
    await runner.session_service.create_session(app_name=runner.app_name, user_id=USER,
                                                session_id="s2", state={"name": "Ada"})
    await run_text(runner, "hi", session_id="s2")
    assert (model.requests[0].config.system_instruction or "").startswith("Hi Ada, .")


async def test_inject_session_state_from_an_asyncio_provider() -> None:
    """Under an asyncio caller the provider runs on asyncio and can still await it."""
    from trio_adk.utils.instructions_utils import inject_session_state

    seen: list[str] = []

    async def provider(ctx: Any) -> str:
        asyncio.get_running_loop()  # really on asyncio
        text = await inject_session_state("Hi {name}.", ctx)
        seen.append(text)
        return text

    model = ScriptedModel(replies=["ok"])
    agent = Agent(name="bot", model=model, instruction=provider)

    async def main() -> None:
        from trio_adk import InMemoryRunner

        runner = InMemoryRunner(agent=agent, app_name="app")
        await runner.session_service.create_session(app_name="app", user_id="u",
                                                    session_id="s", state={"name": "Bo"})
        async for _ in runner.run_async(user_id="u", session_id="s",
                                        new_message=user_text("hi")):
            pass
        await runner.close()

    await _in_asyncio_thread(main)
    assert ["Hi Bo."] == seen


async def _in_asyncio_thread(main: Any) -> None:
    import trio

    await trio.to_thread.run_sync(lambda: asyncio.run(main()))


async def test_inject_session_state_checks_its_arguments() -> None:
    from trio_adk.utils.instructions_utils import inject_session_state

    with pytest.raises(TypeError, match="readonly_context"):
        await inject_session_state("x", object())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="template"):
        await inject_session_state(3, object())  # type: ignore[arg-type]


# ---- adk_agent_name ------------------------------------------------------------------------


async def test_each_model_call_is_labelled_with_the_agent_name() -> None:
    from google.genai import types

    seen: list[Any] = []

    def before(callback_context: CallbackContext, llm_request: LlmRequest) -> None:
        seen.append(dict(llm_request.config.labels or {}))

    model = ScriptedModel(replies=["ok", "ok"])
    own = types.GenerateContentConfig(labels={"team": "x"})
    runner = await make_runner(Agent(name="bot", model=model, generate_content_config=own,
                                     before_model_callback=before))
    await run_text(runner, "hi")
    assert [{"team": "x"}] == seen  # callbacks see the request before the label
    assert {"team": "x", "adk_agent_name": "bot"} == model.requests[0].config.labels
    assert {"team": "x"} == own.labels


async def test_a_label_already_set_is_kept() -> None:
    from google.genai import types

    model = ScriptedModel(replies=["ok"])
    own = types.GenerateContentConfig(labels={"adk_agent_name": "billing-name"})
    runner = await make_runner(Agent(name="bot", model=model, generate_content_config=own))
    await run_text(runner, "hi")
    assert {"adk_agent_name": "billing-name"} == model.requests[0].config.labels


# ---- callable objects as tools ---------------------------------------------------------------


class Lookup:
    def __call__(self, city: str) -> str:
        """Look up the weather of a city.

        Args:
            city: The city's name.
        """
        return f"sunny in {city}"


class Documented:
    """The class's own docstring wins."""

    def __call__(self, x: int) -> int:
        """Not this one."""
        return x


@dataclasses.dataclass
class Counter:
    step: int = 1

    def __call__(self, value: int) -> int:
        """Add the step to a value."""
        return value + self.step


def test_a_callable_objects_call_docstring_is_the_description() -> None:
    tool = FunctionTool(Lookup())
    assert "Lookup" == tool.name
    assert tool.description.startswith("Look up the weather of a city.")
    declaration = tool._get_declaration()
    assert declaration is not None
    assert declaration.description is not None
    assert declaration.description.startswith("Look up the weather")
    assert FunctionTool(Documented()).description == "The class's own docstring wins."
    assert FunctionTool(Counter()).description == "Add the step to a value."


def test_a_callable_without_any_docstring_has_none() -> None:
    class Bare:
        def __call__(self, x: int) -> int:
            return x

    assert "" == FunctionTool(Bare()).description


# ---- BaseToolset(tool_name_prefix=...) --------------------------------------------------------


def weather(city: str) -> str:
    """The weather of a city."""
    return f"sunny in {city}"


def news(topic: str) -> str:
    """News about a topic."""
    return f"nothing new on {topic}"


class Pair(BaseToolset):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.tools = [FunctionTool(weather), FunctionTool(news)]

    async def get_tools(self, readonly_context: Any = None) -> list[BaseTool]:
        return self.tools


async def test_a_prefix_renames_a_toolsets_tools_for_the_model() -> None:
    toolset = Pair(tool_name_prefix="city", tool_filter=["weather"])
    model = ScriptedModel(replies=[function_call("city_weather", {"city": "Oslo"}), "done"])
    runner = await make_runner(Agent(name="bot", model=model, tools=[toolset]))
    events = await run_text(runner, "hi")
    tools = model.requests[0].config.tools
    assert tools is not None
    names = [d.name for t in tools for d in (t.function_declarations or [])]
    assert ["city_weather"] == names  # the filter used the unprefixed name
    response = events[1].content.parts[0].function_response  # type: ignore[index, union-attr]
    assert response is not None and "city_weather" == response.name
    assert {"result": "sunny in Oslo"} == response.response
    # The toolset's own tools keep their names and declarations.
    assert ["weather", "news"] == [t.name for t in toolset.tools]
    declaration = toolset.tools[0]._get_declaration()
    assert declaration is not None and "weather" == declaration.name


async def test_get_tools_with_prefix() -> None:
    assert ["weather", "news"] == [t.name for t in await Pair().get_tools_with_prefix()]
    prefixed = await Pair(tool_name_prefix="p").get_tools_with_prefix()
    assert ["p_weather", "p_news"] == [t.name for t in prefixed]
    with pytest.raises(TypeError, match="tool_name_prefix"):
        Pair(tool_name_prefix=3)


# ---- session services' blocking twins ---------------------------------------------------------


def test_sync_twins_from_plain_code() -> None:
    service = InMemorySessionService()
    session = service.create_session_sync(app_name="app", user_id="u", session_id="s",
                                          state={"k": 1})
    assert "s" == session.id
    got = service.get_session_sync(app_name="app", user_id="u", session_id="s")
    assert got is not None and {"k": 1} == got.state
    assert ["s"] == [s.id for s in service.list_sessions_sync(app_name="app").sessions]
    service.delete_session_sync(app_name="app", user_id="u", session_id="s")
    assert service.get_session_sync(app_name="app", user_id="u", session_id="s") is None
    with pytest.raises(ValueError, match="session_id"):
        service.get_session_sync(app_name="app", user_id="u", session_id=" s")


def test_sync_twins_from_sync_code_under_a_running_asyncio_loop() -> None:
    service = InMemorySessionService()

    async def main() -> str:
        return service.create_session_sync(app_name="app", user_id="u").id

    assert asyncio.run(main())


async def test_sync_twins_refuse_to_block_a_trio_task() -> None:
    service = InMemorySessionService()
    with pytest.raises(RuntimeError, match="get_session_sync"):
        service.get_session_sync(app_name="app", user_id="u", session_id="s")
    with pytest.raises(RuntimeError, match="create_session_sync"):
        service.create_session_sync(app_name="app", user_id="u")


def test_aclosing_at_adks_path() -> None:
    import contextlib

    from trio_adk.utils.context_utils import Aclosing

    assert Aclosing is contextlib.aclosing
