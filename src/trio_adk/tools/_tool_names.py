"""Tool names: the model calls a tool by its name, so the name must be one the model
accepts, and no two tools of one agent may share it.

Gemini's rule for a function name (``FunctionDeclaration.name``): 1 to 128 characters,
letters, digits, ``_``, ``.``, ``:`` or ``-``, starting with a letter or ``_``.  A name
that breaks it is refused by the service with HTTP 400 at the first model call; these
checks say so when the tool is set up instead.  Pure computation, any thread.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from trio_adk.tools._base_tool import BaseTool, BaseToolset

_VALID_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.:-]{0,127}")

NAME_RULE = (
    "1 to 128 letters, digits, '_', '.', ':' or '-', starting with a letter or '_'"
)


def is_valid_tool_name(name: object) -> bool:
    """Whether the model accepts ``name`` as the name of a function it may call."""
    return isinstance(name, str) and _VALID_NAME.fullmatch(name) is not None


def check_tool_name(name: object, *, what: str) -> None:
    """Raise ``ValueError`` unless ``name`` is a valid tool name.

    ``what`` says where the name came from, for the message (for example
    ``"function '<lambda>'"`` or ``"tool <MyTool 'x y'>"``).
    """
    if is_valid_tool_name(name):
        return
    if name == "<lambda>":
        raise ValueError(
            f"Cannot use {what} as a tool: a lambda has no name the model can call it by "
            "('<lambda>'). Define the tool with `def your_tool_name(...)` instead; the "
            "function's name becomes the tool's name."
        )
    raise ValueError(
        f"Cannot use {what} as a tool: its name {name!r} is not a valid function name "
        f"for the model ({NAME_RULE}). Rename the function, or give the BaseTool a valid "
        "`name`."
    )


def describe_tool_entry(entry: object) -> str:
    """A short description of something listed in ``LlmAgent.tools``, for messages."""
    if isinstance(entry, BaseTool | BaseToolset):
        return repr(entry)
    qualname = getattr(entry, "__qualname__", None)
    module = getattr(entry, "__module__", None)
    if isinstance(qualname, str):
        return f"function {module}.{qualname}" if module else f"function {qualname}"
    return repr(entry)


def check_unique_tool_names(
    tools: Iterable[tuple[str, object, str]], *, agent_name: str
) -> None:
    """Raise ``ValueError`` when two tools of one agent share a name.

    Each item is ``(tool name, the object listed, where it is listed)``, the last for
    example ``"tools[2]"`` or ``"toolset <MyToolset>"``; the message names both places.
    """
    seen: dict[str, tuple[object, str]] = {}
    for name, entry, origin in tools:
        if name not in seen:
            seen[name] = (entry, origin)
            continue
        first_entry, first_origin = seen[name]
        if first_entry is entry:
            raise ValueError(
                f"Agent `{agent_name}` lists the same tool twice: {first_origin} and "
                f"{origin} are both {describe_tool_entry(entry)}. List each tool once."
            )
        raise ValueError(
            f"Agent `{agent_name}` has two tools named {name!r}: {first_origin} "
            f"({describe_tool_entry(first_entry)}) and {origin} "
            f"({describe_tool_entry(entry)}). The model calls tools by name, so names "
            "must be unique within an agent: rename one of them (a function tool is named "
            "after its `def`), or leave one out (a toolset's `tool_filter`)."
        )
