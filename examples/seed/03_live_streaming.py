from trio_adk import Runner
from trio_adk.agents import Agent

agent = Agent(name="streaming_assistant", model="gemini-2.0-flash")
runner = Runner()

# Execute in live mode for streaming responses
for chunk in runner.run_live(agent, input_text="Tell me a story"):
    print(chunk, end="", flush=True)

runner.close()
