"""ADK's path for the tracer: ``tracing.tracer.start_as_current_span(...)``."""

from trio_adk.telemetry._instruments import tracer as tracer

__all__ = ["tracer"]
