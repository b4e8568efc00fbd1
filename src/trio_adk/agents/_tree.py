"""The agent tree: each agent in one place, names unique, parent links that match.

Checked when an agent is built (for the tree below it) and, through ``validate_tree``,
when a run starts (for trees changed after they were built, for example with
``agent.sub_agents.append(...)``).  Both are atomic: every check runs first, and only
when all pass are parent links set, so a tree that fails to build leaves the agents it
was given as they were.  Pure computation, any thread.

Agents are named in messages by their path from the tree's root (``root.child.leaf``).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import TYPE_CHECKING

import attrs

from trio_adk.errors import AgentTreeError

if TYPE_CHECKING:
    from trio_adk.agents._base_agent import BaseAgent

_CHECKED = "_tree_checked"
"""Key, in a root agent's ``__dict__``, of the fingerprint of its last checked tree."""


@attrs.frozen
class _Entry:
    """One agent as it was when its tree was checked."""

    agent: BaseAgent
    name: str
    parent: BaseAgent | None
    sub_agents: tuple[BaseAgent, ...]
    config: object

    def holds(self) -> bool:
        agent = self.agent
        return (
            agent.name == self.name
            and agent.parent_agent is self.parent
            and tuple(agent.sub_agents) == self.sub_agents
            and agent._own_config_key() == self.config
        )


def agent_name_problem(name: str) -> str | None:
    """Why ``name`` cannot name an agent, or ``None`` when it can."""
    if not name.isidentifier():
        return (
            f"Found invalid agent name: `{name}`. Agent name must be a valid Python "
            "identifier: letters, digits and underscores, not starting with a digit."
        )
    if name == "user":
        return (
            "Agent name cannot be `user`: it is reserved for end-user input. "
            "Choose another name."
        )
    return None


def link_tree(root: BaseAgent) -> None:
    """Check the tree below ``root`` and point every sub-agent at the agent listing it.

    Called when ``root`` is built.  Raises ``AgentTreeError`` (or the ``ValueError``
    of an agent's own settings, such as its tools) before any link is changed.
    """
    root.__dict__[_CHECKED] = _check_and_link(root)


def validate_tree(root: BaseAgent) -> None:
    """Check the tree of ``root`` before a run uses it; cheap when nothing changed.

    A tree that is unchanged since its last check (same agents, names, parent links,
    sub-agent lists and tool lists, compared by identity) is not checked again: the
    cost is then one comparison per agent.  Otherwise the whole tree is checked as at
    build time: an agent listed twice or inside its own subtree, a sub-agent that
    belongs to another agent, an invalid or duplicate name, or an agent whose own
    settings are invalid (an ``LlmAgent`` tool appended after construction) raises
    ``AgentTreeError`` or ``ValueError`` naming the agents, and nothing is changed.
    A sub-agent appended after construction is then linked to its parent.

    ``root``'s own ``parent_agent`` is left alone: a run may start below the top.
    """
    checked: tuple[_Entry, ...] | None = root.__dict__.get(_CHECKED)
    if checked and checked[0].agent is root and all(entry.holds() for entry in checked):
        return
    root.__dict__[_CHECKED] = _check_and_link(root)


def _check_and_link(root: BaseAgent) -> tuple[_Entry, ...]:
    tree = _Tree.walk(root)
    tree.check_parents()
    tree.check_names()
    for agent in tree.agents:
        agent._check_own_config()
    for parent, sub in tree.links:
        if sub.parent_agent is not parent:
            sub.parent_agent = parent
    return tuple(
        _Entry(agent=agent, name=agent.name, parent=agent.parent_agent,
               sub_agents=tuple(agent.sub_agents), config=agent._own_config_key())
        for agent in tree.agents
    )


