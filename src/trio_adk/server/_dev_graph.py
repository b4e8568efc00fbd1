"""An app's agent tree for the dev UI: as JSON (``build_graph``) and as Graphviz DOT text
(``build_graph_image``, ``graph`` and an event's graph), which the UI renders itself.

Pure functions of the agent objects: no I/O, nothing to cancel.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import pydantic

from trio_adk.agents._base_agent import BaseAgent

_HIDDEN_FIELDS = frozenset({"parent_agent", "sub_agents", "tools"})


def _tool_name(tool: object) -> str:
    name = getattr(tool, "name", None)
    if isinstance(name, str):
        return name
    name = getattr(tool, "__name__", None)
    return name if isinstance(name, str) else type(tool).__name__


def _tools(agent: BaseAgent) -> list[object]:
    tools = getattr(agent, "tools", None)
    return list(tools) if isinstance(tools, list) else []


def _plain(value: object) -> object:
    """A JSON-ready form of a field's value, or ``None`` to leave the field out."""
    if value is None or (callable(value) and not isinstance(value, pydantic.BaseModel)):
        return None  # callbacks, instruction providers, schema classes
    if isinstance(value, str | int | float | bool):
        return value
    model = getattr(value, "model", None)
    if isinstance(model, str) and not isinstance(value, BaseAgent):
        return model  # a BaseLlm: its model name
    if isinstance(value, pydantic.BaseModel):
        return value.model_dump(mode="json", exclude_none=True)
    if isinstance(value, list | dict):
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            return None
        return value
    return str(value)


def agent_tree(agent: BaseAgent) -> dict[str, Any]:
    """The agent, its settings, its tools (``{"name", "type": "tool"}``) and its
    sub-agents (recursively), in the dev UI's ``root_agent`` shape."""
    data: dict[str, Any] = {}
    for field in type(agent).model_fields:
        if field in _HIDDEN_FIELDS or field.endswith(("_callback", "_callbacks")):
            continue
        value = _plain(getattr(agent, field, None))
        if value is not None:
            data[field] = value
    data["sub_agents"] = [agent_tree(sub) for sub in agent.sub_agents]
    sub_names = {sub.name for sub in agent.sub_agents}
    tools = [_tool_name(tool) for tool in _tools(agent)]
    if tools or "tools" in type(agent).model_fields:
        data["tools"] = [{"name": name, "type": "tool"} for name in tools
                         if name not in sub_names]
    return data


def find_agent(root: BaseAgent, path: str) -> BaseAgent | None:
    """The agent at ``a/b/c`` below ``root`` (the root's own name may lead the path)."""
    parts = [part.split("@")[0] for part in path.strip("/").split("/") if part]
    if parts and parts[0] == root.name:
        parts = parts[1:]
    agent = root
    for part in parts:
        found = next((sub for sub in agent.sub_agents if sub.name == part), None)
        if found is None:
            return None
        agent = found
    return agent


_THEMES = {
    False: {"bg": "#ffffff", "fg": "#1f2937", "line": "#94a3b8", "hot": "#16a34a",
            "hot_fill": "#dcfce7"},
    True: {"bg": "#1e1f20", "fg": "#e5e7eb", "line": "#6b7280", "hot": "#22c55e",
           "hot_fill": "#14532d"},
}


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def agent_dot(root: BaseAgent, *, dark_mode: bool = False,
              highlights: Iterable[tuple[str | None, str | None]] = ()) -> str:
    """The tree as a DOT digraph: agents as rounded boxes (workflow agents labelled with
    their kind), tools as plain boxes, edges parent to child.  ``highlights`` are
    ``(from, to)`` name pairs whose nodes and edge are drawn in the accent colour."""
    theme = _THEMES[dark_mode]
    pairs = [(a, b) for a, b in highlights]
    hot_nodes = {name for pair in pairs for name in pair if name}
    hot_edges = {(a, b) for a, b in pairs if a and b}
    lines = [
        "digraph agents {",
        f'  graph [bgcolor="{theme["bg"]}" rankdir=TB nodesep=0.4 ranksep=0.6];',
        f'  node [fontname="Helvetica" fontsize=12 color="{theme["line"]}" '
        f'fontcolor="{theme["fg"]}" penwidth=1.4];',
        f'  edge [color="{theme["line"]}" arrowsize=0.7];',
    ]
    seen: set[str] = set()

    def node(name: str, label: str, shape: str, style: str) -> None:
        if name in seen:
            return
        seen.add(name)
        extra = ""
        if name in hot_nodes:
            extra = f' color="{theme["hot"]}" fillcolor="{theme["hot_fill"]}"'
            style += ",filled"
        lines.append(f"  {_quote(name)} [label={_quote(label)} shape={shape} "
                     f'style="{style}"{extra}];')

    def edge(a: str, b: str, dashed: bool) -> None:
        attrs = ["style=dashed"] if dashed else []
        if (a, b) in hot_edges or (b, a) in hot_edges:
            attrs.append(f'color="{theme["hot"]}" penwidth=2')
        lines.append(f"  {_quote(a)} -> {_quote(b)} [{' '.join(attrs)}];")

    def visit(agent: BaseAgent) -> None:
        kind = type(agent).__name__
        label = agent.name if kind in ("LlmAgent", "Agent") else f"{agent.name}\n({kind})"
        node(agent.name, label, "box", "rounded")
        for sub in agent.sub_agents:
            visit(sub)
            edge(agent.name, sub.name, dashed=False)
        sub_names = {sub.name for sub in agent.sub_agents}
        for tool in _tools(agent):
            name = _tool_name(tool)
            if name in sub_names:
                continue
            node(name, name, "box", "dashed")
            edge(agent.name, name, dashed=True)

    visit(root)
    lines.append("}")
    return "\n".join(lines) + "\n"
