"""The agent tree: built atomically, each agent in one place, names unique; and
``validate_tree`` for trees changed after they were built."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trio_adk.agents import BaseAgent, LlmAgent, SequentialAgent
from trio_adk.agents import _tree as tree_module
from trio_adk.agents._tree import validate_tree
from trio_adk.errors import AgentTreeError
from trio_adk.testing import ScriptedModel


def seq(name: str, *subs: BaseAgent) -> SequentialAgent:
    return SequentialAgent(name=name, sub_agents=list(subs))


def llm(name: str, *subs: BaseAgent, **kwargs: Any) -> LlmAgent:
    return LlmAgent(name=name, model=ScriptedModel(), sub_agents=list(subs), **kwargs)


def assert_linked(root: BaseAgent) -> None:
    """Every sub-agent points at the agent that lists it."""
    for sub in root.sub_agents:
        assert sub.parent_agent is root
        assert_linked(sub)


# ---- building ----------------------------------------------------------------------------


def test_a_failed_build_leaves_the_other_sub_agents_unlinked() -> None:
    """One sub-agent already has a parent: the build fails before any link is set, so
    the others can still join another parent."""
    free, taken = llm("free"), llm("taken")
    first = seq("first", taken)
    with pytest.raises(ValueError, match=r"Agent `taken` already has a parent agent, current "
                                         r"parent: `first`, trying to add: `second`"):
        seq("second", free, taken)
    assert free.parent_agent is None
    assert taken.parent_agent is first
    third = seq("third", free)
    assert free.parent_agent is third


def test_a_bad_tool_fails_the_build_before_sub_agents_are_linked() -> None:
    def connect(conn: socket.socket) -> None:
        """Not declarable."""

    child = llm("child")
    with pytest.raises(ValueError, match="'conn' of function 'connect'"):
        llm("parent", child, tools=[connect])
    assert child.parent_agent is None


def test_the_same_sub_agent_twice_is_rejected() -> None:
    child = llm("child")
    with pytest.raises(ValueError, match=r"Agent `child` is listed twice in the sub_agents "
                                         r"of `parent`\. List each sub-agent once\."):
        seq("parent", child, child)
    assert child.parent_agent is None


def test_a_sub_agent_named_like_its_parent_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"Agent name `boss` is used 2 times in one tree: at "
                                         r"boss and boss\.boss \(`boss\.boss` has the name of "
                                         r"its ancestor `boss`\)\. Names must be unique"):
        seq("boss", llm("boss"))


def test_a_descendant_named_like_an_ancestor_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"at top and top\.mid\.top \(`top\.mid\.top` has the "
                                         r"name of its ancestor `top`\)"):
        seq("top", seq("mid", llm("top")))


def test_duplicate_names_anywhere_in_the_tree_are_rejected_naming_every_place() -> None:
    with pytest.raises(ValueError, match=r"`x` is used 3 times in one tree: at root\.a\.x and "
                                         r"root\.b\.x and root\.x\. .*rename all but one"):
        seq("root", seq("a", llm("x")), seq("b", llm("x")), llm("x"))


def test_the_error_is_an_agent_tree_error_inside_pydantics_validation_error() -> None:
    """As in ADK, errors raised while pydantic builds the agent reach the caller as
    pydantic's ValidationError (a ValueError); the AgentTreeError is its cause."""
    with pytest.raises(ValueError) as info:
        seq("p", llm("p"))
    errors = info.value.errors()  # type: ignore[attr-defined]
    assert isinstance(errors[0]["ctx"]["error"], AgentTreeError)


def test_a_sub_agent_removed_from_its_parent_can_join_another() -> None:
    """A parent link whose parent no longer lists the agent is stale: replaced."""
    child = llm("child")
    first = seq("first", child)
    first.sub_agents.remove(child)
    second = seq("second", child)
    assert child.parent_agent is second


def test_clone_gives_a_tree_that_can_be_used_elsewhere() -> None:
    original = seq("root", llm("a"), seq("b", llm("c")))
    copy = original.clone(update={"name": "root2"})
    holder = seq("holder", copy)
    assert copy.parent_agent is holder
    assert_linked(holder)
    assert_linked(original)


# ---- validate_tree: trees changed after they were built -----------------------------------


