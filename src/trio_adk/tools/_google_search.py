"""google_search: Gemini searches Google itself and grounds its answer in the results."""

from __future__ import annotations

from typing import TYPE_CHECKING

from google.genai import types

from trio_adk._usercode._host import native
from trio_adk.tools._base_tool import BaseTool
from trio_adk.tools._gemini_models import add_builtin_tool

if TYPE_CHECKING:
    from trio_adk.models._llm_request import LlmRequest
    from trio_adk.tools._tool_context import ToolContext


class GoogleSearchTool(BaseTool):
    """Gemini's built-in Google Search: the model runs the searches, nothing runs here.

    Adds ``types.Tool(google_search=...)`` to the request of a Gemini model (any other
    model raises ``ValueError``); the sources come back on the event as
    ``grounding_metadata``.  ``model`` replaces the request's model when set.
    ``bypass_multi_tools_limit=True`` lets search share an agent with other tools (or
    agents to transfer to) on models before Gemini 3, as in ADK: the model is then offered
    the function ``google_search_agent`` instead, which runs a one-tool search agent on the
    agent's model (see ``GoogleSearchAgentTool``).
    """

    def __init__(self, *, bypass_multi_tools_limit: bool = False,
                 model: str | None = None) -> None:
        if not isinstance(bypass_multi_tools_limit, bool):
            raise TypeError("GoogleSearchTool: bypass_multi_tools_limit must be a bool, got "
                            f"{type(bypass_multi_tools_limit).__name__}.")
        if model is not None and (not isinstance(model, str) or not model):
            raise TypeError("GoogleSearchTool: model must be a non-empty model name or None, "
                            f"got {model!r}.")
        super().__init__(name="google_search", description="google_search")
        self.bypass_multi_tools_limit = bypass_multi_tools_limit
        self.model = model

    @native
    async def process_llm_request(
        self, *, tool_context: ToolContext, llm_request: LlmRequest
    ) -> None:
        """Add Google Search to the request's tools (the model runs it), or, with
        ``bypass_multi_tools_limit`` in an agent with other tools, the search agent's
        function."""
        if self.bypass_multi_tools_limit:
            from trio_adk.tools._builtin_rules import search_agent_stand_in

            stand_in = search_agent_stand_in(tool_context)
            if stand_in is not None:
                await stand_in.process_llm_request(tool_context=tool_context,
                                                   llm_request=llm_request)
                return
        if self.model is not None:
            llm_request.model = self.model
        add_builtin_tool(llm_request, types.Tool(google_search=types.GoogleSearch()),
                         "Google search tool")


google_search = GoogleSearchTool()
"""The shared ``GoogleSearchTool`` instance apps list in ``tools=[google_search]``."""
