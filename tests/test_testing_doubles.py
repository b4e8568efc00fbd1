"""The public model doubles of ``trio_adk.testing``: ScriptedModel and FunctionModel."""

from __future__ import annotations

from contextlib import aclosing
from typing import Any

import pytest
import trio
from google.genai import types

from helpers import USER, collect, make_runner, run_text, stored_events, texts, user_text
from trio_adk import Agent, Runner
from trio_adk.agents import RunConfig, StreamingMode
from trio_adk.events import Event
from trio_adk.models import BaseLlm, LlmRequest, LlmResponse
from trio_adk.testing import (
    FunctionModel,
    Reply,
    ScriptedModel,
    ScriptExhaustedError,
    chunks,
    error,
    function_call,
    function_calls,
    text,
)
from trio_adk.tools import ToolContext

SSE = RunConfig(streaming_mode=StreamingMode.SSE)


def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


def first_texts(request: LlmRequest) -> list[str]:
    """The first part's text (or a call/response marker) of each content of a request."""
    out = []
    for content in request.contents:
        part = (content.parts or [types.Part()])[0]
        if part.function_call is not None:
            out.append(f"call:{part.function_call.name}")
        elif part.function_response is not None:
            out.append(f"response:{part.function_response.name}")
        else:
            out.append(part.text or "")
    return out


async def run_until_error(runner: Runner, message: str,
                          **kwargs: Any) -> tuple[list[Event], BaseException]:
    """Run one turn that must fail: the events received, then the error."""
    got: list[Event] = []
    gen = runner.run_async(user_id=USER, session_id="s1", new_message=user_text(message),
                           **kwargs)
    try:
        async with aclosing(gen) as events:
            async for event in events:
                got.append(event)
    except Exception as exc:
        return got, exc
    raise AssertionError(f"the run did not fail; events: {texts(got)}")


async def play(model: BaseLlm, *, stream: bool = False) -> list[LlmResponse]:
    """Call a model directly with an empty request; every response it yields."""
    async with aclosing(model.generate_content_async(LlmRequest(), stream=stream)) as gen:
        return [r async for r in gen]


# ---- being a model ------------------------------------------------------------------------


def test_doubles_are_base_llms_that_agents_accept() -> None:
    """Both doubles are BaseLlm instances; Agent(model=<double>) uses that very object."""
    scripted = ScriptedModel(replies=["x"])
    function = FunctionModel(function=lambda request: "x")
    for model in (scripted, function):
        assert isinstance(model, BaseLlm)
        assert model is Agent(name="bot", model=model).canonical_model
    assert ("scripted", "function") == (scripted.model, function.model)


# ---- ScriptedModel -------------------------------------------------------------------------


async def test_scripted_model_records_every_request_in_order() -> None:
    """requests holds each LlmRequest received, in order, and calls counts them; the
    second request of a tool round carries the call and its response."""
    model = ScriptedModel(replies=[function_call("add", {"a": 1, "b": 2}), "three", "bye"])
    runner = await make_runner(Agent(name="bot", model=model, tools=[add]))
    await run_text(runner, "add")
    await run_text(runner, "thanks")
    assert 3 == model.calls
    assert [
        ["add"],
        ["add", "call:add", "response:add"],
        ["add", "call:add", "response:add", "three", "thanks"],
    ] == [first_texts(r) for r in model.requests]
    assert ["scripted"] * 3 == [r.model for r in model.requests]


async def test_assert_complete_checks_that_every_reply_was_used() -> None:
    """assert_complete raises AssertionError naming used/total while replies remain, and
    passes once the script has been played to its end."""
    model = ScriptedModel(replies=["one", "two"])
    runner = await make_runner(Agent(name="bot", model=model))
    await run_text(runner, "a")
    with pytest.raises(AssertionError, match=r"used 1 of 2 replies"):
        model.assert_complete()
    await run_text(runner, "b")
    model.assert_complete()


