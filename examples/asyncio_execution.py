"""asyncio execution: ``async for event in runner.run_async(...)`` inside ``asyncio.run``.

A program written for asyncio keeps its asyncio code: ``run_async`` notices it is called
from asyncio and runs trio as a guest on the program's own event loop.  Two users are
served concurrently with ``asyncio.gather``.  Runs offline with a FunctionModel.
"""

from __future__ import annotations

import asyncio

from google.genai import types

from trio_adk import Agent, Runner
from trio_adk.models import LlmRequest
from trio_adk.sessions import InMemorySessionService
from trio_adk.testing import FunctionModel


def offline_model(request: LlmRequest) -> str:
    """Stands in for Gemini: greet the user by the name they gave."""
    last = request.contents[-1]
    said = "".join(part.text or "" for part in last.parts or ())
    return f"Hello, {said.removeprefix('I am ').rstrip('.')}!"


root_agent = Agent(
    name="greeter",
    model=FunctionModel(function=offline_model),
    instruction="Greet the user by name.",
)


async def greet(runner: Runner, user_id: str, name: str) -> str:
    session = await runner.session_service.create_session(app_name="asyncio_example",
                                                          user_id=user_id)
    message = types.Content(role="user", parts=[types.Part(text=f"I am {name}.")])
    answer = ""
    async for event in runner.run_async(user_id=user_id, session_id=session.id,
                                        new_message=message):
        if event.is_final_response() and event.content and event.content.parts:
            answer = event.content.parts[0].text or ""
    return answer


async def main() -> None:
    runner = Runner(app_name="asyncio_example", agent=root_agent,
                    session_service=InMemorySessionService())
    try:
        answers = await asyncio.gather(greet(runner, "u1", "Ada"),
                                       greet(runner, "u2", "Grace"))
        for answer in answers:
            print(f"[greeter] {answer}")
    finally:
        await runner.close()
    print(f"runner closed: {runner.closed}")


if __name__ == "__main__":
    asyncio.run(main())
