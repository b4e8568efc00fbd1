"""load_memory: the tool the model calls to search the user's memory."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs
from google.genai import types

from trio_adk._usercode._host import native
from trio_adk._utils._model import ModelMixin
from trio_adk.memory._base import MemoryEntry
from trio_adk.tools._function_tool import FunctionTool, missing_args_error
from trio_adk.tools._tool_context import ToolContext

if TYPE_CHECKING:
    from trio_adk.models._llm_request import LlmRequest

# Added to every request of an agent that has this tool (our wording; ADK adds one too).
_MEMORY_INSTRUCTION = """
A memory of earlier conversations with this user is available. When answering needs
something from it, call the load_memory function with a query describing what to find.
"""


@attrs.define(kw_only=True)
class LoadMemoryResponse(ModelMixin):
    """What ``load_memory`` returns: the memories that matched the query."""

    memories: list[MemoryEntry] = attrs.field(factory=list)


async def load_memory(query: str, tool_context: ToolContext) -> LoadMemoryResponse:
    """Search the current user's memory.

    Args:
        query: What to look for in the memory.

    Returns:
        The memories that match the query.
    """
    found = await tool_context.search_memory(query)
    return LoadMemoryResponse(memories=list(found.memories))


class LoadMemoryTool(FunctionTool):
    """The ``load_memory`` tool: the model searches the user's memory with a query.

    Declared with one required string parameter ``query``; every request of an agent
    that has it also gets an instruction saying memory can be loaded with it.  The
    search runs in the run's trio task on the invocation's memory service (a missing
    service is an error reported to the model through the tool-error path).  The result
    the model sees is ``{"result": {"memories": [...]}}``, each memory dumped as JSON
    (content, author, timestamp), which is what ADK's model receives.  Only text parts
    of memories are meaningful to the model.  Cancellation: cancelled with the run.
    """

    def __init__(self) -> None:
        super().__init__(load_memory)

    def _build_declaration(self) -> types.FunctionDeclaration:
        return types.FunctionDeclaration(
            name=self.name,
            description=self.description,
            parameters=types.Schema(
                type=types.Type.OBJECT,
                properties={"query": types.Schema(type=types.Type.STRING)},
                required=["query"],
            ),
        )

    @native
    async def run_async(self, *, args: dict[str, Any], tool_context: ToolContext) -> Any:
        """Search the memory for ``args["query"]`` and return the matches as JSON."""
        query = args.get("query")
        if query is None:
            return missing_args_error(self.name, ["query"])
        response = await load_memory(str(query), tool_context)
        memories = [m.model_dump(mode="json", exclude_none=True) for m in response.memories]
        return {"result": {"memories": memories}}

    @native
    async def process_llm_request(
        self, *, tool_context: ToolContext, llm_request: LlmRequest
    ) -> None:
        """Declare the tool and add the memory instruction to the system instruction."""
        await super().process_llm_request(tool_context=tool_context, llm_request=llm_request)
        llm_request.append_instructions([_MEMORY_INSTRUCTION])


load_memory_tool = LoadMemoryTool()
"""The ``load_memory`` tool, ready to list in an agent's ``tools``."""
