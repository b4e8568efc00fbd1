"""preload_memory: memories matching the user's message, added to every request."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from google.genai import types

from trio_adk._usercode._host import native
from trio_adk.tools._base_tool import BaseTool
from trio_adk.tools._request_text import content_text, insert_before_current_turn

if TYPE_CHECKING:
    from trio_adk.memory._base import MemoryEntry
    from trio_adk.models._llm_request import LlmRequest
    from trio_adk.tools._tool_context import ToolContext

_log = logging.getLogger("trio_adk")


def _memory_lines(memories: list[MemoryEntry]) -> list[str]:
    lines: list[str] = []
    for memory in memories:
        if memory.timestamp:
            lines.append(f"Time: {memory.timestamp}")
        text = content_text(memory.content)
        if text:
            lines.append(f"{memory.author}: {text}" if memory.author else text)
    return lines


def _past_conversations(lines: list[str]) -> str:
    body = "\n".join(lines)
    return (
        "Excerpts of earlier conversations with this user follow; use them if they help\n"
        "with the current request.\n"
        f"<PAST_CONVERSATIONS>\n{body}\n</PAST_CONVERSATIONS>\n"
    )


class PreloadMemoryTool(BaseTool):
    """Searches the user's memory with their message before every model call.

    The model never calls it (it has no declaration).  For each request of an agent
    that lists it, the text of the invocation's user message is the query; the matching
    memories (``Time: ...`` and ``author: text`` lines) are wrapped in a
    ``<PAST_CONVERSATIONS>`` block and sent as a user content placed just before the
    current user turn (after the function responses when the model continues a tool
    call), as ADK 2.13 does.  It is not stored in the session.  A failing search is
    logged and skipped; no user text or no match adds nothing.  Runs in the run's trio
    task; cancelled with the run.
    """

    def __init__(self) -> None:
        super().__init__(name="preload_memory", description="preload_memory")

    @native
    async def process_llm_request(
        self, *, tool_context: ToolContext, llm_request: LlmRequest
    ) -> None:
        """Add the memories matching the user's message to ``llm_request``."""
        query = content_text(tool_context.user_content)
        if not query:
            return
        try:
            response = await tool_context.search_memory(query)
        except Exception:
            _log.warning("preload_memory: memory search failed (query of %d characters)",
                         len(query), exc_info=True)
            return
        lines = _memory_lines(response.memories)
        if not lines:
            return
        block = types.Content(role="user", parts=[types.Part(text=_past_conversations(lines))])
        insert_before_current_turn(llm_request.contents, [block])


preload_memory_tool = PreloadMemoryTool()
"""The ``preload_memory`` tool, ready to list in an agent's ``tools``."""
