from trio_adk import Runner
from trio_adk.agents import Agent

agent = Agent(name="context_agent", model="gemini-2.0-flash")

# Use runner as context manager for automatic cleanup
with Runner() as runner:
    response = runner.run(agent, "What can you do?")
    print(response)
# Runner is automatically closed
