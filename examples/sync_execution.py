"""Synchronous execution: ``runner.run`` from plain (non-async) code.

Runs offline: the model is a ScriptedModel that first calls the order-status tool and
then answers with what the tool returned.  ``runner.run`` hosts the run in a private trio
run on a worker thread, so this works from scripts, notebooks and other sync code.
"""

from __future__ import annotations

from google.genai import types

from trio_adk import Agent, InMemoryRunner
from trio_adk.testing import ScriptedModel, function_call


def order_status(order_id: str) -> dict[str, str]:
    """Look up where an order is."""
    return {"order_id": order_id, "status": "shipped"}


root_agent = Agent(
    name="support_agent",
    model=ScriptedModel(replies=[
        function_call("order_status", {"order_id": "A-17"}),
        "Order A-17 has shipped.",
    ]),
    instruction="Answer questions about orders with the order_status tool.",
    tools=[order_status],
)


def main() -> None:
    # InMemoryRunner creates a missing session on first use (auto_create_session).
    with InMemoryRunner(root_agent, app_name="sync_example") as runner:
        message = types.Content(role="user", parts=[types.Part(text="Where is order A-17?")])
        count = 0
        for event in runner.run(user_id="u1", session_id="s1", new_message=message):
            count += 1
            for call in event.get_function_calls():
                print(f"[{event.author}] calls {call.name}({call.args})")
            for response in event.get_function_responses():
                print(f"[{event.author}] {response.name} returned {response.response}")
            if event.is_final_response() and event.content and event.content.parts:
                print(f"[{event.author}] {event.content.parts[0].text}")
        print(f"{count} events received")
    print(f"runner closed: {runner.closed}")


if __name__ == "__main__":
    main()