def test_an_appended_sub_agent_is_linked_when_the_tree_is_validated() -> None:
    root = llm("root")
    late = llm("late")
    root.sub_agents.append(late)
    validate_tree(root)
    assert late.parent_agent is root
    assert late.root_agent is root


@pytest.mark.parametrize(("change", "message"), [
    (lambda root, a, b: a.sub_agents.append(llm("b")),
     r"`b` is used 2 times in one tree: at root\.a\.b and root\.b"),
    (lambda root, a, b: a.sub_agents.append(llm("root")),
     r"`root\.a\.root` has the name of its ancestor `root`"),
    (lambda root, a, b: b.sub_agents.append(a),
     r"Agent `a` is a sub-agent of both `root` and `b`"),
    (lambda root, a, b: a.sub_agents.append(root),
     r"Agent `root` is a sub-agent of `a` \(at root\.a\), which is `root` itself or inside "
     r"it: a tree cannot have cycles"),
    (lambda root, a, b: b.sub_agents.append(b),
     r"a tree cannot have cycles"),
    (lambda root, a, b: a.sub_agents.append(seq("elsewhere", llm("owned")).sub_agents[0]),
     r"Agent `owned` already has a parent agent, current parent: `elsewhere`, trying to "
     r"add: `a`"),
    (lambda root, a, b: setattr(b, "name", "not valid"),
     r"Found invalid agent name: `not valid`.*\(agent at root\.not valid\)"),
    (lambda root, a, b: setattr(b, "name", "a"),
     r"`a` is used 2 times"),
])
def test_a_broken_change_is_rejected_and_changes_nothing(change: Any, message: str) -> None:
    a, b = llm("a"), llm("b")
    root = llm("root", a, b)
    newcomer = llm("newcomer")
    root.sub_agents.append(newcomer)  # appended, not linked yet
    change(root, a, b)
    parents = {id(agent): agent.parent_agent for agent in (root, a, b, newcomer)}
    with pytest.raises(AgentTreeError, match=message):
        validate_tree(root)
    assert parents == {id(agent): agent.parent_agent for agent in (root, a, b, newcomer)}
    assert newcomer.parent_agent is None


