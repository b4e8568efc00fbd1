from trio_adk import Runner
from trio_adk.agents import Agent

agent = Agent(name="batch_processor", model="gemini-2.0-flash")
runner = Runner()

inputs = [
    "Summarize this text...",
    "Translate this to French...",
    "Analyze this data..."
]

responses = []
for input_text in inputs:
    response = runner.run(agent, input_text)
    responses.append(response)

runner.close()
