"""Quickstart: an agent with a tool, run with trio, events printed as they stream.

Runs offline: the model is a FunctionModel that calls the weather tool when the user
asks about the weather and otherwise answers from what the tool returned.
"""

from __future__ import annotations

import trio
from google.genai import types

from trio_adk import Agent, InMemoryRunner
from trio_adk.models import LlmRequest
from trio_adk.testing import FunctionModel, function_call


def get_weather(city: str) -> dict[str, str]:
    """Return the current weather report for a city."""
    return {"city": city, "report": "sunny, 22 degrees"}


def offline_model(request: LlmRequest) -> object:
    """Stands in for Gemini: call the tool first, then answer with its result."""
    last = request.contents[-1]
    for part in last.parts or ():
        if part.function_response is not None:
            report = (part.function_response.response or {}).get("report", "unknown")
            return f"The weather is {report}."
    return function_call("get_weather", {"city": "Paris"})


root_agent = Agent(
    name="weather_agent",
    model=FunctionModel(function=offline_model),
    description="Answers questions about the weather.",
    instruction="Use the get_weather tool to answer weather questions.",
    tools=[get_weather],
)


async def main() -> None:
    runner = InMemoryRunner(root_agent, app_name="quickstart")
    session = await runner.session_service.create_session(app_name="quickstart", user_id="u1")
    message = types.Content(role="user", parts=[types.Part(text="What's the weather in Paris?")])
    async with runner:
        async for event in runner.run_async(user_id="u1", session_id=session.id,
                                            new_message=message):
            for call in event.get_function_calls():
                print(f"[{event.author}] calls {call.name}({call.args})")
            for response in event.get_function_responses():
                print(f"[{event.author}] {response.name} returned {response.response}")
            if event.is_final_response() and event.content and event.content.parts:
                print(f"[{event.author}] {event.content.parts[0].text}")


if __name__ == "__main__":
    trio.run(main)
