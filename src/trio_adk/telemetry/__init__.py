"""OpenTelemetry: the spans and metrics trio-adk emits (ADK's names), and its tracer.

Install an SDK (``pip install 'trio-adk[otel]'``) and set a tracer provider to see them;
without one they cost next to nothing.  ``trio_adk.telemetry.tracing.tracer`` is the
tracer (ADK's path), for spans of your own that nest under the engine's.
"""

from trio_adk.telemetry._instruments import TRACER_NAME as TRACER_NAME
from trio_adk.telemetry._instruments import tracer as tracer

__all__ = ["TRACER_NAME", "tracer"]
