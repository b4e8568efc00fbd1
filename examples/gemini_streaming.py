"""Streaming from Gemini: ``StreamingMode.SSE`` prints the reply as it arrives.

With ``RunConfig(streaming_mode=StreamingMode.SSE)`` each streamed chunk arrives as a
*partial* event (print it straight away); the whole reply then arrives once more as one
final, non-partial event, which is the one stored in the session.

Configuration comes from the environment, as in ADK: ``GOOGLE_API_KEY`` (or
``GEMINI_API_KEY``) for the real Gemini API, or ``GOOGLE_GEMINI_BASE_URL`` for a
Gemini-compatible server such as ``python -m trio_adk.testing.fake_gemini`` (whose built-in
responder echoes the message back, in a few chunks).
"""

from __future__ import annotations

import os
import sys

import trio
from google.genai import types

from trio_adk import Agent, InMemoryRunner
from trio_adk.agents import RunConfig, StreamingMode

root_agent = Agent(
    name="storyteller",
    model="gemini-2.0-flash",
    instruction="Tell a very short story about what the user asks for.",
)

PROMPT = "a lighthouse keeper who collects clocks"


async def main() -> None:
    runner = InMemoryRunner(root_agent, app_name="gemini_streaming")
    session = await runner.session_service.create_session(app_name="gemini_streaming",
                                                          user_id="u1")
    message = types.Content(role="user", parts=[types.Part(text=PROMPT)])
    config = RunConfig(streaming_mode=StreamingMode.SSE)
    partials = 0
    print(f"you> {PROMPT}")
    async with runner:
        async for event in runner.run_async(user_id="u1", session_id=session.id,
                                            new_message=message, run_config=config):
            if not (event.content and event.content.parts):
                continue
            text = "".join(part.text or "" for part in event.content.parts if not part.thought)
            if event.partial:
                partials += 1
                print(f"partial {partials}: {text!r}", flush=True)
            elif event.is_final_response():
                print(f"final: {text}")
        stored = await runner.session_service.get_session(
            app_name="gemini_streaming", user_id="u1", session_id=session.id)
    assert stored is not None
    print(f"{partials} partial event(s) streamed; {len(stored.events)} event(s) stored "
          "(the message and the final reply)")


if __name__ == "__main__":
    if not any(os.environ.get(name) for name in
               ("GOOGLE_API_KEY", "GEMINI_API_KEY", "GOOGLE_GEMINI_BASE_URL")):
        print("Set GOOGLE_API_KEY (or GEMINI_API_KEY), or GOOGLE_GEMINI_BASE_URL to use a "
              "local server such as `python -m trio_adk.testing.fake_gemini`.",
              file=sys.stderr)
        sys.exit(2)
    trio.run(main)
