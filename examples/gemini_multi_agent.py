"""Multi-agent with Gemini: a root agent hands the conversation over to a sub-agent.

The root agent gets ADK's ``transfer_to_agent`` tool because it has ``sub_agents``; when the
model calls it, the run continues with the named agent, which answers in the same turn,
and later turns start with that agent.

Configuration comes from the environment, as in ADK: ``GOOGLE_API_KEY`` (or
``GEMINI_API_KEY``) for the real Gemini API, or ``GOOGLE_GEMINI_BASE_URL`` for a
Gemini-compatible server such as ``python -m trio_adk.testing.fake_gemini``.  The message
names the transfer tool and the agent, so the fake server's built-in responder makes the
same transfer a real model would.
"""

from __future__ import annotations

import os
import sys

import trio
from google.genai import types

from trio_adk import Agent, InMemoryRunner

booking_agent = Agent(
    name="booking_agent",
    model="gemini-2.0-flash",
    description="Books hotel rooms and answers questions about bookings.",
    instruction="You book hotel rooms. Confirm what the user wants to book.",
    disallow_transfer_to_parent=True,
    disallow_transfer_to_peers=True,
)

root_agent = Agent(
    name="front_desk",
    model="gemini-2.0-flash",
    description="Greets guests and routes them to the right agent.",
    instruction="Greet the user. For bookings, transfer to the booking_agent.",
    sub_agents=[booking_agent],
)

MESSAGE = "I need a room for two nights. Please transfer_to_agent booking_agent."


async def main() -> None:
    runner = InMemoryRunner(root_agent, app_name="gemini_multi_agent")
    session = await runner.session_service.create_session(app_name="gemini_multi_agent",
                                                          user_id="u1")
    message = types.Content(role="user", parts=[types.Part(text=MESSAGE)])
    print(f"you> {MESSAGE}")
    async with runner:
        async for event in runner.run_async(user_id="u1", session_id=session.id,
                                            new_message=message):
            for call in event.get_function_calls():
                print(f"[{event.author}] calls {call.name}({call.args})")
            if event.actions.transfer_to_agent:
                print(f"[{event.author}] hands over to {event.actions.transfer_to_agent}")
            if event.is_final_response() and event.content and event.content.parts:
                text = "".join(part.text or "" for part in event.content.parts)
                print(f"[{event.author}] {text}")
    authors = []
    for event in (await runner.session_service.get_session(
            app_name="gemini_multi_agent", user_id="u1", session_id=session.id)).events:
        if event.author not in authors:
            authors.append(event.author)
    print(f"authors in the session: {', '.join(authors)}")


if __name__ == "__main__":
    if not any(os.environ.get(name) for name in
               ("GOOGLE_API_KEY", "GEMINI_API_KEY", "GOOGLE_GEMINI_BASE_URL")):
        print("Set GOOGLE_API_KEY (or GEMINI_API_KEY), or GOOGLE_GEMINI_BASE_URL to use a "
              "local server such as `python -m trio_adk.testing.fake_gemini`.",
              file=sys.stderr)
        sys.exit(2)
    trio.run(main)
