from trio_adk.agents import Agent
from trio_adk.runners import InMemoryRunner
from google.genai import types

# Create agent and in-memory runner (recommended for simple usage)
agent = Agent(name="assistant", model="gemini-2.0-flash")
runner = InMemoryRunner(agent)

# Create message content
user_message = types.Content(parts=[types.Part(text="Hello, how can you help me?")])

# Execute synchronously and process events
for event in runner.run(
    user_id="user123",
    session_id="session456",
    new_message=user_message
):
    if event.content and not event.partial:
        print(event.content)

# Clean up
await runner.close()
