"""The dev UI's trace view: the engine's finished spans, kept in a bounded ring buffer.

Only the web mode collects spans (:func:`collect_spans`), and only with
``opentelemetry-sdk`` installed; the api_server keeps none.  The routes answer in the
shapes of ADK 2.13's dev server: a span's attributes by the event it produced, and every
span of the traces a session took part in.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import threading
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import ReadableSpan

_log = logging.getLogger("trio_adk.server")

DEFAULT_CAPACITY = 10_000
"""Spans a :class:`SpanRing` keeps by default (the oldest are dropped first)."""

EVENT_ID = "gcp.vertex.agent.event_id"
INVOCATION_ID = "gcp.vertex.agent.invocation_id"
CONVERSATION_ID = "gen_ai.conversation.id"
SESSION_ID = "gcp.vertex.agent.session_id"

NO_SDK_MESSAGE = ("The dev UI's trace view stays empty: install the OpenTelemetry SDK to fill "
                  "it (pip install 'trio-adk[otel]').")


def _traces_an_event(name: str) -> bool:
    """Spans the per-event view shows: a model call, a tool call, a live send."""
    return (name in ("call_llm", "send_data") or name.startswith("generate_content")
            or name.startswith("execute_tool"))


def _shown_in_session(span: ReadableSpan) -> bool:
    """The dev UI rejects a whole session trace when one ``generate_content`` span lacks
    its event or invocation id (a model call cancelled before it answered has no event):
    such spans are left out of the session view."""
    if not span.name.startswith("generate_content"):
        return True
    attributes = span.attributes or {}
    return isinstance(attributes.get(EVENT_ID), str) and isinstance(
        attributes.get(INVOCATION_ID), str)


def _span_json(span: ReadableSpan) -> dict[str, Any]:
    context = span.get_span_context()
    assert context is not None  # an SDK span always has one
    return {
        "name": span.name,
        "start_time": span.start_time,
        "end_time": span.end_time,
        "trace_id": context.trace_id,
        "span_id": context.span_id,
        "parent_span_id": span.parent.span_id if span.parent is not None else None,
        "attributes": _attributes(span.attributes),
        "logs": [],
    }


def _attributes(attributes: Mapping[str, Any] | None) -> dict[str, Any]:
    return {key: list(value) if isinstance(value, tuple) else value
            for key, value in (attributes or {}).items()}


class SpanRing:
    """The last ``capacity`` finished spans, for the dev UI's trace routes.

    Spans are added from whichever thread ends them (the trio thread, worker threads), so
    every method takes a short lock; queries scan the buffer (bounded, so bounded work)
    and return plain JSON-ready values.  Nothing here blocks or awaits, so there is
    nothing to cancel.
    """

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, not {capacity}")
        self.capacity = capacity
        self._spans: collections.deque[ReadableSpan] = collections.deque(maxlen=capacity)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<SpanRing {len(self)}/{self.capacity} spans>"

    def __len__(self) -> int:
        with self._lock:
            return len(self._spans)

    def add(self, span: ReadableSpan) -> None:
        """Keep a finished span (dropping the oldest when full)."""
        with self._lock:
            self._spans.append(span)

    def clear(self) -> None:
        with self._lock:
            self._spans.clear()

    def _snapshot(self) -> list[ReadableSpan]:
        with self._lock:
            return list(self._spans)

    def event_trace(self, event_id: str) -> dict[str, Any] | None:
        """The attributes of the span that produced the event (a model call's or a tool
        call's; the last one ended wins), with its ``trace_id`` and ``span_id``; ``None``
        when the buffer has none."""
        for span in reversed(self._snapshot()):
            if not _traces_an_event(span.name):
                continue
            attributes = span.attributes or {}
            if attributes.get(EVENT_ID) != event_id:
                continue
            context = span.get_span_context()
            assert context is not None
            return {**_attributes(attributes), "trace_id": context.trace_id,
                    "span_id": context.span_id}
        return None

    def session_trace(self, session_id: str) -> list[dict[str, Any]]:
        """Every kept span of the traces (runs) a span of the session belongs to, in the
        order they ended; ``[]`` when none is kept."""
        spans = self._snapshot()
        traces: set[int] = set()
        for span in spans:
            attributes = span.attributes or {}
            if session_id in (attributes.get(CONVERSATION_ID), attributes.get(SESSION_ID)):
                context = span.get_span_context()
                assert context is not None
                traces.add(context.trace_id)
        if not traces:
            return []
        found = []
        for span in spans:
            context = span.get_span_context()
            if context is not None and context.trace_id in traces and _shown_in_session(span):
                found.append(_span_json(span))
        return found


class _Hub:
    """The one span processor trio-adk adds to a tracer provider: it hands each finished
    span to the rings collecting at the time."""

    def __init__(self) -> None:
        self.rings: list[SpanRing] = []
        self.lock = threading.Lock()
        self.providers: list[object] = []  # those the hub was added to (never removed)

    def on_end(self, span: ReadableSpan) -> None:
        with self.lock:
            rings = list(self.rings)
        for ring in rings:
            ring.add(span)


_HUB = _Hub()


def _install_processor(provider: object | None) -> bool:
    """Add the hub to ``provider`` (default: the global tracer provider, an SDK one being
    created and set when there is none); ``False`` when spans cannot be collected (no SDK,
    or a provider that is not the SDK's)."""
    try:
        from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
    except ImportError:
        _log.info(NO_SDK_MESSAGE)
        return False
    from opentelemetry import trace

    if provider is None:
        provider = trace.get_tracer_provider()
        if isinstance(provider, trace.ProxyTracerProvider):
            trace.set_tracer_provider(TracerProvider())
            provider = trace.get_tracer_provider()  # another thread may have won the race
    if any(provider is known for known in _HUB.providers):
        return True
    if not isinstance(provider, TracerProvider):
        _log.info("The dev UI's trace view stays empty: the tracer provider (%s) is not "
                  "the OpenTelemetry SDK's.", type(provider).__name__)
        return False

    class _HubProcessor(SpanProcessor):
        def on_end(self, span: ReadableSpan) -> None:
            _HUB.on_end(span)

    provider.add_span_processor(_HubProcessor())
    _HUB.providers.append(provider)
    return True


@contextlib.contextmanager
def collect_spans(ring: SpanRing, *, provider: object | None = None) -> Iterator[bool]:
    """Feed ``ring`` with every span that ends while the block runs.

    The first use adds one span processor to ``provider`` (an SDK ``TracerProvider``;
    default: the process's global one, an SDK provider being set when the process has
    none, while one set before, with its exporters, is kept and shared); it stays for the
    provider's life and costs nothing once no ring collects.  Yields whether spans are
    collected: ``False`` (and one log line saying how to enable it) without
    ``opentelemetry-sdk``.  Synchronous and instant: usable around ``await serve(...)``,
    and leaving the block (by cancellation too) stops the collection.
    """
    with _HUB.lock:
        installed = _install_processor(provider)
        if installed:
            _HUB.rings.append(ring)
    try:
        yield installed
    finally:
        if installed:
            with _HUB.lock:
                _HUB.rings.remove(ring)