async def test_exhausted_script_fails_the_run_with_script_exhausted_error() -> None:
    """A call beyond the script raises ScriptExhaustedError (an AssertionError) out of
    the run, after the events produced before it; the message says how to fix it."""
    model = ScriptedModel(replies=[function_call("add", {"a": 1, "b": 1})])
    runner = await make_runner(Agent(name="bot", model=model, tools=[add]))
    got, exc = await run_until_error(runner, "go")
    assert ScriptExhaustedError is type(exc)
    assert isinstance(exc, AssertionError)
    assert "called 2 times but its script has 1 replies" in str(exc)
    assert "repeat=True" in str(exc)
    assert [["call:add"], ["response:add"]] == [
        [f"{'call' if p.function_call else 'response'}:add" for p in e.content.parts or []]
        for e in got if e.content]
    assert got == (await stored_events(runner))[1:]


async def test_empty_script_is_exhausted_even_with_repeat() -> None:
    """repeat=True does not make an empty script answer: the first call fails."""
    runner = await make_runner(Agent(name="bot", model=ScriptedModel(replies=[], repeat=True)))
    got, exc = await run_until_error(runner, "go")
    assert ([], ScriptExhaustedError) == (got, type(exc))


async def test_repeat_loops_the_script_with_fresh_call_ids() -> None:
    """repeat=True starts the script again after its last reply; a repeated function
    call gets a new client id each time and the script itself is left unchanged;
    assert_complete never fails for a repeating model."""
    model = ScriptedModel(replies=[function_call("add", {"a": 1, "b": 1}), "two"],
                          repeat=True)
    runner = await make_runner(Agent(name="bot", model=model, tools=[add]))
    first = await run_text(runner, "go")
    second = await run_text(runner, "again")
    assert ["two", "two"] == texts(first[2:]) + texts(second[2:])
    ids = [first[0].get_function_calls()[0].id, second[0].get_function_calls()[0].id]
    assert all(i is not None and i.startswith("adk-") for i in ids)
    assert ids[0] != ids[1]
    script_call = model.replies[0].parts[0].function_call
    assert script_call.id is None
    assert 4 == model.calls
    model.assert_complete()


async def test_every_kind_of_script_item_is_accepted() -> None:
    """Script items may be Reply objects, plain strings, LlmResponse, Content or
    exceptions (raised when their turn comes)."""
    model = ScriptedModel(replies=[
        "plain",
        text("helper"),
        LlmResponse(content=types.Content(role="model", parts=[types.Part(text="response")])),
        types.Content(role="model", parts=[types.Part(text="content")]),
        Reply(parts=(types.Part(text="a"), types.Part(text="b"))),
        KeyError("boom"),
    ])
    runner = await make_runner(Agent(name="bot", model=model))
    for expected in ["plain", "helper", "response", "content", "ab"]:
        assert [expected] == texts(await run_text(runner, "next"))
    got, exc = await run_until_error(runner, "next")
    assert ([], KeyError, "'boom'") == (got, type(exc), str(exc))


async def test_an_unusable_script_item_is_a_type_error() -> None:
    """A script item of an unsupported type raises TypeError naming the helpers."""
    runner = await make_runner(Agent(name="bot", model=ScriptedModel(replies=[42])))
    got, exc = await run_until_error(runner, "go")
    assert TypeError is type(exc)
    assert "Cannot use 42 as a scripted reply" in str(exc)
    assert [] == got


async def test_function_calls_reply_calls_several_tools_in_one_turn() -> None:
    """function_calls(...) makes one model turn with several calls, in the given order."""
    model = ScriptedModel(replies=[function_calls(("add", {"a": 1, "b": 2}),
                                                  ("add", {"a": 3, "b": 4})), "done"])
    runner = await make_runner(Agent(name="bot", model=model, tools=[add]))
    events = await run_text(runner, "go")
    assert [{"a": 1, "b": 2}, {"a": 3, "b": 4}] == [c.args for c in
                                                   events[0].get_function_calls()]
    assert [{"result": 3}, {"result": 7}] == [r.response for r in
                                             events[1].get_function_responses()]


