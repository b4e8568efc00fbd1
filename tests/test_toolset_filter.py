"""A toolset's ``tool_filter``: a list of names, or a predicate (ADK's ToolPredicate)."""

from __future__ import annotations

from typing import Any

import pytest

from helpers import make_runner, run_text
from trio_adk import Agent
from trio_adk.testing import ScriptedModel
from trio_adk.tools import BaseTool, BaseToolset, FunctionTool
from trio_adk.tools.base_toolset import ToolPredicate


def read_file(path: str) -> str:
    """Read a file."""
    return path


def delete_file(path: str) -> str:
    """Delete a file."""
    return path


class Files(BaseToolset):
    async def get_tools(self, readonly_context: Any = None) -> list[BaseTool]:
        return [FunctionTool(read_file), FunctionTool(delete_file)]


def declared(model: ScriptedModel) -> list[str]:
    config = model.requests[0].config
    assert config is not None
    return [d.name or "" for t in config.tools or [] for d in t.function_declarations or []]


@pytest.mark.parametrize("tool_filter", [
    ["read_file"], lambda tool, ctx: tool.name.startswith("read")])
async def test_a_filter_keeps_only_the_selected_tools(tool_filter: Any) -> None:
    model = ScriptedModel(replies=["ok"])
    await run_text(await make_runner(Agent(name="bot", model=model,
                                           tools=[Files(tool_filter=tool_filter)])), "hi")
    assert ["read_file"] == declared(model)


async def test_a_predicate_sees_the_request_context() -> None:
    seen: list[str] = []

    def only_for_user1(tool: BaseTool, readonly_context: Any = None) -> bool:
        seen.append(readonly_context.user_id)
        return True

    assert isinstance(only_for_user1, ToolPredicate)
    model = ScriptedModel(replies=["ok"])
    await run_text(await make_runner(Agent(name="bot", model=model,
                                           tools=[Files(tool_filter=only_for_user1)])), "hi")
    assert ["user1", "user1"] == seen


def test_a_filter_of_another_type_is_refused() -> None:
    with pytest.raises(TypeError, match="tool_filter"):
        Files(tool_filter="read_file")  # type: ignore[arg-type]
