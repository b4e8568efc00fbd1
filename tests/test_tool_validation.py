"""Tools the model could not call are rejected when they are set up, not at the first
model call: names the model refuses, ``*args``, parameter types with no schema."""

from __future__ import annotations

import dataclasses
import enum
import functools
import socket
from collections.abc import AsyncGenerator
from typing import Annotated, Any, Literal, Optional, Union

import pydantic
import pytest
from google.genai import types

from helpers import make_runner, run_text
from trio_adk.agents import LlmAgent
from trio_adk.agents._tree import validate_tree
from trio_adk.testing import ScriptedModel, function_call
from trio_adk.tools import (
    BaseTool,
    BaseToolset,
    FunctionTool,
    LongRunningFunctionTool,
    ToolContext,
)
from trio_adk.tools._tool_names import is_valid_tool_name


class Opaque:
    """A class with no schema."""


class Mood(enum.Enum):
    HAPPY = "happy"
    SAD = "sad"


class Filter(pydantic.BaseModel):
    field: str
    values: list[str] = []


@dataclasses.dataclass
class Window:
    start: int
    end: int = 10


def takes_socket(conn: socket.socket) -> None:
    """A parameter of a library type."""


def takes_opaque(thing: Opaque) -> None:
    """A parameter of an arbitrary class."""


def takes_union(value: Union[int, Opaque]) -> None:  # noqa: UP007
    """A union with a member that has no schema."""


def takes_optional_socket(conn: Optional[socket.socket] = None) -> None:  # noqa: UP045
    """Optional does not help a type with no schema."""


def takes_list_of_opaque(things: list[Opaque]) -> None:
    """Nor does a list of it."""


def takes_unresolvable(thing: NoSuchType) -> None:  # type: ignore[name-defined]  # noqa: F821
    """An annotation naming something that does not exist."""


@pytest.mark.parametrize(("func", "param", "type_name"), [
    (takes_socket, "conn", "socket.socket"),
    (takes_opaque, "thing", "test_tool_validation.Opaque"),
    (takes_union, "value", "test_tool_validation.Opaque"),
    (takes_optional_socket, "conn", "socket.socket"),
    (takes_list_of_opaque, "things", "test_tool_validation.Opaque"),
    (takes_unresolvable, "thing", "NoSuchType"),
])
def test_a_parameter_with_no_schema_fails_at_construction(
    func: Any, param: str, type_name: str
) -> None:
    """FunctionTool(f) raises ValueError naming the function, the parameter and the
    type, and listing what can be declared."""
    with pytest.raises(ValueError, match=f"parameter '{param}' of function '{func.__name__}'"
                       ) as info:
        FunctionTool(func)
    message = str(info.value)
    assert type_name in message
    assert "Annotate it with str, int, float, bool, list[...], dict[...]" in message
    with pytest.raises(ValueError, match=f"parameter '{param}'"):
        LongRunningFunctionTool(func)


def test_star_args_are_rejected_and_star_kwargs_ignored() -> None:
    """*args can never receive anything (the model passes arguments by name): rejected,
    with what to write instead.  **kwargs is ignored, as in ADK."""

    def add_all(*numbers: int) -> int:
        return sum(numbers)

    def search(query: str, **options: Any) -> str:
        return query

    with pytest.raises(ValueError, match=r"'\*numbers' of function 'add_all'.*"
                                         r"`numbers: list\[str\]`"):
        FunctionTool(add_all)
    declaration = FunctionTool(search)._get_declaration()
    assert declaration is not None and declaration.parameters is not None
    assert ["query"] == list(declaration.parameters.properties or {})


def test_a_wrapper_without_functools_wraps_is_explained() -> None:
    """A decorator's (*args, **kwargs) wrapper hides the signature: the message says so."""

    def logged(func: Any) -> Any:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return func(*args, **kwargs)
        return wrapper

    @logged
    def lookup(key: str) -> str:
        return key

    with pytest.raises(ValueError, match=r"functools\.wraps"):
        FunctionTool(lookup)

    def logged_properly(func: Any) -> Any:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return func(*args, **kwargs)
        return wrapper

    @logged_properly
    def find(key: str) -> str:
        return key

    declaration = FunctionTool(find)._get_declaration()
    assert declaration is not None and declaration.parameters is not None
    assert ("find", ["key"]) == (declaration.name, list(declaration.parameters.properties or {}))


