"""OpenTelemetry: the spans and metrics a run emits, with ADK 2.13's names, parents and
attributes, recorded by the SDK's in-memory exporter and metric reader."""

from __future__ import annotations

from typing import Any

import pytest
import trio
from google.genai import types
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from helpers import APP, USER, make_runner, run_text, user_text
from trio_adk import Agent
from trio_adk.models import LlmResponse
from trio_adk.telemetry import TRACER_NAME, tracing
from trio_adk.testing import ScriptedModel, function_call, text

_EXPORTER = InMemorySpanExporter()
_READER = InMemoryMetricReader()


@pytest.fixture(scope="module", autouse=True)
def _providers() -> None:
    """The SDK behind the API, once per process (OpenTelemetry allows one global set)."""
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(_EXPORTER))
    trace.set_tracer_provider(provider)
    metrics.set_meter_provider(MeterProvider(metric_readers=[_READER]))


@pytest.fixture
def spans() -> InMemorySpanExporter:
    _EXPORTER.clear()
    return _EXPORTER


def by_name(exporter: InMemorySpanExporter) -> dict[str, ReadableSpan]:
    return {span.name: span for span in exporter.get_finished_spans()}


def parent_of(span: ReadableSpan, named: dict[str, ReadableSpan]) -> str | None:
    if span.parent is None:
        return None
    return next(n for n, s in named.items() if s.context.span_id == span.parent.span_id)


def metric_points(name: str) -> list[Any]:
    data = _READER.get_metrics_data()
    assert data is not None
    return [point for rm in data.resource_metrics for sm in rm.scope_metrics
            for metric in sm.metrics if metric.name == name
            for point in metric.data.data_points]


def add(a: int, b: int) -> int:
    """Adds two numbers."""
    with tracing.tracer.start_as_current_span("user work"):
        return a + b


def usage(reply: types.Part, prompt: int, output: int) -> LlmResponse:
    return LlmResponse(
        content=types.Content(role="model", parts=[reply]),
        usage_metadata=types.GenerateContentResponseUsageMetadata(
            prompt_token_count=prompt, candidates_token_count=output))


async def test_a_run_with_a_tool_call_emits_adks_spans(spans: InMemorySpanExporter) -> None:
    call = types.Part(function_call=types.FunctionCall(name="add", args={"a": 1, "b": 2},
                                                       id="call-1"))
    model = ScriptedModel(model="fake-model",
                          replies=[usage(call, 10, 3), usage(types.Part(text="3"), 12, 1)])
    agent = Agent(name="calc", description="adds numbers", model=model, tools=[add])
    runner = await make_runner(agent)
    events = await run_text(runner, "1+2")
    named = {s.name: s for s in spans.get_finished_spans()}
    models = [s for s in spans.get_finished_spans() if s.name == "generate_content fake-model"]
    assert len(models) == 2
    assert set(named) == {"invoke_workflow calc", "invoke_agent calc",
                          "generate_content fake-model", "execute_tool add", "user work"}
    assert parent_of(named["invoke_workflow calc"], named) is None
    assert parent_of(named["invoke_agent calc"], named) == "invoke_workflow calc"
    assert parent_of(named["execute_tool add"], named) == "invoke_agent calc"
    assert parent_of(named["user work"], named) == "execute_tool add"  # a worker thread
    assert all(parent_of(m, named) == "invoke_agent calc" for m in models)

    session_id = "s1"
    workflow = named["invoke_workflow calc"].attributes
    assert workflow == {"gen_ai.operation.name": "invoke_workflow",
                        "gen_ai.conversation.id": session_id,
                        "gen_ai.workflow.name": "calc"}
    assert named["invoke_agent calc"].attributes == {
        "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "calc",
        "gen_ai.agent.description": "adds numbers", "gen_ai.conversation.id": session_id}
    tool = named["execute_tool add"].attributes
    assert tool is not None
    assert {k: tool[k] for k in ("gen_ai.operation.name", "gen_ai.tool.name",
                                 "gen_ai.tool.description", "gen_ai.tool.type",
                                 "gen_ai.tool.call.id", "gen_ai.agent.name")} == {
        "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "add",
        "gen_ai.tool.description": "Adds two numbers.", "gen_ai.tool.type": "FunctionTool",
        "gen_ai.tool.call.id": "call-1", "gen_ai.agent.name": "calc"}
    # The dev UI maps spans to events by event id.
    call_event, response_event, final = events
    assert tool["gcp.vertex.agent.event_id"] == response_event.id
    first, second = sorted(models, key=lambda s: s.start_time or 0)
    assert first.attributes is not None and second.attributes is not None
    assert first.attributes["gcp.vertex.agent.event_id"] == call_event.id
    assert second.attributes["gcp.vertex.agent.event_id"] == final.id
    assert first.attributes["gcp.vertex.agent.invocation_id"] == final.invocation_id
    assert (first.attributes["gen_ai.usage.input_tokens"],
            first.attributes["gen_ai.usage.output_tokens"]) == (10, 3)
    assert first.attributes["gen_ai.request.model"] == "fake-model"
    assert '"name":"add"' in str(first.attributes["gen_ai.tool.definitions"])
    assert all(s.status.status_code is StatusCode.UNSET
               for s in spans.get_finished_spans())
    tokens = {(p.attributes["gen_ai.token.type"], p.sum) for p in
              metric_points("gen_ai.client.token.usage")
              if p.attributes["gen_ai.request.model"] == "fake-model"}
    assert ("input", 22) in tokens and ("output", 4) in tokens
    assert metric_points("gen_ai.execute_tool.duration")
    assert metric_points("gen_ai.invoke_workflow.duration")


