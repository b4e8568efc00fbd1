"""FunctionTool, its declaration builder and the transfer_to_agent tool."""

# Annotations are strings here on purpose: the builder must resolve them.
from __future__ import annotations

import contextvars
import dataclasses
import enum
import functools
import threading
import time
import types as pytypes
from typing import TYPE_CHECKING, Any, Literal, Optional

import pydantic
import pytest
import trio
from google.genai import types

from trio_adk.agents._invocation_context import InvocationContext
from trio_adk.agents._run_config import RunConfig, ToolThreadPoolConfig
from trio_adk.models._llm_request import LlmRequest
from trio_adk.sessions._session import Session
from trio_adk.tools import (
    BaseTool,
    FunctionTool,
    LongRunningFunctionTool,
    ToolContext,
    transfer_to_agent,
)
from trio_adk.tools._function_schema import build_function_declaration
from trio_adk.tools._function_tool import as_tool
from trio_adk.tools._transfer_to_agent import TransferToAgentTool

if TYPE_CHECKING:
    # Only visible to type checkers: the builder must cope with it being unresolvable.
    from trio_adk.tools._tool_context import ToolContext as HiddenToolContext


def make_tool_context(max_workers: int = 4) -> ToolContext:
    ctx = InvocationContext(
        session_service=object(),  # type: ignore[arg-type]
        agent=pytypes.SimpleNamespace(name="agent"),  # type: ignore[arg-type]
        session=Session(id="s", app_name="a", user_id="u"),
        run_config=RunConfig(tool_thread_pool_config=ToolThreadPoolConfig(max_workers=max_workers)),
    )
    return ToolContext(ctx, function_call_id="call-1")


def dump(func: Any) -> dict[str, Any]:
    return build_function_declaration(func).model_dump(
        mode="json", by_alias=True, exclude_none=True
    )


# --- schema ---------------------------------------------------------------------------


class Address(pydantic.BaseModel):
    street: str
    zip_code: str | None = None


class Person(pydantic.BaseModel):
    name: str = pydantic.Field(description="Full name.")
    age: int = 0
    address: Address


class Color(enum.Enum):
    RED = "red"
    GREEN = "green"


class Number(enum.Enum):
    ONE = 1


@dataclasses.dataclass
class Point:
    x: float
    y: float = 0.0


def test_primitives_and_docstring() -> None:
    def lookup(city: str, days: int, ratio: float, metric: bool) -> str:
        """Look up the weather."""
        return ""

    assert dump(lookup) == {
        "name": "lookup",
        "description": "Look up the weather.",
        "parameters": {
            "type": "OBJECT",
            "properties": {
                "city": {"type": "STRING"},
                "days": {"type": "INTEGER"},
                "ratio": {"type": "NUMBER"},
                "metric": {"type": "BOOLEAN"},
            },
            "required": ["city", "days", "ratio", "metric"],
        },
    }


def test_containers() -> None:
    def f(
        a: list[int], b: list, c: dict[str, int], d: dict, e: list[list[str]]  # type: ignore[type-arg]
    ) -> None:
        pass

    assert dump(f)["parameters"] == {
        "type": "OBJECT",
        "properties": {
            "a": {"type": "ARRAY", "items": {"type": "INTEGER"}},
            "b": {"type": "ARRAY", "items": {"type": "STRING"}},
            "c": {"type": "OBJECT"},
            "d": {"type": "OBJECT"},
            "e": {"type": "ARRAY", "items": {"type": "ARRAY", "items": {"type": "STRING"}}},
        },
        "required": ["a", "b", "c", "d", "e"],
    }


def test_literal_enum_and_optional() -> None:
    def f(
        mode: Literal["fast", "slow"],
        color: Color,
        maybe: Optional[int],  # noqa: UP045 - the old spelling must work too
        other: str | None,
        either: int | str,
    ) -> None:
        pass

    assert dump(f)["parameters"] == {
        "type": "OBJECT",
        "properties": {
            "mode": {"type": "STRING", "enum": ["fast", "slow"]},
            "color": {"type": "STRING", "enum": ["red", "green"]},
            "maybe": {"type": "INTEGER", "nullable": True},
            "other": {"type": "STRING", "nullable": True},
            "either": {"anyOf": [{"type": "INTEGER"}, {"type": "STRING"}]},
        },
        "required": ["mode", "color", "either"],
    }


