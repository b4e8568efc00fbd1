"""ADK-compatible import path.

Re-exports for ``google.adk.tools.vertex_ai_search_tool``.
"""

from trio_adk.tools._vertex_ai_search import VertexAiSearchTool as VertexAiSearchTool

__all__ = ["VertexAiSearchTool"]
