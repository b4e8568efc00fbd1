"""static_instruction, global_instruction and LlmAgent's canonical_* methods, as ADK 2.x."""

from __future__ import annotations

from typing import Any

import pytest
from google.genai import types

from helpers import USER, make_runner, run_text
from trio_adk import Agent
from trio_adk.agents import CallbackContext, ReadonlyContext, SequentialAgent
from trio_adk.flows._static_instruction import INSTRUCTION_BEGIN, INSTRUCTION_END
from trio_adk.testing import ScriptedModel, function_call

IDENTITY = 'You are an agent. Your internal name is "bot".'


def roles_and_texts(contents: list[types.Content]) -> list[tuple[str | None, str]]:
    return [(c.role, " | ".join(p.text or "<data>" for p in c.parts or [])) for c in contents]


def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


async def test_static_text_goes_first_and_the_instruction_into_the_contents() -> None:
    """The system instruction is global + static + identity; the filled-in instruction
    is a fenced user content just before the user's message."""
    model = ScriptedModel(replies=["ok", "again"])
    root = Agent(name="bot", model=model, static_instruction="You are fixed.",
                 instruction="Hello {name}.", global_instruction="Be kind.")
    runner = await make_runner(root)
    await runner.session_service.create_session(app_name=runner.app_name, user_id=USER,
                                                session_id="s2", state={"name": "Ada"})
    await run_text(runner, "hi", session_id="s2")
    await run_text(runner, "more", session_id="s2")
    first, second = model.requests
    assert first.config.system_instruction == f"Be kind.\n\nYou are fixed.\n\n{IDENTITY}"
    shape = roles_and_texts(first.contents)
    assert [role for role, _ in shape] == ["user", "user"]
    fenced = first.contents[0].parts[0].text  # type: ignore[index]
    assert fenced is not None
    assert fenced.endswith(f"{INSTRUCTION_BEGIN}\nHello Ada.\n{INSTRUCTION_END}")
    assert shape[1] == ("user", "hi")
    # Next turn: history first, the instruction right before the newest message.
    assert [t for _, t in roles_and_texts(second.contents)][:2] == ["hi", "ok"]
    assert second.contents[2].parts[0].text == fenced  # type: ignore[index]
    assert second.contents[3].parts[0].text == "more"  # type: ignore[index]
    assert second.config.system_instruction == first.config.system_instruction


async def test_without_static_instruction_the_instruction_stays_in_the_system_text() -> None:
    model = ScriptedModel(replies=["ok"])
    runner = await make_runner(Agent(name="bot", model=model, instruction="Do it."))
    await run_text(runner, "hi")
    assert model.requests[0].config.system_instruction == f"Do it.\n\n{IDENTITY}"
    assert [("user", "hi")] == roles_and_texts(model.requests[0].contents)


async def test_the_instruction_follows_a_function_response() -> None:
    """In a tool round the instruction comes after the function response, not before
    the user's message."""
    model = ScriptedModel(replies=[function_call("add", {"a": 1, "b": 2}), "3"])
    runner = await make_runner(Agent(name="bot", model=model, tools=[add],
                                     static_instruction="S.", instruction="D."))
    await run_text(runner, "add")
    contents = model.requests[1].contents
    assert contents[2].parts[0].function_response is not None  # type: ignore[index]
    assert (contents[3].parts[0].text or "").endswith(  # type: ignore[index]
        f"{INSTRUCTION_BEGIN}\nD.\n{INSTRUCTION_END}")
    assert len(contents) == 4


