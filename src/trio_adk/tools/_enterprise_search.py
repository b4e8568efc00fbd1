"""Enterprise web search: Gemini's web grounding for enterprise compliance."""

from __future__ import annotations

from typing import TYPE_CHECKING

from google.genai import types

from trio_adk._usercode._host import native
from trio_adk.tools._base_tool import BaseTool
from trio_adk.tools._gemini_models import add_builtin_tool

if TYPE_CHECKING:
    from trio_adk.models._llm_request import LlmRequest
    from trio_adk.tools._tool_context import ToolContext


class EnterpriseWebSearchTool(BaseTool):
    """Gemini's built-in enterprise web search (not Vertex AI Search): the model runs it.

    Adds ``types.Tool(enterprise_web_search=...)`` to the request of a Gemini model; any
    other model raises ``ValueError``.  On models before Gemini 3 it cannot share a
    request with function calls, so an agent with sub-agents to transfer to raises
    ``ValueError`` before the model call.
    """

    def __init__(self) -> None:
        super().__init__(name="enterprise_web_search", description="enterprise_web_search")

    @native
    async def process_llm_request(
        self, *, tool_context: ToolContext, llm_request: LlmRequest
    ) -> None:
        """Add enterprise web search to the request's tools (the model runs it)."""
        add_builtin_tool(
            llm_request, types.Tool(enterprise_web_search=types.EnterpriseWebSearch()),
            "Enterprise Web Search tool")


enterprise_web_search_tool = EnterpriseWebSearchTool()
"""The shared ``EnterpriseWebSearchTool`` instance (``tools.enterprise_web_search``)."""