def test_defaults_are_declared_and_not_required() -> None:
    def f(query: str, limit: int = 10, color: Color = Color.RED, tag: str | None = None) -> None:
        pass

    assert dump(f)["parameters"] == {
        "type": "OBJECT",
        "properties": {
            "query": {"type": "STRING"},
            "limit": {"type": "INTEGER", "default": 10},
            "color": {"type": "STRING", "enum": ["red", "green"], "default": "red"},
            "tag": {"type": "STRING", "nullable": True},
        },
        "required": ["query"],
    }


def test_pydantic_and_dataclass_params() -> None:
    def f(person: Person, point: Point) -> None:
        pass

    assert dump(f)["parameters"] == {
        "type": "OBJECT",
        "properties": {
            "person": {
                "type": "OBJECT",
                "properties": {
                    "name": {"type": "STRING", "description": "Full name."},
                    "age": {"type": "INTEGER", "default": 0},
                    "address": {
                        "type": "OBJECT",
                        "properties": {
                            "street": {"type": "STRING"},
                            "zip_code": {"type": "STRING", "nullable": True},
                        },
                        "required": ["street"],
                    },
                },
                "required": ["name", "address"],
            },
            "point": {
                "type": "OBJECT",
                "properties": {"x": {"type": "NUMBER"}, "y": {"type": "NUMBER", "default": 0.0}},
                "required": ["x"],
            },
        },
        "required": ["person", "point"],
    }


def test_missing_annotation_and_ignored_params() -> None:
    def f(  # type: ignore[no-untyped-def]  # unannotated on purpose
        anything, *, tool_context: HiddenToolContext, input_stream: Any, **kwargs: int
    ) -> None:
        pass

    assert dump(f) == {
        "name": "f",
        "parameters": {"type": "OBJECT", "properties": {"anything": {}}, "required": ["anything"]},
    }


def test_no_parameters_and_no_docstring() -> None:
    def ping() -> None:
        pass

    assert dump(ping) == {"name": "ping"}


def test_args_section_descriptions() -> None:
    def book(city: str, nights: int = 1) -> None:
        """Book a hotel.

        Args:
            city (str): Where to stay.
                Any spelling works.
            nights: How many nights.

        Returns:
            A confirmation.
        """

    declaration = dump(book)
    assert declaration["description"] == (
        "Book a hotel.\n\nArgs:\n    city (str): Where to stay.\n        Any spelling works.\n"
        "    nights: How many nights.\n\nReturns:\n    A confirmation."
    )
    assert declaration["parameters"]["properties"] == {
        "city": {"type": "STRING", "description": "Where to stay. Any spelling works."},
        "nights": {"type": "INTEGER", "description": "How many nights.", "default": 1},
    }


def test_bound_method_and_partial() -> None:
    class Shop:
        def buy(self, item: str, count: int) -> str:
            """Buy something."""
            return item * count

    def order(shop: str, item: str, count: int = 1) -> None:
        """Order something."""

    assert dump(Shop().buy) == {
        "name": "buy",
        "description": "Buy something.",
        "parameters": {
            "type": "OBJECT",
            "properties": {"item": {"type": "STRING"}, "count": {"type": "INTEGER"}},
            "required": ["item", "count"],
        },
    }
    assert dump(functools.partial(order, "corner", count=2)) == {
        "name": "order",
        "description": "Order something.",
        "parameters": {
            "type": "OBJECT",
            "properties": {"item": {"type": "STRING"}},
            "required": ["item"],
        },
    }


def test_unsupported_annotation_error() -> None:
    def upload(data: bytes) -> None:
        pass

    with pytest.raises(ValueError, match="parameter 'data' of function 'upload'") as info:
        build_function_declaration(upload)
    assert "bytes is not supported" in str(info.value)
    assert "write a BaseTool subclass" in str(info.value)


def test_non_string_literal_and_enum_rejected() -> None:
    def f(level: Literal[1, 2]) -> None:
        pass

    def g(number: Number) -> None:
        pass

    with pytest.raises(ValueError, match="only string literals"):
        build_function_declaration(f)
    with pytest.raises(ValueError, match="not all strings"):
        build_function_declaration(g)


def test_incompatible_default_rejected() -> None:
    def f(count: int = "three") -> None:  # type: ignore[assignment]
        pass

    def g(count: int = None) -> None:  # type: ignore[assignment]  # noqa: RUF013
        pass

    with pytest.raises(ValueError, match="default value 'three' of parameter 'count'"):
        build_function_declaration(f)
    with pytest.raises(ValueError, match="default value None of parameter 'count'"):
        build_function_declaration(g)


