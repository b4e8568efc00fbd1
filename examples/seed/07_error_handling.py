from trio_adk import Runner
from trio_adk.agents import Agent

agent = Agent(name="error_handling_agent", model="gemini-2.0-flash")
runner = Runner()

try:
    response = runner.run(agent, "Process this request", timeout=30)
    print(response)
except TimeoutError:
    print("Agent execution timed out")
except Exception as e:
    print(f"Error during execution: {e}")
finally:
    runner.close()