async def test_function_call_keeps_an_explicit_id() -> None:
    """function_call(..., id=...) sends that id; the response answers it."""
    model = ScriptedModel(replies=[function_call("add", {"a": 1, "b": 2}, id="my-id"), "3"])
    runner = await make_runner(Agent(name="bot", model=model, tools=[add]))
    events = await run_text(runner, "go")
    assert (["my-id"], ["my-id"]) == ([c.id for c in events[0].get_function_calls()],
                                      [r.id for r in events[1].get_function_responses()])


# ---- streaming ---------------------------------------------------------------------------


async def test_chunks_are_streamed_in_sse_mode() -> None:
    """chunks([...]) in an SSE run: one partial event per chunk, then one final event
    with the joined text; only the final one is stored."""
    model = ScriptedModel(replies=[chunks(["The ", "answer ", "is 42"])])
    runner = await make_runner(Agent(name="bot", model=model))
    events = await run_text(runner, "q", run_config=SSE)
    assert [("The ", True), ("answer ", True), ("is 42", True), ("The answer is 42", None)] \
        == list(zip(texts(events), [e.partial for e in events], strict=True))
    assert ["The answer is 42"] == texts((await stored_events(runner))[1:])


async def test_chunks_are_joined_without_streaming() -> None:
    """chunks([...]) in a non-streaming run: one response with the joined text."""
    model = ScriptedModel(replies=[chunks(["The ", "answer"])])
    runner = await make_runner(Agent(name="bot", model=model))
    events = await run_text(runner, "q")
    assert [("The answer", None)] == [(texts([e])[0], e.partial) for e in events]


async def test_plain_reply_in_sse_mode_is_a_partial_then_the_final() -> None:
    """A text reply in an SSE run arrives as one partial chunk and then the final event
    (one id, as in ADK 2.13: chunks share their final event's id); outside SSE it is a
    single event, and the next reply gets a new id."""
    model = ScriptedModel(replies=["hello", "hello"])
    runner = await make_runner(Agent(name="bot", model=model))
    streamed = await run_text(runner, "a", run_config=SSE)
    assert [("hello", True), ("hello", None)] == [(texts([e])[0], e.partial)
                                                  for e in streamed]
    assert streamed[0].id == streamed[1].id
    plain = await run_text(runner, "b")
    assert plain[-1].id != streamed[1].id
    assert [("hello", None)] == [(texts([e])[0], e.partial) for e in plain]


async def test_direct_calls_yield_llm_responses() -> None:
    """Called directly, a scripted text reply yields one STOP response, or a partial
    then a final one when streaming; chunks end with turn_complete when streamed."""
    plain = await play(ScriptedModel(replies=["hi"]))
    assert [(None, types.FinishReason.STOP)] == [(r.partial, r.finish_reason) for r in plain]
    streamed = await play(ScriptedModel(replies=["hi"]), stream=True)
    assert [True, None] == [r.partial for r in streamed]
    chunked = await play(ScriptedModel(replies=[chunks(["a", "b"])]), stream=True)
    assert [(True, None), (True, None), (None, True)] == [(r.partial, r.turn_complete)
                                                          for r in chunked]


# ---- virtual time -----------------------------------------------------------------------


async def test_reply_delay_runs_on_trio_time(autojump_clock: trio.abc.Clock) -> None:
    """A reply's delay waits in trio time: with autojump_clock a 30 s delay passes
    instantly and the clock shows exactly 30 s."""
    model = ScriptedModel(replies=[text("late", delay=30)])
    runner = await make_runner(Agent(name="bot", model=model))
    start = trio.current_time()
    events = await run_text(runner, "hi")
    assert ["late"] == texts(events)
    assert 30 == pytest.approx(trio.current_time() - start)


async def test_chunk_delay_separates_streamed_chunks(autojump_clock: trio.abc.Clock) -> None:
    """chunks(..., delay=d, chunk_delay=c) in SSE: the first chunk after d, each next
    one c later; without streaming only d is waited."""
    model = ScriptedModel(replies=[chunks(["a", "b", "c"], delay=1, chunk_delay=2)] * 2)
    runner = await make_runner(Agent(name="bot", model=model))
    start = trio.current_time()
    arrivals: list[float] = []
    gen = runner.run_async(user_id=USER, session_id="s1", new_message=user_text("go"),
                           run_config=SSE)
    async with aclosing(gen) as events:
        async for _ in events:
            arrivals.append(trio.current_time() - start)
    assert [1, 3, 5, 5] == pytest.approx(arrivals)
    start = trio.current_time()
    await run_text(runner, "again")
    assert 1 == pytest.approx(trio.current_time() - start)


