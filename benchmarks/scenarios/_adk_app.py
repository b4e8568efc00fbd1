"""The google-adk side's building blocks, written as an ADK user writes them: in-process models
(subclasses of ADK's public ``BaseLlm`` passed as ``model=``) and async tools that sleep with
asyncio.

Imported only inside an ADK side, in the ADK virtualenv (it needs google-adk).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

# ADK's public API, the names its users import (re-exported for the scenario modules).
from google.adk.agents import Agent, RunConfig  # type: ignore[import, unused-ignore]
from google.adk.agents import (  # type: ignore[import, unused-ignore]
    LiveRequestQueue as LiveRequestQueue,
)
from google.adk.agents.run_config import StreamingMode  # type: ignore[import, unused-ignore]
from google.adk.models import BaseLlm, LlmResponse  # type: ignore[import, unused-ignore]
from google.adk.runners import InMemoryRunner  # type: ignore[import, unused-ignore]
from google.genai import types

from scenarios._common import TOOL_SLEEP, Gauge

# What a real model reports with every answer (ADK logs a warning per call without it).
USAGE = types.GenerateContentResponseUsageMetadata(prompt_token_count=1,
                                                   candidates_token_count=1,
                                                   total_token_count=2)


def answer(text: str) -> Any:
    """A final text answer."""
    return LlmResponse(content=types.Content(role="model", parts=[types.Part(text=text)]),
                       usage_metadata=USAGE)


class InstantModel(BaseLlm):  # type: ignore[misc, unused-ignore]
    """Answers every call at once with one text part."""

    model: str = "instant"

    async def generate_content_async(self, llm_request: Any,
                                     stream: bool = False) -> AsyncGenerator[Any, None]:
        yield answer("hello")


class ThreeToolsModel(BaseLlm):  # type: ignore[misc, unused-ignore]
    """Calls the three tools at once, then answers once their results are in."""

    model: str = "three-tools"

    async def generate_content_async(self, llm_request: Any,
                                     stream: bool = False) -> AsyncGenerator[Any, None]:
        last = llm_request.contents[-1] if llm_request.contents else None
        if last is not None and any(p.function_response for p in last.parts or ()):
            yield answer("all three looked up")
            return
        calls = [types.Part(function_call=types.FunctionCall(name=name, args={"city": "Paris"}))
                 for name in ("get_weather", "get_news", "get_traffic")]
        yield LlmResponse(content=types.Content(role="model", parts=calls), usage_metadata=USAGE)


async def get_weather(city: str) -> dict[str, str]:
    """The weather in a city."""
    await asyncio.sleep(TOOL_SLEEP)
    return {"report": f"sunny in {city}"}


async def get_news(city: str) -> dict[str, str]:
    """Today's news in a city."""
    await asyncio.sleep(TOOL_SLEEP)
    return {"headline": f"nothing happened in {city}"}


async def get_traffic(city: str) -> dict[str, str]:
    """The traffic in a city."""
    await asyncio.sleep(TOOL_SLEEP)
    return {"traffic": f"light in {city}"}


TOOLS = [get_weather, get_news, get_traffic]


class BlockingModel(BaseLlm):  # type: ignore[misc, unused-ignore]
    """Never answers: waits until cancelled; counts its calls and cleanups on ``gauge``."""

    model: str = "blocking"
    gauge: Gauge

    async def generate_content_async(self, llm_request: Any,
                                     stream: bool = False) -> AsyncGenerator[Any, None]:
        self.gauge.call_started()
        try:
            await asyncio.Event().wait()
            yield answer("never")
        finally:
            self.gauge.cleanup_done()


__all__ = ["TOOLS", "Agent", "BlockingModel", "InMemoryRunner", "InstantModel",
           "RunConfig", "StreamingMode", "ThreeToolsModel"]
