"""User code runs on the library of whoever called: asyncio primitives in tools,
callbacks, instruction providers, custom agents, plugins, toolsets and model subclasses
work under ``asyncio.run``, and their errors, cancellation and context variables behave
as in plain asyncio."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Any

import pytest
import sniffio
from google.genai import types

from helpers import APP, USER, model_text, texts
from trio_adk import Agent, InMemoryRunner
from trio_adk.agents import BaseAgent, InvocationContext
from trio_adk.events import Event
from trio_adk.models import BaseLlm, LlmRequest, LlmResponse
from trio_adk.plugins import BasePlugin
from trio_adk.testing import ScriptedModel, function_call
from trio_adk.tools import BaseTool, BaseToolset

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


class ToolBoom(Exception):
    pass


async def collect(runner: InMemoryRunner, text: str = "go", **kwargs: Any) -> list[Event]:
    async with aclosing(runner.run_async(user_id=USER, session_id="s1", new_message=text,
                                         **kwargs)) as events:
        return [event async for event in events]


def test_every_kind_of_user_code_runs_on_the_callers_asyncio_loop() -> None:
    seen: dict[str, str] = {}

    def note(where: str) -> None:
        seen[where] = sniffio.current_async_library()
        asyncio.get_running_loop()  # raises outside asyncio

    async def lookup(city: str) -> dict[str, Any]:
        """Look a city up."""
        note("tool")
        await asyncio.sleep(0.001)
        event = asyncio.Event()
        event.set()
        await event.wait()
        both = await asyncio.gather(asyncio.sleep(0, result=1), asyncio.sleep(0, result=2))
        return {"city": city, "gathered": both}

    async def before_model(callback_context: Any, llm_request: Any) -> None:
        note("before_model_callback")
        await asyncio.sleep(0)

    async def after_tool(tool: Any, args: Any, tool_context: Any, tool_response: Any) -> None:
        note("after_tool_callback")
        await asyncio.sleep(0)

    async def instruction(context: Any) -> str:
        note("instruction provider")
        await asyncio.sleep(0)
        return "Be brief."

    class Plugin(BasePlugin):
        async def before_run_callback(self, *, invocation_context: Any) -> None:
            note("plugin")
            await asyncio.sleep(0)

    model = ScriptedModel(replies=[function_call("lookup", {"city": "Oslo"}), "done"])
    agent = Agent(name="bot", model=model, tools=[lookup], instruction=instruction,
                  before_model_callback=before_model, after_tool_callback=after_tool)

    async def main() -> list[Event]:
        async with InMemoryRunner(agent, app_name=APP, plugins=[Plugin(name="p")]) as runner:
            return await collect(runner)

    events = asyncio.run(main())
    assert "done" in texts(events)
    responses = [r.response for e in events for r in e.get_function_responses()]
    assert [{"city": "Oslo", "gathered": [1, 2]}] == responses
    assert {"tool": "asyncio", "before_model_callback": "asyncio",
            "after_tool_callback": "asyncio", "instruction provider": "asyncio",
            "plugin": "asyncio"} == seen


class AsyncioAgent(BaseAgent):
    """An ADK-style custom agent written with asyncio: it relays a sub-agent."""

    async def _run_async_impl(  # type: ignore[override]
        self, ctx: InvocationContext
    ) -> AsyncGenerator[Event, None]:
        await asyncio.sleep(0.001)
        yield Event(author=self.name, invocation_id=ctx.invocation_id,
                    content=model_text(f"on {sniffio.current_async_library()}"))
        async with aclosing(self.sub_agents[0].run_async(ctx)) as events:
            async for event in events:
                await asyncio.sleep(0)
                yield event


def test_a_custom_asyncio_agent_relaying_a_sub_agent() -> None:
    inner = Agent(name="inner", model=ScriptedModel(replies=["inner reply"]))

    async def main() -> list[str]:
        async with InMemoryRunner(AsyncioAgent(name="outer", sub_agents=[inner]),
                                  app_name=APP) as runner:
            return texts(await collect(runner))

    assert ["on asyncio", "inner reply"] == asyncio.run(main())


class AsyncioModel(BaseLlm):
    """A user's model class written against asyncio (as a LiteLlm-style client is)."""

    model: str = "mine"

    async def generate_content_async(self, llm_request: LlmRequest, stream: bool = False
                                     ) -> AsyncGenerator[LlmResponse, None]:
        await asyncio.sleep(0.001)
        yield LlmResponse(content=model_text(f"model on {sniffio.current_async_library()}"))