async def test_error_reply_raises_after_its_delay(autojump_clock: trio.abc.Clock) -> None:
    """error(exc, delay=d) raises exc out of the run after d seconds of trio time."""
    model = ScriptedModel(replies=[error(ConnectionError("down"), delay=4)])
    runner = await make_runner(Agent(name="bot", model=model))
    start = trio.current_time()
    got, exc = await run_until_error(runner, "hi")
    assert ([], ConnectionError, "down") == (got, type(exc), str(exc))
    assert 4 == pytest.approx(trio.current_time() - start)


# ---- FunctionModel -----------------------------------------------------------------------


async def test_function_model_with_an_async_function(autojump_clock: trio.abc.Clock) -> None:
    """An async function is awaited (it may sleep in trio time) and its result is the
    reply."""

    async def answer(request: LlmRequest) -> str:
        await trio.sleep(2)
        return f"{len(request.contents)} contents"

    model = FunctionModel(function=answer)
    runner = await make_runner(Agent(name="bot", model=model))
    start = trio.current_time()
    assert ["1 contents"] == texts(await run_text(runner, "hi"))
    assert 2 == pytest.approx(trio.current_time() - start)


async def test_function_model_drives_a_tool_round_from_the_request() -> None:
    """A function returning function_call(...) or text depending on the request drives a
    tool round; requests records each request it was given."""

    def decide(request: LlmRequest) -> Any:
        last = request.contents[-1].parts[0]  # type: ignore[index]
        if last.function_response is not None:
            return f"sum is {last.function_response.response['result']}"  # type: ignore[index]
        return function_call("add", {"a": 20, "b": 22})

    model = FunctionModel(function=decide)
    runner = await make_runner(Agent(name="bot", model=model, tools=[add]))
    events = await run_text(runner, "add them")
    assert ["sum is 42"] == texts(events[2:])
    assert [["add them"], ["add them", "call:add", "response:add"]] == [
        first_texts(r) for r in model.requests]


async def test_function_model_may_return_any_reply_kind_or_raise() -> None:
    """A FunctionModel may return an LlmResponse, a Reply (e.g. chunks, streamed in SSE)
    or an exception to raise; an exception raised by the function propagates."""
    outcomes: list[Any] = [
        LlmResponse(content=types.Content(role="model", parts=[types.Part(text="resp")])),
        chunks(["x", "y"]),
        ValueError("returned"),
    ]

    def next_outcome(request: LlmRequest) -> Any:
        if not outcomes:
            raise RuntimeError("raised")
        return outcomes.pop(0)

    runner = await make_runner(Agent(name="bot", model=FunctionModel(function=next_outcome)))
    assert ["resp"] == texts(await run_text(runner, "1"))
    assert ["x", "y", "xy"] == texts(await run_text(runner, "2", run_config=SSE))
    for expected in [(ValueError, "returned"), (RuntimeError, "raised")]:
        got, exc = await run_until_error(runner, "3")
        assert ([], *expected) == (got, type(exc), str(exc))


async def test_function_model_tool_context_state_reaches_the_next_request() -> None:
    """State written by a tool is visible to the FunctionModel through the templated
    instruction of the next request (the double sees exactly what a real model would)."""

    def remember(tool_context: ToolContext) -> str:
        """Remember."""
        tool_context.state["colour"] = "blue"
        return "ok"

    def decide(request: LlmRequest) -> Any:
        if len(request.contents) == 1:
            return function_call("remember")
        return str(request.config.system_instruction).split("\n")[0]

    model = FunctionModel(function=decide)
    runner = await make_runner(Agent(name="bot", model=model, tools=[remember],
                                     instruction="favourite={colour?}"))
    events = await collect(runner.run_async(user_id=USER, session_id="s1",
                                            new_message=user_text("go")))
    assert ["favourite=blue"] == texts(events[2:])