def test_tool_declaration_is_cached_and_registered() -> None:
    def echo(text: str) -> str:
        """Echo the text."""
        return text

    tool = FunctionTool(echo)
    assert tool.name == "echo"
    assert tool.description == "Echo the text."
    first = tool._get_declaration()
    assert first is not None
    assert first == tool._get_declaration()
    assert first is not tool._get_declaration()
    request = LlmRequest()
    request.append_tools([tool])
    assert request.tools_dict == {"echo": tool}
    assert request.config.tools == [types.Tool(function_declarations=[first])]


# --- running --------------------------------------------------------------------------


async def test_sync_and_async_tools_run() -> None:
    def add(a: int, b: int) -> int:
        return a + b

    async def mul(a: int, b: int) -> int:
        await trio.sleep(0)
        return a * b

    context = make_tool_context()
    assert await FunctionTool(add).run_async(args={"a": 2, "b": 3}, tool_context=context) == 5
    assert await FunctionTool(mul).run_async(args={"a": 2, "b": 3}, tool_context=context) == 6


async def test_raw_result_is_returned() -> None:
    def nothing() -> None:
        pass

    assert await FunctionTool(nothing).run_async(args={}, tool_context=make_tool_context()) is None


async def test_tool_context_injected_and_unknown_args_dropped() -> None:
    seen: dict[str, Any] = {}

    def remember(key: str, tool_context: HiddenToolContext) -> dict[str, str]:
        seen["context"] = tool_context
        tool_context.state["last"] = key
        return {"stored": key}

    context = make_tool_context()
    result = await FunctionTool(remember).run_async(
        args={"key": "k", "bogus": 1, "tool_context": "forged"}, tool_context=context
    )
    assert result == {"stored": "k"}
    assert seen["context"] is context
    assert context.state["last"] == "k"


async def test_missing_mandatory_args_error() -> None:
    calls: list[object] = []

    def book(city: str, nights: int, note: str | None, breakfast: bool = False) -> None:
        calls.append(city)

    result = await FunctionTool(book).run_async(args={}, tool_context=make_tool_context())
    assert result == {
        "error": "Invoking `book()` failed as the following mandatory input parameters are "
        "not present:\ncity\nnights\nYou could retry calling this tool, but it is IMPORTANT "
        "for you to provide all the mandatory parameters."
    }
    assert calls == []


async def test_missing_optional_arg_is_none() -> None:
    def f(note: str | None) -> str | None:
        return note

    assert await FunctionTool(f).run_async(args={}, tool_context=make_tool_context()) is None


async def test_model_and_enum_args_are_converted() -> None:
    received: list[object] = []

    def f(person: Person, color: Color, points: list[Point]) -> None:
        received.extend([person, color, points])

    await FunctionTool(f).run_async(
        args={
            "person": {"name": "Ada", "address": {"street": "Main"}},
            "color": "green",
            "points": [{"x": 1.0}],
        },
        tool_context=make_tool_context(),
    )
    assert received == [
        Person(name="Ada", address=Address(street="Main")),
        Color.GREEN,
        [Point(x=1.0)],
    ]


async def test_sync_tool_does_not_block_the_loop() -> None:
    checkpoints = 0

    def slow() -> str:
        time.sleep(0.2)
        return "done"

    async def count() -> None:
        nonlocal checkpoints
        while True:
            await trio.sleep(0)
            checkpoints += 1

    async with trio.open_nursery() as nursery:
        nursery.start_soon(count)
        result = await FunctionTool(slow).run_async(args={}, tool_context=make_tool_context())
        nursery.cancel_scope.cancel()
    assert result == "done"
    # Had the call blocked the loop, the counter would never have run.
    assert checkpoints > 10


async def test_sync_tool_sees_context_variables() -> None:
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var")
    var.set("from trio")

    def read() -> str:
        return var.get()

    assert await FunctionTool(read).run_async(args={}, tool_context=make_tool_context()) == (
        "from trio"
    )


async def test_limiter_caps_concurrent_sync_tools() -> None:
    lock = threading.Lock()
    running = 0
    most = 0

    def work(i: int) -> int:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.05)
        with lock:
            running -= 1
        return i

    tool = FunctionTool(work)
    context = make_tool_context(max_workers=2)
    shared = context._invocation_context._shared
    assert shared.tool_limiter is None
    results: list[int] = []

    async def call(i: int) -> None:
        results.append(await tool.run_async(args={"i": i}, tool_context=context))

    async with trio.open_nursery() as nursery:
        for i in range(4):
            nursery.start_soon(call, i)
    assert sorted(results) == [0, 1, 2, 3]
    assert most == 2
    limiter: trio.CapacityLimiter | None = context._invocation_context._shared.tool_limiter
    assert limiter is not None
    assert limiter.total_tokens == 2