@attrs.define
class _Tree:
    """The agents below a root, each reached once, with where they were reached."""

    agents: list[BaseAgent]
    links: list[tuple[BaseAgent, BaseAgent]]
    """Every (parent, sub-agent) pair, each parent's pair before its sub-agents' pairs."""
    lister: dict[int, BaseAgent]
    """The parent that lists each agent (by ``id``); the root has none."""
    paths: dict[int, str]

    @classmethod
    def walk(cls, root: BaseAgent) -> _Tree:
        """Reach every agent below ``root``; raise when one is reached twice."""
        tree = cls(agents=[root], links=[], lister={}, paths={id(root): root.name})
        stack = [(root, sub) for sub in reversed(root.sub_agents)]
        while stack:  # depth first, in sub_agents order, as find_agent searches
            parent, sub = stack.pop()
            if id(sub) in tree.paths:
                tree._reached_twice(parent, sub)
            tree.lister[id(sub)] = parent
            tree.paths[id(sub)] = f"{tree.paths[id(parent)]}.{sub.name}"
            tree.agents.append(sub)
            tree.links.append((parent, sub))
            stack.extend((sub, child) for child in reversed(sub.sub_agents))
        return tree

    def is_ancestor(self, ancestor: BaseAgent, agent: BaseAgent) -> bool:
        """Whether ``ancestor`` is above ``agent`` in this tree."""
        current = self.lister.get(id(agent))
        while current is not None:
            if current is ancestor:
                return True
            current = self.lister.get(id(current))
        return False

    def _reached_twice(self, parent: BaseAgent, sub: BaseAgent) -> None:
        if sub is parent or self.is_ancestor(sub, parent):
            raise AgentTreeError(
                f"Agent `{sub.name}` is a sub-agent of `{parent.name}` (at "
                f"{self.paths[id(parent)]}), which is `{sub.name}` itself or inside it: "
                f"a tree cannot have cycles. Remove `{sub.name}` from the sub_agents of "
                f"`{parent.name}`."
            )
        first = self.lister[id(sub)]
        if first is parent:
            raise AgentTreeError(
                f"Agent `{sub.name}` is listed twice in the sub_agents of `{parent.name}`. "
                "List each sub-agent once."
            )
        raise AgentTreeError(
            f"Agent `{sub.name}` is a sub-agent of both `{first.name}` and `{parent.name}` "
            f"(at {self.paths[id(sub)]} and {self.paths[id(parent)]}.{sub.name}). An agent "
            "can have only one parent: list it once, or use a separate instance elsewhere "
            f"(for example `{sub.name}.clone(update={{'name': ...}})`)."
        )

    def check_parents(self) -> None:
        """A sub-agent whose ``parent_agent`` is another agent that still lists it
        belongs to another tree.  A link left by a parent that no longer lists it is
        stale: it is replaced."""
        for parent, sub in self.links:
            current = sub.parent_agent
            if current is None or current is parent:
                continue
            if any(other is sub for other in current.sub_agents):
                raise AgentTreeError(
                    f"Agent `{sub.name}` already has a parent agent, current parent: "
                    f"`{current.name}`, trying to add: `{parent.name}`. An agent can have "
                    "only one parent: create a separate instance (for example with "
                    "`clone()`), or remove it from the sub_agents of its current parent "
                    "first."
                )

    def check_names(self) -> None:
        """Every name valid, and no name twice."""
        by_name: dict[str, list[BaseAgent]] = defaultdict(list)
        for agent in self.agents:
            problem = agent_name_problem(agent.name)
            if problem is not None:
                raise AgentTreeError(f"{problem} (agent at {self.paths[id(agent)]})")
            by_name[agent.name].append(agent)
        for name, named in by_name.items():
            if len(named) < 2:
                continue
            places = Counter(self.paths[id(agent)] for agent in named)
            where = " and ".join(
                path if count == 1 else f"{path} ({count} sibling agents)"
                for path, count in places.items()
            )
            first, second = named[0], named[1]
            relation = (
                f" (`{self.paths[id(second)]}` has the name of its ancestor "
                f"`{self.paths[id(first)]}`)" if self.is_ancestor(first, second) else ""
            )
            raise AgentTreeError(
                f"Agent name `{name}` is used {len(named)} times in one tree: at {where}"
                f"{relation}. Names must be unique in a tree, because transfers, "
                "find_agent and the session history identify agents by name: rename all "
                "but one."
            )