@pytest.mark.parametrize("make", [
    lambda: lambda x: x,
    lambda: functools.partial(lambda x, y: x, y=1),
])
def test_a_lambda_is_rejected_with_what_to_do(make: Any) -> None:
    """A lambda is named '<lambda>', which the model cannot call: define it with def."""
    with pytest.raises(ValueError, match=r"'<lambda>'.*`def your_tool_name\(\.\.\.\)`"):
        FunctionTool(make())


def _named(name: str) -> Any:
    def tool() -> None:
        pass
    tool.__name__ = name
    return tool


@pytest.mark.parametrize("name", ["café", "x" * 129, "9lives", "has space", "a/b", ""])
def test_names_the_model_refuses_are_rejected(name: str) -> None:
    """Gemini's rule: 1-128 of letters, digits, _ . : -, starting with a letter or _."""
    assert not is_valid_tool_name(name)
    with pytest.raises(ValueError, match="not a valid function name for the model"):
        FunctionTool(_named(name))


@pytest.mark.parametrize("name", ["x" * 128, "_private", "ns.tool", "ns:tool-2", "T"])
def test_names_the_model_accepts(name: str) -> None:
    assert is_valid_tool_name(name)
    assert name == FunctionTool(_named(name)).name


class Greeter:
    """A callable instance: named after its class."""

    def __call__(self, who: str) -> str:
        return f"hi {who}"

    def greet(self, who: str, tool_context: ToolContext) -> str:
        """A bound method that takes the tool context."""
        return who


def everything(
    text: str,
    count: int,
    ratio: float,
    flag: bool,
    tags: list[str],
    extra: dict[str, Any],
    mood: Mood,
    level: Literal["low", "high"],
    query: Filter,
    window: Window,
    note: Annotated[str, "A described parameter."],
    either: int | str,
    maybe: Optional[list[str]] = None,  # noqa: UP045
    limit: int = 5,
    untyped=None,  # type: ignore[no-untyped-def]
    *,
    tool_context: ToolContext,
    **rest: Any,
) -> None:
    """Every kind of parameter ADK can declare."""


async def streaming(query: str) -> AsyncGenerator[str, None]:
    """A live streaming tool."""
    yield query


def positional(a: int, /, b: int) -> int:
    return a + b


@pytest.mark.parametrize(("tool", "name"), [
    (everything, "everything"),
    (streaming, "streaming"),
    (positional, "positional"),
    (Greeter(), "Greeter"),
    (Greeter().greet, "greet"),
    (functools.partial(positional, 1), "positional"),
])
def test_what_adk_declares_is_accepted(tool: Any, name: str) -> None:
    """No false rejections: tool_context, defaults, Optional, containers, models,
    dataclasses, enums, Literal, Annotated, unions of declarable types, **kwargs,
    positional-only parameters, partials, bound methods and callable instances."""
    built = FunctionTool(tool)
    assert name == built.name
    declaration = built._get_declaration()
    assert declaration is not None and name == declaration.name


# ---- the tools of an agent ---------------------------------------------------------------


def lookup(key: str) -> str:
    """Look a key up."""
    return key


def _agent(**kwargs: Any) -> LlmAgent:
    return LlmAgent(name="bot", model=ScriptedModel(), **kwargs)


def test_an_agent_with_an_undeclarable_tool_fails_at_construction() -> None:
    """Agent(tools=[f]) raises ValueError naming the agent, the entry, the function,
    the parameter and the type."""
    with pytest.raises(ValueError, match=r"Agent `bot`, tools\[1\]: Cannot declare parameter "
                                         r"'conn' of function 'takes_socket'.*socket\.socket"):
        _agent(tools=[lookup, takes_socket])
    with pytest.raises(ValueError, match=r"Agent `bot`, tools\[0\]: .*'<lambda>'"):
        _agent(tools=[lambda x: x])


def search(query: str) -> str:
    """Search one way."""
    return query


def _other_search() -> Any:
    def search(query: str, limit: int = 3) -> str:
        """Search another way."""
        return query
    return search


class NamedTool(BaseTool):
    def __init__(self, name: str) -> None:
        super().__init__(name=name, description="A tool with a chosen name.")

    def _get_declaration(self) -> types.FunctionDeclaration:
        return types.FunctionDeclaration(name=self.name, description=self.description)