def test_an_unchanged_tree_is_not_walked_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check is cached by identity: a run on an unchanged tree pays one comparison
    per agent, and any change (even a name) makes the next call check again."""
    leaf = llm("leaf")
    root = seq("root", seq("mid", leaf))
    walks: list[BaseAgent] = []
    real_walk = tree_module._Tree.walk

    def counting_walk(root: BaseAgent) -> Any:
        walks.append(root)
        return real_walk(root)

    monkeypatch.setattr(tree_module._Tree, "walk", staticmethod(counting_walk))
    validate_tree(root)
    validate_tree(root)
    assert [] == walks  # checked when it was built
    leaf.tools.append(lookup)
    validate_tree(root)
    validate_tree(root)
    assert [root] == walks
    leaf.name = "renamed"
    validate_tree(root)
    assert [root, root] == walks


def test_a_shallow_copy_of_a_root_is_checked_on_its_own() -> None:
    """model_copy shares the sub-agent list: its sub-agents belong to the original, and
    the copy's tree is rejected rather than trusted from the original's check."""
    root = seq("root", llm("a"))
    copy = root.model_copy()
    with pytest.raises(AgentTreeError, match="already has a parent agent"):
        validate_tree(copy)
    leaf_copy = llm("solo").model_copy()
    validate_tree(leaf_copy)


def lookup(key: str) -> str:
    """Look a key up."""
    return key


# ---- properties --------------------------------------------------------------------------

NAMES = st.sampled_from(["a", "b", "c", "d", "e", "f", "g"])

Shape = tuple[str, list[Any]]
shapes: st.SearchStrategy[Shape] = st.recursive(
    st.tuples(NAMES, st.just([])),
    lambda children: st.tuples(NAMES, st.lists(children, max_size=3)),
    max_leaves=8,
)


def names_of(shape: Shape) -> list[str]:
    name, children = shape
    return [name, *(n for child in children for n in names_of(child))]


def build(shape: Shape, built: list[BaseAgent]) -> BaseAgent:
    """Build bottom-up, as apps do; every agent that was built goes into ``built``."""
    name, children = shape
    subs = [build(child, built) for child in children]
    agent = seq(name, *subs) if subs else llm(name)
    built.append(agent)
    return agent


def assert_no_dangling_links(built: list[BaseAgent]) -> None:
    """Every parent link points at a built agent that lists the agent."""
    ids = {id(agent) for agent in built}
    for agent in built:
        parent = agent.parent_agent
        if parent is not None:
            assert id(parent) in ids
            assert any(sub is agent for sub in parent.sub_agents)


@settings(max_examples=200, deadline=None)
@given(shapes)
def test_a_tree_builds_exactly_when_its_names_are_unique(shape: Shape) -> None:
    """Unique names: built, every link consistent, every agent found by name.  Duplicate
    names: rejected, and no agent points at a parent that was never built."""
    built: list[BaseAgent] = []
    names = names_of(shape)
    if len(set(names)) == len(names):
        root = build(shape, built)
        assert root.parent_agent is None
        assert_linked(root)
        for agent in built:
            assert root.find_agent(agent.name) is agent
    else:
        with pytest.raises(ValueError, match=r"is used \d times"):
            build(shape, built)
    assert_no_dangling_links(built)


@settings(max_examples=200, deadline=None)
@given(st.lists(shapes, min_size=2, max_size=4), st.data())
def test_after_a_failed_build_the_parts_still_build_into_a_good_tree(
    shapes_: list[Shape], data: st.DataObject
) -> None:
    """Build some subtrees, try to join them under a parent that fails (a part listed
    twice), then join them under a good parent: the links are those of the good one."""
    renamed = [(f"t{i}", [shape]) for i, shape in enumerate(shapes_)]
    built: list[BaseAgent] = []
    parts: list[BaseAgent] = []
    for shape in renamed:
        try:
            parts.append(build(shape, built))
        except ValueError:
            pass  # duplicate names inside this part
    if not parts:
        return
    twice = data.draw(st.sampled_from(parts))
    with pytest.raises(ValueError, match="listed twice"):
        seq("root", *parts, twice)
    assert_no_dangling_links(built)
    assert all(part.parent_agent is None for part in parts)
    names = [agent.name for part in parts for agent in _all(part)]
    if len(set(names)) == len(names) and "root" not in names:
        root = seq("root", *parts)
        assert_linked(root)
        validate_tree(root)


def _all(agent: BaseAgent) -> list[BaseAgent]:
    return [agent, *(a for sub in agent.sub_agents for a in _all(sub))]


Mutation = tuple[int, int]


@settings(max_examples=200, deadline=None)
@given(shapes, st.lists(st.tuples(st.integers(0, 20), st.integers(0, 20)), max_size=4))
def test_validate_tree_accepts_exactly_the_valid_changes(
    shape: Shape, moves: list[Mutation]
) -> None:
    """Append agents of the tree under other agents of it (making agents listed twice or
    cycles) or fresh agents (possibly duplicate names): validate_tree accepts exactly
    the changes that leave a tree with unique names, links it, and otherwise raises and
    changes no link."""
    names = names_of(shape)
    if len(set(names)) != len(names):
        return
    root = build(shape, [])
    agents = _all(root)
    for source, target in moves:
        host = agents[target % len(agents)]
        if source < len(agents):
            host.sub_agents.append(agents[source])
        else:
            host.sub_agents.append(llm("abcdefgh"[source % 8]))
    reached: list[int] = []
    valid = _is_tree(root, reached, set())
    if valid:
        seen_names = [a.name for a in _all(root)]
        valid = len(set(seen_names)) == len(seen_names)
    before = {id(a): a.parent_agent for a in agents}
    if valid:
        validate_tree(root)
        assert_linked(root)
    else:
        with pytest.raises(AgentTreeError):
            validate_tree(root)
        assert before == {id(a): a.parent_agent for a in agents}


def _is_tree(agent: BaseAgent, reached: list[int], seen: set[int]) -> bool:
    """Whether each agent below ``agent`` is reached once (no agent twice, no cycle)."""
    if id(agent) in seen:
        return False
    seen.add(id(agent))
    return all(_is_tree(sub, reached, seen) for sub in agent.sub_agents)