class AsyncioToolset(BaseToolset):
    async def get_tools(self, readonly_context: Any = None) -> list[BaseTool]:
        await asyncio.sleep(0)
        return []


def test_a_model_subclass_and_a_toolset_written_for_asyncio() -> None:
    agent = Agent(name="bot", model=AsyncioModel(), tools=[AsyncioToolset()])

    async def main() -> list[str]:
        async with InMemoryRunner(agent, app_name=APP) as runner:
            return texts(await collect(runner))

    assert ["model on asyncio"] == asyncio.run(main())


def test_a_tool_error_arrives_unchanged() -> None:
    async def explode() -> str:
        """Explode."""
        await asyncio.sleep(0)
        raise ToolBoom("kaboom")

    agent = Agent(name="bot", model=ScriptedModel(replies=[function_call("explode"), "x"]),
                  tools=[explode])

    async def main() -> None:
        async with InMemoryRunner(agent, app_name=APP) as runner:
            await collect(runner)

    with pytest.raises(ToolBoom, match="kaboom"):
        asyncio.run(main())


def test_leaving_cancels_the_asyncio_task_and_waits_for_its_cleanup() -> None:
    """Cancelling the consumer cancels the tool's asyncio task; its cleanup (asyncio
    code in ``finally``) has finished when the consumer's cancellation completes."""
    state: list[str] = []

    async def slow() -> str:
        """Work for a long time."""
        state.append("started")
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            state.append("cancelled")
            raise
        finally:
            await asyncio.sleep(0)  # cleanup may still await (cancelled only once)
            state.append("cleaned")
        return "never"

    agent = Agent(name="bot", model=ScriptedModel(replies=[function_call("slow"), "x"]),
                  tools=[slow])

    async def main() -> None:
        async with InMemoryRunner(agent, app_name=APP) as runner:
            with pytest.raises(TimeoutError):
                async with asyncio.timeout(1.0):
                    await collect(runner)
            assert ["started", "cancelled", "cleaned"] == state

    asyncio.run(main())


def test_context_variables_flow_both_ways() -> None:
    """The caller's context variables reach user code, and a value a callback sets is
    seen by the user code after it in the same task, as in plain asyncio."""
    seen: list[str] = []

    async def before_agent(callback_context: Any) -> None:
        seen.append(REQUEST_ID.get())
        REQUEST_ID.set("set-by-callback")

    async def after_agent(callback_context: Any) -> None:
        seen.append(REQUEST_ID.get())

    agent = Agent(name="bot", model=ScriptedModel(replies=["ok"]),
                  before_agent_callback=before_agent, after_agent_callback=after_agent)

    async def main() -> None:
        REQUEST_ID.set("req-7")
        async with InMemoryRunner(agent, app_name=APP) as runner:
            await collect(runner)
        assert "req-7" == REQUEST_ID.get()  # the consumer's own context is its own

    asyncio.run(main())
    assert ["req-7", "set-by-callback"] == seen


def test_a_plain_function_callback_is_called_directly() -> None:
    """Sync callbacks pay no hop: they run on the loop thread, inside the engine's step
    (no asyncio task of their own)."""
    tasks: list[object] = []

    def before_model(callback_context: Any, llm_request: Any) -> None:
        tasks.append(asyncio.current_task())

    agent = Agent(name="bot", model=ScriptedModel(replies=["ok"]),
                  before_model_callback=before_model)

    async def main() -> None:
        async with InMemoryRunner(agent, app_name=APP) as runner:
            await collect(runner)

    asyncio.run(main())
    assert [None] == tasks


async def test_under_trio_user_code_runs_on_trio() -> None:
    libraries: list[str] = []

    async def where() -> str:
        """Report the library."""
        libraries.append(sniffio.current_async_library())
        return "ok"

    agent = Agent(name="bot", model=ScriptedModel(replies=[function_call("where"), "x"]),
                  tools=[where])
    async with InMemoryRunner(agent, app_name=APP) as runner:
        await collect(runner)
    assert ["trio"] == libraries


