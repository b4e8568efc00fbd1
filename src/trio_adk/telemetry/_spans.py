"""Spans around a run, an agent's turn, a model call and a tool call.

Each span is opened and closed by the trio task that does the work, never across a
consumer's ``yield`` (runs hand events over through a rendezvous, not a generator), so
the context attach/detach pairs always match.  The span's context is current for the
work inside it: tasks started inside (parallel branches, tools) and worker threads
(``trio.to_thread`` copies context variables) nest under it, as do spans user code
opens.  A span that ends by cancellation gets ``trio_adk.cancelled = true`` and no error
status; one that ends by an exception records it with ``error.type``.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import trio
from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, Status, StatusCode

from trio_adk._utils._rendezvous import ConsumerGone
from trio_adk.telemetry import _instruments as ins

if TYPE_CHECKING:
    from trio_adk.agents._base_agent import BaseAgent
    from trio_adk.agents._invocation_context import InvocationContext
    from trio_adk.models._llm_request import LlmRequest
    from trio_adk.models._llm_response import LlmResponse
    from trio_adk.tools._base_tool import BaseTool


@contextlib.contextmanager
def _span(name: str, attributes: dict[str, Any]) -> Iterator[Span]:
    span = ins.tracer.start_span(name, attributes=attributes)
    token = otel_context.attach(trace.set_span_in_context(span))
    try:
        yield span
    except BaseException as exc:
        _mark(span, exc)
        raise
    finally:
        otel_context.detach(token)
        span.end()


def _mark(span: Span, exc: BaseException) -> None:
    """A cancellation (or a consumer that left) is not an error; anything else is."""
    if isinstance(exc, trio.Cancelled | ConsumerGone):
        span.set_attribute("trio_adk.cancelled", True)
    elif span.is_recording():
        kind = type(exc).__qualname__
        span.set_attribute("error.type", kind)
        span.record_exception(exc)
        span.set_status(Status(StatusCode.ERROR, kind))


@contextlib.contextmanager
def invocation_span(ctx: InvocationContext, root: BaseAgent) -> Iterator[Span]:
    """``invoke_workflow {root agent}``: one run, from its start to its end."""
    start = time.perf_counter()
    attributes = {"gen_ai.workflow.name": root.name}
    try:
        with _span(f"invoke_workflow {root.name}", {
            "gen_ai.operation.name": "invoke_workflow",
            "gen_ai.conversation.id": ctx.session.id,
            **attributes,
        }) as span:
            ctx._shared.trace_context = otel_context.get_current()
            yield span
    finally:
        ins.invoke_workflow_duration.record(time.perf_counter() - start, attributes)


@contextlib.contextmanager
def handed_over(ctx: InvocationContext) -> Iterator[None]:
    """Around a transfer: the next agent's span is a child of the run's span (ADK's
    shape), not of the model call or agent that handed over."""
    saved = ctx._shared.trace_context
    if saved is None:
        yield
        return
    token = otel_context.attach(saved)
    try:
        yield
    finally:
        otel_context.detach(token)


@contextlib.contextmanager
def agent_span(agent: BaseAgent, ctx: InvocationContext) -> Iterator[Span]:
    """``invoke_agent {name}``: one agent's turn, callbacks included."""
    start = time.perf_counter()
    try:
        with _span(f"invoke_agent {agent.name}", {
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.name": agent.name,
            "gen_ai.agent.description": agent.description or "",
            "gen_ai.conversation.id": ctx.session.id,
        }) as span:
            yield span
    finally:
        ins.invoke_agent_duration.record(time.perf_counter() - start,
                                         {"gen_ai.agent.name": agent.name})


class ModelCall:
    """The span of one model call, ended when the model's answer is in: at
    :meth:`finish` (before the tools it called run, so their spans are siblings, as in
    ADK) or when the call's block exits, whichever comes first."""

    def __init__(self, span: Span, token: object, attributes: dict[str, Any]) -> None:
        self.span = span
        self._token = token
        self._attributes = attributes
        self._start = time.perf_counter()
        self._finished = False
        self.input_tokens: int | None = None
        self.output_tokens: int | None = None

    def saw(self, response: LlmResponse, event_id: str | None = None) -> None:
        """Note a response: its usage (the last one wins) and its event's id."""
        usage = response.usage_metadata
        if usage is not None:
            if usage.prompt_token_count is not None:
                self.input_tokens = usage.prompt_token_count
            if usage.candidates_token_count is not None:
                self.output_tokens = usage.candidates_token_count
        if event_id is not None and self.span.is_recording():
            self.span.set_attribute("gcp.vertex.agent.event_id", event_id)

    def finish(self, error: BaseException | None = None) -> None:
        """End the span (once): usage attributes, metrics, the context restored."""
        if self._finished:
            return
        self._finished = True
        span = self.span
        if error is not None:
            _mark(span, error)
        if span.is_recording():
            if self.input_tokens is not None:
                span.set_attribute("gen_ai.usage.input_tokens", self.input_tokens)
            if self.output_tokens is not None:
                span.set_attribute("gen_ai.usage.output_tokens", self.output_tokens)
        otel_context.detach(self._token)  # type: ignore[arg-type]
        span.end()
        attributes = self._attributes
        ins.operation_duration.record(time.perf_counter() - self._start, attributes)
        for kind, count in (("input", self.input_tokens), ("output", self.output_tokens)):
            if count is not None:
                ins.token_usage.record(count, {**attributes, "gen_ai.token.type": kind})


@contextlib.contextmanager
def model_span(agent: BaseAgent, ctx: InvocationContext, request: LlmRequest,
               model: str) -> Iterator[ModelCall]:
    """``generate_content {model}``: one model call, from the request to its answer."""
    attributes = {"gen_ai.operation.name": "generate_content",
                  "gen_ai.request.model": model, "gen_ai.provider.name": "gcp.gemini"}
    span = ins.tracer.start_span(f"generate_content {model}", attributes={
        **attributes,
        "gen_ai.agent.name": agent.name,
        "gen_ai.conversation.id": ctx.session.id,
        "gcp.vertex.agent.invocation_id": ctx.invocation_id,
    })
    if span.is_recording() and request.tools_dict:
        span.set_attribute("gen_ai.tool.definitions", _tool_definitions(request))
    call = ModelCall(span, otel_context.attach(trace.set_span_in_context(span)), attributes)
    try:
        yield call
    except BaseException as exc:
        call.finish(exc)
        raise
    finally:
        call.finish()


@contextlib.contextmanager
def tool_span(agent: BaseAgent, tool: BaseTool, call_id: str | None) -> Iterator[Span]:
    """``execute_tool {name}``: one tool call with its callbacks."""
    start = time.perf_counter()
    attributes = {"gen_ai.tool.name": tool.name}
    try:
        with _span(f"execute_tool {tool.name}", {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.description": tool.description or "",
            "gen_ai.tool.type": type(tool).__name__,
            "gen_ai.tool.call.id": call_id or "",
            "gen_ai.agent.name": agent.name,
            **attributes,
        }) as span:
            yield span
    finally:
        ins.execute_tool_duration.record(time.perf_counter() - start, attributes)


def record_cancelled_run(reason: str) -> None:
    """Count a run that ended cancelled, by why."""
    ins.run_cancellations.add(1, {"trio_adk.cancel.reason": reason})


def _tool_definitions(request: LlmRequest) -> str:
    return json.dumps([
        {"name": name, "description": tool.description or "", "type": "function"}
        for name, tool in request.tools_dict.items()
    ], separators=(",", ":"), ensure_ascii=False)
