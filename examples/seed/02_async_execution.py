import asyncio
from trio_adk.agents import Agent
from trio_adk.runners import InMemoryRunner
from google.genai import types

async def main():
    agent = Agent(name="async_assistant", model="gemini-2.0-flash")
    runner = InMemoryRunner(agent)
    
    # Create message content
    user_message = types.Content(parts=[types.Part(text="What's the weather like?")])
    
    # Execute asynchronously and process events
    async for event in runner.run_async(
        user_id="user123", 
        session_id="session456",
        new_message=user_message
    ):
        if event.content and not event.partial:
            print(event.content)
    
    await runner.close()

# Run the async function
asyncio.run(main())