def test_a_user_tool_class_and_its_request_hook_run_on_asyncio() -> None:
    seen: list[str] = []

    class Clock(BaseTool):
        def __init__(self) -> None:
            super().__init__(name="clock", description="The time.")

        def _get_declaration(self) -> types.FunctionDeclaration:
            return types.FunctionDeclaration(name="clock", description="The time.")

        async def process_llm_request(self, *, tool_context: Any, llm_request: Any) -> None:
            seen.append(f"request hook on {sniffio.current_async_library()}")
            await asyncio.sleep(0)
            await super().process_llm_request(tool_context=tool_context,
                                              llm_request=llm_request)

        async def run_async(self, *, args: dict[str, Any], tool_context: Any) -> Any:
            await asyncio.sleep(0)
            seen.append(f"run on {sniffio.current_async_library()}")
            return {"now": "noon"}

    agent = Agent(name="bot", model=ScriptedModel(replies=[function_call("clock"), "x"]),
                  tools=[Clock()])

    async def main() -> None:
        async with InMemoryRunner(agent, app_name=APP) as runner:
            await collect(runner)

    asyncio.run(main())
    assert ["request hook on asyncio", "run on asyncio", "request hook on asyncio"] == seen


def asyncio_tool_agent() -> Agent:
    async def fetch(url: str) -> dict[str, Any]:
        """Fetch a url."""
        await asyncio.sleep(0.001)
        return {"url": url, "library": sniffio.current_async_library()}

    return Agent(name="bot", model=ScriptedModel(
        replies=[function_call("fetch", {"url": "u"}), "fetched"], repeat=True),
        tools=[fetch])


def test_sync_run_hosts_user_code_on_asyncio_as_adk_does() -> None:
    """Under sync ``run()`` the worker thread runs an asyncio loop with trio as its guest,
    so asyncio code in tools works there too."""
    runner = InMemoryRunner(asyncio_tool_agent(), app_name=APP)
    events = list(runner.run(user_id=USER, session_id="s1", new_message="go"))
    responses = [r.response for e in events for r in e.get_function_responses()]
    assert [{"url": "u", "library": "asyncio"}] == responses
    runner.close()


def test_sync_run_batch_hosts_user_code_on_asyncio() -> None:
    runner = InMemoryRunner(asyncio_tool_agent(), app_name=APP)
    results = runner.run_batch([(USER, f"s{i}", "go") for i in range(3)], max_concurrency=1)
    assert ["fetched"] * 3 == [r.text for r in results]
    runner.close()


def test_asyncio_run_batch_async_hosts_user_code_on_the_callers_loop() -> None:
    async def main() -> list[str]:
        async with InMemoryRunner(asyncio_tool_agent(), app_name=APP) as runner:
            results = await runner.run_batch_async(
                [(USER, f"s{i}", "go") for i in range(3)], max_concurrency=1)
        return [r.text for r in results]

    assert ["fetched"] * 3 == asyncio.run(main())


class ClosingToolset(BaseToolset):
    def __init__(self, log: list[str]) -> None:
        super().__init__()
        self.log = log

    async def get_tools(self, readonly_context: Any = None) -> list[BaseTool]:
        return []

    async def close(self) -> None:
        await asyncio.sleep(0)
        self.log.append(f"toolset closed on {sniffio.current_async_library()}")


class ClosingPlugin(BasePlugin):
    def __init__(self, log: list[str]) -> None:
        super().__init__(name="closing")
        self.log = log

    async def close(self) -> None:
        await asyncio.sleep(0)
        self.log.append(f"plugin closed on {sniffio.current_async_library()}")


@pytest.mark.parametrize("caller", ["asyncio", "sync"])
def test_toolsets_and_plugins_close_on_the_closers_library(caller: str) -> None:
    log: list[str] = []
    agent = Agent(name="bot", model=ScriptedModel(replies=["ok"]),
                  tools=[ClosingToolset(log)])
    runner = InMemoryRunner(agent, app_name=APP, plugins=[ClosingPlugin(log)])
    if caller == "asyncio":
        asyncio.run(runner.close())  # type: ignore[arg-type]  (a finished coroutine)

        async def main() -> None:
            again = InMemoryRunner(agent, app_name=APP, plugins=[ClosingPlugin(log)])
            await again.close()

        log.clear()
        asyncio.run(main())
    else:
        runner.close()
    assert ["toolset closed on asyncio", "plugin closed on asyncio"] == log
