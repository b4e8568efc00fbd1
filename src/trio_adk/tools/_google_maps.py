"""google_maps_grounding: Gemini grounds its answer in Google Maps data itself."""

from __future__ import annotations

from typing import TYPE_CHECKING

from google.genai import types

from trio_adk._usercode._host import native
from trio_adk.tools._base_tool import BaseTool
from trio_adk.tools._gemini_models import add_builtin_tool

if TYPE_CHECKING:
    from trio_adk.models._llm_request import LlmRequest
    from trio_adk.tools._tool_context import ToolContext


class GoogleMapsGroundingTool(BaseTool):
    """Gemini's built-in Google Maps grounding: the model runs it, nothing runs here.

    Adds ``types.Tool(google_maps=...)`` to the request of a Gemini model; any other
    model raises ``ValueError``.  The service offers it on Vertex AI only.
    """

    def __init__(self) -> None:
        super().__init__(name="google_maps", description="google_maps")

    @native
    async def process_llm_request(
        self, *, tool_context: ToolContext, llm_request: LlmRequest
    ) -> None:
        """Add Google Maps grounding to the request's tools (the model runs it)."""
        add_builtin_tool(llm_request, types.Tool(google_maps=types.GoogleMaps()),
                         "Google maps tool")


google_maps_grounding = GoogleMapsGroundingTool()
"""The shared ``GoogleMapsGroundingTool`` instance for ``tools=[google_maps_grounding]``."""
