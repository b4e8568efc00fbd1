"""The tracer and the meter, and the metric instruments the engine records.

Names follow ADK 2.13 (tracer ``gcp.vertex.agent``, its schema-v2 span names, the
GenAI semantic conventions' ``gen_ai.*`` keys) so dashboards built for ADK keep working.
Only ``opentelemetry-api`` is a dependency: without an SDK every span is a no-op.
"""

from __future__ import annotations

from opentelemetry import metrics, trace

TRACER_NAME = "gcp.vertex.agent"
SCHEMA_URL = "https://opentelemetry.io/schemas/1.36.0"

tracer = trace.get_tracer(TRACER_NAME, schema_url=SCHEMA_URL)
meter = metrics.get_meter(TRACER_NAME, schema_url=SCHEMA_URL)

invoke_workflow_duration = meter.create_histogram(
    "gen_ai.invoke_workflow.duration", unit="s",
    description="Duration of one run (an invocation of the root agent).")
invoke_agent_duration = meter.create_histogram(
    "gen_ai.invoke_agent.duration", unit="s", description="Duration of one agent's turn.")
execute_tool_duration = meter.create_histogram(
    "gen_ai.execute_tool.duration", unit="s", description="Duration of one tool call.")
operation_duration = meter.create_histogram(
    "gen_ai.client.operation.duration", unit="s",
    description="Duration of one model call, first request to last response.")
token_usage = meter.create_histogram(
    "gen_ai.client.token.usage", unit="{token}",
    description="Tokens per model call, by gen_ai.token.type (input or output).")
run_cancellations = meter.create_counter(
    "trio_adk.run.cancellations", unit="{run}",
    description="Runs that ended cancelled, by trio_adk.cancel.reason (consumer_left, "
                "timeout, runner_closed, caller).")