async def test_a_transfer_nests_the_second_agent_under_the_run(
        spans: InMemorySpanExporter) -> None:
    helper = Agent(name="helper", model=ScriptedModel(replies=["done"]))
    root = Agent(name="root", model=ScriptedModel(
        replies=[function_call("transfer_to_agent", {"agent_name": "helper"})]),
        sub_agents=[helper])
    runner = await make_runner(root)
    await run_text(runner, "go")
    named = by_name(spans)
    # As in ADK, the agent handed over to is a child of the run, not of the one that
    # handed over.
    assert parent_of(named["invoke_agent helper"], named) == "invoke_workflow root"
    assert parent_of(named["execute_tool transfer_to_agent"], named) == "invoke_agent root"


def broken(x: int) -> int:
    """Fails."""
    raise LookupError(f"no {x}")


async def test_a_failing_tool_marks_its_spans_with_the_error(
        spans: InMemorySpanExporter) -> None:
    agent = Agent(name="a", model=ScriptedModel(replies=[function_call("broken", {"x": 1})]),
                  tools=[broken])
    runner = await make_runner(agent)
    with pytest.raises(LookupError):
        await run_text(runner, "go")
    named = by_name(spans)
    for name in ("execute_tool broken", "invoke_agent a", "invoke_workflow a"):
        span = named[name]
        assert span.status.status_code is StatusCode.ERROR, name
        assert span.attributes is not None and span.attributes["error.type"] == "LookupError"
        assert any(e.name == "exception" for e in span.events)


def _cancellations(reason: str) -> int:
    return sum(int(p.value) for p in metric_points("trio_adk.run.cancellations")
               if p.attributes["trio_adk.cancel.reason"] == reason)


async def test_a_consumer_leaving_ends_the_spans_as_cancelled(
        spans: InMemorySpanExporter) -> None:
    before = _cancellations("consumer_left")
    agent = Agent(name="slow", model=ScriptedModel(replies=[text("a"), text("b", delay=50)]),
                  tools=[add])
    model: ScriptedModel = agent.model  # type: ignore[assignment]
    model.replies[0] = function_call("add", {"a": 1, "b": 1})
    runner = await make_runner(agent)
    agen = runner.run_async(user_id=USER, session_id="s1", new_message=user_text("go"))
    await agen.__anext__()  # the function call; then leave
    await agen.aclose()
    named = by_name(spans)
    assert named["invoke_workflow slow"].attributes is not None
    assert named["invoke_workflow slow"].attributes.get("trio_adk.cancelled") is True
    assert named["invoke_workflow slow"].status.status_code is StatusCode.UNSET
    assert _cancellations("consumer_left") == before + 1


async def test_a_timeout_counts_as_a_timeout(autojump_clock: Any,
                                            spans: InMemorySpanExporter) -> None:
    before = _cancellations("timeout")
    agent = Agent(name="late", model=ScriptedModel(replies=[text("x", delay=100)]))
    runner = await make_runner(agent)
    with pytest.raises(TimeoutError):
        await run_text(runner, "go", timeout=1)
    assert _cancellations("timeout") == before + 1
    model_span = by_name(spans)["generate_content " + agent.canonical_model.model]
    assert model_span.attributes is not None
    assert model_span.attributes.get("trio_adk.cancelled") is True


def test_the_tracer_is_adks() -> None:
    assert TRACER_NAME == "gcp.vertex.agent"
    assert trio is not None and APP
