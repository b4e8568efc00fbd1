"""ADK-compatible import path.

Re-exports for ``google.adk.tools.google_maps_grounding_tool``.
"""

from trio_adk.tools._google_maps import GoogleMapsGroundingTool as GoogleMapsGroundingTool
from trio_adk.tools._google_maps import google_maps_grounding as google_maps_grounding

__all__ = ["GoogleMapsGroundingTool", "google_maps_grounding"]
