"""The trio-adk side's building blocks, written as a trio-adk user writes them: in-process
models (``BaseLlm`` subclasses passed as ``model=``) and async tools that sleep with trio.

Imported only inside a trio-adk side (it needs trio and trio_adk).
"""

from __future__ import annotations

import math
from collections.abc import AsyncGenerator

import trio
from google.genai import types

from scenarios._common import TOOL_SLEEP, Gauge
from trio_adk.models import BaseLlm, LlmRequest, LlmResponse

# What a real model reports with every answer (ADK logs a warning per call without it).
USAGE = types.GenerateContentResponseUsageMetadata(prompt_token_count=1,
                                                   candidates_token_count=1,
                                                   total_token_count=2)


def answer(text: str) -> LlmResponse:
    """A final text answer."""
    return LlmResponse(content=types.Content(role="model", parts=[types.Part(text=text)]),
                       usage_metadata=USAGE)


class InstantModel(BaseLlm):
    """Answers every call at once with one text part."""

    model: str = "instant"

    async def generate_content_async(
        self, llm_request: LlmRequest, stream: bool = False
    ) -> AsyncGenerator[LlmResponse, None]:
        yield answer("hello")


class ThreeToolsModel(BaseLlm):
    """Calls the three tools at once, then answers once their results are in."""

    model: str = "three-tools"

    async def generate_content_async(
        self, llm_request: LlmRequest, stream: bool = False
    ) -> AsyncGenerator[LlmResponse, None]:
        last = llm_request.contents[-1] if llm_request.contents else None
        if last is not None and any(p.function_response for p in last.parts or ()):
            yield answer("all three looked up")
            return
        calls = [types.Part(function_call=types.FunctionCall(name=name, args={"city": "Paris"}))
                 for name in ("get_weather", "get_news", "get_traffic")]
        yield LlmResponse(content=types.Content(role="model", parts=calls), usage_metadata=USAGE)


async def get_weather(city: str) -> dict[str, str]:
    """The weather in a city."""
    await trio.sleep(TOOL_SLEEP)
    return {"report": f"sunny in {city}"}


async def get_news(city: str) -> dict[str, str]:
    """Today's news in a city."""
    await trio.sleep(TOOL_SLEEP)
    return {"headline": f"nothing happened in {city}"}


async def get_traffic(city: str) -> dict[str, str]:
    """The traffic in a city."""
    await trio.sleep(TOOL_SLEEP)
    return {"traffic": f"light in {city}"}


TOOLS = [get_weather, get_news, get_traffic]


class BlockingModel(BaseLlm):
    """Never answers: waits until cancelled; counts its calls and cleanups on ``gauge``."""

    model: str = "blocking"
    gauge: Gauge

    async def generate_content_async(
        self, llm_request: LlmRequest, stream: bool = False
    ) -> AsyncGenerator[LlmResponse, None]:
        self.gauge.call_started()
        try:
            await trio.sleep(math.inf)
            yield answer("never")
        finally:
            self.gauge.cleanup_done()


def all_tasks() -> list[trio.lowlevel.Task]:
    """Every task of the current trio run."""
    tasks: list[trio.lowlevel.Task] = []
    stack: list[trio.lowlevel.Task | None] = [trio.lowlevel.current_root_task()]
    while stack:
        task = stack.pop()
        if task is None:
            continue
        tasks.append(task)
        for nursery in task.child_nurseries:
            stack.extend(nursery.child_tasks)
    return tasks
