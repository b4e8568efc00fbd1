"""Example, BaseExampleProvider and ExampleTool: few-shot examples in the system
instruction, in the text ADK builds."""

# The suite asserts `expected == actual`, which SIM300 calls a Yoda condition.

from __future__ import annotations

from typing import Any

import pytest
from google.genai import types

from helpers import APP, USER, collect, run_text
from trio_adk import Agent, Runner
from trio_adk.examples import BaseExampleProvider, Example
from trio_adk.examples.example_util import build_example_si, convert_examples_to_text
from trio_adk.sessions import InMemorySessionService
from trio_adk.testing import FunctionModel, ScriptedModel
from trio_adk.tools import ExampleTool


def _user(*texts: str) -> types.Content:
    return types.Content(role="user", parts=[types.Part(text=t) for t in texts])


def _model(*parts: types.Part) -> types.Content:
    return types.Content(role="model", parts=list(parts))


WEATHER = Example(
    input=_user("Weather in Paris?"),
    output=[
        _model(types.Part(text="Checking."), types.Part(function_call=types.FunctionCall(
            name="get_weather", args={"city": "Paris", "days": 2}))),
        types.Content(role="user", parts=[types.Part(function_response=types.FunctionResponse(
            name="get_weather", response={"sky": "clear"}))]),
        _model(types.Part(text="Clear skies.")),
    ],
)
GREETING = Example(input=_user("hi"), output=[_model(types.Part(text="hello"))])

GREETING_BLOCK = (
    "<EXAMPLES>\nBegin few-shot\nBelow are sample user requests and how the model "
    "answered them, using the available tools.\n\n"
    "EXAMPLE 1:\nBegin example\n[user]\nhi\n[model]\nhello\nEnd example\n\n"
    "End few-shot\n<EXAMPLES>"
)


async def _runner(agent: Agent) -> Runner:
    service = InMemorySessionService()
    await service.create_session(app_name=APP, user_id=USER, session_id="s1")
    return Runner(app_name=APP, agent=agent, session_service=service)


def test_convert_examples_to_text_for_other_models() -> None:
    """Non-Gemini models get ``tool_code``/``tool_outputs`` fences; a model role is
    announced once per run of contents; string arguments are quoted."""
    response = WEATHER.output[1].parts[0].function_response  # type: ignore[index]
    expected = (
        "<EXAMPLES>\nBegin few-shot\nBelow are sample user requests and how the model "
        "answered them, using the available tools.\n\n"
        "EXAMPLE 1:\nBegin example\n[user]\nWeather in Paris?\n"
        "[model]\nChecking.\n```tool_code\nget_weather(city='Paris', days=2)\n```\n"
        f"[user]\n```tool_outputs\n{vars(response)}\n```\n"
        "[model]\nClear skies.\nEnd example\n\n"
        "EXAMPLE 2:\nBegin example\n[user]\nhi\n[model]\nhello\nEnd example\n\n"
        "End few-shot\n<EXAMPLES>"
    )
    assert expected == convert_examples_to_text([WEATHER, GREETING], "claude-x")


def test_convert_examples_to_text_for_gemini() -> None:
    """Gemini models (or no model) get plain fences."""
    for model in (None, "gemini-2.5-flash", "vendor.gemini-2.0"):
        text = convert_examples_to_text([WEATHER], model)
        assert "```\nget_weather(city='Paris', days=2)\n```\n" in text
        assert "tool_code" not in text


async def test_example_tool_appends_examples_to_the_system_instruction() -> None:
    """The block follows the agent's own instruction; the tool is not declared."""
    model = ScriptedModel(replies=["ok"])
    agent = Agent(name="agent", model=model, instruction="Be nice.",
                  tools=[ExampleTool([GREETING])])
    runner = await _runner(agent)
    async with runner:
        await run_text(runner, "hey")
    request = model.requests[0]
    instruction = str(request.config.system_instruction)
    assert instruction.startswith("Be nice.")
    assert instruction.endswith("\n\n" + GREETING_BLOCK)
    assert not request.config.tools


async def test_provider_gets_the_user_text_each_call() -> None:
    """A provider is asked with the text of the user's message (text parts joined by
    spaces) before every model call; an async ``get_examples`` works too."""
    queries: list[str] = []

    class Provider(BaseExampleProvider):
        async def get_examples(self, query: str) -> list[Example]:  # type: ignore[override]
            queries.append(query)
            return [GREETING]

    def answer(request: Any) -> str:
        return "ok"

    model = FunctionModel(function=answer)
    runner = await _runner(Agent(name="agent", model=model, tools=[ExampleTool(Provider())]))
    async with runner:
        await collect(runner.run_async(user_id=USER, session_id="s1",
                                       new_message=_user("two", "parts")))
    assert ["two parts"] == queries
    assert str(model.requests[0].config.system_instruction).endswith(GREETING_BLOCK)


async def test_no_text_skips_a_provider_but_not_a_list() -> None:
    """A user message without text asks no provider; a fixed list is still shown."""

    class Provider(BaseExampleProvider):
        def get_examples(self, query: str) -> list[Example]:
            raise AssertionError("not called")

    image = types.Content(role="user", parts=[types.Part(
        inline_data=types.Blob(mime_type="image/png", data=b"1"))])
    for tool, shown in ((ExampleTool(Provider()), False), (ExampleTool([GREETING]), True)):
        model = ScriptedModel(replies=["ok"])
        runner = await _runner(Agent(name="agent", model=model, tools=[tool]))
        async with runner:
            await collect(runner.run_async(user_id=USER, session_id="s1",
                                           new_message=image))
        assert shown == (GREETING_BLOCK in str(model.requests[0].config.system_instruction))


async def test_provider_must_return_examples() -> None:
    """A provider returning something else fails the run with a TypeError naming it."""

    class Bad(BaseExampleProvider):
        def get_examples(self, query: str) -> list[Example]:
            return "nope"  # type: ignore[return-value]

    runner = await _runner(Agent(name="agent", model=ScriptedModel(replies=["ok"]),
                                 tools=[ExampleTool(Bad())]))
    async with runner:
        with pytest.raises(TypeError, match=r"Bad.get_examples\(\) must return a list"):
            await run_text(runner, "x")


def test_examples_from_dicts_and_bad_values() -> None:
    """Dicts are validated into Examples; other values raise TypeError naming them."""
    tool = ExampleTool([{"input": {"role": "user", "parts": [{"text": "hi"}]},
                         "output": [{"role": "model", "parts": [{"text": "hello"}]}]}])
    assert [GREETING] == tool.examples
    with pytest.raises(TypeError, match="BaseExampleProvider"):
        ExampleTool("examples")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Example input"):
        Example(input="hi", output=[])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Example output must be a list"):
        Example(input=_user("hi"), output=_model())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"output\[0\]"):
        Example(input=_user("hi"), output=["x"])  # type: ignore[list-item]


def test_build_example_si() -> None:
    """build_example_si formats a list, or asks a provider directly; else ValueError."""

    class Provider(BaseExampleProvider):
        def get_examples(self, query: str) -> list[Example]:
            return [GREETING] if query == "q" else []

    assert GREETING_BLOCK == build_example_si([GREETING], "q", "x")
    assert GREETING_BLOCK == build_example_si(Provider(), "q", "x")
    with pytest.raises(ValueError, match="list of Example"):
        build_example_si("x", "q", None)  # type: ignore[arg-type]


def test_base_example_provider_is_abstract() -> None:
    """get_examples must be implemented."""
    with pytest.raises(TypeError):
        BaseExampleProvider()  # type: ignore[abstract]
