"""ADK-compatible import path.

Re-exports for ``google.adk.agents.live_request_queue``.
"""

from trio_adk.agents._live_request_queue import LiveRequest as LiveRequest
from trio_adk.agents._live_request_queue import LiveRequestQueue as LiveRequestQueue
from trio_adk.agents._live_request_queue import QueueFull as QueueFull

__all__ = ["LiveRequest", "LiveRequestQueue", "QueueFull"]