async def test_existing_limiter_is_used() -> None:
    lock = threading.Lock()
    running = 0
    most = 0

    def work() -> None:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.02)
        with lock:
            running -= 1

    tool = FunctionTool(work)
    context = make_tool_context(max_workers=4)
    context._invocation_context._shared.tool_limiter = trio.CapacityLimiter(1)
    async with trio.open_nursery() as nursery:
        for _ in range(3):
            nursery.start_soon(functools.partial(tool.run_async, args={}, tool_context=context))
    assert most == 1


async def test_cancellation_waits_for_sync_tool() -> None:
    started = threading.Event()
    finished = threading.Event()

    def slow() -> None:
        started.set()
        time.sleep(0.1)
        finished.set()

    with trio.CancelScope() as scope:
        async with trio.open_nursery() as nursery:

            async def cancel_when_started() -> None:
                await trio.to_thread.run_sync(started.wait)
                scope.cancel()

            nursery.start_soon(cancel_when_started)
            await FunctionTool(slow).run_async(args={}, tool_context=make_tool_context())
    assert scope.cancelled_caught
    assert finished.is_set()


# --- other tools ------------------------------------------------------------------------


async def test_transfer_to_agent_tool() -> None:
    tool = TransferToAgentTool(["billing", "support"])
    assert tool.name == "transfer_to_agent"
    declaration = tool._get_declaration()
    assert declaration is not None
    parameters = declaration.model_dump(mode="json", by_alias=True, exclude_none=True)[
        "parameters"
    ]
    assert parameters == {
        "type": "OBJECT",
        "properties": {
            "agent_name": {
                "type": "STRING",
                "enum": ["billing", "support"],
                "description": "The name of the agent to hand the question to.",
            }
        },
        "required": ["agent_name"],
    }
    context = make_tool_context()
    result = await tool.run_async(args={"agent_name": "billing"}, tool_context=context)
    assert result is None
    assert context.actions.transfer_to_agent == "billing"


def test_transfer_to_agent_function_and_unrestricted_tool() -> None:
    context = make_tool_context()
    transfer_to_agent("helper", context)
    assert context.actions.transfer_to_agent == "helper"
    declaration = TransferToAgentTool()._get_declaration()
    assert declaration is not None
    assert declaration.parameters is not None
    assert declaration.parameters.properties is not None
    assert declaration.parameters.properties["agent_name"].enum is None


def test_long_running_tool() -> None:
    def start_job(name: str) -> dict[str, str]:
        """Start a job."""
        return {"status": "pending"}

    tool = LongRunningFunctionTool(start_job)
    assert tool.is_long_running
    assert tool.description.startswith("Start a job.\n\n")
    assert "background" in tool.description
    declaration = tool._get_declaration()
    assert declaration is not None
    assert declaration.description == tool.description


def test_as_tool() -> None:
    def f() -> None:
        pass

    wrapped = as_tool(f)
    assert isinstance(wrapped, FunctionTool)
    assert wrapped.func is f
    assert as_tool(wrapped) is wrapped
    with pytest.raises(TypeError, match="did you mean FunctionTool"):
        as_tool(FunctionTool)
    with pytest.raises(TypeError, match="as a tool"):
        as_tool(42)
    assert issubclass(FunctionTool, BaseTool)


async def test_require_confirmation_asks_instead_of_running() -> None:
    """The round trip is in test_tool_confirmation.py; here: an unapproved call does
    not run and records its request."""
    ran: list[int] = []

    def f(n: int) -> int:
        ran.append(n)
        return n

    context = make_tool_context()
    result = await FunctionTool(f, require_confirmation=True).run_async(
        args={"n": 1}, tool_context=context)

    assert {"error": "This tool call requires confirmation, please approve or reject."} \
        == result
    assert [] == ran
    assert ["call-1"] == list(context.actions.requested_tool_confirmations)
    assert context.actions.skip_summarization


async def test_positional_only_parameters_are_declared_and_passed() -> None:
    def greet(name: str, /, punctuation: str = "!") -> str:
        return f"hi {name}{punctuation}"

    tool = FunctionTool(greet)
    declaration = tool._get_declaration()
    assert declaration is not None
    assert declaration.parameters is not None
    assert declaration.parameters.required == ["name"]
    result = await tool.run_async(args={"name": "Ada"}, tool_context=make_tool_context())
    assert result == "hi Ada!"
