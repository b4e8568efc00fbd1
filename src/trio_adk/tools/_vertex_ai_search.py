"""VertexAiSearchTool: Gemini retrieves from a Vertex AI Search data store or engine."""

from __future__ import annotations

from typing import TYPE_CHECKING

from google.genai import types

from trio_adk._usercode._host import call_user, native
from trio_adk.tools._base_tool import BaseTool
from trio_adk.tools._gemini_models import add_builtin_tool, require_gemini_model

if TYPE_CHECKING:
    from trio_adk.agents._callback_context import ReadonlyContext
    from trio_adk.models._llm_request import LlmRequest
    from trio_adk.tools._tool_context import ToolContext


def _optional_str(value: object, what: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise TypeError(f"VertexAiSearchTool: {what} must be a str or None, "
                        f"got {type(value).__name__}.")
    return value


class VertexAiSearchTool(BaseTool):
    """Gemini's built-in retrieval from Vertex AI Search: the model runs the search.

    Give exactly one of ``data_store_id`` (``projects/.../dataStores/...``) and
    ``search_engine_id`` (``projects/.../engines/...``); ``data_store_specs`` only with an
    engine (``ValueError`` otherwise).  ``filter`` and ``max_results`` narrow the search.
    Adds ``types.Tool(retrieval=types.Retrieval(vertex_ai_search=...))`` to the request of
    a Gemini model (any other model raises ``ValueError``).  Subclasses may override
    ``_build_vertex_ai_search_config(readonly_context)`` to build the search per request
    (for example a filter from session state); an override runs on the caller's library.
    ``name`` and ``description`` only label the tool here.  ``bypass_multi_tools_limit``:
    as for ``GoogleSearchTool`` (ADK swaps in a Discovery Engine function tool; trio-adk
    raises ``ValueError`` for that combination on models before Gemini 3).
    """

    def __init__(
        self,
        *,
        data_store_id: str | None = None,
        data_store_specs: list[types.VertexAISearchDataStoreSpec] | None = None,
        search_engine_id: str | None = None,
        filter: str | None = None,
        max_results: int | None = None,
        bypass_multi_tools_limit: bool = False,
        name: str | None = None,
        description: str | None = None,
    ) -> None:
        _optional_str(data_store_id, "data_store_id")
        _optional_str(search_engine_id, "search_engine_id")
        _optional_str(filter, "filter")
        _optional_str(name, "name")
        _optional_str(description, "description")
        if (data_store_id is None) == (search_engine_id is None):
            raise ValueError("VertexAiSearchTool: give exactly one of data_store_id and "
                             "search_engine_id.")
        if data_store_specs is not None and search_engine_id is None:
            raise ValueError("VertexAiSearchTool: data_store_specs needs search_engine_id "
                             "(it selects data stores of an engine).")
        if max_results is not None and (isinstance(max_results, bool)
                                        or not isinstance(max_results, int)):
            raise TypeError("VertexAiSearchTool: max_results must be an int or None, got "
                            f"{type(max_results).__name__}.")
        if not isinstance(bypass_multi_tools_limit, bool):
            raise TypeError("VertexAiSearchTool: bypass_multi_tools_limit must be a bool, "
                            f"got {type(bypass_multi_tools_limit).__name__}.")
        super().__init__(name=name or "vertex_ai_search",
                         description=description or "vertex_ai_search")
        self.data_store_id = data_store_id
        self.data_store_specs = data_store_specs
        self.search_engine_id = search_engine_id
        self.filter = filter
        self.max_results = max_results
        self.bypass_multi_tools_limit = bypass_multi_tools_limit

    def _build_vertex_ai_search_config(
        self, readonly_context: ReadonlyContext
    ) -> types.VertexAISearch:
        """The search configuration of one request; override to build it per request."""
        return types.VertexAISearch(
            datastore=self.data_store_id,
            data_store_specs=self.data_store_specs,
            engine=self.search_engine_id,
            filter=self.filter,
            max_results=self.max_results,
        )

    @native
    async def process_llm_request(
        self, *, tool_context: ToolContext, llm_request: LlmRequest
    ) -> None:
        """Add Vertex AI Search retrieval to the request's tools (the model runs it)."""
        require_gemini_model(llm_request, "Vertex AI search tool")
        config = await call_user(self._build_vertex_ai_search_config, tool_context)
        if not isinstance(config, types.VertexAISearch):
            raise TypeError(f"{type(self).__name__}._build_vertex_ai_search_config must "
                            f"return types.VertexAISearch, got {type(config).__name__}.")
        add_builtin_tool(
            llm_request,
            types.Tool(retrieval=types.Retrieval(vertex_ai_search=config)),
            "Vertex AI search tool",
        )