async def test_static_data_parts_become_a_referenced_prefix() -> None:
    image = types.Part(inline_data=types.Blob(mime_type="image/png", data=b"\x89PNG",
                                              display_name="logo"))
    doc = types.Part(file_data=types.FileData(file_uri="gs://b/doc.pdf",
                                              mime_type="application/pdf"))
    static = types.Content(role="user", parts=[types.Part(text="Brand rules."), image, doc])
    model = ScriptedModel(replies=["ok"])
    runner = await make_runner(Agent(name="bot", model=model, static_instruction=static,
                                     instruction="Dynamic."))
    await run_text(runner, "hi")
    request = model.requests[0]
    system = request.config.system_instruction
    assert isinstance(system, str)
    assert system.startswith(
        "Brand rules.\n\n[Reference to inline binary data: inline_data_0 ('logo', "
        "type: image/png)]\n\n[Reference to file data: file_data_1 (URI: gs://b/doc.pdf, "
        "type: application/pdf)]")
    shape = roles_and_texts(request.contents)
    assert shape[0] == ("user", "Referenced inline data: inline_data_0 | <data>")
    assert shape[1] == ("user", "Referenced file data: file_data_1 | <data>")
    assert shape[2][1].endswith(INSTRUCTION_END)
    assert shape[3] == ("user", "hi")


async def test_instruction_markers_in_state_are_elided() -> None:
    model = ScriptedModel(replies=["ok"])
    runner = await make_runner(Agent(name="bot", model=model, static_instruction="S.",
                                     instruction=lambda ctx: f"x {INSTRUCTION_END} y"))
    await run_text(runner, "hi")
    text = model.requests[0].contents[0].parts[0].text or ""  # type: ignore[index]
    assert text.count(INSTRUCTION_END) == 2  # the preamble's mention and the real end
    assert "x <<<ELIDED_MARKER>>> y" in text


def test_static_instruction_rejects_other_values() -> None:
    with pytest.raises(ValueError, match="static_instruction"):
        Agent(name="bot", model="gemini-2.5-flash", static_instruction=[42])


# ---- canonical_* -------------------------------------------------------------------------


async def test_canonical_instructions_say_whether_to_fill_placeholders() -> None:
    seen: dict[str, Any] = {}

    async def provider(ctx: ReadonlyContext) -> str:
        return "from {provider}"

    model = ScriptedModel(replies=["ok"])
    agent = Agent(name="bot", model=model, instruction=provider, global_instruction="g{x?}.")

    def capture(callback_context: CallbackContext, llm_request: Any) -> None:
        seen["ctx"] = callback_context

    agent.before_model_callback = capture
    runner = await make_runner(agent)
    await run_text(runner, "hi")
    ctx = seen["ctx"]
    assert ("from {provider}", True) == await agent.canonical_instruction(ctx)
    assert ("g{x?}.", False) == await agent.canonical_global_instruction(ctx)
    plain = Agent(name="p", model=model, instruction="t {y?}")
    assert ("t {y?}", False) == await plain.canonical_instruction(ctx)
    # The provider's text is sent as is; the global one is filled in.
    assert model.requests[0].config.system_instruction == f"g.\n\nfrom {{provider}}\n\n{IDENTITY}"


async def test_global_instruction_of_the_root_is_filled_from_state() -> None:
    model = ScriptedModel(replies=["ok"])
    inner = Agent(name="bot", model=model, instruction=lambda ctx: "{kept}")
    root = SequentialAgent(name="seq", sub_agents=[inner])
    runner = await make_runner(root)
    await run_text(runner, "hi")
    assert model.requests[0].config.system_instruction == f"{{kept}}\n\n{IDENTITY}"


async def test_canonical_models_and_callbacks() -> None:
    model = ScriptedModel(replies=[])
    cb1, cb2 = (lambda **kw: None), (lambda **kw: None)
    agent = Agent(name="bot", model=model, before_model_callback=cb1,
                  after_tool_callback=[cb1, cb2])
    assert agent.canonical_live_model is model
    assert await agent.canonical_model_async(None) is model  # type: ignore[arg-type]
    assert await agent.canonical_live_model_async(None) is model  # type: ignore[arg-type]
    assert [cb1] == agent.canonical_before_model_callbacks
    assert [cb1, cb2] == agent.canonical_after_tool_callbacks
    for name in ("after_model", "on_model_error", "before_tool", "on_tool_error"):
        assert [] == getattr(agent, f"canonical_{name}_callbacks")
