from trio_adk.runners import InMemoryRunner
from trio_adk.agents import Agent

# Use in-memory runner for development/testing
runner = InMemoryRunner()
agent = Agent(name="test_agent", model="gemini-2.0-flash")

response = runner.run(agent, "Test input")
print(response)

runner.close()
