"""Gemini quickstart: an agent with ``model="gemini-2.0-flash"`` and a tool, one turn.

Like an ADK app, the model reads its settings from the environment:

* ``GOOGLE_API_KEY`` (or ``GEMINI_API_KEY``) to talk to the real Gemini API, or
* ``GOOGLE_GEMINI_BASE_URL`` to talk to a Gemini-compatible server instead, for example the
  fake one shipped with trio-adk::

      python -m trio_adk.testing.fake_gemini --port 8765 &
      GOOGLE_GEMINI_BASE_URL=http://127.0.0.1:8765 python examples/gemini_quickstart.py

The question names the tool, so the fake server's built-in responder calls it too.
"""

from __future__ import annotations

import os
import sys

import trio
from google.genai import types

from trio_adk import Agent, InMemoryRunner


def get_weather(city: str) -> dict[str, str]:
    """Return the current weather report for a city."""
    return {"city": city, "report": "sunny, 22 degrees"}


root_agent = Agent(
    name="weather_agent",
    model="gemini-2.0-flash",
    description="Answers questions about the weather.",
    instruction="Use the get_weather tool to answer weather questions, then answer briefly.",
    tools=[get_weather],
)

QUESTION = "Please use get_weather for Paris."


async def main() -> None:
    runner = InMemoryRunner(root_agent, app_name="gemini_quickstart")
    session = await runner.session_service.create_session(app_name="gemini_quickstart",
                                                          user_id="u1")
    message = types.Content(role="user", parts=[types.Part(text=QUESTION)])
    print(f"you> {QUESTION}")
    async with runner:
        async for event in runner.run_async(user_id="u1", session_id=session.id,
                                            new_message=message):
            for call in event.get_function_calls():
                print(f"[{event.author}] calls {call.name}({call.args})")
            for response in event.get_function_responses():
                print(f"[{event.author}] {response.name} returned {response.response}")
            if event.is_final_response() and event.content and event.content.parts:
                text = "".join(part.text or "" for part in event.content.parts)
                print(f"[{event.author}] {text}")


def configured() -> bool:
    """True if the environment says where Gemini is; else explain what to set."""
    if any(os.environ.get(name) for name in
           ("GOOGLE_API_KEY", "GEMINI_API_KEY", "GOOGLE_GEMINI_BASE_URL")):
        return True
    print("Set GOOGLE_API_KEY (or GEMINI_API_KEY) to use Gemini, or GOOGLE_GEMINI_BASE_URL to "
          "use a local server such as `python -m trio_adk.testing.fake_gemini`.",
          file=sys.stderr)
    return False


if __name__ == "__main__":
    if not configured():
        sys.exit(2)
    trio.run(main)
