"""url_context: Gemini fetches the URLs in the conversation itself and reads them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from google.genai import types

from trio_adk._usercode._host import native
from trio_adk.tools._base_tool import BaseTool
from trio_adk.tools._gemini_models import add_builtin_tool

if TYPE_CHECKING:
    from trio_adk.models._llm_request import LlmRequest
    from trio_adk.tools._tool_context import ToolContext


class UrlContextTool(BaseTool):
    """Gemini's built-in URL context: the model retrieves pages, nothing runs here.

    Adds ``types.Tool(url_context=...)`` to the request of a Gemini model; any other
    model raises ``ValueError``.
    """

    def __init__(self) -> None:
        super().__init__(name="url_context", description="url_context")

    @native
    async def process_llm_request(
        self, *, tool_context: ToolContext, llm_request: LlmRequest
    ) -> None:
        """Add URL context to the request's tools (the model runs it)."""
        add_builtin_tool(llm_request, types.Tool(url_context=types.UrlContext()),
                         "Url context tool")


url_context = UrlContextTool()
"""The shared ``UrlContextTool`` instance apps list in ``tools=[url_context]``."""