def test_two_tools_with_one_name_are_rejected_naming_both() -> None:
    with pytest.raises(ValueError, match=r"Agent `bot` has two tools named 'search': "
                                         r"tools\[0\] \(function test_tool_validation\.search\) "
                                         r"and tools\[2\] \(function test_tool_validation\."
                                         r"_other_search\.<locals>\.search\)"):
        _agent(tools=[search, lookup, _other_search()])
    with pytest.raises(ValueError, match=r"tools named 'search'.*<NamedTool 'search'>"):
        _agent(tools=[search, NamedTool("search")])
    with pytest.raises(ValueError, match=r"tools named 'lookup'.*<FunctionTool 'lookup'>"):
        _agent(tools=[lookup, FunctionTool(lookup)])


def test_the_same_tool_twice_is_rejected() -> None:
    with pytest.raises(ValueError, match=r"lists the same tool twice: tools\[0\] and "
                                         r"tools\[1\] are both function .*search\. List each"):
        _agent(tools=[search, search])
    tool = NamedTool("lookup")
    with pytest.raises(ValueError, match=r"same tool twice: tools\[1\] and tools\[2\]"):
        _agent(tools=[search, tool, tool])


@pytest.mark.parametrize("name", ["my tool", "", "x" * 129])
def test_a_base_tool_with_a_name_the_model_refuses_is_rejected(name: str) -> None:
    with pytest.raises(ValueError, match=r"Agent `bot`, tools\[0\]: Cannot use tool "
                                         r"<NamedTool .*> as a tool: its name .* is not a valid"):
        _agent(tools=[NamedTool(name)])


class ListedToolset(BaseToolset):
    """A toolset listing the given tools."""

    def __init__(self, tools: list[BaseTool], tool_filter: list[str] | None = None) -> None:
        super().__init__(tool_filter=tool_filter)
        self.tools = tools

    async def get_tools(self, readonly_context: Any = None) -> list[BaseTool]:
        return list(self.tools)


async def test_toolset_tools_are_checked_when_listed() -> None:
    """A toolset's tools exist at run time only: a duplicate or invalid name raises
    ValueError naming the toolset when they are listed, before the model call."""
    clash = _agent(tools=[search, ListedToolset([NamedTool("search")])])
    with pytest.raises(ValueError, match=r"two tools named 'search': tools\[0\] .* and "
                                         r"toolset <ListedToolset> \(<NamedTool 'search'>\)"):
        await clash.canonical_tools()
    twice = _agent(tools=[ListedToolset([NamedTool("a")]), ListedToolset([NamedTool("a")])])
    with pytest.raises(ValueError, match="two tools named 'a'"):
        await twice.canonical_tools()
    bad = _agent(tools=[ListedToolset([NamedTool("a b")])])
    with pytest.raises(ValueError, match=r"<NamedTool 'a b'> listed by toolset <ListedToolset>"):
        await bad.canonical_tools()
    filtered = _agent(tools=[search, ListedToolset([NamedTool("search"), NamedTool("x")],
                                                   tool_filter=["x"])])
    assert ["search", "x"] == [t.name for t in await filtered.canonical_tools()]


async def test_a_toolset_clash_stops_the_run_before_the_model_call() -> None:
    model = ScriptedModel(replies=["never"])
    agent = LlmAgent(name="bot", model=model,
                     tools=[search, ListedToolset([NamedTool("search")])])
    runner = await make_runner(agent)
    with pytest.raises(ValueError, match="two tools named 'search'"):
        await run_text(runner, "hi")
    assert 0 == model.calls


async def test_a_tool_appended_after_construction_is_offered() -> None:
    """ADK reads LlmAgent.tools on every request, so apps append tools after building
    the agent: the appended tool is declared to the model and can be called."""
    model = ScriptedModel(replies=[function_call("lookup", {"key": "k"}), "done"])
    agent = LlmAgent(name="bot", model=model, tools=[search])
    agent.tools.append(lookup)
    runner = await make_runner(agent)
    events = await run_text(runner, "hi")
    declared = model.requests[0].config.tools
    assert declared is not None and declared[0].function_declarations is not None
    assert ["search", "lookup"] == [d.name for d in declared[0].function_declarations]
    assert {"result": "k"} == events[1].get_function_responses()[0].response


def test_a_bad_tool_appended_after_construction_is_caught_by_validate_tree() -> None:
    agent = _agent(tools=[search])
    agent.tools.append(search)
    with pytest.raises(ValueError, match="lists the same tool twice"):
        validate_tree(agent)
    agent.tools[1] = takes_opaque
    with pytest.raises(ValueError, match=r"tools\[1\]: .*'thing' of function 'takes_opaque'"):
        validate_tree(agent)
    agent.tools.pop()
    validate_tree(agent)
    assert ["search"] == [t.name for t in agent._static_tools]
